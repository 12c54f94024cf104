"""The hardware catalogue: accelerators, instance types and scale-up domains, each with its source.

`catalogue.yaml` beside this module is the data; FACTS.md holds the full citations.
A scenario's `catalogue:` block patches known entries field by field or adds new ones.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import cache
from importlib import resources
from typing import Any

import yaml


@dataclass(frozen=True)
class Accelerator:
    name: str
    vendor: str | None = None
    bf16_tflops: float | None = None
    fp8_tflops: float | None = None
    hbm_gb: float | None = None
    hbm_tbps: float | None = None
    link_gbytes_per_s: float | None = None
    link_gbps: float | None = None
    watts: float | None = None
    watts_is_estimate: bool | None = None
    mfu: float | None = None
    mfu_is_estimate: bool | None = None
    mfu_source: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Instance:
    name: str
    accelerator: str | None = None
    chips: int | None = None
    efa_gbps: float | None = None
    on_demand_usd_per_h: float | None = None
    price_is_estimate: bool | None = None
    region: str | None = None
    price_date: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Domain:
    """A scale-up domain: chips joined by NeuronLink/NVLink rather than EFA."""

    name: str
    instance: str | None = None
    instances: int | None = None
    chips: int | None = None
    interconnect: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class Catalogue:
    accelerators: dict[str, Accelerator]
    instances: dict[str, Instance]
    domains: dict[str, Domain]

    def domain_size(self, instance: str) -> int:
        """Instances per scale-up domain of this instance type (1 unless it is an UltraServer member)."""
        sizes = [d.instances for d in self.domains.values() if d.instance == instance and d.instances]
        return max(sizes, default=1)


FIELDS = {
    "accelerators": {f.name for f in fields(Accelerator)},
    "instances": {f.name for f in fields(Instance)},
    "domains": {f.name for f in fields(Domain)},
}
REQUIRED_FOR_NEW = {"accelerators": ("name",), "instances": ("name", "accelerator", "chips"),
                    "domains": ("name", "instance", "instances")}
_TYPES = {"accelerators": Accelerator, "instances": Instance, "domains": Domain}


def _known(data: dict[str, Any], section: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k in FIELDS[section]}


@cache
def builtin() -> Catalogue:
    """The catalogue shipped with trnsim."""
    text = resources.files(__package__).joinpath("catalogue.yaml").read_text()
    raw = yaml.safe_load(text)
    parts = {}
    for section, cls in _TYPES.items():
        parts[section] = {e["name"]: cls(**_known(e, section)) for e in raw.get(section, [])}
    return Catalogue(**parts)


def patched(patches: dict[str, list[dict[str, Any]]]) -> Catalogue:
    """The built-in catalogue with a scenario's patches applied.

    A known `name` patches only the fields given; a new name adds an entry, which must
    then give REQUIRED_FOR_NEW (checked by the scenario model, which knows line numbers).
    """
    base = builtin()
    parts: dict[str, dict[str, Any]] = {"accelerators": dict(base.accelerators),
                                         "instances": dict(base.instances), "domains": dict(base.domains)}
    for section, entries in patches.items():
        table = parts[section]
        for entry in entries:
            given = {k: v for k, v in entry.items() if v is not None}
            if entry["name"] in table:
                table[entry["name"]] = replace(table[entry["name"]], **given)
            else:
                table[entry["name"]] = _TYPES[section](**given)
    return Catalogue(**parts)
