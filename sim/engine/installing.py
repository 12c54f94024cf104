"""Pools installed and retired during the run (`pools[].online`, `pools[].retire`).

Before it is online a pool's instances are all held (placement finds no room, its idle watts
are not drawn, its chips are not installed); at `online` they are released. At `retire` its
running jobs stop as if preempted (they keep the work up to their last checkpoint and requeue,
onto other pools that accept them) and its instances are held again for good; an instance
that was down at retirement stays out when repaired (`PoolCapacity.instance_up`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sim.engine.capacity import PoolCapacity
from sim.engine.events import EventCore, Timed
from sim.engine.observers import PowerMeter
from sim.placement import Allocation, PoolState


class Installer:
    def __init__(self, installs: list[tuple[float, float | None]], core: EventCore, cap: PoolCapacity,
                 meter: PowerMeter, preempt: Callable[[int], None], settled: Callable[[], None]):
        self.core = core
        self.cap = cap
        self.meter = meter
        self._preempt = preempt
        self._settled = settled  # requeue the stopped jobs and ask for a pass
        for p, (online, retire) in enumerate(installs):
            if online > 0:
                self._close(p)
                core.at(online, self._online, p)
            if retire is not None:
                core.at(retire, self._retire, p)

    def _close(self, p: int) -> None:
        """Hold every whole-free instance of pool p and take them out of the installed capacity."""
        cap = self.cap
        pool = cap.pools[p]
        free = [i for i in range(pool.n) if pool.free(i) == pool.cpi]
        down = pool.n - len(free)  # every other instance is down (its jobs were stopped first)
        if free:
            pool.occupy(Allocation(free, pool.cpi, 0))
        cap.installed[p] = False
        cap.installed_chips -= pool.capacity
        cap.version[p] += 1
        self.meter.installed(p, -len(free))
        if down and self.meter.watts is not None:
            self.meter.down_w -= down * self.meter.per_down[p]  # they will not come back

    def _online(self, ev: Timed) -> None:
        p = ev._value
        cap = self.cap
        pool = cap.pools[p]
        pool.release(Allocation(list(range(pool.n)), pool.cpi, 0))
        cap.installed[p] = True
        cap.installed_chips += pool.capacity
        cap.version[p] += 1
        self.meter.installed(p, pool.n)
        self.core.request_pass()

    def _retire(self, ev: Timed) -> None:
        p = ev._value
        for j in list(self.cap.running[p]):
            self._preempt(j)
        self._close(p)
        self._settled()


def idle_ahead(installs: Sequence[tuple[float, float | None]], pools: Sequence[PoolState],
               idle_per_instance: Sequence[float]) -> list[tuple[float, float]]:
    """(t, the most idle watts the installed pools draw at t or later), from 0 and at each time a
    pool comes online or retires: what a held power cap keeps free of busy power."""
    times = sorted({0.0} | {t for on, off in installs for t in (on, off) if t is not None})
    idle = [sum(p.n * w for p, w, (on, off) in zip(pools, idle_per_instance, installs, strict=True)
                if on <= t and (off is None or t < off)) for t in times]
    for i in range(len(idle) - 2, -1, -1):
        idle[i] = max(idle[i], idle[i + 1])
    return list(zip(times, idle, strict=True))
