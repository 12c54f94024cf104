"""A sweep's fan of curves: a metric against the first --grid axis, one thin line per seed.

One run is one sample of a random process; the fan shows how far seeds spread before anyone
reads meaning into one curve. Other axes become colours; their mean over seeds is drawn thick.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import numpy as np

from sim.sweep import GRID, by_point

COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
METRICS = (("p95_wait_s", "p95 wait (hours)", 1 / 3600), ("utilisation", "utilisation", 1.0))


def metrics_of(keys: tuple[str, ...]) -> tuple[tuple[str, str, float], ...]:
    """(key, axis label, scale) for each summary key; times are drawn in hours."""
    from sim.errors import InputError, Problem
    from sim.plan import SUMMARY_KEYS
    from sim.scenario.keypath import did_you_mean

    if not keys:
        return METRICS
    out = []
    for key in keys:
        if key not in SUMMARY_KEYS:
            raise InputError(Problem(f"--metric {key}: not a numeric summary key{did_you_mean(key, list(SUMMARY_KEYS))}"))
        if SUMMARY_KEYS[key] == "time":
            out.append((key, f"{key.removesuffix('_s').replace('_', ' ')} (hours)", 1 / 3600))
        else:
            out.append((key, key.replace("_", " "), 1.0))
    return tuple(out)


def draw(rows: list[dict[str, Any]], paths: list[str], path: Path, *, title: str,
         metrics: tuple[tuple[str, str, float], ...] = METRICS) -> Path | None:
    """Write the fan to `path` (None when the sweep has no axis)."""
    if not paths:
        return None
    from sim.report.plots import _pyplot

    plt = _pyplot()
    x_path, others = paths[0], paths[1:]
    x_values = list(dict.fromkeys(r.get(GRID + x_path) for r in rows))
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in x_values)
    position = {v: (float(v) if numeric else float(k)) for k, v in enumerate(x_values)}
    groups = dict(by_point([r for r in rows if not r.get("error")], others))
    fig, axes = plt.subplots(len(metrics), 1, figsize=(8, 3.2 * len(metrics)), dpi=110, sharex=True, squeeze=False)
    for (key, label, scale), ax in zip(metrics, axes[:, 0], strict=True):
        for g, (group_key, group) in enumerate(groups.items()):
            colour = COLOURS[g % len(COLOURS)]
            name = ", ".join(f"{p}={v}" for p, v in zip(others, group_key, strict=True)) or "mean over seeds"
            seeds = sorted({r["seed"] for r in group})
            for s, seed in enumerate(seeds):
                pts = sorted((position[r.get(GRID + x_path)], r.get(key)) for r in group
                             if r["seed"] == seed and r.get(key) is not None)
                if pts:
                    xs, ys = zip(*pts, strict=True)
                    ax.plot(xs, np.array(ys) * scale, "-", color=colour, alpha=0.3, lw=0.8,
                            label=f"one line per seed ({len(seeds)})" if s == 0 and g == 0 else None)
            means = []
            for v in x_values:
                vals = [r[key] for r in group if r.get(GRID + x_path) == v and r.get(key) is not None]
                if vals:
                    means.append((position[v], statistics.fmean(vals) * scale))
            if means:
                xs, ys = zip(*means, strict=True)
                ax.plot(xs, ys, "-o", color=colour, lw=2, ms=3, label=name)
        ax.set_ylim(bottom=0)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    bottom = axes[-1, 0]
    if not numeric:
        bottom.set_xticks([position[v] for v in x_values], [str(v) for v in x_values], fontsize=8)
    bottom.set_xlabel(x_path)
    axes[0, 0].set_title(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
