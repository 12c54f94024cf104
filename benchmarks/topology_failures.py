"""topology_aware against first_fit with failures: a 4-day window of the 5 GW campus year
(`scenarios/campus-5gw-year.yaml`, failures on) whose frontier runs are all 65,536 chips (4,096
whole instances each), so every failure stops and restarts a large whole-instance job.

Each run is `python -m sim run scenarios/campus-5gw-year.yaml --set horizon=4d --set
workload.{0,1}.generator.chips.choice.values=[65536, ...] --set scheduler.placement=P --quiet` in
its own subprocess (benchmarks/campus_year.py's `measure`), for first_fit and topology_aware, with
the current code and, with `--compare-to REV`, the code of that git revision (`git archive`).
CPU time (user + system of the child) is the figure to compare when other processes share the
machine; events/s is the run's events over its wall time.

    .venv/bin/python benchmarks/topology_failures.py --compare-to 2c70c5e   # writes topology-failures-results.md
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from campus_year import measure  # benchmarks/campus_year.py
from machine import describe, publish, source_tree  # benchmarks/machine.py

ROOT = Path(__file__).resolve().parent.parent
FRONTIER = "[65536, 65536, 65536, 65536, 65536]"
WINDOW = ("--set", "horizon=4d", "--set", f"workload.0.generator.chips.choice.values={FRONTIER}",
          "--set", f"workload.1.generator.chips.choice.values={FRONTIER}")
PLACEMENTS = ("first_fit", "topology_aware")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--compare-to", default=None, metavar="REV", help="also the code of this git revision")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "topology-failures-results.md"), help="'-': print only")
    args = ap.parse_args()
    load0 = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = []
    for label, rev in ([(f"at {args.compare_to}", args.compare_to)] if args.compare_to else []) + [("current", None)]:
        with source_tree(rev) as tree:
            for placement in PLACEMENTS:
                r = measure("4d", "requeue", tree, (*WINDOW[2:], "--set", f"scheduler.placement={placement}"))
                rows.append((label, placement, r))
                print(label, placement, f"{r['cpu_s']:.1f} CPU s, {r['wall_s']:.1f} s", file=sys.stderr, flush=True)
    load1 = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    info = describe("numpy")
    lines = [
        "# topology_aware against first_fit with failures (4 days of the campus, 65,536-chip frontier runs)",
        "",
        f"`.venv/bin/python benchmarks/topology_failures.py {' '.join(sys.argv[1:])}`",
        "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average {load0} at the start, {load1} "
        "at the end (1, 5, 15 min; other sessions share the machine, so compare CPU seconds)",
        f"- machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} RAM; Python {info['python']}, "
        f"numpy {info['numpy']}, trnsim commit {info['commit']}",
        "",
        "| code | placement | CPU s | vs first_fit | wall s | events | events/s (wall) | failures |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, placement, r in rows:
        first = next(x for lab, p, x in rows if lab == label and p == "first_fit")
        s = r["summary"]
        lines.append(f"| {label} | {placement} | {r['cpu_s']:.1f} | {r['cpu_s'] / first['cpu_s']:.1f}x | "
                     f"{r['wall_s']:.1f} | {s['events']:,} | {s['events'] / r['wall_s']:,.0f} | {s['failures']:,} |")
    lines += ["", "CPU s and wall s are the whole `trnsim run` (loading and building the 5 GW cluster, about 3 s of "
              "CPU, included)."]
    publish(lines, args.out)


if __name__ == "__main__":
    main()
