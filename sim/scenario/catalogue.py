"""`catalogue:` — add instance types and accelerators, or patch the built-in ones field by field."""

from __future__ import annotations

from pydantic import Field

from sim.scenario.common import Section


class AcceleratorPatch(Section):
    name: str = Field(description="Accelerator name; a known name patches only the fields given.")
    vendor: str | None = Field(None, description="Maker, e.g. aws or nvidia.")
    bf16_tflops: float | None = Field(None, gt=0, description="Dense BF16 TFLOPS per chip.")
    fp8_tflops: float | None = Field(None, gt=0, description="Dense FP8 TFLOPS per chip.")
    hbm_gb: float | None = Field(None, gt=0, description="HBM per chip, GB.")
    hbm_tbps: float | None = Field(None, gt=0, description="HBM bandwidth per chip, TB/s.")
    link_gbytes_per_s: float | None = Field(None, gt=0, description="Scale-up link per chip, GB/s.")
    link_gbps: float | None = Field(None, gt=0, description="Scale-up link per chip, Gbit/s.")
    watts: float | None = Field(None, gt=0, description="Busy watts per chip.")
    watts_is_estimate: bool | None = Field(None, description="Mark `watts` as an ESTIMATE in reports.")
    mfu: float | None = Field(None, gt=0, le=1, description="Model FLOPs utilisation.")
    mfu_is_estimate: bool | None = Field(None, description="Mark `mfu` as an ESTIMATE in reports.")
    mfu_source: str | None = Field(None, description="Where the MFU comes from.")
    source: str | None = Field(None, description="Where the figures come from.")


class InstancePatch(Section):
    name: str = Field(description="Instance type; a new one needs `accelerator` and `chips`.")
    accelerator: str | None = Field(None, description="Accelerator name (from the catalogue).")
    chips: int | None = Field(None, ge=1, description="Accelerator chips per instance.")
    efa_gbps: float | None = Field(None, gt=0, description="Network (EFA) per instance, Gbit/s.")
    on_demand_usd_per_h: float | None = Field(None, ge=0, description="On-demand price per instance-hour, US$.")
    price_is_estimate: bool | None = Field(None, description="Mark the price as an ESTIMATE in reports.")
    region: str | None = Field(None, description="Region the price is for.")
    price_date: str | None = Field(None, description="When the price was seen.")
    source: str | None = Field(None, description="Where the figures come from.")


class DomainPatch(Section):
    name: str = Field(description="Scale-up domain, e.g. an UltraServer.")
    instance: str | None = Field(None, description="Instance type the domain is made of.")
    instances: int | None = Field(None, ge=1, description="Instances per domain.")
    chips: int | None = Field(None, ge=1, description="Chips per domain.")
    interconnect: str | None = Field(None, description="What links the instances, e.g. NeuronLink.")
    source: str | None = Field(None, description="Where the figures come from.")


class CatalogueSection(Section):
    accelerators: list[AcceleratorPatch] = Field([], description="Accelerators to add or patch.")
    instances: list[InstancePatch] = Field([], description="Instance types to add or patch.")
    domains: list[DomainPatch] = Field([], description="Scale-up domains (UltraServers) to add or patch.")
