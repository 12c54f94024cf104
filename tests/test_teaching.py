"""The tutorial runs: every command in docs/tutorial.md, and each lesson's stated result.

Commands are taken from the tutorial's ```bash blocks (exercises, indented, are not run),
with `runs/...` moved into a temporary directory and sweeps and plans run `--serial`
(tests/test_sweep.py runs sweeps on dask clusters). Each lesson's assertions are the claims
its "Result" paragraph makes.
"""

from __future__ import annotations

import re
import shlex
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import ROOT, SCENARIOS, run_cli

from sim import queueing

pytestmark = pytest.mark.slow

TUTORIAL = ROOT / "docs" / "tutorial.md"
LESSONS = sorted((SCENARIOS / "teaching").glob("*.yaml"))


def lesson_commands(number: int) -> list[str]:
    text = TUTORIAL.read_text()
    section = re.search(rf"^## Lesson {number}:.*?(?=^## Lesson |\Z)", text, re.S | re.M).group(0)
    blocks = re.findall(r"^```bash\n(.*?)^```", section, re.S | re.M)
    return [line for block in blocks for line in block.splitlines() if line.startswith(("trnsim ", "python "))]


def run_lesson(number: int, tmp: Path) -> list[subprocess.CompletedProcess]:
    """Run the lesson's commands in order; their completed processes, in the same order."""
    results = []
    for line in lesson_commands(number):
        args = [str(tmp / a.removeprefix("runs/")) if a.startswith("runs/") else a for a in shlex.split(line)]
        if args[0] == "trnsim":
            extra = ["--serial"] if args[1] in ("sweep", "plan") else []
            proc = run_cli(*args[1:], *extra)
        else:
            proc = subprocess.run([sys.executable, *args[1:]], capture_output=True, text=True, cwd=ROOT, timeout=600)
        assert proc.returncode == 0, f"{line}\n{proc.stdout}\n{proc.stderr}"
        results.append(proc)
    return results


def rows(out: Path) -> list[dict]:
    return [r for r in pq.read_table(out / "sweep.parquet").to_pylist() if not r["error"]]


def by(rs: list[dict], *columns: str) -> dict:
    groups = defaultdict(list)
    for r in rs:
        groups[tuple(r[c] for c in columns) if len(columns) > 1 else r[columns[0]]].append(r)
    return groups


def mean(rs: list[dict], key: str) -> float:
    return statistics.fmean(r[key] for r in rs)


def test_every_lesson_has_a_scenario_and_a_section():
    text = TUTORIAL.read_text()
    assert len(LESSONS) == 7
    for n, scenario in enumerate(LESSONS, start=1):
        assert scenario.name.startswith(f"{n:02d}-")
        assert f"## Lesson {n}:" in text and f"scenarios/teaching/{scenario.name}" in text
        section = re.search(rf"^## Lesson {n}:.*?(?=^## Lesson |\Z)", text, re.S | re.M).group(0)
        for part in ("**Question.**", "**Look at**", "**Result", "**Exercises.**"):
            assert part in section, f"lesson {n} lacks {part}"
        assert lesson_commands(n), f"lesson {n} has no command"


def test_lesson_1_mmc_matches_erlang_c(tmp_path):
    out = run_lesson(1, tmp_path)
    rs = rows(tmp_path / "lesson1")
    assert len(rs) == 5
    wq = queueing.mmc_mean_wait(16, 12.8 / 3600, 3600)
    p95 = queueing.wait_quantile(16, 12.8 / 3600, 3600, 0.95)
    assert wq / 60 == pytest.approx(5.72, abs=0.01) and p95 / 60 == pytest.approx(33.9, abs=0.1)
    assert mean(rs, "avg_wait_s") == pytest.approx(wq, rel=0.15)
    assert mean(rs, "p95_wait_s") == pytest.approx(p95, rel=0.15)
    assert mean(rs, "utilisation") == pytest.approx(0.8, abs=0.01)
    printed = [float(x) for x in out[1].stdout.split()]
    assert printed == pytest.approx([wq / 60, p95 / 60])


def test_lesson_2_the_knee(tmp_path):
    run_lesson(2, tmp_path)
    groups = by(rows(tmp_path / "lesson2"), "grid.workload.0.generator.arrivals.poisson.rate")
    p95 = {rate: {r["seed"]: r["p95_wait_s"] for r in rs} for rate, rs in groups.items()}
    # "on M/M/16, raising rho from 0.80 to 0.90 more than doubles p95 wait" - on every seed
    for seed in p95["12.8/h"]:
        assert p95["14.4/h"][seed] > 2 * p95["12.8/h"][seed]
    assert statistics.fmean(p95["15.2/h"].values()) > 2 * statistics.fmean(p95["14.4/h"].values())
    for rate, rho in (("11.2/h", 0.7), ("12.8/h", 0.8), ("13.6/h", 0.85), ("14.4/h", 0.9)):
        wq = queueing.mmc_mean_wait(16, 16 * rho / 3600, 3600)
        assert mean(groups[rate], "avg_wait_s") == pytest.approx(wq, rel=0.2), rate
        assert mean(groups[rate], "utilisation") == pytest.approx(rho, abs=0.015)


