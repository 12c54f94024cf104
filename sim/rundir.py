"""The run directory: written to a sibling temporary directory, then renamed into place.

Contents (docs/architecture.md, "The run directory"): summary.json, jobs.parquet, timeseries.csv, scenario.yaml,
report.md, report.html, plots/*.png. Nothing half-written is ever left at the destination.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sim import heap, metrics
from sim.jsonfile import strict_json
from sim.outdir import atomic_dir
from sim.report import run_report
from sim.report.rundata import SERIES_COLUMNS, from_result

INTEGER_COLUMNS = ("busy_chips", "down_chips", "running_jobs", "queued_jobs", "queued_chips", "installed_chips")


SERIES_ROWS = 250_000  # rows of timeseries.csv converted and written at a time
MAX_NAME = 100  # bytes of the scenario name kept in a default run directory's name (a file system allows 255)


def safe_name(name: str) -> str:
    """`name` as one directory name: letters, digits, '.', '-', '_' kept (other characters, such
    as newlines or separators, become '_'), at most MAX_NAME bytes, not hidden."""
    kept = "".join(c if c.isalnum() or c in "._-" else "_" for c in name).lstrip(".")
    kept = kept.encode()[:MAX_NAME].decode(errors="ignore")
    return kept or "run"


def default_out(name: str, run_key: str, root: Path = Path("runs")) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    return root / f"{safe_name(name)}-{stamp}-{run_key[:8]}"


def series_table(series: dict[str, Any], step: float | None, end: float) -> pa.Table:
    cols = metrics.time_average(series, step, end) if step else {n: np.asarray(series[n], dtype=float)
                                                        for n in SERIES_COLUMNS}
    arrays: dict[str, pa.Array] = {}
    for name in SERIES_COLUMNS:
        v = cols[name]
        if name in INTEGER_COLUMNS and not step:
            arrays[name] = pa.array(v.astype(np.int64))
        elif name == "power_w":
            arrays[name] = pa.array(v, mask=v < 0, type=pa.float64())
        else:
            arrays[name] = pa.array(v, pa.float64())
    return pa.table(arrays)


def write_series(series: dict[str, Any], step: float | None, end: float, path: Path) -> None:
    """timeseries.csv: the series (or its time-averages per `step`), built and written SERIES_ROWS rows
    at a time (the same bytes as in one go; the campus year's 3M rows as one table are a ~180 MiB copy)."""
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    with open(path, "wb") as fh:
        fh.write((",".join(SERIES_COLUMNS) + "\n").encode())
        if step:
            pacsv.write_csv(series_table(series, step, end), fh, write_options=options)
            return
        rows = len(series["t_s"])
        for lo in range(0, max(rows, 1), SERIES_ROWS):
            part = {name: series[name][lo:lo + SERIES_ROWS] for name in SERIES_COLUMNS}
            pacsv.write_csv(series_table(part, None, end), fh, write_options=options)


def write(result: Any, out: Path, *, force: bool = False, timeseries_step: float | None = None) -> Path:
    """Write the run directory for `result` at `out` (atomically: temp sibling, then rename)."""
    heap.arrow_on_the_c_heap()
    with atomic_dir(out, force=force) as tmp:
        (tmp / "scenario.yaml").write_text(result.loaded.resolved_yaml(result.seed))
        (tmp / "summary.json").write_text(strict_json(result.summary))
        jobs = metrics.jobs_table(result)
        metrics.forget_arrays(result)  # the columns the summary and the jobs table were built from
        pq.write_table(jobs, tmp / "jobs.parquet")
        heap.trim()
        write_series(result.outcome.series, timeseries_step, result.outcome.end_time, tmp / "timeseries.csv")
        data = from_result(result, jobs)
        heap.trim()
        run_report.write(data, run_report.context_of(result), tmp)
    return Path(out)
