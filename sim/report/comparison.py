"""The comparison page: overlaid utilisation, wait CDFs, metrics with their CIs, and the tables.

Utilisation is always drawn as a fraction of each run's installed chips, so clusters of
different sizes share one axis; time runs from 0 on every run's own simulated clock.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim import metric_registry as registry
from sim.compare import Estimate, Variant, estimate, metric_rows
from sim.jsonfile import strict_json
from sim.metrics import time_average
from sim.report import html, plots
from sim.report.document import Bullets, Document, Figure, Paragraph, Section, Table, to_markdown
from sim.report.markdown import fmt, number
from sim.scenario.units import format_duration

if TYPE_CHECKING:
    from matplotlib.axes import Axes

BINS = 400
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
BAR_METRICS = tuple((m.key, m.short + (" (h)" if m.fmt == "t" else ""), m.fmt)  # times are drawn in hours
                    for m in registry.pick("utilisation", "avg_wait_s", "p95_wait_s", "avg_bounded_slowdown"))


def _colour(i: int) -> str:
    return COLOURS[i % len(COLOURS)]


def value(e: Estimate, kind: str) -> str:
    """`mean` or `mean ± half` in the metric's units."""
    if e.mean is None:
        return "unknown"
    if kind == "n" and not e.half:
        return f"{e.mean:,.0f}" if e.mean == int(e.mean) else f"{e.mean:,.1f}"
    main = f"{e.mean:,.1f}" if kind == "n" else fmt(e.mean, kind)
    if e.half is None:
        return main
    return f"{main} ± {_magnitude(e.half, kind)}"


def _magnitude(x: float, kind: str) -> str:
    if kind == "pct":
        return f"{100 * x:.1f} pp"
    if kind == "t":
        return format_duration(x)
    if kind == "usd":
        return fmt(x, "usd")
    if kind == "n":
        return f"{x:,.1f}"
    return number(x)


def difference_estimate(base: Variant, other: Variant, key: str) -> tuple[float | None, float | None, bool]:
    """(other − base, half-width of its 95 % CI or None, paired?).

    Variants run with the same seeds are paired by seed (the same seed draws the same jobs, so
    the per-seed differences cancel the workload's own noise); otherwise the two half-widths
    are combined as independent.
    """
    a, b = base.metric(key), other.metric(key)
    if a.mean is None or b.mean is None:
        return None, None, False
    d = b.mean - a.mean
    if base.seeds == other.seeds and len(base.runs) > 1:
        diffs = [r2.value(key) - r1.value(key) for r1, r2 in zip(base.runs, other.runs, strict=True)]
        return d, estimate(diffs).half, True
    if a.half is not None and b.half is not None:
        return d, float(np.hypot(a.half, b.half)), False
    return d, None, False


NOT_SIGNIFICANT = "not significant"


def significant(d: float | None, half: float | None) -> bool | None:
    """Whether a difference's 95 % interval excludes zero (None: no interval, one seed)."""
    if d is None or half is None:
        return None
    return abs(d) > half


def difference(base: Variant, other: Variant, key: str, kind: str, short: bool = False) -> str:
    """other − base, with its relative size and (several seeds) its 95 % CI; a difference whose
    interval holds zero says "not significant" ("n.s." when `short`)."""
    d, half, _ = difference_estimate(base, other, key)
    if d is None:
        return "unknown"
    a = base.metric(key)
    if d == 0 and not half:
        return "0"
    sign = "+" if d > 0 else "−" if d < 0 else "±"
    text = sign + (f"{abs(d):,.0f}" if kind == "n" else _magnitude(abs(d), kind))
    if a.mean:
        rel = d / abs(a.mean)
        text += f" ({rel:+.1%})" if abs(rel) < 0.1 else f" ({rel:+.0%})"
        text = text.replace("(-", "(−")
    if half is not None:
        text += f" ± {_magnitude(half, kind)}"
        if not significant(d, half):
            text += " n.s." if short else f" ({NOT_SIGNIFICANT})"
    return text


