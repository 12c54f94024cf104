"""The scenario's JSON Schema (`trnsim schema`) and the scenario reference generated from it.

The schema comes from the pydantic models in `sim/scenario/`; the shorthands their validators
accept (`duration: 2h` for `{constant: 2h}`, `pricing: on_demand`, `estimate: exact`, a job id
written as a number) are added here so that an editor accepts every scenario trnsim accepts.
`docs/scenario.md` is `trnsim schema --markdown`; tests/test_schema.py keeps the two in step and
checks every example below against the loader.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml

SCHEMA_ID = "https://github.com/trnsim/trnsim/blob/main/docs/scenario.schema.json"

# A partial scenario for each section, shown in the reference and validated by the test suite
# (merged over BASE, top-level key by key).
BASE = """\
name: example
cluster:
  pools:
    - {name: trn2, instance: trn2u.48xlarge, count: 16}
workload:
  - jobs:
      - {id: first, chips: 16, duration: 2h}
"""


def _generator(fields: str) -> str:
    return f"workload:\n  - generator:\n      count: 100\n      arrivals: {{poisson: {{rate: 5/h}}}}\n{fields}"


_CHIPS = "      duration: 2h\n"
_DURATION = "      chips: 16\n"

EXAMPLES: dict[str, str] = {
    "Scenario": """\
name: quickstart
description: FIFO on four Trn2 UltraServers
seed: 7
horizon: 30d
cluster:
  pools:
    - {name: trn2, instance: trn2u.48xlarge, ultraservers: 4}
workload:
  - generator: {count: 2500, arrivals: {poisson: {rate: 5/h}}, chips: 16, duration: 2h}
scheduler: {policy: easy_backfill}
ci: {workload.0.generator.count: 200}
""",
    "CatalogueSection": """\
catalogue:
  accelerators:
    - {name: trainium2, mfu: 0.3}
  instances:
    - {name: my-node, accelerator: h100-sxm, chips: 8, on_demand_usd_per_h: 40}
cluster:
  pools:
    - {name: gpu, instance: my-node, count: 4}
reference_accelerator: h100-sxm
""",
    "AcceleratorPatch": """\
catalogue:
  accelerators:
    - {name: my-chip, vendor: acme, bf16_tflops: 800, watts: 600, mfu: 0.35, source: vendor sheet}
  instances:
    - {name: my-node, accelerator: my-chip, chips: 8, on_demand_usd_per_h: 30}
cluster:
  pools:
    - {name: mine, instance: my-node, count: 8}
""",
    "InstancePatch": """\
catalogue:
  instances:
    - {name: trn2.48xlarge, on_demand_usd_per_h: 30.0, price_date: '2026-01-01'}
cluster:
  pools:
    - {name: trn2, instance: trn2.48xlarge, count: 8}
""",
    "DomainPatch": """\
catalogue:
  domains:
    - {name: trn2-ultraserver, instance: trn2u.48xlarge, instances: 4, chips: 64}
""",
    "Cluster": """\
cluster:
  pue: 1.2
  network_fraction: 0.05
  idle_fraction: 0.15
  host_fraction: 0.5
  pools:
    - {name: trn2, instance: trn2u.48xlarge, ultraservers: 8}
    - {name: h100, instance: p5.48xlarge, count: 32}
""",
    "Topology": """\
cluster:
  topology: {fanout: {pod: 32}, slowdown: {pod: 1.2}}
  pools:
    - {name: trn2, instance: trn2u.48xlarge, count: 256}
""",
    "Fanout": """\
cluster:
  topology: {fanout: {pod: 64, spine: 8}}
  pools:
    - {name: trn2, instance: trn2u.48xlarge, count: 1024}
""",
    "Slowdown": """\
cluster:
  topology: {slowdown: {instance: 1.0, ultraserver: 1.0, pod: 1.05, spine: 1.2, cluster: 1.4}}
  pools:
    - {name: trn2, instance: trn2u.48xlarge, count: 1024}
""",
    "Pool": """\
