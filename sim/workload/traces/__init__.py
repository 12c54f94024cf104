"""Trace importers. Each yields rows of the neutral job table with their line numbers, or
(line, reason) for a row it cannot use; see `common` for the contract."""

from __future__ import annotations

import csv as csvlib  # (`csv` here is the importer sim.workload.traces.csv)
import importlib
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sim.workload.traces.common import Row, TraceError, TraceInfo, no_usable_row, shown

FORMATS = ("csv", "swf", "alibaba2023", "philly", "pai2020", "helios", "acme")

__all__ = ["FORMATS", "Row", "TraceError", "TraceInfo", "no_usable_row", "read", "shown"]


def read(path: Path, fmt: str, info: TraceInfo | None = None, **options: Any) -> Iterator[Row | tuple[int, str]]:
    """Rows of trace `path` in format `fmt` (options: `keep_survivors` for alibaba2023,
    `tasks` for pai2020; an option another format does not take is ignored if unset)."""
    if fmt not in FORMATS:
        raise TraceError(f"unknown trace format {fmt!r} (known: {', '.join(FORMATS)})")
    module = importlib.import_module(f"sim.workload.traces.{fmt}")
    given = {k: v for k, v in options.items() if v not in (None, False)}
    return _readable(module.read(Path(path), info, **given), path)


def _readable(rows: Iterator[Row | tuple[int, str]], path: Path) -> Iterator[Row | tuple[int, str]]:
    """The importer's rows; a file that breaks while it is read (a corrupt or truncated gzip, an
    I/O error, a CSV field beyond 16 MiB) is a `TraceError` naming the line after the last row read."""
    line = 0
    try:
        for row in rows:
            line = row[0] if isinstance(row, tuple) else row.line
            yield row
    except (OSError, EOFError, zlib.error, csvlib.Error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        if isinstance(exc, EOFError | zlib.error) or "gzip" in reason.lower() or "CRC" in reason:
            reason = f"corrupt or truncated gzip file ({reason})"
        raise TraceError(f"{path}:{line + 1}: cannot read the trace: {reason}") from None
