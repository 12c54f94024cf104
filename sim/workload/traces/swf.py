"""Standard Workload Format (Parallel Workloads Archive): 18 whitespace-separated fields per job.

Fields used: 1 job number, 2 submit time, 3 wait time, 4 run time, 5 allocated processors,
8 requested processors, 9 requested time, 11 status, 12 user, 15 queue; -1 means unknown.
One processor is one accelerator. Status 1 → completed, 0 → failed, 5 (cancelled) → killed if
it ran, skipped if it never started; -1 (unknown) → completed; 2/3/4 are partial-execution
records of a job whose summary line is already counted, and are skipped. A job whose
allocated processors are unknown uses its requested processors (counted as repaired).
Header lines (`;`) are kept as notes: the `Acknowledge:` line names whom to credit. Times
are seconds from the header's `UnixStartTime`; `.gz` files are read as they are decompressed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sim.workload.traces.common import Row, TraceInfo, open_text, shown

_STATUS = {"1": "completed", "0": "failed", "-1": "completed"}
_PARTIAL = ("2", "3", "4")


def read(path: Path, info: TraceInfo | None = None) -> Iterator[Row | tuple[int, str]]:
    info = info if info is not None else TraceInfo()
    info.format = "swf"
    header: dict[str, str] = {}
    in_header = True
    with open_text(path) as fh:
        for line_no, line in enumerate(fh, start=1):
            text = line.strip()
            if not text:
                continue
            if text[0] == ";":
                if in_header:
                    key, sep, value = text[1:].partition(":")
                    if sep and key.strip() and key.strip() not in header:
                        header[key.strip()] = value.strip()
                continue
            if in_header:
                in_header = False
                _clock(header, info)
            fields = text.split()
            if len(fields) != 18:
                yield line_no, f"{len(fields)} fields (an SWF record has 18)"
                continue
            try:
                submit = float(fields[1])
                wait = float(fields[2])
                run = float(fields[3])
                procs = float(fields[4])
                req_procs = float(fields[7])
                req_time = float(fields[8])
            except ValueError:
                bad = next(f for f in fields if not _is_number(f))
                yield line_no, f"field is not a number: {shown(bad)}"
                continue
            numbers = (submit, wait, run, procs, req_procs, req_time)
            if not all(map(math.isfinite, numbers)):
                k = next(k for k, x in zip((2, 3, 4, 5, 8, 9), numbers, strict=True) if not math.isfinite(x))
                yield line_no, f"field {k} is not finite: {shown(fields[k - 1])}"
                continue
            status_code = fields[10]
            if submit < 0:
                yield line_no, "submit time unknown (field 2 is -1)"
                continue
            if run < 0:
                yield line_no, "run time unknown (field 4 is -1)"
                continue
            repair = None
            if procs <= 0:
                if req_procs <= 0:
                    yield line_no, "processor count unknown (fields 5 and 8 are -1)"
                    continue
                procs = req_procs
                repair = "allocated processors unknown: requested processors used"
            status = _STATUS.get(status_code)
            if status is None:
                if status_code == "5":
                    if run <= 0:
                        yield line_no, "cancelled before it started (status 5, run time 0)"
                        continue
                    status = "killed"
                elif status_code in _PARTIAL:
                    yield line_no, f"partial-execution record (status {status_code}; the job's summary line is counted)"
                    continue
                else:
                    yield line_no, f"unknown status {shown(status_code)}"
                    continue
            user = fields[11]
            queue = fields[14]
            yield Row(line_no, fields[0], submit, procs, run,
                      req_time if req_time >= 0 else None,
                      None if user == "-1" else user,
                      None if queue == "-1" else queue,
                      0, None, None, status,
                      wait if wait >= 0 else None,
                      repair)
    if in_header:
        _clock(header, info)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _clock(header: dict[str, str], info: TraceInfo) -> None:
    """Time of day from UnixStartTime and the time zone named in the header."""
    for key in ("Computer", "Installation", "Acknowledge", "Conversion", "Note"):
        if key in header:
            info.notes.append(f"{key}: {header[key]}")
    try:
        start = int(float(header["UnixStartTime"]))
    except (KeyError, ValueError):
        info.clock = "seconds from the log's start (no UnixStartTime in the header)"
        return
    offset = None
    zone = header.get("TimeZoneString")
    if zone:
        try:
            from zoneinfo import ZoneInfo

            off = datetime.fromtimestamp(start, ZoneInfo(zone)).utcoffset()
            offset = None if off is None else off.total_seconds()
        except Exception:  # unknown zone name, or no tz database
            offset = None
    if offset is None and "TimeZone" in header:
        try:
            offset = float(header["TimeZone"])
        except ValueError:
            offset = None
    offset = offset or 0.0
    info.day_offset_s = start + offset
    when = datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    info.clock = (f"local time ({zone or 'UTC'}, UTC{offset / 3600:+g}h at the start, {when}; "
                  "daylight saving not applied)")
