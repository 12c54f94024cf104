"""What a report or a comparison needs of one run, read from a finished result or a run directory.

Reports and `trnsim compare` use the same columns, so a run directory on disk and a run just
simulated in memory are drawn alike. Only the columns the figures use are read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml

from sim.errors import InputError, Problem

RUN_FILES = ("summary.json", "jobs.parquet", "timeseries.csv", "scenario.yaml")
JOB_COLUMNS = ("submit_s", "start_s", "end_s", "wait_s", "jct_s", "run_s", "chips_requested",
               "chips_allocated", "tier", "state", "restarts", "preemptions", "lost_chip_s", "recorded_wait_s",
               "pool", "queue", "user")
SERIES_COLUMNS = ("t_s", "busy_chips", "down_chips", "running_jobs", "queued_jobs", "queued_chips", "power_w",
                  "installed_chips", "speed_factor")
OPTIONAL_SERIES = ("installed_chips", "speed_factor")  # absent from runs written before they were added

# Job-size classes (chips requested): label, smallest, largest.
SIZE_CLASSES = (("1", 1, 1), ("2–16", 2, 16), ("17–64", 17, 64), ("65–1,024", 65, 1024),
                ("> 1,024", 1025, None))


def size_class(chips: np.ndarray) -> np.ndarray:
    """Index into SIZE_CLASSES of each job's chip count."""
    upper = np.array([hi for _, _, hi in SIZE_CLASSES[:-1]])  # each bounded class's largest size
    return np.searchsorted(upper, np.asarray(chips), side="left")


@dataclass
class RunData:
    """One run's summary, job columns (numpy; NaN for null) and time series (numpy)."""

    name: str
    summary: dict[str, Any]
    jobs: dict[str, np.ndarray]
    series: dict[str, np.ndarray]
    scenario: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    table: pa.Table | None = None  # the whole jobs table, for the few rows a report lists
    # per pool name, (t_s, busy chips): only for a run just simulated (a run directory has the total), and
    # only when its pools have several accelerators
    pool_series: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    # sim.metrics.per_year's rows: only for a run just simulated, and only when it spans two years or more
    years: list[dict[str, Any]] = field(default_factory=list)

    def rows(self, index: np.ndarray, columns: list[str]) -> list[dict[str, Any]]:
        """Rows `index` of the jobs table (only `columns`), as dicts."""
        if self.table is None:
            return []
        present = [c for c in columns if c in self.table.column_names]
        return self.table.select(present).take(pa.array(index, pa.int64())).to_pylist()

    @property
    def policy(self) -> str:
        return str((self.scenario.get("scheduler") or {}).get("policy", "?"))

    @property
    def chips(self) -> int:
        return int(self.summary["chips"])


def _column(table: pa.Table, name: str) -> np.ndarray:
    col = table.column(name)
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        # "" for no pool, queue or user; one Python string per distinct value, shared by its rows (a
        # string per row would be ~60 bytes a job: ~50 MiB a column in the campus year's 874,647 jobs)
        coded = col.fill_null("").combine_chunks().dictionary_encode()  # type: ignore[arg-type]  # pyarrow-stubs want a Scalar
        return coded.dictionary.to_numpy(zero_copy_only=False)[coded.indices.to_numpy(zero_copy_only=False)]
    if pa.types.is_integer(col.type) and col.null_count == 0:
        return col.to_numpy()
    return col.cast(pa.float64()).fill_null(np.nan).to_numpy()  # type: ignore[arg-type]  # pyarrow takes a float


def job_columns(table: pa.Table) -> dict[str, np.ndarray]:
    return {name: _column(table, name) for name in JOB_COLUMNS if name in table.column_names}


def from_result(result: Any, jobs: pa.Table) -> RunData:
    """A just-finished simulation (`sim.run.Result`) and its jobs table."""
    series = {name: np.asarray(result.outcome.series[name], dtype=float) for name in SERIES_COLUMNS}
    scenario = yaml.safe_load(result.loaded.resolved_yaml(result.seed))
    from sim.metrics import YEAR_S, per_year, pool_busy_series

    years = per_year(result) if result.outcome.end_time > 2 * YEAR_S - 1 else []
    # drawn only when pools of several accelerators are (sim.report.run_report); one pool's series
    # of the campus year is ~60 MiB kept, ~150 MiB while it is built
    several = len({s.accelerator for s in result.shapes}) > 1
    return RunData(result.loaded.model.name, result.summary, job_columns(jobs), series, scenario,
                   source=str(result.loaded.file), table=jobs, pool_series=pool_busy_series(result) if several else {},
                   years=years)


def load(path: Path) -> RunData:
    """A run directory written by `trnsim run`; a missing or unreadable file is bad input."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(Problem(f"{path}: not a run directory or a scenario file"))
    missing = [f for f in RUN_FILES if not (path / f).is_file()]
    if missing:
        raise InputError(Problem(f"{path}: not a complete run directory (missing {', '.join(missing)})"))
    try:
        summary = json.loads((path / "summary.json").read_text())
        scenario = yaml.safe_load((path / "scenario.yaml").read_text()) or {}
        jobs = pq.read_table(path / "jobs.parquet", columns=None)
        series_table = pacsv.read_csv(path / "timeseries.csv")
    except (OSError, ValueError, yaml.YAMLError, pa.ArrowException) as exc:
        raise InputError(Problem(f"{path}: cannot read the run: {exc}")) from None
    lacking = [c for c in SERIES_COLUMNS if c not in series_table.column_names and c not in OPTIONAL_SERIES]
    lacking += [c for c in ("wait_s", "chips_requested", "state") if c not in jobs.column_names]
    lacking += [k for k in ("chips", "utilisation", "seed") if k not in summary]
    if lacking:
        raise InputError(Problem(f"{path}: not a trnsim run directory (no {', '.join(lacking)})"))
    # pyarrow-stubs: fill_null wants a Scalar (pyarrow takes a float), and the result's to_numpy is untyped
    series = {name: np.asarray(series_table.column(name).cast(pa.float64()).fill_null(-1.0).to_numpy(),  # type: ignore[arg-type, type-var]
                               dtype=float) for name in SERIES_COLUMNS if name in series_table.column_names}
    if "installed_chips" not in series:
        series["installed_chips"] = np.full(len(series["t_s"]), float(summary["chips"]))
    if "speed_factor" not in series:
        series["speed_factor"] = np.ones(len(series["t_s"]))
    name = str(scenario.get("name") or path.name) if isinstance(scenario, dict) else path.name
    return RunData(name, summary, job_columns(jobs), series, scenario if isinstance(scenario, dict) else {},
                   source=str(path), table=jobs)
