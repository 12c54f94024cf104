"""Placement on a pool's compiled arrays: which instances a job gets.

Allocation rule (DESIGN): a job of at most one instance's chips shares an instance at chip
granularity and is never split; a larger job gets whole free instances, rounded up.

Free chips per instance are kept in a max segment tree, so the lowest-index instance with
enough free chips is found in O(log n) — placement cost stays flat from ten thousand to
millions of chips. Per-element state is in Python lists, not numpy: one element is read or
written per step, where lists are several times faster (STYLE.md, point 4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sim.topology import CompiledPool

TIER_NAMES = ("instance", "ultraserver", "pod", "spine", "cluster")
INSTANCE, ULTRASERVER, POD, SPINE, CLUSTER = range(5)


@dataclass(slots=True)
class Allocation:
    instances: list[int]
    chips_each: int  # chips taken on each instance
    tier: int

    @property
    def chips(self) -> int:
        return self.chips_each * len(self.instances)


class PoolState:
    """Free chips of one pool, with the running counters placement and metrics need."""

    def __init__(self, compiled: CompiledPool):
        shape = compiled.shape
        self.shape = shape
        self.name = shape.name
        self.cpi = shape.chips_per_instance
        self.n = shape.instances
        self.capacity = shape.chips
        size = 1
        while size < self.n:
            size *= 2
        self._size = size
        self._tree = [-1] * (2 * size)
        for i in range(self.n):
            self._tree[size + i] = self.cpi
        for i in range(size - 1, 0, -1):
            self._tree[i] = max(self._tree[2 * i], self._tree[2 * i + 1])
        self.free_chips = self.capacity
        self.whole_free = self.n  # instances with every chip free
        self.ultraserver_of = compiled.ultraserver_of.tolist()
        self.pod_of = compiled.pod_of.tolist()
        self.spine_of = compiled.spine_of.tolist()

    # --- the tree ---------------------------------------------------------------------------
    def free(self, i: int) -> int:
        return self._tree[self._size + i]

    def free_per_instance(self) -> list[int]:
        return self._tree[self._size : self._size + self.n]

    def _set(self, i: int, value: int) -> None:
        tree = self._tree
        j = self._size + i
        old = tree[j]
        if old == self.cpi:
            self.whole_free -= 1
        if value == self.cpi:
            self.whole_free += 1
        tree[j] = value
        j >>= 1
        while j:
            best = tree[2 * j] if tree[2 * j] >= tree[2 * j + 1] else tree[2 * j + 1]
            if tree[j] == best:
                break
            tree[j] = best
            j >>= 1

    def first_with(self, chips: int) -> int:
        """Lowest-index instance with at least `chips` free, or -1."""
        tree = self._tree
        if tree[1] < chips:
            return -1
        j = 1
        size = self._size
        while j < size:
            j *= 2
            if tree[j] < chips:
                j += 1
        return j - size

    # --- jobs -------------------------------------------------------------------------------
    def instances_for(self, chips: int) -> int:
        """Instances a job of `chips` occupies (0 if it shares one)."""
        return 0 if chips <= self.cpi else -(-chips // self.cpi)

    def can_place(self, chips: int) -> bool:
        if chips <= self.cpi:
            return self._tree[1] >= chips
        return self.whole_free * self.cpi >= chips

    def fits_at_all(self, chips: int) -> bool:
        return chips <= self.capacity

    def release(self, alloc: Allocation) -> None:
        each = alloc.chips_each
        tree = self._tree
        size = self._size
        for i in alloc.instances:
            self._set(i, tree[size + i] + each)
        self.free_chips += each * len(alloc.instances)

    def tier_of(self, instances: list[int]) -> int:
        """The lowest tier holding all the instances."""
        if len(instances) == 1:
            return INSTANCE
        for tier, parent in ((ULTRASERVER, self.ultraserver_of), (POD, self.pod_of), (SPINE, self.spine_of)):
            first = parent[instances[0]]
            if first >= 0 and all(parent[i] == first for i in instances):
                return tier
        return CLUSTER

    def min_tier(self, chips: int) -> int:
        """The lowest tier that could hold a job of `chips` at all (for its slowdown)."""
        k = self.instances_for(chips)
        if k <= 1:
            return INSTANCE
        shape = self.shape
        if shape.domain_size > 1 and k <= shape.domain_size:
            return ULTRASERVER
        if k <= min(shape.instances_per_pod, self.n):
            return POD
        if k <= min(shape.instances_per_pod * shape.pods_per_spine, self.n):
            return SPINE
        return CLUSTER


def first_fit(pool: PoolState, chips: int) -> Allocation | None:
    """Lowest-index placement: the first instance with room, or the first whole free instances."""
    if chips <= pool.cpi:
        tree = pool._tree
        if tree[1] < chips:
            return None
        j = 1
        size = pool._size
        while j < size:  # descend to the lowest-index leaf with room (first_with, inlined)
            j *= 2
            if tree[j] < chips:
                j += 1
        i = j - size
        pool._set(i, tree[j] - chips)
        pool.free_chips -= chips
        return Allocation([i], chips, INSTANCE)
    k = -(-chips // pool.cpi)
    if pool.whole_free < k:
        return None
    taken = []
    cpi = pool.cpi
    for _ in range(k):
        i = pool.first_with(cpi)
        pool._set(i, 0)
        taken.append(i)
    pool.free_chips -= k * cpi
    return Allocation(taken, cpi, pool.tier_of(taken))


PLACEMENTS: dict[str, Callable[[PoolState, int], Allocation | None]] = {"first_fit": first_fit}
