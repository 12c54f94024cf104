"""Peak RSS of `trnsim run` per phase: where the memory of a run goes (default: the campus year).

    .venv/bin/python benchmarks/memory.py                                # the year; writes memory-results.md
    .venv/bin/python benchmarks/memory.py --set horizon=30d --out -      # a 30-day window, printed only
    .venv/bin/python benchmarks/memory.py --compare-to f0a39cb           # also the code of f0a39cb, first

Each run is `trnsim run SCENARIO --quiet --out TMP` (plus `--set`/`--ci`) in its own subprocess, which
wraps the functions that begin each phase (`PHASES`: a phase lasts from the first call of its
function to the start of the next phase) and, at every change of phase, reads the process's
RSS (`VmRSS`) and its high-water mark since the last change (`VmHWM`, reset by writing 5 to
/proc/self/clear_refs: Linux only), so each phase's peak is exact, not sampled. CPU s is the
process's user + system time in the phase. With `--compare-to REV`, the code of git revision REV
(extracted by `git archive`, benchmarks/machine.py) runs the same scenario first, in the same invocation.
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

from machine import describe, publish, python_env, source_tree  # benchmarks/machine.py

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "campus-5gw-year.yaml"
# (phase, module, function that begins it); the first phase (loading the scenario, imports) begins at once
PHASES = (
    ("imports and scenario", None, None),
    ("build cluster", "sim.run", "build_cluster"),
    ("jobs and plan", "sim.run", "build_jobs"),
    ("simulation", "sim.engine.coordinator", "Engine.run"),
    ("summary", "sim.metrics", "summarise"),
    ("jobs table", "sim.metrics", "jobs_table"),
    ("series", "sim.rundir", "series_table"),
    ("report data", "sim.rundir", "from_result"),
    ("report", "sim.report.run_report", "write"),
)


def _status(key: str) -> float:
    """A /proc/self/status figure in MiB (VmRSS, VmHWM)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


class Phases:
    """The child's record: at each change of phase, the ended phase's RSS at its start, its peak and its CPU time."""

    def __init__(self) -> None:
        self.rows: list[dict] = []
        self.current = 0
        self._begin()

    def _begin(self) -> None:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset VmHWM to the current RSS
        self.start_mib = _status("VmRSS")
        self.cpu0 = time.process_time()

    def enter(self, index: int) -> None:
        if index <= self.current:
            return  # a phase's function called again later (or a phase already passed): no change
        self.close()
        self.current = index
        self._begin()

    def close(self) -> None:
        self.rows.append({"phase": PHASES[self.current][0], "start_mib": self.start_mib, "peak_mib": _status("VmHWM"),
                          "end_mib": _status("VmRSS"), "cpu_s": time.process_time() - self.cpu0})


def _hook(phases: Phases, index: int) -> None:
    """Wrap PHASES[index]'s function so that its first call begins that phase."""
    import importlib

    _, module, name = PHASES[index]
    owner = importlib.import_module(module)
    *path, attr = name.split(".")
    for part in path:
        owner = getattr(owner, part)
    inner = getattr(owner, attr)

    def wrapped(*args, **kwargs):
        phases.enter(index)
        return inner(*args, **kwargs)

    setattr(owner, attr, wrapped)


def child(out: str, argv: list[str]) -> None:
    """In the subprocess: run `trnsim` with `argv`, phases hooked, and write the rows to `out` (JSON)."""
    phases = Phases()
    for i in range(1, len(PHASES)):
        _hook(phases, i)
    from sim.cli import main

    try:
        main(argv)
    except SystemExit as exc:
        if exc.code:
            raise
    phases.close()
    Path(out).write_text(json.dumps(phases.rows))


