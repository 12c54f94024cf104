"""Bad input through the CLI: exit 2, one located line per problem, nothing left on disk.

Every scenario problem is one line `FILE:LINE:COL: field.path: message` (an override's is
`--set PATH: message`), and a refused run leaves neither its run directory nor a temporary
sibling of it in the --out parent.

Each case is a separate `python -m sim` process; they are all started once, a few at a time,
by the `outcome` fixture (most of each process is import time), and each test checks one.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from subprocess import CompletedProcess

import pytest
from conftest import SCENARIOS, TINY_HEAD, run_cli, write_scenario

# A small valid scenario; each case below breaks one line of it.
BASE = TINY_HEAD + """\
  - jobs:
      - id: frontier
        submit: 0s
        chips: 16
        duration: 2h
scheduler:
  policy: fifo
"""

TRACE_ENTRY = """\
  - trace:
      path: traces/missing.csv
      format: csv
"""


def edit(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once in the base scenario"
    return text.replace(old, new)


def position(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column where `needle` (occurring once) starts in `text`."""
    assert text.count(needle) == 1, f"{needle!r} must occur once"
    before = text[: text.index(needle)]
    return before.count("\n") + 1, len(before) - before.rfind("\n")


@dataclass(frozen=True)
class Case:
    text: str                     # the scenario file's text
    args: tuple[str, ...] = ()    # extra arguments after `run SCENARIO --out DIR --quiet`
    validate: bool = False        # `validate QUICKSTART SCENARIO` instead of `run`


@dataclass
class Outcome:
    path: Path                    # the scenario file
    text: str
    parent: Path                  # the --out parent, empty before the run
    proc: CompletedProcess

    @property
    def lines(self) -> list[str]:
        return self.proc.stderr.splitlines()

    def assert_refused(self) -> list[str]:
        """Exit 2, nothing left in the --out parent; returns the stderr lines."""
        p = self.proc
        assert p.returncode == 2, f"exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
        assert sorted(x.name for x in self.parent.iterdir()) == [], "a refused run left something behind"
        return self.lines

    def at(self, needle: str) -> str:
        """`FILE:LINE:COL` of `needle` in the scenario."""
        line, col = position(self.text, needle)
        return f"{self.path}:{line}:{col}"


# (id, old text, new text, needle locating the reported key, field path, message fragments)
SCENARIO_CASES = [
    ("unknown-key", "  policy: fifo", "  polcy: fifo", "polcy:", "scheduler.polcy",
     ["unknown key 'polcy'", "(did you mean 'policy'?)", "valid keys: policy, placement, estimate,"]),
    ("time-unit", "duration: 2h", "duration: 2 hours", "duration: 2 hours", "workload.1.jobs.0.duration",
     ["'2 hours'"]),
    ("rate-unit", "rate: 5/h", "rate: 5/hr", "rate: 5/hr", "workload.0.generator.arrivals.poisson.rate",
     ["'5/hr'"]),
    ("negative-pool-count", "count: 2\n", "count: -2\n", "count: -2", "cluster.pools.0.count",
     ["greater than or equal to 1"]),
    ("negative-generator-count", "count: 20", "count: -20", "count: -20", "workload.0.generator.count",
     ["greater than or equal to 0"]),
    ("unknown-instance", "instance: trn2.48xlarge", "instance: trn2u.48xlarg", "instance:",
     "cluster.pools.0.instance", ["unknown instance type 'trn2u.48xlarg'", "(did you mean 'trn2u.48xlarge'?)"]),
    ("missing-trace", "  - jobs:\n", TRACE_ENTRY + "  - jobs:\n", "path: traces/missing.csv",
     "workload.1.trace.path", ["missing.csv"]),
    ("job-larger-than-cluster", "chips: 16", "chips: 64", "chips: 64", "workload.1.jobs.0.chips",
     ["'frontier'", "64 chips", "32 chips"]),
    ("money-without-dollar", "count: 2\n", "budget: 10M\n", "budget: 10M", "cluster.pools.0.budget",
     ["'$'", "'10M'"]),
    ("budget-without-per-year", "count: 2\n", "budget: $10M\n", "budget: $10M", "cluster.pools.0.budget",
     ["'$10M' is an amount", "spend per year", "write '$10M/yr'"]),
    ("ultraserver-multiple", "instance: trn2.48xlarge\n      count: 2\n",
     "instance: trn2u.48xlarge\n      count: 6\n", "count: 6", "cluster.pools.0.count",
     ["trn2u.48xlarge", "multiple of 4", "6"]),
    ("duplicate-key", "seed: 1\n", "seed: 1\nseed: 2\n", "seed: 2", "seed", ["duplicate key 'seed'"]),
    ("instance-beyond-a-byte", "seed: 1\n",
     "seed: 1\ncatalogue:\n  instances:\n    - name: rack\n      accelerator: trainium2\n      chips: 512\n",
     "chips: 512", "catalogue.instances.0.chips", ["1 to 255 chips", "512"]),
]

