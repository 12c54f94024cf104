"""`catalogue:` — add instance types and accelerators, or patch the built-in ones field by field."""

from __future__ import annotations

from pydantic import Field

from sim.scenario.common import Section


class AcceleratorPatch(Section):
    name: str = Field(description="Accelerator name; a known name patches only the fields given.")
    vendor: str | None = None
    bf16_tflops: float | None = Field(None, gt=0, description="Dense BF16 TFLOPS per chip.")
    fp8_tflops: float | None = Field(None, gt=0)
    hbm_gb: float | None = Field(None, gt=0)
    hbm_tbps: float | None = Field(None, gt=0)
    link_gbytes_per_s: float | None = Field(None, gt=0)
    link_gbps: float | None = Field(None, gt=0)
    watts: float | None = Field(None, gt=0, description="Busy watts per chip.")
    watts_is_estimate: bool | None = None
    mfu: float | None = Field(None, gt=0, le=1, description="Model FLOPs utilisation.")
    mfu_is_estimate: bool | None = None
    mfu_source: str | None = None
    source: str | None = Field(None, description="Where the figures come from.")


class InstancePatch(Section):
    name: str = Field(description="Instance type; a new one needs `accelerator` and `chips`.")
    accelerator: str | None = None
    chips: int | None = Field(None, ge=1)
    efa_gbps: float | None = Field(None, gt=0)
    on_demand_usd_per_h: float | None = Field(None, ge=0)
    price_is_estimate: bool | None = None
    region: str | None = None
    price_date: str | None = None
    source: str | None = None


class DomainPatch(Section):
    name: str = Field(description="Scale-up domain, e.g. an UltraServer.")
    instance: str | None = None
    instances: int | None = Field(None, ge=1, description="Instances per domain.")
    chips: int | None = Field(None, ge=1)
    interconnect: str | None = None
    source: str | None = None


class CatalogueSection(Section):
    accelerators: list[AcceleratorPatch] = []
    instances: list[InstancePatch] = []
    domains: list[DomainPatch] = []