def measure(tree: Path, scenario: Path, extra: list[str]) -> dict:
    """One run of the code in `tree` in a child process: its phases and its CPU time (`os.wait4`)."""
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "stderr", "w+") as err:
        rows = Path(tmp) / "phases.json"
        child_proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", str(rows), "--",
                                       "run", str(scenario), *extra, "--quiet", "--out", str(Path(tmp) / "run")],
                                      cwd=tree, stdout=subprocess.DEVNULL, stderr=err, env=python_env(tree))
        _, status, usage = os.wait4(child_proc.pid, 0)
        if os.waitstatus_to_exitcode(status):
            err.seek(0)
            sys.exit(f"{tree}: trnsim run failed:\n{err.read()}")
        summary = json.loads((Path(tmp) / "run" / "summary.json").read_text())
        # not ru_maxrss: resetting VmHWM between phases resets it too
        return {"phases": json.loads(rows.read_text()), "cpu_s": usage.ru_utime + usage.ru_stime, "summary": summary}


def table(runs: list[tuple[str, dict]]) -> list[str]:
    """The phases as rows, each run's RSS at the phase's start and its peak in the phase as columns."""
    head = "| phase |" + "".join(f" {name}: RSS at start MiB | {name}: peak MiB | {name}: CPU s |" for name, _ in runs)
    lines = [head, "|---|" + "---:|---:|---:|" * len(runs)]
    for phase, _, _ in PHASES:
        cells = []
        for _, r in runs:
            row = next((x for x in r["phases"] if x["phase"] == phase), None)
            cells.append(" - | - | - |" if row is None else
                         f" {row['start_mib']:,.0f} | {row['peak_mib']:,.0f} | {row['cpu_s']:,.1f} |")
        lines.append(f"| {phase} |" + "".join(cells))
    lines.append("| whole run (peak of the phases; CPU user + system) |" + "".join(
        f" | {max(x['peak_mib'] for x in r['phases']):,.0f} | {r['cpu_s']:,.1f} |" for _, r in runs))
    return lines


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[sys.argv.index("--") + 1:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default=str(SCENARIO), help="scenario file (default: the campus year)")
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                        help="a scenario override, as `trnsim run --set` (repeatable)")
    parser.add_argument("--ci", action="store_true", help="run the scenario's ci: form, as `trnsim run --ci`")
    parser.add_argument("--compare-to", default=None, metavar="REV",
                        help="also run the code of this git revision (e.g. f0a39cb), before the current code")
    parser.add_argument("--out", default=str(Path(__file__).with_name("memory-results.md")),
                        help="results file ('-' for stdout only)")
    args = parser.parse_args()
    scenario = Path(args.scenario).resolve()
    extra = [x for s in args.sets for x in ("--set", s)] + (["--ci"] if args.ci else [])
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    load0 = os.getloadavg()
    info = describe("numpy", "pyarrow")  # the commit measured: read before the runs
    runs = []
    with source_tree(args.compare_to) as old:
        if args.compare_to:
            runs.append((args.compare_to, measure(old, scenario, extra)))
        runs.append(("now", measure(ROOT, scenario, extra)))
    s = runs[-1][1]["summary"]
    try:
        shown = scenario.relative_to(ROOT)
    except ValueError:
        shown = scenario
    lines = [
        "# Memory benchmark: peak RSS of `trnsim run` per phase",
        "",
        f"`.venv/bin/python benchmarks/memory.py {' '.join(sys.argv[1:])}`",
        "",
        f"- date: {started}",
        f"- machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} RAM; load average "
        f"{', '.join(f'{x:.2f}' for x in load0)} at the start, "
        f"{', '.join(f'{x:.2f}' for x in os.getloadavg())} at the end (1, 5, 15 min)",
        f"- Python {info['python']}, numpy {info['numpy']}, pyarrow {info['pyarrow']}, trnsim commit {info['commit']}"
        + ("" if not args.compare_to else f" (`now`), against {args.compare_to}"),
        f"- `trnsim run {shown} {' '.join(extra)} --quiet --out TMP`".replace("  ", " ")
        + f": {s['jobs_submitted']:,} jobs, {s['failures']:,} failures, {s['restarts']:,} restarts, "
          f"{s['events']:,} events",
        "- each run in its own subprocess; a phase lasts from the first call of the function that begins it "
        "(`PHASES` in the script) to the next phase; its peak is the process's `VmHWM` over the phase "
        "(reset at its start), RSS at start its `VmRSS` then",
        "",
        *table(runs),
    ]
    publish(lines, args.out)


if __name__ == "__main__":
    main()
