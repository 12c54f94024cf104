"""Parameter sweeps: many runs of one scenario over a grid of key-path values and seeds.

The unit of work is `run_one(scenario mapping, seed)`, a pure function returning plain data;
runs go to dask.distributed (an embedded `LocalCluster` of single-threaded processes, or an
existing cluster) or, for tests and tiny sweeps, run in this process. Each finished run is one
row, `OUT/rows/<run_key>.parquet` (run_key = sha256 of scenario_sha256 and seed, as `trnsim
run` names its directory); `OUT/sweep.parquet` is rebuilt from the rows. A rerun skips the
keys already done; a run that failed is recorded with its `error` and tried again on resume.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from sim.errors import InputError, Problem
from sim.scenario import loader

if TYPE_CHECKING:  # imported where used: dask and pyarrow cost time at start-up
    import pyarrow as pa
    from dask.distributed import Client, LocalCluster

GRID = "grid."
DEFAULT_WORKERS = 2


# --- --grid PATH=v1,v2 ---------------------------------------------------------------------

def split_values(text: str) -> list[str]:
    """Split on commas outside brackets ([] and {}) and quotes: `[1, 4],[16]` -> two values."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def flag_problem(flag: str, path: str, message: str) -> InputError:
    return InputError(Problem(f"{flag} {path}: {message}"))


def parse_value(flag: str, path: str, text: str) -> Any:
    if not text:
        raise flag_problem(flag, path, "empty value")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise flag_problem(flag, path, f"cannot read value {text!r}: {str(exc).splitlines()[0]}") from None


def check_key_path(flag: str, text: str) -> tuple[str, str]:
    """`PATH=REST` with PATH naming a scenario field (else exit 2 with a "did you mean")."""
    path, sep, rest = text.partition("=")
    path = path.strip()
    if not sep or not path:
        raise InputError(Problem(f"{flag} {text}: expected PATH=VALUES"))
    reason = loader.check_path(path)
    if reason:
        raise flag_problem(flag, path, reason)
    return path, rest.strip()


@dataclass
class Axis:
    """One --grid: a key path and its values (as written, and as YAML scalars)."""

    path: str
    texts: list[str]
    values: list[Any]


def parse_grid(text: str) -> Axis:
    path, rest = check_key_path("--grid", text)
    if path == "seed":
        raise flag_problem("--grid", path, "seeds are not a grid axis: use --seeds N (and --seed FIRST), which "
                                           "run every grid point with each seed")
    if not rest:
        raise flag_problem("--grid", path, "no values (expected PATH=v1,v2,...)")
    if rest.count("[") != rest.count("]") or rest.count("{") != rest.count("}"):
        raise flag_problem("--grid", path, f"unbalanced brackets in {rest!r}")
    texts = split_values(rest)
    values = [parse_value("--grid", path, t) for t in texts]
    seen = set()
    for t in texts:
        if t in seen:
            raise flag_problem("--grid", path, f"value {t!r} is given twice")
        seen.add(t)
    return Axis(path, texts, values)


def grid_points(axes: list[Axis]) -> list[list[tuple[str, str, Any]]]:
    """Every combination of the axes' values: [(path, text, value), ...] per point."""
    if not axes:
        return [[]]
    paths = [a.path for a in axes]
    if len(set(paths)) != len(paths):
        dup = next(p for p in paths if paths.count(p) > 1)
        raise flag_problem("--grid", dup, "given twice (list every value in one --grid)")
    combos = itertools.product(*[list(zip(a.texts, a.values, strict=True)) for a in axes])
    return [[(a.path, t, v) for a, (t, v) in zip(axes, combo, strict=True)] for combo in combos]


# --- tasks -------------------------------------------------------------------------------

@dataclass
class Task:
    """One run: a resolved scenario (paths absolute), its seed, and where it sits in the grid."""

    key: str
    seed: int
    scenario: dict[str, Any]
    scenario_sha256: str
    grid: dict[str, Any]
    loaded: loader.LoadedScenario = field(repr=False)


def column_value(value: Any, text: str) -> Any:
    """A grid value as a table cell: scalars as they are, mappings and lists as written."""
    return value if isinstance(value, bool | int | float | str) else text


def load_point(scenario: Path, sets: Iterable[str], ci: bool, point: list[tuple[str, str, Any]],
               flag: str = "--grid") -> loader.LoadedScenario:
    """The scenario with --set and then this point's values applied, re-validated.

    A problem caused by a grid value names the flag, the path and the value.
    """
    assignments = [f"{path}={text}" for path, text, _ in point]
    try:
        return loader.load(scenario, [*sets, *assignments], ci=ci)
    except InputError as exc:
        texts = {path: text for path, text, _ in point}
        problems = [Problem(f"{flag} {p.set_path}: value {texts[p.set_path]!r}: {p.message}")
                    if p.set_path in texts else p for p in exc.problems]
        raise InputError(problems) from None


