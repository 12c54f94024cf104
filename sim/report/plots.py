"""Figures of one run, drawn with matplotlib's Agg backend (no display needed).

Every figure takes numpy arrays and stays fast on a million jobs: series are time-averaged
into at most MAX_POINTS/2 bins and distributions drawn from at most CDF_POINTS quantiles.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.metrics import time_average
from sim.names import TIERS

if TYPE_CHECKING:  # matplotlib is imported on first use
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.ticker import Formatter
    from matplotlib.typing import LegendLocType

MAX_POINTS = 4000
CDF_POINTS = 1500
CLASS_COLOURS = ("#4c72b0", "#55a868", "#c44e52", "#8172b2", "#dd8452")
TIER_COLOURS = dict(zip(TIERS, ("#4c72b0", "#55a868", "#ccb974", "#dd8452", "#c44e52"), strict=True))


def _pyplot() -> ModuleType:
    """matplotlib with the Agg backend, imported on first use (it costs ~0.5 s at start-up)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _time_axis(t: np.ndarray) -> tuple[np.ndarray, str]:
    span = float(t[-1] - t[0]) if len(t) > 1 else 0.0
    return time_scale(span, t)


def time_scale(span: float, t: np.ndarray) -> tuple[np.ndarray, str]:
    for unit, size in (("days", 86400.0), ("hours", 3600.0), ("minutes", 60.0)):
        if span >= 3 * size:
            return t / size, unit
    return t, "seconds"


