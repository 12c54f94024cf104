"""How numbers read in reports and tables: the headline metrics and their formats."""

from __future__ import annotations

from typing import Any

from sim.scenario.units import format_duration

HEADLINE = (
    ("jobs_submitted", "jobs submitted", "n"), ("jobs_completed", "jobs completed", "n"),
    ("jobs_rejected", "jobs rejected (too large)", "n"), ("jobs_unstarted", "jobs never started", "n"),
    ("utilisation", "utilisation", "pct"), ("goodput", "goodput", "pct"),
    ("placement_efficiency", "placement efficiency", "pct"),
    ("avg_wait_s", "mean wait", "t"), ("p50_wait_s", "median wait", "t"), ("p95_wait_s", "p95 wait", "t"),
    ("avg_jct_s", "mean job completion time", "t"), ("avg_bounded_slowdown", "mean bounded slowdown", "x"),
    ("makespan_s", "window (first submit to last completion)", "t"),
    ("fragmentation_chips", "fragmented free chips (time-average)", "x"),
    ("energy_mwh", "energy (MWh)", "x"), ("peak_power_mw", "peak facility power (MW)", "x"),
    ("cost_usd", "cost", "usd"), ("usd_per_useful_chip_hour", "$ per useful chip-hour", "usd"),
    ("usd_per_useful_pflop_day", "$ per useful PFLOP-day", "usd"),
)


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
    return f"{value:,.3g}" if isinstance(value, float) else str(value)


def headline_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    return [(label, fmt(summary.get(key), kind)) for key, label, kind in HEADLINE]
