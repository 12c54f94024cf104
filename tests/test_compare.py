"""`trnsim compare` through the CLI: run directories read from disk, scenarios run on the fly."""

from __future__ import annotations

import html as htmlmod
import json
import math
import re

import numpy as np
import pytest
from conftest import TINY_HEAD, run_cli, write_scenario

from sim.compare import estimate, t975

SCENARIO = TINY_HEAD + """\
scheduler:
  policy: fifo
"""


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """The tiny scenario on 2 and on 4 instances (32 and 64 chips), as run directories."""
    d = tmp_path_factory.mktemp("runs")
    path = write_scenario(d, SCENARIO)
    for name, count in (("small", 2), ("big", 4)):
        run_cli("run", path, "--out", d / name, "--quiet", "--set", f"cluster.pools.0.count={count}",
                "--set", "workload.0.generator.count=60", check=True)
    return d


def _json(out):
    return json.loads((out / "compare.json").read_text())


def test_compare_run_directories_of_different_sizes(two_runs, tmp_path):
    out = tmp_path / "cmp"
    proc = run_cli("compare", two_runs / "small", two_runs / "big", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "mean wait" in proc.stdout and f"results: {out}" in proc.stdout, "a summary table at the end"
    assert sorted(p.name for p in out.iterdir()) == ["compare.html", "compare.json", "compare.md", "metrics.png",
                                                    "queue.png", "utilisation.png", "wait_cdf.png"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "nothing temporary left behind"
    data = _json(out)
    assert [v["label"] for v in data["variants"]] == ["small", "big"]
    for v, name in zip(data["variants"], ("small", "big"), strict=True):
        summary = json.loads((two_runs / name / "summary.json").read_text())
        assert v["runs"] == [summary]
        assert v["metrics"]["utilisation"]["mean"] == summary["utilisation"], "normalised by its own chips"
        assert v["metrics"]["chips"]["mean"] == summary["chips"]
    md = (out / "compare.md").read_text()
    assert "The clusters differ in size (32, 64 chips)" in md
    assert "## Differences against small" in md
    page = (out / "compare.html").read_text()
    assert "<title>trnsim compare: small vs big</title>" in page
    assert page.count('<img src="data:image/png;base64,') == 4
    assert not re.search(r"""(src|href)=["'](https?:)?//""", page), "nothing may load from the network"
    flat = htmlmod.unescape(page.replace("<code>", "").replace("</code>", ""))
    for line in md.splitlines():  # the same numbers on both pages
        if line.startswith("| ") and not line.startswith("|---"):
            for cell in line.strip("|").split(" | "):
                assert cell.strip().replace("`", "") in flat, cell


def test_run_directories_are_read_not_rerun(two_runs, tmp_path):
    """A doctored summary.json shows through: the run directory's files are what compare uses."""
    import shutil

    copy = tmp_path / "doctored"
    shutil.copytree(two_runs / "small", copy)
    summary = json.loads((copy / "summary.json").read_text())
    summary["avg_wait_s"] = 123456.0
    (copy / "summary.json").write_text(json.dumps(summary))
    out = tmp_path / "cmp"
    run_cli("compare", two_runs / "small", copy, "--out", out, "--quiet", check=True)
    assert _json(out)["variants"][1]["metrics"]["avg_wait_s"]["mean"] == 123456.0
    assert "| mean wait | " in (out / "compare.md").read_text()
    assert "1.43d" in (out / "compare.md").read_text()  # 123,456 s


def test_policies_and_seeds_give_means_with_paired_cis(tmp_path):
    path = write_scenario(tmp_path, SCENARIO)
    out = tmp_path / "cmp"
    proc = run_cli("compare", path, "--policies", "fifo,easy_backfill", "--seeds", "3", "--seed", "5",
                   "--set", "workload.0.generator.count=40", "--out", out, "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out)
    data = _json(out)
    fifo, easy = data["variants"]
    assert (fifo["label"], fifo["policy"], easy["label"], easy["policy"]) == ("fifo", "fifo", "easy_backfill",
                                                                              "easy_backfill")
    for v in (fifo, easy):
        assert v["seeds"] == [5, 6, 7]
        assert [r["seed"] for r in v["runs"]] == [5, 6, 7]
        waits = [r["avg_wait_s"] for r in v["runs"]]
        m = v["metrics"]["avg_wait_s"]
        assert m["mean"] == pytest.approx(np.mean(waits))
        assert m["ci95_half"] == pytest.approx(4.303 * np.std(waits, ddof=1) / math.sqrt(3))
        assert m["n"] == 3
    assert [r["jobs_submitted"] for r in fifo["runs"]] == [40, 40, 40]
    diffs = [e["avg_wait_s"] - f["avg_wait_s"] for f, e in zip(fifo["runs"], easy["runs"], strict=True)]
    d = easy["difference_from_first"]["avg_wait_s"]
    assert d["paired"] is True, "the same seeds: paired by seed"
    assert d["mean"] == pytest.approx(np.mean(diffs))
    assert d["ci95_half"] == pytest.approx(4.303 * np.std(diffs, ddof=1) / math.sqrt(3))
    assert fifo["difference_from_first"] == {}
    md = (out / "compare.md").read_text()
    assert "with 3 seeds" in md and "paired by seed" in md
    assert " ± " in md


def test_compare_a_run_directory_with_a_scenario(two_runs, tmp_path):
    path = write_scenario(tmp_path, SCENARIO)
    out = tmp_path / "cmp"
    run_cli("compare", two_runs / "small", path, "--out", out, "--quiet", check=True)
    labels = [v["label"] for v in _json(out)["variants"]]
    assert labels == ["small", "tiny"]


def test_t_quantiles():
    assert t975(1) == 12.706 and t975(2) == 4.303 and t975(30) == 2.042
    assert t975(35) == 2.042, "between rows the smaller df (the wider interval)"
    assert t975(100) == 2.000 and t975(1000) == 1.960
    e = estimate([1.0, 2.0, 3.0, 4.0])
    assert e.mean == 2.5 and e.half == pytest.approx(3.182 * np.std([1, 2, 3, 4], ddof=1) / 2)
    assert estimate([5.0]).half is None and estimate([1.0, None]).mean is None


@pytest.mark.parametrize("args, message", [
    (["{scenario}", "--policies", "fifo,fifoo"], "--policies: unknown policy 'fifoo' (did you mean 'fifo'?)"),
    (["{scenario}", "--policies", "fifo"], "--policies: name at least two policies"),
    (["{scenario}", "{scenario}", "--policies", "fifo,sjf"], "--policies: give exactly one scenario"),
    (["{small}", "--policies", "fifo,sjf"], "--policies: give exactly one scenario"),
    (["{small}", "{big}", "--seeds", "3"], "--seeds: "),
    (["{small}", "{big}", "--seeds", "0"], "--seeds: must be at least 1"),
    (["{small}", "{big}", "--set", "seed=3"], "--set: applies to scenarios, and every input is a run directory"),
    (["{small}"], "compare: needs at least two things to compare"),
    (["{small}", "{missing}"], "no such run directory or scenario file"),
    (["{small}", "{empty}"], "not a complete run directory (missing summary.json, jobs.parquet"),
    (["{small}", "{scenario}", "--set", "scheduler.polcy=x"], "did you mean 'policy'"),
    (["{small}", "{big}", "--label", "a"], "--label: give one per input (2), in order; got 1"),
    (["{scenario}", "--policies", "fifo,sjf", "--label", "a"], "--label: give one per policy (2)"),
    (["{small}", "{big}", "--label", "a", "--label", " "], "--label: a label cannot be empty"),
])
def test_bad_input_is_one_line_and_exit_2(two_runs, tmp_path, args, message):
    scenario = write_scenario(tmp_path, SCENARIO)
    (tmp_path / "empty").mkdir()
    names = {"scenario": scenario, "small": two_runs / "small", "big": two_runs / "big",
             "missing": tmp_path / "nope", "empty": tmp_path / "empty"}
    out = tmp_path / "cmp"
    proc = run_cli("compare", *[a.format(**names) for a in args], "--out", out)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not out.exists(), "nothing written on bad input"


def test_non_empty_out_needs_force(two_runs, tmp_path):
    out = tmp_path / "cmp"
    out.mkdir()
    (out / "keep").write_text("x")
    proc = run_cli("compare", two_runs / "small", two_runs / "big", "--out", out)
    assert proc.returncode == 2 and "not empty (use --force" in proc.stderr
    run_cli("compare", two_runs / "small", two_runs / "big", "--out", out, "--force", "--quiet", check=True)
    assert not (out / "keep").exists() and (out / "compare.html").exists()


def test_repeated_labels_are_all_numbered():
    """Variants that share a label (the same scenario name given three times) are numbered
    1..n in order, every one of them; distinct labels stay as they are."""
    from pathlib import Path

    from sim.compare import Variant, _unique_labels

    variants = [Variant(label, label, "run", Path(label)) for label in ("a", "b", "a", "a")]
    _unique_labels(variants)
    assert [v.label for v in variants] == ["a (1)", "b", "a (2)", "a (3)"]


def test_labels_queue_rows_and_a_terminal_table_within_100_columns(two_runs, tmp_path):
    out = tmp_path / "cmp"
    proc = run_cli("compare", two_runs / "small", two_runs / "big", "--label", "32 chips",
                   "--label", "64 chips", "--out", out, check=True)
    assert [v["label"] for v in _json(out)["variants"]] == ["32 chips", "64 chips"]
    width = max(len(line) for line in proc.stdout.splitlines() if not line.startswith("results:"))
    assert width <= 100, f"the terminal table is {width} columns wide"
    for label in ("never started", "running at the horizon", "waiting to restart", "preemptions",
                  "Jain fairness index", "difference against 32 chips"):
        assert label in proc.stdout, label
    md = (out / "compare.md").read_text()
    assert "| 32 chips | 64 chips |" in md and "64 chips − 32 chips" in md


def test_differences_whose_interval_holds_zero_are_marked_not_significant():
    from pathlib import Path

    from sim.compare import Run, Variant
    from sim.report.comparison import difference

    def variant(label, waits, utils):
        v = Variant(label, label, "scenario", Path(label), seeds=[1, 2, 3])
        v.runs = [Run(s, {"avg_wait_s": w, "utilisation": u, "seed": s, "chips": 8}, {}, np.array([]))
                  for s, w, u in zip((1, 2, 3), waits, utils, strict=True)]
        return v

    a = variant("a", [100.0, 200.0, 300.0], [0.5, 0.6, 0.7])
    b = variant("b", [150.0, 150.0, 400.0], [0.6, 0.7, 0.8])  # waits: +50, -50, +100; utilisation +0.1 each
    assert difference(a, b, "avg_wait_s", "t").endswith("(not significant)")
    assert difference(a, b, "avg_wait_s", "t", short=True).endswith(" n.s.")
    assert "significant" not in difference(a, b, "utilisation", "pct")  # a paired +10 pp, zero spread


def test_seed_means_are_over_the_runs_still_going():
    """A seed whose run has ended says nothing about later bins: the mean there is the other seed's
    value, not half of it."""
    from pathlib import Path

    from sim.compare import Run, Variant
    from sim.report.comparison import _curves

    short = {"t_s": np.array([0.0, 100.0]), "busy_chips": np.array([4.0, 0.0]), "queued_jobs": np.zeros(2)}
    long = {"t_s": np.array([0.0, 1000.0]), "busy_chips": np.array([8.0, 0.0]), "queued_jobs": np.zeros(2)}
    v = Variant("v", "v", "scenario", Path("v"), seeds=[1, 2])
    v.runs = [Run(1, {"chips": 8}, short, np.array([])), Run(2, {"chips": 8}, long, np.array([]))]
    grid, [(mean, lo, hi)] = _curves([v])
    late = grid > 200
    assert np.allclose(mean[late & (grid < 990)], 1.0), "only the long run is still going: 8 of 8 chips"
    assert np.allclose(mean[grid < 90], 0.75), "both running: (4/8 + 8/8) / 2"
