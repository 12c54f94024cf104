"""A corpus of hostile inputs: every one gets a clear answer through the CLI.

Each case writes its files into its own directory, runs one `python -m sim` command there
(with a timeout: a hang is a failure, not a slow test), and is judged on five things:

- no traceback on stderr;
- the exit code it must have (2 for bad input, 0 where the input is legitimate);
- every stderr line of a refusal located: `FILE:LINE:COL: field: message` for a scenario,
  `FILE:LINE: message` for a trace, or starting with the flag (`--out ...`) for a flag;
- its outputs right (`check`), e.g. summary.json strict JSON, skipped rows counted;
- nothing left behind: the directory holds exactly what the case expects afterwards.

Large inputs are generated here. `python tests/test_hostile.py` prints the verdict of every
case and the counts (how the issue's before/after numbers were taken).
"""

from __future__ import annotations

import gzip
import json
import math
import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import ROOT, TINY_HEAD  # noqa: E402

TIMEOUT_S = 60  # far beyond any case's honest run time: reaching it is a hang
MEMORY_LIMIT = 3 << 30  # address space per command: a resource bomb must not take the machine down


def _limit_memory() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

BASE = TINY_HEAD  # two 16-chip instances, 20 generated jobs: 13 lines


def edit(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, old
    return text.replace(old, new)


SCENARIO = "s.yaml"
OUT = "runs/out"


@dataclass
class Case:
    id: str
    kind: str                              # yaml, numbers, bombs, traces, outputs, sweep, policies
    files: dict[str, str | bytes]          # relative path -> content, written before the command
    argv: list[str]                        # the command; "{d}" is the case directory
    exit: int = 2
    where: str | None = r"s\.yaml:\d+:\d+: "  # regex every stderr line must start with (exit 2)
    expect: list[str] = field(default_factory=list)  # fragments the stderr must hold
    after: list[str] | None = None         # names in {d} afterwards (None: the files, plus runs/out if exit 0)
    check: Callable[[Path, subprocess.CompletedProcess], str | None] | None = None
    env: dict[str, str] = field(default_factory=dict)
    setup: Callable[[Path], None] | None = None


def run_case(case: Case, d: Path) -> tuple[subprocess.CompletedProcess | None, bool]:
    d.mkdir(parents=True, exist_ok=True)
    for rel, content in case.files.items():
        p = d / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content)
    if case.setup is not None:
        case.setup(d)
    argv = [a.replace("{d}", str(d)) for a in case.argv]
    env = {**os.environ, "PYTHONPATH": str(ROOT), **case.env}
    try:
        proc = subprocess.run([sys.executable, "-m", "sim", *argv], capture_output=True, text=True,
                              errors="replace", cwd=d, env=env, timeout=TIMEOUT_S,
                              preexec_fn=_limit_memory)
    except subprocess.TimeoutExpired:
        return None, True
    return proc, False


def verdict(case: Case, d: Path, proc: subprocess.CompletedProcess | None, hung: bool) -> tuple[str, str]:
    """('ok', '') or (what went wrong, details)."""
    if hung:
        return "hang", f"no answer within {TIMEOUT_S} s"
    err = proc.stderr
    detail = f"exit {proc.returncode}\nstdout: {proc.stdout[-2000:]}\nstderr: {err[-3000:]}"
    if "Traceback (most recent call last)" in err:
        return "traceback", detail
    if proc.returncode != case.exit:
        return "wrong-exit", detail
    if case.exit == 2:
        lines = [line for line in err.splitlines() if line.strip()]
        pattern = re.compile(case.where.replace("{d}", re.escape(str(d)))) if case.where else None
        if not lines or (pattern and not all(pattern.match(line) for line in lines)):
            return "no-location", detail
        if any(len(line) > 2000 for line in lines):
            return "no-location", "a line of more than 2,000 characters"
    missing = [f for f in case.expect if f.replace("{d}", str(d)) not in err]
    if missing:
        return "wrong-output", f"missing {missing!r} in stderr\n{detail}"
    if case.check is not None:
        try:
            problem = case.check(d, proc)
        except Exception as exc:  # an unreadable output is a wrong one
            problem = f"{type(exc).__name__}: {exc}"
        if problem:
            return "wrong-output", f"{problem}\n{detail}"
    expected = case.after
    if expected is None:
        expected = sorted({rel.split("/")[0] for rel in case.files} | ({"runs"} if case.exit == 0 else set()))
    present = sorted(p.name for p in d.iterdir())
    if present != sorted(expected):
        return "leftover", f"directory holds {present}, expected {sorted(expected)}\n{detail}"
    runs = d / "runs"
    if runs.is_dir():
        hidden = [p.name for p in runs.iterdir() if p.name.startswith(".")]
        if hidden:
            return "leftover", f"runs/ holds {hidden}\n{detail}"
    return "ok", ""


