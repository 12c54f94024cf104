"""`trnsim schema`: the JSON Schema accepts every bundled scenario and refuses what the loader refuses;
docs/scenario.md is the reference generated from it, and every example there loads."""

from __future__ import annotations

import json
import shutil

import jsonschema
import pytest
import yaml
from conftest import ROOT, SCENARIOS, run_cli

from sim import schema as scenario_schema
from sim.scenario import loader


@pytest.fixture(scope="module")
def schema() -> dict:
    proc = run_cli("schema", check=True)
    data = json.loads(proc.stdout)
    jsonschema.Draft202012Validator.check_schema(data)
    return data


def _errors(schema: dict, data: dict) -> list[str]:
    return [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(data)]


@pytest.mark.parametrize("path", sorted(p.relative_to(SCENARIOS) for p in SCENARIOS.rglob("*.yaml")), ids=str)
def test_every_bundled_scenario_meets_the_schema(schema, path):
    assert _errors(schema, yaml.safe_load((SCENARIOS / path).read_text())) == []


@pytest.mark.parametrize("change, fragment", [
    (lambda d: d["scheduler"].update(placement="first-fit"), "'first-fit' is not one of"),
    (lambda d: d["cluster"]["pools"][0].update(sise=4), "'sise' was unexpected"),
    (lambda d: d["workload"][2]["jobs"][0].update(duration="3 days"), "'3 days'"),
    (lambda d: d["workload"][0]["generator"]["arrivals"]["poisson"].update(rate="5/hour"), "'5/hour'"),
    (lambda d: d["cluster"]["pools"][0].update(power="5 gigawatts"), "'5 gigawatts'"),
])
def test_the_schema_refuses_what_the_loader_refuses(schema, change, fragment, tmp_path):
    data = yaml.safe_load((SCENARIOS / "quickstart.yaml").read_text())
    change(data)
    errors = _errors(schema, data)
    assert any(fragment in e for e in errors), errors
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    assert run_cli("validate", path).returncode == 2


def test_the_reference_page_is_generated_from_the_models():
    proc = run_cli("schema", "--markdown", check=True)
    page = (ROOT / "docs" / "scenario.md").read_text()
    assert page == proc.stdout, "docs/scenario.md is stale: run `trnsim schema --markdown > docs/scenario.md`"


def test_the_reference_lists_every_key_with_unit_and_default():
    page = scenario_schema.markdown()
    assert "| `mtbf_instance` | time | `s m h d w yr` | none |" in page
    assert "| `repair` | time | `s m h d w yr` | `4h` |" in page
    assert "| `pue` | number |  | `1.15` | >= 1 |" in page
    assert "| `budget` | money per year | `$.../yr` | none |" in page
    for section in ("DurationUniform", "DurationExponential", "ChipsLognormal", "ChipsChoice", "DurationEmpirical",
                    "Diurnal", "Batch", "Pricing", "Estimate", "Failures", "Window"):
        assert f"\n## {section}\n" in page, section
    assert "duration: {uniform: {low: 30m, high: 4h}}" in page and "chips: {exponential: {mean: 8}}" in page
    from sim.scenario.model import Scenario

    def fields(model, seen):
        if model in seen:
            return
        seen.add(model)
        for name, info in model.model_fields.items():
            assert f"| `{name}` |" in page, f"{model.__name__}.{name} is not in the reference"
            for arg in [info.annotation, *getattr(info.annotation, "__args__", ())]:
                for inner in [arg, *getattr(arg, "__args__", ())]:
                    if isinstance(inner, type) and hasattr(inner, "model_fields"):
                        fields(inner, seen)

    fields(Scenario, set())


@pytest.mark.parametrize("name", sorted(scenario_schema.EXAMPLES))
def test_every_reference_example_loads_and_meets_the_schema(schema, name, tmp_path):
    (tmp_path / "traces").mkdir()
    shutil.copy(SCENARIOS / "traces" / "sample.csv", tmp_path / "traces" / "sample.csv")
    (tmp_path / "samples.csv").write_text("chips,duration\n1,1h\n4,2h\n16,30m\n")
    data = scenario_schema.example_scenario(name)
    assert _errors(schema, data) == []
    loaded = loader.load_mapping(data, base_dir=tmp_path)
    assert loaded.model.name


def test_every_section_of_the_schema_has_an_example(schema):
    names = {name for name, _, _ in scenario_schema.sections(schema)}
    assert names == set(scenario_schema.EXAMPLES)
