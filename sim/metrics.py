"""Summary statistics and the per-job table, from the engine's recorded outcome.

Definitions: docs/architecture.md, "Metric definitions". Every key that cannot be known from
the inputs (a price the catalogue lacks, an empty sample) is None, never a made-up 0.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa

from sim import economics, metric_registry
from sim.names import (
    COMPLETED,
    FAILED,
    JOB_STATES,
    KILLED,
    QUEUED,
    REJECTED,
    RUNNING,
    SPARE_TIERS,
    TIERS,
)
from sim.policies.base import Policy


def _f(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


def step_integral(t: np.ndarray, v: np.ndarray, lo: float, hi: float) -> float:
    """Integral over [lo, hi] of the step function that takes value v[i] from t[i] on."""
    if hi <= lo or len(t) == 0:
        return 0.0
    edges = np.clip(np.append(t, hi), lo, hi)
    return float(np.sum(v * np.diff(edges)))


def overlap(start: np.ndarray, end: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Length of [start, end] inside [lo, hi], elementwise (NaN start -> 0)."""
    s = np.nan_to_num(start, nan=hi)
    return np.clip(np.minimum(end, hi) - np.maximum(s, lo), 0.0, None)


def _pct(x: np.ndarray, q: float) -> float | None:
    return _f(np.percentile(x, q)) if len(x) else None


def time_average(series: dict[str, Any], step: float, end: float) -> dict[str, np.ndarray]:
    """Time-average of each column over [k*step, (k+1)*step) (the last bin up to `end`)."""
    t = np.asarray(series["t_s"], dtype=float)
    edges = np.arange(0.0, end, step) if end > 0 else np.zeros(1)
    hi = np.minimum(edges + step, max(end, step if end <= 0 else end))
    out = {"t_s": edges}
    for name in series:
        if name == "t_s":
            continue
        v = np.asarray(series[name], dtype=float)
        if name == "power_w" and np.any(v < 0):
            out[name] = np.full(len(edges), -1.0)
            continue
        # cumulative integral of the step function at each change point
        cum = np.concatenate([[0.0], np.cumsum(v[:-1] * np.diff(t))])

        def integral(x: np.ndarray, v: np.ndarray = v, cum: np.ndarray = cum) -> np.ndarray:
            i = np.clip(np.searchsorted(t, x, side="right") - 1, 0, len(t) - 1)
            return cum[i] + v[i] * (x - t[i])

        width = hi - edges
        out[name] = np.where(width > 0, (integral(hi) - integral(edges)) / np.where(width > 0, width, 1), v[0])
    return out



