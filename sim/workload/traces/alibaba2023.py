"""Alibaba GPU cluster trace v2023 ("openb" pod lists, FGD paper, ATC'23): one row per pod.

Columns: name, cpu_milli, memory_mib, num_gpu, gpu_milli, gpu_spec, qos, pod_phase,
creation_time, deletion_time, scheduled_time (seconds from the start of the trace).

The file lists the pods alive in its last weeks, including long-lived pods created long
before: by default only pods created at or after the earliest deletion time in the file are
arrivals (9,964,972 s in the published trace); older ones are survivors, skipped and counted
(`keep_survivors=True` keeps them). Pods never scheduled (empty scheduled_time) and CPU-only
pods (num_gpu 0) are skipped and counted. A GPU share (num_gpu 1, gpu_milli < 1000) becomes
one chip, counted as repaired. qos → queue; pod_phase Failed → failed, others completed.
Submit = creation_time, recorded wait = scheduled − creation, duration = deletion − scheduled
(the 34 pods still running at the end of the published trace end there).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from pathlib import Path

from sim.workload.traces.common import Row, TraceError, TraceInfo, number, open_text

NEEDED = ("name", "num_gpu", "gpu_milli", "qos", "pod_phase", "creation_time", "deletion_time", "scheduled_time")

SURVIVOR = "survivor (created before the earliest deletion time)"
UNSCHEDULED = "never scheduled (empty scheduled_time)"
CPU_ONLY = "CPU-only pod (num_gpu 0)"


def _columns(reader: Iterator[list[str]], path: Path) -> dict[str, int]:
    header = next(reader, None)
    if not header:
        raise TraceError(f"{path}: empty file (expected the openb header {','.join(NEEDED)})")
    header = [h.strip() for h in header]
    missing = [c for c in NEEDED if c not in header]
    if missing:
        raise TraceError(f"{path}:1: missing column(s) {', '.join(missing)} (not an openb pod list?)")
    return {name: header.index(name) for name in NEEDED}


def earliest_deletion(path: Path) -> float:
    """The earliest deletion_time in the file (first pass)."""
    with open_text(path) as fh:
        reader = csv.reader(fh)
        at = _columns(reader, path)["deletion_time"]
        earliest = math.inf
        for fields in reader:
            if len(fields) > at:
                try:
                    t = float(fields[at])
                except ValueError:
                    continue
                if t < earliest:
                    earliest = t
    return earliest


def read(path: Path, info: TraceInfo | None = None, *, keep_survivors: bool = False
         ) -> Iterator[Row | tuple[int, str]]:
    info = info if info is not None else TraceInfo()
    info.format = "alibaba2023"
    info.clock = "seconds from the start of the trace (no calendar date)"
    cutoff = -math.inf if keep_survivors else earliest_deletion(path)
    if not keep_survivors and math.isfinite(cutoff):
        info.notes.append(f"arrivals: pods created at or after the earliest deletion time, {cutoff:,.0f} s")
    with open_text(path) as fh:
        reader = csv.reader(fh)
        at = _columns(reader, path)
        width = max(at.values()) + 1
        for fields in reader:
            line = reader.line_num
            if not fields:
                continue
            if len(fields) < width:
                yield line, f"{len(fields)} fields (an openb pod row has 11)"
                continue
            try:
                row = _parse(fields, at, line, cutoff)
            except ValueError as exc:
                yield line, str(exc)
                continue
            yield row


def _parse(f: list[str], at: dict[str, int], line: int, cutoff: float) -> Row | tuple[int, str]:
    name = f[at["name"]].strip()
    if not name:
        raise ValueError("name is empty")
    created = number(f[at["creation_time"]], "creation_time", minimum=0)
    deleted = number(f[at["deletion_time"]], "deletion_time", minimum=0)
    if created < cutoff:
        return line, SURVIVOR
    scheduled_text = f[at["scheduled_time"]].strip()
    if not scheduled_text:
        return line, UNSCHEDULED
    scheduled = number(scheduled_text, "scheduled_time", minimum=0)
    gpus = number(f[at["num_gpu"]], "num_gpu", minimum=0)
    if gpus == 0:
        return line, CPU_ONLY
    if scheduled < created:
        raise ValueError(f"scheduled_time {scheduled_text} is before creation_time")
    if deleted < scheduled:
        raise ValueError(f"deletion_time {f[at['deletion_time']].strip()} is before scheduled_time")
    repair = None
    milli_text = f[at["gpu_milli"]].strip()
    if gpus == 1 and milli_text:
        milli = number(milli_text, "gpu_milli", minimum=0)
        if milli < 1000:
            repair = f"GPU share (gpu_milli {milli_text}) counted as one chip"
    phase = f[at["pod_phase"]].strip()
    return Row(line, name, created, gpus, deleted - scheduled, None, None, f[at["qos"]].strip() or None, 0,
               None, None, "failed" if phase == "Failed" else "completed", scheduled - created, repair)
