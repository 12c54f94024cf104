"""trnsim as a library: the same work as the commands, returning objects instead of printing.

    import sim
    result = sim.run("scenarios/quickstart.yaml", set={"scheduler.policy": "sjf"})
    result.summary["avg_wait_s"], result.jobs.to_pandas()

`sim.load`, `sim.simulate`, `sim.run`, `sim.compare`, `sim.sweep` and `sim.plan` are the stable
names (docs/api.md is the tutorial, run by tests/test_api.py). Bad input raises `sim.InputError`,
whose `problems` are the lines the commands print; nothing here prints or exits.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.errors import InputError, Problem
from sim.scenario.loader import LoadedScenario as Scenario

if TYPE_CHECKING:  # imported where used, so that `import sim` stays quick
    import pyarrow as pa

    from sim.sweep import Executor

PathLike = str | os.PathLike[str]
Overrides = Mapping[str, Any] | Iterable[str] | None


def _assignments(overrides: Overrides) -> tuple[str, ...]:
    """`{"a.b": 8}` or `["a.b=8"]` -> ("a.b=8",): values are written as YAML, as `--set` reads them."""
    if overrides is None:
        return ()
    if isinstance(overrides, str):
        return (overrides,)
    if isinstance(overrides, Mapping):
        return tuple(f"{path}={_yaml_text(value)}" for path, value in overrides.items())
    return tuple(overrides)


def _yaml_text(value: Any) -> str:
    import yaml

    if isinstance(value, str):
        return value
    text = yaml.safe_dump(value, default_flow_style=True, width=1_000_000).strip()
    return text.removesuffix("...").strip()


def load(path: PathLike, overrides: Overrides = (), ci: bool = False) -> Scenario:
    """Read, override (`ci:` block first, then `overrides`) and validate a scenario file.

    `overrides` are `--set` assignments: a mapping `{"cluster.pools.0.count": 8}` or strings
    `"cluster.pools.0.count=8"`. The result's `.model` is the validated pydantic model.
    """
    from sim.scenario import loader

    return loader.load(path, _assignments(overrides), ci=ci)


def simulate(scenario: Scenario, seed: int | None = None,
             progress: Callable[[float, int, int, int], None] | None = None) -> Result:
    """Run a loaded scenario once, in this process (seed: the scenario's `seed:` unless given)."""
    from sim import run as simulation

    return Result(simulation.simulate(scenario, seed, progress=progress))


def run(path_or_scenario: PathLike | Scenario, seed: int | None = None, set: Overrides = None,
        ci: bool = False) -> Result:
    """`trnsim run` without the run directory: load (with `set` overrides and `ci`) and simulate."""
    if isinstance(path_or_scenario, Scenario):
        if set or ci:
            raise InputError(Problem("set= and ci= apply when loading: pass the scenario's path, or use sim.load"))
        scenario = path_or_scenario
    else:
        scenario = load(path_or_scenario, set, ci=ci)
    return simulate(scenario, seed)


class Result:
    """One simulation: its summary, jobs and time series, and what `trnsim run` writes from them."""

    def __init__(self, raw: Any):
        self.raw = raw  # sim.run.Result: the engine's outcome, the job table and the plan

    @property
    def scenario(self) -> Scenario:
        return self.raw.loaded

    @property
    def seed(self) -> int:
        return self.raw.seed

    @property
    def summary(self) -> dict[str, Any]:
        """summary.json's keys: counts, waits, utilisation, goodput, energy, cost, ... (units in the names)."""
        return self.raw.summary

    @cached_property
    def jobs(self) -> pa.Table:
        """jobs.parquet as a pyarrow Table: one row per job (`.to_pandas()` with the notebook extra)."""
        from sim import metrics

        return metrics.jobs_table(self.raw)

    @cached_property
    def series(self) -> pa.Table:
        """timeseries.csv as a pyarrow Table: t_s, busy_chips, ..., power_w, one row per change."""
        from sim import rundir

        return rundir.series_table(self.raw.outcome.series, None, self.raw.outcome.end_time)

    @property
    def run_key(self) -> str:
        """sha256 of the resolved scenario's sha256 and the seed, as `trnsim run` names its directory."""
        from sim.scenario import loader

        return loader.run_key(self.summary["scenario_sha256"], self.seed)

    def write(self, out: PathLike | None = None, *, force: bool = False,
              timeseries_step: float | str | None = None) -> Path:
        """Write the run directory (default runs/<name>-<time>-<sha8>), as `trnsim run` does; returns it."""
        from sim import rundir
        from sim.outdir import check_out
        from sim.scenario import units

        target = Path(out) if out is not None else rundir.default_out(self.scenario.model.name, self.run_key)
        check_out(target, force)
        step = units.parse_time(timeseries_step) if isinstance(timeseries_step, str) else timeseries_step
        return rundir.write(self.raw, target, force=force, timeseries_step=step)

    def report(self) -> str:
        """report.html's text: one self-contained page (figures embedded); show it with IPython's HTML()."""
        from sim.report import run_report
        from sim.report.rundata import from_result

        with tempfile.TemporaryDirectory(prefix="trnsim-report-") as tmp:
            run_report.write(from_result(self.raw, self.jobs), run_report.context_of(self.raw), Path(tmp))
            return (Path(tmp) / "report.html").read_text()

    def _repr_html_(self) -> str:
        """A notebook cell showing a Result shows its headline metrics (the full report: `report()`)."""
        from html import escape

        from sim.report.markdown import headline_rows

        rows = "".join(f"<tr><td>{escape(label)}</td><td style='text-align:right'>{escape(value)}</td></tr>"
                       for label, value in headline_rows(self.summary))
        return (f"<table><caption>trnsim: {escape(self.scenario.model.name)} (seed {self.seed})</caption>"
                f"<tr><th>metric</th><th>value</th></tr>{rows}</table>")

    def __repr__(self) -> str:
        s = self.summary
        return (f"<trnsim Result {self.scenario.model.name!r} seed {self.seed}: {s['jobs_completed']:,} jobs "
                f"completed, utilisation {s['utilisation']:.1%}, mean wait {s['avg_wait_s']:.0f} s>")


# --- compare, sweep, plan ---------------------------------------------------------------------

@dataclass
class Comparison:
    """`trnsim compare`'s work: variants (a label, a policy, its seeds and runs) with means and CIs."""

    variants: list[Any]

    def to_dict(self) -> dict[str, Any]:
        """compare.json: every run's summary, the means, 95 % CIs and differences from the first."""
        from sim.report.comparison import as_json

        return as_json(self.variants)

    @property
    def table(self) -> pa.Table:
        """One row per variant: label, policy, seeds, and each metric's mean and 95 % CI half-width."""
        import pyarrow as pa

        from sim.compare import METRICS

        rows = []
        for v in self.variants:
            row: dict[str, Any] = {"label": v.label, "policy": v.policy, "source": v.source, "seeds": len(v.runs)}
            for key, _, _ in METRICS:
                e = v.metric(key)
                row[key] = e.mean
                row[f"{key}_ci95"] = e.half
            rows.append(row)
        return pa.Table.from_pylist(rows)

    def write(self, out: PathLike, *, force: bool = False) -> Path:
        """compare.html, compare.md, compare.json and the figures, as `trnsim compare --out` writes them."""
        from sim.outdir import check_out
        from sim.report import comparison

        check_out(Path(out), force)
        return comparison.save(self.variants, Path(out), force=force)


def compare(*inputs: PathLike, policies: str | Iterable[str] | None = None, seeds: int = 1,
            seed: int | None = None, set: Overrides = None, ci: bool = False) -> Comparison:
    """Run directories (read) and scenarios (run now) side by side; `policies` runs one scenario per policy."""
    from sim import compare as comparing

    if policies is not None and not isinstance(policies, str):
        policies = ",".join(policies)
    variants = comparing.plan([Path(p) for p in inputs], policies=policies, seeds=seeds, seed=seed,
                              sets=_assignments(set), ci=ci)
    comparing.simulate(variants)
    return Comparison(variants)


def _executor(workers: int | None, scheduler: str | None) -> Executor:
    from sim.sweep import Executor

    if workers is None and scheduler is None:
        return Executor(serial=True)
    return Executor(workers=workers or 2, scheduler=scheduler)


def _grid_axes(grid: Mapping[str, Iterable[Any]]) -> list[Any]:
    from sim.sweep import Axis, check_key_path, grid_points

    axes = []
    for path, values in grid.items():
        path, _ = check_key_path("grid", f"{path}=")
        values = list(values)
        if not values:
            raise InputError(Problem(f"grid {path}: no values"))
        axes.append(Axis(path, [_yaml_text(v) for v in values], values))
    grid_points(axes)
    return axes


@dataclass
class Sweep:
    """`trnsim sweep`'s rows: one per run, holding grid.<path> values, the seed, error and the summary."""

    rows: list[dict[str, Any]]
    grid: list[str]
    ran: int
    reused: int
    out: Path | None = None

    @property
    def table(self) -> pa.Table:
        """The rows as a pyarrow Table (sweep.parquet's contents)."""
        from sim.sweep import table_of

        return table_of(self.rows)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r.get("error")]

    def plot(self, path: PathLike, metrics: Iterable[str] = ()) -> Path | None:
        """sweep.png: each metric against the first grid axis, a thin line per seed and the mean thick."""
        from sim.report import fan

        return fan.draw(self.rows, self.grid, Path(path), title="sweep", metrics=fan.metrics_of(tuple(metrics)))


