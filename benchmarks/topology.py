"""Topology speed and memory: building and compiling clusters from 10k chips to a 5 GW campus,
and placement cost per job at each size.

Each size runs in its own subprocess, so `ru_maxrss` (a high-water mark) is that size's peak:

    .venv/bin/python benchmarks/topology.py                 # 10k, 100k, 1M chips and 5 GW; writes topology-results.md
    .venv/bin/python benchmarks/topology.py --sizes 10k,5GW --jobs 5000 --out -

A child loads a one-pool trn2u.48xlarge scenario through the scenario loader (`chips: N`, or
`power: 5GW`), then times `topology.size_pools`, `topology.build_graph`, `topology.compile` and
`PoolState` construction separately, in the order `sim.run.build_cluster` runs them (the graph
is still alive while PoolState is built, as it is there).

Placement: a fixed job mix (chips 1..1024, the same seeded sequence at every size) churns
through each pool: the pool is first filled to TARGET of its chips with live jobs (untimed),
then each timed job is placed and, to stay at TARGET, the oldest live jobs are released
(a job that does not fit releases the oldest until it does). The timed cost per job is its
placement plus its share of releases. Every function in `sim.placement.PLACEMENTS` found at run
time is measured. The bare baseline, timed in the same child, does the same number of list
updates (one per instance a job takes, on placing and on releasing) with a plain Python loop
on a plain list: the ratio says how far each placement is from the least work possible.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

from machine import describe  # benchmarks/machine.py (the script's own folder is on sys.path)

ROOT = Path(__file__).resolve().parent.parent
SIZES = {"10k": "chips: 10000", "100k": "chips: 100000", "1M": "chips: 1000000", "5GW": "power: 5GW"}
MIX_CHIPS = (1, 4, 16, 64, 256, 1024)
MIX_WEIGHTS = (0.3, 0.25, 0.2, 0.15, 0.07, 0.03)
TARGET = 0.7  # fraction of chips held by live jobs while timing
SEED = 1


def scenario_yaml(sizing: str) -> str:
    return f"""\
name: topology-bench
cluster:
  pools: [{{name: trn2, instance: trn2u.48xlarge, {sizing}}}]
workload:
  - jobs: [{{id: one, chips: 1, duration: 1h}}]
"""


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def rss_now_mib() -> float:
    """Resident set size now (Linux /proc), unlike ru_maxrss which only ever grows."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def job_mix(n: int) -> list[int]:
    import numpy as np

    rng = np.random.default_rng(SEED)
    return rng.choice(np.array(MIX_CHIPS), size=n, p=np.array(MIX_WEIGHTS)).tolist()


# --- child -----------------------------------------------------------------------------------------
def churn(pool: Any, place: Any, chips: list[int], warm: list[int]) -> dict[str, Any]:
    """Fill to TARGET with `warm` (untimed), then time placing `chips` one by one at TARGET."""
    live: deque = deque()
    held = 0
    target = TARGET * pool.capacity
    for c in warm:
        if held + c > target:
            break
        alloc = place(pool, c)
        if alloc is None:
            break
        live.append(alloc)
        held += alloc.chips
    release = pool.release
    touched = 0  # instances updated on placing and releasing: the baseline's list updates
    refused = 0
    t0 = time.perf_counter()
    for c in chips:
        alloc = place(pool, c)
        while alloc is None:
            refused += 1
            old = live.popleft()
            release(old)
            held -= old.chips
            touched += len(old.instances)
            alloc = place(pool, c)
        live.append(alloc)
        held += alloc.chips
        touched += len(alloc.instances)
        while held > target:
            old = live.popleft()
            release(old)
            held -= old.chips
            touched += len(old.instances)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "touched": touched, "refused": refused, "warm_live": len(live)}


def baseline(n_instances: int, updates: int) -> float:
    """Seconds for a bare loop doing `updates` list updates on a plain list of free chips."""
    free = [16] * n_instances
    t0 = time.perf_counter()
    i = 0
    for _ in range(updates):
        free[i] -= 1
        i += 1
        if i == n_instances:
            i = 0
    return time.perf_counter() - t0


def child(size: str, jobs: int) -> dict[str, Any]:
    from sim import placement, topology
    from sim.scenario import loader

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.yaml"
        path.write_text(scenario_yaml(SIZES[size]))
        loaded = loader.load(path, [])
    mix = job_mix(jobs)
    warm = job_mix(4 * jobs + 200_000)[jobs:]  # a different stretch of the same stream
    gc.collect()
    rss_base = rss_now_mib()
    t = time.perf_counter()
    shapes = topology.size_pools(loaded.model.cluster, loaded.catalogue, loaded.problem)
    t_size = time.perf_counter() - t
    t = time.perf_counter()
    graph = topology.build_graph(shapes)
    t_build = time.perf_counter() - t
    t = time.perf_counter()
    compiled = topology.compile(graph, shapes)
    t_compile = time.perf_counter() - t
    t = time.perf_counter()
    pools = [placement.PoolState(c) for c in compiled]
    t_state = time.perf_counter() - t
    rss_built = rss_now_mib()
    nodes = graph.number_of_nodes()
    del graph
    gc.collect()
    s = shapes[0]
    out: dict[str, Any] = {
        "size": size, "chips": s.chips, "instances": s.instances, "nodes": nodes,
        "size_pools_s": t_size, "build_graph_s": t_build, "compile_s": t_compile, "pool_state_s": t_state,
        "rss_base_mib": rss_base, "rss_built_mib": rss_built, "rss_peak_built_mib": peak_rss_mib(),
        "placements": {},
    }
    for name, place in sorted(placement.PLACEMENTS.items()):
        pool = placement.PoolState(compiled[0])  # fresh, so every placement starts from the same state
        r = churn(pool, place, mix, warm)
        r["baseline_s"] = baseline(s.instances, r["touched"])
        out["placements"][name] = r
        del pool
        gc.collect()
    del pools
    out["rss_peak_mib"] = peak_rss_mib()
    return out


