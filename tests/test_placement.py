"""Placement: known answers by hand, brute-force oracles under hypothesis, and the CLI.

Pools are built the way a run builds them (scenario -> `topology.size_pools` -> networkx graph
-> `topology.compile`), with small fan-outs so a few dozen instances span several pods and
spine groups. The oracles below recompute everything from the free-chip array and the graph,
never from PoolState's own counters.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import math
import random
import tempfile
import typing
import unittest.mock
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from conftest import SCENARIOS, run_cli, write_scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import topology
from sim.placement import (
    CLUSTER,
    INSTANCE,
    PLACEMENTS,
    POD,
    SPINE,
    TIER_NAMES,
    ULTRASERVER,
    Allocation,
    Buckets,
    PoolState,
)
from sim.scenario.loader import load
from sim.scenario.scheduler import PLACEMENT_NAMES, Placement

CPI = 16  # chips per trn2.48xlarge / trn2u.48xlarge instance
TIERS = (ULTRASERVER, POD, SPINE)
TIER_OF_NAME = {name: t for t, name in enumerate(TIER_NAMES)}

SCENARIO = """\
name: placement
seed: 1
cluster:
  topology: {{fanout: {{pod: {pod}, spine: {spine}}}}}
  pools:
    - {{name: p, instance: {instance}, count: {count}}}
workload:
  - jobs: [{{id: a, submit: 0s, chips: 1, duration: 1h}}]
"""


@functools.cache
def compiled_pool(instance: str, count: int, pod: int, spine: int):
    """The compiled arrays of a one-pool cluster, and each instance's parents read off the graph."""
    with tempfile.TemporaryDirectory() as tmp:
        loaded = load(write_scenario(Path(tmp), SCENARIO.format(instance=instance, count=count, pod=pod,
                                                                spine=spine)))
    shapes = topology.size_pools(loaded.model.cluster, loaded.catalogue, loaded.problem)
    graph = topology.build_graph(shapes)
    compiled = topology.compile(graph, shapes)[0]
    return compiled, graph_parents(graph, count)


def graph_parents(graph: nx.DiGraph, n: int) -> dict[int, list[int]]:
    """{tier: parent index of each instance} for the tiers above instances, walking the graph."""
    parents: dict[int, list[int]] = {t: [-1] * n for t in TIERS}
    for node, data in graph.nodes(data=True):
        if data["tier"] != "instance":
            continue
        up = node
        while preds := list(graph.predecessors(up)):
            (up,) = preds
            tier = TIER_OF_NAME[graph.nodes[up]["tier"]]
            if tier in parents:
                parents[tier][data["index"]] = graph.nodes[up]["index"]
    return parents


def new_pool(instance: str, count: int, pod: int = 64, spine: int = 16,
             used: dict[int, int] | None = None) -> PoolState:
    """A fresh pool, with `used[i]` chips already taken on instance i."""
    compiled, _ = compiled_pool(instance, count, pod, spine)
    pool = PoolState(compiled)
    for i, chips in (used or {}).items():
        pool.occupy(Allocation([i], chips, INSTANCE))
    return pool


# --- known answers -------------------------------------------------------------------------
#
# 8 UltraServers of trn2u.48xlarge (u0..u7 = instances 4u..4u+3), 2 UltraServers per pod (p0..p3),
# 2 pods per spine group (s0 = instances 0-15, s1 = 16-31). Chips already in use:
ULTRA_USED = {0: 16, 4: 15, 5: 6, 12: 8, 13: 16, 14: 16, 20: 12, 24: 16, 25: 16, 26: 16}
# free chips: i0 0, i4 1, i5 10, i12 8, i13 0, i14 0, i20 4, i24-26 0, every other instance 16.
# whole-free instances per UltraServer: u0 3, u1 2, u2 4, u3 1, u4 4, u5 3, u6 1, u7 4;
# per pod: p0 5, p1 5, p2 7, p3 5; per spine group: s0 10, s1 12; in the pool: 22.
WHOLE_ULTRA = [1, 2, 3, 6, 7, 8, 9, 10, 11, 15, 16, 17, 18, 19, 21, 22, 23, 27, 28, 29, 30, 31]