def sweep(scenario: PathLike, grid: Mapping[str, Iterable[Any]], *, seeds: int = 1, seed: int | None = None,
          set: Overrides = None, ci: bool = False, out: PathLike | None = None, workers: int | None = None,
          scheduler: str | None = None) -> Sweep:
    """Run `scenario` at every combination of `grid` values ({path: [v1, v2]}), `seeds` seeds each.

    Runs in this process unless `workers` (a local dask cluster) or `scheduler` (an existing one) is
    given. With `out`, rows are kept in out/rows and a second call resumes, as the command does.
    """
    from sim import sweep as sweeping
    from sim.scenario import loader

    axes = _grid_axes(grid)
    sets = _assignments(set)
    base = loader.load(scenario, sets, ci=ci)
    first = base.model.seed if seed is None else seed
    target = None if out is None else Path(out)
    if target is not None:
        target.mkdir(parents=True, exist_ok=True)
    with _executor(workers, scheduler) as executor:
        result = sweeping.sweep(Path(scenario), axes, list(range(first, first + seeds)), executor, target,
                                sets=sets, ci=ci)
    return Sweep(result.rows, [a.path for a in axes], result.ran, result.skipped, target)


@dataclass
class Plan:
    """`trnsim plan`'s answer: the smallest size meeting every SLO (or the verdict why none does)."""

    result: Any = field(repr=False)  # sim.plan.Plan
    scenario: Path

    @property
    def answer(self) -> float | None:
        """The value of the varied key at the answer (e.g. 6 UltraServers), or None when infeasible."""
        return None if self.result.answer is None else self.result.vary.values[self.result.answer]

    @property
    def chips(self) -> int | None:
        return None if self.result.answer is None else self.result.probes[self.result.answer].chips

    @property
    def verdict(self) -> str:
        return self.result.verdict

    def to_dict(self) -> dict[str, Any]:
        """plan.json's contents: the answer, and every size run with each SLO's mean and bound."""
        from sim.report.capacity_plan import plan_data

        return plan_data(self.result, self.scenario)

    def lines(self) -> list[str]:
        """What `trnsim plan` prints: the answer, the SLO table, the runs behind it, every size run."""
        from sim.report.capacity_plan import describe

        return describe(self.result, "the Python API")


def plan(scenario: PathLike, slo: str | Iterable[str], vary: str, *, seeds: int = 5, seed: int | None = None,
         set: Overrides = None, ci: bool = False, out: PathLike | None = None, workers: int | None = None,
         scheduler: str | None = None) -> Plan:
    """The smallest size of a pool (`vary`, e.g. "cluster.pools.0.ultraservers=2..16") meeting every `slo`
    ("p95_wait<=2h", ...) by its one-sided 90 % bound over `seeds` seeds."""
    from sim import plan as planning
    from sim.scenario import loader
    from sim.sweep import Rows

    sets = _assignments(set)
    base = loader.load(scenario, sets, ci=ci)
    slos = [planning.parse_slo(text) for text in ([slo] if isinstance(slo, str) else slo)]
    varied = planning.parse_vary(vary, base)
    first = base.model.seed if seed is None else seed
    target = None if out is None else Path(out)
    if target is not None:
        target.mkdir(parents=True, exist_ok=True)
    with _executor(workers, scheduler) as executor:
        result = planning.plan(Path(scenario), varied, slos, list(range(first, first + seeds)), executor,
                               Rows(target), sets=sets, ci=ci)
    return Plan(result, Path(scenario))
