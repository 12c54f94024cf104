"""What every importer yields: rows of the neutral job table, or (line, reason) for unusable rows.

An importer is a function `read(path, info=None, **options)` returning an iterator. It reads
the file as it goes (millions of rows in bounded memory), raises `TraceError` only when the
file as a whole cannot be read, and fills `info` (a `TraceInfo`) with what it learns about
the trace's clock and provenance.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import os
import stat
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

from sim.names import TRACE_STATUSES

STATUSES = TRACE_STATUSES
MAX_FIELD = 1 << 24  # characters in one CSV field: beyond it the file, not a row, is broken
csv.field_size_limit(MAX_FIELD)  # (the default, 128 KiB, would stop the import at one long field)
SHOWN = 40  # characters of a bad value quoted in a skip reason


def shown(text: str) -> str:
    """A value for a message: its repr, cut to SHOWN characters (a row may hold a 200 KB field)."""
    if len(text) <= SHOWN:
        return repr(text)
    return repr(text[:SHOWN]) + f"... ({len(text):,} characters)"
_EPOCH_ORDINAL = datetime(1970, 1, 1).toordinal()


class TraceError(Exception):
    """The file as a whole cannot be read (missing, no header, missing columns)."""


@dataclass(slots=True)
class Row:
    """One usable job. `accelerators` is the source's accelerator count (chips before scaling);
    `repair` says what the importer changed to make the row usable (counted in rows_repaired)."""

    line: int
    job_id: str
    submit_s: float
    accelerators: float
    duration_s: float
    requested_s: float | None = None
    user: str | None = None
    queue: str | None = None
    priority: int = 0
    accelerator: tuple[str, ...] | None = None
    checkpoint_interval_s: float | str | None = None
    status: str = "completed"
    recorded_wait_s: float | None = None
    repair: str | None = None
    min_chips: float | None = None  # elastic jobs (neutral table only): the size range, in accelerators
    max_chips: float | None = None


@dataclass
class TraceInfo:
    """What an importer learned about a trace besides its rows.

    `day_offset_s`: seconds to add to `submit_s` so that `(submit_s + day_offset_s) mod 1 d`
    is the time of day on `clock` (used by `trace stats` for arrivals by hour).
    """

    format: str = ""
    clock: str = "seconds from 00:00 of day 0"
    day_offset_s: float = 0.0
    notes: list[str] = field(default_factory=list)


def open_text(path: Path) -> IO[str]:
    """A text stream of `path`, decompressing `.gz` (by content, not only by name)."""
    try:
        raw = open(path, "rb")
    except OSError as exc:
        raise TraceError(f"cannot read trace {path}: {exc.strerror}") from None
    mode = os.fstat(raw.fileno()).st_mode
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):  # /dev/zero would be read for ever
        raw.close()
        raise TraceError(f"cannot read trace {path}: a device, not a file")
    magic = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.GzipFile(fileobj=raw), encoding="utf-8", errors="replace", newline="")
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="")


def no_usable_row(skipped: int, by_reason: dict[str, int]) -> str:
    """Why a trace gave no job: its skipped rows by reason, or that it has none."""
    if not skipped:
        return "the file holds no job records"
    reasons = "; ".join(f"{count:,} {reason}" for reason, count in list(by_reason.items())[:3])
    return f"all {skipped:,} rows skipped: {reasons}"


def number(text: str | None, name: str, *, minimum: float | None = None, positive: bool = False) -> float:
    if text is None or text.strip() == "":
        raise ValueError(f"{name} is empty")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} is not a number: {shown(text)}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name} is not finite: {shown(text)}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {shown(text)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum:g}, got {shown(text)}")
    return value


def timestamp(text: str | None, name: str) -> float:
    """Seconds since 1970 of an ISO date-time. With an offset (`+08:00`) this is true UTC;
    without one the wall-clock reading is taken as UTC (the trace's own clock)."""
    if text is None or text.strip() == "" or text.strip() == "None":
        raise ValueError(f"{name} is empty")
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{name} is not a date-time: {shown(text)}") from None
    if dt.tzinfo is not None:
        return dt.timestamp()
    return float((dt.toordinal() - _EPOCH_ORDINAL) * 86400 + dt.hour * 3600 + dt.minute * 60 + dt.second) + (
        dt.microsecond / 1e6)


def utc_offset_s(text: str) -> float | None:
    """The UTC offset written in an ISO date-time, or None."""
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    off = dt.utcoffset()
    return None if off is None else off.total_seconds()