cluster:
  pools:
    - {name: campus, instance: trn2u.48xlarge, power: 100MW, spares: 2%}
    - {name: budget, instance: p5en.48xlarge, budget: $1B/yr, pricing: {reserved: {discount: 0.3}}}
    - {name: tranche-2, instance: trn2u.48xlarge, budget: $1B/yr, online: 365d, retire: 3650d}
    - {name: bought, instance: trn2u.48xlarge, purchase: $1B, online: 730d, retire: 2555d}   # paid at 730d
""",
    "PowerCap": """\
cluster:
  power_cap: {limit: 5GW, mode: throttle, exponent: 3}   # or mode: hold
  pools:
    - {name: campus, instance: trn2u.48xlarge, power: 6GW}   # 120 % oversubscribed
""",
    "Pricing": """\
cluster:
  pools:
    - {name: a, instance: trn2u.48xlarge, count: 16, pricing: on_demand}
    - {name: b, instance: trn2u.48xlarge, count: 16, pricing: {commitment: {usd_per_year: $2M/yr}}}
""",
    "Reserved": """\
cluster:
  pools:
    - {name: trn2, instance: trn2u.48xlarge, count: 16, pricing: {reserved: {discount: 0.4}}}
""",
    "Commitment": """\
cluster:
  pools:
    - {name: trn2, instance: trn2u.48xlarge, count: 16, pricing: {commitment: {usd_per_year: $4M/yr}}}
""",
    "Entry": """\
workload:
  - name: research
    generator: {count: 100, arrivals: {poisson: {rate: 2/h}}, chips: 16, duration: 3h}
  - name: replay
    trace: {path: traces/sample.csv, format: csv}
  - jobs:
      - {id: frontier, chips: 64, duration: 3d}
""",
    "Generator": """\
workload:
  - name: lab
    generator:
      until: 30d
      user: lab
      classes:
        frontier: {count: 1, chips: 64, duration: 10d, priority: 10}
        experiments:
          arrivals: {diurnal: {rate: 4/h, peak_hour: 14h, amplitude: 0.6}}
          chips: {choice: {values: [1, 4, 16], weights: [0.5, 0.3, 0.2]}}
          duration: {lognormal: {median: 2h, sigma: 1.2}}
""",
    "JobClass": """\
workload:
  - generator:
      classes:
        sweeps: {arrivals: {batch: {at: 1d, count: 50}}, chips: 16, duration: 6h, queue: sweeps}
""",
    "Arrivals": _generator(_CHIPS + "      chips: {exponential: {mean: 8}}\n").replace(
        "{poisson: {rate: 5/h}}", "{diurnal: {rate: 5/h, peak_hour: 14h, amplitude: 0.5}}"),
    "Poisson": _generator(_DURATION + _CHIPS),
    "Diurnal": _generator(_DURATION + _CHIPS).replace(
        "{poisson: {rate: 5/h}}", "{diurnal: {rate: 20/h, peak_hour: 14h, amplitude: 0.6}}"),
    "Batch": "workload:\n  - generator:\n      arrivals: {batch: {at: 14d, count: 200}}\n" + _DURATION + _CHIPS,
    "Job": """\
workload:
  - jobs:
      - {id: frontier, submit: 0s, chips: 64, duration: 3d, requested: 4d, priority: 10,
         user: lab, queue: prod, accelerator: [trainium2, h100-sxm], checkpoint_interval: 1h}
""",
    "Trace": """\
workload:
  - trace:
      path: traces/sample.csv
      format: csv
      start: 1d
      window: {start: 0s, end: 7d}
      chips_scale: 2
      time_scale: 0.5
""",
    "ElasticRange": """\
workload:
  - jobs:
      - {id: pretrain, chips: 64, duration: 8h, elastic: {min: 32, max: 256}, scaling: 0.8}
scheduler: {policy: elastic}
""",
    "Window": """\
workload:
  - trace: {path: traces/sample.csv, format: csv, window: {start: 1d, end: 8d}}
""",
    "Scheduler": """\
