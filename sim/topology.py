"""The cluster's shape: pools sized from the scenario, a networkx graph, and its compiled arrays.

Graph nodes are instances and the domains and switches above them — never chips. Tiers,
lowest first: instance, ultraserver (UltraServer pools only), pod, spine, cluster. `compile()`
turns the graph into per-pool integer arrays (parent index per tier) that placement uses;
the graph is never walked per event.

A 5 GW Trainium2 campus is ~345k instances and ~440k nodes, so nodes are integers (0 is the
cluster; each pool holds one contiguous block, tier by tier) added in bulk, and `compile()`
reads every edge once into numpy and climbs all instances' parents together, rather than
walking predecessors node by node.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import networkx as nx
import numpy as np

from sim.errors import InputError, Problem
from sim.hardware import Catalogue
from sim.names import TIERS
from sim.scenario.cluster import Cluster, Pool

HOURS_PER_YEAR = 8760.0
INSTANCE, ULTRASERVER, POD, SPINE, CLUSTER = range(5)
TIER_CODE = {name: code for code, name in enumerate(TIERS)}
ROOT = 0  # the cluster node


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
    efa_gbps: float | None = None  # scale-out network per instance (catalogue)
    link_gbytes_per_s: float | None = None  # scale-up link per chip, as the vendor prints it (catalogue)
    purchase_usd: float | None = None  # a pool bought outright: usd_per_h x its life, paid when it comes online

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
    def spines(self) -> int:
        """Spine groups: `pods_per_spine` pods each, the last one possibly partial."""
        return math.ceil(self.pods / self.pods_per_spine)

    @property
    def instance_peak_watts(self) -> float | None:
        if self.chip_watts is None:
            return None
        return self.chips_per_instance * self.chip_watts + (self.host_watts or 0.0)


def effective_usd_per_instance_h(pool: Pool, on_demand: float | None) -> float | None:
    if pool.pricing.reserved is not None:
        return None if on_demand is None else on_demand * (1 - pool.pricing.reserved.discount)
    return on_demand


def life_h(pool: Pool) -> float:
    """Hours from a pool's online to its retire time: what a `purchase` pays for."""
    if pool.retire is None:
        raise AssertionError("a purchased pool's retire time was checked when the scenario loaded")
    return (pool.retire - pool.online) / 3600.0


def _whole(x: float) -> int:
    """floor(x), forgiving the last bits of float error: a budget of exactly N instances buys N."""
    return math.floor(x * (1 + 1e-12))


def size_pools(cluster: Cluster, catalogue: Catalogue,
               problem: Callable[[tuple[str | int, ...], str], Problem]) -> list[PoolShape]:
    """Resolve each pool's sizing key to whole instances (whole UltraServers where they apply).

    instances = count | ultraservers x domain | floor(chips / chips per instance)
              | floor(power / (PUE x (1 + network_fraction) x instance peak W))
              | floor(budget per year / (effective $/h per instance x 8,760 h))
              | floor(purchase / (effective $/h per instance x hours from online to retire)),
    then rounded down to a multiple of the UltraServer size. `problem(loc, message)` builds a
    located error for sizes that resolve to nothing.
    """
    shapes = []
    errors = []
    bad_fanout: set[int] = set()
    overhead = cluster.pue * (1 + cluster.network_fraction)
    for i, pool in enumerate(cluster.pools):
        inst = catalogue.instances[pool.instance]
        assert inst.accelerator is not None and inst.chips is not None  # checked when the scenario loaded
        acc = catalogue.accelerators[inst.accelerator]
        cpi = int(inst.chips)
        domain = catalogue.domain_size(pool.instance)
        host_watts = None if acc.watts is None else cluster.host_fraction * cpi * acc.watts
        per_instance_usd = effective_usd_per_instance_h(pool, inst.on_demand_usd_per_h)
        unit = "UltraServer" if domain > 1 else "instance"
        if pool.count is not None:
            n = pool.count
        elif pool.ultraservers is not None:
            n = pool.ultraservers * domain
        elif pool.chips is not None:
            n = pool.chips // cpi
        elif pool.power is not None:
            if acc.watts is None or host_watts is None:
                raise AssertionError("power sizing without watts was refused when the scenario loaded")
            n = _whole(pool.power / (overhead * (cpi * acc.watts + host_watts)))
        else:
            if pool.pricing.commitment is not None or per_instance_usd is None:
                raise AssertionError(f"{pool.sizing} sizing was checked when the scenario loaded")
            if per_instance_usd <= 0:
                errors.append(problem(("cluster", "pools", i, pool.sizing),
                                      f"cannot size by {pool.sizing}: {pool.instance} costs $0/h at this pricing"))
                continue
            if pool.budget is not None:
                n = _whole(pool.budget / (per_instance_usd * HOURS_PER_YEAR))
            elif pool.purchase is not None:
                n = _whole(pool.purchase / (per_instance_usd * life_h(pool)))
            else:
                raise AssertionError("a pool has exactly one sizing key (checked when the scenario loaded)")
        n -= n % domain
        if n <= 0:
            errors.append(problem(("cluster", "pools", i, pool.sizing),
                                  f"sizing by {pool.sizing} leaves no whole {unit} of {pool.instance}"))
            continue
        usd: float | None
        if pool.pricing.commitment is not None:
            usd = pool.pricing.commitment.usd_per_year / HOURS_PER_YEAR
        else:
            usd = None if per_instance_usd is None else per_instance_usd * n
        per_pod = cluster.topology.fanout.pod
        if domain > 1 and per_pod % domain:
            if domain not in bad_fanout:  # one line per UltraServer size, not one per pool
                bad_fanout.add(domain)
                errors.append(problem(("cluster", "topology", "fanout", "pod"),
                                      f"instances per pod must be a multiple of the UltraServer size {domain} "
                                      f"of {pool.instance}"))
            continue
        shapes.append(PoolShape(i, pool.name, pool.instance, acc.name, cpi, n, domain, per_pod,
                                cluster.topology.fanout.spine, acc.watts, host_watts, acc.bf16_tflops,
                                acc.mfu, usd, inst.efa_gbps, acc.link_gbytes_per_s,
                                None if pool.purchase is None or usd is None else usd * life_h(pool)))
    if errors:
        raise InputError(errors)
    return shapes


