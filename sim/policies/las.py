"""Tiresias's discretised two-dimensional least-attained-service (2D-LAS), with promotion.

Gu et al., "Tiresias: A GPU cluster manager for distributed deep learning" (NSDI 2019). A job's
attained service is chips x executed seconds, summed over its stretches on chips (the engine's
count, read from the view). Queues are separated by thresholds of attained service (`thresholds`,
chip-hours): a job starts in the top queue and moves down one queue each time its attained service
crosses the next threshold — a crossing is a scheduled timer, not a poll. Within a queue, jobs go
by submission time (FIFO). Across queues the policy is preemptive: a queued job that fits nowhere
may stop running jobs of lower queues (the lowest queue first, then the most recently started; as
few as make room, checked with the real placement). Jobs that cannot start are skipped, not waited
for, so small jobs of a queue use capacity a big one cannot. To stop starvation, a queued job that
has waited longer than `promote_knob` x its last executed span goes back to the top queue; the
promotion deadline is a timer too. `promote_knob: 0` turns promotion off. One departure from
Tiresias: there a preempted job keeps its progress, here it loses the work since its last
checkpoint (docs/architecture.md), so a promoted job stays in the top queue until it ends — were it
demoted again, jobs without checkpoints could preempt one another in turn forever, none finishing.

Defaults (ESTIMATE, printed with the run): thresholds 3.2 and 32 chip-hours (three queues; 3.2
is Tiresias's 48 minutes on 4 GPUs), promote_knob 8.

Cost: O(log q) per arrival, start and requeue to keep the order; per pass O(log n) per threshold
crossing or promotion due, plus the queued jobs scanned (at most `backfill_depth`, and the scan
stops once no chip is free and no running job sits in a lower queue), plus, for each scanned job
that must preempt, one projection copy and O(r) for the r jobs running on its pools.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Iterator
from functools import partial
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sortedcontainers import SortedList

from sim.policies.base import Decision, Policy, QueueView, Start, register
from sim.policies.preemption import preempt_to_start

DEFAULT_THRESHOLDS_CHIP_H = (3.2, 32.0)
DEFAULT_PROMOTE_KNOB = 8.0


class LasOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    thresholds: list[float] = Field(list(DEFAULT_THRESHOLDS_CHIP_H), min_length=1, description=(
        "Attained service (chip-hours) at which a job moves down to the next queue, increasing."))
    promote_knob: float = Field(DEFAULT_PROMOTE_KNOB, ge=0, description=(
        "A queued job waiting longer than this x its last executed span returns to the top queue (0: never)."))

    @field_validator("thresholds")
    @classmethod
    def _increasing(cls, value: list[float]) -> list[float]:
        if any(t <= 0 for t in value) or any(b <= a for a, b in zip(value, value[1:], strict=False)):
            raise ValueError("thresholds must be positive and increasing (chip-hours)")
        return value


@register
class DiscretisedLas(Policy):
    name = "las"
    Options = LasOptions
    tracks_queue = True
    tracks_running = True
    options: LasOptions
    view: QueueView  # set by `bind`, before the engine calls any hook

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._thresholds = [t * 3600.0 for t in self.options.thresholds]  # chip-seconds
        self._knob = self.options.promote_knob
        self._order: SortedList = SortedList()  # (queue level, job) of queued jobs
        self._level: dict[int, int] = {}  # current queue of every queued or running job
        self._where: dict[int, tuple[int, int]] = {}  # running job -> (its pool, chips it holds)
        self._held: list[dict[int, int]] = [{} for _ in range(len(self._thresholds) + 1)]  # level -> pool -> chips
        self._promoted: set[int] = set()  # in the top queue until they end
        # (pool, level) -> ((pool version, demotions), fewest chips that preempting could not place)
        self._failed: dict[tuple[int, int], tuple[tuple[int, int], int]] = {}
        self._demotions = 0
        self._running: list[dict[int, None]] = [{} for _ in range(len(self._thresholds) + 1)]  # per level
        # timers, stamped with the job's restarts when set (a restart since makes them stale):
        self._crossings: list[tuple[float, int, int, float]] = []  # (time, job, restarts, attained at its start)
        self._promotions: list[tuple[float, int, int]] = []  # (time, job, restarts)

    def assumptions(self) -> list[str]:
        return [f"LAS queue thresholds {', '.join(f'{t:g}' for t in self.options.thresholds)} chip-hours, "
                f"promote_knob {self._knob:g} (ESTIMATE; Tiresias, NSDI 2019)"]

    def level_of(self, attained: float) -> int:
        return bisect_right(self._thresholds, attained)

    # --- queue bookkeeping (engine callbacks) ---------------------------------------------------
    # Attained service, the last start and restarts are the engine's (read from the view); the
    # policy keeps only its queues: each job's level, and the chips held per level and pool.
    def enqueued(self, job: int) -> None:
        view = self.view
        now = view.now
        level = self._level.get(job, 0)
        span = 0.0
        if job in self._where:  # it was running: preempted, or killed by a failure
            span = now - view.last_start(job)
            self._stop_running(job, level)
            if job not in self._promoted:
                level = max(level, self.level_of(view.attained(job)))
        self._level[job] = level
        self._order.add((level, job))
        if level > 0 and self._knob > 0 and span > 0:
            heapq.heappush(self._promotions, (now + self._knob * span, job, view.restarts(job)))

    def dequeued(self, job: int) -> None:
        self._order.remove((self._level[job], job))

    def ended(self, job: int) -> None:
        self._stop_running(job, self._level.pop(job))
        self._promoted.discard(job)

    def _leave_level(self, job: int, level: int) -> None:
        """Running `job` no longer counts in queue `level` (it stopped, or moves down)."""
        del self._running[level][job]
        pool, chips = self._where[job]
        self._held[level][pool] -= chips

    def _stop_running(self, job: int, level: int) -> None:
        self._leave_level(job, level)
        del self._where[job]

    def _run_at(self, job: int, level: int) -> None:
        self._running[level][job] = None
        held = self._held[level]
        pool, chips = self._where[job]
        held[pool] = held.get(pool, 0) + chips

    def _started(self, view: QueueView, job: int, pool: int) -> None:
        level = self._level[job]
        self._where[job] = (pool, view.allocation(job).chips)
        self._run_at(job, level)
        self._push_crossing(job, level, view.now, view.restarts(job), view.attained(job))

    def _push_crossing(self, job: int, level: int, now: float, restarts: int, before: float) -> None:
        """The time running `job` crosses queue `level`'s threshold; `before`: its attained service
        when this stretch started."""
        if level >= len(self._thresholds) or job in self._promoted:
            return
        chips = self._where[job][1]
        held = (now - self.view.last_start(job)) * chips
        left = self._thresholds[level] - before - held
        heapq.heappush(self._crossings, (now + max(0.0, left) / chips, job, restarts, before))

    # --- timers ---------------------------------------------------------------------------------
    def _demote_due(self, now: float) -> None:
        crossings = self._crossings
        restarts = self.view.restarts
        while crossings and crossings[0][0] <= now:
            _, job, stamp, before = heapq.heappop(crossings)
            if job not in self._where or restarts(job) != stamp:
                continue  # it ended or stopped since
            level = self._level[job]
            self._demotions += 1
            self._leave_level(job, level)
            self._level[job] = level + 1
            self._run_at(job, level + 1)
            self._push_crossing(job, level + 1, now, stamp, before)

    def _promote_due(self, now: float) -> None:
        promotions = self._promotions
        restarts = self.view.restarts
        while promotions and promotions[0][0] <= now:
            _, job, stamp = heapq.heappop(promotions)
            if job in self._where or job not in self._level or restarts(job) != stamp:
                continue  # it started since, or ended
            self._order.remove((self._level[job], job))
            self._level[job] = 0
            self._promoted.add(job)
            self._order.add((0, job))

    # --- the pass -------------------------------------------------------------------------------
    def schedule(self, view: QueueView) -> Iterator[Decision]:
        now = view.now
        self._demote_due(now)
        self._promote_due(now)
        pools_of = view.jobs.pools
        n_pools = len(view.pool_names)
        depth = self.backfill_depth
        order = self._order
        no_fit: dict[int, int] = {}  # pool -> fewest chips that did not fit this pass (starts only shrink room)
        where = self._where
        failed = self._failed
        held = self._held
        levels = len(held)
        lower_by_level = self._lower_running()
        free = view.free_chips
        any_free = any(free(p) for p in range(n_pools))
        for level, job in list(order.islice(0, depth)):  # jobs preempted in this pass wait for the next
            if job in where:
                continue  # started in this pass
            lower = lower_by_level[level]
            if not lower and not any_free:
                break  # no chip free and nobody to preempt: no later job (same or lower queue) can start
            pool = None
            for p in pools_of[job]:
                chips = view.chips_on(job, p)
                if chips < no_fit.get(p, chips + 1):
                    if view.can_place(job, p):
                        pool = p
                        break
                    no_fit[p] = chips
            if pool is not None:
                yield Start(job, pool)
                self._started(view, job, pool)
                any_free = any(free(p) for p in range(n_pools))
                continue
            if not lower:
                continue
            admitted = []  # admission: pools where stopping lower jobs could make room (trying changes none of it)
            for p in pools_of[job]:
                chips = view.chips_on(job, p)
                seen = failed.get((p, level))
                if seen is not None and seen[0] == (view.pool_version(p), self._demotions) and chips >= seen[1]:
                    continue  # nothing ran, ended or moved queue since preemption could not place fewer chips
                if view.free_chips(p) + sum(held[k].get(p, 0) for k in range(level + 1, levels)) >= chips:
                    admitted.append(p)  # else even stopping every lower job would not make room
            if not admitted:
                continue
            pool = yield from preempt_to_start(view, job, admitted, partial(self._victim_order, view, level),
                                               partial(self._no_room, view, job, level))
            if pool is not None:
                self._started(view, job, pool)
                no_fit.pop(pool, None)  # the victims may have left room beyond what the job took
                any_free = any(free(p) for p in range(n_pools))
                lower_by_level = self._lower_running()
        if self._crossings:
            view.wake_at(self._crossings[0][0])
        if self._promotions:
            view.wake_at(self._promotions[0][0])

    def _lower_running(self) -> list[bool]:
        """Per queue level: is any job running in a lower queue (one it could preempt)?"""
        running = self._running
        return [any(running[k] for k in range(level + 1, len(running))) for level in range(len(running))]

    def _victim_order(self, view: QueueView, level: int, pool: int) -> list[int]:
        """Ordering: running jobs on `pool` in queues below `level`, the lowest queue first, then the
        most recently started."""
        out = []
        where = self._where
        last_start = view.last_start
        for k in range(len(self._running) - 1, level, -1):
            on_pool = [j for j in self._running[k] if where[j][0] == pool]
            on_pool.sort(key=lambda j: -last_start(j))
            out.extend(on_pool)
        return out

    def _no_room(self, view: QueueView, job: int, level: int, pool: int) -> None:
        """Preempting could not place `job` on `pool`: skip it for jobs as large until something changes."""
        self._failed[(pool, level)] = ((view.pool_version(pool), self._demotions), view.chips_on(job, pool))