class Arrays:
    """The outcome as numpy columns, computed once."""

    def __init__(self, result: Any):
        o = result.outcome
        jobs = result.jobs
        plan = result.plan
        self.state = np.asarray(o.state)
        self.submit = np.asarray(jobs.submit, dtype=float)
        self.start = np.asarray(o.start, dtype=float)
        self.end = np.asarray(o.end, dtype=float)
        self.alloc = np.asarray(o.chips_allocated, dtype=float)
        self.slowdown = np.nan_to_num(np.asarray(o.slowdown, dtype=float), nan=1.0)
        self.pool = np.asarray(o.pool)
        k = [plan.table.pools[j].index(p) if p >= 0 else 0 for j, p in enumerate(o.pool)]
        self.req_on_pool = np.asarray([plan.chips_on[j][k[j]] for j in range(len(k))], dtype=float)
        # checkpoint writes lengthen a run by 1 + C/T (the intervals were resolved by the plan):
        # failures.checkpoint_factor, vectorised (exactly 1.0 for T = infinity)
        if plan.checkpoint_s is None:
            self.ckpt = np.ones(len(jobs))
        else:
            t = np.asarray(plan.checkpoint_s, dtype=float)
            self.ckpt = np.where(np.isinf(t), 1.0, 1.0 + plan.checkpoint_write_s / t)
        started = ~np.isnan(self.start)
        self.started = started
        n = len(self.state)
        # the current (last) stretch on chips: from segment_start to the end, or to the end of the
        # run for jobs still running; stretches cut short by preemption are in `earlier`
        self.segment_start = np.asarray(o.segment_start, dtype=float)
        self.hold_end = np.where(self.state == RUNNING, o.end_time, np.nan_to_num(self.end, nan=-np.inf))
        holding = started & ((self.state == RUNNING) | ~np.isnan(self.end))
        self.hold_end = np.where(holding, self.hold_end, -np.inf)
        held_now = np.where(holding, self.hold_end - np.nan_to_num(self.segment_start, nan=0.0), 0.0)
        earlier = o.stretches()
        self.e_job = earlier["job"].astype(np.int64)
        self.e_start, self.e_end, self.e_chips = earlier["start"], earlier["end"], earlier["chips_allocated"]
        self.e_pool = earlier["pool"].astype(np.int64)
        held_before = np.bincount(self.e_job, weights=self.e_end - self.e_start, minlength=n)
        self.lost_s = np.bincount(self.e_job, weights=earlier["lost_s"], minlength=n)
        self.lost_chip_s = np.bincount(self.e_job, weights=earlier["lost_s"] * self.e_chips, minlength=n)
        self.preemptions = np.asarray(o.preemptions, dtype=np.int64)
        self.restarts = np.asarray(o.restarts, dtype=np.int64)
        self.resizes = np.asarray(o.resizes, dtype=np.int64)
        overhead_now = np.minimum(held_now, np.asarray(o.last_overhead, dtype=float))
        self.overhead_s = np.bincount(self.e_job, weights=earlier["overhead_s"], minlength=n) + overhead_now
        self.overhead_chip_s = (np.bincount(self.e_job, weights=earlier["overhead_s"] * self.e_chips, minlength=n)
                                + overhead_now * self.alloc)
        # elastic jobs: chips in use per stretch differ from the request (a rigid job's never do)
        self.used = self.req_on_pool.copy()  # chips each job ran at in its last stretch
        for j, size in o.sizes.items():
            self.used[j] = size
        self.e_used_extra = earlier["chips_used"] - self.used[self.e_job]  # 0 for a rigid job's stretches
        self.run = held_before + held_now  # time holding chips, every stretch
        self.work = np.maximum(self.run - self.lost_s - self.overhead_s, 0.0)  # time whose work was kept
        self.ideal_run = self.work / self.slowdown / self.ckpt  # at ideal placement, no checkpoint writes
        self.elastic = np.zeros(n, dtype=bool)
        if plan.elastic:
            # an elastic job's work is its duration at its nominal size, whatever sizes it ran at
            self.elastic[list(plan.elastic)] = True
            nominal = np.asarray([plan.run_on[j][k[j]] for j in plan.elastic]) / self.ckpt[list(plan.elastic)]
            self.ideal_run[list(plan.elastic)] = nominal
        ref = np.where(np.isnan(self.end), o.end_time, self.end)
        self.wait = np.where(started, ref - self.submit - self.run, np.nan)

    def held(self, lo: float, hi: float) -> np.ndarray:
        """Per job, seconds holding chips inside [lo, hi], every stretch."""
        inside = overlap(self.segment_start, self.hold_end, lo, hi)
        if len(self.e_job):
            inside = inside + np.bincount(self.e_job, weights=overlap(self.e_start, self.e_end, lo, hi),
                                          minlength=len(inside))
        return inside

    def used_extra(self, lo: float, hi: float) -> np.ndarray:
        """Per job, chip-seconds inside [lo, hi] that earlier stretches ran at beyond (or, negative,
        below) the job's last size: elastic jobs only; exactly 0 for a rigid job."""
        n = len(self.state)
        if not len(self.e_job):
            return np.zeros(n)
        return np.bincount(self.e_job, weights=self.e_used_extra * overlap(self.e_start, self.e_end, lo, hi),
                           minlength=n)

    def moved_busy(self, lo: float, hi: float, pools: int) -> np.ndarray:
        """Per pool, busy chip-seconds inside [lo, hi] that `held` x the last stretch's chips and
        pool misplace: earlier stretches on another pool or at another size (elastic jobs, restarts
        elsewhere). Exactly 0 where every stretch matches the last one."""
        out = np.zeros(pools)
        if not len(self.e_job):
            return out
        inside = overlap(self.e_start, self.e_end, lo, hi)
        differ = (self.e_pool != self.pool[self.e_job]) | (self.e_chips != self.alloc[self.e_job])
        if differ.any():
            np.add.at(out, self.e_pool[differ], (self.e_chips * inside)[differ])
            np.add.at(out, self.pool[self.e_job][differ], -(self.alloc[self.e_job] * inside)[differ])
        return out

    def busy(self, lo: float, hi: float) -> float:
        """Allocated chip-seconds inside [lo, hi]."""
        total = float(np.sum(self.alloc * overlap(self.segment_start, self.hold_end, lo, hi)))
        if len(self.e_job):
            total += float(np.sum(self.e_chips * overlap(self.e_start, self.e_end, lo, hi)))
        return total


