"""Policy speed: every registered policy on one mixed 100k-job workload, against a bare simpy loop.

The workload: 64 trn2.48xlarge instances (1,024 chips), two job classes — `research` (queue
research, priority 0, 70 % of jobs) and `prod` (queue prod, priority 10, 30 %) — of 1, 4, 16 or
64 chips, lognormal durations (median 1 h, sigma 1), hourly checkpoints, offered load about 0.85.
Every policy runs the same jobs with first_fit placement, each in its own subprocess.

The baseline is the textbook simpy model on the same jobs: one process per job, one
`Container` of 1,024 chips taken and given back by count (strict FIFO, no placement, no
recording) — the least any simulator of this workload must do.

For each policy: jobs per second of `simulate()` (the whole run: build, engine, metrics), its
ratio to the baseline and to fifo, scheduling passes, and the policy's own time per pass (time
spent inside its `schedule` generator, the engine's work on its decisions excluded).

    .venv/bin/python benchmarks/policies.py                 # 100k jobs, writes policies-results.md
    .venv/bin/python benchmarks/policies.py --jobs 20000 --out -
    .venv/bin/python benchmarks/policies.py --overload 20000,200000 --load 1.5 --compare-to 2c70c5e \
        --out benchmarks/policies-overload-results.md   # CPU s per policy as the queue only grows
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import describe, publish, python_env, source_tree  # benchmarks/machine.py

ROOT = Path(__file__).resolve().parent.parent
INSTANCES = 64
CHIPS = INSTANCES * 16
SEED = 1
MEAN_CHIPS = 0.5 * 1 + 0.3 * 4 + 0.15 * 16 + 0.05 * 64
MEAN_H = 1.6487  # lognormal median 1 h, sigma 1: e^(1/2)
LOAD = 0.85


def scenario_yaml(n: int, policy: str, load: float = LOAD) -> str:
    rate = load * CHIPS / (MEAN_CHIPS * MEAN_H)  # jobs per hour
    prod = round(n * 0.3)
    return f"""\
name: policies-bench
description: {n} mixed jobs on {CHIPS} chips, offered load {load} (benchmarks/policies.py)
seed: {SEED}
cluster:
  pools: [{{name: trn2, instance: trn2.48xlarge, count: {INSTANCES}}}]
workload:
  - name: mix
    generator:
      checkpoint_interval: 1h
      classes:
        research:
          count: {n - prod}
          arrivals: {{poisson: {{rate: {rate * 0.7!r}/h}}}}
          chips: {{choice: {{values: [1, 4, 16, 64], weights: [0.5, 0.3, 0.15, 0.05]}}}}
          duration: {{lognormal: {{median: 1h, sigma: 1}}}}
          queue: research
        prod:
          count: {prod}
          arrivals: {{poisson: {{rate: {rate * 0.3!r}/h}}}}
          chips: {{choice: {{values: [1, 4, 16, 64], weights: [0.5, 0.3, 0.15, 0.05]}}}}
          duration: {{lognormal: {{median: 1h, sigma: 1}}}}
          queue: prod
          priority: 10
