"""Topology: sizing rules with hand-computed answers, the graph's tiers, compiled arrays
against the graph, `trnsim topology` through the CLI, a trn2u + p5 cluster through `run`,
and one build of the full 5 GW campus.

Catalogue figures used below (sim/hardware/catalogue.yaml): trn2u.48xlarge and trn2.48xlarge
have 16 Trainium2 chips at 500 W (ESTIMATE) and $35.76/h; trn2u.48xlarge is an UltraServer
member (4 instances, 64 chips); p5.48xlarge has 8 H100 at 700 W and $55.04/h. Defaults:
PUE 1.15, network_fraction 0.05, host_fraction 0.5, 64 instances per pod, 16 pods per spine.

  trn2 instance peak  = 16 x 500 W + 0.5 x 16 x 500 W = 8,000 + 4,000 = 12,000 W
  facility per trn2   = 1.15 x 1.05 x 12,000 W = 14,490 W
  p5 instance peak    = 8 x 700 W + 0.5 x 8 x 700 W = 5,600 + 2,800 = 8,400 W
  facility per p5     = 1.15 x 1.05 x 8,400 W = 10,143 W
  trn2 instance-year  = $35.76 x 8,760 h = $313,257.60
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import networkx as nx
import numpy as np
import pyarrow.compute as pc
import pytest
from conftest import SCENARIOS, run_cli, run_scenario, write_scenario

from sim import hardware, topology
from sim.scenario import loader
from sim.scenario.cluster import TIERS

# --- sizing through the CLI: one scenario, one pool per rule ----------------------------------------

SIZING = """\
name: sizing
cluster:
  pools:
    - {name: count, instance: trn2u.48xlarge, count: 8}
    - {name: us, instance: trn2u.48xlarge, ultraservers: 3}
    - {name: chips, instance: trn2u.48xlarge, chips: 1000}
    - {name: power, instance: trn2u.48xlarge, power: 1MW}
    - {name: budget, instance: trn2u.48xlarge, budget: $10M/yr}
    - {name: reserved, instance: trn2u.48xlarge, budget: $10M/yr, pricing: {reserved: {discount: 0.25}}}
    - {name: plain, instance: trn2.48xlarge, budget: $10M/yr}
    - {name: gpu, instance: p5.48xlarge, power: 1MW}
    - {name: committed, instance: trn2u.48xlarge, count: 4, pricing: {commitment: {usd_per_year: $1M/yr}}}
workload:
  - jobs: [{id: one, chips: 1, duration: 1h}]
