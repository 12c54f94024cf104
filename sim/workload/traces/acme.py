"""Shanghai AI Lab Acme (NSDI'24) `trace_seren.csv` / `trace_kalos.csv`: one row per job.

Columns used: job_id, user, gpu_num, type, state, submit_time, start_time, end_time (ISO
date-times with an offset; Seren's examples are +08:00 and Kalos's +00:00, so times are
normalised to UTC). `type` (Pretrain, SFT, Evaluation, Debug, Other) → queue. The run time
is end − start from the time stamps: Kalos's `duration` column is end − submit in the
published examples. Rules shared with Helios: see `joblog`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sim.workload.traces.common import Row, TraceInfo
from sim.workload.traces.joblog import read_log

NEEDED = ("job_id", "user", "gpu_num", "type", "state", "submit_time", "start_time", "end_time")


def read(path: Path, info: TraceInfo | None = None) -> Iterator[Row | tuple[int, str]]:
    info = info if info is not None else TraceInfo()
    info.format = "acme"
    info.clock = "UTC"
    return read_log(path, info, queue_column="type", needed=NEEDED)