def arrays(result: Any) -> Arrays:
    """The outcome as numpy columns, computed once per result."""
    cached = getattr(result, "_arrays", None)
    if cached is None:
        cached = Arrays(result)
        result._arrays = cached
    return cached


def forget_arrays(result: Any) -> None:
    """Drop the numpy columns `arrays(result)` keeps (~30 a job and ~10 a stretch: ~270 MiB in the
    campus year) once the tables they make are built; a later `arrays(result)` computes them again."""
    result.__dict__.pop("_arrays", None)


# The summary keys that partition the submitted jobs: each job is in exactly one, so they add up
# to jobs_submitted (tests/test_accounting.py checks it, and the reports print them together).
PARTITION = tuple(m.key for m in metric_registry.PARTITION)


# Failure counts beside `failures` (instance failures, spares and idle ones included): whole-domain
# failures, job stops caused by failures, those that requeued the job, and spare swaps (in all, and
# by the tier between the failed instance and the spare that replaced it).
RESILIENCE_KEYS = ("domain_failures", "interruptions", "requeues", "spare_swaps",
                   *(f"spare_swaps_{tier}" for tier in SPARE_TIERS))


def job_partition(a: Arrays) -> dict[str, int]:
    """Jobs at the end of the run that neither finished nor were rejected: running (at the horizon),
    waiting to restart (ran, were stopped by a preemption or a failure, and are queued again) and
    never started (queued without ever running, or not yet arrived)."""
    queued = (a.state == QUEUED) | (a.state < 0)
    return {"jobs_unstarted": int(np.sum(queued & ~a.started)),
            "jobs_waiting_restart": int(np.sum(queued & a.started)),
            "jobs_running": int(np.sum(a.state == RUNNING))}


def job_ettr(result: Any, a: Arrays) -> np.ndarray:
    """Per job, its effective training time ratio (Meta's ETTR): seconds of kept progress (checkpoint
    writes, lost work, restarts and spare waits excluded) / seconds from submit to its end (or the
    end of the run); NaN for a job that never started."""
    ref = np.where(np.isnan(a.end), result.outcome.end_time, a.end)
    life = ref - a.submit
    useful = a.work / a.ckpt
    return np.where(a.started & (life > 0), useful / np.where(life > 0, life, 1.0), np.nan)


