"""The sizing sheet of `trnsim topology`: what a scenario's cluster resolves to, before any run.

Per pool and in total: instance type, accelerator, instances, chips, UltraServers, pods,
spine groups, peak facility power, $/h and $/yr at the pool's pricing; the arithmetic each
sizing key resolved by; the graph's node count per tier; and every ESTIMATE used. The same
text is printed and written as topology.md; topology.json holds the numbers.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx

from sim import economics, topology
from sim.names import TIERS
from sim.scenario.loader import LoadedScenario

DRAW_MAX_INSTANCES = 256  # larger clusters are not drawn: thousands of markers make no picture


@dataclass
class Sheet:
    name: str
    description: str | None
    pools: list[dict[str, Any]]
    total: dict[str, Any]
    tiers: dict[str, int]  # graph nodes per tier, over all pools
    sizing: list[str]  # one line of arithmetic per pool
    assumptions: list[str]
    drawing: str | None  # file name of the drawing, or None when the cluster is too large

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "pools": self.pools, "total": self.total,
                "tiers": self.tiers, "nodes": sum(self.tiers.values()), "sizing": self.sizing,
                "assumptions": self.assumptions, "drawing": self.drawing}


def _mw(watts: float | None) -> float | None:
    return None if watts is None else watts / 1e6


def _written(loaded: LoadedScenario, s: topology.PoolShape) -> str:
    """The sizing value as the scenario (or --set, or ci:) gave it: `5GW`, `$10B/yr`, `64`."""
    return str(loaded.raw["cluster"]["pools"][s.index][loaded.model.cluster.pools[s.index].sizing])


def _sizing_line(loaded: LoadedScenario, s: topology.PoolShape) -> str:
    """How the pool's sizing key became its instance count, in numbers."""
    c = loaded.model.cluster
    pool = c.pools[s.index]
    written = _written(loaded, s)
    unit = f"whole UltraServers of {s.domain_size}" if s.domain_size > 1 else "whole instances"
    head = f"{s.name}: {pool.sizing} {written}"
    if pool.count is not None:
        return f"{head} = {s.instances:,} instances"
    if pool.ultraservers is not None:
        return f"{head} x {s.domain_size} instances = {s.instances:,} instances"
    if pool.chips is not None:
        exact = pool.chips / s.chips_per_instance
        return (f"{head} / {s.chips_per_instance} chips per instance = {exact:,.2f} -> {s.instances:,} "
                f"instances ({unit})")
    if pool.power is not None:
        assert s.instance_peak_watts is not None  # sizing by power needs watts (checked when loaded)
        exact = pool.power / (c.pue * (1 + c.network_fraction) * s.instance_peak_watts)
        return (f"{head} / (PUE {c.pue:g} x (1 + network {c.network_fraction:g}) x {s.instance_peak_watts:,.0f} W "
                f"peak per instance [{s.chips_per_instance} chips x {s.chip_watts:g} W + host "
                f"{s.host_watts:,.0f} W]) = {exact:,.2f} -> {s.instances:,} instances ({unit})")
    assert s.usd_per_h is not None  # sizing by money, at a known price
    per_instance = s.usd_per_h / s.instances
    if pool.purchase is not None:
        hours = topology.life_h(pool)
        exact = pool.purchase / (per_instance * hours)
        return (f"{head} / (${per_instance:,.4g}/h per instance at {pool.pricing.kind} pricing x {hours:,.0f} h "
                f"from online to retire) = {exact:,.2f} -> {s.instances:,} instances ({unit}), "
                f"${s.purchase_usd:,.0f} paid when it comes online")
    assert pool.budget is not None  # neither power nor purchase: budget
    exact = pool.budget / (per_instance * topology.HOURS_PER_YEAR)
    return (f"{head} / (${per_instance:,.4g}/h per instance at {pool.pricing.kind} pricing x 8,760 h) = "
            f"{exact:,.2f} -> {s.instances:,} instances ({unit})")


def describe(loaded: LoadedScenario) -> tuple[Sheet, nx.DiGraph]:
    """Size the pools, build the graph, and gather the sheet's numbers (the graph is returned for drawing)."""
    from sim.run import assumptions  # the same list `run` prints

    m = loaded.model
    shapes = topology.size_pools(m.cluster, loaded.catalogue, loaded.problem)
    graph = topology.build_graph(shapes)
    per_pool_tiers = Counter((d.get("pool"), d["tier"]) for _, d in graph.nodes(data=True))
    tiers = {t: sum(n for (_, tier), n in per_pool_tiers.items() if tier == t) for t in TIERS}
    pools = []
    for s in shapes:
        peak = economics.peak_power_w(m.cluster, [s])
        pools.append({
            "name": s.name, "instance_type": s.instance_type, "accelerator": s.accelerator,
            "sizing": m.cluster.pools[s.index].sizing, "sizing_value": _written(loaded, s),
            "pricing": m.cluster.pools[s.index].pricing.kind,
            "chips_per_instance": s.chips_per_instance, "instances": s.instances, "chips": s.chips,
            "instances_per_ultraserver": s.domain_size if s.domain_size > 1 else None,
            "ultraservers": s.ultraservers if s.domain_size > 1 else None,
            "pods": s.pods, "spine_groups": s.spines, "instances_per_pod": s.instances_per_pod,
            "pods_per_spine_group": s.pods_per_spine,
            "tiers": [t for t in TIERS if t == "cluster" or per_pool_tiers.get((s.index, t))],
            "instance_peak_w": s.instance_peak_watts, "peak_power_mw": _mw(peak),
            "usd_per_h": s.usd_per_h, "usd_per_yr": None if s.usd_per_h is None else
            s.usd_per_h * topology.HOURS_PER_YEAR,
            "efa_gbps_per_instance": s.efa_gbps, "link_gbytes_per_s_per_chip": s.link_gbytes_per_s,
        })
    usd_h = economics.usd_per_h(shapes)
    with_us = [s for s in shapes if s.domain_size > 1]
    total: dict[str, Any] = {
        "instances": sum(s.instances for s in shapes), "chips": sum(s.chips for s in shapes),
        "ultraservers": sum(s.ultraservers for s in with_us) if with_us else None,
        "pods": sum(s.pods for s in shapes), "spine_groups": sum(s.spines for s in shapes),
        "peak_power_mw": _mw(economics.peak_power_w(m.cluster, shapes)),
        "usd_per_h": usd_h, "usd_per_yr": None if usd_h is None else usd_h * topology.HOURS_PER_YEAR,
    }
    drawing = "topology.png" if total["instances"] <= DRAW_MAX_INSTANCES else None
    sheet = Sheet(m.name, m.description, pools, total, tiers, [_sizing_line(loaded, s) for s in shapes],
                  assumptions(loaded, shapes), drawing)
    return sheet, graph


