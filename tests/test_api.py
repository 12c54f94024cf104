"""The Python API (sim/api.py): docs/api.md runs as written, and the objects match the commands."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re

import pytest
from conftest import ROOT, SCENARIOS, run_cli

BLOCK = re.compile(r"```python\n(.*?)```\n(?:\n```text\n(.*?)```\n)?", re.S)


def doc_blocks(text: str) -> list[tuple[str, str | None]]:
    """The page's Python blocks, each with the output block under it (None when it has none)."""
    return [(m.group(1), m.group(2)) for m in BLOCK.finditer(text)]


def run_page(page, directory) -> list[tuple[str, str | None, str]]:
    """Run every block in one namespace from `directory`; (code, expected, printed) per block."""
    (directory / "scenarios").symlink_to(SCENARIOS)
    namespace: dict = {"__name__": "__api_doc__"}
    done = []
    cwd = os.getcwd()
    os.chdir(directory)
    try:
        for code, expected in doc_blocks(page):
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(compile(code, "docs/api.md", "exec"), namespace)
            done.append((code, expected, printed.getvalue()))
    finally:
        os.chdir(cwd)
    return done


@pytest.mark.slow
def test_the_api_page_runs_and_prints_what_it_shows(tmp_path):
    page = (ROOT / "docs" / "api.md").read_text()
    blocks = run_page(page, tmp_path)
    assert len(blocks) >= 8
    for code, expected, printed in blocks:
        assert expected is not None, f"every block shows its output:\n{code}"
        assert printed == expected, f"docs/api.md block prints something else:\n{code}\n--- printed:\n{printed}"
    assert (tmp_path / "p95-wait-by-size.png").stat().st_size > 5000, "the page plots a curve"
    assert (tmp_path / "runs" / "api-quickstart" / "report.html").is_file()


def test_api_run_is_the_command_run(tmp_path):
    import sim

    result = sim.run(SCENARIOS / "quickstart.yaml", set={"workload.0.generator.count": 300, "scheduler.policy": "sjf"})
    proc = run_cli("run", SCENARIOS / "quickstart.yaml", "--set", "workload.0.generator.count=300",
                   "--set", "scheduler.policy=sjf", "--out", tmp_path / "cli", "--json", check=True)
    printed = json.loads(proc.stdout)
    assert printed["run_dir"] == str(tmp_path / "cli")
    ignore = {"wall_s"}
    assert {k: v for k, v in result.summary.items() if k not in ignore} == \
           {k: v for k, v in printed["summary"].items() if k not in ignore}
    import pyarrow.parquet as pq

    assert result.jobs.equals(pq.read_table(tmp_path / "cli" / "jobs.parquet"))
    assert result.series.num_rows > 100 and result.series.column_names[0] == "t_s"
    cell = result._repr_html_()
    mean_wait = next(line for line in proc_table(result) if line.startswith("│ mean wait "))
    assert f"<td>mean wait</td><td style='text-align:right'>{mean_wait.split('│')[2].strip()}</td>" in cell
    written = result.write(tmp_path / "api")
    assert json.loads((written / "summary.json").read_text())["avg_wait_s"] == result.summary["avg_wait_s"]


def proc_table(result) -> list[str]:
    """The summary table `trnsim show` prints for the run directory `result` writes."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        out = result.write(Path(tmp) / "run")
        return run_cli("show", out, "--no-report", check=True).stdout.splitlines()


def test_api_modules_stay_modules_for_the_code_that_imports_them():
    import sim
    from sim import run as simulation

    assert callable(sim.run) and hasattr(simulation, "simulate") and sim.run is simulation
    assert callable(sim.compare) and callable(sim.sweep) and callable(sim.plan)


def test_api_bad_input_raises_with_the_commands_lines():
    import sim

    with pytest.raises(sim.InputError) as err:
        sim.run(SCENARIOS / "quickstart.yaml", set=["cluster.pools.0.cont=3"])
    assert str(err.value.problems[0]).startswith("--set cluster.pools.0.cont: unknown key 'cont' (did you mean")
    loaded = sim.load(SCENARIOS / "quickstart.yaml")
    with pytest.raises(sim.InputError):
        sim.run(loaded, set={"seed": 3})
