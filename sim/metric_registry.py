"""Every key of summary.json, once: its unit, meaning, label, format, and where it is shown.

The terminal summary table, the run report, `trnsim compare`, `trnsim sweep`, `trnsim plan`'s
`--slo` names, the summary's JSON Schema and the key list in docs/reports.md are all read from
`METRICS`. Adding a metric is one entry here plus its computation in `sim.metrics.summarise`;
tests/test_metric_registry.py checks that a run's summary.json has exactly these keys and that
the docs list every one. Definitions: docs/architecture.md, "Metric definitions".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from sim.names import SPARE_TIERS

Format = Literal["pct", "t", "n", "usd", "x", "text"]  # how sim.report.markdown.fmt writes the value


@dataclass(frozen=True)
class Metric:
    key: str  # in summary.json; `{pool}` stands for each pool's name
    unit: str
    description: str
    label: str  # the row's name in the run's headline table and report
    group: str  # the section of docs/reports.md's key list
    fmt: Format = "x"
    type: Literal["integer", "number", "boolean", "string"] = "number"  # JSON type (numbers and strings may be null)
    better: Literal["higher", "lower"] | None = None  # None: neither (a count of what happened, a size)
    slo: str | None = None  # its name in `trnsim plan --slo NAME<=VALUE`
    with_size: Literal["shrinks", "grows"] | None = None  # as a pool grows (plan's bisection searches on these)
    with_spares: Literal["shrinks", "grows"] | None = None  # as a pool holds more hot spares (plan --vary ...spares)
    headline: int | None = None  # its row in the run's headline table (after the job counts and the window)
    compare: int | None = None  # its row in `trnsim compare` (None: not shown)
    short_label: str | None = None  # its name in narrow tables (cards, `trnsim ls`, sweeps), if not `label`
    compare_label: str | None = None  # its name in `trnsim compare`, if not the short one

    @property
    def short(self) -> str:
        """Its name in narrow tables."""
        return self.short_label or self.label

    @property
    def quantity(self) -> str:
        """What `--slo` reads a limit as: time, fraction, energy, power, money or number."""
        if self.unit == "s":
            return "time"
        if self.unit.startswith("USD"):
            return "money"
        return {"fraction": "fraction", "MWh": "energy", "MW": "power"}.get(self.unit, "number")


_COUNT: dict[str, Any] = {"fmt": "n", "type": "integer"}
_JOBS: dict[str, Any] = {"unit": "jobs", "group": "jobs", **_COUNT}
_WAIT: dict[str, Any] = {"unit": "s", "group": "waits", "fmt": "t", "better": "lower", "with_size": "shrinks",
                         "with_spares": "shrinks"}
_EVENTS: dict[str, Any] = {"unit": "count", "group": "resilience", **_COUNT}
_CHIP_H: dict[str, Any] = {"unit": "chip-h", "group": "chip-hours"}

METRICS: tuple[Metric, ...] = (
    # where every submitted job went: the partition adds up to jobs_submitted
    Metric("jobs_submitted", description="jobs in the workload (trace rows skipped excluded)",
           label="jobs submitted", compare=10, **_JOBS),
    Metric("jobs_completed", description="jobs that ran to the end of their work", label="completed",
           better="higher", slo="jobs_completed", with_size="grows", with_spares="grows", compare=11, **_JOBS),
    Metric("jobs_failed", description="trace jobs replayed to their recorded failure", label="failed",
           compare=12, **_JOBS),
    Metric("jobs_killed", description="jobs stopped at their requested time", label="killed (time limit)",
           compare=13, **_JOBS),
    Metric("jobs_rejected", description="jobs larger than every pool they accept; never queued",
           label="rejected (too large)", better="lower", slo="jobs_rejected", with_size="shrinks",
           compare=14, **_JOBS),
    Metric("jobs_unstarted", description="jobs queued that never ran (or had not arrived at the horizon)",
           label="never started", better="lower", slo="jobs_unstarted", with_size="shrinks", with_spares="shrinks",
           compare=15,
           **_JOBS),
    Metric("jobs_waiting_restart", description="jobs that ran, were stopped, and are queued again",
           label="waiting to restart", slo="jobs_waiting_restart", compare=16, **_JOBS),
    Metric("jobs_running", description="jobs holding chips when the horizon stopped the run",
           label="running at the horizon", slo="jobs_running", compare=17, **_JOBS),
    Metric("rows_skipped", "rows", "trace rows left out, each with its reason in the report",
           "rows skipped (traces)", "input", **_COUNT),
    Metric("rows_repaired", "rows", "trace rows read after a repair (e.g. a missing field filled in)",
           "rows repaired (traces)", "input", **_COUNT),
    # waits and completion times (started jobs after the warm-up; JCT of completed ones)
    Metric("avg_wait_s", description="mean wait of started jobs", label="mean wait", slo="avg_wait",
           headline=4, compare=3, **_WAIT),
    Metric("p50_wait_s", description="median wait of started jobs", label="median wait", slo="p50_wait",
           headline=5, compare=4, **_WAIT),
    Metric("p95_wait_s", description="95th percentile wait of started jobs", label="p95 wait",
           slo="p95_wait", headline=6, compare=5, **_WAIT),
    Metric("p99_wait_s", description="99th percentile wait of started jobs", label="p99 wait",
           slo="p99_wait", compare=6, **_WAIT),
    Metric("wait_censored", "bool", "true while jobs never started or wait to restart (their waits are "
           "still growing)", "waits censored", "waits", fmt="text", type="boolean"),
    Metric("avg_jct_s", description="mean job completion time (end - submit) of completed jobs",
           label="mean job completion time", slo="avg_jct", headline=7, compare=7, **_WAIT),
    Metric("p95_jct_s", description="95th percentile job completion time of completed jobs",
           label="p95 job completion time", slo="p95_jct", **_WAIT),
    Metric("avg_bounded_slowdown", "ratio", "mean of max(1, (wait + run) / max(run, metrics.bsld_tau)) "
           "of completed jobs", "mean bounded slowdown", "waits", better="lower", slo="avg_bounded_slowdown",
           with_size="shrinks", with_spares="shrinks", headline=8, compare=8),
    # the window
    Metric("makespan_s", "s", "the window's length: first submit to last completion, or 0 to the horizon",
           "window", "window", fmt="t", better="lower", slo="makespan", with_size="shrinks", with_spares="shrinks",
           compare=9),
    Metric("horizon_s", "s", "the scenario's horizon (null without one)", "horizon", "window", fmt="t"),
    # how the chips were used
    Metric("utilisation", "fraction", "busy chip-time / installed chip-time in the window (after the warm-up)",
           "utilisation (busy / installed chip-time)", "use", fmt="pct", better="higher", slo="utilisation",
           with_size="shrinks", headline=1, compare=1, short_label="utilisation",
           compare_label="utilisation (busy / installed)"),
    Metric("utilisation_of_up", "fraction", "busy chip-time / chip-time of the chips that were up",
           "utilisation of up chips", "use", fmt="pct", better="higher", slo="utilisation_of_up",
           with_size="shrinks"),
    Metric("goodput", "fraction", "runtime goodput: useful chip-time / busy chip-time", "goodput", "goodput",
           fmt="pct", better="higher", slo="goodput", with_spares="grows", headline=2, compare=2),
    Metric("scheduling_goodput", "fraction", "chip-weighted share of started jobs' lives spent holding chips",
           "scheduling goodput", "goodput", fmt="pct", better="higher", slo="scheduling_goodput",
           with_spares="grows"),
    Metric("program_goodput", "fraction", "MFU of the pools the useful chip-time ran on (null if unknown)",
           "program goodput (MFU)", "goodput", fmt="pct", better="higher", slo="program_goodput"),
    Metric("ml_goodput", "fraction", "scheduling x runtime x program goodput",
           "ML goodput (the product with goodput)", "goodput", fmt="pct", better="higher", slo="ml_goodput",
           with_spares="grows"),
    Metric("placement_efficiency", "fraction", "ideal-placement chip-time / actual chip-time of completed "
           "rigid jobs", "placement efficiency", "use", fmt="pct", better="higher", slo="placement_efficiency",
           headline=3, compare=21),
    Metric("fragmentation_chips", "chips", "time-average of free chips while the queue's head cannot be "
           "placed", "fragmented free chips (time-average)", "use", better="lower", slo="fragmentation_chips",
           with_size="shrinks", headline=9, compare=22, short_label="fragmented free chips"),
    # preemptions, failures and what they cost
    Metric("preemptions", description="preemptions of running jobs", label="preemptions", better="lower",
           slo="preemptions", compare=18, **_EVENTS),
    Metric("failures", description="instance failures (spares and idle instances included)",
           label="failures", **_EVENTS),
    Metric("domain_failures", description="failures of a whole UltraServer, pod or spine group",
           label="domain failures", slo="domain_failures", **_EVENTS),
    Metric("interruptions", description="job stops caused by failures", label="interruptions",
           better="lower", slo="interruptions", **_EVENTS),
    Metric("requeues", description="interruptions that sent the job back to the queue", label="requeues",
           better="lower", slo="requeues", with_spares="shrinks", **_EVENTS),
    Metric("spare_swaps", description="failed instances of a running job replaced by a spare",
           label="spare swaps", slo="spare_swaps", **_EVENTS),
    *(Metric(f"spare_swaps_{tier}", description=f"spare swaps whose spare was {where}",
             label=f"spare swaps ({where})", **_EVENTS)
      for tier, where in zip(SPARE_TIERS, ("in the same UltraServer", "in the same pod", "in the same spine group",
                                           "further away"), strict=True)),
    Metric("restarts", description="job restarts after failures", label="restarts", better="lower",
           slo="restarts", compare=19, compare_label="restarts after failures", **_EVENTS),
    Metric("resizes", description="size changes of elastic jobs", label="resizes", slo="resizes", **_EVENTS),
    Metric("lost_chip_s", "chip-s", "chip-seconds of work lost to preemptions and failures",
           "chip-seconds of work lost", "resilience", better="lower", slo="lost_chip_s",
           with_spares="shrinks"),
    Metric("jain_fairness", "index", "Jain's index of attained chip-seconds / share over the policy's "
           "fairness groups", "Jain fairness index", "use", better="higher", slo="jain_fairness", compare=20),
    # power
    Metric("energy_mwh", "MWh", "facility energy over the whole window", "energy (MWh)", "power",
           better="lower", slo="energy", headline=10, compare=23),
    Metric("peak_power_mw", "MW", "peak facility power", "peak facility power (MW)", "power", better="lower",
           slo="peak_power", headline=11),
    Metric("capped_s", "s", "time at the power cap (0 without one)", "time at the cap", "power", fmt="t",
           better="lower"),
    Metric("throttle_loss_chip_s", "chip-s", "busy chip-seconds lost to throttling at the power cap",
           "chip-seconds lost to throttling", "power", better="lower"),
    # money
    Metric("cost_usd", "USD", "what the installed capacity costs over the whole window, busy or idle",
           "cost (installed chips, busy or idle)", "cost", fmt="usd", better="lower", slo="cost", headline=12,
           compare=24, short_label="cost"),
    Metric("usd_per_useful_chip_hour", "USD/chip-h", "cost / useful chip-hours", "$ per useful chip-hour",
           "cost", fmt="usd", better="lower", slo="usd_per_useful_chip_hour", headline=13, compare=25),
    Metric("usd_per_useful_pflop_day", "USD/PFLOP-day", "cost / useful PFLOP-days of completed jobs",
           "$ per useful PFLOP-day", "cost", fmt="usd", better="lower", slo="usd_per_useful_pflop_day",
           headline=14),
    # where the chip-hours of the whole window went (they add up to chips x window)
    Metric("chip_h_useful", description="chip-hours of useful work", label="useful", better="higher", **_CHIP_H),
    Metric("chip_h_checkpoint", description="chip-hours writing checkpoints", label="checkpoint", **_CHIP_H),
    Metric("chip_h_lost", description="chip-hours of work later lost to a stop", label="lost", better="lower",
           **_CHIP_H),
    Metric("chip_h_restart", description="chip-hours of restart, preemption and resize overheads and waits "
           "for spares", label="restart", better="lower", **_CHIP_H),
    Metric("chip_h_rounding", description="chip-hours held but not useful: chips allocated beyond the request "
           "(whole instances, an elastic job's spare chips)", label="rounding", better="lower", **_CHIP_H),
    Metric("chip_h_idle", description="chip-hours up and idle", label="idle", better="lower", **_CHIP_H),
    Metric("chip_h_down", description="chip-hours of chips down (failed or awaiting repair)", label="down",
           better="lower", **_CHIP_H),
    # the cluster and the run
    Metric("chips", "chips", "installed chips", "installed chips", "cluster", compare=26, **_COUNT),
    Metric("instances", "instances", "installed instances", "instances", "cluster", **_COUNT),
    Metric("pool.{pool}.utilisation", "fraction", "the pool's busy / installed chip-time in the window",
           "utilisation", "cluster", fmt="pct", better="higher"),
    Metric("pool.{pool}.chips", "chips", "the pool's chips", "chips", "cluster", **_COUNT),
    Metric("events", "count", "events the engine processed", "simulated events", "run", **_COUNT),
    Metric("wall_s", "s", "wall-clock seconds the simulation took (the one key that differs between reruns)",
           "wall time", "run"),
    Metric("seed", "", "the run's seed", "seed", "run", **_COUNT),
    Metric("scenario_sha256", "", "sha256 of the resolved scenario.yaml", "scenario sha256", "run",
           fmt="text", type="string"),
    Metric("version", "", "trnsim's version", "version", "run", fmt="text", type="string"),
)

BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}
# The job counts that add up to jobs_submitted, each job in exactly one, in the order a reader checks them.
PARTITION: tuple[Metric, ...] = tuple(m for m in METRICS if m.group == "jobs" and m.key != "jobs_submitted")
# The run's headline table after the job counts and the window, and `trnsim compare`'s rows, in order.
HEADLINE: tuple[Metric, ...] = tuple(sorted((m for m in METRICS if m.headline), key=lambda m: m.headline or 0))
COMPARED: tuple[Metric, ...] = tuple(sorted((m for m in METRICS if m.compare), key=lambda m: m.compare or 0))
# `--slo` name -> metric
SLOS: dict[str, Metric] = {m.slo: m for m in METRICS if m.slo}
GROUPS = {"jobs": "Where the submitted jobs went", "input": "Trace rows", "waits": "Waits and completion times",
          "window": "The window", "use": "How the chips were used", "goodput": "Goodput",
          "resilience": "Preemptions, failures and lost work", "power": "Power", "cost": "Money",
          "chip-hours": "Where the chip-hours went", "cluster": "The cluster", "run": "The run"}


def keys(pools: list[str]) -> list[str]:
    """summary.json's keys for a cluster of these pools, in the registry's order."""
    out = []
    for m in METRICS:
        out += [m.key.format(pool=p) for p in pools] if "{pool}" in m.key else [m.key]
    return out


def pick(*names: str) -> tuple[Metric, ...]:
    """The metrics of these keys, in this order (a KeyError names a key that is not registered)."""
    return tuple(BY_KEY[k] for k in names)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of summary.json: every key required, no other key, numbers and strings nullable."""
    def prop(m: Metric) -> dict[str, Any]:
        kind: Any = m.type if m.type in ("integer", "boolean") else [m.type, "null"]
        return {"type": kind, "description": f"{m.description}; unit: {m.unit}" if m.unit else m.description}

    fixed = [m for m in METRICS if "{pool}" not in m.key]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "trnsim summary.json",
        "type": "object",
        "properties": {m.key: prop(m) for m in fixed},
        "patternProperties": {r"^pool\.[^.]+\." + m.key.rsplit(".", 1)[1] + "$": prop(m)
                              for m in METRICS if "{pool}" in m.key},
        "required": [m.key for m in fixed],
        "additionalProperties": False,
    }


def dumps() -> str:
    """`trnsim schema --summary`."""
    return json.dumps(json_schema(), indent=2) + "\n"


def markdown() -> str:
    """`trnsim schema --summary --markdown`: the key list of docs/reports.md, one table per group."""
    lines: list[str] = []
    for group, title in GROUPS.items():
        lines += [f"**{title}**", "", "| key | unit | meaning | better | `--slo` |", "|---|---|---|---|---|"]
        for m in METRICS:
            if m.group == group:
                key = m.key.replace("{pool}", "<pool>")
                lines.append(f"| `{key}` | {m.unit or '—'} | {m.description} | {m.better or ''} | "
                             f"{f'`{m.slo}`' if m.slo else ''} |")
        lines.append("")
    return "\n".join(lines)