def goodput_factors(result: Any, a: Arrays, held: np.ndarray, kept: np.ndarray, useful_mask: np.ndarray
                    ) -> tuple[float | None, float | None]:
    """Two of the three factors of ML productivity goodput (`goodput` is the third, the runtime
    goodput: useful / held chip-time). Scheduling goodput: the chip-weighted share of the started
    jobs' lives (submit to end, or to the end of the run) that they held their chips. Program
    goodput: the MFU of the pools the useful chip-time ran on (catalogue; None if unknown there)."""
    ref = np.where(np.isnan(a.end), result.outcome.end_time, a.end)
    life = a.alloc * (ref - a.submit)
    started = a.started & (life > 0)
    scheduling = float(np.sum((a.alloc * a.run)[started]) / np.sum(life[started])) if started.any() else None
    useful = np.where(useful_mask, a.used / a.ckpt * held * kept, 0.0)
    total = float(useful.sum())
    if total <= 0:
        return scheduling, None
    weighted = 0.0
    for sh in result.shapes:
        on = float(useful[a.pool == sh.index].sum())
        if on > 0:
            if sh.mfu is None:
                return scheduling, None
            weighted += on * sh.mfu
    return scheduling, weighted / total


# Where the cluster's chip-hours go (the report's badput figure): they add up to chips x window.
CHIP_HOURS = tuple(m.key.removeprefix("chip_h_") for m in metric_registry.METRICS if m.group == "chip-hours")


def chip_hours(a: Arrays, held: np.ndarray, kept: np.ndarray, useful_mask: np.ndarray, capacity: int,
               span: float, down_chip_s: float) -> dict[str, float]:
    """The window's chip-hours split: useful work; checkpoint writes; work lost to stops; restart,
    preemption and resize overheads and waits for spares (`restart`); rounding to whole instances
    and an elastic job's spare chips (`rounding`: held, kept, but not useful); idle; down. Time a
    job runs slower at a higher tier counts as useful, as in `goodput` (docs/architecture.md). `held` is each job's seconds holding chips in the window, `kept` its share of them kept."""
    held_chip = a.alloc * held
    share = np.divide(held, a.run, out=np.zeros_like(held), where=a.run > 0)  # of the whole run, in the window
    lost = a.lost_chip_s * share
    restart = a.overhead_chip_s * share
    kept_used = np.where(useful_mask, a.used * held * kept, 0.0)
    useful = kept_used / a.ckpt
    checkpoint = kept_used - useful
    busy = float(held_chip.sum())
    out = {"useful": float(useful.sum()), "checkpoint": float(checkpoint.sum()), "lost": float(lost.sum()),
           "restart": float(restart.sum())}
    out["rounding"] = max(0.0, busy - sum(out.values()))
    out["down"] = down_chip_s
    out["idle"] = max(0.0, capacity * span - busy - down_chip_s)
    return {k: out[k] / 3600 for k in CHIP_HOURS}


def useful_share(a: Arrays) -> tuple[np.ndarray, np.ndarray]:
    """Per job: the share of its held time kept (not lost later), and whether its work counts as useful."""
    kept = np.divide(a.work, a.run, out=np.zeros_like(a.run), where=a.run > 0)
    useful_mask = (a.state == COMPLETED) | (a.state == RUNNING) | (a.state == QUEUED)
    return kept, useful_mask


def busy_useful(a: Arrays, kept: np.ndarray, useful_mask: np.ndarray, lo: float,
                hi: float) -> tuple[float, float, np.ndarray]:
    """Busy and useful chip-seconds in [lo, hi), and each job's held seconds there."""
    held = a.held(lo, hi)
    useful = float(np.sum((a.used / a.ckpt * held * kept + a.used_extra(lo, hi) / a.ckpt * kept)[useful_mask]))
    return a.busy(lo, hi), useful, held