ULTRA_CASES = [
    # (placement, chips, expected instances, expected tier)
    ("first_fit", 1, [1], "instance"),
    ("first_fit", 5, [1], "instance"),
    ("first_fit", 16, [1], "instance"),
    ("first_fit", 32, [1, 2], "ultraserver"),
    ("first_fit", 64, [1, 2, 3, 6], "pod"),
    ("first_fit", 112, [1, 2, 3, 6, 7, 8, 9], "spine"),
    ("first_fit", 176, [1, 2, 3, 6, 7, 8, 9, 10, 11, 15, 16], "cluster"),
    ("first_fit", 23 * 16, None, None),
    ("best_fit", 1, [4], "instance"),      # exactly 1 free
    ("best_fit", 2, [20], "instance"),     # 4 free: the tightest with room
    ("best_fit", 5, [12], "instance"),     # 8 free beats i5's 10
    ("best_fit", 9, [5], "instance"),
    ("best_fit", 11, [1], "instance"),     # only whole instances have 11: the lowest
    ("best_fit", 16, [1], "instance"),
    ("best_fit", 64, [1, 2, 3, 6], "pod"),  # whole instances: lowest index, like first_fit
    ("best_fit", 23 * 16, None, None),
    ("topology_aware", 1, [4], "instance"),
    ("topology_aware", 5, [12], "instance"),
    ("topology_aware", 16, [15], "instance"),  # breaks u3 (1 whole-free), keeping fuller UltraServers whole
    ("topology_aware", 11, [15], "instance"),
    ("topology_aware", 17, [6, 7], "ultraserver"),  # u1: fewest whole-free (2) that holds 2
    ("topology_aware", 32, [6, 7], "ultraserver"),
    ("topology_aware", 48, [1, 2, 3], "ultraserver"),  # u0 and u5 both have 3: lowest index
    ("topology_aware", 64, [8, 9, 10, 11], "ultraserver"),  # u2, the first whole-free UltraServer
    ("topology_aware", 80, [1, 2, 3, 6, 7], "pod"),  # p0, p1, p3 have 5: p0
    ("topology_aware", 112, [16, 17, 18, 19, 21, 22, 23], "pod"),  # only p2 has 7
    ("topology_aware", 128, [1, 2, 3, 6, 7, 8, 9, 10], "spine"),  # no pod has 8; s0 (10) fits best
    ("topology_aware", 176, [16, 17, 18, 19, 21, 22, 23, 27, 28, 29, 30], "spine"),  # only s1 has 11
    ("topology_aware", 208, [1, 2, 3, 6, 7, 8, 9, 10, 11, 15, 16, 17, 18], "cluster"),
    ("topology_aware", 22 * 16, WHOLE_ULTRA, "cluster"),
    ("topology_aware", 23 * 16, None, None),
]

# 12 plain trn2.48xlarge instances (no UltraServer tier), 4 per pod (p0..p2), 2 pods per spine
# group (s0 = instances 0-7, s1 = 8-11). Chips in use: i0 16, i1 4, i5 16, i6 2, so free chips
# are i0 0, i1 12, i5 0, i6 14, others 16; whole-free per pod: p0 2, p1 2, p2 4; per spine: 4, 4.
PLAIN_USED = {0: 16, 1: 4, 5: 16, 6: 2}
PLAIN_CASES = [
    ("first_fit", 12, [1], "instance"),
    ("first_fit", 14, [2], "instance"),
    ("first_fit", 32, [2, 3], "pod"),
    ("first_fit", 48, [2, 3, 4], "spine"),
    ("first_fit", 80, [2, 3, 4, 7, 8], "cluster"),
    ("best_fit", 12, [1], "instance"),
    ("best_fit", 13, [6], "instance"),
    ("best_fit", 14, [6], "instance"),
    ("best_fit", 16, [2], "instance"),
    ("best_fit", 48, [2, 3, 4], "spine"),
    ("topology_aware", 14, [6], "instance"),
    ("topology_aware", 16, [2], "instance"),  # p0 and p1 both have 2 whole-free: p0
    ("topology_aware", 32, [2, 3], "pod"),
    ("topology_aware", 48, [8, 9, 10], "pod"),  # only p2 holds 3
    ("topology_aware", 64, [8, 9, 10, 11], "pod"),
    ("topology_aware", 80, [2, 3, 4, 7, 8], "cluster"),  # no spine group has 5
    ("topology_aware", 9 * 16, None, None),
]


def check_known(pool: PoolState, name: str, chips: int, instances: list[int] | None, tier: str | None) -> None:
    before = pool.free_per_instance()
    alloc = PLACEMENTS[name](pool, chips)
    if instances is None:
        assert alloc is None
        assert pool.free_per_instance() == before, "a refused placement changed the pool"
        return
    assert alloc is not None
    assert (alloc.instances, TIER_NAMES[alloc.tier]) == (instances, tier)
    assert alloc.chips_each == (chips if chips <= CPI else CPI)
    pool.release(alloc)
    assert pool.free_per_instance() == before, "release did not undo the placement"


