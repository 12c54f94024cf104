"""What a failure does to a running job (`failures.recovery`, docs/failures-power-cost.md).

  - `requeue` (the default): the job stops, keeps its work up to its last checkpoint, gives back
    its chips and waits in the queue for a new placement (the coordinator's stop).
  - `spares`: the failed instance is swapped, in the job's allocation, for a free hot spare of its
    pool (`cluster.pools[].spares`): the nearest one (same UltraServer, then pod, then spine group,
    then anywhere; the job's tier becomes the larger of its tier and the swap's). The job keeps its
    other instances, loses the work since its last checkpoint and pays the restart overhead: a stop
    and a re-time on the ledger, no requeue, and the swap touches one instance, not the job's
    thousands. No spare free: `failures.fallback` (requeue, shrink, or wait: the job holds its
    other instances, making no progress, until a repaired instance refills the spares).
  - `shrink`: an elastic job goes on at one instance fewer if that is still within its range; a
    rigid job (or one at its minimum) requeues.

Repaired instances refill the spare set (up to its size) after serving jobs waiting for one.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from sim.engine.capacity import PoolCapacity
from sim.engine.ledger import Ledger
from sim.engine.offer import Offer
from sim.engine.plan import JobPlan
from sim.engine.resizing import Resizer
from sim.placement import Allocation, PoolState
from sim.policies.base import RUNNING

TIER_KEYS = ("ultraserver_of", "pod_of", "spine_of")  # PoolState's domain of each instance, by tier


def spare_instances(pool: PoolState, count: int) -> list[int]:
    """`count` instances to hold as spares, spread evenly over the pool in whole UltraServers
    (whole instances on pools without them), so that every region has spares near it."""
    if count <= 0:
        return []
    ds = max(1, pool.shape.domain_size)
    units = pool.n // ds
    need = -(-count // ds)
    if units < need:  # a pool that is not whole UltraServers: spread single instances
        ds, units, need = 1, pool.n, count
    chosen = [int((k + 0.5) * units / need) for k in range(need)]
    out = [u * ds + m for u in chosen for m in range(ds)]
    return out[:count]


class SpareSet:
    """One pool's free spares, findable by the domain they sit in (dicts keep insertion order, so
    which spare is taken is reproducible)."""

    def __init__(self, pool: PoolState, target: int):
        self.pool = pool
        self.target = target
        self.parents = [getattr(pool, key) for key in TIER_KEYS]
        self.by_tier: list[dict[int, dict[int, None]]] = [{} for _ in TIER_KEYS]
        self.free: dict[int, None] = {}

    def __len__(self) -> int:
        return len(self.free)

    def __contains__(self, i: int) -> bool:
        return i in self.free

    def add(self, i: int) -> None:
        self.free[i] = None
        for parents, by in zip(self.parents, self.by_tier, strict=True):
            d = parents[i]
            if d >= 0:
                by.setdefault(d, {})[i] = None

    def remove(self, i: int) -> None:
        del self.free[i]
        for parents, by in zip(self.parents, self.by_tier, strict=True):
            d = parents[i]
            if d >= 0:
                members = by[d]
                del members[i]
                if not members:
                    del by[d]

    def nearest(self, i: int) -> tuple[int, int] | None:
        """The free spare nearest instance i and the tier between them (1 ultraserver .. 4 cluster)."""
        if not self.free:
            return None
        for tier, (parents, by) in enumerate(zip(self.parents, self.by_tier, strict=True), start=1):
            d = parents[i]
            if d >= 0 and d in by:
                return next(iter(by[d])), tier
        return next(iter(self.free)), 4


def swapped(alloc: Allocation, old: int, new: int | None, tier: int) -> Allocation:
    """`alloc` with instance `old` replaced by `new` (or dropped when `new` is None); one instance
    left is the instance tier."""
    if alloc.count <= 2 and new is None:
        tier = 0
    if alloc.index is not None:
        return Allocation(None, alloc.chips_each, tier, _replaced(alloc.index, old, new))
    instances = list(alloc.instances)
    if new is None:
        instances.remove(old)
    else:
        instances[instances.index(old)] = new
    return Allocation(instances, alloc.chips_each, tier)


def _replaced(index: np.ndarray, old: int | None, new: int | None) -> np.ndarray:
    """Sorted, distinct `index` with `old` taken out (None: nothing) and `new` put in at its place
    (None: nothing): one copy and one slice move, O(k) without numpy's general insert and delete,
    whose per-call overhead cost more than the copy on a swap (a 16,384-instance job fails a few
    thousand times a day on the 5 GW campus)."""
    if new is None:
        assert old is not None, "nothing to take out or put in"
        at = int(np.searchsorted(index, old))
        return np.concatenate((index[:at], index[at + 1 :]))
    to = int(np.searchsorted(index, new))
    if old is None:
        out = np.empty(len(index) + 1, dtype=index.dtype)
        out[:to] = index[:to]
        out[to] = new
        out[to + 1 :] = index[to:]
        return out
    at = int(np.searchsorted(index, old))
    out = index.copy()
    if to > at:  # new sorts after old: the ones between move down one place
        out[at : to - 1] = index[at + 1 : to]
        out[to - 1] = new
    else:
        out[to + 1 : at + 1] = index[to:at]
        out[to] = new
    return out


class Recovery:
    """Applies `failures.recovery` to the jobs a failure hits, and keeps the spares."""

    def __init__(self, plan: JobPlan, ledger: Ledger, cap: PoolCapacity, offer: Offer,
                 resizer: Resizer, mode: str, fallback: str, spares: list[int],
                 restart_overhead: Callable[[int], float], requeue: Callable[[int, float], None],
                 modes: dict[int, str] | None = None):
        self.plan = plan
        self.ledger = ledger
        self.cap = cap
        self.offer = offer
        self.resizer = resizer
        self.mode = mode
        self.modes = modes or {}  # jobs with their own `recovery`
        self.fallback = fallback
        self.restart_overhead = restart_overhead
        self._requeue = requeue  # the coordinator's stop: requeue(job, overhead it pays on restart)
        self.spares = [SpareSet(pool, n) for pool, n in zip(cap.pools, spares, strict=True)]
        self.waiting: list[dict[int, int]] = [{} for _ in cap.pools]  # pool -> {job: generation}, FIFO
        self.holes: dict[int, list[int]] = {}  # waiting job -> its failed instances not yet replaced
        self.interruptions = 0
        self.requeues = 0
        self.spare_swaps = 0
        self.swap_tiers = [0] * 5  # swaps by the tier between the failed instance and its spare
        for p, (pool, n) in enumerate(zip(cap.pools, spares, strict=True)):
            for i in spare_instances(pool, n):
                self._hold_spare(p, i)

    # --- the spare set ----------------------------------------------------------------------------
    def _hold_spare(self, p: int, i: int) -> None:
        pool = self.cap.pools[p]
        pool.occupy(Allocation([i], pool.cpi, 0))
        self.cap.version[p] += 1
        self.spares[p].add(i)

    def instance_failing(self, p: int, i: int) -> None:
        """Instance i of pool p fails: a free spare leaves the set (its chips go down, not idle)."""
        spares = self.spares[p]
        if i in spares:
            spares.remove(i)
            pool = self.cap.pools[p]
            pool.release(Allocation([i], pool.cpi, 0))

    def repaired(self, p: int, i: int) -> None:
        """Repaired instance i of pool p (free again) goes to the first job waiting for a spare, or
        refills the spare set if that is short of its size, or else back to placement."""
        L = self.ledger
        waiting = self.waiting[p]
        while waiting:
            j, gen = next(iter(waiting.items()))
            if L.gen[j] == gen and L.state[j] == RUNNING:
                break
            del waiting[j]  # stale: the job ended, was preempted or resized while it waited
            self.holes.pop(j, None)
        else:
            if len(self.spares[p]) < self.spares[p].target:
                self._hold_spare(p, i)
            return
        holes = self.holes[j]
        hole = holes.pop()
        pool = self.cap.pools[p]
        pool.occupy(Allocation([i], L.allocation(j).chips_each, 0))
        L.stop(j, keep_all=True)  # the stretch spent waiting: no progress, nothing to lose
        self._join(p, j, None, i, pool.tier_of([hole, i]), still_waiting=bool(holes))
        if holes:
            waiting[j] = L.gen[j]
        else:
            del self.holes[j]
            del waiting[j]

    # --- a failure hits job j ---------------------------------------------------------------------
    def interrupt(self, p: int, i: int, j: int) -> None:
        """Instance i of pool p fails under job j."""
        self.interruptions += 1
        mode = self.modes.get(j, self.mode) if self.modes else self.mode
        if mode == "spares":
            if j in self.holes:
                if self.waiting[p].get(j) == self.ledger.gen[j]:  # already waiting: one more hole to fill
                    self._wait(p, i, j)
                    return
                del self.holes[j]  # stale: it stopped waiting (preempted, resized) since
            found = self.spares[p].nearest(i)
            if found is not None:
                self._swap(p, i, j, *found)
                return
            mode = self.fallback
            if mode == "wait":
                self._wait(p, i, j)
                return
        if mode == "shrink" and self._shrink(p, i, j):
            return
        self.requeues += 1
        self._requeue(j, self.restart_overhead(self.ledger.allocation(j).count))

    def _leave(self, p: int, i: int, j: int) -> Allocation:
        """Job j stops (keeping its work to its last checkpoint) and lets go of failed instance i."""
        L = self.ledger
        alloc = L.allocation(j)
        L.stop(j)
        pool = self.cap.pools[p]
        one = Allocation([i], alloc.chips_each, 0)
        pool.release(one)
        failing = self.cap.failing_of(p)
        failing.released(j, one)
        self.cap.version[p] += 1
        return alloc

    def _swap(self, p: int, i: int, j: int, s: int, tier_between: int) -> None:
        """Replace failed instance i of job j by free spare s."""
        self.spares[p].remove(s)
        pool = self.cap.pools[p]
        each = self.ledger.allocation(j).chips_each
        if each < pool.cpi:  # a job on part of an instance: the rest of the spare joins placement
            pool.release(Allocation([s], pool.cpi - each, 0))
        self._leave(p, i, j)
        self._join(p, j, i, s, tier_between)
        self.spare_swaps += 1
        self.swap_tiers[tier_between] += 1

    def _join(self, p: int, j: int, hole: int | None, s: int, tier_between: int,
              still_waiting: bool = False) -> None:
        """Instance s (already taken on the pool) replaces `hole` in stopped job j's allocation (or
        is added to it, None: its hole was dropped when it began to wait); the job goes on at its
        new tier after the restart overhead (no progress while it still waits for another)."""
        L = self.ledger
        cap = self.cap
        alloc = L.allocation(j)
        each = alloc.chips_each
        if hole is None:
            new = Allocation(alloc.instances + [s], each, 0) if alloc.index is None else Allocation(
                None, each, 0, _replaced(alloc.index, None, s))
            cap.add_busy(p, each)
        else:
            new = swapped(alloc, hole, s, 0)
        new.tier = 0 if new.count == 1 else max(alloc.tier, tier_between)
        cap.failing_of(p).placed(j, Allocation([s], each, 0))
        cap.version[p] += 1
        self._retime(p, j, new, math.inf if still_waiting else self.restart_overhead(new.count))

    def _wait(self, p: int, i: int, j: int) -> None:
        """No spare: job j holds its other instances, without progress, until one is repaired."""
        alloc = self._leave(p, i, j)
        rest = swapped(alloc, i, None, alloc.tier)
        each = alloc.chips_each
        self.cap.add_busy(p, -each)
        self.holes.setdefault(j, []).append(i)
        self._retime(p, j, rest, math.inf)
        self.waiting[p][j] = self.ledger.gen[j]

    def _shrink(self, p: int, i: int, j: int) -> bool:
        """Elastic job j goes on without instance i if it is still within its range."""
        L = self.ledger
        rng = self.offer.elastic_range(j, p)
        if rng is None:
            return False
        alloc = L.allocation(j)
        size = min(L.chips_used(j), alloc.chips - alloc.chips_each)
        if size < rng[0] or alloc.count < 2:
            return False
        self._leave(p, i, j)
        rest = swapped(alloc, i, None, alloc.tier)
        self.cap.add_busy(p, -alloc.chips_each)
        k = self.offer.k(j, p)
        scale = self.resizer.scale(j, p, self.plan.chips_on[j][k], size)
        slow = self._slowdown(p, rest, size)
        L.retime(j, rest, rest.tier, slow, self.plan.run_on[j][k] * slow * scale, size,
                 self.restart_overhead(rest.count))
        return True

    def _slowdown(self, p: int, alloc: Allocation, chips: int) -> float:
        cap = self.cap
        return 1.0 if alloc.tier == 0 else cap.slowdown_at(cap.pools[p], alloc.tier, chips)

    def _retime(self, p: int, j: int, alloc: Allocation, overhead: float) -> None:
        """Job j goes on with `alloc` (same size) after `overhead` (infinity: until a spare comes)."""
        L = self.ledger
        slow = self._slowdown(p, alloc, L.chips_used(j))
        full = L.full[j] / L.slowdown[j] * slow
        L.retime(j, alloc, alloc.tier, slow, full, L.chips_used(j), overhead, resize=False)
        if math.isinf(overhead):
            L.est_end[j] = math.inf
        else:
            k = self.offer.k(j, p)
            ratio = self.plan.estimate_on[j][k] / self.plan.run_on[j][k] if self.plan.run_on[j][k] > 0 else 1.0
            L.est_end[j] = L.core.env._now + overhead + full * max(0.0, 1.0 - L.done[j]) * ratio