def make_tasks(loaded: loader.LoadedScenario, point: list[tuple[str, str, Any]], seeds: Iterable[int]) -> list[Task]:
    tasks = []
    grid = {GRID + path: column_value(value, text) for path, text, value in point}
    for seed in seeds:
        text = loaded.resolved_yaml(seed)
        sha = loader.scenario_sha256(text)
        tasks.append(Task(loader.run_key(sha, seed), seed, yaml.safe_load(text), sha, grid, loaded))
    return tasks


# --- the unit of work ----------------------------------------------------------------------

def run_one(scenario: dict[str, Any], seed: int, folder: str | None = None) -> dict[str, Any]:
    """Simulate a resolved scenario mapping once: {"summary": {...}} or {"error": "..."}.

    Pure: the same mapping and seed give the same summary (apart from wall_s). Runs on a worker.
    `folder` is the scenario file's folder, where a `module:Class` policy may live.
    """
    from sim.run import simulate

    try:
        loaded = loader.load_mapping(scenario, file=str(scenario.get("name", "<scenario>")),
                                     base_dir=None if folder is None else Path(folder))
        result = simulate(loaded, seed)
    except Exception as exc:  # recorded in the row, the sweep goes on
        return {"error": f"{type(exc).__name__}: {exc}".strip()}
    return {"summary": dict(result.summary)}


def row_of(task: Task, outcome: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"run_key": task.key, "seed": task.seed, "scenario_sha256": task.scenario_sha256,
                           **task.grid, "error": outcome.get("error")}
    for key, value in (outcome.get("summary") or {}).items():
        if key not in ("seed", "scenario_sha256"):
            row[key] = value
    return row


# --- rows on disk ---------------------------------------------------------------------------

class Rows:
    """`OUT/rows/<run_key>.parquet`, one per finished run; `OUT/sweep.parquet` rebuilt from them.

    With `out=None` rows are kept in memory only (a plan without --out).
    """

    def __init__(self, out: Path | None):
        self.out = out
        self.rows: dict[str, dict[str, Any]] = {}
        self.added = 0  # rows written by this command (the rest were there already)
        if out is not None and (out / "rows").is_dir():
            import pyarrow.parquet as pq

            for path in sorted((out / "rows").glob("*.parquet")):
                try:
                    for row in pq.read_table(path).to_pylist():
                        self.rows[row["run_key"]] = row
                except Exception:  # a torn file from a killed run: run it again
                    continue

    def done(self, key: str) -> bool:
        row = self.rows.get(key)
        return row is not None and not row.get("error")

    def add(self, row: dict[str, Any]) -> None:
        self.rows[row["run_key"]] = row
        self.added += 1
        if self.out is None:
            return
        directory = self.out / "rows"
        directory.mkdir(parents=True, exist_ok=True)
        _write_atomically([row], directory / f"{row['run_key']}.parquet")

    def rebuild(self) -> Path | None:
        """Write OUT/sweep.parquet from every row (atomically)."""
        if self.out is None:
            return None
        target = self.out / "sweep.parquet"
        _write_atomically(list(self.rows.values()), target)
        return target


