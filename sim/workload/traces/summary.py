"""`trnsim trace stats`: one streaming pass over a trace, in memory that does not grow with it.

Percentiles come from a log-bucketed sketch (relative error ≤ 0.5 %, as in DDSketch), so a
trace of millions of rows needs a few thousand counters, not its rows.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim.workload import traces
from sim.workload.traces.common import TraceInfo

PERCENTILES = (10, 50, 90, 99)


class Quantiles:
    """Streaming quantiles of non-negative values with relative accuracy `alpha`."""

    def __init__(self, alpha: float = 0.005):
        self.gamma = (1 + alpha) / (1 - alpha)
        self.log_gamma = math.log(self.gamma)
        self.buckets: Counter[int] = Counter()
        self.zeros = 0
        self.n = 0
        self.total = 0.0
        self.min = math.inf
        self.max = -math.inf

    def add(self, x: float) -> None:
        self.n += 1
        self.total += x
        if x < self.min:
            self.min = x
        if x > self.max:
            self.max = x
        if x <= 0:
            self.zeros += 1
        else:
            self.buckets[math.ceil(math.log(x) / self.log_gamma)] += 1

    def add_many(self, x: np.ndarray) -> None:
        if not len(x):
            return
        self.n += len(x)
        self.total += float(x.sum())
        self.min = min(self.min, float(x.min()))
        self.max = max(self.max, float(x.max()))
        positive = x[x > 0]
        self.zeros += len(x) - len(positive)
        if len(positive):
            keys, counts = np.unique(np.ceil(np.log(positive) / self.log_gamma).astype(np.int64),
                                     return_counts=True)
            for k, c in zip(keys.tolist(), counts.tolist(), strict=True):
                self.buckets[k] += c

    def quantile(self, q: float) -> float | None:
        """The q-quantile (0 ≤ q ≤ 1), lower rank as numpy's 'lower' method would pick."""
        if self.n == 0:
            return None
        rank = q * (self.n - 1)
        if rank <= 0:
            return self.min
        if rank >= self.n - 1:
            return self.max
        if rank < self.zeros:
            return 0.0
        seen = self.zeros
        for i in sorted(self.buckets):
            seen += self.buckets[i]
            if seen > rank:
                value = 2 * self.gamma ** i / (self.gamma + 1)
                return min(max(value, self.min), self.max)
        return self.max

    def describe(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {"mean": self.total / self.n if self.n else None,
                                        "min": self.min if self.n else None}
        for p in PERCENTILES:
            out[f"p{p}"] = self.quantile(p / 100)
        out["max"] = self.max if self.n else None
        return out


def size_bin(accelerators: float) -> str:
    """Power-of-two bins: <1, 1, 2, 3-4, 5-8, 9-16, ..."""
    if accelerators < 1:
        return "<1"
    k = max(0, math.ceil(math.log2(accelerators) - 1e-12))
    if k <= 1:
        return str(2 ** k)
    return f"{2 ** (k - 1) + 1}-{2 ** k}"


def _bin_key(label: str) -> float:
    return 0.0 if label == "<1" else float(label.split("-")[-1])


@dataclass
class TraceStats:
    path: str
    format: str
    info: TraceInfo = field(default_factory=TraceInfo)
    jobs: int = 0
    skipped: int = 0
    skipped_by_reason: Counter[str] = field(default_factory=Counter)
    repaired: int = 0
    first_submit_s: float = math.inf
    last_submit_s: float = -math.inf
    accelerator_s: float = 0.0
    status: Counter[str] = field(default_factory=Counter)
    sizes: Counter[str] = field(default_factory=Counter)
    duration: Quantiles = field(default_factory=Quantiles)
    wait: Quantiles = field(default_factory=Quantiles)
    by_hour: list[int] = field(default_factory=lambda: [0] * 24)
    wall_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        span = self.last_submit_s - self.first_submit_s if self.jobs else None
        rows = self.jobs + self.skipped
        return {
            "path": self.path, "format": self.format, "clock": self.info.clock, "notes": self.info.notes,
            "jobs": self.jobs, "skipped": self.skipped,
            "skipped_by_reason": dict(self.skipped_by_reason.most_common()),
            "repaired": self.repaired,
            "first_submit_s": self.first_submit_s if self.jobs else None,
            "last_submit_s": self.last_submit_s if self.jobs else None,
            "span_s": span, "accelerator_s": self.accelerator_s,
            "status": dict(self.status.most_common()),
            "size_histogram": {k: self.sizes[k] for k in sorted(self.sizes, key=_bin_key)},
            "duration_s": self.duration.describe(),
            "recorded_wait_s": self.wait.describe() if self.wait.n else None,
            "arrivals_by_hour": self.by_hour,
            "wall_s": self.wall_s, "rows_per_s": rows / self.wall_s if self.wall_s > 0 else None,
        }


CHUNK = 1 << 16


def trace_stats(path: Path, fmt: str, progress: Any = None, **options: Any) -> TraceStats:
    """Summarise a trace in one pass (rows buffered in chunks of 65,536 and reduced with numpy).
    `progress(rows)` is called every 100,000 rows."""
    from sim.workload.build import reason_kind

    stats = TraceStats(str(path), fmt)
    info = stats.info
    t0 = time.perf_counter()
    rows = 0
    submit: list[float] = []
    acc: list[float] = []
    dur: list[float] = []
    wait: list[float] = []
    status: list[str] = []
    for r in traces.read(path, fmt, info, **options):
        rows += 1
        if progress is not None and rows % 100_000 == 0:
            progress(rows)
        if isinstance(r, tuple):
            stats.skipped += 1
            stats.skipped_by_reason[reason_kind(r[1])] += 1
            continue
        if r.repair is not None:
            stats.repaired += 1
        submit.append(r.submit_s)
        acc.append(r.accelerators)
        dur.append(r.duration_s)
        status.append(r.status)
        if r.recorded_wait_s is not None:
            wait.append(r.recorded_wait_s)
        if len(submit) == CHUNK:
            _reduce(stats, submit, acc, dur, wait, status)
            submit, acc, dur, wait, status = [], [], [], [], []
    _reduce(stats, submit, acc, dur, wait, status)
    stats.wall_s = time.perf_counter() - t0
    return stats


def _reduce(stats: TraceStats, submit: list[float], acc: list[float], dur: list[float], wait: list[float],
            status: list[str]) -> None:
    if wait:
        stats.wait.add_many(np.asarray(wait))
    if not submit:
        return
    s = np.asarray(submit)
    a = np.asarray(acc)
    d = np.asarray(dur)
    stats.jobs += len(s)
    stats.first_submit_s = min(stats.first_submit_s, float(s.min()))
    stats.last_submit_s = max(stats.last_submit_s, float(s.max()))
    stats.accelerator_s += float(a @ d)
    stats.status.update(status)
    stats.duration.add_many(d)
    hours = (np.mod(s + stats.info.day_offset_s, 86400.0) // 3600.0).astype(np.int64)
    for h, c in enumerate(np.bincount(np.clip(hours, 0, 23), minlength=24).tolist()):
        stats.by_hour[h] += c
    labels, counts = np.unique(a, return_counts=True)
    for value, c in zip(labels.tolist(), counts.tolist(), strict=True):
        stats.sizes[size_bin(value)] += c
