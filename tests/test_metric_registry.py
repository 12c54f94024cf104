"""sim/metric_registry.py is the one list of summary keys: a real run writes exactly its keys, the
JSON Schema built from it accepts that run's summary.json and nothing else, docs/reports.md lists
every key, and the names it gives `--slo` are the ones `trnsim plan` reads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
from conftest import run_cli, run_scenario

from sim import metric_registry as registry
from sim import names
from sim.plan import parse_slo

DOCS = Path(__file__).resolve().parent.parent / "docs"

# Two pools of different accelerators, so the per-pool keys are written twice.
TWO_POOLS = {
    "name": "two-pools", "seed": 3,
    "cluster": {"pools": [{"name": "trn2", "instance": "trn2.48xlarge", "count": 1},
                          {"name": "gpu", "instance": "p5.48xlarge", "count": 1}]},
    "workload": [{"jobs": [{"id": "a", "submit": "0s", "chips": 8, "duration": "1h"},
                           {"id": "b", "submit": "10m", "chips": 8, "duration": "1h", "accelerator": "h100-sxm"}]}],
}


@pytest.fixture(scope="module")
def two_pools(tmp_path_factory) -> dict:
    return run_scenario(tmp_path_factory.mktemp("two-pools"), TWO_POOLS).summary


def test_a_run_writes_exactly_the_registered_keys(two_pools):
    expected = registry.keys(["trn2", "gpu"])
    missing = sorted(set(expected) - set(two_pools))
    unregistered = sorted(set(two_pools) - set(expected))
    assert not missing, f"registered but not in summary.json: {missing}"
    assert not unregistered, f"in summary.json but not in sim/metric_registry.py: {unregistered}"
    assert len(expected) == len(two_pools) == len(set(expected))
    assert two_pools["pool.gpu.chips"] == 8 and two_pools["pool.trn2.chips"] == 16


def test_the_summary_schema_accepts_a_run_and_refuses_a_missing_or_extra_key(two_pools):
    schema = json.loads(run_cli("schema", "--summary", check=True).stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(two_pools, schema)
    without = {k: v for k, v in two_pools.items() if k != "goodput"}
    with pytest.raises(jsonschema.ValidationError, match="'goodput' is a required property"):
        jsonschema.validate(without, schema)
    with pytest.raises(jsonschema.ValidationError, match="tail_latency"):
        jsonschema.validate({**two_pools, "tail_latency": 1.0}, schema)
    with pytest.raises(jsonschema.ValidationError, match="is not of type 'integer'"):
        jsonschema.validate({**two_pools, "jobs_completed": 1.5}, schema)


def test_docs_list_every_registered_key():
    text = (DOCS / "reports.md").read_text()
    assert run_cli("schema", "--summary", "--markdown", check=True).stdout in text, ("docs/reports.md's key list differs from the registry: "
                                         "paste `trnsim schema --summary --markdown` under 'Every key of summary.json'")
    listed = set(re.findall(r"^\| `([^`]+)` \|", text.split("### Every key of summary.json")[1], re.M))
    assert listed == {m.key.replace("{pool}", "<pool>") for m in registry.METRICS}


def test_every_slo_name_parses_to_its_key_and_unit():
    for name, metric in registry.SLOS.items():
        value = {"time": "2h", "money": "$100", "energy": "5MWh", "power": "1MW"}.get(metric.quantity, "0.5")
        slo = parse_slo(f"{name}<={value}")
        assert slo.key == metric.key
        assert slo.limit == {"time": 7200.0, "money": 100.0, "energy": 5.0, "power": 1.0}.get(metric.quantity, 0.5)
    # the key without its unit suffix, except where the suffix is part of the quantity
    assert {registry.SLOS[n].key for n in ("p95_wait", "makespan", "cost", "energy", "peak_power", "lost_chip_s")} \
        == {"p95_wait_s", "makespan_s", "cost_usd", "energy_mwh", "peak_power_mw", "lost_chip_s"}


def test_table_rows_are_registered_once_each():
    for rank in ("headline", "compare"):
        ranks = [getattr(m, rank) for m in registry.METRICS if getattr(m, rank)]
        assert len(ranks) == len(set(ranks)), f"two metrics share a {rank} row"
    assert [m.key for m in registry.PARTITION] == ["jobs_completed", "jobs_failed", "jobs_killed", "jobs_rejected",
                                                   "jobs_unstarted", "jobs_waiting_restart", "jobs_running"]
    with pytest.raises(KeyError):
        registry.pick("utilisation", "utilization")


def test_tier_names_are_the_documented_ones():
    text = (DOCS / "architecture.md").read_text()
    assert f"Tiers, lowest first: `{', '.join(names.TIERS)}`" in text
    assert names.SPARE_TIERS == ("ultraserver", "pod", "spine", "cluster")
    assert [f"spare_swaps_{t}" for t in names.SPARE_TIERS] == [
        m.key for m in registry.METRICS if m.key.startswith("spare_swaps_")]

