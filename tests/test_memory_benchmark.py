"""benchmarks/memory.py: peak RSS per phase of `trnsim run`, for this code and an older revision's."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT

PHASES = ("imports and scenario", "build cluster", "jobs and plan", "simulation", "summary", "jobs table",
          "series", "report data", "report")


def test_the_memory_benchmark_reports_every_phase_for_both_revisions(tmp_path):
    out = tmp_path / "memory.md"
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "memory.py"),
                           str(ROOT / "scenarios" / "teaching" / "01-erlang-c.yaml"), "--ci",
                           "--set", "horizon=2d", "--compare-to", "HEAD", "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    assert "--set horizon=2d --compare-to HEAD" in text  # the command, as given
    assert "`trnsim run scenarios/teaching/01-erlang-c.yaml --set horizon=2d --ci --quiet --out TMP`" in text
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    assert rows[0].count("RSS at start MiB") == 2 and "HEAD: peak MiB" in rows[0] and "now: peak MiB" in rows[0]
    # one row per phase, in order, each with RSS at start, peak and CPU for both runs: numbers, not dashes
    assert [r.split(" | ")[0].removeprefix("| ") for r in rows[1:-1]] == list(PHASES)
    number = r"[\d,]+(\.\d)?"
    for row in rows[1:-1]:
        cells = row.strip("| ").split(" | ")[1:]
        assert len(cells) == 6 and all(re.fullmatch(number, c) for c in cells), row
        assert float(cells[1].replace(",", "")) >= float(cells[0].replace(",", "")) > 0  # peak >= RSS at start
    assert rows[-1].startswith("| whole run")
