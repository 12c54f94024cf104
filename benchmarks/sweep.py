"""Sweep speed-up: the same grid run serially in one process and on a 2-worker LocalCluster.

Usage: .venv/bin/python benchmarks/sweep.py [--jobs 100000] [--seeds 4] [--workers 2] [--out FILE]

Grid: the M/M/16 of the teaching pack (`scenarios/teaching/02-knee.yaml`) at three arrival rates
x `--seeds` seeds, each run `--jobs` jobs. Both runners write rows to their own temporary
directory through `sim.sweep.sweep`, as `trnsim sweep` does; the dask time includes starting and
stopping the cluster (and is also given without it). The ratio is measured in the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

from machine import ROOT, describe, publish

sys.path.insert(0, str(ROOT))

from sim.sweep import Executor, parse_grid, sweep  # noqa: E402

SCENARIO = ROOT / "scenarios" / "teaching" / "02-knee.yaml"
GRID = "workload.0.generator.arrivals.poisson.rate=11.2/h,12.8/h,14.4/h"


def timed_sweep(executor: Executor, jobs: int, seeds: int) -> tuple[float, float, int]:
    """(total seconds with cluster start and stop, seconds of the runs alone, runs)."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        with executor:
            t1 = time.perf_counter()
            result = sweep(SCENARIO, [parse_grid(GRID)], list(range(1, seeds + 1)), executor, Path(tmp) / "out",
                           sets=(f"workload.0.generator.count={jobs}",))
            t2 = time.perf_counter()
        t3 = time.perf_counter()
    failed = [r for r in result.rows if r.get("error")]
    if failed:
        raise SystemExit(f"runs failed: {failed[0]['error']}")
    return t3 - t0, t2 - t1, len(result.rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=100_000)
    ap.add_argument("--seeds", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "sweep-results.md"), help="results file, '-' for none")
    args = ap.parse_args()
    load0 = os.getloadavg()
    serial_total, serial_runs, n = timed_sweep(Executor(serial=True), args.jobs, args.seeds)
    dask_total, dask_runs, _ = timed_sweep(Executor(workers=args.workers), args.jobs, args.seeds)
    load1 = os.getloadavg()
    info = describe("distributed", "simpy")
    lines = [
        "# Sweep benchmark: serial vs a local dask cluster",
        "",
        f"`.venv/bin/python benchmarks/sweep.py --jobs {args.jobs} --seeds {args.seeds} --workers {args.workers}`",
        "",
        f"- date: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}",
        f"- machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} RAM; load average "
        f"{', '.join(f'{x:.2f}' for x in load0)} at the start, {', '.join(f'{x:.2f}' for x in load1)} at the end",
        f"- Python {info['python']}, distributed {info['distributed']}, simpy {info['simpy']}, "
        f"trnsim commit {info['commit']}",
        f"- grid: `{SCENARIO.relative_to(ROOT)}` with `--grid {GRID}` x {args.seeds} seeds = {n} runs of "
        f"{args.jobs:,} jobs (M/M/16, rho 0.7-0.9)",
        "",
        "| runner | runs | wall s (all) | wall s (runs only) | runs/min | speed-up (all) | speed-up (runs only) |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| serial, in-process | {n} | {serial_total:.1f} | {serial_runs:.1f} | {60 * n / serial_total:.1f} | 1.00x | "
        "1.00x |",
        f"| LocalCluster, {args.workers} processes x 1 thread | {n} | {dask_total:.1f} | {dask_runs:.1f} | "
        f"{60 * n / dask_total:.1f} | {serial_total / dask_total:.2f}x | {serial_runs / dask_runs:.2f}x |",
        "",
        "`all` includes starting and stopping the dask cluster; `runs only` is the sweep itself.",
    ]
    publish(lines, args.out)


if __name__ == "__main__":
    main()
