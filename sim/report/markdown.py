"""How numbers read in reports and tables: the headline metrics and their formats.

Which metrics the headline shows, their labels and formats are sim.metric_registry's.
"""

from __future__ import annotations

import math
from typing import Any

from sim import metric_registry as registry
from sim.scenario.units import format_duration


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
    submitted = registry.BY_KEY["jobs_submitted"]
    rows = [(submitted.label, fmt(summary.get(submitted.key), submitted.fmt))]
    rows += [(f"  {m.label}", fmt(summary[m.key], m.fmt)) for m in registry.PARTITION if m.key in summary]
    return rows


def partition_sentence(summary: dict[str, Any]) -> str:
    """`2,651 submitted = 2,625 completed + 16 failed + 10 killed (time limit)` (non-zero parts)."""
    parts = [f"{summary[m.key]:,} {m.label}" for m in registry.PARTITION if summary.get(m.key)]
    return f"{summary.get('jobs_submitted', 0):,} submitted = " + (" + ".join(parts) or "0")


def headline_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    rows = count_rows(summary) + [(window_label(summary), fmt(summary.get("makespan_s"), "t"))]
    return rows + [(m.label, fmt(summary.get(m.key), m.fmt)) for m in registry.HEADLINE]
