"""A sweep's fan of curves: a metric against the first --grid axis, one thin line per seed.

One run is one sample of a random process; the fan shows how far seeds spread before anyone
reads meaning into one curve. Other axes become colours; their mean over seeds is drawn thick.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import numpy as np

from sim import metric_registry as registry
from sim.sweep import GRID, by_point

COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
# the default metrics: (key, axis label, scale); times are drawn in hours
METRICS = tuple((m.key, f"{m.short} (hours)", 1 / 3600) if m.quantity == "time" else (m.key, m.short, 1.0)
                for m in registry.pick("p95_wait_s", "utilisation"))
# what --metric accepts: the numeric metrics an SLO can name
NUMERIC = {m.key: m for m in registry.SLOS.values()}


def metrics_of(keys: tuple[str, ...]) -> tuple[tuple[str, str, float], ...]:
    """(key, axis label, scale) for each summary key; times are drawn in hours."""
    from sim.errors import InputError, Problem
    from sim.scenario.keypath import did_you_mean

    if not keys:
        return METRICS
    out = []
    for key in keys:
        if key not in NUMERIC:
            raise InputError(Problem(f"--metric {key}: not a numeric summary key{did_you_mean(key, list(NUMERIC))}"))
        if NUMERIC[key].quantity == "time":
            out.append((key, f"{key.removesuffix('_s').replace('_', ' ')} (hours)", 1 / 3600))
        else:
            out.append((key, key.replace("_", " "), 1.0))
    return tuple(out)


def numeric_positions(values: list[Any]) -> dict[Any, float] | None:
    """Each grid value's place on a numeric axis: numbers as they are, and values with a unit (times
    such as '2h', rates such as '5/h', powers, money) in one SI unit, so that '30m, 1h, 4h' are spaced
    as the times they are. None when the values are categories (policy names, mappings)."""
    from sim.scenario import units

    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return {v: float(v) for v in values}
    if not all(isinstance(v, str) for v in values):
        return None
    for parse in (units.parse_time, units.parse_rate, units.parse_power, units.parse_money,
                  units.parse_money_per_hour, units.parse_money_per_year):
        try:
            return {v: parse(v) for v in values}
        except ValueError:
            continue
    return None


def draw(rows: list[dict[str, Any]], paths: list[str], path: Path, *, title: str,
         metrics: tuple[tuple[str, str, float], ...] = METRICS) -> Path | None:
    """Write the fan to `path` (None when the sweep has no axis).

    Numeric grid values (numbers, times, rates, ...) sit on a numeric axis and the mean over seeds is a
    line through them; categorical ones (policies) are grouped points with the seeds beside their mean
    and its 95 % interval, never joined by lines (there is nothing between two policies)."""
    if not paths:
        return None
    from sim.compare import estimate
    from sim.report.plots import _pyplot

    plt = _pyplot()
    x_path, others = paths[0], paths[1:]
    x_values = list(dict.fromkeys(r.get(GRID + x_path) for r in rows))
    numeric = numeric_positions(x_values)
    position = numeric if numeric is not None else {v: float(k) for k, v in enumerate(x_values)}
    groups = dict(by_point([r for r in rows if not r.get("error")], others))
    width = 0.7 / max(len(groups), 1)  # categorical: each group's slot inside a category
    fig, axes = plt.subplots(len(metrics), 1, figsize=(8, 3.2 * len(metrics)), dpi=110, sharex=True, squeeze=False)
    for (key, label, scale), ax in zip(metrics, axes[:, 0], strict=True):
        for g, (group_key, group) in enumerate(groups.items()):
            colour = COLOURS[g % len(COLOURS)]
            name = ", ".join(f"{p}={v}" for p, v in zip(others, group_key, strict=True)) or "mean over seeds"
            shift = 0.0 if numeric is not None else (g - (len(groups) - 1) / 2) * width
            seeds = sorted({r["seed"] for r in group})
            for s, seed in enumerate(seeds):
                pts = sorted((position[r.get(GRID + x_path)], r.get(key)) for r in group
                             if r["seed"] == seed and r.get(key) is not None)
                if pts:
                    xs, ys = zip(*pts, strict=True)
                    seed_label = f"one {'line' if numeric is not None else 'dot'} per seed ({len(seeds)})"
                    if numeric is not None:
                        ax.plot(xs, np.array(ys) * scale, "-", color=colour, alpha=0.3, lw=0.8,
                                label=seed_label if s == 0 and g == 0 else None)
                    else:
                        ax.plot(np.array(xs) + shift - width / 4, np.array(ys) * scale, ".", color=colour,
                                alpha=0.45, ms=4, label=seed_label if s == 0 and g == 0 else None)
            means, halves = [], []
            for v in x_values:
                vals = [r[key] for r in group if r.get(GRID + x_path) == v and r.get(key) is not None]
                if vals:
                    e = estimate(vals)
                    means.append((position[v] + shift, statistics.fmean(vals) * scale))
                    halves.append((e.half or 0.0) * scale)
            if means:
                xs, ys = zip(*means, strict=True)
                if numeric is not None:
                    ax.plot(xs, ys, "-o", color=colour, lw=2, ms=3, label=name)
                else:
                    ax.errorbar(np.array(xs) + width / 8, ys, yerr=halves if any(halves) else None, fmt="o",
                                color=colour, ms=6, capsize=4, lw=1.5, label=name + (" (95 % CI)" if any(halves)
                                                                                     else ""))
        ax.set_ylim(bottom=0)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    bottom = axes[-1, 0]
    if numeric is None or any(isinstance(v, str) for v in x_values):
        bottom.set_xticks([position[v] for v in x_values], [str(v) for v in x_values], fontsize=8)
    if numeric is None:
        bottom.set_xlim(-0.6, len(x_values) - 0.4)
    bottom.set_xlabel(x_path)
    axes[0, 0].set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
