"""Power (W, PUE, MWh) and cost ($, $/useful chip-hour, $/useful PFLOP-day).

Facility power = PUE x (1 + network_fraction) x sum over up instances of
(busy chips x W + idle chips x idle_fraction x W + host W), host W = host_fraction x the
instance's chip watts; down instances draw 0. It is linear in busy chips and down instances per
pool, which the engine tracks.
"""

from __future__ import annotations

from sim.engine import PowerModel
from sim.scenario.cluster import Cluster
from sim.topology import PoolShape


def power_model(cluster: Cluster, shapes: list[PoolShape]) -> PowerModel:
    if any(s.chip_watts is None for s in shapes):
        return PowerModel(None, [0.0] * len(shapes))
    k = cluster.pue * (1 + cluster.network_fraction)
    base = sum(k * (s.chips * cluster.idle_fraction * s.chip_watts + s.instances * s.host_watts) for s in shapes)
    per_chip = [k * s.chip_watts * (1 - cluster.idle_fraction) for s in shapes]
    # a down instance draws nothing: the engine takes off what it drew idle (its jobs were stopped)
    per_down = [k * (s.chips_per_instance * cluster.idle_fraction * s.chip_watts + s.host_watts) for s in shapes]
    return PowerModel(base, per_chip, per_down)


def peak_power_w(cluster: Cluster, shapes: list[PoolShape]) -> float | None:
    """Facility power with every chip busy."""
    if any(s.chip_watts is None for s in shapes):
        return None
    k = cluster.pue * (1 + cluster.network_fraction)
    return sum(k * s.instances * s.instance_peak_watts for s in shapes)


def usd_per_h(shapes: list[PoolShape]) -> float | None:
    """What the installed capacity costs per hour, at each pool's pricing; None if a price is unknown."""
    if any(s.usd_per_h is None for s in shapes):
        return None
    return sum(s.usd_per_h for s in shapes)


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