def summarise(result: Any, policy: Policy) -> dict[str, Any]:
    """The summary keys of a finished run; `policy` (the one that ran) groups jobs for fairness."""
    m = result.loaded.model
    shapes = result.shapes
    a = arrays(result)
    n = len(a.state)
    horizon = m.horizon
    counts = {code: int(np.sum(a.state == code)) for code in (COMPLETED, FAILED, KILLED, REJECTED)}
    partition = job_partition(a)
    unstarted = partition["jobs_unstarted"]
    if horizon is not None:
        w0, w1 = 0.0, float(horizon)
    else:
        w0 = float(a.submit.min()) if n else 0.0
        finished = a.end[~np.isnan(a.end)]
        w1 = float(finished.max()) if len(finished) else w0
    warm = float(m.metrics.warmup)
    ws = min(max(w0, warm), w1)
    capacity = sum(s.chips for s in shapes)

    after_warmup = a.submit >= warm
    waits = a.wait[a.started & after_warmup]
    done = (a.state == COMPLETED) & after_warmup
    jct = (a.end - a.submit)[done]
    run_done = a.run[done]
    tau = float(m.metrics.bsld_tau)
    wait_done = a.wait[done]
    bsld = np.maximum(1.0, (wait_done + run_done) / np.maximum(run_done, tau))

    kept, useful_mask = useful_share(a)
    busy, useful, held = busy_useful(a, kept, useful_mask, ws, w1)
    span = w1 - ws
    s = result.outcome.series
    t = np.asarray(s["t_s"], dtype=float)
    spans = installed_spans(result, w0, w1)
    # chip-seconds installed: capacity x span, or, with pools online or retiring, their installed time
    installed = capacity * span if spans is None else step_integral(t, np.asarray(s["installed_chips"]), ws, w1)
    utilisation = busy / installed if span > 0 and installed else None
    up_chip_s = installed - step_integral(t, np.asarray(s["down_chips"], dtype=float), ws, w1)
    utilisation_of_up = busy / up_chip_s if up_chip_s > 0 else None
    _, useful_full, held_full = busy_useful(a, kept, useful_mask, w0, w1)
    down_full = step_integral(t, np.asarray(s["down_chips"], dtype=float), w0, w1)
    split = chip_hours(a, held_full, kept, useful_mask, capacity, w1 - w0, down_full)

    finished_ok = a.state == COMPLETED
    placed_ok = finished_ok & ~a.elastic  # an elastic job's chip-time follows the sizes it was given
    actual = float(np.sum((a.alloc * a.work / a.ckpt)[placed_ok]))
    ideal = float(np.sum((a.alloc * a.ideal_run)[placed_ok]))

    frag = step_integral(t, np.asarray(s["fragmentation_chips"], dtype=float), ws, w1) / span if span > 0 else None
    power = np.asarray(s["power_w"], dtype=float)
    known_power = bool(len(power)) and bool(np.all(power >= 0))
    energy_mwh = step_integral(t, power, w0, w1) / 3.6e9 if known_power else None
    if known_power:
        inside = (t <= w1) & (np.append(t[1:], np.inf) > w0)
        peak_mw = float(power[inside].max()) / 1e6 if inside.any() else float(power[0]) / 1e6
    else:
        peak_mw = None
    cost = economics.cost_usd(shapes, w1 - w0)
    if spans is not None and cost is not None:  # each pool is paid for while it is installed
        cost = sum(economics.spend_usd(sh, on, off, w0, w1, w0) for sh, (on, off) in zip(shapes, spans, strict=True))
    pflop_days = useful_pflop_days(a, shapes, finished_ok)

    jain = _jain_fairness(result, policy, a.alloc * held_full, a.submit <= w1)
    runtime_goodput = useful / busy if busy > 0 else None
    scheduling_goodput, program_goodput = goodput_factors(result, a, held_full, kept, useful_mask)
    ml_goodput = None if scheduling_goodput is None or runtime_goodput is None or program_goodput is None \
        else scheduling_goodput * runtime_goodput * program_goodput

    summary: dict[str, Any] = {
        "jobs_submitted": n,
        "jobs_completed": counts[COMPLETED],
        "jobs_failed": counts[FAILED],
        "jobs_killed": counts[KILLED],
        "jobs_rejected": counts[REJECTED],
        **partition,
        "rows_skipped": len(result.jobs.skipped),
        "rows_repaired": result.jobs.repaired,
        "avg_wait_s": _f(waits.mean()) if len(waits) else None,
        "p50_wait_s": _pct(waits, 50),
        "p95_wait_s": _pct(waits, 95),
        "p99_wait_s": _pct(waits, 99),
        "wait_censored": unstarted + partition["jobs_waiting_restart"] > 0,
        "avg_jct_s": _f(jct.mean()) if len(jct) else None,
        "p95_jct_s": _pct(jct, 95),
        "avg_bounded_slowdown": _f(bsld.mean()) if len(bsld) else None,
        "makespan_s": w1 - w0,
        "horizon_s": float(horizon) if horizon is not None else None,
        "utilisation": _f(utilisation),
        "utilisation_of_up": _f(utilisation_of_up),
        "goodput": _f(runtime_goodput),
        "scheduling_goodput": _f(scheduling_goodput),
        "program_goodput": _f(program_goodput),
        "ml_goodput": _f(ml_goodput),
        "placement_efficiency": _f(ideal / actual) if actual > 0 else None,
        "fragmentation_chips": _f(frag),
        "preemptions": int(a.preemptions.sum()),
        "failures": result.outcome.failures,
        **{key: int(result.outcome.resilience.get(key, 0)) for key in RESILIENCE_KEYS},
        "restarts": int(a.restarts.sum()),
        "resizes": int(a.resizes.sum()),
        "lost_chip_s": float(a.lost_chip_s.sum()),
        "jain_fairness": _f(jain),
        "energy_mwh": _f(energy_mwh),
        "peak_power_mw": _f(peak_mw),
        **power_cap_summary(result, t, w0, w1),
        "cost_usd": _f(cost),
        "usd_per_useful_chip_hour": _f(cost / (useful_full / 3600)) if cost is not None and useful_full > 0 else None,
        "usd_per_useful_pflop_day": _f(cost / pflop_days) if cost is not None and pflop_days > 0 else None,
        **{f"chip_h_{k}": _f(v) for k, v in split.items()},
        "chips": capacity,
        "instances": sum(sh.instances for sh in shapes),
        "events": result.outcome.events,
        "wall_s": result.wall_s,
        "seed": result.seed,
        "scenario_sha256": None,
        "version": None,
    }
    moved = a.moved_busy(ws, w1, len(shapes))
    for sh in shapes:
        mask = a.pool == sh.index
        pool_busy = float(np.sum((a.alloc * held)[mask])) + moved[sh.index]
        pool_span = span if spans is None else max(0.0, min(w1, spans[sh.index][1]) - max(ws, spans[sh.index][0]))
        summary[f"pool.{sh.name}.utilisation"] = _f(pool_busy / (sh.chips * pool_span)) if pool_span > 0 else None
        summary[f"pool.{sh.name}.chips"] = sh.chips
    return summary