scheduler:
  policy: las
  placement: topology_aware
  estimate: {factor: 2}
  kill_at_limit: false
  backfill_depth: 200
  preempt_overhead: 120s
  map: keep_chips
  thresholds: [3.2, 32]   # an option of the las policy (docs/policies.md)
""",
    "Estimate": """\
scheduler: {policy: easy_backfill, estimate: trace}
""",
    "Failures": """\
failures:
  mtbf_instance: 100d
  repair: 4h
  checkpoint_write: 60s
  restart_overhead: 300s
  checkpoint_interval: daly
  recovery: spares          # swap a failed instance for a hot spare (cluster.pools[].spares)
  fallback: wait            # no spare free: hold the job's other instances until a repair
""",
    "Domains": """\
failures:
  domains:
    ultraserver: {mtbf: 5yr, repair: 8h}   # a power shelf or NeuronLink backplane
    pod: {mtbf: 20yr, repair: 2h}          # a top-of-pod switch
""",
    "DomainFailures": """\
failures:
  domains: {spine: {mtbf: 50yr, repair: 4h}}
""",
    "RestartOverhead": """\
failures:
  recovery: spares
  restart_overhead: {fixed: 20s, per_1k_instances: 30s}   # 512 s for a 16,384-instance run
""",
    "Metrics": """\
metrics: {warmup: 1d, bsld_tau: 10s}
""",
}
for _q, _fixed in (("Chips", _CHIPS), ("Duration", _DURATION)):
    _key, _a, _b, _c = ("chips", "8", "64", "[1, 4, 16, 64]") if _q == "Chips" else ("duration", "30m", "4h",
                                                                                      "[1h, 2h, 8h]")
    EXAMPLES[f"{_q}Distribution"] = _generator(_fixed + f"      {_key}: {_a}   # a plain value: constant\n")
    EXAMPLES[f"{_q}Exponential"] = _generator(_fixed + f"      {_key}: {{exponential: {{mean: {_a}}}}}\n")
    EXAMPLES[f"{_q}Lognormal"] = _generator(_fixed + f"      {_key}: {{lognormal: {{median: {_a}, sigma: 1.2}}}}\n")
    EXAMPLES[f"{_q}Uniform"] = _generator(_fixed + f"      {_key}: {{uniform: {{low: {_a}, high: {_b}}}}}\n")
    EXAMPLES[f"{_q}Choice"] = _generator(_fixed + f"      {_key}: {{choice: {{values: {_c}}}}}\n")
    EXAMPLES[f"{_q}Empirical"] = _generator(
        _fixed + f"      {_key}: {{empirical: {{path: samples.csv, column: {_key}}}}}\n")


def json_schema() -> dict[str, Any]:
    """The scenario's JSON Schema (draft 2020-12), shorthands included."""
    from sim.scenario.model import Scenario

    schema = Scenario.model_json_schema()
    defs = schema["$defs"]
    for name, d in list(defs.items()):
        if name.endswith("Distribution"):
            plain = copy.deepcopy(d["properties"]["constant"]["anyOf"][0])
            defs[name] = {"description": d.get("description", ""), "anyOf": [plain, _object(d)]}
    defs["Pricing"] = {"description": defs["Pricing"].get("description", ""),
                       "anyOf": [{"const": "on_demand"}, _object(defs["Pricing"])]}
    estimate = defs["Estimate"]
    defs["Estimate"] = {"description": estimate.get("description", ""), "anyOf": [
        {"enum": ["exact", "trace"]},
        {"type": "object", "properties": {"factor": estimate["properties"]["factor"]["anyOf"][0]},
         "required": ["factor"], "additionalProperties": False},
        _object(estimate)]}
    defs["Job"]["properties"]["id"] = {**defs["Job"]["properties"]["id"], "type": ["string", "number"]}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
            "title": "trnsim scenario", **schema}


def _object(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k not in ("description", "title")}


def dumps() -> str:
    return json.dumps(json_schema(), indent=2) + "\n"


# --- the reference ---------------------------------------------------------------------------

