"""The neutral job table (format `csv`), also what `trnsim trace convert` writes.

Required columns: job_id, submit_s, chips, duration_s. Optional: requested_s, user, queue,
priority, accelerator, checkpoint_interval_s, status, recorded_wait_s, min_chips, max_chips
(an elastic job's size range: both or neither). Rows that cannot be
used are returned as (line, reason) rather than stopping the import. `chips` may be a
fraction (a GPU share); it becomes chips when the trace is built into jobs.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from sim.workload.traces.common import (
    STATUSES,
    Row,
    TraceError,
    TraceInfo,
    number,
    open_text,
    shown,
)

__all__ = ["COLUMNS", "OPTIONAL", "REQUIRED", "STATUSES", "Row", "TraceError", "read", "format_row"]

REQUIRED = ("job_id", "submit_s", "chips", "duration_s")
OPTIONAL = ("requested_s", "user", "queue", "priority", "accelerator", "checkpoint_interval_s", "status",
            "recorded_wait_s", "min_chips", "max_chips")
COLUMNS = REQUIRED + OPTIONAL


def read(path: Path, info: TraceInfo | None = None) -> Iterator[Row | tuple[int, str]]:
    """Yield a Row per usable line and (line, reason) per unusable one."""
    if info is not None:
        info.format = "csv"
    fh = open_text(path)
    with fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if not header:
            raise TraceError(f"{path}: empty file (expected a header {','.join(REQUIRED)})")
        header = [h.strip() for h in header]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise TraceError(f"{path}:1: missing column(s) {', '.join(missing)}")
        at = {name: header.index(name) for name in COLUMNS if name in header}
        width = len(header)
        for fields in reader:
            line = reader.line_num
            if not fields:
                continue
            if len(fields) > width:
                yield line, f"{len(fields)} fields for {width} columns"
                continue
            n = len(fields)  # a short row leaves its last columns empty
            row = {name: fields[i].strip() if i < n else "" for name, i in at.items()}
            try:
                yield _parse(row, line)
            except ValueError as exc:
                yield line, str(exc)


def _optional(row: dict[str, str], name: str) -> str | None:
    value = row.get(name)
    return value if value else None


def _parse(row: dict[str, str], line: int) -> Row:
    job_id = row["job_id"]
    if not job_id:
        raise ValueError("job_id is empty")
    submit = number(row["submit_s"], "submit_s")
    chips = number(row["chips"], "chips", positive=True)
    duration = number(row["duration_s"], "duration_s", minimum=0)
    requested = _optional(row, "requested_s")
    priority = _optional(row, "priority")
    accel = _optional(row, "accelerator")
    ckpt = _optional(row, "checkpoint_interval_s")
    status = _optional(row, "status") or "completed"
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {shown(status)}")
    wait = _optional(row, "recorded_wait_s")
    lo_text, hi_text = _optional(row, "min_chips"), _optional(row, "max_chips")
    if (lo_text is None) != (hi_text is None):
        raise ValueError("min_chips and max_chips come together (an elastic job's size range)")
    lo: float | None = None
    hi: float | None = None
    if lo_text is not None:
        lo, hi = number(lo_text, "min_chips", positive=True), number(hi_text, "max_chips", positive=True)
        if hi < lo:
            raise ValueError(f"max_chips ({hi:g}) must be >= min_chips ({lo:g})")
    priority_value = 0
    if priority is not None:
        try:
            priority_value = int(priority)
        except ValueError:
            raise ValueError(f"priority is not an integer: {shown(priority)}") from None
    return Row(
        line=line, job_id=job_id, submit_s=submit, accelerators=chips, duration_s=duration,
        requested_s=None if requested is None else number(requested, "requested_s", minimum=0),
        user=_optional(row, "user"), queue=_optional(row, "queue"),
        priority=priority_value,
        accelerator=None if accel is None else tuple(a.strip() for a in accel.split("|") if a.strip()),
        checkpoint_interval_s=None if ckpt is None else (
            ckpt if ckpt in ("young", "daly") else number(ckpt, "checkpoint_interval_s", positive=True)),
        status=status,
        recorded_wait_s=None if wait is None else number(wait, "recorded_wait_s", minimum=0),
        min_chips=lo, max_chips=hi,
    )


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def format_row(row: Row) -> list[str]:
    """A Row as the fields of one line of the neutral table (columns in COLUMNS order)."""
    ckpt = row.checkpoint_interval_s
    return [row.job_id, _num(row.submit_s), _num(row.accelerators), _num(row.duration_s), _num(row.requested_s),
            row.user or "", row.queue or "", str(row.priority) if row.priority else "",
            "|".join(row.accelerator) if row.accelerator else "",
            ckpt if isinstance(ckpt, str) else _num(ckpt), row.status,
            _num(row.recorded_wait_s), _num(row.min_chips), _num(row.max_chips)]