def _curves(variants: list[Variant], column: str = "busy_chips", per_chip: bool = True
            ) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """A common time grid and, per variant, `column` (mean, min, max over the seeds whose runs are still
    going in each bin; a run that has ended says nothing more) on it: busy chips as a fraction of each
    run's installed chips, or (`per_chip` False) as recorded."""
    end = max(float(r.series["t_s"][-1]) for v in variants for r in v.runs if len(r.series["t_s"]))
    end = max(end, 1.0)
    step = end / BINS
    grid = None
    out = []
    for v in variants:
        fractions = []
        for r in v.runs:
            avg = time_average(r.series, step, end)
            grid = avg["t_s"] + step / 2
            f = avg[column] / (max(r.chips, 1) if per_chip else 1.0)
            last = float(r.series["t_s"][-1]) if len(r.series["t_s"]) else 0.0
            f[avg["t_s"] >= last] = np.nan  # after a run has ended it has nothing to say
            fractions.append(f)
        f = np.vstack(fractions)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # bins after every seed has ended
            out.append((np.nanmean(f, axis=0), np.nanmin(f, axis=0), np.nanmax(f, axis=0)))
    assert grid is not None  # there is a run (`end` above needs one)
    return grid, out


LINE_STYLES = ("-", (0, (5, 2)), (0, (1, 1.5)), (0, (6, 2, 1, 2)))


def _overlay(ax: Axes, x: np.ndarray, variants: list[Variant],
             curves: list[tuple[np.ndarray, np.ndarray, np.ndarray]], labels: list[str], scale: float) -> None:
    """One line per variant; each later one thinner and dashed, so identical curves stay visible
    (a dashed line over a solid one of the same values) instead of hiding each other."""
    for i, (v, (mean, lo, hi)) in enumerate(zip(variants, curves, strict=True)):
        ax.plot(x, scale * mean, color=_colour(i), lw=max(0.9, 2.4 - 0.5 * i),
                ls=LINE_STYLES[i % len(LINE_STYLES)], label=labels[i], zorder=2 + i)
        if len(v.runs) > 1:
            ax.fill_between(x, scale * lo, scale * hi, color=_colour(i), alpha=0.08, lw=0)


def _figure_utilisation(variants: list[Variant], path: Path) -> None:
    plt = plots._pyplot()
    grid, curves = _curves(variants)
    x, unit = plots.time_scale(float(grid[-1]), grid)
    fig, ax = plt.subplots(figsize=(9.5, 4.0), dpi=110)
    labels = []
    for v in variants:
        u = v.metric("utilisation").mean
        labels.append(f"{v.label}" + (f" ({u:.1%})" if u is not None else ""))
    _overlay(ax, x, variants, curves, labels, 100.0)
    ax.axhline(100, color="black", lw=0.8, ls="--")
    ax.set_ylim(0, 105)
    ax.set_xlabel(f"simulated time ({unit})")
    ax.set_ylabel("busy chips (% of installed)")
    seeds = max(len(v.runs) for v in variants)
    title = "utilisation over time" + (f" (mean of {seeds} seeds; band: min–max)" if seeds > 1 else "")
    plots._finish(fig, ax, path, title, "lower left")