def _ref(schema: dict[str, Any]) -> str | None:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    for key in ("anyOf", "oneOf"):
        for option in schema.get(key, []):
            found = _ref(option)
            if found:
                return found
    if schema.get("type") == "array":
        return _ref(schema.get("items", {}))
    if isinstance(schema.get("additionalProperties"), dict):
        return _ref(schema["additionalProperties"])
    return None


def _suffix(schema: dict[str, Any]) -> str:
    """How a path continues into a list (`[]`) or a mapping of named entries (`.<name>`)."""
    for option in [schema, *schema.get("anyOf", [])]:
        if option.get("type") == "array":
            return "[]"
        if isinstance(option.get("additionalProperties"), dict):
            return ".<name>"
    return ""


UNIT_WORDS = {"time": "`s m h d w yr`", "rate": "`N/s N/h N/d`", "power": "`W kW MW GW`",
              "money": "`$` (`k M B`)", "money per year": "`$.../yr`"}


def _type(schema: dict[str, Any]) -> str:
    if schema.get("x-unit"):
        words = [f"`{v}`" for o in schema.get("anyOf", []) for v in o.get("enum", [])]
        return " or ".join([schema["x-unit"], *words])
    options = [o for o in schema.get("anyOf", [schema]) if o.get("type") != "null"]
    out = []
    for o in options:
        if "$ref" in o:
            name = o["$ref"].rsplit("/", 1)[-1]
            out.append(f"[{name}](#{name.lower()})")
        elif "const" in o:
            out.append(f"`{json.dumps(o['const'])}`")
        elif "enum" in o:
            out.append(" \\| ".join(f"`{v}`" for v in o["enum"]))
        elif o.get("x-unit"):
            out.append(_type(o))
        elif "anyOf" in o:
            out.append(_type(o))
        elif o.get("type") == "array":
            out.append(f"list of {_type(o.get('items', {}))}")
        elif o.get("type") == "object" and isinstance(o.get("additionalProperties"), dict):
            out.append(f"mapping of name to {_type(o['additionalProperties'])}")
        elif o.get("type") == "object":
            out.append("mapping")
        elif isinstance(o.get("type"), list):
            out.append(" or ".join(o["type"]))
        else:
            out.append(o.get("type", "any"))
    return " or ".join(dict.fromkeys(out)) or "any"


def _unit_kind(schema: dict[str, Any]) -> str:
    found = schema.get("x-unit")
    for o in schema.get("anyOf", []):
        found = found or _unit_kind(o)
    if schema.get("type") == "array":
        found = found or _unit_kind(schema.get("items", {}))
    return found or ""


def _unit(schema: dict[str, Any]) -> str:
    return UNIT_WORDS.get(_unit_kind(schema), "")


def _bounds(schema: dict[str, Any]) -> str:
    parts = []
    for o in [schema, *schema.get("anyOf", [])]:
        for key, sign in (("minimum", ">="), ("exclusiveMinimum", ">"), ("maximum", "<="), ("exclusiveMaximum", "<"),
                          ("minItems", "items >=")):
            if key in o:
                parts.append(f"{sign} {o[key]:g}")
    return ", ".join(dict.fromkeys(parts))


def _default(name: str, schema: dict[str, Any], required: list[str]) -> str:
    if name in required:
        return "required"
    if "default" not in schema:
        return "—"
    value = schema["default"]
    if value is None:
        return "none"
    if value == "":
        return '`""`'
    if isinstance(value, dict | list):
        return "`" + json.dumps(value) + "`" if value else "`" + ("{}" if isinstance(value, dict) else "[]") + "`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and _unit_kind(schema) == "time":
        from sim.scenario.units import format_duration

        return f"`{format_duration(value)}`" if value else "`0s`"
    return f"`{value}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def sections(schema: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(definition name, first path, other paths) for every section, in the order a reader meets them."""
    defs = schema["$defs"]
    order: dict[str, list[str]] = {"Scenario": [""]}
    queue = [("Scenario", "", schema)]
    while queue:
        name, path, node = queue.pop(0)
        for key, prop in _properties(node, defs).items():
            target = _ref(prop)
            if target is None:
                continue
            sub = f"{path}.{key}{_suffix(prop)}" if path else f"{key}{_suffix(prop)}"
            if target in order:
                order[target].append(sub)
                continue
            order[target] = [sub]
            queue.append((target, sub, defs[target]))
    return [(name, paths[0], paths[1:]) for name, paths in order.items()]


