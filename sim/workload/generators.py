"""Synthetic jobs: arrival processes and per-job distributions, each drawing from its own stream.

Streams are named by scenario path (`workload.<entry>.arrivals`), so adding an entry, or
reordering named ones, leaves every other entry's draws unchanged (docs/architecture.md, "How the code is written").
"""

from __future__ import annotations

import csv
import math
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import InputError
from sim.workload.traces.common import shown


def stream(seed: int, path: str) -> np.random.Generator:
    """The random stream of the component at scenario path `path`."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(zlib.crc32(path.encode()),)))


def arrival_times(gen: Any, rng: np.random.Generator) -> np.ndarray:
    """Submit times of one generator class: Poisson, diurnal or batch arrivals, or all at `submit`.

    Arrivals start at `submit`; `count` and `until` bound them, whichever comes first.
    """
    limit = math.inf if gen.until is None else gen.until
    arrivals = gen.arrivals
    if arrivals is None:
        return np.full(gen.count, gen.submit) if gen.submit <= limit else np.zeros(0)
    kind = arrivals.kind
    if kind == "batch":
        batch = arrivals.batch
        return np.full(batch.count, batch.at) if batch.at <= limit else np.zeros(0)
    if kind == "diurnal":
        return _diurnal(arrivals.diurnal, gen.submit, gen.count, limit, rng)
    rate = arrivals.poisson.rate
    if gen.count is not None:
        times = gen.submit + np.cumsum(rng.exponential(1 / rate, size=gen.count))
        return times[times <= limit]
    chunks = []
    t = gen.submit
    chunk = max(16, int((limit - gen.submit) * rate * 1.1) + 16)
    while t <= limit:
        times = t + np.cumsum(rng.exponential(1 / rate, size=chunk))
        chunks.append(times)
        t = times[-1]
    times = np.concatenate(chunks)
    return times[times <= limit]


DAY = 86400.0


def diurnal_rate(p: Any, t: np.ndarray | float) -> np.ndarray | float:
    """λ(t) = rate·(1 + amplitude·cos(2π(t − peak_hour)/24 h)), t = 0 at 00:00 of day 0."""
    return p.rate * (1 + p.amplitude * np.cos(2 * np.pi * (t - p.peak_hour) / DAY))


def _diurnal(p: Any, start: float, count: int | None, limit: float, rng: np.random.Generator) -> np.ndarray:
    """Thinning (Lewis and Shedler 1979): Poisson candidates at the peak rate, each kept with
    probability λ(t)/λmax."""
    peak = p.rate * (1 + p.amplitude)
    if count is not None:
        chunk = int(count * (1 + p.amplitude) * 1.1) + 16
    else:
        chunk = int((limit - start) * peak * 1.05) + 16
    chunk = min(chunk, 1 << 20)
    kept: list[np.ndarray] = []
    n = 0
    t = start
    while (count is None or n < count) and t <= limit:
        candidates = t + np.cumsum(rng.exponential(1 / peak, size=chunk))
        accept = rng.random(chunk) * peak < diurnal_rate(p, candidates)
        kept.append(candidates[accept])
        n += int(accept.sum())
        t = float(candidates[-1])
    times = np.concatenate(kept) if kept else np.zeros(0)
    if count is not None:
        times = times[:count]
    return times[times <= limit]


def sample(dist: Any, n: int, rng: np.random.Generator, *, integer: bool, empirical: Any) -> np.ndarray:
    """`n` draws of a distribution model (see sim.scenario.workload)."""
    kind = dist.kind
    if kind == "constant":
        out = np.full(n, dist.constant, dtype=float)
    elif kind == "exponential":
        out = rng.exponential(dist.exponential.mean, size=n)
    elif kind == "lognormal":
        p = dist.lognormal
        out = rng.lognormal(math.log(p.median), p.sigma, size=n) if p.median > 0 else np.zeros(n)
    elif kind == "uniform":
        p = dist.uniform
        out = rng.integers(p.low, p.high + 1, size=n) if integer else rng.uniform(p.low, p.high, size=n)
    elif kind == "choice":
        p = dist.choice
        weights = None
        if p.weights is not None:
            weights = np.asarray(p.weights, dtype=float)
            weights = weights / weights.sum()
        out = rng.choice(np.asarray(p.values, dtype=float), size=n, p=weights)
    else:
        samples = empirical(dist.empirical)
        out = rng.choice(samples, size=n)
    if integer:
        out = np.maximum(1, np.ceil(out)).astype(np.int64)
    return out


def read_empirical(path: Path, column: str, where: Any) -> np.ndarray:
    """Samples from one CSV column; `where(message)` builds a located error."""
    try:
        with open(path, newline="") as fh:
            reader = csv.DictReader(fh)
            if column not in (reader.fieldnames or []):
                raise InputError(where(f"{path}: no column {column!r} (has {', '.join(reader.fieldnames or [])})"))
            values = []
            for row in reader:
                line = reader.line_num
                try:
                    value = float(row[column])
                except (TypeError, ValueError):
                    raise InputError(where(f"{path}:{line}: {column} is not a number: "
                                           f"{shown(str(row[column]))}")) from None
                if not math.isfinite(value) or value < 0:
                    raise InputError(where(f"{path}:{line}: {column}: a sample is a finite number >= 0, "
                                           f"got {shown(str(row[column]))}"))
                values.append(value)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise InputError(where(f"cannot read {path}: {reason}")) from None
    if not values:
        raise InputError(where(f"{path}: column {column!r} has no samples"))
    return np.asarray(values)