# --- parent ----------------------------------------------------------------------------------------
def run_child(size: str, jobs: int) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", size, "--jobs", str(jobs)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{shlex.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine() -> dict[str, str]:
    return describe("networkx", "numpy")


def report(rows: list[dict[str, Any]], command: str, info: dict[str, str], load_start: str, load_end: str,
           jobs: int) -> str:
    mean_chips = sum(c * w for c, w in zip(MIX_CHIPS, MIX_WEIGHTS, strict=True))
    lines = [
        "# Topology benchmark: build, compile and placement from 10k chips to a 5 GW campus",
        "",
        f"`{command}`",
        "",
        f"- date: {dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} RAM; load average {load_start} at "
        f"the start, {load_end} at the end (1, 5, 15 min)",
        f"- Python {info['python']}, networkx {info['networkx']}, numpy {info['numpy']}, trnsim commit "
        f"{info['commit']}",
        "- cluster: one trn2u.48xlarge pool (16 chips per instance, UltraServers of 4, 64 instances per pod, "
        "16 pods per spine group), sized by `chips:` or `power: 5GW` through the scenario loader; "
        "one subprocess per size, run one after another",
        "",
        "## Build and compile",
        "",
        "| size | chips | instances | graph nodes | build_graph s | compile s | build + compile s "
        "| PoolState s | peak RSS MiB | RSS growth MiB | bytes/node |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        growth = r["rss_built_mib"] - r["rss_base_mib"]
        lines.append(
            f"| {r['size']} | {r['chips']:,} | {r['instances']:,} | {r['nodes']:,} | {r['build_graph_s']:.3f} "
            f"| {r['compile_s']:.3f} | {r['build_graph_s'] + r['compile_s']:.3f} | {r['pool_state_s']:.3f} "
            f"| {r['rss_peak_mib']:,.0f} | {growth:,.0f} | {growth * 2**20 / r['nodes']:,.0f} |")
    lines += [
        "",
        "Peak RSS is the child's `ru_maxrss` over the whole child (imports, scenario, graph, compiled "
        "arrays, PoolState, placement runs). RSS growth is the resident size with the graph, compiled "
        "arrays and PoolState alive minus the resident size before building them, so bytes/node is what "
        "they cost per graph node (mostly the networkx graph, which `trnsim run` drops after compile). Budget (docs/architecture.md, \"Speed budget\"): a 5 GW campus "
        "built in < 30 s within 4 GiB on 2 cores.",
        "",
        "## Placement per job",
        "",
        f"Fixed job mix: chips {', '.join(map(str, MIX_CHIPS))} with weights "
        f"{', '.join(f'{w:g}' for w in MIX_WEIGHTS)} (mean {mean_chips:.1f} chips), seed {SEED}; {jobs:,} timed "
        f"jobs per size, the pool held at {TARGET:.0%} of its chips by releasing the oldest live jobs.",
        "",
        "| size | placement | µs/job | jobs/s | baseline µs/job | vs baseline | instance updates/job "
        "| refusals |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        for name, p in r["placements"].items():
            us = p["seconds"] / jobs * 1e6
            base = p["baseline_s"] / jobs * 1e6
            lines.append(f"| {r['size']} | {name} | {us:.2f} | {jobs / p['seconds']:,.0f} | {base:.3f} "
                         f"| {us / base:.1f}x | {p['touched'] / jobs:.2f} | {p['refused']:,} |")
    lines += [
        "",
        "µs/job is placing one job plus its share of releases. The baseline does the same number of "
        "list updates (instance updates/job: one per instance taken, and one per instance given back) "
        "in a bare Python loop on a plain list; `vs baseline` = µs/job ÷ baseline µs/job. Refusals: "
        "jobs that did not fit at first and released older jobs until they did.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default=",".join(SIZES), help=f"comma-separated, from {', '.join(SIZES)}")
    ap.add_argument("--jobs", type=int, default=50_000, help="timed jobs per size and placement")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "topology-results.md"),
                    help="markdown file to write ('-': print only)")
    ap.add_argument("--child", metavar="SIZE", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.jobs)))
        return
    sizes = args.sizes.split(",")
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        raise SystemExit(f"unknown size(s) {', '.join(unknown)}: use {', '.join(SIZES)}")
    exe = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) else sys.executable
    command = shlex.join([exe, "benchmarks/topology.py", *sys.argv[1:]])
    load_start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = []
    for size in sizes:
        r = run_child(size, args.jobs)
        rows.append(r)
        print(f"{size}: {r['chips']:,} chips, build {r['build_graph_s']:.2f} s, compile {r['compile_s']:.2f} s, "
              f"PoolState {r['pool_state_s']:.2f} s, peak RSS {r['rss_peak_mib']:,.0f} MiB; "
              + ", ".join(f"{n} {p['seconds'] / args.jobs * 1e6:.1f} µs/job" for n, p in r["placements"].items()),
              file=sys.stderr)
    load_end = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    text = report(rows, command, machine(), load_start, load_end, args.jobs)
    if args.out == "-":
        print(text)
    else:
        Path(args.out).write_text(text)
        print(text)
        print(f"written: {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