@pytest.mark.parametrize(("name", "chips", "instances", "tier"), ULTRA_CASES)
def test_known_answers_ultraservers(name, chips, instances, tier):
    pool = new_pool("trn2u.48xlarge", 32, pod=8, spine=2, used=ULTRA_USED)
    assert [i for i in range(pool.n) if pool.free(i) == CPI] == WHOLE_ULTRA
    check_known(pool, name, chips, instances, tier)


@pytest.mark.parametrize(("name", "chips", "instances", "tier"), PLAIN_CASES)
def test_known_answers_plain_instances(name, chips, instances, tier):
    pool = new_pool("trn2.48xlarge", 12, pod=4, spine=2, used=PLAIN_USED)
    check_known(pool, name, chips, instances, tier)


def test_topology_aware_fills_one_ultraserver_after_another():
    """Eight 4-chip jobs, then 64-chip jobs, on an empty pool: the small jobs pack one instance
    and then break a second one in the same UltraServer, so the others stay whole for the
    64-chip jobs."""
    pool = new_pool("trn2u.48xlarge", 12, pod=8, spine=2)
    place = PLACEMENTS["topology_aware"]
    small = [place(pool, 4).instances for _ in range(8)]
    assert small == [[0]] * 4 + [[1]] * 4  # best fit packs instance 0, then breaks 1 of the same UltraServer
    big = [place(pool, 64) for _ in range(3)]
    assert [(a.instances, a.tier) for a in big[:2]] == [([4, 5, 6, 7], ULTRASERVER), ([8, 9, 10, 11], ULTRASERVER)]
    assert big[2] is None


# --- brute-force oracles -------------------------------------------------------------------

def tiers_present(instance: str) -> tuple[int, ...]:
    return TIERS if instance == "trn2u.48xlarge" else (POD, SPINE)


def brute_tier(instances: list[int], parents: dict[int, list[int]], present: tuple[int, ...]) -> int:
    if len(instances) == 1:
        return INSTANCE
    for t in present:
        if len({parents[t][i] for i in instances}) == 1:
            return t
    return CLUSTER


def oracle(name: str, free: list[int], chips: int, parents: dict[int, list[int]],
           present: tuple[int, ...]) -> tuple[list[int], int] | None:
    """What each placement should return, from the free-chip array alone."""
    n = len(free)
    if chips <= CPI:
        fits = [i for i in range(n) if free[i] >= chips]
        if not fits:
            return None
        if name == "first_fit":
            return [fits[0]], INSTANCE
        tightest = min(free[i] for i in fits)
        if name == "topology_aware" and tightest == CPI:
            lowest = parents[present[0]]
            whole_in = Counter(lowest[i] for i in fits)
            domain = min(whole_in, key=lambda d: (whole_in[d], d))
            return [next(i for i in fits if lowest[i] == domain)], INSTANCE
        return [next(i for i in fits if free[i] == tightest)], INSTANCE
    k = math.ceil(chips / CPI)
    whole = [i for i in range(n) if free[i] == CPI]
    if len(whole) < k:
        return None
    if name != "topology_aware":
        return whole[:k], brute_tier(whole[:k], parents, present)
    for t in present:
        whole_in = Counter(parents[t][i] for i in whole)
        roomy = [d for d, c in whole_in.items() if c >= k]
        if roomy:
            domain = min(roomy, key=lambda d: (whole_in[d], d))
            return [i for i in whole if parents[t][i] == domain][:k], t
    return whole[:k], CLUSTER