# --- the graph -------------------------------------------------------------------------------

@dataclass(frozen=True)
class PoolBlock:
    """Where one pool's nodes are: the first node id of each tier (ids are contiguous per tier)."""

    pool: int
    spine: int
    pod: int
    ultraserver: int  # == instance when the pool has no UltraServer tier
    instance: int
    end: int


def _blocks(shapes: list[PoolShape]) -> list[PoolBlock]:
    blocks = []
    start = ROOT + 1
    for s in shapes:
        pod = start + s.spines
        us = pod + s.pods
        inst = us + s.ultraservers
        end = inst + s.instances
        blocks.append(PoolBlock(s.index, start, pod, us, inst, end))
        start = end
    return blocks


def build_graph(shapes: list[PoolShape]) -> nx.DiGraph:
    """cluster -> spine -> pod -> (ultraserver ->) instance, per pool. Edges point downwards.

    Node ids are integers; every node has `tier`, and all but the cluster `pool` (the pool's
    index) and `index` (its number within its pool and tier); instances also have `chips`.
    `graph.graph["pools"]` names the pools and their catalogue bandwidths, for drawing.
    """
    g: nx.DiGraph[int] = nx.DiGraph(tiers=TIERS, pools=[{"name": s.name, "instance_type": s.instance_type,
                                        "efa_gbps": s.efa_gbps, "link_gbytes_per_s": s.link_gbytes_per_s}
                                       for s in shapes])
    with _collector_paused():
        g.add_node(ROOT, tier="cluster")
        for s, b in zip(shapes, _blocks(shapes), strict=True):
            _add_pool(g, s, b)
    return g


