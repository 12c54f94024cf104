"""The knee plot of a capacity plan: wait and utilisation against size, simulated and approximated.

The approximation treats the cluster as c = installed chips identical servers and each job as
one customer holding one server for chips x duration (exact for one-chip jobs, Erlang C for
Poisson arrivals and exponential durations); Allen–Cunneen corrects the mean and the tail
for the measured variability of interarrival and service times. With jobs of several chips
it ignores packing and blocking, so it is labelled "approximation (unit jobs)".
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim import queueing

MAX_APPROX_POINTS = 120


@dataclass
class Workload:
    arrival_rate: float  # jobs per second
    mean_service: float  # chip-seconds per job
    ca2: float
    cs2: float
    unit_jobs: bool

    @property
    def label(self) -> str:
        return "approximation (Erlang C)" if self.unit_jobs and abs(self.cs2 - 1) < 0.2 and abs(self.ca2 - 1) < 0.2 \
            else ("approximation (Allen–Cunneen)" if self.unit_jobs else "approximation (unit jobs)")


def workload_of(loaded: Any, seed: int) -> Workload | None:
    """Arrival rate and chip-second service of a scenario's jobs (None with fewer than 3 jobs)."""
    from sim.workload import build_jobs

    jobs = build_jobs(loaded, seed)
    submit = np.sort(np.asarray(jobs.submit, dtype=float))
    if len(submit) < 3 or submit[-1] <= submit[0]:
        return None
    gaps = np.diff(submit)
    work = np.asarray(jobs.chips, dtype=float) * np.asarray(jobs.duration, dtype=float)
    mean_gap = float(gaps.mean())
    return Workload(1.0 / mean_gap, float(work.mean()), float(gaps.var() / mean_gap**2),
                    float(work.var() / work.mean() ** 2), bool(np.all(np.asarray(jobs.chips) == 1)))


def approximate(w: Workload, chips: int, quantile: float | None) -> tuple[float, float]:
    """(wait in seconds: mean, or the given quantile; utilisation) at `chips` servers."""
    a = w.arrival_rate * w.mean_service
    util = min(1.0, a / chips)
    if quantile is None:
        wait = queueing.allen_cunneen_mean_wait(chips, w.arrival_rate, w.mean_service, w.ca2, w.cs2)
    else:
        wait = queueing.wait_quantile(chips, w.arrival_rate, w.mean_service, quantile, w.ca2, w.cs2)
    return wait, util


QUANTILES = {"avg_wait_s": None, "p50_wait_s": 0.50, "p95_wait_s": 0.95, "p99_wait_s": 0.99}


def draw(plan: Any, chips_at: dict[int, int], workload: Workload | None, path: Path, *, title: str) -> Path:
    """Two panels over size: the wait SLO's metric (per seed, mean, 90 % bound, approximation, limit)
    and utilisation (per seed and approximation); the answer marked."""
    from sim.report.plots import _pyplot

    plt = _pyplot()
    vary = plan.vary
    wait_slo = next((s for s in plan.slos if s.key in QUANTILES), None)
    key = wait_slo.key if wait_slo else "p95_wait_s"
    probes = sorted(plan.probes.values(), key=lambda p: p.index)
    fig, (ax_w, ax_u) = plt.subplots(2, 1, figsize=(8, 6.4), dpi=110, sharex=True)
    xs = [p.value for p in probes]
    scale = 1e6 if vary.sizing == "power" else 1.0
    unit = {"power": " (MW)", "budget": " ($/yr)", "purchase": " ($)"}.get(vary.sizing, "")
    for seed_index, seed in enumerate(plan.seeds):
        w, u = [], []
        for p in probes:
            row = next((r for r in p.rows if r.get("seed") == seed and not r.get("error")), None)
            w.append(np.nan if row is None or row.get(key) is None else row[key] / 3600)
            u.append(np.nan if row is None or row.get("utilisation") is None else row["utilisation"])
        label = "simulation, one line per seed" if seed_index == 0 else None
        ax_w.plot(np.array(xs) / scale, w, "-o", color="#1f77b4", alpha=0.35, lw=0.8, ms=3, label=label)
        ax_u.plot(np.array(xs) / scale, u, "-o", color="#1f77b4", alpha=0.35, lw=0.8, ms=3, label=label)
    means = [statistics.fmean([r[key] for r in p.rows if r.get(key) is not None]) / 3600
             if any(r.get(key) is not None for r in p.rows) else np.nan for p in probes]
    ax_w.plot(np.array(xs) / scale, means, "-", color="#1f77b4", lw=2, label="simulation, mean over seeds")
    if wait_slo is not None:
        bounds = [next((c.bound for c in p.checks if c.slo is wait_slo), None) for p in probes]
        ax_w.plot(np.array(xs) / scale, [np.nan if b is None else b / 3600 for b in bounds], "v",
                  color="#d62728", ms=5, label="one-sided 90 % upper bound")
        ax_w.axhline(wait_slo.limit / 3600, color="#d62728", ls=":", lw=1, label=f"SLO {wait_slo.text}")
    if workload is not None and chips_at:
        order = sorted(chips_at)
        if len(order) > MAX_APPROX_POINTS:
            keep = np.unique(np.linspace(0, len(order) - 1, MAX_APPROX_POINTS).round().astype(int))
            order = sorted({order[k] for k in keep} | {p.index for p in probes})
        ax, aw, au = [], [], []
        for i in order:
            wait, util = approximate(workload, chips_at[i], QUANTILES[key])
            ax.append(vary.values[i] / scale)
            aw.append(np.nan if not np.isfinite(wait) else wait / 3600)
            au.append(util)
        ax_w.plot(ax, aw, "--", color="#ff7f0e", lw=1.5, label=workload.label)
        ax_u.plot(ax, au, "--", color="#ff7f0e", lw=1.5, label=workload.label)
    if plan.answer is not None:
        for a in (ax_w, ax_u):
            a.axvline(vary.values[plan.answer] / scale, color="black", lw=1, ls="-.",
                      label="answer" if a is ax_w else None)
    ax_w.set_yscale("symlog", linthresh=1.0)  # the knee spans days at the small end, minutes past it
    ax_w.set_ylim(bottom=0)
    ax_w.set_ylabel(f"{key.removesuffix('_s').replace('_', ' ')} (hours, symlog)")
    ax_w.set_title(title)
    ax_w.grid(alpha=0.3)
    ax_w.legend(fontsize=7, loc="upper right")
    ax_u.set_ylabel("utilisation")
    ax_u.set_ylim(0, 1.05)
    ax_u.set_xlabel(f"{vary.path}{unit}")
    ax_u.grid(alpha=0.3)
    ax_u.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
