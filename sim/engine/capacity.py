"""Pool capacity: the placement state of every pool, who runs where, and the running counters
(busy and down chips, running jobs) that the recorder reads. It tells the power meter of every
change of busy chips and down instances as it makes it (on the hot path: no call per change).

Placement itself is `sim.placement`; this part applies it (or checks an allocation a policy
chose), keeps the failure processes' instance -> job maps in step, and answers the capacity
questions of the policies' view (`sim.policies.base.Capacity`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sim import failures
from sim.engine.observers import PowerMeter
from sim.engine.plan import PolicyError
from sim.placement import Allocation, PoolState


class PoolCapacity:
    def __init__(self, pools: list[PoolState], place: Callable[[PoolState, int], Allocation | None],
                 slowdown: tuple[float, ...], failing: list[failures.PoolFailures] | None, meter: PowerMeter):
        self.pools = pools
        self.place = place
        self.slow = slowdown
        self.failing = failing
        self.meter = meter
        self._per_chip_w = meter.per_chip
        self.running: list[dict[int, None]] = [{} for _ in pools]  # running jobs per pool, start order
        self.version = [0] * len(pools)  # bumped by every start, end, resize, failure and repair
        self.capacity = sum(p.capacity for p in pools)
        self.busy = 0  # allocated chips
        self.down = 0  # chips on down instances
        self.running_jobs = 0
        self.installed = [True] * len(pools)  # pools online and not retired (sim.engine.installing)
        self.installed_chips = self.capacity

    # --- the policies' view ---------------------------------------------------------------------
    def free_chips(self, pool: int) -> int:
        return self.pools[pool].free_chips

    def running_on(self, pool: int) -> Iterable[int]:
        return self.running[pool].keys()

    def pool_version(self, pool: int) -> int:
        return self.version[pool]

    def projection(self, pool: int) -> PoolState:
        return self.pools[pool].copy()

    def slowdown_at(self, pool: PoolState, tier: int, chips: int) -> float:
        """Run-time factor of a `chips`-chip job whose instances span `tier` on `pool`."""
        return 1.0 if tier == 0 else self.slow[tier] / self.slow[pool.min_tier(chips)]

    # --- taking and giving back chips -----------------------------------------------------------
    def take(self, j: int, p: int, chips: int, given: Allocation | None,
             resizing: bool = False) -> tuple[Allocation, int]:
        """Place job j's `chips` on pool p (or check and take the allocation a policy gave); the
        job runs there from now on (unless `resizing`: it already did). Returns the allocation
        and the chips it holds."""
        pool = self.pools[p]
        alloc = self.place(pool, chips) if given is None else self._given(pool, j, chips, given)
        if alloc is None:
            raise PolicyError(f"policy started job {j} on pool {pool.name}, which has no room for {chips} chips")
        if self.failing is not None:
            failing = self.failing[p]
            # (every take on a pool of the engine passes here, so the claim, if any, is this take's)
            parked, claimed = failing.parked, pool.pop_claimed()
            if claimed is not None and claimed[0] == j and parked is not None and parked[0] == j:
                failing.reclaimed(j, claimed)  # placed again mostly where it gave back: write what changed
            else:
                failing.placed(j, alloc)
        self.version[p] += 1
        n = alloc.chips
        self.add_busy(p, n)
        if not resizing:
            self.running[p][j] = None
            self.running_jobs += 1
        return alloc, n

    def give_back(self, j: int, p: int, alloc: Allocation, chips: int, resizing: bool = False) -> None:
        """Release job j's allocation (of `chips` chips) on pool p; the job no longer runs there
        (unless `resizing`: it goes on at another size)."""
        self.pools[p].release(alloc, j)
        if self.failing is not None:
            self.failing[p].released(j, alloc)
        self.version[p] += 1
        self.add_busy(p, -chips)
        if not resizing:
            del self.running[p][j]
            self.running_jobs -= 1

    def add_busy(self, p: int, chips: int) -> None:
        """`chips` more (negative: fewer) chips of pool p are busy: a start or an end, or an
        instance added to or dropped from a running job's allocation. The busy count and the power
        meter's watts (sim.engine.observers.PowerMeter) move together."""
        self.busy += chips
        meter = self.meter
        if meter.watts is not None:
            w = chips * self._per_chip_w[p]
            meter.watts += w
            meter.busy_w += w

    def can_resize(self, alloc: Allocation, p: int, chips: int) -> bool:
        """Would `chips` chips fit on pool p once `alloc` is given back? (The state is restored.)"""
        pool = self.pools[p]
        pool.release(alloc)
        try:
            return pool.can_place(chips)
        finally:
            pool.occupy(alloc)

    @staticmethod
    def _given(pool: PoolState, j: int, chips: int, alloc: Allocation) -> Allocation:
        """Take the allocation a policy chose, after checking it is one the pool could give."""
        k = len(alloc.instances)
        want = (1, chips) if chips <= pool.cpi else (-(-chips // pool.cpi), pool.cpi)
        if (k, alloc.chips_each) != want or len(set(alloc.instances)) != k:
            raise PolicyError(f"policy gave job {j} ({chips} chips) an allocation of {k} x {alloc.chips_each} chips")
        try:
            pool.occupy(alloc)
        except (ValueError, IndexError) as exc:
            raise PolicyError(f"policy gave job {j} an allocation that is not free: {exc}") from None
        return Allocation(list(alloc.instances), alloc.chips_each, pool.tier_of(list(alloc.instances)))

    # --- failures and repair --------------------------------------------------------------------
    def instance_down(self, p: int, i: int) -> None:
        pool = self.pools[p]
        pool.occupy(Allocation([i], pool.cpi, 0))  # every chip of a down instance is taken
        self.version[p] += 1
        self.down += pool.cpi
        self.meter.down(p, 1)

    def failing_of(self, p: int) -> failures.PoolFailures:
        """Pool p's failure process (only asked for when the scenario has failures)."""
        assert self.failing is not None, "no failures in this run"
        return self.failing[p]

    def instance_up(self, p: int, i: int) -> bool:
        """A down instance is repaired; False if its pool retired meanwhile (it stays out)."""
        pool = self.pools[p]
        if self.installed[p]:
            pool.release(Allocation([i], pool.cpi, 0))
        self.failing_of(p).repaired(i)
        self.version[p] += 1
        self.down -= pool.cpi
        if self.installed[p]:
            self.meter.down(p, -1)
        return self.installed[p]
