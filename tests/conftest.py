"""Shared helpers: run the CLI in a subprocess, write scenarios, read run directories."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"


def run_cli(*args: str | os.PathLike, env: dict[str, str] | None = None, cwd: Path | None = None,
            check: bool = False) -> subprocess.CompletedProcess:
    """`python -m sim ARGS...` in a subprocess; returns the completed process (text output)."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([sys.executable, "-m", "sim", *map(str, args)], capture_output=True, text=True,
                          env=full_env, cwd=cwd or ROOT, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"trnsim {' '.join(map(str, args))} exited {proc.returncode}:\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def write_scenario(directory: Path, scenario: dict[str, Any] | str, name: str = "scenario.yaml") -> Path:
    """Write a scenario (a mapping, dumped as YAML, or literal YAML text) and return its path."""
    path = Path(directory) / name
    text = scenario if isinstance(scenario, str) else yaml.safe_dump(scenario, sort_keys=False)
    path.write_text(text)
    return path


class Run:
    """A finished run directory: summary, jobs table and time series."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.summary: dict[str, Any] = json.loads((self.path / "summary.json").read_text())
        self.jobs = pq.read_table(self.path / "jobs.parquet")
        self.series = pacsv.read_csv(self.path / "timeseries.csv")


def simulate_in_process(scenario: dict[str, Any] | str, *sets: str) -> Any:
    """Write `scenario` to a temporary directory and simulate it in this process (no run directory)."""
    from sim.run import simulate
    from sim.scenario.loader import load

    with tempfile.TemporaryDirectory() as tmp:
        return simulate(load(write_scenario(Path(tmp), scenario), list(sets)))


def run_scenario(tmp_path: Path, scenario: dict[str, Any] | str, *extra: str) -> Run:
    """Write `scenario`, run it through the CLI into tmp_path/out, and load the run."""
    path = write_scenario(tmp_path, scenario)
    out = tmp_path / "out"
    run_cli("run", path, "--out", out, "--quiet", *extra, check=True)
    return Run(out)


def one_chip_cluster(servers: int) -> dict[str, Any]:
    """`servers` single-chip instances (a catalogue entry added by the scenario): an M/M/c cluster."""
    return {"pools": [{"name": "cpu", "instance": "hpc-node", "count": servers}]}


# Two 16-chip trn2.48xlarge instances and a small Poisson generator: the start of small test scenarios.
TINY_HEAD = """\
name: tiny
seed: 1
cluster:
  pools:
    - name: trn2
      instance: trn2.48xlarge
      count: 2
workload:
  - generator:
      count: 20
      arrivals: {poisson: {rate: 5/h}}
      chips: 4
      duration: 1h
"""

ONE_CHIP_CATALOGUE = {"instances": [{"name": "hpc-node", "accelerator": "trainium2", "chips": 1}]}


@pytest.fixture
def cli():
    return run_cli