MALFORMED_CASES = [  # (id, old, new): the new text is the broken line
    ("indentation", "      chips: 4", "     chips: 4"),
    ("tab", "      chips: 4", "\tchips: 4"),
]

SET_CASES = [  # (id, --set argument, expected start of the one line)
    ("unknown-key", "scheduler.polcy=fifo", "--set scheduler.polcy: unknown key 'polcy' (did you mean 'policy'?)"),
    ("money-without-dollar", "cluster.pools.0.budget=.5M",  # what a shell leaves of an unquoted $2.5M
     "--set cluster.pools.0.budget: money must start with '$'"),
    ("index-out-of-range", "workload.5.generator.count=3", "--set workload.5.generator.count: index 5 is out of range"),
    ("not-an-integer", "cluster.pools.0.count=6x", "--set cluster.pools.0.count: "),
    ("no-equals", "nonsense", "--set nonsense: expected PATH=VALUE"),
]

STEPS = ["banana", "0s", "60"]

CASES: dict[str, Case] = {
    **{f"scenario-{c[0]}": Case(edit(c[1], c[2])) for c in SCENARIO_CASES},
    **{f"malformed-{c[0]}": Case(edit(c[1], c[2])) for c in MALFORMED_CASES},
    **{f"set-{c[0]}": Case(BASE, ("--set", c[1])) for c in SET_CASES},
    **{f"step-{s}": Case(BASE, (f"--timeseries-step={s}",)) for s in STEPS},
    "generator-shorthand-unit": Case(edit("duration: 1h", "duration: 2 hours")),
    "two-problems": Case(edit("rate: 5/h", "rate: 5/hr", edit("count: 2\n", "count: -2\n"))),
    "set-unknown-intermediate": Case(BASE, ("--set", "clster.pools.0.count=4")),
    "validate-good": Case(BASE, validate=True),
    "validate-bad": Case(edit("instance: trn2.48xlarge", "instance: trn2u.48xlarg"), validate=True),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, Outcome]:
    # pytest's temp factory is not thread-safe: make every directory here, before the threads
    directories = {name: tmp_path_factory.mktemp(name) for name in CASES}

    def start(name: str) -> tuple[str, Outcome]:
        case = CASES[name]
        directory = directories[name]
        path = write_scenario(directory, case.text)
        parent = directory / "runs"
        parent.mkdir()
        if case.validate:
            argv = ("validate", SCENARIOS / "quickstart.yaml", path)
        else:
            argv = ("run", path, "--out", parent / "run", "--quiet", *case.args)
        return name, Outcome(path, case.text, parent, run_cli(*argv))

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        return dict(pool.map(start, CASES))


@pytest.mark.parametrize(("name", "needle", "field", "fragments"),
                         [(f"scenario-{c[0]}", *c[3:]) for c in SCENARIO_CASES],
                         ids=[c[0] for c in SCENARIO_CASES])
def test_bad_scenario_is_one_located_line(outcomes, name, needle, field, fragments):
    o = outcomes[name]
    lines = o.assert_refused()
    assert len(lines) == 1, lines
    prefix = f"{o.at(needle)}: {field}: "
    assert lines[0].startswith(prefix), f"expected {prefix!r}...\ngot      {lines[0]!r}"
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize("name", [f"malformed-{c[0]}" for c in MALFORMED_CASES],
                         ids=[c[0] for c in MALFORMED_CASES])