def installed_spans(result: Any, w0: float, w1: float) -> list[tuple[float, float]] | None:
    """Per pool, (online, retire) with never = infinity; None when every pool is installed throughout."""
    pools = result.loaded.model.cluster.pools
    if all(p.online == 0 and p.retire is None for p in pools):
        return None
    return [(float(p.online), math.inf if p.retire is None else float(p.retire)) for p in pools]


def power_cap_summary(result: Any, t: np.ndarray, w0: float, w1: float) -> dict[str, float | None]:
    """`capped_s`: time at the power cap (throttled, or a start held back by power);
    `throttle_loss_chip_s`: busy chip-seconds lost to throttling, busy chips x (1 - speed).
    Both 0 without a cap."""
    if result.loaded.model.cluster.power_cap is None:
        return {"capped_s": 0.0, "throttle_loss_chip_s": 0.0}
    s = result.outcome.series
    loss = np.asarray(s["busy_chips"], dtype=float) * (1.0 - np.asarray(s["speed_factor"], dtype=float))
    return {"capped_s": step_integral(t, np.asarray(s["capped"], dtype=float), w0, w1),
            "throttle_loss_chip_s": step_integral(t, loss, w0, w1)}


YEAR_S = 365 * 86400.0


def useful_pflop_days(a: Arrays, shapes: list, done: np.ndarray) -> float:
    """The work of the jobs in `done` (completed): ideal-placement chip-days x BF16 TFLOPS x MFU / 1000
    of the pool each ran on; NaN if one ran on a pool whose capability is unknown."""
    pflop_days = 0.0
    for sh in shapes:
        mask = done & (a.pool == sh.index)
        if sh.bf16_tflops is None or sh.mfu is None:
            if mask.any():
                pflop_days = math.nan
            continue
        pflop_days += float(np.sum((a.req_on_pool * a.ideal_run)[mask])) / 86400 * sh.bf16_tflops * sh.mfu / 1000
    return pflop_days


