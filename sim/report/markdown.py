"""How numbers read in reports and tables: the headline metrics and their formats."""

from __future__ import annotations

import math
from typing import Any

from sim.scenario.units import format_duration

# The job counts, each job in exactly one (sim.metrics.PARTITION), in the order a reader checks them.
COUNTS = (
    ("jobs_completed", "completed"), ("jobs_failed", "failed"), ("jobs_killed", "killed (time limit)"),
    ("jobs_rejected", "rejected (too large)"), ("jobs_unstarted", "never started"),
    ("jobs_waiting_restart", "waiting to restart"), ("jobs_running", "running at the horizon"),
)
HEADLINE = (
    ("utilisation", "utilisation (busy / installed chip-time)", "pct"), ("goodput", "goodput", "pct"),
    ("placement_efficiency", "placement efficiency", "pct"),
    ("avg_wait_s", "mean wait", "t"), ("p50_wait_s", "median wait", "t"), ("p95_wait_s", "p95 wait", "t"),
    ("avg_jct_s", "mean job completion time", "t"), ("avg_bounded_slowdown", "mean bounded slowdown", "x"),
    ("fragmentation_chips", "fragmented free chips (time-average)", "x"),
    ("energy_mwh", "energy (MWh)", "x"), ("peak_power_mw", "peak facility power (MW)", "x"),
    ("cost_usd", "cost (installed chips, busy or idle)", "usd"),
    ("usd_per_useful_chip_hour", "$ per useful chip-hour", "usd"),
    ("usd_per_useful_pflop_day", "$ per useful PFLOP-day", "usd"),
)


def number(value: float) -> str:
    """A number for people: 61,800 and 232, not 6.18e+04; three significant digits below 100."""
    if not math.isfinite(value):
        return "n/a"
    if value == 0:
        return "0"
    if abs(value) >= 99.95:
        return f"{value:,.0f}"
    if abs(value) >= 1e-3:
        return f"{value:.3g}"
    return f"{value:.2e}"


def fmt(value: Any, kind: str) -> str:
    if value is None:
        return "unknown"
    if kind == "pct":
        return f"{value:.1%}"
    if kind == "t":
        return format_duration(value)
    if kind == "usd":
        return f"${value:,.2f}" if value < 1e4 else f"${value:,.0f}"
    if kind == "n":
        return f"{value:,}"
    return number(value) if isinstance(value, float) else str(value)


def window_label(summary: dict[str, Any]) -> str:
    """What the window of the utilisation, cost and energy figures is."""
    horizon = summary.get("horizon_s")
    if horizon is not None:
        return f"window (horizon, {format_duration(horizon)})"
    return "window (first submit to last completion)"


def count_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """jobs submitted, then the counts that add up to it (a count the summary lacks is left out)."""
    rows = [("jobs submitted", fmt(summary.get("jobs_submitted"), "n"))]
    rows += [(f"  {label}", fmt(summary[key], "n")) for key, label in COUNTS if key in summary]
    return rows


def partition_sentence(summary: dict[str, Any]) -> str:
    """`2,651 submitted = 2,625 completed + 16 failed + 10 killed (time limit)` (non-zero parts)."""
    parts = [f"{summary[key]:,} {label}" for key, label in COUNTS if summary.get(key)]
    return f"{summary.get('jobs_submitted', 0):,} submitted = " + (" + ".join(parts) or "0")


def headline_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    rows = count_rows(summary) + [(window_label(summary), fmt(summary.get("makespan_s"), "t"))]
    return rows + [(label, fmt(summary.get(key), kind)) for key, label, kind in HEADLINE]
