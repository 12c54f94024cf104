"""Heterogeneity-aware placement: each job to the pool with the best throughput per dollar that
fits now — in the spirit of Gavel (Narayanan et al., "Heterogeneity-aware cluster scheduling
policies for deep learning workloads", OSDI 2020), without its linear program.

Gavel measures a throughput matrix (job type x accelerator) and allocates by it. Here the matrix
is `throughput:` — per job class (the workload entry's name; `default` for the rest), the
per-chip throughput on each pool or accelerator, in any unit — and by default every class gets
the catalogue's BF16 TFLOPS x MFU, the figure the run's speed model uses. A job's pools are
ranked by throughput / (pool $ per chip-hour), best first (by throughput alone when a price is
unknown). Jobs go in submission order; each starts on the best-ranked pool that fits now; a job
that fits none of its pools blocks them (as `fifo` does), while later jobs may still start on
pools nobody blocks. The matrix ranks pools only: how long a job runs on a pool, and on how many
chips, still follows the speed model (docs/architecture.md: chips scaled by TFLOPS x MFU against the reference
accelerator), so a matrix far from that model makes choices the run does not reward.

Cost per pass: O(started + 1) with one pool; with several, until every pool is blocked (pool
rankings are computed once per class and pool set).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from sim.policies.base import Decision, Policy, QueueView, register, start_while_pools_free

DEFAULT_CLASS = "default"


class HeteroOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    throughput: dict[str, dict[str, float]] = Field(default_factory=dict, description=(
        "Per job class (workload entry name, or default), per-chip throughput on each pool or accelerator."))


@register
class Hetero(Policy):
    name = "hetero"
    Options = HeteroOptions
    options: HeteroOptions

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._ranked: dict[tuple[str, tuple[int, ...]], tuple[int, ...]] = {}

    def assumptions(self) -> list[str]:
        classes = sorted(self.options.throughput)
        if classes:
            return [f"hetero throughput matrix from the scenario for {', '.join(classes)}; other classes rank "
                    "pools by catalogue BF16 TFLOPS x MFU per $"]
        return ["hetero ranks pools by catalogue BF16 TFLOPS x MFU per $ per chip-hour (MFU: ESTIMATE)"]

    def throughput(self, cls: str, pool: int) -> float | None:
        shape = self.pools[pool]
        row = self.options.throughput.get(cls, self.options.throughput.get(DEFAULT_CLASS))
        if row is not None:
            for key in (shape.name, shape.accelerator):
                if key in row:
                    return row[key]
        if shape.bf16_tflops is None or shape.mfu is None:
            return None
        return shape.bf16_tflops * shape.mfu

    def ranked(self, cls: str, pools: tuple[int, ...]) -> tuple[int, ...]:
        """`pools`, best throughput per dollar first (ties: scenario order)."""
        key = (cls, pools)
        order = self._ranked.get(key)
        if order is None:
            value = {p: self.throughput(cls, p) for p in pools}
            price = {p: (None if self.pools[p].usd_per_h is None else self.pools[p].usd_per_h / self.pools[p].chips)
                     for p in pools}
            by_price = all(price[p] for p in pools)
            score: dict[int, float] = {}
            for p in pools:
                v, c = value[p], price[p]
                score[p] = -1.0 if v is None else v / c if by_price and c else v  # by_price: every c > 0
            order = self._ranked[key] = tuple(sorted(pools, key=lambda p: -score[p]))
        return order

    def schedule(self, view: QueueView) -> Iterator[Decision]:
        pools_of = view.jobs.pools
        entry = view.jobs.entry
        return start_while_pools_free(view, view.queued(), lambda job: self.ranked(entry[job], pools_of[job]))
