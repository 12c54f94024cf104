"""Figures of one run, drawn with matplotlib's Agg backend (no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sim.metrics import time_average

MAX_POINTS = 4000


def _pyplot():
    """matplotlib with the Agg backend, imported on first use (it costs ~0.5 s at start-up)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _time_axis(t: np.ndarray) -> tuple[np.ndarray, str]:
    span = float(t[-1] - t[0]) if len(t) > 1 else 0.0
    for unit, size in (("days", 86400.0), ("hours", 3600.0), ("minutes", 60.0)):
        if span >= 3 * size:
            return t / size, unit
    return t, "seconds"


def utilisation(series: dict[str, Any], capacity: int, title: str, path: Path) -> Path:
    """Busy chips over time, queued demand stacked above it, capacity as a line."""
    plt = _pyplot()
    t = np.asarray(series["t_s"], dtype=float)
    if len(t) > MAX_POINTS:  # time-averages per bin: the picture is the same, the drawing 100x faster
        series = time_average(series, (t[-1] - t[0]) / (MAX_POINTS // 2), float(t[-1]))
        t = series["t_s"]
    busy = np.asarray(series["busy_chips"], dtype=float)
    queued = np.asarray(series["queued_chips"], dtype=float)
    x, unit = _time_axis(t)
    fig, ax = plt.subplots(figsize=(9, 3.8), dpi=110)
    ax.fill_between(x, 0, busy, step="post", color="#1f77b4", alpha=0.85, label="busy chips")
    ax.fill_between(x, busy, busy + queued, step="post", color="#ff7f0e", alpha=0.35,
                    label="queued demand (chips)")
    ax.axhline(capacity, color="black", lw=1, ls="--", label=f"installed ({capacity:,} chips)")
    top = max(capacity, float((busy + queued).max()) if len(busy) else capacity)
    ax.set_ylim(0, min(top, capacity * 3) * 1.05)
    ax.set_xlabel(f"simulated time ({unit})")
    ax.set_ylabel("chips")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def wait_cdf(simulated_s: np.ndarray, recorded_s: np.ndarray, title: str, path: Path) -> Path:
    """Cumulative distribution of waits (hours): the run's, and the trace's own where it has them."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.8), dpi=110)
    for label, waits, style in (("simulated", simulated_s, "-"), ("recorded by the trace", recorded_s, "--")):
        if len(waits):
            x = np.sort(np.asarray(waits, dtype=float)) / 3600.0
            ax.plot(x, np.arange(1, len(x) + 1) / len(x), style, label=f"{label} ({len(x):,} jobs)")
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set_xlabel("wait (hours, symmetric log scale)")
    ax.set_ylabel("fraction of jobs")
    ax.set_ylim(0, 1.01)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