def _figure_queue(variants: list[Variant], path: Path) -> None:
    plt = plots._pyplot()
    grid, curves = _curves(variants, "queued_jobs", per_chip=False)
    x, unit = plots.time_scale(float(grid[-1]), grid)
    fig, ax = plt.subplots(figsize=(9.5, 3.6), dpi=110)
    labels = [f"{v.label} (peak {max(float(np.max(r.series['queued_jobs'], initial=0)) for r in v.runs):,.0f})"
              for v in variants]
    _overlay(ax, x, variants, curves, labels, 1.0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(f"simulated time ({unit})")
    ax.set_ylabel("jobs queued")
    seeds = max(len(v.runs) for v in variants)
    title = "queue length over time" + (f" (mean of {seeds} seeds; band: min–max)" if seeds > 1 else "")
    plots._finish(fig, ax, path, title, "upper left")


def _figure_waits(variants: list[Variant], path: Path) -> None:
    plt = plots._pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.0), dpi=110)
    for i, v in enumerate(variants):
        waits = np.concatenate([r.waits for r in v.runs]) if v.runs else np.array([])
        if len(waits):
            x, f = plots.cdf_points(waits)
            ax.plot(x / 3600.0, f, color=_colour(i), lw=max(0.9, 2.4 - 0.5 * i), ls=LINE_STYLES[i % len(LINE_STYLES)],
                    label=f"{v.label} ({len(waits):,} jobs)")
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set_xlabel("wait (hours, symmetric log scale)")
    ax.set_ylabel("fraction of started jobs")
    ax.set_ylim(0, 1.01)
    plots._finish(fig, ax, path, "wait CDF" + (" (all seeds pooled)" if len(variants[0].runs) > 1 else ""),
                  "lower right")


def _figure_metrics(variants: list[Variant], path: Path) -> None:
    plt = plots._pyplot()
    fig, axes = plt.subplots(1, len(BAR_METRICS), figsize=(11, 3.4), dpi=110)
    y = np.arange(len(variants))
    for ax, (key, label, kind) in zip(axes, BAR_METRICS, strict=True):
        scale = 100.0 if kind == "pct" else 1 / 3600.0 if kind == "t" else 1.0
        means, halves = [], []
        for v in variants:
            e = v.metric(key)
            means.append((e.mean or 0.0) * scale)
            halves.append((e.half or 0.0) * scale)
        ax.barh(y, means, xerr=halves if any(halves) else None, color=[_colour(i) for i in range(len(variants))],
                capsize=3)
        ax.set_yticks(y, [v.label for v in variants] if ax is axes[0] else [""] * len(variants))
        ax.invert_yaxis()
        ax.set_xlim(left=0)
        ax.set_title(label + (" (%)" if kind == "pct" else ""), fontsize=10)
        ax.grid(alpha=0.3, axis="x")
    seeds = max(len(v.runs) for v in variants)
    fig.suptitle("headline metrics" + (f" (mean and 95% CI over {seeds} seeds)" if seeds > 1 else ""))
    longest = max(len(v.label) for v in variants)
    plots.margins(fig, left=0.3 + 0.075 * longest, top=0.75, wspace=0.25)
    fig.savefig(path)
    plt.close(fig)