def _write_atomically(rows: list[dict[str, Any]], target: Path) -> None:
    """The rows as a parquet file at `target`: written beside it, then moved into place (a
    reader never sees half a file; a failed write leaves nothing behind)."""
    import pyarrow.parquet as pq

    from sim.outdir import clean_stale, temp_prefix

    clean_stale(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(target.stem), dir=target.parent)
    os.close(fd)
    try:
        pq.write_table(table_of(rows), tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def table_of(rows: list[dict[str, Any]]) -> pa.Table:
    """An Arrow table of rows with possibly different keys; a column of mixed types becomes text."""
    import pyarrow as pa

    columns: dict[str, list[Any]] = {}
    for row in rows:
        for key in row:
            columns.setdefault(key, [])
    for name, values in columns.items():
        values.extend(row.get(name) for row in rows)
        kinds = {type(v) for v in values if v is not None}
        if kinds == {int, float}:
            columns[name] = [None if v is None else float(v) for v in values]
        elif len(kinds) > 1:
            columns[name] = [None if v is None else str(v) for v in values]
    arrays = {}
    for name, values in columns.items():
        if name == "error" or all(v is None for v in values):
            arrays[name] = pa.array(values, pa.string() if name == "error" else pa.null())
        else:
            arrays[name] = pa.array(values)
    return pa.table(arrays)


# --- executing ----------------------------------------------------------------------------

def quiet_dask() -> None:
    """dask.distributed logs every worker start and stop: keep only errors."""
    for name in ("distributed", "distributed.nanny", "distributed.scheduler", "distributed.worker",
                 "distributed.core", "distributed.comm", "tornado", "bokeh"):
        logging.getLogger(name).setLevel(logging.ERROR)


class Executor:
    """Where runs execute: in this process (`serial`), an embedded LocalCluster, or `scheduler`.

    A context manager, so a plan's successive probes share one cluster.
    """

    def __init__(self, *, workers: int = DEFAULT_WORKERS, scheduler: str | None = None, serial: bool = False):
        self.workers = workers
        self.scheduler = scheduler
        self.serial = serial
        self.client: Client | None = None
        self.cluster: LocalCluster | None = None

    def __enter__(self) -> Executor:
        return self

    def start(self) -> None:
        """Start (or connect to) the dask cluster: on the first run to do, not for a full resume."""
        if self.serial or self.client is not None:
            return
        quiet_dask()
        import dask
        from dask.distributed import Client, LocalCluster

        dask.config.set({"distributed.worker.daemon": False, "logging.distributed": "error"})
        try:
            if self.scheduler:
                self.client = Client(self.scheduler, timeout="20s")
            else:
                self.cluster = LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                            dashboard_address=None, silence_logs=logging.ERROR)
                self.client = Client(self.cluster)
        except OSError as exc:
            self.__exit__(None, None, None)
            where = f"--scheduler {self.scheduler}" if self.scheduler else "local dask cluster"
            raise InputError(Problem(f"{where}: cannot connect: {exc}")) from None

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            if self.client is not None:
                self.client.close()
        with contextlib.suppress(Exception):
            if self.cluster is not None:
                self.cluster.close()
        self.client = self.cluster = None

    def describe(self) -> str:
        if self.serial:
            return "in this process"
        if self.client is None:
            return "no cluster needed: every run was already done"
        if self.scheduler:
            n = len(self.client.scheduler_info().get("workers", {}))
            return f"{self.scheduler} ({n} workers)"
        return f"local dask cluster ({self.workers} single-threaded worker processes)"

    def map(self, tasks: list[Task], on_result: Callable[[Task, dict[str, Any]], None]) -> None:
        """Run every task; call on_result(task, outcome) in this process as each one finishes."""
        if self.serial or not tasks:
            for task in tasks:
                on_result(task, run_one(task.scenario, task.seed, str(task.loaded.base_dir)))
            return
        from dask.distributed import as_completed

        self.start()
        assert self.client is not None  # not serial: start() connected
        futures = {self.client.submit(run_one, t.scenario, t.seed, str(t.loaded.base_dir), key=f"trnsim-run-{t.key}",
                                      pure=False): t for t in tasks}
        for future in as_completed(futures):
            task = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:  # the worker died or could not run the task
                outcome = {"error": f"{type(exc).__name__}: {exc}".strip()}
            on_result(task, outcome)


def execute(tasks: list[Task], rows: Rows, executor: Executor,
            progress: Callable[[int, int, dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Run the tasks whose rows are not done yet; return every task's row, in task order."""
    todo, seen = [], set()
    for t in tasks:
        if not rows.done(t.key) and t.key not in seen:
            todo.append(t)
            seen.add(t.key)
    done = 0

    def on_result(task: Task, outcome: dict[str, Any]) -> None:
        nonlocal done
        row = row_of(task, outcome)
        rows.add(row)
        done += 1
        if progress:
            progress(done, len(todo), row)

    if progress:
        progress(0, len(todo), {})
    executor.map(todo, on_result)
    return [rows.rows[t.key] for t in tasks]


@dataclass
class SweepResult:
    rows: list[dict[str, Any]]
    ran: int
    skipped: int
    table: Path | None


def sweep_tasks(scenario: Path, axes: list[Axis], seeds: list[int], *, sets: Iterable[str] = (),
                ci: bool = False) -> list[Task]:
    """Every run of the sweep, each grid point validated (bad input stops here, before any run)."""
    tasks: list[Task] = []
    for point in grid_points(axes):
        loaded = load_point(scenario, sets, ci, point)
        tasks.extend(make_tasks(loaded, point, seeds))
    return tasks


def sweep(scenario: Path, axes: list[Axis], seeds: list[int], executor: Executor, out: Path | None, *,
          sets: Iterable[str] = (), ci: bool = False,
          progress: Callable[[int, int, dict[str, Any]], None] | None = None,
          tasks: list[Task] | None = None) -> SweepResult:
    """Validate every grid point first (bad input stops before any run), then run what is missing."""
    if tasks is None:
        tasks = sweep_tasks(scenario, axes, seeds, sets=sets, ci=ci)
    rows = Rows(out)
    result = execute(tasks, rows, executor, progress)
    return SweepResult(result, rows.added, len({t.key for t in tasks}) - rows.added, rows.rebuild())


def by_point(rows: list[dict[str, Any]], paths: list[str]) -> Iterator[tuple[tuple[Any, ...], list[dict[str, Any]]]]:
    """Rows grouped by grid point, in first-seen order."""
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row.get(GRID + p) for p in paths), []).append(row)
    yield from groups.items()


from sim.callable_module import make_callable  # noqa: E402  (`sim.sweep(...)` is sim.api.sweep: see that module)

make_callable(__name__)
