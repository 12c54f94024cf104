"""The engine: a short coordinator over its parts (docs/engine.md).

  - `events.EventCore`: simpy, timed callbacks, and the rule that the scheduling pass runs once
    per timestamp after every other event at it;
  - `ledger.Ledger`: every job's state, placement and progress, and its completion (pool clocks);
  - `capacity.PoolCapacity`: the pools' placement state, running sets and counters;
  - `observers`: the power meter and the time-series recorder;
  - `power_cap.PowerCap`: a facility power limit, held or met by throttling the pool clocks;
  - `installing.Installer`: pools that come online or retire during the run.

Events only at job state changes: a chain of arrival events (one per distinct submit time), one
completion per running stretch, failures and repairs, policy timers, and the pass. The engine
applies a policy's decisions (start, preempt, resize) as they are yielded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import cast

from sim import failures
from sim.engine.capacity import PoolCapacity
from sim.engine.events import EventCore, Timed
from sim.engine.failing import FailureDriver
from sim.engine.installing import Installer, idle_ahead
from sim.engine.ledger import Ledger, PoolClock
from sim.engine.observers import PowerMeter, SeriesRecorder
from sim.engine.offer import Offer
from sim.engine.plan import JobPlan, Outcome, PolicyError, PowerModel
from sim.engine.power_cap import PowerCap
from sim.engine.recovery import Recovery
from sim.engine.resizing import Resizer
from sim.placement import Allocation, PoolState
from sim.policies.base import (
    QUEUED,
    REJECTED,
    RUNNING,
    JobQueue,
    Policy,
    Preempt,
    QueueView,
    Resize,
    Start,
)


class Engine:
    def __init__(self, plan: JobPlan, pools: list[PoolState], policy: Policy,
                 place: Callable[[PoolState, int], Allocation | None], slowdown: Sequence[float],
                 power: PowerModel, horizon: float | None = None,
                 progress: Callable[[float, int, int, int], None] | None = None,
                 failing: list[failures.PoolFailures] | None = None,
                 restart_overhead: float | Callable[[int], float] = failures.RESTART_OVERHEAD_S,
                 variable_speed: Iterable[int] = (), power_cap: tuple[float, str, float] | None = None,
                 installs: Sequence[tuple[float, float | None]] | None = None,
                 recovery: str = "requeue", fallback: str = "requeue",
                 spares: Sequence[int] = (), domains: Sequence[failures.DomainFailures] = (),
                 recovery_of: dict[int, str] | None = None):
        """`power_cap`: (limit W, "hold" or "throttle", exponent); `installs`: per pool (online,
        retire or None), when pools are installed and retired during the run; `recovery`,
        `fallback`, `spares`, `domains`, `recovery_of`: what failures do (sim.engine.recovery)."""
        self.plan = plan
        self.policy = policy
        self.horizon = horizon
        self.progress = progress
        self.core = EventCore(self._pass)
        self._request_pass = self.core.request_pass
        variable = set(variable_speed)
        if power_cap is not None and power_cap[1] == "throttle":
            variable = set(range(len(pools)))  # one speed factor for every pool
        self.clocks = [PoolClock(p in variable) for p in range(len(pools))]
        scheduler = policy.scheduler
        self.ledger = L = Ledger(plan, self.core, self.clocks, self._finish,
                                 0.0 if scheduler is None else float(scheduler.preempt_overhead))
        self.meter = PowerMeter(power)
        self.cap = PoolCapacity(pools, place, tuple(slowdown), failing, self.meter)
        self.power_cap = None
        if power_cap is not None:
            self.power_cap = PowerCap(*power_cap, self.meter, L, [p.cpi for p in pools], self._now,
                                      None if installs is None else idle_ahead(installs, pools, self.meter.per_down))
        cap_ = self.power_cap
        self._throttle = None if cap_ is None or cap_.hold else cap_.throttle
        self._hold = cap_ if cap_ is not None and cap_.hold else None
        self.recorder = SeriesRecorder()
        self.n = len(plan.table.submit)
        self.pending = JobQueue()
        self.events = 0
        self.completed = 0
        self.queued = 0
        self.queued_chips = 0
        self._started: list[int] = []
        self._requeued: list[int] = []
        self._last_change = 0.0  # time of the last arrival or completion: the run's end without a horizon
        self._next_arrival = 0
        self._arrival_event = self.core.chained_event()
        self._arrive_callbacks = [self._arrive]
        # hot-path aliases of the parts' columns (shared lists, not copies)
        self._state = L.state
        self._submit = plan.table.submit
        self._chips = plan.table.chips
        self._job_pools = plan.table.pools
        self._chips_on = plan.chips_on
        self._tracks_queue = policy.tracks_queue
        self._tracks_running = policy.tracks_running
        self._elastic = plan.elastic or {}
        cap = self.cap
        self.offer = Offer(plan, self.core, L, cap, horizon, self._wake, self.power_cap)
        self.view = QueueView(self.offer, self.pending, L.state, plan.table, tuple(p.name for p in pools))
        self.resizer = Resizer(plan, self.core, L, cap, self.offer,
                               0.0 if scheduler is None else float(scheduler.resize_overhead))
        self.failing = None
        restart = restart_overhead if callable(restart_overhead) else (lambda _n, r=restart_overhead: r)
        healing = None  # spares are held out of placement even without failures
        if recovery != "requeue" or any(spares) or recovery_of:
            healing = Recovery(plan, L, cap, self.offer, self.resizer, recovery, fallback,
                               list(spares) or [0] * len(pools), restart, self._stop, recovery_of)
        if failing is not None:
            self.failing = FailureDriver(failing, self.core, cap, lambda j: restart(L.allocation(j).count),
                                         self._work_left, self._stop, self._failed, healing, domains)
        self.installer = None if installs is None else Installer(
            list(installs), self.core, cap, self.meter, self._preempt, self._failed)

    # --- arrivals -----------------------------------------------------------------------------
    def _arrive(self, _ev: Timed) -> None:
        self.events += 1
        submit = self._submit
        lo = self._next_arrival
        hi = lo + 1
        n = self.n
        while hi < n and submit[hi] == submit[lo]:
            hi += 1
        rejected = self.plan.rejected
        chips = self._chips
        state = self._state
        pending = self.pending
        tracks = self._tracks_queue
        for j in range(lo, hi):
            if rejected[j]:
                state[j] = REJECTED
                continue
            state[j] = QUEUED
            pending.add(j)
            self.queued += 1
            self.queued_chips += chips[j]
            if tracks:
                self.policy.enqueued(j)
        self._next_arrival = hi
        self._last_change = self.core.env._now
        if hi < n:
            self.core.reuse(self._arrival_event, self._arrive_callbacks, submit[hi])
        self._request_pass()

    # --- the scheduling pass ------------------------------------------------------------------
    def _pass(self, _ev: Timed | None) -> None:
        self.events += 1
        if self.queued:  # = len(self.pending) between passes, without a call
            start = self._start
            for decision in self.policy.schedule(self.view):
                kind = type(decision)
                if kind is Start:  # type() and `is`: faster than isinstance on the hot path
                    s = cast(Start, decision)
                    start(s[0], s[1], s[2], s[3])
                elif kind is Preempt:
                    self._preempt(decision[0])
                elif kind is Resize:
                    r = cast(Resize, decision)
                    self.resizer.resize(r[0], r[1])
                else:
                    raise PolicyError(f"unknown decision {decision!r}")
            started = self._started
            if started:
                remove = self.pending.remove
                for j in started:
                    remove(j)
                started.clear()
            if self._requeued:
                self._requeue()
        elif self._elastic and self.cap.running_jobs:
            for decision in self.policy.schedule(self.view):  # an empty queue: elastic jobs may grow
                if type(decision) is not Resize:
                    raise PolicyError(f"policy decided {decision!r} with nothing queued")
                self.resizer.resize(decision[0], decision[1])
        if self._throttle is not None:
            self._throttle()
        self.recorder.observe(self)
        if self.progress is not None and not self.events & 8191:
            self.progress(self.core.env._now, self.completed, self.n, self.events)

    def _wake(self) -> None:
        if self.queued or self.cap.running_jobs:
            self.events += 1
            self.core.request_pass()

    # --- applying decisions -------------------------------------------------------------------
    def _start(self, j: int, p: int, given: Allocation | None = None, size: int | None = None) -> None:
        L = self.ledger
        if self._state[j] != QUEUED:
            raise PolicyError(f"policy started job {j} which is not queued")
        pools = self._job_pools[j]
        if pools[0] == p:
            k = 0
        elif p in pools:
            k = pools.index(p)
        else:
            raise PolicyError(f"policy started job {j} on pool {p}, which it does not accept")
        chips = self._chips_on[j][k]
        run_scale = 1.0
        if size is not None and size != chips:
            run_scale = self.resizer.scale(j, p, chips, size)
            chips = size
        cap = self.cap
        alloc, n_chips = cap.take(j, p, chips, given)
        tier = alloc.tier
        slow = 1.0 if tier == 0 else cap.slowdown_at(cap.pools[p], tier, chips)
        plan = self.plan
        full = plan.run_on[j][k] * slow
        if run_scale != 1.0:
            full *= run_scale
        if self._elastic and j in self._elastic:
            L.used[j] = chips
        limits = plan.limit_on[j]
        if self._hold is not None and not self._hold.fits(0.0):  # the job's watts are counted by now
            raise PolicyError(f"policy started job {j} on pool {cap.pools[p].name} above the power cap "
                              "(cluster.power_cap.mode: hold)")
        L.open(j, p, alloc, n_chips, tier, slow, full, None if limits is None else limits[k] * slow,
               plan.final_state[j])
        if self._requeued and j in self._requeued:
            self._requeued.remove(j)  # stopped and started again in this pass: it never left the queue's place
        else:
            self._started.append(j)
        L.est_end[j] = self.core.env._now + plan.estimate_on[j][k] * slow * run_scale
        if self._tracks_queue:
            self.policy.dequeued(j)
        self.queued -= 1
        self.queued_chips -= self._chips[j]

    def _preempt(self, j: int) -> None:
        if self._state[j] != RUNNING:
            raise PolicyError(f"policy preempted job {j}, which is not running")
        self._stop(j)
        self.ledger.preemptions[j] = self.ledger.preemptions.get(j, 0) + 1

    def _stop(self, j: int, overhead_next: float | None = None) -> None:
        """Stop running job j (preempted, or killed by a failure): it keeps the work up to its
        last checkpoint, gives back its chips and requeues."""
        L = self.ledger
        L.stop(j)
        self._free(j)
        L.requeued(j, overhead_next)
        self.queued += 1
        self.queued_chips += self._chips[j]
        if j in self._started:  # started and stopped in this very pass: still in the queue
            self._started.remove(j)
        else:
            self._requeued.append(j)
        if self._tracks_queue:
            self.policy.enqueued(j)

    def _requeue(self) -> None:
        """Put stopped jobs back in the queue in submission order (they keep their submit time)."""
        add = self.pending.add
        for j in self._requeued:
            add(j)
        self._requeued.clear()

    def _free(self, j: int) -> None:
        """Running job j (ended or stopped) gives back its chips and is counted out."""
        L = self.ledger
        p = L.pool[j]
        n_chips = L.chips_allocated[j]
        self.cap.give_back(j, p, L.allocation(j), n_chips)
        L.alloc[j] = None

    def _finish(self, ev: Timed) -> None:
        """Job j reaches the end of its work: value (j, generation, final state); a stale
        generation (stopped, restarted or re-timed since) does nothing."""
        j, gen, final = ev._value
        if gen != self.ledger.gen[j]:
            return
        self.events += 1
        self._free(j)
        self._state[j] = final
        self.ledger.end[j] = self._last_change = self.core.env._now
        self.completed += 1
        if self._tracks_running:
            self.policy.ended(j)
        self._request_pass()

    # --- failures (sim.engine.failing) ---------------------------------------------------------
    def _work_left(self) -> bool:
        """Whether anything can still happen to jobs: without a horizon, failures stop after the
        last job (a horizon keeps them going to the end of the window, which it defines)."""
        return (self.horizon is not None or self._next_arrival < self.n or self.queued > 0
                or self.cap.running_jobs > 0 or bool(self._requeued))

    def _failed(self) -> None:
        """A failure stopped the jobs on its instance: requeue them and ask for a pass."""
        if self._requeued:
            self._requeue()
        self.core.request_pass()

    def _now(self) -> float:
        return self.core.env._now

    # --- recording and the run ----------------------------------------------------------------
    def run(self) -> Outcome:
        self.policy.bind(self.view)
        self.recorder.observe(self)
        if self.n:
            self.core.reuse(self._arrival_event, self._arrive_callbacks, self._submit[0])
        if self.failing is not None:
            self.failing.start()
        reached = self.core.run(self.horizon)
        if self.horizon is not None:
            self.recorder.observe(self)
        end_time = reached if self.horizon is not None else self._last_change
        if self.progress is not None:
            self.progress(reached, self.completed, self.n, self.events)
        failing = self.failing
        events = self.events + (0 if failing is None else failing.events)
        return self.ledger.outcome(self.recorder.series(), end_time, events, 0 if failing is None else failing.failures,
                                   None if failing is None else failing.counts())