def _properties(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    props = dict(node.get("properties", {}))
    for option in node.get("anyOf", []):
        props.update(option.get("properties", {}))
    return props


def markdown() -> str:
    """docs/scenario.md: every section, key, unit and default of a scenario, with an example each."""
    schema = json_schema()
    defs = schema["$defs"]
    lines = [
        "# Scenario reference",
        "",
        "<!-- generated by `trnsim schema --markdown` from the models in sim/scenario/; do not edit by hand:",
        "     tests/test_schema.py fails when this page and the models disagree -->",
        "",
        "A scenario is one YAML file; paths inside it are relative to the file. Unknown keys are errors",
        "that name the valid keys. Units are case-sensitive: time `s m h d w yr` (`yr` = 365 d; a bare `0` is",
        "allowed, any other time needs its unit); rates `N/s N/h N/d`; power `W kW MW GW`; money `$12 $2.5k",
        "$2.5M $10B` and money per year `$10B/yr` (`M` is mega, `m` is minute; quote money in a shell).",
        "",
        "`trnsim schema` prints the JSON Schema these tables come from. To have an editor check and complete",
        "scenarios, save it and point the YAML language server at it, e.g. in VS Code (the Red Hat YAML",
        "extension) `settings.json`:",
        "",
        "```json",
        '"yaml.schemas": {"./trnsim.schema.json": ["scenarios/**/*.yaml"]}',
        "```",
        "",
        "after `trnsim schema > trnsim.schema.json`, or put `# yaml-language-server: $schema=./trnsim.schema.json`",
        "on a scenario's first line (any editor using yaml-language-server: Neovim, Helix, Zed, ...).",
        "",
        "Every example below is a part of a scenario; the test suite merges each into a small complete",
        "scenario and loads it.",
        "",
        "Sections:",
        "",
    ]
    found = sections(schema)
    for name, path, _ in found:
        lines.append(f"- [{name}](#{name.lower()}): `{path or '(top level)'}`")
    lines.append("")
    for name, path, others in found:
        node = schema if name == "Scenario" else defs[name]
        lines.append(f"## {name}")
        lines.append("")
        where = f"`{path}`" if path else "the top level of the file"
        also = (" (also " + ", ".join(f"`{p}`" for p in others) + ")") if others else ""
        lines.append(f"At {where}{also}.")
        if node.get("description"):
            lines.append(" ".join(node["description"].split()))
        shorthand = [o for o in node.get("anyOf", []) if "properties" not in o]
        if shorthand:
            lines.append("Also written as " + " or ".join(_type(o) for o in shorthand) + ".")
        lines.append("")
        required = [*node.get("required", [])]
        for option in node.get("anyOf", []):
            required.extend(option.get("required", []) if "properties" in option and len(option) > 3 else [])
        lines.append("| key | type | unit | default | limits | description |")
        lines.append("|---|---|---|---|---|---|")
        for key, prop in _properties(node, defs).items():
            lines.append(f"| `{key}` | {_type(prop)} | {_unit(prop)} | {_default(key, prop, required)} | "
                         f"{_bounds(prop)} | {_cell(prop.get('description', ''))} |")
        if node.get("additionalProperties") is True or any(o.get("additionalProperties") is True
                                                           for o in node.get("anyOf", [])):
            lines.append("| *other keys* | | | | | options of the chosen policy, checked by it "
                         "([policies.md](policies.md)) |")
        lines.append("")
        lines.append("```yaml")
        lines.extend(EXAMPLES[name].rstrip("\n").splitlines())
        lines.append("```")
        lines.append("")
    return "\n".join(lines)


def example_scenario(name: str) -> dict[str, Any]:
    """BASE with the example of section `name` merged over it (top-level keys replaced)."""
    data = yaml.safe_load(BASE)
    data.update(yaml.safe_load(EXAMPLES[name]))
    return data
