"""Tiresias's discretised two-dimensional least-attained-service (2D-LAS), with promotion.

Gu et al., "Tiresias: A GPU cluster manager for distributed deep learning" (NSDI 2019). A job's
attained service is chips x executed seconds, summed over its stretches on chips. Queues are
separated by thresholds of attained service (`thresholds`, chip-hours): a job starts in the top
queue and moves down one queue each time its attained service crosses the next threshold — a
crossing is a scheduled timer, not a poll. Within a queue, jobs go by submission time (FIFO).
Across queues the policy is preemptive: a queued job that fits nowhere may stop running jobs of
lower queues (the lowest queue first, then the most recently started; as few as make room,
checked with the real placement). Jobs that cannot start are skipped, not waited for, so small
jobs of a queue use capacity a big one cannot. To stop starvation, a queued job that has waited
longer than `promote_knob` x its last executed span goes back to the top queue; the promotion
deadline is a timer too. `promote_knob: 0` turns promotion off. One departure from Tiresias: there
a preempted job keeps its progress, here it loses the work since its last checkpoint (docs/architecture.md), so
a promoted job stays in the top queue until it ends — were it demoted again, jobs without
checkpoints could preempt one another in turn forever, none finishing.

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
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sortedcontainers import SortedList

from sim.policies.base import Decision, Policy, Preempt, QueueView, Start, register
from sim.policies.preemption import fewest_victims

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
        self._attained: dict[int, float] = {}  # chip-seconds before the current stretch (since promotion)
        self._since: dict[int, float] = {}  # running job -> start of its current stretch
        self._chips: dict[int, int] = {}  # running job -> chips held
        self._pool: dict[int, int] = {}  # running job -> its pool
        self._held: list[dict[int, int]] = [{} for _ in range(len(self._thresholds) + 1)]  # level -> pool -> chips
        self._last_span: dict[int, float] = {}
        self._stretch: dict[int, int] = {}  # counts a job's starts: tells a stale crossing timer
        self._waits: dict[int, int] = {}  # counts a job's entries to the queue: tells a stale promotion
        self._promoted: set[int] = set()  # in the top queue until they end
        # (pool, level) -> ((pool version, demotions), fewest chips that preempting could not place)
        self._failed: dict[tuple[int, int], tuple[tuple[int, int], int]] = {}
        self._demotions = 0
        self._running: list[dict[int, None]] = [{} for _ in range(len(self._thresholds) + 1)]  # per level
        self._crossings: list[tuple[float, int, int]] = []  # (time, job, stretch)
        self._promotions: list[tuple[float, int, int]] = []  # (time, job, wait)

    def assumptions(self) -> list[str]:
        return [f"LAS queue thresholds {', '.join(f'{t:g}' for t in self.options.thresholds)} chip-hours, "
                f"promote_knob {self._knob:g} (ESTIMATE; Tiresias, NSDI 2019)"]

    def level_of(self, attained: float) -> int:
        return bisect_right(self._thresholds, attained)

    # --- queue bookkeeping (engine callbacks) ---------------------------------------------------
    def enqueued(self, job: int) -> None:
        now = self.view.now
        level = self._level.get(job, 0)
        if job in self._since:  # it was running: preempted, or killed by a failure
            span = now - self._since.pop(job)
            chips = self._chips[job]
            self._attained[job] = self._attained.get(job, 0.0) + chips * span
            self._last_span[job] = span
            self._stop_running(job, level)
            if job not in self._promoted:
                level = max(level, self.level_of(self._attained[job]))
        self._level[job] = level
        self._order.add((level, job))
        wait = self._waits[job] = self._waits.get(job, 0) + 1
        span = self._last_span.get(job, 0.0)
        if level > 0 and self._knob > 0 and span > 0:
            heapq.heappush(self._promotions, (now + self._knob * span, job, wait))

    def dequeued(self, job: int) -> None:
        self._order.remove((self._level[job], job))

    def ended(self, job: int) -> None:
        self._stop_running(job, self._level.pop(job))
        for d in (self._attained, self._since, self._last_span, self._stretch, self._waits):
            d.pop(job, None)
        self._promoted.discard(job)

    def _leave_level(self, job: int, level: int) -> None:
        """Running `job` no longer counts in queue `level` (it stopped, or moves down)."""
        del self._running[level][job]
        self._held[level][self._pool[job]] -= self._chips[job]

    def _stop_running(self, job: int, level: int) -> None:
        self._leave_level(job, level)
        del self._pool[job]
        del self._chips[job]

    def _run_at(self, job: int, level: int) -> None:
        self._running[level][job] = None
        held = self._held[level]
        pool = self._pool[job]
        held[pool] = held.get(pool, 0) + self._chips[job]

    def _started(self, view: QueueView, job: int, pool: int) -> None:
        now = view.now
        level = self._level[job]
        self._since[job] = now
        self._chips[job] = view.allocation(job).chips
        self._pool[job] = pool
        self._run_at(job, level)
        stretch = self._stretch[job] = self._stretch.get(job, 0) + 1
        self._push_crossing(job, level, now, stretch)

    def _push_crossing(self, job: int, level: int, now: float, stretch: int) -> None:
        if level >= len(self._thresholds) or job in self._promoted:
            return
        held = (now - self._since[job]) * self._chips[job]
        left = self._thresholds[level] - self._attained.get(job, 0.0) - held
        heapq.heappush(self._crossings, (now + max(0.0, left) / self._chips[job], job, stretch))

    # --- timers ---------------------------------------------------------------------------------
    def _demote_due(self, now: float) -> None:
        crossings = self._crossings
        while crossings and crossings[0][0] <= now:
            _, job, stretch = heapq.heappop(crossings)
            if self._stretch.get(job) != stretch or job not in self._since:
                continue  # it ended or stopped since
            level = self._level[job]
            self._demotions += 1
            self._leave_level(job, level)
            self._level[job] = level + 1
            self._run_at(job, level + 1)
            self._push_crossing(job, level + 1, now, stretch)

    def _promote_due(self, now: float) -> None:
        promotions = self._promotions
        while promotions and promotions[0][0] <= now:
            _, job, wait = heapq.heappop(promotions)
            if self._waits.get(job) != wait or job in self._since or job not in self._level:
                continue  # it started since
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
        levels = len(self._running)
        failed = self._failed
        no_fit: dict[int, int] = {}  # pool -> fewest chips that did not fit this pass (starts only shrink room)
        since = self._since
        lower_by_level = self._lower_running()
        free = view.free_chips
        any_free = any(free(p) for p in range(n_pools))
        for level, job in list(order.islice(0, depth)):  # jobs preempted in this pass wait for the next
            if job in since:
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
            for pool in pools_of[job]:
                chips = view.chips_on(job, pool)
                stamp = (view.pool_version(pool), self._demotions)
                seen = failed.get((pool, level))
                if seen is not None and seen[0] == stamp and chips >= seen[1]:
                    continue  # nothing ran, ended or moved queue since preemption could not place fewer chips
                lower_chips = sum(self._held[k].get(pool, 0) for k in range(level + 1, levels))
                if view.free_chips(pool) + lower_chips < chips:
                    continue  # even stopping every lower job would not make room
                victims = fewest_victims(view, job, pool, self._victim_order(pool, level))
                if victims is None:
                    failed[(pool, level)] = (stamp, chips)
                    continue
                for victim in victims:
                    yield Preempt(victim)
                yield Start(job, pool)
                self._started(view, job, pool)
                no_fit.pop(pool, None)  # the victims may have left room beyond what the job took
                any_free = any(free(p) for p in range(n_pools))
                lower_by_level = self._lower_running()
                break
        if self._crossings:
            view.wake_at(self._crossings[0][0])
        if self._promotions:
            view.wake_at(self._promotions[0][0])

    def _lower_running(self) -> list[bool]:
        """Per queue level: is any job running in a lower queue (one it could preempt)?"""
        running = self._running
        return [any(running[k] for k in range(level + 1, len(running))) for level in range(len(running))]

    def _victim_order(self, pool: int, level: int) -> list[int]:
        """Running jobs on `pool` in queues below `level`: the lowest queue first, then the most
        recently started."""
        out = []
        since = self._since
        for k in range(len(self._running) - 1, level, -1):
            on_pool = [j for j in self._running[k] if self._pool[j] == pool]
            on_pool.sort(key=lambda j: -since[j])
            out.extend(on_pool)
        return out
