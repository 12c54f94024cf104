"""Checkpoint and restart accounting.

Without a `failures:` block (the only mode this version models) a job's checkpoint interval
is either fixed or `young`/`daly` with M = infinity, which writes no checkpoints. A fixed
interval T lengthens the run by the factor (1 + C/T), C = the checkpoint write time.
"""

from __future__ import annotations

import math

CHECKPOINT_WRITE_S = 60.0  # C, DESIGN default (ESTIMATE)
RESTART_OVERHEAD_S = 300.0  # R, DESIGN default (ESTIMATE)


def young_interval(write_s: float, mtbf_s: float) -> float:
    """Young (1974): T = sqrt(2 C M)."""
    return math.sqrt(2 * write_s * mtbf_s)


def daly_interval(write_s: float, mtbf_s: float) -> float:
    """Daly (2006): T = sqrt(2CM) [1 + (1/3) sqrt(C/2M) + (C/2M)/9] - C."""
    x = write_s / (2 * mtbf_s)
    return math.sqrt(2 * write_s * mtbf_s) * (1 + math.sqrt(x) / 3 + x / 9) - write_s


def checkpoint_interval(spec: float | str | None, mtbf_s: float = math.inf,
                        write_s: float = CHECKPOINT_WRITE_S) -> float:
    """The interval in seconds a job checkpoints at (infinity: never)."""
    if spec is None or (isinstance(spec, str) and math.isinf(mtbf_s)):
        return math.inf
    if spec == "young":
        return young_interval(write_s, mtbf_s)
    if spec == "daly":
        return daly_interval(write_s, mtbf_s)
    return float(spec)


def checkpoint_factor(interval_s: float, write_s: float = CHECKPOINT_WRITE_S) -> float:
    """How much longer checkpoint writes make a run: 1 + C/T."""
    return 1.0 if math.isinf(interval_s) else 1.0 + write_s / interval_s


def saved_work(work_elapsed_s: float, interval_s: float, write_s: float = CHECKPOINT_WRITE_S) -> float:
    """Of `work_elapsed_s` seconds of a run that checkpoints every `interval_s` (each write taking
    `write_s`), the seconds whose progress survives a stop: whole checkpoint cycles. Without
    checkpoints nothing survives (DESIGN: a preempted job loses all progress)."""
    if math.isinf(interval_s) or work_elapsed_s <= 0:
        return 0.0
    cycle = interval_s + write_s
    return math.floor(work_elapsed_s / cycle) * cycle
