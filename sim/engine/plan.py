"""What the engine is given (the job plan, the power model) and what it returns (the outcome).

Plain data, shared by the engine's parts (docs/engine.md describes them).
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from sim import failures
from sim.names import COMPLETED, FAILED, JOB_STATES, KILLED
from sim.policies.base import JobTable

NOT_ARRIVED = -1
FINAL_STATE = {JOB_STATES[code]: code for code in (COMPLETED, FAILED, KILLED)}  # a trace row's status


class PolicyError(RuntimeError):
    """A policy asked for something impossible (a bug in the policy): the run fails."""


@dataclass(frozen=True)
class Elastic:
    """An elastic job's size range and scaling, in chips of the reference accelerator.

    At n chips the job runs at speed (n / chips) ** scaling, `chips` being the size its duration
    is measured at; a resize costs `scheduler.resize_overhead` of no progress and loses no work.
    """

    min: int
    max: int
    scaling: float = 1.0


@dataclass
class JobPlan:
    """What the engine needs per job, worked out against this cluster (see sim.run)."""

    table: JobTable
    rejected: list[bool]
    chips_on: list[tuple[int, ...]]  # chips on each accepted pool (aligned with table.pools)
    run_on: list[tuple[float, ...]]  # run time at ideal placement on each pool, checkpoints included
    estimate_on: list[tuple[float, ...]]  # what the scheduler expects run_on to be (scheduler.estimate)
    limit_on: list[tuple[float, ...] | None]  # kill_at_limit run-time limits, or None
    final_state: list[int]  # state a job ends in when it runs to the end (trace status)
    checkpoint_s: list[float] | None = None  # checkpoint interval per job (inf: none); None: no job has one
    checkpoint_write_s: float = failures.CHECKPOINT_WRITE_S  # C: what one checkpoint write takes
    elastic: dict[int, Elastic] | None = None  # job -> its size range, for elastic jobs only


@dataclass
class PowerModel:
    """Facility watts = base + sum over pools of busy chips x per_busy_chip[pool]; None if unknown.

    The series holds -1 where power is unknown (a sentinel that compares equal to itself).
    """

    base_w: float | None
    per_busy_chip_w: Sequence[float]
    per_down_instance_w: Sequence[float] = ()  # what an idle instance draws, which a down one does not


# The columns of `Outcome.earlier`: one row per stretch on chips that ended before the job's last one
# (cut short by a preemption, a failure or a resize), stored row after row in one flat array of doubles.
# Read them by name (`Outcome.stretches`).
STRETCH_COLUMNS = ("job", "start", "end", "chips_allocated", "lost_s", "overhead_s", "chips_used", "pool")


@dataclass
class Outcome:
    """The job ledger at the end of the run, as named columns (index = job number)."""

    state: list[int]
    start: list[float]  # first start
    end: list[float]
    pool: list[int]
    chips_allocated: list[int]  # in the last stretch
    sizes: dict[int, int]  # elastic jobs: chips each ran at in its last stretch (others: their request)
    tier: list[int]
    slowdown: list[float]
    series: dict[str, np.ndarray]
    end_time: float
    events: int
    segment_start: list[float]  # start of each job's current (last) stretch on chips
    earlier: array  # earlier stretches, STRETCH_COLUMNS, flat (row after row) doubles
    preemptions: list[int]
    restarts: list[int]
    resizes: list[int]
    last_overhead: list[float]  # overhead paid at the start of each job's last stretch
    failures: int = 0
    resilience: dict[str, int] = field(default_factory=dict)  # domain_failures, interruptions, requeues, spare_swaps

    def stretches(self) -> dict[str, np.ndarray]:
        """The earlier stretches as numpy columns by name (STRETCH_COLUMNS)."""
        table = np.frombuffer(self.earlier, dtype=float).reshape(-1, len(STRETCH_COLUMNS))
        return {name: table[:, i] for i, name in enumerate(STRETCH_COLUMNS)}
