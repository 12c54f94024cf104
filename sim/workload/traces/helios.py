"""SenseTime Helios (SC'21) `cluster_log.csv`, one file per cluster (Earth, Saturn, Uranus, Venus).

Columns: job_id, user, vc, gpu_num, cpu_num, node_num, state, submit_time, start_time,
end_time, duration, queue. Times are `YYYY-MM-DD HH:MM:SS` with no zone: they are read as
written (the cluster's wall clock). vc → queue. Rules shared with Acme: see `joblog`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sim.workload.traces.common import Row, TraceInfo
from sim.workload.traces.joblog import read_log

NEEDED = ("job_id", "user", "vc", "gpu_num", "state", "submit_time", "start_time", "end_time")


def read(path: Path, info: TraceInfo | None = None) -> Iterator[Row | tuple[int, str]]:
    info = info if info is not None else TraceInfo()
    info.format = "helios"
    info.clock = "the cluster's wall clock as written (no time zone in the trace)"
    return read_log(path, info, queue_column="vc", needed=NEEDED)
