"""Trace importers. Each yields rows of the neutral job table with their line numbers, or
(line, reason) for a row it cannot use; see `common` for the contract."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sim.workload.traces.common import Row, TraceError, TraceInfo

FORMATS = ("csv", "swf", "alibaba2023", "philly", "pai2020", "helios", "acme")

__all__ = ["FORMATS", "Row", "TraceError", "TraceInfo", "read"]


def read(path: Path, fmt: str, info: TraceInfo | None = None, **options: Any) -> Iterator[Row | tuple[int, str]]:
    """Rows of trace `path` in format `fmt` (options: `keep_survivors` for alibaba2023,
    `tasks` for pai2020; an option another format does not take is ignored if unset)."""
    if fmt not in FORMATS:
        raise TraceError(f"unknown trace format {fmt!r} (known: {', '.join(FORMATS)})")
    module = importlib.import_module(f"sim.workload.traces.{fmt}")
    given = {k: v for k, v in options.items() if v not in (None, False)}
    return module.read(Path(path), info, **given)