def check_tree(pool: PoolState) -> None:
    """The 64-ary max tree: leaves are the free chips (zero past the last instance), each byte
    above is the maximum of its 64 below, and the top is one byte; beside it, the whole-free
    instances counted per block of 64 leaves."""
    levels = pool._levels
    free = pool.free_per_instance()
    blocks = max(1, len(levels[0]) // 64)
    assert list(pool._whole_in) == [sum(f == pool.cpi for f in free[b * 64 : b * 64 + 64]) for b in range(blocks)]
    assert list(levels[0][: pool.n]) == pool.free_per_instance()
    assert not any(levels[0][pool.n :]), "padding leaves must be 0"
    for below, level in itertools.pairwise(levels):
        assert len(below) % 64 == 0
        maxima = [max(below[b : b + 64]) for b in range(0, len(below), 64)]
        assert list(level[: len(maxima)]) == maxima and not any(level[len(maxima) :]), "64-ary max tree"
    assert len(levels[-1]) == 1


def check_counters(pool: PoolState, parents: dict[int, list[int]], present: tuple[int, ...]) -> None:
    """Every counter of the pool against a recomputation from its free chips and the graph."""
    free = pool.free_per_instance()
    n = pool.n
    assert all(0 <= f <= CPI for f in free)
    assert pool.free_chips == sum(free)
    assert pool.whole_free == sum(f == CPI for f in free)
    check_tree(pool)
    for t, compiled in ((ULTRASERVER, pool.ultraserver_of), (POD, pool.pod_of), (SPINE, pool.spine_of)):
        assert compiled == parents[t], f"compiled {TIER_NAMES[t]} parents differ from the graph"
    if not pool.tracked:
        return
    check_buckets(pool.by_free, free, CPI + 1)
    assert [d.tier for d in pool.domains] == list(present)
    for d in pool.domains:
        parent = parents[d.tier]
        assert d.parent == parent
        domains = max(parent) + 1
        members = [[i for i in range(n) if parent[i] == x] for x in range(domains)]
        assert [range(s, s + size) for s, size in zip(d.start, d.size, strict=True)] == \
            [range(m[0], m[-1] + 1) for m in members]
        whole = [sum(free[i] == CPI for i in m) for m in members]
        assert list(d.whole_free) == whole, f"{TIER_NAMES[d.tier]} whole-free counters"
        check_buckets(d.by_count, whole, max(d.size) + 1)


def check_buckets(buckets: Buckets, keys: list[int], m: int) -> None:
    """Bucket b holds exactly the elements whose key is b, and bit b of the mask says so."""
    for b in range(m):
        assert list(buckets.members(b)) == [i for i, key in enumerate(keys) if key == b], f"bucket {b}"
        assert bool(buckets.mask >> b & 1) == (b in keys), f"mask bit {b}"
    assert buckets.mask >> m == 0


# --- hypothesis ----------------------------------------------------------------------------

@st.composite
def pools(draw) -> tuple[str, int, int, int]:
    """(instance, count, instances per pod, pods per spine): a few pods and spine groups."""
    if draw(st.booleans()):
        return "trn2u.48xlarge", 4 * draw(st.integers(1, 12)), 4 * draw(st.integers(1, 3)), draw(st.integers(1, 3))
    return "trn2.48xlarge", draw(st.integers(1, 40)), draw(st.integers(1, 8)), draw(st.integers(1, 3))


def job_sizes(count: int):
    return st.one_of(st.integers(1, CPI), st.integers(CPI + 1, CPI * min(count + 1, 24)),
                     st.sampled_from([CPI * 2, CPI * 4, CPI * 8]))


def bulk_ops(rng: random.Random, n: int, count: int, release: float) -> list[tuple]:
    """`n` operations drawn with `random`: long, varied sequences from a few hypothesis choices."""
    names = sorted(PLACEMENTS)
    ops: list[tuple] = []
    for _ in range(n):
        if rng.random() < release:
            ops.append(("release", rng.randrange(10**6)))
        elif rng.random() < 0.7:
            ops.append(("place", rng.choice(names), rng.randint(1, CPI)))
        else:
            ops.append(("place", rng.choice(names), rng.randint(CPI + 1, CPI * max(2, min(count, 16)))))
    return ops


@st.composite
def sequences(draw):
    """A pool and a list of operations: ("place", placement, chips) or ("release", which):
    a short list hypothesis can shrink, then maybe a long seeded one."""
    config = draw(pools())
    ops = draw(st.lists(st.one_of(
        st.tuples(st.just("place"), st.sampled_from(sorted(PLACEMENTS)), job_sizes(config[1])),
        st.tuples(st.just("release"), st.integers(0, 10**6)),
    ), min_size=1, max_size=30))
    if draw(st.booleans()):
        ops += bulk_ops(random.Random(draw(st.integers(0, 2**32 - 1))), draw(st.integers(0, 150)), config[1],
                        release=draw(st.sampled_from([0.2, 0.4, 0.6])))
    track_at = draw(st.none() | st.integers(0, len(ops)))  # first_fit alone never tracks
    copy_at = draw(st.none() | st.integers(0, len(ops)))
    return config, ops, track_at, copy_at


SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(sequences())
def test_counters_agree_with_brute_force(case):
    """Random allocate/release sequences mixing all placements: every placement returns what the
    oracle computes from the free array, and every counter matches a recomputation."""
    check_sequence(case)


@SETTINGS
@given(sequences())
def test_counters_agree_with_brute_force_in_bulk(case):
    """The same with the bulk path (numpy updates of the tree, the buckets and the tier counters)
    taken from two whole instances on, so that small pools exercise it."""
    import sim.placement as placement_module

    with unittest.mock.patch.object(placement_module, "BULK", 2):
        check_sequence(case)


def check_sequence(case) -> None:
    (instance, count, pod, spine), ops, track_at, copy_at = case
    compiled, parents = compiled_pool(instance, count, pod, spine)
    present = tiers_present(instance)
    pool = PoolState(compiled)
    live: list[Allocation] = []
    original = None
    for step, op in enumerate(ops):
        if step == track_at:
            pool.track()
        if step == copy_at:  # carry on with a copy (a backfill projection); the original must not move
            original, frozen = pool, pool.free_per_instance()
            pool = pool.copy()
        if op[0] == "release":
            if live:
                pool.release(live.pop(op[1] % len(live)))
        else:
            _, name, chips = op
            expected = oracle(name, pool.free_per_instance(), chips, parents, present)
            alloc = PLACEMENTS[name](pool, chips)
            got = None if alloc is None else (alloc.instances, alloc.tier)
            assert got == expected, f"{name}({chips}) on {pool.free_per_instance()}"
            if alloc is not None:
                assert alloc.tier == pool.tier_of(alloc.instances)
                live.append(alloc)
        check_counters(pool, parents, present)
    for alloc in live:
        pool.release(alloc)
    check_counters(pool, parents, present)
    assert pool.free_chips == pool.capacity and pool.whole_free == pool.n
    if original is not None:
        assert original.free_per_instance() == frozen, "placing on a copy changed the original"
        check_counters(original, parents, present)


@SETTINGS
@given(sequences())
def test_topology_aware_uses_the_lowest_tier_with_room(case):
    """Before each topology_aware placement, find by brute force the lowest tier with a domain
    holding enough whole-free instances; the job must land exactly there."""
    (instance, count, pod, spine), ops, _, _ = case
    compiled, parents = compiled_pool(instance, count, pod, spine)
    pool = PoolState(compiled)
    live: list[Allocation] = []
    for op in ops:
        if op[0] == "release":
            if live:
                pool.release(live.pop(op[1] % len(live)))
            continue
        chips = op[2]
        free = pool.free_per_instance()
        k = math.ceil(chips / CPI)
        if chips <= CPI:
            had_room = INSTANCE if max(free) >= chips else None
        elif sum(f == CPI for f in free) < k:
            had_room = None
        else:
            had_room = CLUSTER
            for t in tiers_present(instance):
                if any(c >= k for c in Counter(parents[t][i] for i in range(count) if free[i] == CPI).values()):
                    had_room = t
                    break
        alloc = PLACEMENTS[op[1]](pool, chips)  # the other placements make varied states
        if op[1] == "topology_aware":
            assert (None if alloc is None else alloc.tier) == had_room, f"{chips} chips on {free}"
        if alloc is not None:
            assert len(alloc.instances) == max(k, 1) and all(free[i] >= alloc.chips_each for i in alloc.instances)
            live.append(alloc)


def test_buckets_against_python_sets():
    """Random adds, discards and moves on a few buckets, checked against Python sets, for sizes
    around the 64-ary levels' boundaries."""
    rng = random.Random(4)
    m = 3
    for n in (1, 63, 64, 65, 4095, 4096, 4097, 300_000):
        keys = [rng.randrange(-1, m) if rng.random() < min(1.0, 60 / n) else -1 for _ in range(n)]
        sets = [{i for i, key in enumerate(keys) if key == b} for b in range(m)]
        buckets = Buckets(keys, m)
        for _ in range(300):
            i, b = rng.randrange(n), rng.randrange(m)
            if i in sets[b]:
                other = (b + 1) % m
                if i in sets[other]:
                    continue
                if rng.random() < 0.5:
                    buckets.move(i, b, other)
                else:
                    buckets.discard(b, i)
                    buckets.add(other, i)
                sets[b].discard(i)
                sets[other].add(i)
            elif not any(i in s for s in sets):
                buckets.add(b, i)
                sets[b].add(i)
            lo = rng.randrange(n + 1)
            for b, members in enumerate(sets):
                assert buckets.first(b) == min(members, default=-1)
                assert buckets.next_at_least(b, lo) == min((x for x in members if x >= lo), default=-1)
                assert bool(buckets.mask >> b & 1) == bool(members)
        copy = buckets.copy()
        for b in range(m):
            for x in list(sets[b])[:5]:
                copy.discard(b, x)
            assert list(buckets.members(b)) == sorted(sets[b]), "a change to a copy reached the original"


def test_every_placement_name_is_registered():
    assert set(PLACEMENTS) == set(PLACEMENT_NAMES) == set(typing.get_args(Placement))
    for fn in PLACEMENTS.values():
        assert "Cost" in (fn.__doc__ or ""), f"{fn.__name__} must name its cost"


# --- through the CLI -----------------------------------------------------------------------

def test_topology_aware_is_at_least_as_efficient_as_first_fit(tmp_path):
    """quickstart (1, 4, 16 and 64-chip jobs on 4 UltraServers): topology_aware keeps 64-chip jobs
    inside one UltraServer more often, so placement efficiency is no worse than first_fit's."""
    def run(placement: str) -> dict:
        out = tmp_path / placement
        run_cli("run", SCENARIOS / "quickstart.yaml", "--set", f"scheduler.placement={placement}",
                "--out", out, "--quiet", check=True)
        return json.loads((out / "summary.json").read_text())

    with ThreadPoolExecutor(3) as pool:
        first, best, aware = pool.map(run, ["first_fit", "best_fit", "topology_aware"])
    for summary in (first, best, aware):
        assert summary["jobs_unstarted"] == 0 and summary["jobs_completed"] > 2500
    assert aware["placement_efficiency"] >= first["placement_efficiency"]
    assert aware["placement_efficiency"] > 0.97  # first_fit: about 0.96 at seed 7


def test_unknown_placement_is_refused(tmp_path):
    text = (SCENARIOS / "quickstart.yaml").read_text().replace("placement: first_fit", "placement: best_fitt")
    path = write_scenario(tmp_path, text)
    by_set = run_cli("run", SCENARIOS / "quickstart.yaml", "--set", "scheduler.placement=topology_awre",
                     "--out", tmp_path / "a", "--quiet")
    in_file = run_cli("validate", path)
    assert by_set.returncode == 2 and in_file.returncode == 2
    assert by_set.stderr.splitlines() == [
        "--set scheduler.placement: unknown placement 'topology_awre' (did you mean 'topology_aware'?); "
        "use first_fit, best_fit or topology_aware"]
    line = text[: text.index("placement: best_fitt")].count("\n") + 1
    (message,) = in_file.stderr.splitlines()
    assert message.startswith(f"{path}:{line}:") and message.endswith(
        "scheduler.placement: unknown placement 'best_fitt' (did you mean 'best_fit'?); "
        "use first_fit, best_fit or topology_aware"), message
    assert not (tmp_path / "a").exists()


# --- the bulk path for large whole-instance allocations -----------------------------------------

@pytest.mark.parametrize(("seed", "name"), [(1, "first_fit"), (2, "first_fit"), (3, "first_fit"),
                                           (4, "best_fit"), (5, "topology_aware"), (6, "topology_aware")])
def test_bulk_whole_instance_updates_match_one_instance_at_a_time(seed, name, monkeypatch):
    """Placement and release of >= BULK instances update the tree (and, on tracked pools, the
    buckets and tier counters) by numpy; the result must be the instances, tree and counters
    that one update per instance gives."""
    import sim.placement as placement_module

    rng = random.Random(seed)
    count = rng.choice([1000, 1024, 1004])  # a power of two, and not
    bulk, single = new_pool("trn2u.48xlarge", count), new_pool("trn2u.48xlarge", count)
    place = PLACEMENTS[name]
    monkeypatch.setattr(placement_module, "_FEW_DOMAINS", seed % 2 * 64)  # domains in bulk, or one by one
    live: list[tuple[Allocation, Allocation]] = []
    for _ in range(400):
        if live and rng.random() < 0.45:
            a, b = live.pop(rng.randrange(len(live)))
            bulk.release(a)
            monkeypatch.setattr(placement_module, "BULK", 10**9)
            single.release(b)
            monkeypatch.setattr(placement_module, "BULK", 32)
        else:
            chips = rng.choice([1, 7, 16, 100, 512, 1024, 4096])
            a = place(bulk, chips)
            monkeypatch.setattr(placement_module, "BULK", 10**9)
            b = place(single, chips)
            monkeypatch.setattr(placement_module, "BULK", 32)
            assert (a is None) == (b is None)
            if a is not None:
                assert (a.instances, a.chips_each, a.tier) == (b.instances, b.chips_each, b.tier)
                live.append((a, b))
        bulk._flush()  # a deferred release is written (test_deferred_release_... checks deferring)
        assert bulk._levels == single._levels
        assert (bulk.free_chips, bulk.whole_free) == (single.free_chips, single.whole_free)
        if name != "first_fit":
            assert bulk.by_free.words == single.by_free.words and bulk.by_free.mask == single.by_free.mask
            for a_tier, b_tier in zip(bulk.domains, single.domains, strict=True):
                assert a_tier.whole_free == b_tier.whole_free
                assert (a_tier.by_count.words, a_tier.by_count.mask) == (b_tier.by_count.words, b_tier.by_count.mask)
        assert bulk.whole_free == sum(f == CPI for f in bulk.free_per_instance())
        check_tree(bulk)


@pytest.mark.parametrize("seed", [4, 5])
def test_large_pool_searches_match_brute_force(seed):
    """On a pool of four tree levels, with scattered use: `first_with` and `lowest_whole_free`
    (which reads only the blocks its per-block counts point to) against a scan of the free chips, after updates up and down."""
    rng = random.Random(seed)
    count = 40_000  # 40,000 leaves -> 625 -> 10 -> 1
    pool = new_pool("trn2u.48xlarge", count, pod=64, spine=16)
    assert len(pool._levels) == 4
    for _ in range(3):
        for i in rng.sample(range(count), 12_000):
            pool._set(i, rng.choice([0, 0, 3, 15, CPI]))
        free = pool.free_per_instance()
        check_tree(pool)
        assert pool.whole_free == sum(f == CPI for f in free)
        for chips in (1, 4, 15, 16):
            assert pool.first_with(chips) == next((i for i, f in enumerate(free) if f >= chips), -1)
        whole = [i for i, f in enumerate(free) if f == CPI]
        for k in (1, 33, 5_000, len(whole)):
            assert pool.lowest_whole_free(k).tolist() == whole[:k]


def test_instances_beyond_a_byte_are_refused():
    compiled, _ = compiled_pool("trn2.48xlarge", 4, 64, 16)
    compiled.shape = dataclasses.replace(compiled.shape, chips_per_instance=256)
    with pytest.raises(ValueError, match="256 chips per instance"):
        PoolState(compiled)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(count=st.sampled_from([1, 3, 64, 65, 700, 4096, 4100]), seed=st.integers(0, 2**32 - 1),
       density=st.sampled_from([0.0, 0.01, 0.3, 0.9, 1.0]), bulk=st.booleans())
def test_lowest_whole_free_against_brute_force(count, seed, density, bulk):
    """`lowest_whole_free(k, lo)` returns the k lowest-index whole-free instances at or after lo,
    whatever the pool's size and the free instances' layout, after updates one instance at a time
    or in bulk (`_fill`)."""
    rng = random.Random(seed)
    pool = new_pool("trn2.48xlarge", count, pod=64, spine=16)
    taken = sorted(rng.sample(range(count), round(count * (1 - density))))
    if bulk and taken:
        pool._fill(np.asarray(taken, dtype=np.int64), 0)
        back = sorted(rng.sample(taken, len(taken) // 3))
        if back:
            pool._fill(np.asarray(back, dtype=np.int64), CPI)
    else:
        for i in taken:
            pool._set(i, rng.choice([0, 0, 5, 15]))
    check_tree(pool)
    free = pool.free_per_instance()
    for _ in range(6):
        lo = rng.choice([0, 0, rng.randrange(count), count - 1])
        whole = [i for i in range(lo, count) if free[i] == CPI]
        if not whole:
            continue
        k = rng.choice([1, 2, 63, 64, 65, len(whole), rng.randint(1, len(whole))])
        k = min(k, len(whole))
        assert pool.lowest_whole_free(k, lo).tolist() == whole[:k], (k, lo)
        fused, apart = pool.copy(), pool.copy()  # taking them: the fused path against find, then fill
        assert fused.take_lowest_whole(k, lo).tolist() == whole[:k]
        apart._fill(apart.lowest_whole_free(k, lo), 0)
        apart.free_chips -= k * CPI
        assert fused._levels == apart._levels and fused._whole_in == apart._whole_in
        assert (fused.free_chips, fused.whole_free) == (apart.free_chips, apart.whole_free)
        check_tree(fused)


class EagerPool(PoolState):
    """The reference for deferred releases: every release written in the tree at once."""

    def release(self, alloc: Allocation) -> None:
        super().release(alloc)
        self._flush()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(count=st.integers(40, 700), seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 120),
       bulk=st.sampled_from([2, 32]), few=st.sampled_from([0, 2, 32]))
def test_deferred_release_places_as_an_immediate_one(count, seed, steps, bulk, few):
    """A large release on a first_fit pool is written in the tree lazily, and a following bulk
    take claims its instances (`PoolState._claim`); the failure process parks the release in its
    instance -> job map the same way (`PoolFailures.released`, `reclaimed`). Every placement,
    count, the map's jobs on every instance, and at the end the tree and block counts are those
    of a pool that writes every release at once. The operations mimic the campus, driven through
    the engine's pool capacity: jobs of many instances stopped by a failure on one of them
    (release, that instance down, the same job placed again), ends, repairs, small jobs and reads
    of the tree."""
    import sim.placement as placement_module
    from sim.engine.capacity import PoolCapacity
    from sim.engine.observers import PowerMeter
    from sim.engine.plan import PowerModel
    from sim.failures import PoolFailures

    rng = random.Random(seed)
    compiled, _ = compiled_pool("trn2.48xlarge", count, 64, 16)
    with (unittest.mock.patch.object(placement_module, "BULK", bulk),
          unittest.mock.patch.object(placement_module, "_FEW_CLAIMED", few)):  # instances changed one by one
        lazy, eager = PoolState(compiled), EagerPool(compiled)
        process = PoolFailures(0, count, CPI, 3600.0, 60.0, np.random.default_rng(seed))
        cap = PoolCapacity([lazy], PLACEMENTS["first_fit"], (1.0,) * 5, [process], PowerMeter(PowerModel(None, [0.0])))
        live: dict[int, tuple[Allocation, Allocation, int]] = {}  # job -> (lazy's, eager's, chips)
        down: list[int] = []
        jobs = itertools.count()

        def place(j: int, chips: int) -> None:
            b = PLACEMENTS["first_fit"](eager, chips)
            if b is None:
                assert not lazy.can_place(chips)
                return
            a, _ = cap.take(j, 0, chips, None)
            assert (a.instances, a.tier) == (b.instances, b.tier), chips
            live[j] = (a, b, chips)

        def stop(j: int) -> tuple[Allocation, Allocation, int]:
            a, b, chips = live.pop(j)
            cap.give_back(j, 0, a, a.chips)
            eager.release(b)
            return a, b, chips

        for _ in range(steps):
            op = rng.random()
            whole = [j for j, (_, b, _) in live.items() if b.chips_each == CPI]
            if op < 0.35 and whole:  # a failure: the job on one instance stops and is placed again
                j = rng.choice(whole)
                i = rng.choice(live[j][1].instances)
                assert process.jobs_on(i) == [j]
                _, _, chips = stop(j)
                process.take(i)
                cap.instance_down(0, i)
                eager.occupy(Allocation([i], CPI, INSTANCE))
                down.append(i)
                place(j, chips)
            elif op < 0.5 and live:  # a job ends
                stop(rng.choice(list(live)))
            elif op < 0.6 and down:  # a repair
                i = down.pop(rng.randrange(len(down)))
                cap.instance_up(0, i)
                eager.release(Allocation([i], CPI, INSTANCE))
            elif op < 0.65:  # something reads the tree
                assert lazy.free(rng.randrange(count)) is not None
            elif op < 0.75:
                place(next(jobs), rng.randint(1, CPI))
            else:
                place(next(jobs), CPI * rng.randint(1, max(1, count // 3)))
            assert (lazy.free_chips, lazy.whole_free) == (eager.free_chips, eager.whole_free)
            assert lazy.can_place(CPI * 40) == eager.can_place(CPI * 40)
            on: dict[int, set[int]] = {}
            for j, (_, b, _) in live.items():
                for i in b.instances:
                    on.setdefault(i, set()).add(j)
            assert all(set(process.jobs_on(i)) == on.get(i, set()) for i in range(count))
        assert lazy.free_per_instance() == eager.free_per_instance()  # (this writes what was deferred)
        assert lazy._levels == eager._levels and lazy._whole_in == eager._whole_in
        check_tree(lazy)


def test_a_claimed_release_of_another_owner_is_written_whole_in_the_failure_map():
    """The failure map writes only a difference when the job takes back its own release; a take
    that claims instances released by someone else (here: a block taken out and given back
    outside the engine, as a pool going offline and online does) is written whole."""
    from sim.engine.capacity import PoolCapacity
    from sim.engine.observers import PowerMeter
    from sim.engine.plan import PowerModel
    from sim.failures import PoolFailures

    compiled, _ = compiled_pool("trn2.48xlarge", 300, 64, 16)
    pool = PoolState(compiled)
    process = PoolFailures(0, 300, CPI, 3600.0, 60.0, np.random.default_rng(1))
    cap = PoolCapacity([pool], PLACEMENTS["first_fit"], (1.0,) * 5, [process], PowerMeter(PowerModel(None, [0.0])))
    a, _ = cap.take(7, 0, 100 * CPI, None)  # job 7 on instances 0-99
    cap.give_back(7, 0, a, a.chips)  # deferred in the pool, parked in the map
    pool.occupy(Allocation(list(range(50)), CPI, CLUSTER))  # taken from outside (this writes job 7's release)
    outside = Allocation(list(range(150, 250)), CPI, CLUSTER)
    pool.occupy(outside)
    pool.release(outside)  # deferred again, with no owner
    assert pool._pending is not None and pool._owner is None
    b, _ = cap.take(7, 0, 100 * CPI, None)  # claims it
    assert pool._pending is None
    assert b.instances == list(range(50, 150))
    assert [i for i in range(300) if process.jobs_on(i)] == list(range(50, 150))
    assert all(process.jobs_on(i) == [7] for i in range(50, 150))