def thin(series: dict[str, Any]) -> dict[str, np.ndarray]:
    """The series as numpy, time-averaged into bins when it has more than MAX_POINTS rows.

    The run report thins once; the series figures below take the thinned series as given."""
    t = np.asarray(series["t_s"], dtype=float)
    if len(t) > MAX_POINTS:  # the picture is the same, the drawing 100x faster
        return time_average(series, (t[-1] - t[0]) / (MAX_POINTS // 2), float(t[-1]))
    return {k: np.asarray(v, dtype=float) for k, v in series.items()}


def cdf_points(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x, F(x)) of the empirical CDF, at most CDF_POINTS points (quantiles of a large sample)."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n > CDF_POINTS:
        idx = np.unique(np.linspace(0, n - 1, CDF_POINTS).round().astype(np.int64))
        return x[idx], (idx + 1) / n
    return x, np.arange(1, n + 1) / n


def margins(fig: Figure, left: float = 0.8, right: float = 0.2, top: float = 0.4, bottom: float = 0.55,
            wspace: float | None = None, hspace: float | None = None) -> None:
    """Fixed margins in inches: tight_layout measures every label and costs more than the drawing."""
    w, h = fig.get_size_inches()
    fig.subplots_adjust(left=left / w, right=1 - right / w, top=1 - top / h, bottom=bottom / h,
                        wspace=wspace, hspace=hspace)


def _finish(fig: Figure, ax: Axes, path: Path, title: str, legend: LegendLocType | None = "best", **margin: float) -> Path:
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(loc=legend, fontsize=8)
    margins(fig, **margin)
    fig.savefig(path)
    _pyplot().close(fig)
    return path


def utilisation(series: dict[str, Any], capacity: int, title: str, path: Path) -> Path:
    """Busy chips over time, queued demand stacked above it, capacity as a line."""
    plt = _pyplot()
    busy, queued = series["busy_chips"], series["queued_chips"]
    x, unit = _time_axis(series["t_s"])
    fig, ax = plt.subplots(figsize=(9, 3.8), dpi=110)
    ax.fill_between(x, 0, busy, step="post", color="#1f77b4", alpha=0.85, label="busy chips")
    ax.fill_between(x, busy, busy + queued, step="post", color="#ff7f0e", alpha=0.35,
                    label="queued demand (chips)")
    ax.axhline(capacity, color="black", lw=1, ls="--", label=f"installed ({capacity:,} chips)")
    top = max(capacity, float((busy + queued).max()) if len(busy) else capacity)
    ax.set_ylim(0, top * 1.05)  # never clip queued demand: its peak is what a capacity planner looks for
    ax.yaxis.set_major_formatter(_count_formatter())
    ax.set_xlabel(f"simulated time ({unit})")
    ax.set_ylabel("chips")
    return _finish(fig, ax, path, title, "upper right")


def queue_length(series: dict[str, Any], title: str, path: Path) -> Path:
    """Jobs waiting and jobs running over time."""
    plt = _pyplot()
    x, unit = _time_axis(series["t_s"])
    fig, ax = plt.subplots(figsize=(9, 3.2), dpi=110)
    ax.step(x, series["queued_jobs"], where="post", color="#ff7f0e", lw=1.2, label="jobs queued")
    ax.step(x, series["running_jobs"], where="post", color="#1f77b4", lw=0.9, alpha=0.7, label="jobs running")
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(_count_formatter())
    ax.set_xlabel(f"simulated time ({unit})")
    ax.set_ylabel("jobs")
    return _finish(fig, ax, path, title, "upper right")


def wait_cdf(simulated_s: np.ndarray, recorded_s: np.ndarray, title: str, path: Path) -> Path:
    """Cumulative distribution of waits (hours): the run's, and the trace's own where it has them."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.8), dpi=110)
    for label, waits, style in (("simulated", simulated_s, "-"), ("recorded by the trace", recorded_s, "--")):
        if len(waits):
            x, f = cdf_points(waits)
            ax.plot(x / 3600.0, f, style, label=f"{label} ({len(waits):,} jobs)")
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set_xlabel("wait (hours, symmetric log scale)")
    ax.set_ylabel("fraction of jobs")
    ax.set_ylim(0, 1.01)
    return _finish(fig, ax, path, title, "lower right")


def cdf_by_class(values_s: np.ndarray, classes: np.ndarray, labels: list[str], title: str, what: str,
                 path: Path) -> Path:
    """One CDF (hours, symlog) per job-size class that has jobs."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.8), dpi=110)
    for k, label in enumerate(labels):
        v = values_s[classes == k]
        if len(v):
            x, f = cdf_points(v)
            ax.plot(x / 3600.0, f, color=CLASS_COLOURS[k % len(CLASS_COLOURS)], lw=1.4,
                    label=f"{label} chips ({len(v):,})")
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set_xlabel(f"{what} (hours, symmetric log scale)")
    ax.set_ylabel("fraction of jobs")
    ax.set_ylim(0, 1.01)
    return _finish(fig, ax, path, title, "lower right")


def tiers(shares: np.ndarray, tier_names: list[str], class_labels: list[str], title: str, path: Path) -> Path:
    """Stacked bars: for each job-size class, the share of its chip-hours placed at each tier."""
    plt = _pyplot()
    keep = shares.sum(axis=1) > 0
    shares, class_labels = shares[keep], [c for c, k in zip(class_labels, keep, strict=True) if k]
    fig, ax = plt.subplots(figsize=(7, 1.2 + 0.55 * len(class_labels)), dpi=110)
    left = np.zeros(len(class_labels))
    y = np.arange(len(class_labels))
    for i, tier in enumerate(tier_names):
        if shares[:, i].any():
            ax.barh(y, shares[:, i], left=left, color=TIER_COLOURS.get(tier, "#999999"), label=tier)
            left += shares[:, i]
    ax.set_yticks(y, [f"{c} chip{'s' if c != '1' else ''}" for c in class_labels])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(_percent_formatter())
    ax.set_xlabel("share of the class's chip-hours, by the lowest tier holding the job")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return _finish(fig, ax, path, title, None, left=1.25, right=1.3, bottom=0.6)


def power_cost(series: dict[str, Any], capacity: int, cost_usd: float | None, window: tuple[float, float],
               title: str, path: Path, limit_w: float | None = None) -> Path:
    """Facility power over time (and the power cap's limit, if any); below it the cost so far, split
    into busy and idle chips' shares (of the chips installed at the time)."""
    plt = _pyplot()
    t = series["t_s"]
    x, unit = _time_axis(t)
    panels = 2 if cost_usd is not None else 1
    fig, axes = plt.subplots(panels, 1, figsize=(9, 2.6 * panels + 0.6), dpi=110, sharex=True, squeeze=False)
    ax = axes[0, 0]
    power = series["power_w"]
    if len(power) and np.all(power >= 0):
        ax.step(x, power / 1e6, where="post", color="#c44e52", lw=1.0, label="facility power")
        if limit_w is not None:
            ax.axhline(limit_w / 1e6, color="#333333", ls="--", lw=1.0, label="power cap")
            ax.legend(loc="lower right", fontsize=8)
        ax.set_ylim(bottom=0)
    else:
        ax.text(0.5, 0.5, "power unknown (an accelerator without watts)", ha="center", transform=ax.transAxes)
    ax.set_ylabel("MW")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if cost_usd is not None:
        w0, w1 = window
        lo = np.clip(t, w0, w1)
        widths = np.diff(np.append(lo, w1))
        installed = series.get("installed_chips", np.full(len(t), float(capacity)))
        chip_s = float(np.sum(installed * widths))
        rate = cost_usd / chip_s if chip_s > 0 else 0.0  # $ per installed chip-second
        busy_cost = np.concatenate([[0.0], np.cumsum(series["busy_chips"] * widths * rate)])[:-1]
        total = np.concatenate([[0.0], np.cumsum(installed * widths * rate)])[:-1]
        cx = x
        ax2 = axes[1, 0]
        ax2.fill_between(cx, 0, busy_cost, color="#1f77b4", alpha=0.8, label="paid for busy chips")
        ax2.fill_between(cx, busy_cost, total, color="#bbbbbb", alpha=0.8, label="paid for idle chips")
        ax2.set_ylabel("cost so far ($)")
        ax2.yaxis.set_major_formatter(_money_formatter())
        ax2.grid(alpha=0.3)
        ax2.legend(loc="upper left", fontsize=8)
        ax2.set_ylim(bottom=0)
    axes[-1, 0].set_xlabel(f"simulated time ({unit})")
    margins(fig, left=0.85, hspace=0.12)
    fig.savefig(path)
    plt.close(fig)
    return path


def decade(series: dict[str, Any], limit_w: float | None, title: str, path: Path,
           installed_peak: tuple[np.ndarray, np.ndarray] | None = None) -> Path:
    """Installed and busy chips over the run; below, facility power, the power cap and, when given
    as (start times, watts) per step, the installed pools' peak facility power."""
    plt = _pyplot()
    x, unit = _time_axis(series["t_s"])
    fig, axes = plt.subplots(2, 1, figsize=(9, 5.8), dpi=110, sharex=True)
    ax = axes[0]
    ax.step(x, series["installed_chips"] / 1e6, where="post", color="#333333", ls="--", lw=1.0, label="installed")
    ax.step(x, series["busy_chips"] / 1e6, where="post", color="#1f77b4", lw=1.0, label="busy")
    ax.set_ylabel("chips (millions)")
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    ax2 = axes[1]
    power = series["power_w"]
    if len(power) and np.all(power >= 0):
        ax2.step(x, power / 1e9, where="post", color="#c44e52", lw=1.0, label="facility power")
    if installed_peak is not None:
        t = series["t_s"]
        px, _ = time_scale(float(t[-1] - t[0]) if len(t) > 1 else 0.0, installed_peak[0])
        ax2.step(px, installed_peak[1] / 1e9, where="post", color="#c44e52", ls=":", lw=1.2,
                 label="installed peak (all chips busy)")
    if limit_w is not None:
        ax2.axhline(limit_w / 1e9, color="#333333", ls="--", lw=1.0, label="power cap")
    ax2.set_ylabel("GW")
    ax2.set_ylim(bottom=0)
    ax2.legend(loc="upper left", fontsize=8)
    ax2.grid(alpha=0.3)
    ax2.set_xlabel(f"simulated time ({unit})")
    margins(fig, left=0.85, hspace=0.12)
    fig.savefig(path)
    plt.close(fig)
    return path


def _percent_formatter() -> Formatter:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0)


def _count_formatter() -> Formatter:
    """Axis ticks for people: 5.5M, 800k, 1,200 (never matplotlib's '1e6' offset)."""
    from matplotlib.ticker import FuncFormatter

    def count(v: float, _pos: int) -> str:
        for above, size, suffix in ((1e6, 1e6, "M"), (1e4, 1e3, "k")):
            if abs(v) >= above:
                return f"{v / size:g}{suffix}"
        return f"{v:,.0f}" if v == int(v) else f"{v:g}"

    return FuncFormatter(count)


def _money_formatter() -> Formatter:
    from matplotlib.ticker import FuncFormatter

    def money(v: float, _pos: int) -> str:
        for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if abs(v) >= size:
                return f"${v / size:g}{suffix}"
        return f"${v:g}"

    return FuncFormatter(money)


def failures(series: dict[str, Any], lost_chip_h: np.ndarray, restarts: np.ndarray, class_labels: list[str],
             title: str, path: Path) -> Path:
    """Chips down over time (when any were), and lost chip-hours and restarts by job-size class."""
    plt = _pyplot()
    down = series["down_chips"]
    show_down = bool(len(down)) and float(down.max()) > 0
    fig, axes = plt.subplots(1, 2 if show_down else 1, figsize=(10 if show_down else 6, 3.4), dpi=110,
                             squeeze=False, gridspec_kw={"width_ratios": [3, 2]} if show_down else None)
    if show_down:
        ax = axes[0, 0]
        x, unit = _time_axis(series["t_s"])
        ax.step(x, down, where="post", color="#c44e52", lw=1.0)
        ax.set_xlabel(f"simulated time ({unit})")
        ax.set_ylabel("chips down")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.set_title("chips down (failed, under repair)")
    ax = axes[0, -1]
    y = np.arange(len(class_labels))
    ax.barh(y, lost_chip_h, color="#dd8452")
    for yi, (lost, r) in enumerate(zip(lost_chip_h, restarts, strict=True)):
        if lost > 0 or r > 0:
            ax.text(lost, yi, f" {int(r):,} restart{'s' if r != 1 else ''}", va="center", fontsize=8)
    ax.set_xlim(0, max(float(np.max(lost_chip_h)), 1e-9) * 1.4)
    ax.set_yticks(y, [f"{c} chip{'s' if c != '1' else ''}" for c in class_labels])
    ax.invert_yaxis()
    ax.set_xlabel("chip-hours of work lost")
    ax.grid(alpha=0.3, axis="x")
    ax.set_title("lost work by job size")
    fig.suptitle(title)
    margins(fig, left=0.7 if show_down else 1.25, top=0.7, wspace=0.55 if show_down else None)
    fig.savefig(path)
    plt.close(fig)
    return path


BADPUT_COLOURS = {"useful": "#55a868", "checkpoint": "#8172b2", "lost": "#dd8452", "restart": "#c44e52",
                  "rounding": "#937860", "idle": "#cccccc", "down": "#333333"}


def badput(chip_h: dict[str, float], title: str, path: Path) -> Path:
    """The cluster's chip-hours as one stacked bar: useful, checkpoint writes, lost work, restarts
    and spare waits, rounding, idle, down (each labelled with its share)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 2.6), dpi=110)
    total = sum(chip_h.values()) or 1.0
    left = 0.0
    for name, value in chip_h.items():
        share = value / total
        ax.barh(0, share, left=left, color=BADPUT_COLOURS.get(name, "#999999"), label=f"{name} {share:.1%}")
        left += share
    ax.set_xlim(0, 1)
    ax.set_yticks([])
    ax.set_xlabel(f"share of the cluster's {total:,.0f} chip-hours")
    ax.xaxis.set_major_formatter(_percent_formatter())
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.75), ncol=4, fontsize=8, frameon=False)
    ax.set_title(title)
    margins(fig, left=0.3, top=0.45, bottom=1.45)
    fig.savefig(path)
    plt.close(fig)
    return path


def pool_utilisation(pool_series: dict[str, tuple[np.ndarray, np.ndarray]], pools: list[tuple[str, str, int]],
                     title: str, path: Path) -> Path:
    """One panel per pool: its busy chips (in its own accelerator's chips) against its installed chips.

    For clusters that mix accelerators: a GPU and a Trainium chip are not the same unit, so pools
    are never summed."""
    plt = _pyplot()
    fig, axes = plt.subplots(len(pools), 1, figsize=(9, 1.0 + 2.0 * len(pools)), dpi=110, sharex=True,
                             squeeze=False)
    end = max((float(t[-1]) for t, _ in pool_series.values() if len(t)), default=1.0)
    unit = "seconds"
    for ax, (name, accelerator, chips) in zip(axes[:, 0], pools, strict=True):
        t, busy = pool_series.get(name, (np.zeros(1), np.zeros(1)))
        series = thin({"t_s": np.append(t, end), "busy_chips": np.append(busy, busy[-1] if len(busy) else 0.0)})
        x, unit = time_scale(end, series["t_s"])
        ax.fill_between(x, 0, series["busy_chips"], step="post", color="#1f77b4", alpha=0.85)
        ax.axhline(chips, color="black", lw=1, ls="--")
        ax.set_ylim(0, chips * 1.08)
        ax.yaxis.set_major_formatter(_count_formatter())
        ax.set_ylabel("chips busy")
        ax.set_title(f"{name}: {chips:,} {accelerator} chips installed", fontsize=9, loc="left")
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel(f"simulated time ({unit})")
    fig.suptitle(title)
    margins(fig, top=0.6, hspace=0.45)
    fig.savefig(path)
    plt.close(fig)
    return path


def timeline(submit: np.ndarray, start: np.ndarray, end: np.ndarray, colour_index: np.ndarray,
             legend: list[str], horizon: float, every: int, title: str, path: Path) -> Path:
    """A Gantt-like picture, one row per job in submission order: a thin grey line while it waits,
    a bar while it runs (from its first start; colour: its job-size class). `every` > 1 says only
    every `every`-th job (and the largest) is drawn."""
    plt = _pyplot()
    n = len(submit)
    stop = np.where(np.isnan(end), horizon, end)
    waited_to = np.where(np.isnan(start), stop, start)
    x_end = max(float(np.nanmax(stop)) if n else 1.0, 1.0)
    scale_t, unit = time_scale(x_end, np.array([x_end]))
    k = x_end / float(scale_t[0])
    y = np.arange(n)
    height = 1.2 + min(7.0, 0.02 * n + 2.0)
    fig, ax = plt.subplots(figsize=(9, height), dpi=110)
    ax.hlines(y, submit / k, waited_to / k, color="#bbbbbb", lw=0.6, label="waiting")
    ran = ~np.isnan(start)
    thickness = max(0.6, min(6.0, 0.8 * (height - 1.0) * 72 / max(n, 1)))  # points per row, a little apart
    for c, label in enumerate(legend):
        mine = ran & (colour_index == c)
        if mine.any():
            ax.hlines(y[mine], start[mine] / k, stop[mine] / k, color=CLASS_COLOURS[c % len(CLASS_COLOURS)],
                      lw=thickness, label=f"running: {label} chip{'' if label == '1' else 's'}")
    ax.set_xlim(0, x_end / k)
    ax.set_ylim(n, -1)
    ax.set_ylabel("job (submission order)" + (f", every {every}th and the largest" if every > 1 else ""))
    ax.set_xlabel(f"simulated time ({unit})")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    return _finish(fig, ax, path, title, None, right=1.9)