def test_malformed_yaml_names_the_broken_line(outcomes, name):
    o = outcomes[name]
    broken = next(c[2] for c in MALFORMED_CASES if f"malformed-{c[0]}" == name)
    lines = o.assert_refused()
    assert len(lines) == 1, lines
    line, _ = position(o.text, broken)
    assert lines[0].startswith(f"{o.path}:{line}:"), lines[0]
    assert "invalid YAML" in lines[0]


def test_generator_shorthand_reports_the_key_as_written(outcomes):
    o = outcomes["generator-shorthand-unit"]
    lines = o.assert_refused()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{o.at('duration: 2 hours')}: workload.0.generator.duration: "), lines[0]


def test_several_problems_are_one_line_each(outcomes):
    o = outcomes["two-problems"]
    lines = o.assert_refused()
    assert sorted(lines) == sorted([
        f"{o.at('count: -2')}: cluster.pools.0.count: Input should be greater than or equal to 1",
        f"{o.at('rate: 5/hr')}: workload.0.generator.arrivals.poisson.rate: cannot read rate '5/hr': "
        "use N/s, N/h or N/d (e.g. '5/h')",
    ]), lines


@pytest.mark.parametrize(("name", "expected"), [(f"set-{c[0]}", c[2]) for c in SET_CASES],
                         ids=[c[0] for c in SET_CASES])
def test_bad_set_is_one_line_naming_the_override(outcomes, name, expected):
    lines = outcomes[name].assert_refused()
    assert len(lines) == 1, lines
    assert lines[0].startswith(expected), lines[0]


def test_set_unknown_intermediate_key_suggests_the_known_one(outcomes):
    lines = outcomes["set-unknown-intermediate"].assert_refused()
    assert lines == ["--set clster.pools.0.count: unknown key 'clster' (did you mean 'cluster'?); valid keys: name, "
                     "description, seed, horizon, reference_accelerator, catalogue, cluster, workload, scheduler, "
                     "failures, metrics, ci"]


@pytest.mark.parametrize("step", STEPS)
def test_bad_timeseries_step(outcomes, step):
    lines = outcomes[f"step-{step}"].assert_refused()
    assert len(lines) == 1, lines
    assert "--timeseries-step" in lines[0]


def test_flag_problem_starts_with_the_flag(outcomes):
    lines = outcomes["step-banana"].assert_refused()
    assert lines[0].startswith("--timeseries-step: "), lines[0]


def test_validate_accepts_the_base_scenario_and_the_quickstart(outcomes):
    p = outcomes["validate-good"].proc
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert [line.split(":")[0] for line in p.stdout.splitlines()] == ["ok", "ok"], p.stdout


def test_validate_prints_the_same_located_lines(outcomes):
    o = outcomes["validate-bad"]
    assert o.proc.returncode == 2, o.proc.stderr
    assert o.lines == [f"{o.at('instance:')}: cluster.pools.0.instance: unknown instance type 'trn2u.48xlarg' "
                       "(did you mean 'trn2u.48xlarge'?)"]
    assert "quickstart.yaml" in o.proc.stdout and str(o.path) not in o.proc.stdout
    run = outcomes["scenario-unknown-instance"]  # the same edit, refused by `run`
    assert o.lines == [line.replace(str(run.path), str(o.path)) for line in run.lines]


def test_non_empty_out_needs_force(tmp_path):
    path = write_scenario(tmp_path, BASE)
    parent = tmp_path / "runs"
    out = parent / "run"
    out.mkdir(parents=True)
    (out / "keep.txt").write_text("precious")

    proc = run_cli("run", path, "--out", out, "--quiet")
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "--force" in lines[0] and str(out) in lines[0], lines
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert sorted(p.name for p in parent.iterdir()) == ["run"]

    proc = run_cli("run", path, "--out", out, "--quiet", "--force")
    assert proc.returncode == 0, proc.stderr
    names = {p.name for p in out.iterdir()}
    assert "keep.txt" not in names, "--force must empty the directory first"
    assert {"summary.json", "jobs.parquet", "timeseries.csv", "scenario.yaml", "report.md"} <= names
    assert sorted(p.name for p in parent.iterdir()) == ["run"], "temporary or old directories left behind"
