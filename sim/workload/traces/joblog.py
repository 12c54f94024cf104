"""Slurm-style job logs with a header row (Helios, Acme): one row per job, times as date-times.

Shared rules: `gpu_num` 0 (CPU jobs) are skipped and counted; the run time is recomputed as
end − start from the time stamps (Acme's Kalos `duration` column is end − submit); the wait
the trace recorded is start − submit. States: COMPLETED → completed, FAILED and NODE_FAIL →
failed, CANCELLED and TIMEOUT → killed; a job cancelled before it started is skipped.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from sim.workload.traces.common import (
    Row,
    TraceError,
    TraceInfo,
    number,
    open_text,
    shown,
    timestamp,
    utc_offset_s,
)

STATES = {"COMPLETED": "completed", "FAILED": "failed", "NODE_FAIL": "failed", "CANCELLED": "killed",
          "TIMEOUT": "killed"}
CPU_JOB = "CPU job (gpu_num 0)"


def read_log(path: Path, info: TraceInfo, *, queue_column: str, needed: tuple[str, ...]
             ) -> Iterator[Row | tuple[int, str]]:
    with open_text(path) as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if not header:
            raise TraceError(f"{path}: empty file (expected a header {','.join(needed)})")
        header = [h.strip() for h in header]
        missing = [c for c in needed if c not in header]
        if missing:
            raise TraceError(f"{path}:1: missing column(s) {', '.join(missing)} (not a {info.format} job log?)")
        i_id, i_user, i_queue, i_gpu, i_state, i_submit, i_start, i_end = (
            header.index(c) for c in ("job_id", "user", queue_column, "gpu_num", "state", "submit_time",
                                      "start_time", "end_time"))
        width = len(header)
        first_offset = True
        for f in reader:
            line = reader.line_num
            if not f:
                continue
            if len(f) != width:
                yield line, f"{len(f)} fields for {width} columns"
                continue
            try:
                job_id = f[i_id].strip()
                if not job_id:
                    raise ValueError("job_id is empty")
                gpus = number(f[i_gpu], "gpu_num", minimum=0)
                if gpus == 0:
                    yield line, CPU_JOB
                    continue
                state_text = f[i_state].strip()
                status = STATES.get(state_text)
                if status is None:
                    raise ValueError(f"unknown state {shown(state_text)}")
                submit = timestamp(f[i_submit], "submit_time")
                start_text = f[i_start].strip()
                if start_text in ("", "None") and state_text == "CANCELLED":
                    yield line, "cancelled before it started (no start_time)"
                    continue
                start = timestamp(start_text, "start_time")
                end = timestamp(f[i_end], "end_time")
                if end < start:
                    raise ValueError(f"end_time {f[i_end].strip()} is before start_time {start_text}")
            except ValueError as exc:
                yield line, str(exc)
                continue
            if first_offset:
                first_offset = False
                offset = utc_offset_s(f[i_submit])
                if offset is not None:
                    info.day_offset_s = offset
                    info.clock = f"local time, UTC{offset / 3600:+g}h (the first row's offset)"
            user = f[i_user].strip()
            queue = f[i_queue].strip() if i_queue >= 0 else ""
            wait = start - submit
            yield Row(line, job_id, submit, gpus, end - start, None, user or None, queue or None, 0, None, None,
                      status, wait if wait >= 0 else None)
