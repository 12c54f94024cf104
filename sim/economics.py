"""Power (W, PUE, MWh) and cost ($, $/useful chip-hour, $/useful PFLOP-day).

Facility power = PUE x (1 + network_fraction) x sum over up instances of
(busy chips x W + idle chips x idle_fraction x W + host W), host W = host_fraction x the
instance's chip watts; down instances draw 0. It is linear in busy chips and down instances per
pool, which the engine tracks.
"""

from __future__ import annotations

from collections.abc import Iterable

from sim.engine import PowerModel
from sim.scenario.cluster import Cluster
from sim.topology import PoolShape


def _all_known(values: Iterable[float | None]) -> list[float] | None:
    """The values, or None if one of them is unknown."""
    known = []
    for v in values:
        if v is None:
            return None
        known.append(v)
    return known


def power_model(cluster: Cluster, shapes: list[PoolShape]) -> PowerModel:
    watts = _all_known(s.chip_watts for s in shapes)
    if watts is None:
        return PowerModel(None, [0.0] * len(shapes))
    host = [s.host_watts or 0.0 for s in shapes]  # known where the chip watts are (topology.size_pools)
    k = cluster.pue * (1 + cluster.network_fraction)
    base = sum(k * (s.chips * cluster.idle_fraction * w + s.instances * h) for s, w, h in zip(shapes, watts, host, strict=True))
    per_chip = [k * w * (1 - cluster.idle_fraction) for w in watts]
    # a down instance draws nothing: the engine takes off what it drew idle (its jobs were stopped)
    per_down = [k * (s.chips_per_instance * cluster.idle_fraction * w + h) for s, w, h in zip(shapes, watts, host, strict=True)]
    return PowerModel(base, per_chip, per_down)


def peak_power_w(cluster: Cluster, shapes: list[PoolShape]) -> float | None:
    """Facility power with every chip busy."""
    peaks = _all_known(s.instance_peak_watts for s in shapes)  # None where the chip watts are
    if peaks is None:
        return None
    k = cluster.pue * (1 + cluster.network_fraction)
    return sum(k * s.instances * p for s, p in zip(shapes, peaks, strict=True))


def usd_per_h(shapes: list[PoolShape]) -> float | None:
    """What the installed capacity costs per hour, at each pool's pricing; None if a price is unknown."""
    prices = _all_known(s.usd_per_h for s in shapes)
    return None if prices is None else sum(prices)


def cost_usd(shapes: list[PoolShape], window_s: float) -> float | None:
    """Installed capacity is paid for busy or idle: $/h x hours of the window."""
    rate = usd_per_h(shapes)
    return None if rate is None else rate * window_s / 3600.0


def spend_usd(shape: PoolShape, on: float, off: float, lo: float, hi: float, start: float = 0.0) -> float:
    """What one pool, installed from `on` to `off`, costs in [lo, hi) of simulated time: its $/h while
    installed; or, for a pool bought outright (`purchase`), its whole price in the span where it comes
    online (at `start`, the window's start, if it came online before). Needs a known price."""
    if shape.purchase_usd is not None:
        return shape.purchase_usd if lo <= max(on, start) < hi else 0.0
    if shape.usd_per_h is None:
        raise ValueError(f"pool {shape.name!r} has no price")
    return shape.usd_per_h * max(0.0, min(hi, off) - max(lo, on)) / 3600
