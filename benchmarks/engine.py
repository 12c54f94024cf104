"""Engine speed: trnsim FIFO against a bare simpy loop on the same M/M/16 workload.

Sixteen one-chip instances, Poisson arrivals, exponential durations, rho = 0.8. Every runner
sees identical arrival times and durations: the baselines pre-draw them with numpy from the
streams trnsim's generator uses (`workload.0.arrivals`, `workload.0.duration`, seeds by name:
docs/architecture.md), and the trnsim child checks, after timing, that its jobs match those draws exactly.

Each (size, runner) runs in its own subprocess, so peak RSS is per run:

    .venv/bin/python benchmarks/engine.py                      # 100k and 1M, writes results.md
    .venv/bin/python benchmarks/engine.py --quick              # 10k and 100k
    .venv/bin/python benchmarks/engine.py --repeat 3           # best of three
    .venv/bin/python benchmarks/engine.py --profile 200000     # cProfile of simulate(), no table
    .venv/bin/python benchmarks/engine.py --clock cpu          # CPU seconds: steadier on a busy machine

The baseline is the textbook simpy model: one `Resource(capacity=16)` and one process per job
(timeout until arrival, request, timeout(duration), release), every process created before
`env.run()`. A second baseline, `source`, starts each job's process at its arrival from one
arrival process, so the event heap stays small and the garbage collector does not rescan a
million live generators; it is the faster of the two at scale and the fairer bar. trnsim is
timed through the library API only (`simulate()`, no run directory); its phases are timed by
wrapping the functions `simulate()` calls, without changing sim/.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import math
import os
import pstats
import resource
import shlex
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from machine import describe  # benchmarks/machine.py (the script's own folder is on sys.path)

ROOT = Path(__file__).resolve().parent.parent
SERVERS = 16
RHO = 0.8
MEAN_DURATION_S = 3600.0
SEED = 1
RATE_PER_S = RHO * SERVERS / MEAN_DURATION_S  # written to the scenario as N/s: repr round-trips
# trnsim phases, in the order simulate() runs them
PHASES = ("build_cluster", "build_jobs", "plan_jobs", "engine_init", "engine_run", "assumptions",
          "summarise", "scenario_sha256")


_CLOCK = time.perf_counter  # --clock cpu: time.process_time, this process's CPU seconds


def clock() -> float:
    """The benchmark's clock: wall time, or (--clock cpu) the child's CPU time, which other
    processes on a busy machine disturb far less than wall time."""
    return _CLOCK()


def scenario_yaml(n: int) -> str:
    return f"""\
name: mm{SERVERS}-bench
description: M/M/{SERVERS} FIFO, rho {RHO:g}, {n} one-chip jobs (benchmarks/engine.py)
seed: {SEED}
catalogue:
  instances: [{{name: hpc-node, accelerator: trainium2, chips: 1}}]
cluster:
  pools: [{{name: cpu, instance: hpc-node, count: {SERVERS}}}]
workload:
  - generator:
      count: {n}
      arrivals: {{poisson: {{rate: {RATE_PER_S!r}/s}}}}
      chips: 1
      duration: {{exponential: {{mean: {MEAN_DURATION_S:g}s}}}}
scheduler: {{policy: fifo, placement: first_fit}}
"""


def stream(seed: int, path: str) -> Any:
    """The numpy stream trnsim gives the component at scenario path `path`."""
    import numpy as np

    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(zlib.crc32(path.encode()),)))


def draw(n: int, seed: int) -> tuple[Any, Any]:
    """Arrival times and durations, drawn exactly as trnsim's generator draws them."""
    import numpy as np

    arrivals = 0.0 + np.cumsum(stream(seed, "workload.0.arrivals").exponential(1 / RATE_PER_S, size=n))
    durations = stream(seed, "workload.0.duration").exponential(MEAN_DURATION_S, size=n)
    return arrivals.astype(float), durations.astype(float)


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def erlang_c_wait(servers: int, rho: float, mean_s: float) -> float:
    """Mean queueing delay of M/M/c (Erlang C)."""
    a = rho * servers
    term = sum(a**k / math.factorial(k) for k in range(servers))
    top = a**servers / math.factorial(servers) / (1 - rho)
    return top / (term + top) * mean_s / (servers * (1 - rho))


