"""`trnsim compare`: runs side by side — run directories as written, scenarios run on the fly.

Each input becomes a *variant*: a run directory is one run (read from its files, never
re-simulated); a scenario runs once per seed (`--seeds N`: seeds seed … seed+N−1), and
`--policies a,b` turns one scenario into one variant per policy. With several seeds a metric
is shown as its mean ± the half-width of a 95 % Student-t confidence interval, and a
difference against the first variant is paired by seed (the same seed draws the same
workload, so policies are compared on identical jobs).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sim import metric_registry as registry
from sim.errors import InputError, Problem
from sim.report.rundata import RunData

# Two-sided 95 % Student-t quantiles t(0.975, df) for df = 1..30, then a few larger df; between
# table entries the next smaller df is used (wider, so the interval never claims too much).
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
        10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110,
        18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060,
        26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980}
Z975 = 1.960

# (summary key, label, kind): the side-by-side table, in this order (sim.metric_registry's `compare`
# rows; the counts that add up to jobs submitted are indented under it).
METRICS = tuple((m.key, ("  " if m in registry.PARTITION else "") + (m.compare_label or m.short), m.fmt)
                for m in registry.COMPARED)
QUEUE_METRICS = tuple((m.key, m.short, m.fmt) for m in registry.pick("avg_wait_s", "p95_wait_s"))


def t975(df: int) -> float:
    """t quantile for a two-sided 95 % interval with `df` degrees of freedom (conservative between rows)."""
    if df < 1:
        return math.nan
    if df in T975:
        return T975[df]
    below = [d for d in T975 if d < df]
    return T975[max(below)] if df <= 120 else Z975


@dataclass
class Estimate:
    """A metric over seeds: mean and the half-width of its 95 % CI (None with one seed or unknown)."""

    mean: float | None
    half: float | None
    n: int


def estimate(values: list[float | None]) -> Estimate:
    if not values or any(v is None for v in values):
        return Estimate(None, None, len(values))
    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return Estimate(float(x[0]), None, 1)
    half = t975(len(x) - 1) * float(np.std(x, ddof=1)) / math.sqrt(len(x))
    return Estimate(float(x.mean()), half, len(x))


@dataclass
class Run:
    """What a comparison keeps of one run (the rest of the jobs table is dropped)."""

    seed: int
    summary: dict[str, Any]
    series: dict[str, np.ndarray]  # t_s, busy_chips, queued_jobs
    waits: np.ndarray  # waits of started jobs, seconds
    per_queue: dict[str, float | None] = field(default_factory=dict)  # queue.<name>.<key> -> value

    @classmethod
    def of(cls, data: RunData) -> Run:
        waits = data.jobs["wait_s"]
        return cls(int(data.summary["seed"]), data.summary,
                   {k: data.series[k] for k in ("t_s", "busy_chips", "queued_jobs")}, waits[~np.isnan(waits)],
                   queue_waits(data))

    @property
    def chips(self) -> int:
        return int(self.summary["chips"])

    def value(self, key: str) -> Any:
        return self.per_queue[key] if key.startswith("queue.") else self.summary.get(key)


def queue_waits(data: RunData) -> dict[str, float | None]:
    """Mean and p95 wait of the started jobs of each named queue (after the warm-up), as
    `queue.<name>.avg_wait_s` and `queue.<name>.p95_wait_s`."""
    from sim.scenario.units import parse_time

    jobs = data.jobs
    if "queue" not in jobs:
        return {}
    warmup = (data.scenario.get("metrics") or {}).get("warmup") or 0
    warmup = parse_time(warmup) if isinstance(warmup, str) else float(warmup)
    started = ~np.isnan(jobs["wait_s"]) & (jobs["submit_s"] >= warmup)
    out: dict[str, float | None] = {}
    for name in sorted(set(jobs["queue"].tolist()) - {""}):
        w = jobs["wait_s"][started & (jobs["queue"] == name)]
        out[f"queue.{name}.avg_wait_s"] = float(w.mean()) if len(w) else None
        out[f"queue.{name}.p95_wait_s"] = float(np.percentile(w, 95)) if len(w) else None
    return out


def metric_rows(variants: list[Variant]) -> list[tuple[str, str, str]]:
    """METRICS, then the waits of each queue that every run of every variant has."""
    common = set.intersection(*(set(r.per_queue) for v in variants for r in v.runs)) if variants else set()
    queues = sorted({k.split(".")[1] for k in common})
    rows: list[tuple[str, str, str]] = [*METRICS]
    return rows + [(f"queue.{q}.{key}", f"queue {q}: {label}", kind)
                   for q in queues for key, label, kind in QUEUE_METRICS if f"queue.{q}.{key}" in common]


@dataclass
class Variant:
    label: str
    source: str  # what it came from: a run directory, or a scenario (and the policy set on it)
    kind: str  # "run" or "scenario"
    path: Path
    sets: tuple[str, ...] = ()
    policy: str = "?"
    seeds: list[int] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    loaded: Any = None  # a scenario variant's LoadedScenario, loaded (and checked) once by plan()

    def metric(self, key: str) -> Estimate:
        return estimate([r.value(key) for r in self.runs])


def _policies(text: str) -> list[str]:
    from sim.policies import base as policies
    from sim.scenario.keypath import did_you_mean

    names = [p.strip() for p in text.split(",") if p.strip()]
    if not names:
        raise InputError(Problem("--policies: give one or more policy names, comma-separated"))
    problems = []
    for n in names:
        why = policies.plugin_problem(n)
        if why is not None:
            problems.append(Problem(f"--policies: {why}"))
        elif not policies.is_known(n):
            problems.append(Problem(f"--policies: unknown policy {n!r}{did_you_mean(n, policies.names())} "
                                    f"(known: {', '.join(policies.names())})"))
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        problems.append(Problem(f"--policies: {', '.join(dupes)} given twice"))
    if problems:
        raise InputError(problems)
    return names


def _is_run_dir(path: Path) -> bool:
    return path.is_dir()


def plan(inputs: list[Path], *, policies: str | None = None, seeds: int = 1, seed: int | None = None,
         sets: tuple[str, ...] = (), ci: bool = False, labels: tuple[str, ...] = ()) -> list[Variant]:
    """Check every input and flag before anything runs; return the variants (run directories read)."""
    from sim.report import rundata
    from sim.scenario import loader

    if seeds < 1:
        raise InputError(Problem("--seeds: must be at least 1"))
    if not inputs:
        raise InputError(Problem("compare: give run directories or scenarios to compare"))
    names = _policies(policies) if policies is not None else None
    runs = [p for p in inputs if _is_run_dir(p)]
    if names is not None:
        if len(inputs) != 1 or runs:
            raise InputError(Problem("--policies: give exactly one scenario (it runs once per policy); "
                                     f"got {len(inputs)} input(s)" + (", a run directory" if runs else "")))
        if len(names) < 2:
            raise InputError(Problem("--policies: name at least two policies to compare"))
    if runs and seeds > 1:
        raise InputError(Problem(f"--seeds: {runs[0]} is a run directory (one seed, already run); "
                                 "--seeds applies to scenarios"))
    if len(runs) == len(inputs) and (sets or ci or seed is not None):
        flag = "--set" if sets else "--ci" if ci else "--seed"
        raise InputError(Problem(f"{flag}: applies to scenarios, and every input is a run directory"))
    variants: list[Variant] = []
    problems: list[Problem] = []
    for path in inputs:
        try:
            if _is_run_dir(path):
                data = rundata.load(path)
                v = Variant(path.name or str(path), str(path), "run", path, policy=data.policy,
                            seeds=[int(data.summary["seed"])])
                v.runs.append(Run.of(data))
                variants.append(v)
                continue
            if not path.exists():
                raise InputError(Problem(f"{path}: no such run directory or scenario file"))
            for policy in names if names else (None,):
                extra = sets + ((f"scheduler.policy={policy}",) if policy else ())
                loaded = loader.load(path, extra, ci=ci)
                first = loaded.model.seed if seed is None else seed
                label = policy if policy else loaded.model.name
                source = " ".join([str(path)] + [f"--set {a}" for a in sets] + (["--ci"] if ci else []))
                variants.append(Variant(label, source, "scenario",
                                        path, extra, loaded.model.scheduler.policy,
                                        list(range(first, first + seeds)), loaded=loaded))
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)
    if len(variants) < 2:
        raise InputError(Problem("compare: needs at least two things to compare (run directories, scenarios, "
                                 "or one scenario with --policies a,b)"))
    if labels:
        if len(labels) != len(variants):
            what = "policy" if names is not None else "input"
            raise InputError(Problem(f"--label: give one per {what} ({len(variants)}), in order; got {len(labels)}"))
        if any(not text.strip() for text in labels):
            raise InputError(Problem("--label: a label cannot be empty"))
        for v, text in zip(variants, labels, strict=True):
            v.label = text.strip()
    _unique_labels(variants)
    return variants


def _unique_labels(variants: list[Variant]) -> None:
    """Number the labels that occur more than once: a (1), a (2), ... in order."""
    counts = Counter(v.label for v in variants)
    seen: Counter[str] = Counter()
    for v in variants:
        if counts[v.label] > 1:
            seen[v.label] += 1
            v.label = f"{v.label} ({seen[v.label]})"


Progress = Callable[[Variant, int, float, int, int, int], None]


def simulate(variants: list[Variant], progress: Progress | None = None) -> None:
    """Run every scenario variant for each of its seeds, in this process, one after another."""
    from sim import metrics
    from sim import run as simulation
    from sim.report.rundata import from_result

    for v in variants:
        if v.kind != "scenario":
            continue
        for k, s in enumerate(v.seeds):
            callback = None
            if progress is not None:
                def callback(now: float, done: int, total: int, events: int, v: Variant = v, k: int = k) -> None:
                    progress(v, k, now, done, total, events)
            result = simulation.simulate(v.loaded, s, progress=callback)
            v.runs.append(Run.of(from_result(result, metrics.jobs_table(result))))


from sim.callable_module import make_callable  # noqa: E402  (`sim.compare(...)` is sim.api.compare: see that module)

make_callable(__name__)
