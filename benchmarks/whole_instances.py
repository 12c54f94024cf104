"""Whole-instance placement: µs to place and to release a job of k whole instances, against the
code of an older git revision in the same process, from 10k chips to a 5 GW campus.

Each size is the one-pool trn2u.48xlarge cluster of benchmarks/topology.py (`chips: N` or
`power: 5GW`, through the scenario loader). The state mimics a full campus: 2k instances are
whole-free and every other instance is fully taken. The whole-free instances are either at random
places (`scattered`: the k a job gets are spread over the pool, the worst case for the new
search) or in runs of 64 consecutive instances at random offsets (`runs`, as large jobs leave them). On that state, for each
placement, one job of k instances is placed and released again, repeatedly (the same instances
each time, the state after a release is the state before the placement), timed in CPU time
(`time.process_time`), which other processes sharing the machine inflate less than wall time. The old code is
`sim/placement.py` at `--old` (default 2c70c5e, before the whole-free counts), read with
`git show` and imported from a temporary file, on the same compiled pool and the same state.
On the same state, a restart is also timed: a placed job loses one instance to a failure (it gives
its instances back, that instance goes down, it is placed again at once), as on the campus year.

    .venv/bin/python benchmarks/whole_instances.py                 # writes whole-instances-results.md
    .venv/bin/python benchmarks/whole_instances.py --sizes 1M --out -
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from machine import describe  # benchmarks/machine.py
from topology import SIZES, scenario_yaml  # benchmarks/topology.py: the same clusters

ROOT = Path(__file__).resolve().parent.parent
JOBS = (1024, 4096, 16384)  # instances per job
PLACEMENTS = ("first_fit", "topology_aware")
LAYOUTS = ("scattered", "runs", "restart")
SEED = 1
BUDGET_S = 1.0  # time per (size, job, placement, code): repeat until spent, at least twice


def old_module(rev: str, tmp: Path) -> ModuleType:
    """`sim/placement.py` as it was at git revision `rev`, imported under another name."""
    path = tmp / f"placement_{rev}.py"
    path.write_text(subprocess.run(["git", "show", f"{rev}:sim/placement.py"], capture_output=True, text=True,
                                   check=True, cwd=ROOT).stdout)
    spec = importlib.util.spec_from_file_location(f"placement_{rev}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compiled_pool(size: str) -> Any:
    from sim import topology
    from sim.scenario import loader

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.yaml"
        path.write_text(scenario_yaml(SIZES[size]))
        loaded = loader.load(path, [])
    shapes = topology.size_pools(loaded.model.cluster, loaded.catalogue, loaded.problem)
    return topology.compile(topology.build_graph(shapes), shapes)[0]


def whole_free(layout: str, n: int, count: int) -> set[int]:
    """About `count` instances: at random places (`scattered`); in runs of 64 consecutive instances
    at random offsets (`runs`); or half of them in one run in the upper half of the pool and a 32nd
    of them at random places (`restart`: a large job just released and a few small ones, as when a
    failure stops a frontier run of a full campus and it starts again at once)."""
    rng = random.Random(SEED)
    if layout == "scattered":
        return set(rng.sample(range(n), count))
    if layout == "restart":  # half in one run in the upper half, a 32nd of it scattered anywhere
        start = rng.randrange(n // 2, n - count // 2)
        return set(range(start, start + count // 2)) | set(rng.sample(range(n), count // 32))
    shift = rng.randrange(64)
    blocks = rng.sample(range((n - shift) // 64), count // 64)
    return {shift + 64 * b + j for b in blocks for j in range(64)}


def prepared(module: ModuleType, compiled: Any, taken: list[int], tracked: bool) -> Any:
    """A PoolState of `module` with every instance in `taken` fully occupied."""
    pool = module.PoolState(compiled)
    if tracked:
        pool.track()
    pool.occupy(module.Allocation(taken, pool.cpi, module.INSTANCE))
    return pool


def timed(module: ModuleType, pool: Any, name: str, chips: int) -> tuple[float, float, int, list[int]]:
    """(µs per placement, µs per release, repeats, the first allocation's instances)."""
    place = module.PLACEMENTS[name]
    spent_place = spent_release = 0.0
    reps = 0
    first = None
    while reps < 2 or spent_place + spent_release < BUDGET_S:
        t0 = time.process_time()
        alloc = place(pool, chips)
        t1 = time.process_time()
        pool.release(alloc)
        if hasattr(pool, "_flush"):  # a deferred release is written when the tree is next read: count it here
            pool._flush()
        t2 = time.process_time()
        spent_place += t1 - t0
        spent_release += t2 - t1
        reps += 1
        if first is None:
            first = alloc.instances
    return 1e6 * spent_place / reps, 1e6 * spent_release / reps, reps, first


def restarts(module: ModuleType, pool: Any, name: str, chips: int) -> tuple[float, list[int]]:
    """(µs per restart, the first restart's instances): a placed job of k instances loses one of
    them to a failure — it gives all back, that instance goes down, it is placed again at once —
    and the instance is repaired before the next failure (not timed), as on the campus year."""
    place = module.PLACEMENTS[name]
    alloc = place(pool, chips)
    rng = random.Random(SEED)
    spent = 0.0
    reps = 0
    first = None
    while reps < 2 or spent < BUDGET_S:
        down = module.Allocation([alloc.instances[rng.randrange(len(alloc.instances))]], pool.cpi, module.INSTANCE)
        t0 = time.process_time()
        pool.release(alloc)
        pool.occupy(down)
        alloc = place(pool, chips)
        spent += time.process_time() - t0
        pool.release(down)
        reps += 1
        if first is None:
            first = alloc.instances
    return 1e6 * spent / reps, first


def child(size: str, rev: str) -> list[dict[str, Any]]:
    from sim import placement

    compiled = compiled_pool(size)
    n = compiled.shape.instances
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        old = old_module(rev, Path(tmp))
        for k, layout, name in itertools.product(JOBS, LAYOUTS, PLACEMENTS):
            if 2 * k > n:
                continue
            free = whole_free(layout, n, 2 * k)
            taken = [i for i in range(n) if i not in free]
            chips = k * compiled.shape.chips_per_instance
            row = {"size": size, "chips": compiled.shape.chips, "instances": n, "k": k, "layout": layout,
                   "placement": name}
            for label, module in (("old", old), ("new", placement)):
                pool = prepared(module, compiled, taken, tracked=name != "first_fit")
                row[f"{label}_place_us"], row[f"{label}_release_us"], row[f"{label}_reps"], got = \
                    timed(module, pool, name, chips)
                row.setdefault("instances_chosen", got)
                if got != row["instances_chosen"]:
                    raise SystemExit(f"{size} k={k} {name}: the old and new code chose different instances")
                pool = prepared(module, compiled, taken, tracked=name != "first_fit")
                row[f"{label}_restart_us"], got = restarts(module, pool, name, chips)
                row.setdefault("restart_chosen", got)
                if got != row["restart_chosen"]:
                    raise SystemExit(f"{size} k={k} {name}: the old and new code restarted on different instances")
            del row["instances_chosen"], row["restart_chosen"]
            rows.append(row)
            print(f"{size} k={k:>6} {layout:9s} {name:15s} place {row['old_place_us']:>10,.0f} -> {row['new_place_us']:>8,.0f} "
                  f"µs, release {row['old_release_us']:>10,.0f} -> {row['new_release_us']:>8,.0f} µs, "
                  f"restart {row['old_restart_us']:>10,.0f} -> {row['new_restart_us']:>8,.0f} µs",
                  file=sys.stderr, flush=True)
    return rows


def report(rows: list[dict[str, Any]], command: str, rev: str, loads: tuple[str, str]) -> str:
    info = describe("numpy")
    lines = [
        "# Whole-instance placement: µs per job of k whole instances, before and after",
        "",
        f"`{command}`",
        "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} RAM; load average {loads[0]} at the "
        f"start, {loads[1]} at the end (1, 5, 15 min; other sessions share the machine)",
        f"- Python {info['python']}, numpy {info['numpy']}, trnsim commit {info['commit']}; old code: "
        f"`sim/placement.py` at {rev}, in the same process, on the same pool and state",
        "- state: 2k whole-free instances, at random places (`scattered`) or in runs of 64 at random offsets "
        "(`runs`), every other instance fully taken; one job of k instances placed and released again, repeated for about a second of CPU per cell, timed in CPU time (both codes chose the same "
        "instances); a release includes writing it in the tree, which the new code defers until the tree is next read",
        "- restart: on the same state, a placed job of k instances loses one to a failure (it gives them all back, that "
        "instance goes down, the job is placed again at once; the instance is repaired, untimed, before the next), "
        "as a failure does on the campus year; µs per restart, both codes ending on the same instances",
        "",
        "| size | instances | k | whole-free layout | placement | place µs (old) | place µs (new) | speed-up | release µs (old) "
        "| release µs (new) | speed-up | restart µs (old) | restart µs (new) | speed-up |",
        "|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']} | {r['instances']:,} | {r['k']:,} | {r['layout']} | {r['placement']} | {r['old_place_us']:,.0f} "
            f"| {r['new_place_us']:,.0f} | {r['old_place_us'] / r['new_place_us']:.1f}x | {r['old_release_us']:,.0f} "
            f"| {r['new_release_us']:,.0f} | {r['old_release_us'] / r['new_release_us']:.1f}x "
            f"| {r['old_restart_us']:,.0f} | {r['new_restart_us']:,.0f} | {r['old_restart_us'] / r['new_restart_us']:.1f}x |")
    lines += ["", "Sizes smaller than 2k instances are skipped for that k (10k chips is 624 instances)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=",".join(SIZES), help=f"comma-separated, of {', '.join(SIZES)}")
    ap.add_argument("--old", default="2c70c5e", help="git revision of the old code (default: 2c70c5e)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "whole-instances-results.md"), help="'-': print only")
    args = ap.parse_args()
    load0 = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = []
    for size in args.sizes.split(","):
        rows += child(size, args.old)
    load1 = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    text = report(rows, " ".join([".venv/bin/python benchmarks/whole_instances.py", *sys.argv[1:]]), args.old,
                  (load0, load1))
    print(text)
    if args.out != "-":
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
