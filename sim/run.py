"""One simulation, in-process: scenario -> topology and jobs -> engine -> recorded outcome.

`simulate()` is a pure function of (loaded scenario, seed) returning plain data; writing a
run directory is `sim.rundir`'s job.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sim import __version__, economics, failures, heap, metrics, topology
from sim.engine import FINAL_STATE, Elastic, Engine, JobPlan, Outcome
from sim.errors import InputError
from sim.jsonfile import null_non_finite
from sim.names import TIERS
from sim.placement import PLACEMENTS, PoolState
from sim.policies import base as policies
from sim.scenario.loader import LoadedScenario, scenario_sha256
from sim.workload import Jobs, build_jobs


@dataclass
class Rejected:
    job_id: str
    entry: str
    chips: int
    reason: str


@dataclass
class Result:
    loaded: LoadedScenario
    seed: int
    shapes: list[topology.PoolShape]
    jobs: Jobs
    plan: JobPlan
    outcome: Outcome
    rejected: list[Rejected]
    assumptions: list[str]
    wall_s: float
    summary: dict[str, Any]


def build_cluster(loaded: LoadedScenario) -> tuple[list[topology.PoolShape], list[PoolState]]:
    shapes = topology.size_pools(loaded.model.cluster, loaded.catalogue, loaded.problem)
    graph = topology.build_graph(shapes)
    compiled = topology.compile(graph, shapes)
    return shapes, [PoolState(c) for c in compiled]


def _capability(shape: topology.PoolShape) -> float | None:
    if shape.bf16_tflops is None or shape.mfu is None:
        return None
    return shape.bf16_tflops * shape.mfu


def _factors(loaded: LoadedScenario, unit: str, shapes: list[topology.PoolShape]) -> list[float]:
    """Per pool, chips of the pool's accelerator per chip of `unit` (1 on `unit`'s own pools); NaN
    where a capability is unknown (a job named `unit` first and accepting such a pool is bad input)."""
    acc = loaded.catalogue.accelerators.get(unit)
    cap = None if acc is None or acc.bf16_tflops is None or acc.mfu is None else acc.bf16_tflops * acc.mfu
    out = []
    for s in shapes:
        other = _capability(s)
        out.append(1.0 if s.accelerator == unit else math.nan if cap is None or other is None else cap / other)
    return out


def plan_jobs(loaded: LoadedScenario, jobs: Jobs, shapes: list[topology.PoolShape]
              ) -> tuple[JobPlan, list[Rejected]]:
    """Which pools each job accepts, its chips and run time on each, and what is rejected."""
    m = loaded.model
    ref = loaded.catalogue.accelerators[m.reference_accelerator]
    ref_cap = None if ref.bf16_tflops is None or ref.mfu is None else ref.bf16_tflops * ref.mfu
    ref_factor = []
    for s in shapes:
        if s.accelerator == ref.name:
            ref_factor.append(1.0)
        elif ref_cap is None or (capability := _capability(s)) is None:
            raise InputError(loaded.problem(("reference_accelerator",),
                                            f"cannot map jobs from {ref.name} to pool {s.name} ({s.accelerator}): "
                                            "bf16_tflops and mfu are needed for both"))
        else:
            ref_factor.append(ref_cap / capability)
    # a job's chips and duration are those of the first accelerator it names (else the reference's)
    factors_of: dict[str, list[float]] = {ref.name: ref_factor}
    keep_chips = m.scheduler.map == "keep_chips"
    kill = m.scheduler.kill_at_limit
    all_pools = tuple(range(len(shapes)))
    capacity = [s.chips for s in shapes]
    by_accelerator: dict[str, tuple[int, ...]] = {}
    for s in shapes:
        by_accelerator[s.accelerator] = by_accelerator.get(s.accelerator, ()) + (s.index,)
    pools_of: dict[tuple[str, ...] | None, tuple[int, ...]] = {None: all_pools}
    fail = m.failures
    write_s = failures.CHECKPOINT_WRITE_S if fail is None else float(fail.checkpoint_write)
    mtbf = [math.inf] * len(shapes)  # per pool, of one instance
    if fail is not None:
        mtbf = [failures.instance_mtbf(fail, s.chips_per_instance) for s in shapes]
    cpi = [s.chips_per_instance for s in shapes]
    ckpt_of: dict[object, tuple[float, float]] = {}  # (spec, pool, instances) -> (interval, factor)
    intervals: list[float] = []
    estimate = m.scheduler.estimate
    est_factor = estimate.factor if estimate.kind == "factor" and estimate.factor is not None else 1.0
    use_request = estimate.kind == "trace"
    pools_col: list[tuple[int, ...]] = []
    chips_on: list[tuple[int, ...]] = []
    one_pool_chips: dict[int, tuple[int]] = {}
    run_on: list[tuple[float, ...]] = []
    estimate_on: list[tuple[float, ...]] = []
    limit_on: list[tuple[float, ...] | None] = []
    rejected_flags: list[bool] = []
    final = [FINAL_STATE[status] for status in jobs.status]
    rejected: list[Rejected] = []
    problems = []
    for j in range(len(jobs)):
        names = jobs.accelerator[j]
        pools = pools_of.get(names)
        if pools is None:
            assert names is not None  # no names: every pool, in pools_of from the start
            pools = pools_of[names] = tuple(sorted({p for n in names for p in by_accelerator.get(n, ())}))
        spec = jobs.checkpoint_interval[j]
        if spec is None and fail is not None:
            spec = fail.checkpoint_interval
        chips_ref = jobs.chips[j]
        duration = jobs.duration[j]
        requested = jobs.requested[j]
        unit = names[0] if names else ref.name
        factor = factors_of.get(unit)
        if factor is None:
            factor = factors_of[unit] = _factors(loaded, unit, shapes)
        # young/daly: M = the instance's MTBF / the instances the job gets on its pool (the first
        # it accepts), i.e. its chips mapped to that pool's accelerator
        p0 = pools[0] if pools else 0
        instances = 0
        if isinstance(spec, str):
            f0 = factor[p0]
            chips0 = chips_ref if keep_chips or f0 == 1.0 or math.isnan(f0) else math.ceil(chips_ref * f0 - 1e-9)
            instances = max(1, -(-chips0 // cpi[p0]))
        key = (spec, p0, instances)
        known = ckpt_of.get(key)
        if known is None:
            t = failures.checkpoint_interval(spec, mtbf[p0] / max(instances, 1), write_s)
            known = ckpt_of[key] = (t, failures.checkpoint_factor(t, write_s))
        intervals.append(known[0])
        ckpt = known[1]
        if len(pools) == 1 and factor[pools[0]] == 1.0 and chips_ref <= capacity[pools[0]]:
            pools_col.append(pools)  # the common case: one pool of the reference accelerator
            one = one_pool_chips.get(chips_ref)
            if one is None:  # one tuple per size, shared by the jobs of that size (~40 MiB in the campus year)
                one = one_pool_chips[chips_ref] = (chips_ref,)
            chips_on.append(one)
            run = (duration * ckpt,)
            run_on.append(run)
            if use_request and requested is not None:
                estimate_on.append((requested * ckpt,))
            else:
                estimate_on.append(run if est_factor == 1.0 else (run[0] * est_factor,))
            limit_on.append((requested * ckpt,) if kill and requested is not None else None)
            rejected_flags.append(False)
            continue
        unmapped = [shapes[p].accelerator for p in pools if math.isnan(factor[p])]
        if unmapped:
            where = ("workload", *jobs.origin[j][:1], "jobs", *jobs.origin[j][1:], "accelerator") \
                if jobs.origin[j] else ("reference_accelerator",)
            problems.append(loaded.problem(where, f"job {jobs.id[j]!r}: cannot map its {unit} chips to "
                                                  f"{unmapped[0]}: bf16_tflops and mfu are needed for both"))
            continue
        chips, runs, estimates, limits = [], [], [], []
        for p in pools:
            f = factor[p]
            chips.append(chips_ref if keep_chips or f == 1.0 else math.ceil(chips_ref * f - 1e-9))
            scale = f if keep_chips else 1.0
            runs.append(duration * scale * ckpt)
            base = requested if use_request and requested is not None else duration * est_factor
            estimates.append(base * scale * ckpt)
            if kill and requested is not None:
                limits.append(requested * scale * ckpt)
        keep = [k for k, p in enumerate(pools) if chips[k] <= capacity[p]]
        reason = None
        if not pools:
            reason = f"no pool has accelerator {', '.join(names or ())}"
        elif not keep:
            largest = max(capacity[p] for p in pools)
            reason = f"{chips_ref} chips exceed the largest pool it accepts ({largest} chips)"
        if reason and jobs.origin[j]:
            i, k = jobs.origin[j]
            field = "chips" if pools else "accelerator"
            problems.append(loaded.problem(("workload", i, "jobs", k, field), f"job {jobs.id[j]!r}: {reason}"))
        elif reason:
            rejected.append(Rejected(jobs.id[j], jobs.entry[j], chips_ref, reason))
        if not keep:  # never started; keep a well-formed row
            pools_col.append(pools or all_pools[:1])
            chips_on.append((chips_ref,) * len(pools or all_pools[:1]))
            run_on.append((duration,) * len(pools or all_pools[:1]))
            estimate_on.append((duration,) * len(pools or all_pools[:1]))
            limit_on.append(None)
        else:
            pools_col.append(tuple(pools[k] for k in keep))
            chips_on.append(tuple(chips[k] for k in keep))
            run_on.append(tuple(runs[k] for k in keep))
            estimate_on.append(tuple(estimates[k] for k in keep))
            limit_on.append(tuple(limits[k] for k in keep) if limits else None)
        rejected_flags.append(reason is not None)
    elastic = {}
    for j, e in enumerate(jobs.elastic):
        if e is None or rejected_flags[j]:
            continue
        if kill:
            where = ("workload", jobs.origin[j][0], "jobs", jobs.origin[j][1], "elastic") if jobs.origin[j] \
                else ("scheduler", "kill_at_limit")
            problems.append(loaded.problem(where, f"job {jobs.id[j]!r} is elastic: its run time depends on the "
                                                  "sizes it gets, so scheduler.kill_at_limit cannot apply"))
            break
        elastic[j] = Elastic(e[0], e[1], 1.0 if e[2] is None else e[2])
    if problems:
        raise InputError(problems)
    table = policies.JobTable(
        submit=tuple(jobs.submit), chips=tuple(jobs.chips),
        requested=tuple(r if r is not None else d for r, d in zip(jobs.requested, jobs.duration, strict=True)),
        priority=tuple(jobs.priority), user=tuple(u or "" for u in jobs.user),
        queue=tuple(q or "" for q in jobs.queue), entry=tuple(jobs.entry), pools=tuple(pools_col))
    checkpoint_s = None
    if any(not math.isinf(t) for t, _ in ckpt_of.values()):
        checkpoint_s = intervals
    return (JobPlan(table, rejected_flags, chips_on, run_on, estimate_on, limit_on, final, checkpoint_s, write_s,
                    elastic or None), rejected)


def assumptions(loaded: LoadedScenario, shapes: list[topology.PoolShape],
                jobs_elastic: Sequence[tuple[int, int, float | None] | None] = ()) -> list[str]:
    """Every ESTIMATE that drives a number of this run, to print beside the results."""
    m = loaded.model
    c = m.cluster
    cat = loaded.catalogue
    out = [
        "Tier slowdown factors (ESTIMATE): " + ", ".join(
            f"{t} {getattr(c.topology.slowdown, t):.2f}" for t in TIERS),
        f"Fan-out (ESTIMATE): {c.topology.fanout.pod} instances per pod, {c.topology.fanout.spine} pods per spine group",
        f"Facility: PUE {c.pue:g}, network {c.network_fraction:.0%} of IT power (ESTIMATE), idle chips draw "
        f"{c.idle_fraction:.0%} of busy watts (ESTIMATE), host watts = {c.host_fraction:g} x chip watts (ESTIMATE)",
    ]
    seen = set()
    for s in shapes:
        acc = cat.accelerators[s.accelerator]
        inst = cat.instances[s.instance_type]
        if acc.name not in seen:
            seen.add(acc.name)
            if acc.watts_is_estimate:
                out.append(f"{acc.name}: {acc.watts:g} W per chip (ESTIMATE; {acc.source})")
            if acc.mfu_is_estimate:
                out.append(f"{acc.name}: MFU {acc.mfu:g} ({acc.mfu_source})")
        if inst.price_is_estimate:
            out.append(f"{inst.name}: ${inst.on_demand_usd_per_h:g}/h on demand (ESTIMATE; {inst.source})")
    if any(s.chip_watts is None for s in shapes):
        out.append("Power is unknown for a pool whose accelerator has no watts: power keys are null")
    if any(s.usd_per_h is None for s in shapes):
        out.append("Price is unknown for a pool: cost keys are null")
    if any(e is not None for e in jobs_elastic):
        out.append(f"Elastic jobs: a resize costs {m.scheduler.resize_overhead:g} s of no progress "
                   f"(scheduler.resize_overhead{'' if 'resize_overhead' in m.scheduler.model_fields_set else ', ESTIMATE'})")
        if any(e is not None and e[2] is None for e in jobs_elastic):
            out.append("Elastic jobs without `scaling`: speed at n chips = n / chips (linear scaling, ESTIMATE)")
    if c.power_cap is not None:
        pc = c.power_cap
        out.append(f"Power cap {pc.limit / 1e6:g} MW, {pc.mode}" + (
            f": busy power above idle scales as f^{pc.exponent:g} at frequency f, job speed as f"
            f"{'' if 'exponent' in pc.model_fields_set else ' (ESTIMATE: dynamic power ~ f V^2)'}"
            if pc.mode == "throttle" else ": a job waits while its busy power would cross the limit"))
    fail = m.failures
    if fail is None:
        out.append(f"Checkpoint write time C = {failures.CHECKPOINT_WRITE_S:g} s for jobs with a fixed "
                   "checkpoint_interval (ESTIMATE); no failures (no failures: block)")
        return out
    for s in shapes:
        mtbf = failures.instance_mtbf(fail, s.chips_per_instance)
        if fail.mtbf_instance is None:
            out.append(f"{s.name}: instance MTBF {mtbf / 86400:.0f} d = 1 / ({s.chips_per_instance} chips x "
                       f"{failures.FAILURES_PER_CHIP_DAY * 1e4:.2f}e-4 failures per chip-day) (ESTIMATE: Llama 3 405B, "
                       "419 interruptions / 54 d / 16,384 H100; "
                       "the only public Trainium figure, HLAT's 98.81 % job uptime on 4,096 Trainium1, is an "
                       "uptime, not a rate)")
        else:
            out.append(f"{s.name}: instance MTBF {mtbf / 86400:g} d (scenario)")
    r = fail.restart_overhead
    restart = f"{r:g} s" if isinstance(r, int | float) else f"{r.fixed:g} s + {r.per_1k_instances:g} s per 1,000 instances"
    out.append(f"Failures: repair {fail.repair / 3600:g} h, checkpoint write C = {fail.checkpoint_write:g} s, "
               f"restart overhead R = {restart} (ESTIMATE), default checkpoint interval "
               f"{fail.checkpoint_interval} (M = instance MTBF / the job's instances on its pool); "
               f"recovery {fail.recovery}" + (f", fallback {fail.fallback}" if fail.recovery == "spares" else ""))
    return out


def spare_counts(loaded: LoadedScenario, shapes: list[topology.PoolShape]) -> list[int]:
    """Per pool, its hot spare instances (`cluster.pools[].spares`: a count or a share)."""
    out = []
    for s, pool in zip(shapes, loaded.model.cluster.pools, strict=True):
        n = pool.spares if isinstance(pool.spares, int) else round(pool.spares * s.instances)
        if n >= s.instances:
            raise InputError(loaded.problem(("cluster", "pools", s.index, "spares"),
                                            f"{n} spares leave no instance of the {s.instances} to place jobs on"))
        out.append(n)
    return out


def power_cap_and_installs(loaded: LoadedScenario, shapes: list[topology.PoolShape], policy: type[policies.Policy]
                           ) -> tuple[tuple[float, str, float] | None, list[tuple[float, float | None]] | None]:
    """The engine's `power_cap` and `installs` arguments (None when unused), checked against the
    cluster: a cap needs every pool's power, must exceed the facility's idle power whenever pools
    are installed, and `hold` needs a policy that counts power (`Policy.power_hold`)."""
    c = loaded.model.cluster
    given = [(float(p.online), None if p.retire is None else float(p.retire)) for p in c.pools]
    installs = None if all(on == 0 and off is None for on, off in given) else given
    cap = c.power_cap
    if cap is None:
        return None, installs
    where = ("cluster", "power_cap")
    power = economics.power_model(c, shapes)
    if power.base_w is None:
        raise InputError([loaded.problem(where + ("limit",), "a power cap needs every pool's power: an "
                                         "accelerator has no watts in the catalogue")])
    idle = [s.instances * w for s, w in zip(shapes, power.per_down_instance_w, strict=True)]
    spans = installs or [(0.0, None)] * len(shapes)
    floor = max(sum(w for w, (on, off) in zip(idle, spans, strict=True) if on <= t and (off is None or t < off))
                for t in {on for on, _ in spans})
    if cap.limit <= floor:
        raise InputError([loaded.problem(where + ("limit",), f"{cap.limit / 1e6:g} MW is not above the facility's "
                                         f"idle power ({floor / 1e6:g} MW): no chip could ever run")])
    if cap.mode == "hold" and not policy.power_hold:
        raise InputError([loaded.problem(where + ("mode",), f"policy {policy.name} does not count a held power "
                                         "cap in its look-ahead: use mode: throttle or another policy")])
    return (float(cap.limit), cap.mode, float(cap.exponent)), installs


def simulate(loaded: LoadedScenario, seed: int | None = None,
             progress: Callable[[float, int, int, int], None] | None = None) -> Result:
    """Run the scenario once. `progress(sim_time_s, jobs_done, jobs_total, events)` is called now and then."""
    t0 = time.perf_counter()
    m = loaded.model
    seed = m.seed if seed is None else seed
    shapes, pools = build_cluster(loaded)
    jobs = build_jobs(loaded, seed)
    plan, rejected = plan_jobs(loaded, jobs, shapes)
    policy_cls = policies.get(m.scheduler.policy)
    policy = policy_cls(policy_cls.Options.model_validate(m.scheduler.options), m.scheduler)
    policy.pools = tuple(shapes)
    slow = m.cluster.topology.slowdown
    fail = m.failures
    failing = None if fail is None else failures.pool_failures(fail, shapes, seed)
    restart = failures.RESTART_OVERHEAD_S if fail is None else fail.restart_overhead
    power_cap, installs = power_cap_and_installs(loaded, shapes, policy_cls)
    engine = Engine(plan, pools, policy, PLACEMENTS[m.scheduler.placement],
                    [getattr(slow, t) for t in TIERS], economics.power_model(m.cluster, shapes),
                    horizon=m.horizon, progress=progress, failing=failing,
                    restart_overhead=float(restart) if isinstance(restart, int | float)
                    else lambda n: failures.restart_overhead(restart, n),
                    power_cap=power_cap, installs=installs,
                    recovery="requeue" if fail is None else fail.recovery,
                    fallback="requeue" if fail is None else fail.fallback, spares=spare_counts(loaded, shapes),
                    domains=() if fail is None else failures.domain_failures(fail.domains, pools, seed),
                    recovery_of={j: r for j, r in enumerate(jobs.recovery) if r is not None and not plan.rejected[j]})
    outcome = engine.run()
    wall = time.perf_counter() - t0
    result = Result(loaded, seed, shapes, jobs, plan, outcome, rejected,
                    assumptions(loaded, shapes, jobs.elastic) + policy.assumptions(), wall, {})
    result.summary = metrics.summarise(result, policy)
    heap.trim()  # what the engine and the summary freed
    result.summary["version"] = __version__
    result.summary["scenario_sha256"] = scenario_sha256(loaded.resolved_yaml(seed))
    result.assumptions += null_non_finite(result.summary)  # summary.json is strict JSON
    return result


from sim.callable_module import make_callable  # noqa: E402  (`sim.run(...)` is sim.api.run: see that module)

make_callable(__name__)