"""

# pool -> (instances, chips, UltraServers or None), with the arithmetic that gives them
EXPECTED = {
    "count": (8, 128, 2),           # 8 instances = 2 UltraServers
    "us": (12, 192, 3),             # 3 UltraServers x 4
    "chips": (60, 960, 15),         # floor(1000 / 16) = 62 -> whole UltraServers: 60
    "power": (68, 1088, 17),        # floor(1e6 / 14,490 = 69.01) = 69 -> 68
    "budget": (28, 448, 7),         # floor(1e7 / 313,257.60 = 31.92) = 31 -> 28
    "reserved": (40, 640, 10),      # $26.82/h x 8,760 = 234,943.20; floor(42.56) = 42 -> 40
    "plain": (31, 496, None),       # trn2.48xlarge is no UltraServer member: 31 stays 31
    "gpu": (98, 784, None),         # floor(1e6 / 10,143 = 98.59) = 98; no UltraServer tier
    "committed": (4, 64, 1),
}


def _run_all(cases: dict[str, tuple]) -> dict[str, object]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(run_cli, *args) for name, args in cases.items()}
        return {name: f.result() for name, f in futures.items()}


@pytest.fixture(scope="module")
def cli_cases(tmp_path_factory):
    """Every `trnsim topology` process of this module, started together (most of each is import time)."""
    tmp = tmp_path_factory.mktemp("topology")
    sizing = write_scenario(tmp, SIZING, "sizing.yaml")
    small = write_scenario(tmp, SIZING.split("    - {name: us")[0] + "workload:\n"
                           "  - jobs: [{id: one, chips: 1, duration: 1h}]\n", "small.yaml")
    taken = tmp / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine")
    bad = {
        "count_not_multiple": ("cluster.pools.0.count=10",),
        "ultraservers_on_plain": ("cluster.pools.0.instance=trn2.48xlarge", "cluster.pools.0.ultraservers=2"),
        "power_without_watts": ("cluster.pools.0.instance=trn1.32xlarge", "cluster.pools.0.power=1MW"),
        "budget_with_commitment": ("cluster.pools.8.budget=$10M/yr",),
        "nothing_left": ("cluster.pools.0.chips=32",),
        "pod_not_whole_ultraservers": ("cluster.topology.fanout.pod=10",),
    }
    cases = {
        "sizing": ("topology", sizing, "--out", tmp / "sizing-out"),
        "small": ("topology", small, "--out", tmp / "small-out"),
        "taken": ("topology", small, "--out", taken),
        "campus_ci": ("topology", SCENARIOS / "campus-5gw.yaml", "--ci", "--out", tmp / "campus-out"),
        "missing": ("topology", tmp / "nope.yaml"),
    }
    for name, sets in bad.items():
        cases[name] = ("topology", sizing, *(a for s in sets for a in ("--set", s)))
    in_file = write_scenario(tmp, SIZING.replace("count: 8}", "count: 10}"), "in-file.yaml")
    cases["count_in_file"] = ("topology", in_file)
    procs = _run_all(cases)
    return tmp, sizing, procs


def test_sizing_rules_resolve_to_hand_computed_counts(cli_cases):
    tmp, _, procs = cli_cases
    p = procs["sizing"]
    assert p.returncode == 0, p.stderr
    sheet = json.loads((tmp / "sizing-out" / "topology.json").read_text())
    got = {q["name"]: (q["instances"], q["chips"], q["ultraservers"]) for q in sheet["pools"]}
    assert got == EXPECTED
    for q in sheet["pools"]:
        n = q["instances"]
        assert q["pods"] == math.ceil(n / 64) and q["spine_groups"] == 1
    assert sheet["total"]["instances"] == sum(v[0] for v in EXPECTED.values())
    assert sheet["total"]["chips"] == sum(v[1] for v in EXPECTED.values())
    assert sheet["total"]["ultraservers"] == sum(v[2] or 0 for v in EXPECTED.values())


def test_peak_power_and_prices(cli_cases):
    tmp, _, _ = cli_cases
    pools = {q["name"]: q for q in json.loads((tmp / "sizing-out" / "topology.json").read_text())["pools"]}
    assert pools["power"]["peak_power_mw"] == pytest.approx(68 * 14_490 / 1e6)  # 0.98532 MW <= 1 MW
    assert pools["gpu"]["peak_power_mw"] == pytest.approx(98 * 10_143 / 1e6)
    assert pools["power"]["instance_peak_w"] == 12_000 and pools["gpu"]["instance_peak_w"] == 8_400
    assert pools["budget"]["usd_per_h"] == pytest.approx(28 * 35.76)
    assert pools["budget"]["usd_per_yr"] == pytest.approx(28 * 35.76 * 8760)  # $8.77M <= $10M
    assert pools["reserved"]["usd_per_h"] == pytest.approx(40 * 35.76 * 0.75)
    assert pools["gpu"]["usd_per_h"] == pytest.approx(98 * 55.04)
    assert pools["committed"]["usd_per_h"] == pytest.approx(1e6 / 8760)


def test_tiers_per_pool_in_the_sheet(cli_cases):
    tmp, _, _ = cli_cases
    sheet = json.loads((tmp / "sizing-out" / "topology.json").read_text())
    for q in sheet["pools"]:
        want = list(TIERS) if q["ultraservers"] else [t for t in TIERS if t != "ultraserver"]
        assert q["tiers"] == want, q["name"]
    assert sheet["tiers"]["cluster"] == 1
    assert sheet["tiers"]["instance"] == sheet["total"]["instances"]
    assert sheet["tiers"]["ultraserver"] == sheet["total"]["ultraservers"]


def test_topology_prints_numbers_and_assumptions(cli_cases):
    tmp, _, procs = cli_cases
    out = procs["sizing"].stdout
    for text in ("1,088", "960", "784", "0.985", "$1,001.28", "p5.48xlarge", "power 1MW",
                 "(ESTIMATE", "500 W per chip", "Tier slowdown factors", "-> 68 instances (whole UltraServers of 4)"):
        assert text in out, text
    # 358 instances: more than 256, so no drawing
    assert out == (tmp / "sizing-out" / "topology.md").read_text() + f"\nwritten: {tmp / 'sizing-out'}  " \
        "(topology.md, topology.json)\n"


def test_small_cluster_is_drawn_to_png(cli_cases):
    tmp, _, procs = cli_cases
    assert procs["small"].returncode == 0, procs["small"].stderr
    out = tmp / "small-out"
    assert sorted(p.name for p in out.iterdir()) == ["topology.json", "topology.md", "topology.png"]
    assert (out / "topology.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "topology.json").read_text())["drawing"] == "topology.png"
    assert not [p for p in tmp.iterdir() if p.name.startswith(".small-out")], "temporary directory left behind"


def test_large_cluster_is_not_drawn(cli_cases):
    tmp, _, procs = cli_cases
    p = procs["campus_ci"]
    assert p.returncode == 0, p.stderr
    out = tmp / "campus-out"
    assert sorted(x.name for x in out.iterdir()) == ["topology.json", "topology.md"]
    # 20 MW / 14,490 W = 1,380.26 -> 1,380 instances (a multiple of 4), 22,080 chips
    assert re.search(r"^\| instances +\| +1,380 \|$", p.stdout, re.MULTILINE)
    assert "22,080" in p.stdout
    assert "Skipped: 1,380 instances is more than 256" in p.stdout
    assert json.loads((out / "topology.json").read_text())["drawing"] is None


def test_non_empty_out_needs_force(cli_cases):
    tmp, _, procs = cli_cases
    p = procs["taken"]
    assert p.returncode == 2
    assert p.stderr.strip() == f"--out {tmp / 'taken'}: directory is not empty (use --force to replace it)"
    assert [x.name for x in (tmp / "taken").iterdir()] == ["keep.txt"]


@pytest.mark.parametrize("case,field,words", [
    ("count_not_multiple", "--set cluster.pools.0.count", "count must be a multiple of 4 (got 10)"),
    ("ultraservers_on_plain", "--set cluster.pools.0.ultraservers", "is not an UltraServer member"),
    ("power_without_watts", "--set cluster.pools.0.power", "accelerator 'trainium1' has no watts"),
    ("budget_with_commitment", "--set cluster.pools.8.budget", "commitment pricing cannot be sized by budget"),
    ("nothing_left", "--set cluster.pools.0.chips", "sizing by chips leaves no whole UltraServer"),
    ("pod_not_whole_ultraservers", "--set cluster.topology.fanout.pod",
     "instances per pod must be a multiple of the UltraServer size 4"),
])
def test_bad_sizing_is_exit_2_with_one_located_line(cli_cases, case, field, words):
    p = cli_cases[2][case]
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(field + ": ") and words in lines[0], lines[0]
    assert p.stdout == ""


def test_bad_count_in_the_file_names_its_line(cli_cases):
    tmp, _, procs = cli_cases
    p = procs["count_in_file"]
    assert p.returncode == 2
    line = SIZING.splitlines().index("    - {name: count, instance: trn2u.48xlarge, count: 8}") + 1
    col = SIZING.splitlines()[line - 1].index("count: 8") + 1
    assert p.stderr.strip() == (f"{tmp / 'in-file.yaml'}:{line}:{col}: cluster.pools.0.count: trn2u.48xlarge "
                                "is an UltraServer member: count must be a multiple of 4 (got 10)")


def test_missing_scenario_is_exit_2(cli_cases):
    p = cli_cases[2]["missing"]
    assert p.returncode == 2 and "cannot read scenario" in p.stderr


# --- the graph and its compiled arrays -------------------------------------------------------------

def _shapes(text: str, tmp_path: Path, *sets: str) -> list[topology.PoolShape]:
    loaded = loader.load(write_scenario(tmp_path, text), list(sets))
    return topology.size_pools(loaded.model.cluster, loaded.catalogue, loaded.problem)


PATCHED = """\
name: patched
catalogue:
  instances:
    - {name: trn2.48xlarge, on_demand_usd_per_h: 10}
    - {name: rack, accelerator: trainium2, chips: 8, on_demand_usd_per_h: 1}