def per_year(result: Any) -> list[dict[str, float | int | None]]:
    """One row per year of the run's window (the last one may be partial): installed chips and
    peak power (time-averaged chips; the installed pools' peak watts), facility power drawn
    (average), spend (each pool's $/h while installed; a purchased pool's price in the year it
    comes online), utilisation (busy / installed chip-seconds), goodput (useful / busy, as the
    summary's), useful PFLOP-days (completed jobs, in the year they end; summary's definition),
    $ per useful PFLOP-day, days at the power cap and chip-days lost to throttling."""
    shapes = result.shapes
    o = result.outcome
    s = o.series
    t = np.asarray(s["t_s"], dtype=float)
    end = float(result.summary["makespan_s"]) if result.loaded.model.horizon is None else float(
        result.loaded.model.horizon)
    spans = installed_spans(result, 0.0, end) or [(0.0, math.inf)] * len(shapes)
    c = result.loaded.model.cluster
    k = c.pue * (1 + c.network_fraction)
    a = Arrays(result)
    done = a.state == COMPLETED
    kept, useful_mask = useful_share(a)
    rows = []
    for y in range(max(1, math.ceil(end / YEAR_S - 1e-9))):
        lo, hi = y * YEAR_S, min(end, (y + 1) * YEAR_S)
        width = hi - lo
        installed = step_integral(t, np.asarray(s["installed_chips"], dtype=float), lo, hi)
        busy = step_integral(t, np.asarray(s["busy_chips"], dtype=float), lo, hi)
        power = np.asarray(s["power_w"], dtype=float)
        live = [sh for sh, (on, off) in zip(shapes, spans, strict=True) if on < hi and off > lo]
        spend = None if any(sh.usd_per_h is None for sh in shapes) else sum(
            economics.spend_usd(sh, on, off, lo, hi) for sh, (on, off) in zip(shapes, spans, strict=True))
        job_busy, job_useful, _ = busy_useful(a, kept, useful_mask, lo, hi)
        pflop_days = useful_pflop_days(a, shapes, done & (a.end >= lo) & (a.end < hi if hi < end else a.end <= hi))
        loss = np.asarray(s["busy_chips"], dtype=float) * (1.0 - np.asarray(s["speed_factor"], dtype=float))
        peak = None if any(sh.chip_watts is None for sh in live) else sum(
            k * sh.instances * sh.instance_peak_watts for sh in live)
        rows.append({
            "year": y + 1,
            "installed_chips": int(round(installed / width)) if width > 0 else 0,
            "installed_peak_mw": None if peak is None else peak / 1e6,
            "power_mw": step_integral(t, power, lo, hi) / width / 1e6 if width > 0 and np.all(power >= 0) else None,
            "spend_usd": spend,
            "utilisation": busy / installed if installed > 0 else None,
            "goodput": _f(job_useful / job_busy) if job_busy > 0 else None,
            "useful_pflop_days": _f(pflop_days),
            "usd_per_useful_pflop_day": _f(spend / pflop_days) if spend is not None and pflop_days > 0 else None,
            "capped_days": step_integral(t, np.asarray(s["capped"], dtype=float), lo, hi) / 86400,
            "throttle_loss_chip_days": step_integral(t, loss, lo, hi) / 86400,
        })
    return rows