# --- children -----------------------------------------------------------------------------
def child_baseline(n: int, seed: int, variant: str) -> dict[str, Any]:
    """Bare simpy: `upfront` creates every job's process before running, `source` at arrival."""
    import simpy

    rss_base = peak_rss_mib()  # the job arrays count as the run's memory, as trnsim's job table does
    arrivals, durations = draw(n, seed)
    arrival_list, duration_list = arrivals.tolist(), durations.tolist()
    del arrivals, durations
    waited = [0.0]

    def job(env: simpy.Environment, server: simpy.Resource, arrival: float, duration: float):
        yield env.timeout(arrival)
        req = server.request()
        yield req
        waited[0] += env.now - arrival
        yield env.timeout(duration)
        server.release(req)

    def arriving_job(env: simpy.Environment, server: simpy.Resource, arrival: float, duration: float):
        req = server.request()
        yield req
        waited[0] += env.now - arrival
        yield env.timeout(duration)
        server.release(req)

    def source(env: simpy.Environment, server: simpy.Resource):
        for a, d in zip(arrival_list, duration_list, strict=True):
            yield env.timeout(a - env.now)
            env.process(arriving_job(env, server, a, d))

    t0 = clock()
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=SERVERS)
    if variant == "upfront":
        for a, d in zip(arrival_list, duration_list, strict=True):
            env.process(job(env, server, a, d))
    else:
        env.process(source(env, server))
    t1 = clock()
    env.run()
    t2 = clock()
    assert server.count == 0 and not server.queue
    return {"runner": f"baseline-{variant}", "n": n, "setup_s": t1 - t0, "run_s": t2 - t1,
            "engine_s": t2 - t0, "simulate_s": None, "rss_base_mib": rss_base, "rss_peak_mib": peak_rss_mib(),
            "mean_wait_s": waited[0] / n, "end_time_s": env.now}


