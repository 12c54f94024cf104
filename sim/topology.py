"""The cluster's shape: pools sized from the scenario, a networkx graph, and its compiled arrays.

Graph nodes are instances and the domains and switches above them — never chips. Tiers,
lowest first: instance, ultraserver (UltraServer pools only), pod, spine, cluster. `compile()`
turns the graph into per-pool integer arrays (parent index per tier) that placement uses;
the graph is never walked per event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import networkx as nx
import numpy as np

from sim.errors import InputError
from sim.hardware import Catalogue
from sim.scenario.cluster import Cluster, Pool

HOURS_PER_YEAR = 8760.0


@dataclass(frozen=True)
class PoolShape:
    """One pool as sized: counts, per-instance figures and the prices that apply to it."""

    index: int
    name: str
    instance_type: str
    accelerator: str
    chips_per_instance: int
    instances: int
    domain_size: int  # instances per UltraServer (1 for plain instances)
    instances_per_pod: int
    pods_per_spine: int
    chip_watts: float | None
    host_watts: float | None
    bf16_tflops: float | None
    mfu: float | None
    usd_per_h: float | None  # effective price of the whole pool per hour

    @property
    def chips(self) -> int:
        return self.instances * self.chips_per_instance

    @property
    def ultraservers(self) -> int:
        return self.instances // self.domain_size if self.domain_size > 1 else 0

    @property
    def pods(self) -> int:
        return math.ceil(self.instances / self.instances_per_pod)

    @property
    def instance_peak_watts(self) -> float | None:
        if self.chip_watts is None:
            return None
        return self.chips_per_instance * self.chip_watts + (self.host_watts or 0.0)


def effective_usd_per_instance_h(pool: Pool, on_demand: float | None) -> float | None:
    if pool.pricing.reserved is not None:
        return None if on_demand is None else on_demand * (1 - pool.pricing.reserved.discount)
    return on_demand


def size_pools(cluster: Cluster, catalogue: Catalogue, problem) -> list[PoolShape]:
    """Resolve each pool's sizing key to whole instances (whole UltraServers where they apply).

    `problem(loc, message)` builds a located error for sizes that resolve to nothing.
    """
    shapes = []
    errors = []
    overhead = cluster.pue * (1 + cluster.network_fraction)
    for i, pool in enumerate(cluster.pools):
        inst = catalogue.instances[pool.instance]
        acc = catalogue.accelerators[inst.accelerator]
        cpi = int(inst.chips)
        domain = catalogue.domain_size(pool.instance)
        host_watts = None if acc.watts is None else cluster.host_fraction * cpi * acc.watts
        per_instance_usd = effective_usd_per_instance_h(pool, inst.on_demand_usd_per_h)
        if pool.count is not None:
            n = pool.count
        elif pool.ultraservers is not None:
            n = pool.ultraservers * domain
        elif pool.chips is not None:
            n = pool.chips // cpi
        elif pool.power is not None:
            peak = cpi * acc.watts + host_watts
            n = math.floor(pool.power / (overhead * peak))
        else:
            if pool.pricing.commitment is not None or per_instance_usd in (None, 0):
                raise AssertionError("budget sizing was checked when the scenario loaded")
            n = math.floor(pool.budget / (per_instance_usd * HOURS_PER_YEAR))
        n -= n % domain
        if n <= 0:
            errors.append(problem(("cluster", "pools", i, pool.sizing),
                                  f"sizing by {pool.sizing} leaves no whole "
                                  f"{'UltraServer' if domain > 1 else 'instance'} of {pool.instance}"))
            continue
        if pool.pricing.commitment is not None:
            usd = pool.pricing.commitment.usd_per_year / HOURS_PER_YEAR
        else:
            usd = None if per_instance_usd is None else per_instance_usd * n
        per_pod = cluster.topology.fanout.pod
        if domain > 1 and per_pod % domain:
            errors.append(problem(("cluster", "topology", "fanout", "pod"),
                                  f"instances per pod must be a multiple of the UltraServer size {domain}"))
            continue
        shapes.append(PoolShape(i, pool.name, pool.instance, acc.name, cpi, n, domain, per_pod,
                                cluster.topology.fanout.spine, acc.watts, host_watts, acc.bf16_tflops,
                                acc.mfu, usd))
    if errors:
        raise InputError(errors)
    return shapes


def build_graph(shapes: list[PoolShape]) -> nx.DiGraph:
    """cluster -> spine -> pod -> (ultraserver ->) instance, per pool. Edges point downwards."""
    g = nx.DiGraph()
    root = "cluster"
    g.add_node(root, tier="cluster")
    for s in shapes:
        nodes = []
        edges = []
        pods_per_spine = s.pods_per_spine
        for pod in range(s.pods):
            spine = pod // pods_per_spine
            spine_id = f"{s.name}/spine{spine}"
            pod_id = f"{s.name}/pod{pod}"
            if pod % pods_per_spine == 0:
                nodes.append((spine_id, {"tier": "spine", "pool": s.index, "index": spine}))
                edges.append((root, spine_id))
            nodes.append((pod_id, {"tier": "pod", "pool": s.index, "index": pod}))
            edges.append((spine_id, pod_id))
        for i in range(s.instances):
            pod = i // s.instances_per_pod
            parent = f"{s.name}/pod{pod}"
            if s.domain_size > 1:
                us = i // s.domain_size
                us_id = f"{s.name}/us{us}"
                if i % s.domain_size == 0:
                    nodes.append((us_id, {"tier": "ultraserver", "pool": s.index, "index": us}))
                    edges.append((parent, us_id))
                parent = us_id
            inst_id = f"{s.name}/i{i}"
            nodes.append((inst_id, {"tier": "instance", "pool": s.index, "index": i,
                                    "chips": s.chips_per_instance}))
            edges.append((parent, inst_id))
        g.add_nodes_from(nodes)
        g.add_edges_from(edges)
    return g


@dataclass
class CompiledPool:
    """Integer arrays of one pool: for each instance, the index of its domain at each tier."""

    shape: PoolShape
    ultraserver_of: np.ndarray  # -1 where the pool has no UltraServer tier
    pod_of: np.ndarray
    spine_of: np.ndarray


def compile(graph: nx.DiGraph, shapes: list[PoolShape]) -> list[CompiledPool]:  # noqa: A001
    """Read the parents of every instance off the graph into per-pool numpy arrays."""
    out = []
    tier_index = {"ultraserver": 0, "pod": 1, "spine": 2}
    for s in shapes:
        parents = np.full((3, s.instances), -1, dtype=np.int64)
        out.append(CompiledPool(s, parents[0], parents[1], parents[2]))
    for node, data in graph.nodes(data=True):
        if data["tier"] != "instance":
            continue
        parents = out[data["pool"]]
        i = data["index"]
        up = node
        while True:
            preds = list(graph.predecessors(up))
            if not preds:
                break
            up = preds[0]
            tier = graph.nodes[up]["tier"]
            if tier in tier_index:
                (parents.ultraserver_of, parents.pod_of, parents.spine_of)[tier_index[tier]][i] = \
                    graph.nodes[up]["index"]
    return out
