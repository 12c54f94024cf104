"""`trnsim trace convert`: any importer's rows written as the neutral job table, streaming."""

from __future__ import annotations

import csv
import gzip
import io
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.workload import traces
from sim.workload.traces.common import TraceInfo
from sim.workload.traces.csv import COLUMNS, format_row


@dataclass
class Converted:
    rows: int = 0
    skipped: int = 0
    repaired: int = 0
    wall_s: float = 0.0
    info: TraceInfo = field(default_factory=TraceInfo)


def convert(path: Path, fmt: str, out: Path, *, on_skip: Callable[[int, str], None] | None = None,
            progress: Callable[[int], None] | None = None, **options: Any) -> Converted:
    """Write trace `path` (format `fmt`) to `out` as the neutral table (gzip if `out` ends in .gz).

    The file appears only when complete (written beside it, then renamed). `on_skip(line,
    reason)` is called for each unusable row; it may raise to stop the conversion.
    """
    from sim.outdir import clean_stale, temp_prefix

    result = Converted()
    clean_stale(out.parent)
    tmp = out.with_name(temp_prefix(out.name) + "tmp")
    t0 = time.perf_counter()
    try:
        raw = gzip.open(tmp, "wb", compresslevel=6) if out.name.endswith(".gz") else open(tmp, "wb")
        with io.TextIOWrapper(raw, encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(COLUMNS)
            n = 0
            for r in traces.read(path, fmt, result.info, **options):
                n += 1
                if progress is not None and n % 100_000 == 0:
                    progress(n)
                if isinstance(r, tuple):
                    result.skipped += 1
                    if on_skip is not None:
                        on_skip(*r)
                    continue
                result.rows += 1
                if r.repair is not None:
                    result.repaired += 1
                writer.writerow(format_row(r))
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    result.wall_s = time.perf_counter() - t0
    return result