cluster:
  pools:
    - {name: trn2, instance: trn2.48xlarge, count: 2}
    - {name: rack, instance: rack, count: 3}
workload:
  - jobs: [{id: one, chips: 1, duration: 1h}]
"""


def test_a_loaded_scenario_carries_its_patched_catalogue(tmp_path):
    """The catalogue is part of the loaded scenario from the start (from a file or a mapping),
    with the scenario's patches applied and the built-in one untouched."""
    loaded = loader.load(write_scenario(tmp_path, PATCHED))
    cat = loaded.catalogue
    assert cat.instances["trn2.48xlarge"].on_demand_usd_per_h == 10
    assert cat.instances["trn2.48xlarge"].chips == 16  # the fields not patched stay the built-in ones
    assert (cat.instances["rack"].accelerator, cat.instances["rack"].chips) == ("trainium2", 8)
    assert "rack" not in hardware.builtin().instances
    assert hardware.builtin().instances["trn2.48xlarge"].on_demand_usd_per_h != 10
    shapes = topology.size_pools(loaded.model.cluster, cat, loaded.problem)
    assert [(s.chips, s.usd_per_h) for s in shapes] == [(32, 2 * 10.0), (24, 3 * 1.0)]
    assert loader.load_mapping(loaded.raw).catalogue == cat
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.catalogue = hardware.builtin()