def jobs_table(result: Any) -> pa.Table:
    """One row per job, the columns of docs/architecture.md ("The run directory"), nulls where a value does not exist."""
    a = arrays(result)
    jobs = result.jobs
    names = [s.name for s in result.shapes]

    def nullable(x: np.ndarray) -> pa.Array:
        return pa.array(x, mask=np.isnan(x), type=pa.float64())

    wait = a.wait
    end = a.end
    return pa.table({
        "job_id": pa.array(jobs.id, pa.string()),
        "entry": pa.array(jobs.entry, pa.string()),
        "user": pa.array(jobs.user, pa.string()),
        "queue": pa.array(jobs.queue, pa.string()),
        "pool": pa.array([names[p] if p >= 0 else None for p in a.pool], pa.string()),
        "submit_s": pa.array(a.submit, pa.float64()),
        "start_s": nullable(a.start),
        "end_s": nullable(end),
        "requested_s": pa.array(jobs.requested, pa.float64()),
        "chips_requested": pa.array(jobs.chips, pa.int64()),
        "chips_allocated": pa.array(a.alloc.astype(np.int64), pa.int64()),
        "wait_s": nullable(wait),
        "jct_s": nullable(end - a.submit),
        "run_s": pa.array(a.run, pa.float64()),
        "tier": pa.array([TIERS[t] if t >= 0 else None for t in result.outcome.tier], pa.string()),
        "restarts": pa.array(a.restarts),
        "preemptions": pa.array(a.preemptions),
        "resizes": pa.array(a.resizes),
        "lost_chip_s": pa.array(a.lost_chip_s, pa.float64()),
        "ettr": nullable(job_ettr(result, a)),
        "state": pa.array([JOB_STATES[s] if s >= 0 else JOB_STATES[QUEUED] for s in a.state], pa.string()),
        # beyond the contract's columns: the wait a trace recorded (null elsewhere), for comparison plots
        "recorded_wait_s": pa.array(jobs.recorded_wait, pa.float64()),
    })


def _jain_fairness(result: Any, policy: Policy, chip_s: np.ndarray, active: np.ndarray) -> float | None:
    """Jain's index of attained chip-seconds per `policy.fairness_group` (the user unless the policy
    says otherwise), each divided by its `policy.fair_shares` fraction when the policy has them,
    over the groups with jobs submitted in the window."""
    attained: dict[str, float] = {}
    for user, queue, x, act in zip(result.jobs.user, result.jobs.queue, chip_s, active, strict=True):
        if act:
            key = policy.fairness_group(user, queue)
            attained[key] = attained.get(key, 0.0) + float(x)
    shares = policy.fair_shares(attained)
    if shares is not None:
        attained = {q: v / shares[q] for q, v in attained.items() if shares[q] > 0}
    x = np.asarray(list(attained.values()))
    return float(x.sum() ** 2 / (len(x) * np.sum(x * x))) if len(x) and np.sum(x * x) > 0 else None


def pool_busy_series(result: Any) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per pool name, (t_s, busy chips from t on): a step function built from every stretch each
    job held chips (those cut short by preemption or failure included), so pools of different
    accelerators can be drawn apart. From the cached numpy columns (`arrays`) if they are still
    there, else from columns of its own that are not cached: a run directory drops the cached ones
    once the jobs table is built (sim.rundir)."""
    cached = getattr(result, "_arrays", None)
    a = cached if cached is not None else Arrays(result)  # (not cached again)
    starts = np.concatenate([a.segment_start, a.e_start])
    ends = np.concatenate([a.hold_end, a.e_end])
    chips = np.concatenate([a.alloc, a.e_chips])
    pool = np.concatenate([a.pool, a.e_pool]) if len(a.e_job) else a.pool
    held = np.isfinite(starts) & np.isfinite(ends) & (ends > starts)
    out = {}
    for shape in result.shapes:
        mine = held & (pool == shape.index)
        t = np.concatenate([[0.0], starts[mine], ends[mine]])
        dv = np.concatenate([[0.0], chips[mine], -chips[mine]])
        order = np.argsort(t, kind="stable")
        t, level = t[order], np.cumsum(dv[order])
        last = np.append(t[1:] != t[:-1], True)  # one value per instant: the level after every change
        out[shape.name] = (t[last], np.maximum(level[last], 0.0))
    return out
