"""The run report: `report.md`, `report.html` and the figures under `plots/`, from one `Document`.

Sections: headline metrics, the scenario and every ESTIMATE it used, utilisation with queued
demand, queue length, wait and JCT by job-size class, placement tiers, power and cost, failures
and lost work (when there were any), the longest waits, rejected jobs and skipped trace rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import pyarrow.compute as pc

from sim import metric_registry as registry
from sim.metrics import CHIP_HOURS, YEAR_S
from sim.names import COMPLETED, JOB_STATES, SPARE_TIERS, TIERS
from sim.report import html, plots
from sim.report.document import Bullets, Document, Figure, Paragraph, Section, Table, to_markdown
from sim.report.markdown import fmt, headline_rows, partition_sentence
from sim.report.rundata import SIZE_CLASSES, RunData, size_class
from sim.scenario import units
from sim.scenario.model import Scenario
from sim.scenario.units import format_duration, parse_time

LONGEST = 20
TIMELINE_MAX_JOBS = 5000  # a timeline of more jobs is a grey smear, even thinned
TIMELINE_ROWS = 600
MAX_LISTED_REJECTED = 200
MAX_LISTED_SKIPPED = 500
CARDS = registry.pick("utilisation", "avg_wait_s", "p95_wait_s", "jobs_completed", "energy_mwh", "cost_usd")
CARD_LABELS = {"jobs_completed": "jobs completed"}  # a card stands alone: "completed" of what


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


class _Sections:
    """The report's sections, one method each; figures are drawn as the sections are built."""

    def __init__(self, run: RunData, ctx: Context, directory: Path):
        self.run, self.ctx, self.s, self.j = run, ctx, run.summary, run.jobs
        self.figs = _Figures(directory)
        self.series = plots.thin(run.series) if len(run.series["t_s"]) else run.series  # once for every figure
        self.warmup = _seconds((run.scenario.get("metrics") or {}).get("warmup"))
        j = self.j
        self.cls = size_class(j["chips_requested"])
        self.labels = [c[0] for c in SIZE_CLASSES]
        after = j["submit_s"] >= self.warmup
        self.started = ~np.isnan(j["wait_s"]) & after
        self.completed = (j["state"] == JOB_STATES[COMPLETED]) & after
        self.chip_h = j["chips_allocated"].astype(float) * np.nan_to_num(j["run_s"]) / 3600.0
        self.total_chip_h = float(self.chip_h.sum()) or 1.0

    def by_class(self, weights: np.ndarray) -> np.ndarray:
        return np.bincount(self.cls, weights=weights, minlength=len(self.labels))[:len(self.labels)]

    def utilisation(self) -> Section:
        run, figs = self.run, self.figs
        if not len(run.series["t_s"]):
            return Section("Utilisation and queue", [Paragraph("No time series was recorded.")])
        pools = [(p["name"], p["accelerator"], p["chips"]) for p in self.ctx.pools]
        if len({a for _, a, _ in pools}) > 1 and run.pool_series:
            plots.pool_utilisation(run.pool_series, pools, f"{run.name}: chips busy per pool",
                                   figs.path("utilisation.png"))
            first = figs.block("utilisation.png", "utilisation over time, one panel per pool",
                               "Busy chips of each pool, in its own accelerator's chips, installed capacity dashed "
                               "(the pools hold different accelerators, so they are not added up; queued demand "
                               "is in the queue-length figure, as a job may accept several pools).")
        else:
            plots.utilisation(self.series, run.chips, f"{run.name}: chips busy and queued",
                              figs.path("utilisation.png"))
            first = figs.block("utilisation.png", "utilisation over time",
                               "Busy chips, queued demand (chips requested by waiting jobs) stacked above, installed "
                               "capacity dashed; the axis reaches the peak of busy plus queued.")
        plots.queue_length(self.series, f"{run.name}: queue length", figs.path("queue.png"))
        return Section("Utilisation and queue", [
            first, figs.block("queue.png", "queue length over time", "Jobs waiting and jobs running.")])

    def _group_rows(self, keys: np.ndarray, limit: int | None = None) -> tuple[list[list[str]], int]:
        """Per distinct key (most chip-hours first): jobs, completed, chip-hours, share, mean and p95 wait
        of started jobs; at most `limit` rows, and how many keys were left out."""
        names, inverse = np.unique(keys.astype(str), return_inverse=True)
        chip_h = np.bincount(inverse, weights=self.chip_h, minlength=len(names))
        order = np.lexsort((names, -chip_h))
        kept = order if limit is None else order[:limit]
        wait = self.j["wait_s"]
        rows = []
        for k in kept:
            mine = inverse == k
            w = wait[mine & self.started]
            rows.append([names[k] or "—", f"{int(mine.sum()):,}", f"{int((mine & self.completed).sum()):,}",
                         f"{chip_h[k]:,.0f}", f"{chip_h[k] / self.total_chip_h:.1%}", _stat(w, "mean"),
                         _stat(w, "p95")])
        return rows, len(order) - len(kept)

    def breakdowns(self) -> Section | None:
        """Chip-hours, shares and waits by pool, queue and user (what `sreport` and `sacct` users read first)."""
        j, s = self.j, self.s
        header = ["jobs", "completed", "chip-hours", "share of chip-hours", "mean wait", "p95 wait"]
        blocks: list[Any] = []
        mixed = len({p["accelerator"] for p in self.ctx.pools}) > 1
        if "pool" in j and len(self.ctx.pools) > 1:
            rows, _ = self._group_rows(j["pool"])
            for row in rows:
                row[4] = fmt(s.get(f"pool.{row[0]}.utilisation"), "pct")
            blocks += [Paragraph("By pool (chip-hours in each pool's own chips; jobs that never started have "
                                 "no pool: —):"),
                       Table(["pool"] + header[:3] + ["utilisation"] + header[4:], rows, set(range(1, 7)))]
        for column, what in (("queue", "queue"), ("user", "user")):
            if column not in j or not np.any(j[column] != ""):
                continue
            rows, more = self._group_rows(j[column], limit=LONGEST)
            if more:
                rows.append([f"… {more:,} more {what}s", "", "", "", "", "", ""])
            blocks += [Paragraph(f"By {what}" + (f" (the {LONGEST} with the most chip-hours)" if more else "") + ":"),
                       Table([what] + header, rows, set(range(1, 7)))]
        if not blocks:
            return None
        blocks.append(Paragraph("Chip-hours: chips held x time held, every stretch (work lost to failures or "
                                "preemption included). Waits: started jobs"
                                + (" submitted after the warm-up." if self.warmup else ".")
                                + (" The pools hold different accelerators: a queue's or user's chip-hours add "
                                   "chips of each, one for one." if mixed else "")))
        return Section("By pool, queue and user", blocks)

    def timeline(self) -> Section | None:
        """A Gantt-like figure for runs of up to TIMELINE_MAX_JOBS jobs, thinned to TIMELINE_ROWS rows."""
        j = self.j
        n = len(j["submit_s"])
        if not n or n > TIMELINE_MAX_JOBS or "start_s" not in j:
            return None
        every = max(1, -(-n // TIMELINE_ROWS))
        rows = np.arange(n)
        if every > 1:  # every `every`-th job, and the largest (most chip-hours), which thinning must not drop
            largest = np.argsort(-self.chip_h, kind="stable")[:TIMELINE_ROWS // 10]
            rows = np.union1d(np.argsort(j["submit_s"], kind="stable")[::every], largest)
        order = rows[np.argsort(j["submit_s"][rows], kind="stable")]
        horizon = (self.s.get("horizon_s") or float(np.nanmax(np.append(j["end_s"], j["submit_s"]))))
        plots.timeline(j["submit_s"][order], j["start_s"][order], j["end_s"][order], self.cls[order], self.labels,
                       horizon, every, f"{self.run.name}: job timeline", self.figs.path("timeline.png"))
        shown = (f"every {every}th of the {n:,} jobs and the {TIMELINE_ROWS // 10} with the most chip-hours"
                 if every > 1 else f"all {n:,} jobs")
        return Section("Job timeline", [self.figs.block(
            "timeline.png", "job timeline",
            f"One row per job in submission order ({shown}): grey while it waits, a bar from its first start to "
            "its end (or the end of the run), coloured by job size. A job stopped and restarted is drawn as "
            "one bar.")])

    def headline(self) -> Section:
        s = self.s
        rows = [[label, value] for label, value in headline_rows(s)]
        rows += metric_rows(s, "preemptions", "failures", "rows_skipped")
        window = ("the horizon, from 0" if s.get("horizon_s") is not None
                  else "from the first submission to the last completion")
        return Section("Headline", [
            Paragraph(f"Jobs: {partition_sentence(s)}."),
            Paragraph(f"The window runs {window}. Utilisation is busy chip-time over installed chip-time in it "
                      "(after the warm-up, when there is one); cost and energy are over the whole window, for "
                      "installed chips busy or idle."),
            Table(["metric", "value"], rows, {1})])

    def scenario(self) -> Section:
        s, run, scen = self.s, self.run, self.run.scenario
        sched = scen.get("scheduler") or {}
        blocks: list[Any] = []
        if self.ctx.pools:
            blocks.append(Table(
                ["pool", "instance", "accelerator", "instances", "chips", "UltraServers", "pods", "utilisation"],
                [[p["name"], p["instance"], p["accelerator"], f"{p['instances']:,}", f"{p['chips']:,}",
                  f"{p['ultraservers']:,}" if p["ultraservers"] else "—", f"{p['pods']:,}",
                  fmt(s.get(f"pool.{p['name']}.utilisation"), "pct")] for p in self.ctx.pools],
                {3, 4, 5, 6, 7}))
        line = (f"Scheduler `{sched.get('policy', '?')}`, placement `{sched.get('placement', 'first_fit')}`, "
                f"backfill estimates `{sched.get('estimate', 'exact')}`.")
        if scen.get("horizon") is not None:
            line += f" Horizon {scen['horizon']}."
        if self.warmup:
            line += f" Warm-up {format_duration(self.warmup)} excluded from wait and utilisation statistics."
        blocks.append(Paragraph(line))
        if len({p["accelerator"] for p in self.ctx.pools}) > 1:
            ref = scen.get("reference_accelerator") or Scenario.model_fields["reference_accelerator"].default
            how = ("its duration is scaled instead" if sched.get("map") == "keep_chips"
                   else "its chips are scaled")
            blocks.append(Paragraph(
                f"Mixed accelerators: a job's chips and duration are those of the first accelerator it names "
                f"(`{ref}`, the reference accelerator, when it names none); on another accelerator {how} by "
                "BF16 TFLOPS × MFU. `chips_requested` in jobs.parquet is as written, `chips_allocated` what "
                "the job held."))
        if run.table is not None and run.table.num_rows:
            entries: Any = pc.value_counts(run.table.column("entry"))  # pyarrow-stubs: no StructArray.to_pylist
            counts = sorted(entries.to_pylist(), key=lambda c: str(c["values"]))
            blocks.append(Table(["workload entry", "jobs"],
                                [[c["values"] or "—", f"{c['counts']:,}"] for c in counts], {1}))
        return Section("Scenario", blocks)

    def waits(self) -> Section:
        j, run, figs, cls, labels = self.j, self.run, self.figs, self.cls, self.labels
        wait, jct, started, completed = j["wait_s"], j["jct_s"], self.started, self.completed
        rows = []
        for k, label in enumerate(labels):
            in_k = cls == k
            if not in_k.any():
                continue
            w, c = wait[in_k & started], jct[in_k & completed]
            rows.append([label, f"{int(in_k.sum()):,}", f"{len(w):,}", _stat(w, "mean"), _stat(w, "p50"),
                         _stat(w, "p95"), f"{len(c):,}", _stat(c, "mean"), _stat(c, "p95"),
                         f"{float(self.chip_h[in_k].sum()) / self.total_chip_h:.1%}"])
        blocks: list[Any] = [Table(["chips", "jobs", "started", "mean wait", "median wait", "p95 wait", "completed",
                                    "mean JCT", "p95 JCT", "share of chip-hours"], rows, set(range(1, 10)))]
        if self.warmup:
            blocks.append(Paragraph(f"Jobs submitted before the warm-up ({format_duration(self.warmup)}) are "
                                    "left out."))
        recorded = j["recorded_wait_s"] if "recorded_wait_s" in j else np.array([])
        recorded = recorded[~np.isnan(recorded)]
        if started.any():
            plots.wait_cdf(wait[started], recorded, f"{run.name}: wait CDF", figs.path("wait_cdf.png"))
            plots.cdf_by_class(wait[started], cls[started], labels, f"{run.name}: wait by job size", "wait",
                               figs.path("wait_by_size.png"))
            blocks += [figs.block("wait_cdf.png", "wait CDF", "Waits of started jobs"
                                  + (", against the waits the trace recorded." if len(recorded) else ".")),
                       figs.block("wait_by_size.png", "wait CDF by job size",
                                  "Waits by job-size class (chips requested).")]
        if completed.any():
            plots.cdf_by_class(jct[completed], cls[completed], labels,
                               f"{run.name}: job completion time by job size", "job completion time",
                               figs.path("jct_by_size.png"))
            blocks.append(figs.block("jct_by_size.png", "JCT CDF by job size",
                                     "Job completion time (submit to end) of completed jobs, by job-size class."))
        return Section("Waits and job completion times by job size", blocks)

    def placement(self) -> Section | None:
        tier = self.j["tier"]
        at = {t: tier == t for t in TIERS}
        if not any(mask.any() for mask in at.values()):
            return None
        shares = np.stack([self.by_class(np.where(at[t], self.chip_h, 0.0)) for t in TIERS], axis=1)
        sums = shares.sum(axis=1, keepdims=True)
        shares = np.divide(shares, sums, out=np.zeros_like(shares), where=sums > 0)
        rows = [[t, f"{int(mask.sum()):,}", f"{float(self.chip_h[mask].sum()) / self.total_chip_h:.1%}"]
                for t, mask in at.items() if mask.any()]
        plots.tiers(shares, list(TIERS), self.labels, f"{self.run.name}: placement tiers",
                    self.figs.path("tiers.png"))
        return Section("Placement", [
            Paragraph(f"Placement efficiency {fmt(self.s.get('placement_efficiency'), 'pct')}: a job runs slower "
                      "when its chips span a higher tier than it needs (the slowdown factors are in the "
                      "assumptions)."),
            Table(["lowest tier holding the job", "jobs", "share of chip-hours"], rows, {1, 2}),
            self.figs.block("tiers.png", "placement tiers by job size")])

    def power_cost(self) -> Section:
        s, run = self.s, self.run
        cap, limit = _power_cap(run)
        plots.power_cost(self.series, run.chips, s.get("cost_usd"), _window(run), f"{run.name}: power and cost",
                         self.figs.path("power_cost.png"), limit)
        rows = metric_rows(s, "energy_mwh", "peak_power_mw", "cost_usd", "usd_per_useful_chip_hour")
        if limit is not None:
            rows[2:2] = [[f"power cap (MW, {cap.get('mode', 'throttle')})", fmt(limit / 1e6, "x")],
                         ["time at the cap (days)", fmt((s.get("capped_s") or 0.0) / 86400, "x")],
                         ["chip-hours lost to throttling", fmt((s.get("throttle_loss_chip_s") or 0.0) / 3600, "x")]]
        return Section("Power and cost", [
            Table(["metric", "value"], rows, {1}),
            self.figs.block("power_cost.png", "power and cost over time",
                            "Facility power; below it the cost so far (installed capacity is paid busy or idle), "
                            "split at the cluster's average price per chip-hour.")])

    def years(self) -> Section | None:
        """A run of two years or more (just simulated): the per-year table and the decade figure."""
        years = self.run.years
        if not years:
            return None
        _, limit = _power_cap(self.run)
        peaks = [(r["year"] - 1) * YEAR_S for r in years] + [float(self.series["t_s"][-1])]
        peak_w = [r["installed_peak_mw"] for r in years]
        plots.decade(self.series, limit, f"{self.run.name}: installed and busy chips, power",
                     self.figs.path("decade.png"), None if None in peak_w else
                     (np.array(peaks), np.array([*peak_w, peak_w[-1]]) * 1e6))
        rows = [[str(r["year"]), fmt(r["installed_chips"], "n"), fmt(r["installed_peak_mw"], "x"),
                 fmt(r["power_mw"], "x"), fmt(r["spend_usd"], "usd"), fmt(r["utilisation"], "pct"),
                 fmt(r["goodput"], "pct"), fmt(r["useful_pflop_days"], "x"), fmt(r["usd_per_useful_pflop_day"], "usd"),
                 fmt(r["capped_days"], "x"), fmt(r["throttle_loss_chip_days"], "x")] for r in years]
        return Section("Per year", [
            Paragraph("Installed chips are time-averaged; installed MW is the installed pools' peak facility power; "
                      "power is the average drawn; spend is each pool's $/h while installed, or a purchased pool's "
                      "whole price in the year it comes online; useful PFLOP-days count completed jobs in the year "
                      "they end."),
            Table(["year", "installed chips", "installed MW (peak)", "power MW (avg)", "spend",
                   "utilisation", "goodput", "useful PFLOP-days", "$ per useful PFLOP-day", "days at the cap",
                   "chip-days lost to throttling"], rows, set(range(1, 11))),
            self.figs.block("decade.png", "installed and busy chips, power and the cap, over the run")])

    def failures(self) -> Section | None:
        """Only when something was lost: chips went down, a job failed over, or a preemption lost work."""
        s, j = self.s, self.j
        lost = np.nan_to_num(j["lost_chip_s"]) if "lost_chip_s" in j else np.zeros(len(self.cls))
        restarts = j["restarts"] if "restarts" in j else np.zeros(len(self.cls))
        down = self.run.series["down_chips"]
        if not ((s.get("failures") or 0) > 0 or lost.sum() > 0 or np.sum(restarts) > 0
                or (len(down) and down.max() > 0)):
            return None
        plots.failures(self.series, self.by_class(lost) / 3600.0, self.by_class(restarts), self.labels,
                       f"{self.run.name}: failures and lost work", self.figs.path("failures.png"))
        split = {k: s.get(f"chip_h_{k}") for k in CHIP_HOURS}
        badput: list = []
        if all(v is not None for v in split.values()):
            plots.badput(cast("dict[str, float]", split), f"{self.run.name}: where the chip-hours go", self.figs.path("badput.png"))
            badput = [self.figs.block("badput.png", "the cluster's chip-hours by use",
                                      "Useful work, checkpoint writes, work lost to stops, restarts and waits for "
                                      "spares, rounding (whole instances), idle and down.")]
        return Section("Failures and lost work", [
            Table(["metric", "value"], [*metric_rows(s, "interruptions", "requeues"),
                                        ["spare swaps (same UltraServer / pod / spine / further)",
                                         " / ".join(f"{s.get(f'spare_swaps_{t}', 0):,}"
                                                    for t in SPARE_TIERS)],
                                        *metric_rows(s, "domain_failures", "scheduling_goodput", "program_goodput",
                                                     "ml_goodput")],
                  {1}),
            *badput,
            Table(["metric", "value"], [*metric_rows(s, "failures", "restarts", "preemptions"),
                                        ["chip-hours of work lost", f"{float(lost.sum()) / 3600:,.1f}"],
                                        *metric_rows(s, "goodput")], {1}),
            self.figs.block("failures.png", "failures and lost work")])

    def longest_waits(self) -> Section | None:
        j, wait = self.j, self.j["wait_s"]
        blocks: list[Any] = []
        waited = np.flatnonzero(~np.isnan(wait))
        if len(waited):
            k = min(LONGEST, len(waited))
            top = waited[np.argpartition(-wait[waited], k - 1)[:k]]
            top = top[np.lexsort((top, -wait[top]))]  # longest first, ties in job order
            rows = [[str(r.get("job_id")), str(r.get("entry") or "—"), str(r.get("user") or "—"),
                     f"{int(j['chips_requested'][i]):,}", format_duration(float(j["submit_s"][i])),
                     format_duration(float(wait[i])), str(r.get("state"))]
                    for i, r in zip(top, self.run.rows(top, ["job_id", "entry", "user", "state"]), strict=True)]
            blocks.append(Table(["job", "entry", "user", "chips", "submitted at", "wait", "state"], rows, {3, 4, 5}))
        unstarted = int(self.s.get("jobs_unstarted", 0) or 0)
        if unstarted:
            blocks.append(Paragraph(f"{unstarted:,} jobs never started (their waits are censored and not listed)."))
        return Section(f"Longest waits (top {LONGEST})", blocks) if blocks else None

    def rejected(self) -> Section | None:
        rejected = self.ctx.rejected
        if not rejected:
            return None
        rows = [[r.job_id, r.entry, str(r.chips), r.reason] for r in rejected[:MAX_LISTED_REJECTED]]
        if len(rejected) > MAX_LISTED_REJECTED:
            rows.append([f"… {len(rejected) - MAX_LISTED_REJECTED} more", "", "", ""])
        return Section(f"Rejected jobs ({len(rejected)}: larger than any pool they accept)",
                       [Table(["job", "entry", "chips", "reason"], rows, {2})])

    def skipped(self) -> Section | None:
        skipped = self.ctx.skipped
        if not skipped:
            return None
        rows = [[str(r.file), str(r.line), r.reason] for r in skipped[:MAX_LISTED_SKIPPED]]
        if len(skipped) > MAX_LISTED_SKIPPED:
            rows.append([f"… {len(skipped) - MAX_LISTED_SKIPPED} more", "", ""])
        return Section(f"Skipped trace rows ({len(skipped)})", [Table(["file", "line", "reason"], rows, {1})])


def _power_cap(run: RunData) -> tuple[dict[str, Any], float | None]:
    """The run's `cluster.power_cap` block and its limit in watts (({}, None) without a cap)."""
    cap = (run.scenario.get("cluster") or {}).get("power_cap") if isinstance(run.scenario, dict) else None
    if not isinstance(cap, dict) or "limit" not in cap:
        return {}, None
    return cap, units.parse_power(cap["limit"])


def build(run: RunData, ctx: Context, directory: Path) -> tuple[Document, list[str]]:
    """Draw the figures into `directory/plots` and return the report document and the figure files."""
    s = run.summary
    parts = _Sections(run, ctx, directory)
    assumptions = (Section("Assumptions (ESTIMATE where marked)", [Bullets(ctx.assumptions)])
                   if ctx.assumptions else None)
    sections = [parts.utilisation(), parts.headline(), parts.scenario(), assumptions, parts.waits(),
                parts.breakdowns(), parts.timeline(), parts.placement(), parts.power_cost(), parts.years(), parts.failures(),
                parts.longest_waits(), parts.rejected(), parts.skipped()]
    lead = [ctx.description] if ctx.description else []
    lead.append(f"Seed {s['seed']}, trnsim {s.get('version')}, scenario sha256 "
                f"`{str(s.get('scenario_sha256'))[:16]}…`, {s.get('events', 0):,} events, simulated in "
                f"{s.get('wall_s', 0):.2f} s.")
    cards = [(CARD_LABELS.get(m.key, m.short), fmt(s.get(m.key), m.fmt)) for m in CARDS]
    return (Document(f"trnsim run: {run.name}", lead, [x for x in sections if x is not None], cards),
            parts.figs.files)


def metric_rows(s: dict[str, Any], *keys: str) -> list[list[str]]:
    """[name, value] rows of these summary keys, as sim.metric_registry names and formats them (a
    count an older summary lacks reads 0)."""
    return [[m.short, fmt(s.get(m.key, 0 if m.type == "integer" else None), m.fmt)] for m in registry.pick(*keys)]


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