# Partial pods and spine groups on purpose: 300 trn2u instances in pods of 16 (4 UltraServers),
# 3 pods per spine group -> 19 pods (the last holds 12), 7 spine groups (the last holds 1 pod);
# 37 p5 instances -> 3 pods (the last holds 5), 1 spine group.
MIXED = """\
name: mixed
cluster:
  topology: {fanout: {pod: 16, spine: 3}}
  pools:
    - {name: trn2, instance: trn2u.48xlarge, count: 300}
    - {name: h100, instance: p5.48xlarge, count: 37}
workload:
  - jobs: [{id: one, chips: 1, duration: 1h}]
"""


def test_graph_tiers_are_exactly_designs(tmp_path):
    shapes = _shapes(MIXED, tmp_path)
    g = topology.build_graph(shapes)
    assert nx.is_tree(g.to_undirected(as_view=True))
    assert set(nx.get_node_attributes(g, "tier").values()) == set(TIERS)
    n_of = Counter((d.get("pool"), d["tier"]) for _, d in g.nodes(data=True))
    assert {t for p, t in n_of if p == 0} == {"instance", "ultraserver", "pod", "spine"}
    assert {t for p, t in n_of if p == 1} == {"instance", "pod", "spine"}, "p5 has no UltraServer tier"
    assert n_of == {(None, "cluster"): 1, (0, "spine"): 7, (0, "pod"): 19, (0, "ultraserver"): 75,
                    (0, "instance"): 300, (1, "spine"): 1, (1, "pod"): 3, (1, "instance"): 37}
    tiers_of = nx.get_node_attributes(g, "tier")
    steps = {(tiers_of[u], tiers_of[v]) for u, v in g.edges}
    assert steps == {("cluster", "spine"), ("spine", "pod"), ("pod", "ultraserver"), ("ultraserver", "instance"),
                     ("pod", "instance")}
    assert all(d["chips"] == (16 if d["pool"] == 0 else 8) for _, d in g.nodes(data=True) if d["tier"] == "instance")
    assert topology.node_name(g, 0) == "cluster"


def test_compiled_arrays_agree_with_the_graph(tmp_path):
    shapes = _shapes(MIXED, tmp_path)
    g = topology.build_graph(shapes)
    compiled = topology.compile(g, shapes)
    walked = {(s.index, t): np.full(s.instances, -1) for s in shapes for t in ("ultraserver", "pod", "spine")}
    for node, data in g.nodes(data=True):
        if data["tier"] != "instance":
            continue
        up = node
        while True:  # the slow walk compile() avoids
            (up,) = g.predecessors(up)
            tier = g.nodes[up]["tier"]
            if tier == "cluster":
                break
            walked[(data["pool"], tier)][data["index"]] = g.nodes[up]["index"]
    for c in compiled:
        p = c.shape.index
        np.testing.assert_array_equal(c.ultraserver_of, walked[(p, "ultraserver")])
        np.testing.assert_array_equal(c.pod_of, walked[(p, "pod")])
        np.testing.assert_array_equal(c.spine_of, walked[(p, "spine")])
    shuffled = nx.DiGraph(**g.graph)  # the same graph with its nodes added in reverse order
    shuffled.add_nodes_from(reversed(list(g.nodes(data=True))))
    shuffled.add_edges_from(g.edges)
    for a, b in zip(compiled, topology.compile(shuffled, shapes), strict=True):
        for name in ("ultraserver_of", "pod_of", "spine_of"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    trn2, h100 = compiled
    assert trn2.ultraserver_of[:9].tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 2]
    assert trn2.pod_of[[0, 15, 16, 299]].tolist() == [0, 0, 1, 18]
    assert trn2.spine_of[[0, 47, 48, 299]].tolist() == [0, 0, 1, 6]
    assert (h100.ultraserver_of == -1).all() and h100.pod_of[[0, 15, 16, 36]].tolist() == [0, 0, 1, 2]