# --- text ----------------------------------------------------------------------------------------

def _n(v: Any) -> str:
    return "—" if v is None else f"{v:,}"


def _usd(v: float | None) -> str:
    return "unknown" if v is None else f"${v:,.0f}" if v >= 1e4 else f"${v:,.2f}"


def _power(v: float | None) -> str:
    return "unknown" if v is None else f"{v:,.3f}"


def _table(rows: list[list[str]]) -> list[str]:
    """A markdown table padded to line up in a terminal too (first column left, the rest right)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))) + " |"

    rule = "|" + "|".join(("-" * (w + 2)) if i == 0 else ("-" * (w + 1) + ":") for i, w in enumerate(widths)) + "|"
    return [line(rows[0]), rule] + [line(r) for r in rows[1:]]


def markdown(sheet: Sheet) -> str:
    pools, total = sheet.pools, sheet.total
    multi = len(pools) > 1
    rows = [["", *(p["name"] for p in pools), *(["total"] if multi else [])]]

    def row(label: str, key: str, fmt: Callable[[Any], str], with_total: bool = True) -> None:
        cells = [fmt(p[key]) for p in pools]
        if multi:
            cells.append(fmt(total[key]) if with_total else "")
        rows.append([label, *cells])

    row("instance type", "instance_type", str, False)
    row("accelerator", "accelerator", str, False)
    rows.append(["sized by", *(f"{p['sizing']} {p['sizing_value']}" for p in pools), *([""] if multi else [])])
    row("pricing", "pricing", str, False)
    row("chips per instance", "chips_per_instance", _n, False)
    row("instances", "instances", _n)
    row("chips", "chips", _n)
    row("instances per UltraServer", "instances_per_ultraserver", _n, False)
    row("UltraServers", "ultraservers", _n)
    row("pods", "pods", _n)
    row("spine groups", "spine_groups", _n)
    row("instance peak (W)", "instance_peak_w", lambda v: "unknown" if v is None else f"{v:,.0f}", False)
    row("peak facility power (MW)", "peak_power_mw", _power)
    row("$/h (effective)", "usd_per_h", _usd)
    row("$/yr", "usd_per_yr", _usd)
    row("EFA per instance (Gbps)", "efa_gbps_per_instance", lambda v: "unknown" if v is None else f"{v:,g}", False)
    row("scale-up link per chip (GB/s)", "link_gbytes_per_s_per_chip",
        lambda v: "unknown" if v is None else f"{v:,g}", False)

    lines = [f"# trnsim topology: {sheet.name}", ""]
    if sheet.description:
        lines += [sheet.description, ""]
    lines += ["## Pools", "", *_table(rows), "", "## Sizing", ""]
    lines += [f"- {s}" for s in sheet.sizing]
    nodes = sum(sheet.tiers.values())
    lines += ["", "## Tiers (graph nodes, lowest first)", "",
              ", ".join(f"{t} {sheet.tiers[t]:,}" for t in TIERS) + f"; {nodes:,} nodes in all."]
    for p in pools:
        lines.append(f"- {p['name']}: {' -> '.join(p['tiers'])}")
    lines += ["", "## Assumptions (ESTIMATE where marked)", ""]
    lines += [f"- {a}" for a in sheet.assumptions]
    lines.append("")
    if sheet.drawing:
        lines += ["## Drawing", "", f"![topology]({sheet.drawing}) (written with --out)"]
    else:
        lines += ["## Drawing", "", f"Skipped: {total['instances']:,} instances is more than "
                  f"{DRAW_MAX_INSTANCES} (only small clusters are drawn)."]
    return "\n".join(lines) + "\n"


# --- the output directory ------------------------------------------------------------------------

def write(sheet: Sheet, graph: nx.DiGraph, text: str, out: Path, *, force: bool = False) -> Path:
    """topology.md, topology.json and (small clusters) topology.png, via a temp sibling renamed into place."""
    from sim.outdir import atomic_dir

    with atomic_dir(out, force=force) as tmp:
        (tmp / "topology.md").write_text(text)
        (tmp / "topology.json").write_text(json.dumps(sheet.as_json(), indent=2) + "\n")
        if sheet.drawing:
            from sim.report import topology_plot

            topology_plot.draw(graph, f"{sheet.name}: {sheet.total['chips']:,} chips, "
                                      f"{sheet.total['instances']:,} instances", tmp / sheet.drawing)
    return Path(out)
