"""Total cost of a cluster size: what the cluster costs plus what waiting costs its users.

Usage: python docs/lessons/total_cost.py SWEEP_DIR --axis cluster.pools.0.ultraservers --wait-cost '$100/h'

Reads SWEEP_DIR/sweep.parquet (a `trnsim sweep` over the size); for each run, waiting cost =
sum of waits (jobs_completed x avg_wait) x the value of an hour of a job's wait. Prints the mean
over seeds and the seeds' range per size, marks the cheapest, and draws SWEEP_DIR/total_cost.png
(one thin line per seed: the fan).
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import pyarrow.parquet as pq

from sim.scenario.units import parse_money_per_hour


def total_costs(sweep_dir: Path, axis: str, usd_per_wait_hour: float) -> dict[object, list[dict[str, float]]]:
    """Per size: one {cluster, waiting, total} in dollars per seed (failed runs left out)."""
    out: dict[object, list[dict[str, float]]] = {}
    for row in pq.read_table(Path(sweep_dir) / "sweep.parquet").to_pylist():
        if row.get("error") or row.get("cost_usd") is None:
            continue
        waiting = row["jobs_completed"] * (row["avg_wait_s"] or 0.0) / 3600 * usd_per_wait_hour
        out.setdefault(row[f"grid.{axis}"], []).append(
            {"seed": row["seed"], "cluster": row["cost_usd"], "waiting": waiting, "total": row["cost_usd"] + waiting})
    return dict(sorted(out.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path)
    parser.add_argument("--axis", required=True, help="the --grid path that varies the size")
    parser.add_argument("--wait-cost", default="$100/h", help="value of one hour of one job's wait (ESTIMATE)")
    args = parser.parse_args()
    costs = total_costs(args.sweep_dir, args.axis, parse_money_per_hour(args.wait_cost))
    means = {size: statistics.fmean(r["total"] for r in runs) for size, runs in costs.items()}
    best = min(means, key=means.get)
    print(f"| {args.axis} | cluster cost | waiting cost | total (mean) | total (seeds' range) |")
    print("|---:|---:|---:|---:|---|")
    for size, runs in costs.items():
        cluster = statistics.fmean(r["cluster"] for r in runs)
        waiting = statistics.fmean(r["waiting"] for r in runs)
        lo, hi = min(r["total"] for r in runs), max(r["total"] for r in runs)
        mark = " **cheapest**" if size == best else ""
        print(f"| {size} | ${cluster:,.0f} | ${waiting:,.0f} | ${means[size]:,.0f}{mark} | ${lo:,.0f} - ${hi:,.0f} |")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.8), dpi=110)
    seeds = sorted({r["seed"] for runs in costs.values() for r in runs})
    sizes = list(costs)
    for k, seed in enumerate(seeds):
        ys = [next((r["total"] / 1e3 for r in costs[s] if r["seed"] == seed), float("nan")) for s in sizes]
        ax.plot(sizes, ys, "-", color="#1f77b4", alpha=0.3, lw=0.8, label="total, one line per seed" if k == 0 else None)
    ax.plot(sizes, [means[s] / 1e3 for s in sizes], "-o", color="#1f77b4", lw=2, label="total, mean")
    ax.plot(sizes, [statistics.fmean(r["cluster"] for r in costs[s]) / 1e3 for s in sizes], "--", color="#7f7f7f",
            label="cluster cost")
    ax.plot(sizes, [statistics.fmean(r["waiting"] for r in costs[s]) / 1e3 for s in sizes], ":", color="#d62728",
            label=f"waiting cost ({args.wait_cost} per job-hour waited)")
    ax.set_xlabel(args.axis)
    ax.set_ylabel("thousand $")
    ax.set_ylim(0, min(max(means.values()), 3 * min(means.values())) / 1e3 * 1.2)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(Path(args.sweep_dir) / "total_cost.png")
    print(f"plot: {Path(args.sweep_dir) / 'total_cost.png'}")


if __name__ == "__main__":
    main()