def test_compile_reads_the_graph_not_the_shapes(tmp_path):
    """Rewire one instance to another UltraServer in the graph: compile() must follow the graph."""
    shapes = _shapes(MIXED, tmp_path)
    g = topology.build_graph(shapes)
    inst = next(n for n, d in g.nodes(data=True) if d["tier"] == "instance" and d["pool"] == 0 and d["index"] == 0)
    us5 = next(n for n, d in g.nodes(data=True) if d["tier"] == "ultraserver" and d["pool"] == 0 and d["index"] == 5)
    (old,) = g.predecessors(inst)
    g.remove_edge(old, inst)
    g.add_edge(us5, inst)
    trn2 = topology.compile(g, shapes)[0]
    assert trn2.ultraserver_of[0] == 5 and trn2.pod_of[0] == 1  # UltraServer 5 is in pod 1 (4 per pod)
    g.remove_edge(us5, inst)
    with pytest.raises(topology.GraphShapeError):
        topology.compile(g, shapes)


# --- several pools through `run` ---------------------------------------------------------------------

def test_trn2u_and_p5_pools_run_end_to_end(tmp_path):
    scenario = """\
name: mixed-run
seed: 5
cluster:
  pools:
    - {name: trn2, instance: trn2u.48xlarge, ultraservers: 2}
    - {name: h100, instance: p5.48xlarge, count: 8}
workload:
  - name: neuron
    generator:
      count: 40
      arrivals: {poisson: {rate: 10/h}}
      chips: {choice: {values: [4, 16, 64]}}
      duration: 1h
      accelerator: trainium2
  - name: cuda
    generator:
      count: 40
      arrivals: {poisson: {rate: 10/h}}
      chips: {choice: {values: [8, 16]}}
      duration: 1h
      accelerator: h100-sxm
"""
    run = run_scenario(tmp_path, scenario)
    s = run.summary
    assert s["pool.trn2.chips"] == 128 and s["pool.h100.chips"] == 64 and s["chips"] == 192
    assert s["instances"] == 16 and s["jobs_completed"] == 80
    assert s["peak_power_mw"] is not None and s["cost_usd"] > 0
    jobs = run.jobs
    for entry, pool in (("neuron", "trn2"), ("cuda", "h100")):
        mine = jobs.filter(pc.equal(jobs["entry"], entry))
        assert set(mine["pool"].to_pylist()) == {pool}
    # 16 chips on p5 = 2 instances; the p5 pool has no UltraServer tier, so they span a pod
    two = jobs.filter(pc.and_(pc.equal(jobs["entry"], "cuda"), pc.equal(jobs["chips_requested"], 16)))
    assert two.num_rows and set(two["tier"].to_pylist()) == {"pod"}
    # 64 chips on trn2u = 4 instances: one UltraServer at best, never more than the one pod
    big = jobs.filter(pc.equal(jobs["chips_requested"], 64))
    assert big.num_rows and set(big["tier"].to_pylist()) <= {"ultraserver", "pod"}


# --- the 5 GW campus, built once ----------------------------------------------------------------------

def test_five_gigawatt_campus_builds_with_the_formula_chip_count():
    from sim.placement import PoolState

    loaded = loader.load(SCENARIOS / "campus-5gw.yaml")
    shapes = topology.size_pools(loaded.model.cluster, loaded.catalogue, loaded.problem)
    (s,) = shapes
    exact = 5e9 / (1.15 * 1.05 * (16 * 500 + 0.5 * 16 * 500))  # 345,065.56 instances
    instances = math.floor(exact) // 4 * 4  # whole UltraServers: 345,064
    assert s.instances == instances == 345_064
    assert s.chips == instances * 16 == 5_521_024
    graph = topology.build_graph(shapes)
    assert graph.number_of_nodes() == 1 + s.spines + s.pods + s.ultraservers + s.instances
    (compiled,) = topology.compile(graph, shapes)
    del graph
    assert len(compiled.pod_of) == instances and compiled.spine_of[-1] == s.spines - 1 == 336
    state = PoolState(compiled)
    assert state.capacity == 5_521_024 and state.free_chips == state.capacity