def _timed(phases: dict[str, float], name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = clock()
        try:
            return fn(*args, **kwargs)
        finally:
            phases[name] = phases.get(name, 0.0) + clock() - t
    return wrapper


def instrument(phases: dict[str, float]) -> None:
    """Time each phase of simulate() by wrapping the names it looks up (sim/ is not edited)."""
    from sim import engine, metrics
    from sim import run as simulation

    for name in ("build_cluster", "build_jobs", "plan_jobs", "assumptions", "scenario_sha256"):
        setattr(simulation, name, _timed(phases, name, getattr(simulation, name)))
    metrics.summarise = _timed(phases, "summarise", metrics.summarise)

    class TimedEngine(engine.Engine):
        def __init__(self, *args: Any, **kwargs: Any):
            t = clock()
            super().__init__(*args, **kwargs)
            phases["engine_init"] = clock() - t

        def run(self) -> Any:
            t = clock()
            try:
                return super().run()
            finally:
                phases["engine_run"] = clock() - t

    simulation.Engine = TimedEngine


def load(n: int, tmp: Path) -> Any:
    from sim.scenario import loader

    path = tmp / "scenario.yaml"
    path.write_text(scenario_yaml(n))
    return loader.load(path, [])


def child_trnsim(n: int, seed: int) -> dict[str, Any]:
    import numpy as np

    from sim import run as simulation

    phases: dict[str, float] = {}
    instrument(phases)
    with tempfile.TemporaryDirectory() as tmp:
        loaded = load(n, Path(tmp))
    rss_base = peak_rss_mib()
    t0 = clock()
    result = simulation.simulate(loaded, seed)
    total = clock() - t0
    rss_peak = peak_rss_mib()  # before the check below allocates anything
    arrivals, durations = draw(n, seed)
    if not (np.array_equal(arrivals, np.asarray(result.jobs.submit))
            and np.array_equal(durations, np.asarray(result.jobs.duration))):
        raise SystemExit("trnsim drew different arrivals or durations than the baseline")
    s = result.summary
    if s["jobs_completed"] != n:
        raise SystemExit(f"trnsim completed {s['jobs_completed']} of {n} jobs")
    return {"runner": "trnsim", "n": n, "setup_s": phases["engine_init"], "run_s": phases["engine_run"],
            "engine_s": phases["engine_init"] + phases["engine_run"], "simulate_s": total,
            "wall_s": result.wall_s, "phases": phases, "events": result.outcome.events,
            "series_rows": len(result.outcome.series["t_s"]), "rss_base_mib": rss_base,
            "rss_peak_mib": rss_peak, "mean_wait_s": s["avg_wait_s"], "end_time_s": result.outcome.end_time}


def profile(n: int, seed: int, top: int) -> None:
    from sim import run as simulation

    with tempfile.TemporaryDirectory() as tmp:
        loaded = load(n, Path(tmp))
    prof = cProfile.Profile()
    t0 = clock()
    prof.enable()
    simulation.simulate(loaded, seed)
    prof.disable()
    print(f"simulate() of {n:,} jobs under cProfile: {clock() - t0:.2f} s\n")
    for key in ("tottime", "cumulative"):
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats(key).print_stats(top)
        print(f"--- sorted by {key} ---")
        print(buf.getvalue().split("\n", 4)[-1].strip("\n") + "\n")


# --- parent -------------------------------------------------------------------------------
def run_child(runner: str, n: int, seed: int) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", runner, str(n), "--seed", str(seed),
           "--clock", "cpu" if _CLOCK is time.process_time else "wall"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{shlex.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def best_of(runner: str, n: int, seed: int, repeat: int) -> dict[str, Any]:
    """The fastest of `repeat` runs (by engine time); peak RSS is the largest seen."""
    runs = [run_child(runner, n, seed) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["engine_s"])
    best["rss_peak_mib"] = max(r["rss_peak_mib"] for r in runs)
    best["rss_base_mib"] = min(r["rss_base_mib"] for r in runs)
    return best


def machine() -> dict[str, str]:
    info = describe("simpy", "numpy")
    info["load"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return info


RUNNERS = ("baseline-upfront", "baseline-source", "trnsim")


def report(rows: list[dict[str, dict[str, Any]]], command: str, info: dict[str, str], repeat: int,
           seed: int) -> str:
    expected_wait = erlang_c_wait(SERVERS, RHO, MEAN_DURATION_S)
    lines = [
        "# Engine benchmark: trnsim FIFO vs bare simpy, M/M/16",
        "",
        f"`{command}`",
        "",
        f"- date: {dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} RAM; load average "
        f"{info['load_start']} at the start, {info['load']} at the end (1, 5, 15 min)",
        f"- Python {info['python']}, simpy {info['simpy']}, numpy {info['numpy']}, trnsim commit {info['commit']}",
        f"- workload: {SERVERS} one-chip instances, Poisson arrivals, exponential durations (mean "
        f"{MEAN_DURATION_S:g} s), rho {RHO:g}, seed {seed}; identical arrivals and durations in every runner",
        f"- best of {repeat} (fastest engine time; peak RSS is the largest of the runs); one subprocess "
        "per size and runner, run one after another",
        "",
        "| jobs | runner | timed | s | jobs/s | vs up-front baseline | vs source baseline | peak RSS MiB "
        "| RSS growth MiB | bytes/job |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        n = row["trnsim"]["n"]
        up_rate = n / row["baseline-upfront"]["engine_s"]
        src_rate = n / row["baseline-source"]["engine_s"]
        trn = row["trnsim"]
        for runner, timed, seconds, rec in (
            ("simpy, processes up front", "processes + env.run()", row["baseline-upfront"]["engine_s"],
             row["baseline-upfront"]),
            ("simpy, arrival source", "env.run()", row["baseline-source"]["engine_s"], row["baseline-source"]),
            ("trnsim", "Engine() + Engine.run()", trn["engine_s"], trn),
            ("trnsim", "simulate()", trn["simulate_s"], trn),
        ):
            rate = n / seconds
            growth = rec["rss_peak_mib"] - rec["rss_base_mib"]
            lines.append(f"| {n:,} | {runner} | {timed} | {seconds:.2f} | {rate:,.0f} | {rate / up_rate:.2f}x "
                         f"| {rate / src_rate:.2f}x | {rec['rss_peak_mib']:,.0f} | {growth:,.0f} "
                         f"| {growth * 2**20 / n:,.0f} |")
    lines += [
        "",
        "`vs ...` is jobs/s divided by that baseline's jobs/s at the same size (above 1 = faster). "
        "Peak RSS is `ru_maxrss` of the child; RSS growth is the peak minus the peak after imports and "
        "scenario loading, so bytes/job is what the run adds per job, its inputs included (the baselines' "
        "pre-drawn arrival and duration lists, trnsim's job table). `Engine() + Engine.run()` is trnsim's engine alone (building the arrival groups, the loop, "
        "the outcome lists). `simulate()` adds building the cluster, jobs and plan, the assumptions list, "
        "`metrics.summarise` and the scenario hash (no run directory); `result.wall_s` is `simulate()` "
        "minus the last three.",
        "",
        "## trnsim phases (seconds)",
        "",
        "| jobs | " + " | ".join(PHASES) + " | result.wall_s | simulate() | events | series rows |",
        "|---:|" + "---:|" * (len(PHASES) + 4),
    ]
    for row in rows:
        trn = row["trnsim"]
        ph = trn["phases"]
        lines.append(f"| {trn['n']:,} | " + " | ".join(f"{ph.get(p, 0.0):.2f}" for p in PHASES)
                     + f" | {trn['wall_s']:.2f} | {trn['simulate_s']:.2f} | {trn['events']:,} "
                       f"| {trn['series_rows']:,} |")
    lines += [
        "",
        "## Check: same schedule",
        "",
        f"Erlang C mean wait for M/M/{SERVERS} at rho {RHO:g}: {expected_wait:.1f} s.",
        "",
        "| jobs | " + " | ".join(f"{r} mean wait s" for r in RUNNERS) + " | "
        + " | ".join(f"{r} end s" for r in RUNNERS) + " |",
        "|---:|" + "---:|" * (2 * len(RUNNERS)),
    ]
    for row in rows:
        lines.append(f"| {row['trnsim']['n']:,} | " + " | ".join(f"{row[r]['mean_wait_s']:.3f}" for r in RUNNERS)
                     + " | " + " | ".join(f"{row[r]['end_time_s']:,.1f}" for r in RUNNERS) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000", help="comma-separated job counts")
    ap.add_argument("--quick", action="store_true", help="sizes 10000,100000")
    ap.add_argument("--repeat", type=int, default=1, help="runs per size and runner; the fastest is kept")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results.md"),
                    help="markdown file to write ('-': print only)")
    ap.add_argument("--profile", type=int, metavar="N", help="cProfile simulate() on N jobs and print hot spots")
    ap.add_argument("--top", type=int, default=30, help="rows per --profile listing")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="time by wall clock (default) or by each child's CPU time (steadier on a busy machine)")
    ap.add_argument("--child", nargs=2, metavar=("RUNNER", "N"), help=argparse.SUPPRESS)  # RUNNERS
    args = ap.parse_args()
    global _CLOCK
    _CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter

    if args.child:
        runner, n = args.child[0], int(args.child[1])
        if runner == "trnsim":
            out = child_trnsim(n, args.seed)
        else:
            out = child_baseline(n, args.seed, runner.removeprefix("baseline-"))
        print(json.dumps(out))
        return
    if args.profile:
        profile(args.profile, args.seed, args.top)
        return

    sizes = [10_000, 100_000] if args.quick else [int(s.replace("_", "")) for s in args.sizes.split(",")]
    exe = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) else sys.executable
    command = shlex.join([exe, "benchmarks/engine.py", *sys.argv[1:]])
    load_start = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = []
    for n in sizes:
        row = {}
        for runner in RUNNERS:
            rec = row[runner] = best_of(runner, n, args.seed, args.repeat)
            extra = f"  (simulate() {rec['simulate_s']:.2f} s)" if rec["simulate_s"] else ""
            print(f"{n:>9,} {runner:17s} {rec['engine_s']:7.2f} s  {n / rec['engine_s']:>9,.0f} jobs/s  "
                  f"{rec['rss_peak_mib']:6.0f} MiB{extra}", file=sys.stderr)
        rows.append(row)
    info = machine()
    info["load_start"] = load_start
    text = report(rows, command, info, args.repeat, args.seed)
    print(text)
    if args.out != "-":
        Path(args.out).write_text(text)
        print(f"written: {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