scheduler: {{policy: {policy}, placement: first_fit}}
"""


def load(n: int, policy: str, tmp: Path, offered: float = LOAD) -> Any:
    from sim.scenario import loader

    path = tmp / "bench.yaml"
    path.write_text(scenario_yaml(n, policy, offered))
    return loader.load(path, [])


def child_policy(n: int, policy: str, offered: float = LOAD) -> dict[str, Any]:
    from sim import run
    from sim.policies import base as policies

    cls = policies.get(policy)
    spent = [0.0, 0]
    original = cls.schedule

    def timed(self: Any, view: Any) -> Any:
        spent[1] += 1
        t0 = time.perf_counter()
        for decision in original(self, view):
            spent[0] += time.perf_counter() - t0
            yield decision
            t0 = time.perf_counter()
        spent[0] += time.perf_counter() - t0

    cls.schedule = timed
    with tempfile.TemporaryDirectory() as tmp:
        loaded = load(n, policy, Path(tmp), offered)
        t0, c0 = time.perf_counter(), time.process_time()
        result = run.simulate(loaded)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    s = result.summary
    return {"wall_s": wall, "cpu_s": cpu, "passes": spent[1], "policy_s": spent[0], "events": s["events"],
            "avg_wait_s": s["avg_wait_s"], "utilisation": s["utilisation"], "preemptions": s["preemptions"]}


def child_baseline(n: int) -> dict[str, Any]:
    """Bare simpy on the same jobs: a process per job and a Container of chips."""
    import simpy

    from sim.workload import build_jobs

    with tempfile.TemporaryDirectory() as tmp:
        loaded = load(n, "fifo", Path(tmp))
        jobs = build_jobs(loaded, SEED)
    order = sorted(range(len(jobs)), key=lambda j: jobs.submit[j])
    submit = [jobs.submit[j] for j in order]
    chips = [jobs.chips[j] for j in order]
    duration = [jobs.duration[j] * (1 + 60 / 3600) for j in order]  # hourly checkpoints of 60 s, as trnsim
    t0 = time.perf_counter()
    env = simpy.Environment()
    pool = simpy.Container(env, capacity=CHIPS, init=CHIPS)

    def job(k: int):
        yield pool.get(chips[k])
        yield env.timeout(duration[k])
        yield pool.put(chips[k])

    def source():
        for k in range(len(submit)):
            if submit[k] > env.now:
                yield env.timeout(submit[k] - env.now)
            env.process(job(k))

    env.process(source())
    env.run()
    return {"wall_s": time.perf_counter() - t0}


def run_child(kind: str, n: int, offered: float = LOAD, tree: Path = ROOT) -> dict[str, Any]:
    """One measurement in its own process, on the code of `tree` (this checkout, or an older one)."""
    proc = subprocess.run([sys.executable, __file__, "--child", kind, str(n), str(offered)], capture_output=True,
                          text=True, cwd=tree, env=python_env(tree))
    if proc.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def report(n: int, base: dict[str, Any], rows: dict[str, dict[str, Any]], command: str) -> str:
    fifo = rows["fifo"]["wall_s"]
    lines = [
        "# Policy speed",
        "",
        f"Command: `{command}`  ",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in describe("simpy", "numpy").items()) + "  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
        f"{n:,} jobs of 1-64 chips on {CHIPS:,} chips (64 trn2.48xlarge), offered load {LOAD}; see the "
        "docstring of benchmarks/policies.py. Bare simpy baseline (a process per job, a Container of chips, "
        f"no placement): {n / base['wall_s']:,.0f} jobs/s.",
        "",
        "| policy | jobs/s | vs bare simpy | vs fifo | passes | policy µs per pass | mean wait | utilisation "
        "| preemptions |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {n / r['wall_s']:,.0f} | {base['wall_s'] / r['wall_s']:.2f}x | {fifo / r['wall_s']:.2f}x "
            f"| {r['passes']:,} | {1e6 * r['policy_s'] / max(1, r['passes']):.1f} | {r['avg_wait_s'] / 3600:.2f} h "
            f"| {r['utilisation']:.1%} | {r['preemptions']:,} |")
    lines += ["", "jobs/s is for the whole `simulate()` (building jobs, the engine, metrics); ratios above 1 "
              "are faster than the reference."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--policies", default=None, help="comma-separated (default: every registered policy)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "policies-results.md"), help="'-': print only")
    ap.add_argument("--load", type=float, default=None,
                    help=f"offered load (default {LOAD}); with it, the scaling table of --overload instead")
    ap.add_argument("--overload", default=None, metavar="N,N",
                    help="job counts for the scaling table (e.g. 20000,200000): CPU s per policy at each, at --load")
    ap.add_argument("--compare-to", default=None, metavar="REV", help="scaling table: also the code of this git revision")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, n, offered = args.child[0], int(args.child[1]), float(args.child[2])
        print(json.dumps(child_baseline(n) if kind == "baseline" else child_policy(n, kind, offered)))
        return
    if args.overload:
        scaling(args)
        return
    from sim.policies import base as policies

    chosen = args.policies.split(",") if args.policies else policies.names()
    names = ["fifo"] + [p for p in chosen if p != "fifo"]  # fifo always: the other ratio's reference
    command = shlex.join(["benchmarks/policies.py", *sys.argv[1:]])
    base = run_child("baseline", args.jobs)
    print(f"baseline {args.jobs / base['wall_s']:,.0f} jobs/s", file=sys.stderr)
    rows = {}
    for name in names:
        rows[name] = run_child(name, args.jobs)
        print(f"{name:22s} {args.jobs / rows[name]['wall_s']:>9,.0f} jobs/s", file=sys.stderr)
    text = report(args.jobs, base, rows, command)
    print(text)
    if args.out != "-":
        Path(args.out).write_text(text)


def scaling(args: argparse.Namespace) -> None:
    """CPU seconds of `simulate()` per policy at each job count, at an offered load (above 1: the
    queue only grows), for this checkout and optionally an older revision, one child at a time."""
    from sim.policies import base as policies

    sizes = [int(x) for x in args.overload.split(",")]
    offered = args.load if args.load is not None else 1.5
    names = args.policies.split(",") if args.policies else policies.names()
    command = shlex.join(["benchmarks/policies.py", *sys.argv[1:]])
    load0 = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    codes = [("old", args.compare_to), ("new", None)] if args.compare_to else [("new", None)]
    rows: dict[tuple[str, str, int], dict[str, Any]] = {}
    for label, rev in codes:
        with source_tree(rev) as tree:
            for name in names:
                for n in sizes:
                    r = rows[(label, name, n)] = run_child(name, n, offered, tree)
                    print(f"{label} {name:22s} {n:>8,} jobs {r['cpu_s']:8.1f} CPU s", file=sys.stderr, flush=True)
    load1 = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        "# Policy speed when the queue only grows",
        "",
        f"Command: `{command}`  ",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in describe("simpy", "numpy").items()) + "  ",
        f"Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average {load0} at the start, {load1} at "
        "the end (1, 5, 15 min; other sessions share the machine, so CPU seconds, not wall time)",
        "",
        f"The workload of benchmarks/policies.py at offered load {offered}: arrivals outpace the cluster, so "
        "the queue grows all run. CPU s is the child's `time.process_time()` around `simulate()`. Linear "
        f"cost means the ratio between sizes equals the ratio of jobs ({sizes[-1] / sizes[0]:g}x)."
        + (f" `old` is the code of {args.compare_to} (`git archive`), run by the same script." if args.compare_to
           else ""),
        "",
        "| policy | code | " + " | ".join(f"CPU s at {n:,}" for n in sizes) + " | ratio | mean wait (h) |",
        "|---|---|" + "---:|" * (len(sizes) + 2),
    ]
    for name in names:
        for label, _ in codes:
            cells = [rows[(label, name, n)] for n in sizes]
            lines.append(f"| {name} | {label} | " + " | ".join(f"{c['cpu_s']:,.1f}" for c in cells)
                         + f" | {cells[-1]['cpu_s'] / cells[0]['cpu_s']:.1f}x | {cells[-1]['avg_wait_s'] / 3600:,.0f} |")
    publish(lines, args.out)


if __name__ == "__main__":
    main()
