"""Failures and repairs in the run (the processes themselves are `sim.failures`): one superposed
Poisson process per pool, redrawn when its up count changes (stale draws vanish by a generation
counter); a failed instance stops the jobs on it and is out of placement until its repair."""

from __future__ import annotations

import math
from collections.abc import Callable

from sim import failures
from sim.engine.capacity import PoolCapacity
from sim.engine.events import EventCore
from sim.engine.observers import PowerMeter
from sim.engine.recovery import Recovery


class FailureDriver:
    def __init__(self, processes: list[failures.PoolFailures], core: EventCore, cap: PoolCapacity,
                 meter: PowerMeter, restart_overhead: Callable[[int], float], work_left: Callable[[], bool],
                 stop: Callable[[int, float], None], settled: Callable[[], None],
                 recovery: Recovery | None = None):
        self.processes = processes
        self.core = core
        self.cap = cap
        self.meter = meter
        self.restart_overhead = restart_overhead  # of job j: what it pays when it restarts
        self._work_left = work_left  # without a horizon, failures stop after the last job
        self._stop = stop  # stop(job, overhead it pays when it restarts)
        self._settled = settled  # after a failure's stops: requeue, ask for a pass
        self.recovery = recovery  # failures.recovery other than requeue, or spares (sim.engine.recovery)
        self.failures = 0
        self.interruptions = 0  # job stops caused by failures
        self.requeues = 0  # ... that sent the job back to the queue (recovery None)
        self.events = 0  # failure and repair events handled (the engine adds them to its count)

    def start(self) -> None:
        for p in range(len(self.processes)):
            self._schedule(p)

    def _schedule(self, p: int) -> None:
        """(Re)draw pool p's next failure at its current up count; earlier draws become stale."""
        process = self.processes[p]
        process.generation += 1
        if not self._work_left():
            return
        gap = process.next_gap()
        if math.isinf(gap):
            return
        self.core.at(self.core.env._now + gap, self._fail, (p, process.generation))

    def _fail(self, ev) -> None:
        p, generation = ev._value
        process = self.processes[p]
        if generation != process.generation:
            return  # stale: the up count changed since this was drawn
        self.events += 1
        if not self._work_left():
            return
        i = process.fail()
        self.failures += 1
        recovery = self.recovery
        if recovery is None:
            for j in process.jobs_on(i):
                self.interruptions += 1
                self.requeues += 1
                self._stop(j, self.restart_overhead(j))
        else:
            recovery.instance_failing(p, i)
            for j in process.jobs_on(i):
                recovery.interrupt(p, i, j)
        self.cap.instance_down(p, i)
        self.meter.down(p, 1)
        self.core.at(self.core.env._now + process.repair_s, self._repair, (p, i))
        self._schedule(p)
        self._settled()

    def _repair(self, ev) -> None:
        p, i = ev._value
        self.events += 1
        self.cap.instance_up(p, i)
        self.meter.down(p, -1)
        if self.recovery is not None:
            self.recovery.repaired(p, i)
        self._schedule(p)
        self.core.request_pass()

    def counts(self) -> dict[str, int]:
        """The run's resilience counts for the summary."""
        r = self.recovery
        return {"interruptions": self.interruptions + (0 if r is None else r.interruptions),
                "requeues": self.requeues + (0 if r is None else r.requeues),
                "spare_swaps": 0 if r is None else r.spare_swaps,
                "domain_failures": 0}
