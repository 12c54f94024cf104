"""Failures and repairs in the run (the processes themselves are `sim.failures`): one superposed
Poisson process per pool, redrawn when its up count changes (stale draws vanish by a generation
counter); a failed instance stops the jobs on it and is out of placement until its repair.

Failure domains (`failures.domains`) add one process per pool and tier over its up domains; a
domain failure takes every up instance of the domain down at once. An instance down for two
reasons (its own failure and its domain's) comes back when both are repaired: a count per down
instance. What a failure does to its jobs is `failures.recovery` (sim.engine.recovery).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from sim import failures
from sim.engine.capacity import PoolCapacity
from sim.engine.events import EventCore, Timed
from sim.engine.recovery import Recovery
from sim.names import SPARE_TIERS


class FailureDriver:
    def __init__(self, processes: list[failures.PoolFailures], core: EventCore, cap: PoolCapacity,
                 restart_overhead: Callable[[int], float], work_left: Callable[[], bool],
                 stop: Callable[[int, float], None], settled: Callable[[], None],
                 recovery: Recovery | None = None, domains: Sequence[failures.DomainFailures] = ()):
        self.processes = processes
        self.domains = list(domains)
        self.core = core
        self.cap = cap
        self.restart_overhead = restart_overhead  # of job j: what it pays when it restarts
        self._work_left = work_left  # without a horizon, failures stop after the last job
        self._stop = stop  # stop(job, overhead it pays when it restarts)
        self._settled = settled  # after a failure's stops: requeue, ask for a pass
        self.recovery = recovery  # failures.recovery other than requeue, or spares (sim.engine.recovery)
        self.down_count: list[dict[int, int]] = [{} for _ in processes]  # pool -> {down instance: reasons}
        self.failures = 0
        self.domain_failures = 0
        self.interruptions = 0  # job stops caused by failures
        self.requeues = 0  # ... that sent the job back to the queue (recovery None)
        self.events = 0  # failure and repair events handled (the engine adds them to its count)

    def start(self) -> None:
        for p in range(len(self.processes)):
            self._schedule(p)
        for d in range(len(self.domains)):
            self._schedule_domain(d)

    def _schedule(self, p: int) -> None:
        """(Re)draw pool p's next failure at its current up count; earlier draws become stale."""
        self._draw(self.processes[p], self._fail, p)

    def _schedule_domain(self, d: int) -> None:
        self._draw(self.domains[d], self._fail_domain, d)

    def _draw(self, process: failures.Superposed, callback: Callable, key: int) -> None:
        process.generation += 1
        if not self._work_left():
            return
        gap = process.next_gap()
        if math.isinf(gap):
            return
        self.core.at(self.core.env._now + gap, callback, (key, process.generation))

    def _fail(self, ev: Timed) -> None:
        p, generation = ev._value
        process = self.processes[p]
        if generation != process.generation:
            return  # stale: the up count changed since this was drawn
        self.events += 1
        if not self._work_left():
            return
        if not self.cap.installed[p]:  # not online yet, or retired: nothing to fail
            self._schedule(p)
            return
        i = process.fail()
        self.failures += 1
        if self.recovery is not None:
            self.recovery.instance_failing(p, i)
        self._down(p, i)
        self.down_count[p][i] = 1
        self.core.at(self.core.env._now + process.repair_s, self._repair, (p, i))
        self._schedule(p)
        self._settled()

    def _down(self, p: int, i: int) -> None:
        """Up instance i of pool p goes down: the jobs on it stop or recover, nothing is placed on it."""
        recovery = self.recovery
        if recovery is None:
            for j in self.processes[p].jobs_on(i):
                self.interruptions += 1
                self.requeues += 1
                self._stop(j, self.restart_overhead(j))
        else:
            for j in self.processes[p].jobs_on(i):
                recovery.interrupt(p, i, j)
        self.cap.instance_down(p, i)

    def _fail_domain(self, ev: Timed) -> None:
        d, generation = ev._value
        domain = self.domains[d]
        if generation != domain.generation:
            return
        self.events += 1
        if not self._work_left():
            return
        k = domain.fail()
        self.domain_failures += 1
        p = domain.pool
        process = self.processes[p]
        count = self.down_count[p]
        lo, hi = domain.ranges[k]
        newly = [i for i in range(lo, hi) if i not in count]
        for i in newly:  # first out of the process and the spares, so no job is swapped onto them
            process.take(i)
            if self.recovery is not None:
                self.recovery.instance_failing(p, i)
        for i in newly:
            self._down(p, i)
        for i in range(lo, hi):
            count[i] = count.get(i, 0) + 1
        self.core.at(self.core.env._now + domain.repair_s, self._repair_domain, (d, k))
        self._schedule_domain(d)
        self._schedule(p)
        self._settled()

    def _repair(self, ev: Timed) -> None:
        p, i = ev._value
        self.events += 1
        if self._up(p, i):
            self._schedule(p)
            self.core.request_pass()

    def _repair_domain(self, ev: Timed) -> None:
        d, k = ev._value
        self.events += 1
        domain = self.domains[d]
        domain.repaired(k)
        lo, hi = domain.ranges[k]
        up = [self._up(domain.pool, i) for i in range(lo, hi)]
        self._schedule_domain(d)
        if any(up):
            self._schedule(domain.pool)
        self.core.request_pass()

    def _up(self, p: int, i: int) -> bool:
        """One reason instance i of pool p was down is repaired; True if it is up again."""
        count = self.down_count[p]
        left = count[i] - 1
        if left:
            count[i] = left
            return False
        del count[i]
        if not self.cap.instance_up(p, i):
            return False  # its pool retired meanwhile: it stays out
        if self.recovery is not None:
            self.recovery.repaired(p, i)
        return True

    def counts(self) -> dict[str, int]:
        """The run's resilience counts for the summary."""
        r = self.recovery
        return {"interruptions": self.interruptions + (0 if r is None else r.interruptions),
                "requeues": self.requeues + (0 if r is None else r.requeues),
                "spare_swaps": 0 if r is None else r.spare_swaps,
                **{f"spare_swaps_{tier}": 0 if r is None else r.swap_tiers[k]
                   for k, tier in enumerate(SPARE_TIERS, start=1)},
                "domain_failures": self.domain_failures}