def test_lesson_3_fragmentation_and_placement(tmp_path):
    run_lesson(3, tmp_path)
    groups = by(rows(tmp_path / "lesson3"), "grid.scheduler.placement", "grid.workload.0.generator.arrivals.poisson.rate")
    ff = {rate: rs for (placement, rate), rs in groups.items() if placement == "first_fit"}
    ta = {rate: rs for (placement, rate), rs in groups.items() if placement == "topology_aware"}
    # saturation below 100 %: +43 % arrivals add under a point of utilisation, and triple the unstarted jobs
    assert mean(ff["6/h"], "utilisation") < 0.80
    assert mean(ff["6/h"], "utilisation") - mean(ff["4.2/h"], "utilisation") < 0.01
    assert mean(ff["6/h"], "jobs_unstarted") > 2.5 * mean(ff["4.2/h"], "jobs_unstarted")
    assert all(r["fragmentation_chips"] > 40 for r in ff["6/h"])
    for rate in ff:
        for a, b in zip(sorted(ff[rate], key=lambda r: r["seed"]), sorted(ta[rate], key=lambda r: r["seed"]),
                        strict=True):
            assert b["placement_efficiency"] > a["placement_efficiency"] >= 0.96
        assert mean(ta[rate], "avg_wait_s") < mean(ff[rate], "avg_wait_s")


def test_lesson_4_backfilling(tmp_path):
    run_lesson(4, tmp_path)
    groups = by(rows(tmp_path / "lesson4"), "grid.scheduler.policy")
    wait = {p: {r["seed"]: r["avg_wait_s"] for r in rs} for p, rs in groups.items()}
    for seed, fifo in wait["fifo"].items():
        assert wait["easy_backfill"][seed] * 5 < fifo
    assert mean(groups["easy_backfill"], "avg_wait_s") < mean(groups["sjf"], "avg_wait_s") < mean(groups["fifo"],
                                                                                                  "avg_wait_s")
    utils = [mean(rs, "utilisation") for rs in groups.values()]
    assert max(utils) - min(utils) < 0.02


def test_lesson_5_checkpoint_interval_has_an_optimum_near_young(tmp_path):
    run_lesson(5, tmp_path)
    groups = by(rows(tmp_path / "lesson5"), "grid.workload.0.generator.classes.training.checkpoint_interval")
    goodput = {t: {r["seed"]: r["goodput"] for r in rs} for t, rs in groups.items()}
    for seed, best in goodput["30m"].items():
        for interval in ("5m", "10m", "1h", "3h", "12h"):
            assert best > goodput[interval][seed], (interval, seed)
    assert mean(groups["30m"], "avg_wait_s") < min(mean(groups[t], "avg_wait_s") for t in ("5m", "3h", "12h"))


def test_lesson_5_with_failures(tmp_path):
    text = TUTORIAL.read_text()
    line = next(x.strip() for x in text.splitlines() if "runs/lesson5-failures" in x)
    args = [str(tmp_path / a.removeprefix("runs/")) if a.startswith("runs/") else a for a in shlex.split(line)]
    proc = run_cli(*args[1:], "--serial")
    assert proc.returncode == 0, proc.stderr
    groups = by(rows(tmp_path / "lesson5-failures"), "grid.workload.0.generator.classes.training.checkpoint_interval")
    for best in ("1h", "young"):
        assert mean(groups[best], "goodput") > max(mean(groups[t], "goodput") for t in ("5m", "12h"))


def test_lesson_6_total_cost_has_an_interior_minimum(tmp_path):
    out = run_lesson(6, tmp_path)
    table = out[1].stdout
    cheapest = next(line for line in table.splitlines() if "**cheapest**" in line)
    assert cheapest.startswith("| 5 |"), table
    assert (tmp_path / "lesson6" / "total_cost.png").is_file()
    sizes = [int(line.split("|")[1]) for line in table.splitlines() if re.match(r"^\| \d+ \|", line)]
    assert sizes[0] < 5 < sizes[-1], "the minimum is inside the range, not at an end"


def test_lesson_7_plan_with_a_surge_and_recovery(tmp_path):
    out = run_lesson(7, tmp_path)
    first = [proc.stdout.splitlines()[0] for proc in out[:3]]
    assert first[0].startswith("answer: cluster.pools.0.ultraservers = 6 (384 chips) meets p95_wait<=2h")
    assert first[1].startswith("answer: cluster.pools.0.ultraservers = 7 (448 chips) meets p99_wait<=4h")
    assert first[2].startswith("answer: cluster.pools.0.ultraservers = 6 (384 chips) meets p99_wait<=4h")
    assert "5 sizes run, 25 runs (5 new, 20 reused)" in out[1].stdout and (tmp_path / "lesson7" / "knee.png").is_file()
    assert len(list((tmp_path / "lesson7" / "rows").glob("*.parquet"))) == 30, "the p99 plan reused the p95 runs"
    from sim.scenario.units import parse_time

    recovered = [parse_time(re.search(r"recovered (\S+) after", proc.stdout).group(1)) for proc in out[5:7]]
    assert recovered[0] > 2 * 3600, "at 6 UltraServers the queue takes hours to recover from the surge"
    assert recovered[1] < recovered[0], "one more UltraServer recovers sooner"
    sweeps = (ROOT / "docs" / "sweeps.md").read_text()
    assert first[0] in sweeps, "docs/sweeps.md's plan answer is what lesson 7's plan prints"