def build(variants: list[Variant]) -> Document:
    base = variants[0]
    seeds = max(len(v.runs) for v in variants)
    title = "trnsim compare: " + " vs ".join(v.label for v in variants)
    lead = []
    if seeds > 1:
        lead.append(f"Each scenario ran with {seeds} seeds; a value is the mean ± the half-width of its 95 % "
                    "confidence interval (Student t). Differences against the first are paired by seed.")
    else:
        lead.append("One seed per input: on heavy-tailed workloads a single seed can rank policies the wrong way "
                    "round; `--seeds N` gives means with 95 % confidence intervals.")
    inputs = Table(["", "from", "policy", "chips", "seeds"],
                   [[v.label, f"`{v.source}`", f"`{v.policy}`", f"{v.runs[0].chips:,}" if v.runs else "?",
                     ", ".join(str(s) for s in v.seeds)] for v in variants], {3})
    blocks: list[Any] = [inputs]
    sizes = sorted({r.chips for v in variants for r in v.runs})
    if len(sizes) > 1:
        blocks.append(Paragraph(f"The clusters differ in size ({', '.join(f'{c:,}' for c in sizes)} chips): "
                                "utilisation is each run's busy chips over its own installed chips."))
    sections = [Section("Inputs", blocks)]
    sections.append(Section("Figures", [
        Figure("utilisation.png", "utilisation over time, overlaid",
               "Busy chips as a share of installed chips, time-averaged over "
               f"{BINS} bins of the longest run" + ("; the line is the mean of the seeds still running in a bin, "
                                                    "the band spans them." if seeds > 1 else ".")
               + " Later inputs are drawn thinner and dashed, so curves that coincide stay visible."),
        Figure("queue.png", "queue length over time, overlaid",
               "Jobs waiting, time-averaged on the same bins; the legend gives each run's peak."),
        Figure("wait_cdf.png", "wait CDFs", "Waits of started jobs."),
        Figure("metrics.png", "headline metrics",
               "Error bars: 95 % confidence intervals over seeds." if seeds > 1 else "")]))
    rows = metric_rows(variants)
    sections.append(Section("Side by side", [
        Table(["metric"] + [v.label for v in variants],
              [[label] + [value(v.metric(key), kind) for v in variants] for key, label, kind in rows],
              set(range(1, len(variants) + 1)))]))
    diff_blocks: list[Any] = [
        Table(["metric"] + [f"{v.label} − {base.label}" for v in variants[1:]],
              [[label] + [difference(base, v, key, kind) for v in variants[1:]] for key, label, kind in rows],
              set(range(1, len(variants))))]
    if seeds > 1:
        diff_blocks.append(Paragraph(f"A difference marked \"{NOT_SIGNIFICANT}\" has a 95 % interval that holds "
                                     "zero: these seeds cannot tell the two apart."))
    sections.append(Section(f"Differences against {base.label}", diff_blocks))
    notes = ["Run directories are read from their files (summary.json, jobs.parquet, timeseries.csv, "
             "scenario.yaml), never re-run.",
             "A scenario given here runs in this process with the seeds listed (`--seeds N`: seed … seed+N−1)."]
    sections.append(Section("Notes", [Bullets(notes)]))
    return Document(title, lead, sections,
                    [(v.label, value(v.metric("avg_wait_s"), "t") + " mean wait") for v in variants][:6])


def as_json(variants: list[Variant]) -> dict[str, Any]:
    out = []
    for v in variants:
        metrics = {}
        for key, _, _ in metric_rows(variants):
            e = v.metric(key)
            metrics[key] = {"mean": e.mean, "ci95_half": e.half, "n": e.n}
        diffs = {}
        if v is not variants[0]:
            for key, _, _ in metric_rows(variants):
                d, half, paired = difference_estimate(variants[0], v, key)
                diffs[key] = {"mean": d, "ci95_half": half, "paired": paired, "significant": significant(d, half)}
        out.append({"label": v.label, "source": v.source, "kind": v.kind, "policy": v.policy, "seeds": v.seeds,
                    "metrics": metrics, "difference_from_first": diffs, "runs": [r.summary for r in v.runs]})
    return {"variants": out}


def write(variants: list[Variant], directory: Path) -> list[str]:
    directory = Path(directory)
    _figure_utilisation(variants, directory / "utilisation.png")
    _figure_queue(variants, directory / "queue.png")
    _figure_waits(variants, directory / "wait_cdf.png")
    _figure_metrics(variants, directory / "metrics.png")
    doc = build(variants)
    (directory / "compare.md").write_text(to_markdown(doc))
    (directory / "compare.html").write_text(html.render(doc, directory))
    (directory / "compare.json").write_text(strict_json(as_json(variants)))
    return ["compare.md", "compare.html", "compare.json", "utilisation.png", "queue.png", "wait_cdf.png", "metrics.png"]


def save(variants: list[Variant], out: Path, *, force: bool = False) -> Path:
    """compare.md, compare.html, compare.json and the figures, written atomically into `out`."""
    from sim.outdir import atomic_dir

    with atomic_dir(out, force=force) as tmp:
        write(variants, tmp)
    return Path(out)