# --- checks of outputs ---------------------------------------------------------------------

def _strict(text: str) -> object:
    def refuse(name: str) -> float:
        raise ValueError(f"non-strict JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


def summary_of(d: Path, out: str = OUT) -> dict:
    return _strict((d / out / "summary.json").read_text())


def summary_is(**want: object) -> Callable[[Path, subprocess.CompletedProcess], str | None]:
    def check(d: Path, proc: subprocess.CompletedProcess) -> str | None:
        try:
            s = summary_of(d)
        except (OSError, ValueError) as exc:
            return f"summary.json: {exc}"
        wrong = {k: s.get(k) for k, v in want.items() if s.get(k) != v}
        return f"summary {wrong} != {want}" if wrong else None
    return check


def strict_summary(d: Path, proc: subprocess.CompletedProcess) -> str | None:
    try:
        s = summary_of(d)
    except (OSError, ValueError) as exc:
        return f"summary.json is not strict JSON: {exc}"
    bad = [k for k, v in s.items() if isinstance(v, float) and not math.isfinite(v)]
    return f"non-finite {bad}" if bad else None


def unchanged(rel: str, content: str | bytes) -> Callable[[Path, subprocess.CompletedProcess], str | None]:
    def check(d: Path, proc: subprocess.CompletedProcess) -> str | None:
        p = d / rel
        if not p.exists():
            return f"{rel} was removed"
        now = p.read_bytes() if isinstance(content, bytes) else p.read_text()
        return None if now == content else f"{rel} was changed"
    return check


# --- generated inputs ------------------------------------------------------------------------

def billion_laughs() -> str:
    lines = ['a0: &a0 "lol"']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return BASE + "ci:\n  bomb:\n" + "".join(f"    {line}\n" for line in lines) + "    all: *a9\n"


def gz(text: str) -> bytes:
    return gzip.compress(text.encode(), mtime=0)


CSV_HEAD = "job_id,submit_s,chips,duration_s\n"
CSV_ROWS = "".join(f"j{i},{i * 60},4,3600\n" for i in range(6))
LONG_CSV = CSV_HEAD + "".join(f"j{i},{i * 37 % 9973},{1 + i % 7},{3600 + i * 13 % 997}\n" for i in range(3000))
TRUNCATED_GZ = gz(LONG_CSV)[: len(gz(LONG_CSV)) // 2]


def trace_scenario(path: str, fmt: str) -> str:
    return edit("  - generator:\n      count: 20\n      arrivals: {poisson: {rate: 5/h}}\n      chips: 4\n"
                "      duration: 1h\n",
                f"  - trace: {{path: {path}, format: {fmt}}}\n")


def swf_line(job: int, submit: str = "0", run: str = "3600", procs: str = "4") -> str:
    return f"{job} {submit} 0 {run} {procs} -1 -1 {procs} 7200 -1 1 1 1 -1 1 -1 -1 -1\n"


SWF_NAN = swf_line(1, "0") + swf_line(2, "nan") + swf_line(3, "120")
SWF_BAD = swf_line(1, "-1") + swf_line(2, "nan") + "not a record\n"

POLICY = """\
from sim.policies.fifo import Fifo


class Mine(Fifo):
    name = "mine"
"""

TRACE_RUN = ["run", SCENARIO, "--out", OUT, "--quiet"]
RUN = ["run", SCENARIO, "--out", OUT, "--quiet"]
SCEN = {SCENARIO: BASE}
TRACE_WHERE = r"s\.yaml:\d+:\d+: workload\.0\.trace\.path: "
FILE_WHERE = r"t\.[a-z.]+(:\d+)?: "
SWEEP_OUT = ["--out", "sw", "--serial", "--quiet"]


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def stale_dirs(d: Path) -> None:
    runs = d / "runs"
    runs.mkdir()
    stale = runs / f".out.trnsim-{dead_pid()}-abc123"
    stale.mkdir()
    (stale / "summary.json").write_text("{")
    (runs / f".old.trnsim-{os.getpid()}-live42").mkdir()  # a live process's: kept


def keeps_live_temp(d: Path, proc: subprocess.CompletedProcess) -> str | None:
    names = sorted(p.name for p in (d / "runs").iterdir())
    want = sorted([f".old.trnsim-{os.getpid()}-live42", "out"])
    if names != want:
        return f"runs/ holds {names}, expected {want}"
    (d / "runs" / want[0]).rmdir()  # the live one is this test's: tidy it for the leftover check
    return None


def symlink_setup(d: Path) -> None:
    (d / "target").mkdir()
    (d / "target" / "precious.txt").write_text("keep me")
    (d / "runs").mkdir()
    (d / "runs" / "out").symlink_to(d / "target")


def file_out_setup(d: Path) -> None:
    (d / "runs").mkdir()
    (d / "runs" / "out").write_text("an old file")


def single_run_dir(pattern: str) -> Callable[[Path, subprocess.CompletedProcess], str | None]:
    def check(d: Path, proc: subprocess.CompletedProcess) -> str | None:
        names = [p.name for p in (d / "runs").iterdir()]
        if len(names) != 1 or not re.fullmatch(pattern, names[0]) or len(names[0].encode()) > 255:
            return f"run directories {names!r} do not match {pattern!r}"
        return None
    return check


def is_dir_with_summary(d: Path, proc: subprocess.CompletedProcess) -> str | None:
    return None if (d / OUT / "summary.json").is_file() else "--out was not replaced by a run directory"


def target_intact(d: Path, proc: subprocess.CompletedProcess) -> str | None:
    if (d / "target" / "precious.txt").read_text() != "keep me" or len(list((d / "target").iterdir())) != 1:
        return "the symlink's target was changed"
    return None


def trace_stats_jobs(n: int, skipped: int) -> Callable[[Path, subprocess.CompletedProcess], str | None]:
    def check(d: Path, proc: subprocess.CompletedProcess) -> str | None:
        data = _strict(proc.stdout)
        if data["jobs"] != n or data["skipped"] != skipped:
            return f"jobs {data['jobs']} skipped {data['skipped']}, expected {n} and {skipped}"
        return None
    return check


def compare_strict(d: Path, proc: subprocess.CompletedProcess) -> str | None:
    try:
        _strict((d / "cmp" / "compare.json").read_text())
    except (OSError, ValueError) as exc:
        return f"compare.json is not strict JSON: {exc}"
    return None


ZERO_JOBS = edit("      count: 20\n      arrivals: {poisson: {rate: 5/h}}\n      chips: 4\n      duration: 1h\n",
                 "      count: 3\n      chips: 4\n      duration: 0s\n")
BIG_TRACE_FIELD = CSV_HEAD + CSV_ROWS + "big," + "9" * 200_000 + ",4,3600\n" + "j9,600,4,3600\n"
EMPIRICAL = edit("duration: 1h", "duration: {empirical: {path: d.csv, column: d}}")
# the merge source lives under `ci:` (free-form); pool b overrides the merged count
MERGE = ("ci:\n  x: &pool {instance: trn2.48xlarge, count: 2}\n"
         + BASE.replace("  pools:\n    - name: trn2\n      instance: trn2.48xlarge\n      count: 2\n",
                        "  pools:\n    - {<<: *pool, name: a}\n    - {<<: *pool, name: b, count: 4}\n"))

CASES: list[Case] = [
    # --- YAML --------------------------------------------------------------------------------
    Case("yaml-billion-laughs", "yaml", {SCENARIO: billion_laughs()}, RUN, expect=["alias"]),
    Case("yaml-billion-laughs-validate", "yaml", {SCENARIO: billion_laughs()}, ["validate", SCENARIO]),
    Case("yaml-recursive-alias", "yaml", {SCENARIO: BASE + "ci: &c {x: *c}\n"}, RUN),
    Case("yaml-recursive-list", "yaml", {SCENARIO: BASE + "description: &l [*l]\n"}, RUN),
    Case("yaml-merge-key", "yaml", {SCENARIO: MERGE}, RUN, exit=0, check=summary_is(chips=6 * 16)),
    Case("yaml-merge-not-mapping", "yaml", {SCENARIO: BASE.replace("      count: 2\n", "      <<: 5\n")}, RUN),
    Case("yaml-latin1", "yaml", {SCENARIO: BASE.encode() + b"description: caf\xe9\n"}, RUN,
         where=r"s\.yaml:14:\d+: ", expect=["UTF-8"]),
    Case("yaml-binary", "yaml", {SCENARIO: bytes(range(256)) * 4}, RUN, where=r"s\.yaml:\d+:\d+: "),
    Case("yaml-binary-validate", "yaml", {SCENARIO: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100)},
         ["validate", SCENARIO]),
    Case("yaml-nul", "yaml", {SCENARIO: BASE + "description: a\x00b\n"}, RUN, where=r"s\.yaml:14:\d+: "),
    Case("yaml-control", "yaml", {SCENARIO: BASE + "description: a\x07b\n"}, RUN, where=r"s\.yaml:14:\d+: "),
    Case("yaml-bom", "yaml", {SCENARIO: "\ufeff" + BASE}, RUN, exit=0, check=summary_is(jobs_submitted=20)),
    Case("yaml-utf16", "yaml", {SCENARIO: BASE.encode("utf-16")}, RUN),
    Case("yaml-huge-comment", "yaml", {SCENARIO: BASE + "# " + "x" * 2_000_000 + "\n"}, RUN, exit=0,
         check=summary_is(jobs_submitted=20)),
    Case("yaml-empty", "yaml", {SCENARIO: ""}, RUN),
    Case("yaml-device", "yaml", {}, ["run", "/dev/zero", "--out", OUT], where=r"/dev/zero: ", after=[]),
    Case("yaml-too-large", "yaml", {SCENARIO: BASE + "#" * (17 << 20) + "\n"}, RUN, where=r"s\.yaml:1:1: "),
    Case("yaml-deep-nesting", "yaml", {SCENARIO: BASE + "description: " + "[" * 20_000 + "\n"}, RUN),
    Case("yaml-directory", "yaml", {"s.yaml/x": ""}, RUN,  # click names the argument
         where=r"(Usage: |Try |Error: Invalid value for 'SCENARIO': .* is a directory)"),
    # --- numbers -----------------------------------------------------------------------------
    *[Case(f"numbers-pue-{v.strip('.')}", "numbers", {SCENARIO: BASE.replace("workload:", f"  pue: {v}\nworkload:")},
           RUN, where=r"s\.yaml:8:\d+: cluster\.pue: ") for v in (".nan", ".inf", "-1.2")],
    Case("numbers-watts-inf", "numbers", {SCENARIO: BASE + "catalogue:\n  accelerators:\n"
                                          "    - {name: trainium2, watts: .inf}\n"}, RUN,
         where=r"s\.yaml:16:\d+: catalogue\.accelerators\.0\.watts: "),
    Case("numbers-price-nan", "numbers", {SCENARIO: BASE + "catalogue:\n  instances:\n"
                                          "    - {name: trn2.48xlarge, on_demand_usd_per_h: .nan}\n"}, RUN,
         where=r"s\.yaml:16:\d+: catalogue\.instances\.0\.on_demand_usd_per_h: "),
    Case("numbers-sigma-nan", "numbers", {SCENARIO: edit("duration: 1h", "duration: {lognormal: {median: 1h, "
                                                         "sigma: .nan}}")}, RUN),
    Case("numbers-sigma-negative", "numbers", {SCENARIO: edit("duration: 1h", "duration: {lognormal: {median: 1h, "
                                                              "sigma: -1}}")}, RUN),
    Case("numbers-rate-overflow", "numbers", {SCENARIO: edit("rate: 5/h", "rate: 1e999/h")}, RUN),
    Case("numbers-slowdown-inf", "numbers", {SCENARIO: BASE.replace("workload:", "  topology: {slowdown: "
                                                                    "{cluster: .inf}}\nworkload:")}, RUN),
    Case("numbers-empirical-nan", "numbers", {SCENARIO: EMPIRICAL, "d.csv": "d\n3600\nnan\n"}, RUN,
         expect=["d.csv:3"]),
    Case("numbers-empirical-negative", "numbers", {SCENARIO: EMPIRICAL, "d.csv": "d\n3600\n-60\n"}, RUN,
         expect=["d.csv:3"]),
    Case("numbers-checkpoint-zero", "numbers", {SCENARIO: edit("duration: 1h", "duration: 1h\n"
                                                               "      checkpoint_interval: 0s")}, RUN),
    Case("numbers-mtbf-overflow", "numbers", {SCENARIO: BASE + "failures: {mtbf_instance: 1e400s}\n"}, RUN),
    Case("numbers-chips-scale-nan", "numbers", {SCENARIO: trace_scenario("t.csv", "csv").replace(
        "format: csv}", "format: csv, chips_scale: .nan}"), "t.csv": CSV_HEAD + CSV_ROWS}, RUN),
    Case("numbers-estimate-inf", "numbers", {SCENARIO: BASE + "scheduler: {policy: easy_backfill, estimate: "
                                             "{factor: .inf}}\n"}, RUN),
    Case("numbers-set-nan", "numbers", SCEN, [*RUN, "--set", "cluster.pue=.nan"], where=r"--set cluster\.pue: "),
    Case("numbers-zero-window-strict-json", "numbers", {SCENARIO: ZERO_JOBS}, RUN, exit=0, check=strict_summary),
    Case("numbers-compare-strict-json", "numbers", {SCENARIO: ZERO_JOBS},
         ["compare", SCENARIO, "--policies", "fifo,sjf", "--out", "cmp", "--quiet"], exit=0, check=compare_strict,
         after=["cmp", SCENARIO]),
    # --- resource bombs ------------------------------------------------------------------------
    Case("bombs-instances", "bombs", {SCENARIO: edit("count: 2\n", "count: 1000000000000\n")}, RUN,
         where=r"s\.yaml:7:\d+: cluster\.pools\.0\.count: ", expect=["--allow-large"]),
    Case("bombs-chips", "bombs", {SCENARIO: edit("count: 2\n", "chips: 1000000000000000\n")}, RUN,
         expect=["--allow-large"]),
    Case("bombs-instances-validate", "bombs", {SCENARIO: edit("count: 2\n", "count: 1000000000000\n")},
         ["validate", SCENARIO]),
    Case("bombs-instances-topology", "bombs", {SCENARIO: edit("count: 2\n", "count: 1000000000000\n")},
         ["topology", SCENARIO]),
    Case("bombs-jobs", "bombs", {SCENARIO: edit("count: 20\n", "count: 100000000\n")}, RUN,
         where=r"s\.yaml:10:\d+: workload\.0\.generator", expect=["--allow-large"]),
    Case("bombs-arrival-rate", "bombs", {SCENARIO: edit("count: 20\n", "until: 100yr\n").replace("5/h", "100/s")},
         RUN, expect=["--allow-large"]),
    Case("bombs-batch", "bombs", {SCENARIO: edit("count: 20\n      arrivals: {poisson: {rate: 5/h}}",
                                                 "arrivals: {batch: {at: 0s, count: 1000000000}}")}, RUN),
    Case("bombs-failures", "bombs", {SCENARIO: edit("count: 2\n", "count: 1000\n")
                                     + "horizon: 1yr\nfailures: {mtbf_instance: 1s}\n"}, RUN,
         expect=["--allow-large"]),
    Case("bombs-timeseries-step", "bombs", {SCENARIO: BASE + "horizon: 1yr\n"},
         [*RUN, "--timeseries-step", "1s"], where=r"--timeseries-step", expect=["--allow-large"]),
    Case("bombs-sweep-seeds", "bombs", SCEN, ["sweep", SCENARIO, "--seeds", "1000000", *SWEEP_OUT],
         where=r"--seeds", expect=["--allow-large"]),
    Case("bombs-compare-seeds", "bombs", SCEN, ["compare", SCENARIO, "--seeds", "1000000", "--out", "cmp"],
         where=r"--seeds"),
    Case("bombs-plan-seeds", "bombs", SCEN, ["plan", SCENARIO, "--seeds", "1000000", "--slo", "p95_wait<=2h",
                                             "--vary", "cluster.pools.0.count=1..4", *SWEEP_OUT], where=r"--seeds"),
    Case("bombs-allow-large", "bombs", SCEN, [*RUN, "--allow-large"], exit=0, env={"TRNSIM_MEMORY": "10KB"},
         check=summary_is(jobs_submitted=20)),
    Case("bombs-small-memory", "bombs", SCEN, RUN, env={"TRNSIM_MEMORY": "10KB"}, expect=["--allow-large"]),
    # --- traces --------------------------------------------------------------------------------
    Case("traces-swf-nan-run", "traces", {SCENARIO: trace_scenario("t.swf", "swf"), "t.swf": SWF_NAN}, RUN,
         exit=0, check=summary_is(jobs_submitted=2, rows_skipped=1)),
    Case("traces-swf-nan-stats", "traces", {"t.swf": SWF_NAN}, ["trace", "stats", "t.swf", "--format", "swf",
                                                                "--json"], exit=0, check=trace_stats_jobs(2, 1),
         after=["t.swf"]),
    Case("traces-swf-none-usable-stats", "traces", {"t.swf": SWF_BAD}, ["trace", "stats", "t.swf", "--format", "swf"],
         where=FILE_WHERE),
    Case("traces-swf-none-usable-run", "traces", {SCENARIO: trace_scenario("t.swf", "swf"), "t.swf": SWF_BAD},
         RUN, where=TRACE_WHERE),
    *[Case(f"traces-{name}-{cmd}", "traces", {**({SCENARIO: trace_scenario("t.csv.gz", "csv")} if cmd == "run"
                                                 else {}), "t.csv.gz": content},
           {"run": RUN, "validate": ["validate", SCENARIO], "stats": ["trace", "stats", "t.csv.gz", "--format", "csv"],
            "convert": ["trace", "convert", "t.csv.gz", "--format", "csv", "-o", "o.csv"]}[cmd],
           where=TRACE_WHERE if cmd == "run" else FILE_WHERE)
      for name, content in (("gzip-corrupt", b"\x1f\x8b\x08\x00" + bytes(range(200))),
                            ("gzip-truncated", TRUNCATED_GZ))
      for cmd in ("run", "stats", "convert")],
    Case("traces-gzip-truncated-validate", "traces", {SCENARIO: trace_scenario("t.csv.gz", "csv"),
                                                      "t.csv.gz": TRUNCATED_GZ},
         ["validate", SCENARIO], where=TRACE_WHERE),
    Case("traces-huge-field-run", "traces", {SCENARIO: trace_scenario("t.csv", "csv"), "t.csv": BIG_TRACE_FIELD},
         RUN, exit=0, check=summary_is(jobs_submitted=7, rows_skipped=1)),
    Case("traces-huge-field-convert", "traces", {"t.csv": BIG_TRACE_FIELD},
         ["trace", "convert", "t.csv", "--format", "csv", "-o", "o.csv"], exit=0, after=["o.csv", "t.csv"]),
    Case("traces-huge-field-swf", "traces", {"t.swf": swf_line(1) + swf_line(2, run="9" * 200_000) + swf_line(3)},
         ["trace", "stats", "t.swf", "--format", "swf", "--json"], exit=0, check=trace_stats_jobs(2, 1),
         after=["t.swf"]),
    Case("traces-wrong-columns", "traces", {SCENARIO: trace_scenario("t.csv", "csv"),
                                            "t.csv": "id,submit,chips\n1,0,4\n"}, RUN, where=TRACE_WHERE),
    Case("traces-crlf-csv", "traces", {SCENARIO: trace_scenario("t.csv", "csv"),
                                       "t.csv": (CSV_HEAD + CSV_ROWS).replace("\n", "\r\n").encode()}, RUN, exit=0,
         check=summary_is(jobs_submitted=6, rows_skipped=0)),
    Case("traces-crlf-swf", "traces", {SCENARIO: trace_scenario("t.swf", "swf"),
                                       "t.swf": SWF_NAN.replace("\n", "\r\n").encode()}, RUN, exit=0,
         check=summary_is(jobs_submitted=2, rows_skipped=1)),
    Case("traces-binary-csv", "traces", {"t.csv": bytes(range(256)) * 8},
         ["trace", "stats", "t.csv", "--format", "csv"], where=FILE_WHERE),
    Case("traces-device", "traces", {}, ["trace", "stats", "/dev/zero", "--format", "swf"], after=[],
         where=r"cannot read trace /dev/zero: "),
    Case("traces-directory", "traces", {SCENARIO: trace_scenario("tdir", "csv"), "tdir/x": ""}, RUN,
         where=TRACE_WHERE),
    Case("traces-nan-field-csv", "traces", {SCENARIO: trace_scenario("t.csv", "csv"),
                                            "t.csv": CSV_HEAD + CSV_ROWS + "n1,nan,4,60\nn2,60,inf,60\n"}, RUN,
         exit=0, check=summary_is(jobs_submitted=6, rows_skipped=2)),
    # --- outputs -------------------------------------------------------------------------------
    Case("outputs-stale-temp", "outputs", SCEN, RUN, exit=0, setup=stale_dirs, check=keeps_live_temp),
    Case("outputs-out-under-file", "outputs", {**SCEN, "file": "x"}, [*RUN[:2], "--out", "file/out"],
         where=r"--out "),
    Case("outputs-force-device", "outputs", SCEN, [*RUN[:2], "--out", "/dev/null", "--force"], where=r"--out "),
    Case("outputs-force-root", "outputs", SCEN, [*RUN[:2], "--out", "/", "--force"], where=r"--out "),
    Case("outputs-force-symlink", "outputs", SCEN, [*RUN, "--force"], setup=symlink_setup, where=r"--out ",
         after=[SCENARIO, "runs", "target"], check=target_intact),
    Case("outputs-file-without-force", "outputs", SCEN, RUN, setup=file_out_setup, where=r"--out ",
         after=[SCENARIO, "runs"]),
    Case("outputs-file-with-force", "outputs", SCEN, [*RUN, "--force"], setup=file_out_setup, exit=0,
         check=is_dir_with_summary),
    Case("outputs-name-newline", "outputs", {SCENARIO: edit("name: tiny", 'name: "two\\nlines"')},
         ["run", SCENARIO, "--quiet"], exit=0, check=single_run_dir(r"two_lines-\d{8}T\d{6}-[0-9a-f]{8}")),
    Case("outputs-name-300", "outputs", {SCENARIO: edit("name: tiny", "name: " + "n" * 300)},
         ["run", SCENARIO, "--quiet"], exit=0, check=single_run_dir(r"n+-\d{8}T\d{6}-[0-9a-f]{8}")),
    # --- sweep and plan ------------------------------------------------------------------------
    Case("sweep-bad-grid-value", "sweep", SCEN, ["sweep", SCENARIO, "--grid", "cluster.pools.0.count=2,-1",
                                                 *SWEEP_OUT[:2], "--quiet"], where=r"--grid "),
    Case("sweep-bad-scenario", "sweep", {SCENARIO: edit("count: 2\n", "count: -2\n")},
         ["sweep", SCENARIO, "--grid", "cluster.pools.0.count=2,4", *SWEEP_OUT[:2]]),
    Case("sweep-grid-seed", "sweep", SCEN, ["sweep", SCENARIO, "--grid", "seed=1,2", *SWEEP_OUT],
         where=r"--grid seed: ", expect=["--seeds"]),
    Case("sweep-bad-trace", "sweep", {SCENARIO: trace_scenario("t.csv", "csv"), "t.csv": "a,b\n"},
         ["sweep", SCENARIO, "--grid", "cluster.pools.0.count=2,4", *SWEEP_OUT[:2]], where=TRACE_WHERE),
    Case("sweep-force-over-scenario", "sweep", SCEN, ["sweep", SCENARIO, "--out", ".", "--force", "--serial"],
         where=r"--out ", check=unchanged(SCENARIO, BASE)),
    Case("sweep-force-symlink", "sweep", SCEN, ["sweep", SCENARIO, "--out", "runs/out", "--force", "--serial"],
         setup=symlink_setup, where=r"--out ", after=[SCENARIO, "runs", "target"], check=target_intact),
    Case("plan-bad-vary", "sweep", SCEN, ["plan", SCENARIO, "--slo", "p95_wait<=2h", "--vary",
                                          "cluster.pools.0.count=4..1", *SWEEP_OUT], where=r"--vary "),
    Case("plan-bad-slo", "sweep", SCEN, ["plan", SCENARIO, "--slo", "p95_wait<=banana", "--vary",
                                         "cluster.pools.0.count=1..4", *SWEEP_OUT], where=r"--slo "),
    Case("plan-bad-trace", "sweep", {SCENARIO: trace_scenario("t.csv", "csv"), "t.csv": "a,b\n"},
         ["plan", SCENARIO, "--slo", "p95_wait<=2h", "--vary", "cluster.pools.0.count=1..4", *SWEEP_OUT],
         where=TRACE_WHERE),
    # --- custom policies -----------------------------------------------------------------------
    Case("policies-beside-scenario", "policies", {"sc/s.yaml": BASE + "scheduler: {policy: 'mypol:Mine'}\n",
                                                  "sc/mypol.py": POLICY},
         ["run", "sc/s.yaml", "--out", "runs/out", "--quiet"], exit=0, after=["runs", "sc"]),
    Case("policies-missing-class", "policies", {SCENARIO: BASE + "scheduler: {policy: 'mypol2:Nope'}\n",
                                                "mypol2.py": POLICY}, RUN,
         where=r"s\.yaml:14:\d+: scheduler\.policy: ", expect=["Nope"]),
    Case("policies-import-error", "policies", {SCENARIO: BASE + "scheduler: {policy: 'mypol3:Mine'}\n",
                                               "mypol3.py": "import no_such_dependency_xyz\n" + POLICY}, RUN,
         where=r"s\.yaml:14:\d+: scheduler\.policy: ", expect=["no_such_dependency_xyz"]),
    Case("policies-raises", "policies", {SCENARIO: BASE + "scheduler: {policy: 'mypol4:Mine'}\n",
                                         "mypol4.py": "raise RuntimeError('boom at import')\n"}, RUN,
         where=r"s\.yaml:14:\d+: scheduler\.policy: ", expect=["boom at import"]),
    Case("policies-not-a-policy", "policies", {SCENARIO: BASE + "scheduler: {policy: 'os:getcwd'}\n"}, RUN,
         where=r"s\.yaml:14:\d+: scheduler\.policy: "),
    Case("policies-bad-name", "policies", {SCENARIO: BASE + "scheduler: {policy: 'no such:thing x'}\n"}, RUN,
         where=r"s\.yaml:14:\d+: scheduler\.policy: "),
    Case("policies-unknown", "policies", {SCENARIO: BASE + "scheduler: {policy: fifoo}\n"}, RUN,
         where=r"s\.yaml:14:\d+: scheduler\.policy: ", expect=["did you mean"]),
]


def run_all(root: Path, cases: list[Case] = CASES, workers: int = 3) -> dict[str, tuple[str, str]]:
    def one(case: Case) -> tuple[str, tuple[str, str]]:
        d = root / case.id
        proc, hung = run_case(case, d)
        return case.id, verdict(case, d, proc, hung)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(one, cases))


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory) -> dict[str, tuple[str, str]]:
    return run_all(tmp_path_factory.mktemp("hostile"))


