"""Elastic: FIFO admission at each elastic job's smallest size; spare chips to running elastic jobs.

Inspired by Pollux (Qiao et al., OSDI 2021) and Sia (Jayaram Subramanya et al., SOSP 2023),
which resize jobs to the cluster with learned goodput models. Here a job's speed at n chips is
the closed form its scenario gives, (n / chips) ** scaling: no learning, no batch-size tuning.

Each pass, pool by pool:
1. Admission in submission order, strict per pool as `fifo`: a rigid job starts at its request,
   an elastic job at its `min`. When the next job does not fit, running elastic jobs of the pool
   are shrunk toward their `min` to make room (the most recently started first), but only when
   the chips they would give back, with the free ones, cover it; a job that still does not fit
   blocks the pools it accepts.
2. Growth, on every pool where nothing is blocked: free chips go to running elastic jobs, up to
   their `max`, a step at a time (one chip within an instance, a whole instance beyond) to the
   job with the largest marginal speed-up per chip ((n + s)^a - n^a) / chips^a / s; each job
   that grows is resized once, to its final size. A resize keeps the work done and costs
   `scheduler.resize_overhead` (docs/policies.md).

Cost per pass: as `fifo` for admission, plus O(E log E + steps) on a pool where running elastic
jobs are shrunk or grown (E of them; steps <= free chips / step size). Running elastic jobs are
kept per pool by the policy, so a pool without any costs nothing.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from sim.policies.base import Decision, Policy, QueueView, Resize, Start, register


@register
class Elastic(Policy):
    name = "elastic"
    power_hold = False  # its look-ahead does not count a held power cap
    tracks_running = True

    def bind(self, view: QueueView) -> None:
        super().bind(view)
        self._elastic: list[dict[int, None]] = [{} for _ in view.pool_names]  # running elastic jobs, start order

    def ended(self, job: int) -> None:
        for on_pool in self._elastic:
            on_pool.pop(job, None)

    def _running(self, view: QueueView, pool: int) -> list[int]:
        """Running elastic jobs of `pool`, in start order (jobs stopped since are dropped here)."""
        on_pool = self._elastic[pool]
        gone = [j for j in on_pool if view.allocation(j) is None]
        for j in gone:
            del on_pool[j]
        return list(on_pool)

    def schedule(self, view: QueueView) -> Iterator[Decision]:
        n_pools = len(view.pool_names)
        blocked: set[int] = set()
        for job in view.queued():
            pools = view.jobs.pools[job]
            for pool in pools:
                if pool in blocked:
                    continue
                rng = view.elastic_range(job, pool)
                size = view.chips_on(job, pool) if rng is None else rng[0]
                if not view.can_place_size(job, pool, size):
                    yield from self._shrink_for(view, pool, job, size)
                    if not view.can_place_size(job, pool, size):
                        continue
                if rng is None:
                    yield Start(job, pool)
                else:
                    yield Start(job, pool, None, size)
                    self._elastic[pool][job] = None
                break
            else:
                blocked.update(pools)
                if len(blocked) >= n_pools:
                    return
        for pool in range(n_pools):
            if pool not in blocked and self._elastic[pool]:
                yield from self._grow(view, pool)

    @staticmethod
    def _held(chips: int, cpi: int) -> int:
        """Chips an allocation of `chips` takes: itself within an instance, whole instances beyond."""
        return chips if chips <= cpi else -(-chips // cpi) * cpi

    def _cpi(self, pool: int) -> int:
        return self.pools[pool].chips_per_instance if self.pools else 1

    def _shrink_for(self, view: QueueView, pool: int, job: int, size: int) -> Iterator[Decision]:
        """Shrink running elastic jobs of `pool` (newest first) until `job` fits at `size`, if
        what they can give back covers it."""
        running = self._running(view, pool)
        if not running:
            return
        cpi = self._cpi(pool)
        need = self._held(size, cpi) - view.free_chips(pool)
        spare = {j: self._held(view.size(j), cpi) - self._held(_range(view, j, pool)[0], cpi) for j in running}
        if need <= 0 or sum(spare.values()) < need:
            return
        for j in reversed(running):
            if spare[j] <= 0:
                continue
            lo = _range(view, j, pool)[0]
            current = view.size(j)
            target = max(lo, self._held(current, cpi) - need)
            if target > cpi:
                target = max(lo, target // cpi * cpi)
            if target < current:
                yield Resize(j, target)
                need -= self._held(current, cpi) - self._held(target, cpi)
            if view.can_place_size(job, pool, size):
                return

    def _grow(self, view: QueueView, pool: int) -> Iterator[Decision]:
        """Give `pool`'s free chips to its running elastic jobs, largest marginal speed-up first."""
        budget = view.free_chips(pool)
        if budget <= 0:
            return
        cpi = self._cpi(pool)
        target: dict[int, int] = {}
        heap: list[tuple[float, int, int, int]] = []  # (-gain per chip, job, next size, chips it costs)

        def offer(j: int, n: int) -> None:
            _, hi, a = _range(view, j, pool)
            if n >= hi:
                return
            nxt = min(hi, n + 1 if n < cpi else (n // cpi + 1) * cpi)
            cost = self._held(nxt, cpi) - self._held(n, cpi)
            base = view.chips_on(j, pool)
            gain = ((nxt / base) ** a - (n / base) ** a) / max(cost, 1e-9)
            heapq.heappush(heap, (-gain, j, nxt, cost))

        for j in self._running(view, pool):
            target[j] = view.size(j)
            offer(j, target[j])
        while heap and budget > 0:
            _, j, nxt, cost = heapq.heappop(heap)
            if cost > budget:
                continue
            budget -= cost
            target[j] = nxt
            offer(j, nxt)
        for j, n in target.items():
            current = view.size(j)
            while n > current and not view.can_resize(j, n):
                n = n - 1 if n <= cpi else max(current, (n - 1) // cpi * cpi)
            if n > current:
                yield Resize(j, n)


def _range(view: QueueView, job: int, pool: int) -> tuple[int, int, float]:
    """(min, max, scaling) of a running elastic job in `pool`'s chips: every job that `_running`
    lists has a range."""
    rng = view.elastic_range(job, pool)
    assert rng is not None, f"job {job} is not elastic"
    return rng
