"""Alibaba PAI GPU trace 2020 (MLaaS in the Wild, NSDI'22): the job table joined with the task table.

Both tables are headerless CSV:
  pai_job_table:  job_name, inst_id, user, status, start_time, end_time
  pai_task_table: job_name, task_name, inst_num, status, start_time, end_time, plan_cpu,
                  plan_mem, plan_gpu, gpu_type
A job's accelerators are Σ over its tasks of inst_num × plan_gpu / 100 (plan_gpu is in percent
of a GPU; empty means none). Submit = the job's start_time; the job starts when its first
task starts (the gap is the recorded wait) and ends at its end_time. Terminated → completed,
Failed → failed; Running (cut by the end of the trace) and Waiting (never started) jobs are
skipped, and so are CPU-only jobs, jobs without tasks and times of 0 (upstream reads 0 as
missing). A total below one GPU becomes one chip, counted as repaired. Times are seconds
minus an unknown constant; upstream reads them as Unix time in UTC+8 for the time of day.

The task table is read first into one dict entry and two floats per job; the job table is
then streamed. Task rows that cannot be used are reported with their line in the task table.
"""

from __future__ import annotations

import csv
from array import array
from collections.abc import Callable, Iterator
from pathlib import Path

from sim.workload.traces.common import Row, TraceError, TraceInfo, number, open_text, shown

JOB_COLUMNS = ("job_name", "inst_id", "user", "status", "start_time", "end_time")
TASK_COLUMNS = ("job_name", "task_name", "inst_num", "status", "start_time", "end_time", "plan_cpu", "plan_mem",
                "plan_gpu", "gpu_type")
JOB_TABLE = "pai_job_table.csv"
TASK_TABLE = "pai_task_table.csv"


def tables(path: Path, tasks: Path | None = None) -> tuple[Path, Path]:
    """(job table, task table): `path` is the job table or a directory holding both; the task
    table is `tasks`, else the job table's name with 'job' replaced by 'task'."""
    path = Path(path)
    if path.is_dir():
        return path / JOB_TABLE, Path(tasks) if tasks else path / TASK_TABLE
    if tasks:
        return path, Path(tasks)
    name = path.name
    k = name.rfind("job")
    if k < 0:
        raise TraceError(f"{path}: cannot guess the task table's name (no 'job' in the file name); "
                         f"give it (trace: tasks:, or --tasks)")
    return path, path.with_name(name[:k] + "task" + name[k + 3:])


def _time(text: str) -> float | None:
    value = number(text, "start_time") if text.strip() else 0.0
    return None if value == 0 else value


def _records(path: Path, columns: int, wrong_count: Callable[[int], str]
             ) -> Iterator[tuple[int, list[str] | str]]:
    """(line, fields) of a headerless table, or (line, reason) for a row with the wrong field
    count; blank lines and a header row added by hand are passed over."""
    with open_text(path) as fh:
        reader = csv.reader(fh)
        for f in reader:
            line = reader.line_num
            if not f:
                continue
            if len(f) != columns:
                if line == 1 and f[0].strip() == "job_name":
                    continue  # a header row added by hand
                yield line, wrong_count(len(f))
                continue
            yield line, f


def read(path: Path, info: TraceInfo | None = None, *, tasks: Path | None = None
         ) -> Iterator[Row | tuple[int, str]]:
    info = info if info is not None else TraceInfo()
    info.format = "pai2020"
    info.clock = "trace seconds read as Unix time in UTC+8 (upstream's reading: true time of day, fake dates)"
    info.day_offset_s = 8 * 3600.0
    job_path, task_path = tables(path, tasks)
    index: dict[str, int] = {}
    gpus, first_start = array("d"), array("d")
    for line, f in _records(task_path, len(TASK_COLUMNS),
                            lambda n: f"in task table {task_path.name}: {n} fields (expected {len(TASK_COLUMNS)})"):
        if isinstance(f, str):
            yield line, f
            continue
        try:
            inst = number(f[2], "inst_num", minimum=0)
            plan = f[8].strip()
            share = inst * number(plan, "plan_gpu", minimum=0) / 100 if plan else 0.0
            start = _time(f[4])
        except ValueError as exc:
            yield line, f"in task table {task_path.name}: {exc}"
            continue
        name = f[0].strip()
        k = index.get(name)
        if k is None:
            index[name] = len(gpus)
            gpus.append(share)
            first_start.append(-1.0 if start is None else start)
        else:
            gpus[k] += share
            if start is not None and (first_start[k] < 0 or start < first_start[k]):
                first_start[k] = start
    for line, f in _records(job_path, len(JOB_COLUMNS), lambda n: f"{n} fields (a PAI job row has {len(JOB_COLUMNS)})"):
        if isinstance(f, str):
            yield line, f
            continue
        name, _, user, status, start_text, end_text = (x.strip() for x in f)
        if status == "Running":
            yield line, "still running at the end of the trace (status Running)"
            continue
        if status == "Waiting":
            yield line, "never started (status Waiting)"
            continue
        if status not in ("Terminated", "Failed"):
            yield line, f"unknown status {shown(status)}"
            continue
        try:
            submit = number(start_text, "start_time") if start_text else 0.0
            end = number(end_text, "end_time") if end_text else 0.0
        except ValueError as exc:
            yield line, str(exc)
            continue
        if submit == 0 or end == 0:
            yield line, "start_time or end_time missing (0)"
            continue
        k = index.get(name)
        if k is None:
            yield line, "no task rows for this job"
            continue
        total = gpus[k]
        if total <= 0:
            yield line, "CPU-only job (no plan_gpu)"
            continue
        began = first_start[k] if first_start[k] >= 0 else submit
        if end < began:
            yield line, "end_time is before the first task's start_time"
            continue
        repair = None
        if total < 1:
            repair = f"GPU share ({total:g} GPU) counted as one chip"
            total = 1.0
        wait = began - submit if first_start[k] >= 0 and began >= submit else None
        yield Row(line, name, submit, total, end - began, None, user or None, None, 0, None, None,
                  "completed" if status == "Terminated" else "failed", wait, repair)