def _add_pool(g: nx.DiGraph, s: PoolShape, b: PoolBlock) -> None:
    p = s.index
    tiers = ((b.spine, s.spines, "spine"), (b.pod, s.pods, "pod"), (b.ultraserver, s.ultraservers, "ultraserver"),
             (b.instance, s.instances, "instance"))
    for first, count, tier in tiers:
        ids = range(first, first + count)
        extra = {"chips": s.chips_per_instance} if tier == "instance" else {}
        g.add_nodes_from(ids, tier=tier, pool=p, **extra)  # shared attributes: the fast path
        nx.set_node_attributes(g, dict(zip(ids, range(count), strict=True)), "index")
    per_spine, per_pod, domain = s.pods_per_spine, s.instances_per_pod, s.domain_size
    g.add_edges_from((ROOT, b.spine + k) for k in range(s.spines))
    g.add_edges_from((b.spine + k // per_spine, b.pod + k) for k in range(s.pods))
    if domain > 1:
        us_per_pod = per_pod // domain
        g.add_edges_from((b.pod + k // us_per_pod, b.ultraserver + k) for k in range(s.ultraservers))
        g.add_edges_from((b.ultraserver + k // domain, b.instance + k) for k in range(s.instances))
    else:
        g.add_edges_from((b.pod + k // per_pod, b.instance + k) for k in range(s.instances))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building: the graph's ~10^6 new dicts would
    otherwise trigger repeated full collections that cost as much as the build itself."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def node_name(graph: nx.DiGraph, node: int) -> str:
    """A readable name: `cluster`, `<pool>/spine3`, `<pool>/us12`, `<pool>/i47`."""
    data = graph.nodes[node]
    if data["tier"] == "cluster":
        return "cluster"
    short = {"spine": "spine", "pod": "pod", "ultraserver": "us", "instance": "i"}[data["tier"]]
    return f"{graph.graph['pools'][data['pool']]['name']}/{short}{data['index']}"


# --- compiled arrays -------------------------------------------------------------------------

@dataclass
class CompiledPool:
    """Integer arrays of one pool: for each instance, the index of its domain at each tier."""

    shape: PoolShape
    ultraserver_of: np.ndarray  # -1 where the pool has no UltraServer tier
    pod_of: np.ndarray
    spine_of: np.ndarray


class GraphShapeError(ValueError):
    """The graph is not the tree `compile()` expects (a bug in whoever built it)."""


def _node_column(graph: nx.DiGraph, key: str, n: int, default: int = -1) -> np.ndarray:
    values = graph.nodes(data=key, default=default)
    if key == "tier":
        # types-networkx: with data=KEY the view yields (node, value) pairs, not (node, dict)
        return np.fromiter((TIER_CODE[t] for _, t in values), dtype=np.int8, count=n)  # type: ignore[index]
    return np.fromiter((v for _, v in values), dtype=np.int64, count=n)


def compile(graph: nx.DiGraph, shapes: list[PoolShape]) -> list[CompiledPool]:  # noqa: A001
    """Read the parents of every instance off the graph into per-pool numpy arrays.

    Every edge is read once; the parent of each node is then an array lookup, and all
    instances climb to the cluster together (at most four steps), so the cost is a few
    passes over the graph's dicts, not a predecessor walk per node.
    """
    n = graph.number_of_nodes()
    ids = np.fromiter(graph.nodes, dtype=np.int64, count=n)
    tier = _node_column(graph, "tier", n)
    pool = _node_column(graph, "pool", n)
    index = _node_column(graph, "index", n)
    if not np.array_equal(ids, np.arange(n)):  # nodes added out of order: columns by node id
        if not np.array_equal(np.sort(ids), np.arange(n)):
            raise GraphShapeError("compile() needs the integer node ids 0..n-1 that build_graph() makes")
        for column in (tier, pool, index):
            column[ids] = column.copy()
    # Read edges through `graph.adjacency()`, not `graph.edges`/`number_of_edges()`: those cache views that
    # point back at the graph, a reference cycle that keeps a campus-sized graph alive until the
    # next full garbage collection instead of freeing it when the caller drops it.
    heads: list[int] = []
    tails: list[int] = []
    for u, children in graph.adjacency():  # (node, dict of children), no view objects
        if children:  # most nodes are instances, with none
            tails += children
            heads += [u] * len(children)
    edges = np.column_stack((np.array(heads, dtype=np.int64), np.array(tails, dtype=np.int64)))
    del heads, tails
    parent = np.full(n, -1, dtype=np.int64)
    parent[edges[:, 1]] = edges[:, 0]
    in_degree = np.bincount(edges[:, 1], minlength=n)
    roots = np.flatnonzero(in_degree == 0)
    if np.any(in_degree > 1) or not np.array_equal(roots, np.flatnonzero(tier == CLUSTER)) or len(roots) != 1:
        raise GraphShapeError("the graph is not a tree under one cluster node")
    if np.any(tier[edges[:, 0]] <= tier[edges[:, 1]]):
        raise GraphShapeError("an edge does not point down the tiers")
    below = edges[tier[edges[:, 0]] != CLUSTER]
    if np.any(pool[below[:, 0]] != pool[below[:, 1]]):
        raise GraphShapeError("an edge joins two pools below the cluster")

    instances = np.flatnonzero(tier == INSTANCE)
    ancestor = {ULTRASERVER: np.full(len(instances), -1, dtype=np.int64),
                POD: np.full(len(instances), -1, dtype=np.int64),
                SPINE: np.full(len(instances), -1, dtype=np.int64)}
    up = parent[instances]
    for _ in range(CLUSTER):  # at most instance -> ultraserver -> pod -> spine -> cluster
        t = tier[up]
        for code, column in ancestor.items():
            hit = t == code
            column[hit] = index[up[hit]]
        up = np.where(t == CLUSTER, up, parent[up])
    if np.any(tier[up] != CLUSTER):
        raise GraphShapeError("an instance does not reach the cluster within the tiers")

    out = []
    inst_pool = pool[instances]
    inst_index = index[instances]
    for s in shapes:
        mine = inst_pool == s.index
        order = inst_index[mine]
        if len(order) != s.instances or not np.array_equal(np.sort(order), np.arange(s.instances)):
            raise GraphShapeError(f"pool {s.name}: the graph's instances are not 0..{s.instances - 1}")
        arrays = []
        for code in (ULTRASERVER, POD, SPINE):
            a = np.empty(s.instances, dtype=np.int64)
            a[order] = ancestor[code][mine]
            arrays.append(a)
        has_us = arrays[0] >= 0
        if not (np.all(has_us) if s.domain_size > 1 else not np.any(has_us)) or np.any(arrays[1] < 0) \
                or np.any(arrays[2] < 0):
            raise GraphShapeError(f"pool {s.name}: an instance misses a tier")
        out.append(CompiledPool(s, *arrays))
    return out