@pytest.mark.parametrize("case_id", [c.id for c in CASES])
def test_hostile_input_gets_a_clear_answer(verdicts, case_id):
    kind, detail = verdicts[case_id]
    assert kind == "ok", f"{kind}: {detail}"


def test_sigterm_while_writing_leaves_nothing(tmp_path):
    """SIGTERM once the temporary run directory exists: the command exits and removes it."""
    import signal
    import time

    (tmp_path / SCENARIO).write_text(edit("count: 20\n", "count: 3000\n"))
    (tmp_path / "runs").mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "sim", *RUN], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    caught = False
    while proc.poll() is None:
        if any(p.name.startswith(".out.trnsim-") for p in (tmp_path / "runs").iterdir()):
            proc.send_signal(signal.SIGTERM)
            caught = True
            break
        time.sleep(0.005)
    _, err = proc.communicate(timeout=TIMEOUT_S)
    assert "Traceback" not in err
    left = sorted(p.name for p in (tmp_path / "runs").iterdir())
    if caught and proc.returncode != 0:
        assert proc.returncode == 128 + signal.SIGTERM, err
        assert left == [], left
    else:  # it finished before the signal could land: complete, and nothing else
        assert left == ["out"], left


def test_the_corpus_covers_every_class():
    assert {c.kind for c in CASES} == {"yaml", "numbers", "bombs", "traces", "outputs", "sweep", "policies"}
    assert len({c.id for c in CASES}) == len(CASES)


if __name__ == "__main__":
    import tempfile

    chosen = [c for c in CASES if not sys.argv[1:] or c.id in sys.argv[1:]]  # case ids to run (default: all)
    with tempfile.TemporaryDirectory() as tmp:
        results = run_all(Path(tmp), chosen)
    for case in chosen:
        kind, detail = results[case.id]
        shown = detail if len(chosen) < len(CASES) else detail.splitlines()[0] if detail else ""
        print(f"{kind:13} {case.id}" + (f"\n    {shown}" if kind != "ok" else ""))
    counts = Counter(kind for kind, _ in results.values())
    print(f"\n{len(chosen)} cases: " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
