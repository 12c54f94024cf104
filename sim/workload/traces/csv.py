"""The neutral job table (format `csv`), also what `trnsim trace convert` writes.

Required columns: job_id, submit_s, chips, duration_s. Optional: requested_s, user, queue,
priority, accelerator, checkpoint_interval_s, status, recorded_wait_s. Rows that cannot be
used are returned as (line, reason) rather than stopping the import.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REQUIRED = ("job_id", "submit_s", "chips", "duration_s")
OPTIONAL = ("requested_s", "user", "queue", "priority", "accelerator", "checkpoint_interval_s", "status",
            "recorded_wait_s")
STATUSES = ("completed", "failed", "killed")


class TraceError(Exception):
    """The file as a whole cannot be read (missing, no header, missing columns)."""


@dataclass(slots=True)
class Row:
    line: int
    job_id: str
    submit_s: float
    accelerators: float
    duration_s: float
    requested_s: float | None
    user: str | None
    queue: str | None
    priority: int
    accelerator: tuple[str, ...] | None
    checkpoint_interval_s: float | str | None
    status: str
    recorded_wait_s: float | None


def _number(text: str, name: str, *, minimum: float | None = None, positive: bool = False) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} is not a number: {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} is not finite: {text!r}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {text!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum:g}, got {text!r}")
    return value


def _optional(row: dict[str, str | None], name: str) -> str | None:
    value = row.get(name)
    return value.strip() if value is not None and value.strip() != "" else None


def read(path: Path) -> Iterator[Row | tuple[int, str]]:
    """Yield a Row per usable line and (line, reason) per unusable one."""
    try:
        fh = open(path, newline="")
    except OSError as exc:
        raise TraceError(f"cannot read trace {path}: {exc.strerror}") from None
    with fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames
        if not header:
            raise TraceError(f"{path}: empty file (expected a header {','.join(REQUIRED)})")
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise TraceError(f"{path}:1: missing column(s) {', '.join(missing)}")
        for row in reader:
            line = reader.line_num
            if None in row:
                yield line, f"{len(header) + len(row[None])} fields for {len(header)} columns"
                continue
            try:
                yield _parse(row, line)
            except ValueError as exc:
                yield line, str(exc)


def _parse(row: dict[str, str | None], line: int) -> Row:
    job_id = _optional(row, "job_id")
    if job_id is None:
        raise ValueError("job_id is empty")
    for name in REQUIRED[1:]:
        if _optional(row, name) is None:
            raise ValueError(f"{name} is empty")
    submit = _number(row["submit_s"], "submit_s")
    chips = _number(row["chips"], "chips", positive=True)
    duration = _number(row["duration_s"], "duration_s", minimum=0)
    requested = _optional(row, "requested_s")
    priority = _optional(row, "priority")
    accel = _optional(row, "accelerator")
    ckpt = _optional(row, "checkpoint_interval_s")
    status = _optional(row, "status") or "completed"
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    wait = _optional(row, "recorded_wait_s")
    if priority is not None:
        try:
            priority_value = int(priority)
        except ValueError:
            raise ValueError(f"priority is not an integer: {priority!r}") from None
    return Row(
        line=line, job_id=job_id, submit_s=submit, accelerators=chips, duration_s=duration,
        requested_s=None if requested is None else _number(requested, "requested_s", minimum=0),
        user=_optional(row, "user"), queue=_optional(row, "queue"),
        priority=0 if priority is None else priority_value,
        accelerator=None if accel is None else tuple(a.strip() for a in accel.split("|") if a.strip()),
        checkpoint_interval_s=None if ckpt is None else (
            ckpt if ckpt in ("young", "daly") else _number(ckpt, "checkpoint_interval_s", positive=True)),
        status=status,
        recorded_wait_s=None if wait is None else _number(wait, "recorded_wait_s", minimum=0),
    )
