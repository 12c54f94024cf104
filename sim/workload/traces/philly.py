"""Microsoft Philly (ATC'19) `cluster_job_log`: one JSON array of job objects, read one job at a time.

Keys: status (Pass | Killed | Failed), vc, jobid, submitted_time, user, attempts: a list of
{start_time, end_time, detail: [{ip, gpus: [...]}]}. As upstream's analysis does: GPUs =
those of the first attempt; run time = first attempt's start → last attempt's end (gaps
between attempts included); recorded wait = first start − submitted_time. Jobs with no
attempts, with no start, or still running at the snapshot (last end missing) are skipped and
counted. Missing times may be JSON null, "" or the string "None". vc → queue. Times are
read as written (no zone in the trace; the cluster ran on US Pacific time).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sim.workload.traces.common import Row, TraceError, TraceInfo, open_text, shown, timestamp

STATUS: dict[object, str] = {"Pass": "completed", "Killed": "killed", "Failed": "failed"}
_CHUNK = 1 << 20
_MISSING = (None, "", "None")
_LARGEST = 64 << 20  # a longer job object is a broken file, not a long job


def objects(path: Path) -> Iterator[tuple[int, Any]]:
    """(line, value) for each element of the top-level JSON array, without reading it whole."""
    decoder = json.JSONDecoder()
    with open_text(path) as fh:
        buf, pos, line = "", 0, 1

        def fill() -> bool:
            nonlocal buf, pos
            chunk = fh.read(_CHUNK)
            if not chunk:
                return False
            buf, pos = buf[pos:] + chunk, 0
            return True

        def skip(chars: str) -> None:
            nonlocal pos, line
            while True:
                while pos < len(buf) and buf[pos] in chars:
                    if buf[pos] == "\n":
                        line += 1
                    pos += 1
                if pos < len(buf) or not fill():
                    return

        skip(" \t\r\n")
        if pos >= len(buf) or buf[pos] != "[":
            raise TraceError(f"{path}:{line}: expected a JSON array of jobs ('[')")
        pos += 1
        while True:
            skip(" \t\r\n,")
            if pos >= len(buf):
                raise TraceError(f"{path}:{line}: the JSON array is not closed (truncated file?)")
            if buf[pos] == "]":
                return
            while True:
                try:
                    value, end = decoder.raw_decode(buf, pos)
                    break
                except json.JSONDecodeError as exc:
                    if len(buf) - pos > _LARGEST or not fill():
                        where = line + buf.count("\n", pos, exc.pos)
                        raise TraceError(f"{path}:{where}: invalid JSON: {exc.msg}; cannot read further") from None
            yield line, value
            line += buf.count("\n", pos, end)
            pos = end


def read(path: Path, info: TraceInfo | None = None) -> Iterator[Row | tuple[int, str]]:
    info = info if info is not None else TraceInfo()
    info.format = "philly"
    info.clock = "the cluster's wall clock as written (US Pacific; no zone in the trace)"
    for line, job in objects(path):
        if not isinstance(job, dict):
            yield line, "not a job object"
            continue
        try:
            yield _job(job, line)
        except ValueError as exc:
            yield line, str(exc)
        except (KeyError, TypeError, AttributeError):
            yield line, "malformed job object (missing or mistyped keys)"


def _job(job: dict[str, Any], line: int) -> Row | tuple[int, str]:
    job_id = job.get("jobid")
    if not job_id:
        raise ValueError("jobid is missing")
    status = STATUS.get(job.get("status"))
    if status is None:
        raise ValueError(f"unknown status {shown(str(job.get('status')))}")
    submit = timestamp(job.get("submitted_time"), "submitted_time")
    attempts = job.get("attempts") or []
    if not attempts:
        return line, "no attempts (never started)"
    first, last = attempts[0], attempts[-1]
    if first.get("start_time") in _MISSING:
        return line, "first attempt has no start_time"
    if last.get("end_time") in _MISSING:
        return line, "still running at the snapshot (last attempt has no end_time)"
    start = timestamp(first["start_time"], "start_time")
    end = timestamp(last["end_time"], "end_time")
    if end < start:
        raise ValueError(f"last end_time {last['end_time']} is before first start_time {first['start_time']}")
    gpus = sum(len(d.get("gpus") or []) for d in first.get("detail") or [])
    if gpus == 0:
        return line, "no GPUs in the first attempt"
    wait = start - submit
    return Row(line, str(job_id), submit, float(gpus), end - start, None, job.get("user") or None,
               job.get("vc") or None, 0, None, None, status, wait if wait >= 0 else None)
