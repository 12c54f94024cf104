"""The run report: `report.md`, `report.html` and the figures under `plots/`, from one `Document`.

Sections: headline metrics, the scenario and every ESTIMATE it used, utilisation with queued
demand, queue length, wait and JCT by job-size class, placement tiers, power and cost, failures
and lost work (when there were any), the longest waits, rejected jobs and skipped trace rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc

from sim.report import html, plots
from sim.report.document import Bullets, Document, Figure, Paragraph, Section, Table, to_markdown
from sim.report.markdown import fmt, headline_rows
from sim.report.rundata import SIZE_CLASSES, RunData, size_class
from sim.scenario.units import format_duration, parse_time

TIERS = ("instance", "ultraserver", "pod", "spine", "cluster")
LONGEST = 20
MAX_LISTED_REJECTED = 200
MAX_LISTED_SKIPPED = 500
CARDS = (("utilisation", "utilisation", "pct"), ("avg_wait_s", "mean wait", "t"),
         ("p95_wait_s", "p95 wait", "t"), ("jobs_completed", "jobs completed", "n"),
         ("energy_mwh", "energy (MWh)", "x"), ("cost_usd", "cost", "usd"))


@dataclass
class Context:
    """What a run directory does not hold but the report shows: the cluster as sized, assumptions, lists."""

    description: str = ""
    pools: list[dict[str, Any]] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    rejected: list[Any] = field(default_factory=list)  # .job_id .entry .chips .reason
    skipped: list[Any] = field(default_factory=list)   # .file .line .reason


def context_of(result: Any) -> Context:
    pools = [{"name": s.name, "instance": s.instance_type, "accelerator": s.accelerator,
              "instances": s.instances, "chips": s.chips, "ultraservers": s.ultraservers, "pods": s.pods}
             for s in result.shapes]
    return Context(result.loaded.model.description or "", pools, list(result.assumptions),
                   list(result.rejected), list(result.jobs.skipped))


def _seconds(value: Any) -> float:
    if value is None:
        return 0.0
    return parse_time(value) if isinstance(value, str) else float(value)


def _stat(x: np.ndarray, what: str) -> str:
    if not len(x):
        return "—"
    v = float(np.mean(x)) if what == "mean" else float(np.percentile(x, float(what[1:])))
    return format_duration(v)


class _Figures:
    """Draws figures into `dir/plots` and remembers them as Figure blocks."""

    def __init__(self, directory: Path):
        self.dir = Path(directory) / "plots"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.files: list[str] = []

    def path(self, name: str) -> Path:
        self.files.append(name)
        return self.dir / name

    @staticmethod
    def block(name: str, alt: str, caption: str = "") -> Figure:
        return Figure(f"plots/{name}", alt, caption)


def build(run: RunData, ctx: Context, directory: Path) -> tuple[Document, list[str]]:
    """Draw the figures into `directory/plots` and return the report document and the figure files."""
    s = run.summary
    j = run.jobs
    figs = _Figures(directory)
    scen = run.scenario
    sched = scen.get("scheduler") or {}
    warmup = _seconds((scen.get("metrics") or {}).get("warmup"))
    chips_req = j["chips_requested"]
    cls = size_class(chips_req)
    labels = [c[0] for c in SIZE_CLASSES]
    state = j["state"]
    wait = j["wait_s"]
    jct = j["jct_s"]
    after = j["submit_s"] >= warmup
    started = ~np.isnan(wait) & after
    completed = (state == "completed") & after

    lead = [ctx.description] if ctx.description else []
    lead.append(f"Seed {s['seed']}, trnsim {s.get('version')}, scenario sha256 `{str(s.get('scenario_sha256'))[:16]}…`, "
                f"{s.get('events', 0):,} events, simulated in {s.get('wall_s', 0):.2f} s.")
    sections: list[Section] = []

    # --- headline
    rows = [[label, value] for label, value in headline_rows(s)]
    rows += [["preemptions", f"{s.get('preemptions', 0):,}"], ["failures", f"{s.get('failures', 0):,}"],
             ["rows skipped (traces)", f"{s.get('rows_skipped', 0):,}"]]
    sections.append(Section("Headline", [Table(["metric", "value"], rows, {1})]))

    # --- utilisation and queue
    figs_blocks = []
    series = plots.thin(run.series) if len(run.series["t_s"]) else run.series  # once for every figure
    if len(run.series["t_s"]):
        plots.utilisation(series, run.chips, f"{run.name}: chips busy and queued", figs.path("utilisation.png"))
        plots.queue_length(series, f"{run.name}: queue length", figs.path("queue.png"))
        figs_blocks = [
            figs.block("utilisation.png", "utilisation over time",
                       "Busy chips, queued demand (chips requested by waiting jobs) stacked above, installed "
                       "capacity dashed."),
            figs.block("queue.png", "queue length over time", "Jobs waiting and jobs running.")]
    sections.insert(0, Section("Utilisation and queue", figs_blocks))

    # --- scenario
    blocks: list[Any] = []
    if ctx.pools:
        blocks.append(Table(["pool", "instance", "accelerator", "instances", "chips", "UltraServers", "pods",
                             "utilisation"],
                            [[p["name"], p["instance"], p["accelerator"], f"{p['instances']:,}", f"{p['chips']:,}",
                              f"{p['ultraservers']:,}" if p["ultraservers"] else "—", f"{p['pods']:,}",
                              fmt(s.get(f"pool.{p['name']}.utilisation"), "pct")] for p in ctx.pools],
                            {3, 4, 5, 6, 7}))
    estimate = sched.get("estimate", "exact")
    line = (f"Scheduler `{sched.get('policy', '?')}`, placement `{sched.get('placement', 'first_fit')}`, "
            f"backfill estimates `{estimate if isinstance(estimate, str) else estimate}`.")
    if scen.get("horizon") is not None:
        line += f" Horizon {scen['horizon']}."
    if warmup:
        line += f" Warm-up {format_duration(warmup)} excluded from wait and utilisation statistics."
    blocks.append(Paragraph(line))
    if run.table is not None and len(chips_req):
        counts = sorted(pc.value_counts(run.table.column("entry")).to_pylist(), key=lambda c: str(c["values"]))
        blocks.append(Table(["workload entry", "jobs"], [[c["values"] or "—", f"{c['counts']:,}"] for c in counts],
                            {1}))
    sections.append(Section("Scenario", blocks))
    if ctx.assumptions:
        sections.append(Section("Assumptions (ESTIMATE where marked)", [Bullets(ctx.assumptions)]))

    # --- waits and JCT by size class
    class_rows = []
    alloc = j["chips_allocated"].astype(float)
    run_s = np.nan_to_num(j["run_s"])
    chip_h = alloc * run_s / 3600.0
    total_chip_h = float(chip_h.sum()) or 1.0
    for k, label in enumerate(labels):
        in_k = cls == k
        n = int(in_k.sum())
        if not n:
            continue
        w = wait[in_k & started]
        c = jct[in_k & completed]
        class_rows.append([label, f"{n:,}", f"{len(w):,}", _stat(w, "mean"), _stat(w, "p50"), _stat(w, "p95"),
                           f"{len(c):,}", _stat(c, "mean"), _stat(c, "p95"),
                           f"{float(chip_h[in_k].sum()) / total_chip_h:.1%}"])
    blocks = [Table(["chips", "jobs", "started", "mean wait", "median wait", "p95 wait", "completed", "mean JCT",
                     "p95 JCT", "share of chip-hours"], class_rows, set(range(1, 10)))]
    recorded = j["recorded_wait_s"][~np.isnan(j["recorded_wait_s"])] if "recorded_wait_s" in j else np.array([])
    if started.any():
        plots.wait_cdf(wait[started], recorded, f"{run.name}: wait CDF", figs.path("wait_cdf.png"))
        plots.cdf_by_class(wait[started], cls[started], labels, f"{run.name}: wait by job size", "wait",
                           figs.path("wait_by_size.png"))
        blocks += [figs.block("wait_cdf.png", "wait CDF", "Waits of started jobs"
                              + (", against the waits the trace recorded." if len(recorded) else ".")),
                   figs.block("wait_by_size.png", "wait CDF by job size", "Waits by job-size class (chips requested).")]
    if completed.any():
        plots.cdf_by_class(jct[completed], cls[completed], labels, f"{run.name}: job completion time by job size",
                           "job completion time", figs.path("jct_by_size.png"))
        blocks.append(figs.block("jct_by_size.png", "JCT CDF by job size",
                                 "Job completion time (submit to end) of completed jobs, by job-size class."))
    if warmup:
        blocks.insert(1, Paragraph(f"Jobs submitted before the warm-up ({format_duration(warmup)}) are left out."))
    sections.append(Section("Waits and job completion times by job size", blocks))

    # --- placement tiers
    tier = j["tier"]
    shares = np.zeros((len(labels), len(TIERS)))
    tier_rows = []
    placed = np.asarray([t is not None for t in tier]) if tier.dtype == object else np.zeros(len(tier), bool)
    if placed.any():
        for i, t in enumerate(TIERS):
            at = placed & (tier == t)
            shares[:, i] = np.bincount(cls[at], weights=chip_h[at], minlength=len(labels))[:len(labels)]
            if at.any():
                tier_rows.append([t, f"{int(at.sum()):,}", f"{float(chip_h[at].sum()) / total_chip_h:.1%}"])
        sums = shares.sum(axis=1, keepdims=True)
        shares = np.divide(shares, sums, out=np.zeros_like(shares), where=sums > 0)
        plots.tiers(shares, list(TIERS), labels, f"{run.name}: placement tiers", figs.path("tiers.png"))
        sections.append(Section("Placement", [
            Paragraph(f"Placement efficiency {fmt(s.get('placement_efficiency'), 'pct')}: a job runs slower when "
                      "its chips span a higher tier than it needs (the slowdown factors are in the assumptions)."),
            Table(["lowest tier holding the job", "jobs", "share of chip-hours"], tier_rows, {1, 2}),
            figs.block("tiers.png", "placement tiers by job size")]))

    # --- power and cost
    window = _window(run)
    plots.power_cost(series, run.chips, s.get("cost_usd"), window, f"{run.name}: power and cost",
                     figs.path("power_cost.png"))
    sections.append(Section("Power and cost", [
        Table(["metric", "value"], [["energy (MWh)", fmt(s.get("energy_mwh"), "x")],
                                    ["peak facility power (MW)", fmt(s.get("peak_power_mw"), "x")],
                                    ["cost", fmt(s.get("cost_usd"), "usd")],
                                    ["$ per useful chip-hour", fmt(s.get("usd_per_useful_chip_hour"), "usd")]], {1}),
        figs.block("power_cost.png", "power and cost over time",
                   "Facility power; below it the cost so far (installed capacity is paid busy or idle), split at "
                   "the cluster's average price per chip-hour.")]))

    # --- failures and lost work, when present
    lost = np.nan_to_num(j.get("lost_chip_s", np.zeros(len(cls))))
    restarts = j.get("restarts", np.zeros(len(cls)))
    down = run.series["down_chips"]
    if (s.get("failures") or 0) > 0 or float(lost.sum()) > 0 or int(np.sum(restarts)) > 0 or \
            (len(down) and float(down.max()) > 0):
        lost_h = np.bincount(cls, weights=lost, minlength=len(labels))[:len(labels)] / 3600.0
        rs = np.bincount(cls, weights=restarts, minlength=len(labels))[:len(labels)]
        plots.failures(series, lost_h, rs, labels, f"{run.name}: failures and lost work",
                       figs.path("failures.png"))
        sections.append(Section("Failures and lost work", [
            Table(["metric", "value"], [["failures", f"{s.get('failures', 0):,}"],
                                        ["restarts", f"{s.get('restarts', 0):,}"],
                                        ["preemptions", f"{s.get('preemptions', 0):,}"],
                                        ["chip-hours of work lost", f"{float(lost.sum()) / 3600:,.1f}"],
                                        ["goodput", fmt(s.get("goodput"), "pct")]], {1}),
            figs.block("failures.png", "failures and lost work")]))

    # --- longest waits
    blocks = []
    waited = np.flatnonzero(~np.isnan(wait))
    if len(waited):
        k = min(LONGEST, len(waited))
        top = waited[np.argpartition(-wait[waited], k - 1)[:k]]
        top = top[np.lexsort((top, -wait[top]))]
        rows = []
        for idx, r in zip(top, run.rows(top, ["job_id", "entry", "user", "state"]), strict=True):
            rows.append([str(r.get("job_id")), str(r.get("entry") or "—"), str(r.get("user") or "—"),
                         f"{int(chips_req[idx]):,}", format_duration(float(j["submit_s"][idx])),
                         format_duration(float(wait[idx])), str(r.get("state"))])
        blocks.append(Table(["job", "entry", "user", "chips", "submitted at", "wait", "state"], rows, {3, 4, 5}))
    unstarted = int(s.get("jobs_unstarted", 0) or 0)
    if unstarted:
        blocks.append(Paragraph(f"{unstarted:,} jobs never started (their waits are censored and not listed)."))
    if blocks:
        sections.append(Section(f"Longest waits (top {LONGEST})", blocks))

    # --- rejected jobs, skipped rows
    if ctx.rejected:
        rows = [[r.job_id, r.entry, str(r.chips), r.reason] for r in ctx.rejected[:MAX_LISTED_REJECTED]]
        if len(ctx.rejected) > MAX_LISTED_REJECTED:
            rows.append([f"… {len(ctx.rejected) - MAX_LISTED_REJECTED} more", "", "", ""])
        sections.append(Section(f"Rejected jobs ({len(ctx.rejected)}: larger than any pool they accept)",
                                [Table(["job", "entry", "chips", "reason"], rows, {2})]))
    if ctx.skipped:
        rows = [[str(r.file), str(r.line), r.reason] for r in ctx.skipped[:MAX_LISTED_SKIPPED]]
        if len(ctx.skipped) > MAX_LISTED_SKIPPED:
            rows.append([f"… {len(ctx.skipped) - MAX_LISTED_SKIPPED} more", "", ""])
        sections.append(Section(f"Skipped trace rows ({len(ctx.skipped)})",
                                [Table(["file", "line", "reason"], rows, {1})]))

    cards = [(label, fmt(s.get(key), kind)) for key, label, kind in CARDS]
    return Document(f"trnsim run: {run.name}", lead, sections, cards), figs.files


def _window(run: RunData) -> tuple[float, float]:
    """The metrics window: [0, horizon] with a horizon, else first submit to first + makespan."""
    horizon = run.scenario.get("horizon")
    if horizon is not None:
        return 0.0, _seconds(horizon)
    submit = run.jobs["submit_s"]
    w0 = float(np.min(submit)) if len(submit) else 0.0
    return w0, w0 + float(run.summary.get("makespan_s") or 0.0)


def write(run: RunData, ctx: Context, directory: Path) -> list[str]:
    """Write plots/*.png, report.md and report.html into `directory`; returns the figure file names."""
    doc, files = build(run, ctx, directory)
    (Path(directory) / "report.md").write_text(to_markdown(doc))
    (Path(directory) / "report.html").write_text(html.render(doc, Path(directory)))
    return files
