"""The 5 GW campus for a year with failures (`scenarios/campus-5gw-year.yaml`): wall time and
peak RSS of `trnsim run`, each horizon in its own subprocess (`ru_maxrss` is a high-water mark).

    .venv/bin/python benchmarks/campus_year.py                       # the full year; writes campus-year-results.md
    .venv/bin/python benchmarks/campus_year.py --horizons 1d,7d      # shorter windows of the same scenario
    .venv/bin/python benchmarks/campus_year.py --variants requeue,spares-2%   # both recovery modes
    .venv/bin/python benchmarks/campus_year.py --horizons 1d,7d,30d,1yr --compare-to 2c70c5e --compare-horizons 1d,7d,30d

Variants (`VARIANTS`): `requeue` is the scenario as shipped (a failure requeues the job);
`spares-N%` holds N % of the instances as hot spares and recovers in place (failures.recovery:
spares), `spares-N%-c10s` adds in-memory-style checkpoints (C = 10 s), `-c10s-r20s` also a
standby-machine restart (R = 20 s).

Each run is `python -m sim run scenarios/campus-5gw-year.yaml --set horizon=H --quiet` into a
temporary directory (removed afterwards); the child's wall time and peak RSS (its own
`ru_maxrss`, from `os.wait4`) are recorded with the run's summary figures, and its CPU time (user +
system, from the same `wait4`), which other processes sharing the machine inflate less than wall time.
With `--compare-to REV`, each of `--compare-horizons` of the `requeue` variant also runs the code of
git revision REV (extracted by `git archive`) just before the current code, on the same scenario file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe, python_env, source_tree  # benchmarks/machine.py

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "campus-5gw-year.yaml"
VARIANTS = {"requeue": []}
for _share in (1, 2, 5):
    _spares = ["--set", f"cluster.pools.0.spares={_share}%", "--set", "failures.recovery=spares"]
    VARIANTS[f"spares-{_share}%"] = _spares
    VARIANTS[f"spares-{_share}%-c10s"] = [*_spares, "--set", "failures.checkpoint_write=10s"]
    VARIANTS[f"spares-{_share}%-c10s-r20s"] = [*_spares, "--set", "failures.checkpoint_write=10s",
                                               "--set", "failures.restart_overhead=20s"]
KEYS = ("jobs_submitted", "jobs_completed", "failures", "restarts", "interruptions", "spare_swaps", "utilisation", "utilisation_of_up", "goodput",
        "energy_mwh", "peak_power_mw", "cost_usd", "usd_per_useful_chip_hour", "usd_per_useful_pflop_day", "events")


def measure(horizon: str, variant: str = "requeue", tree: Path = ROOT, extra: tuple[str, ...] = ()) -> dict:
    """One run of the code in `tree` in a child process (the variant's --set overrides added,
    then `extra` arguments); `os.wait4` gives that child's own peak RSS and CPU time."""
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "stderr", "w+") as err:
        out = Path(tmp) / "run"
        t0 = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "sim", "run", str(SCENARIO), "--set", f"horizon={horizon}",
                                  *VARIANTS[variant], *extra, "--out", str(out), "--quiet"], cwd=tree, stdout=subprocess.DEVNULL,
                                 stderr=err, env=python_env(tree))
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status):
            err.seek(0)
            sys.exit(f"horizon {horizon}: trnsim run failed:\n{err.read()}")
        summary = json.loads((out / "summary.json").read_text())
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mib": usage.ru_maxrss / 1024,
            "summary": summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizons", default="1yr", help="comma-separated horizons (default: the full year)")
    parser.add_argument("--variants", default="requeue", help=f"comma-separated, of {', '.join(VARIANTS)}".replace("%", "%%"))  # (argparse formats %)
    parser.add_argument("--compare-to", default=None, metavar="REV",
                        help="also run the code of this git revision (e.g. 2c70c5e), just before the current code")
    parser.add_argument("--compare-horizons", default=None,
                        help="comma-separated horizons to run REV's code on (default: all of --horizons)")
    parser.add_argument("--out", default=str(Path(__file__).with_name("campus-year-results.md")),
                        help="results file ('-' for stdout only)")
    args = parser.parse_args()
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    load0 = os.getloadavg()
    rows = []
    compared = set((args.compare_horizons or args.horizons).split(",")) if args.compare_to else set()
    for variant in args.variants.split(","):
        if variant not in VARIANTS:
            sys.exit(f"unknown variant {variant!r}; one of {', '.join(VARIANTS)}")
    with source_tree(args.compare_to) as old:
        for variant in args.variants.split(","):
            for h in args.horizons.split(","):
                if h in compared and variant == "requeue":
                    r = measure(h, variant, old)
                    rows.append((f"{h} {variant} at {args.compare_to}", r))
                    print(rows[-1][0], json.dumps({"wall_s": r["wall_s"], "cpu_s": r["cpu_s"]}), flush=True)
                r = measure(h, variant)
                rows.append((f"{h} {variant}", r))
                print(h, variant, json.dumps({"wall_s": r["wall_s"], "cpu_s": r["cpu_s"], "peak_rss_mib": r["peak_rss_mib"],
                                              **{k: r["summary"][k] for k in KEYS}}), flush=True)
                write(args, started, load0, rows)  # after every run: a long benchmark cut short keeps the rest


def write(args: argparse.Namespace, started: str, load0: tuple[float, float, float], rows: list) -> None:
    info = describe("numpy", "simpy")
    lines = [
        "# Campus-year benchmark: the 5 GW Trainium2 campus for a year, failures on",
        "",
        f"`.venv/bin/python benchmarks/campus_year.py {' '.join(sys.argv[1:])}`",
        "",
        f"- date: {started}",
        f"- machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} RAM; load average "
        f"{', '.join(f'{x:.2f}' for x in load0)} at the start, "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())} at the end (1, 5, 15 min)",
        f"- Python {info['python']}, numpy {info['numpy']}, simpy {info['simpy']}, trnsim commit {info['commit']}",
        "- each horizon: `python -m sim run scenarios/campus-5gw-year.yaml --set horizon=H --quiet`, in its own "
        "subprocess (variants add their --set overrides, `VARIANTS` in the script); CPU s is that process's user + "
        "system time, peak RSS its `ru_maxrss`",
        "",
        "| horizon, variant | wall s | CPU s | peak RSS MiB | jobs submitted | completed | failures | restarts "
        "| spare swaps | events | utilisation | of up | goodput | energy MWh | peak MW | cost $ | $/useful chip-h "
        "| $/useful PFLOP-day |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for h, r in rows:
        s = r["summary"]
        pflop = s["usd_per_useful_pflop_day"]
        lines.append(
            f"| {h} | {r['wall_s']:,.0f} | {r['cpu_s']:,.0f} | {r['peak_rss_mib']:,.0f} | {s['jobs_submitted']:,} | "
            f"{s['jobs_completed']:,} | {s['failures']:,} | {s['restarts']:,} | {s.get('spare_swaps', 0):,} | {s['events']:,} | "
            f"{s['utilisation']:.3f} | {s['utilisation_of_up']:.3f} | {s['goodput']:.3f} | {s['energy_mwh']:,.0f} | "
            f"{s['peak_power_mw']:,.0f} | {s['cost_usd']:,.0f} | {s['usd_per_useful_chip_hour']:.2f} | "
            f"{'-' if pflop is None else f'{pflop:,.0f}'} |")
    text = "\n".join(lines) + "\n"
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text)

if __name__ == "__main__":
    main()
