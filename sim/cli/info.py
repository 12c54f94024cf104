"""`trnsim topology`, `trnsim catalogue` and `trnsim schema`: what a cluster resolves to, the
hardware catalogue, and the scenario schema, without running anything."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sim import limits
from sim.cli.common import allow_large_option, fail_input, print_json, terminal_width
from sim.errors import InputError
from sim.outdir import check_out


@click.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(path_type=Path),
              help="Write topology.md, topology.json and (small clusters) topology.png here.")
@click.option("--force", is_flag=True, help="Replace a non-empty --out.")
@click.option("--set", "sets", multiple=True, metavar="PATH=VALUE", help="Override a scenario value (repeatable).")
@click.option("--ci", is_flag=True, help="Apply the scenario's ci: block (its short form).")
@click.option("--json", "as_json", is_flag=True, help="Print topology.json's numbers on stdout instead of the table.")
@allow_large_option
def topology(scenario: Path, out: Path | None, force: bool, sets: tuple[str, ...], ci: bool, as_json: bool,
             allow_large: bool) -> None:
    """What SCENARIO's cluster resolves to: sizes, tiers, peak power, $/h, and every assumption used."""
    from sim.report import sizing
    from sim.scenario import loader

    try:
        loaded = loader.load(scenario, sets, ci=ci)
        limits.check(loaded, allow_large=allow_large)
        if out is not None:
            check_out(out, force, keep=[scenario])
        sheet, graph = sizing.describe(loaded)
        text = sizing.markdown(sheet)
        if out is not None:
            sizing.write(sheet, graph, text, out, force=force)
    except InputError as exc:
        fail_input(exc)
    except Exception as exc:  # a bug: say so, exit 1
        click.echo(f"{scenario}: topology failed: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    if as_json:
        print_json(sheet.as_json())
        return
    click.echo(text, nl=False)
    if out is not None:
        click.echo(f"\nwritten: {out}  (topology.md, topology.json{', ' + sheet.drawing if sheet.drawing else ''})")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the catalogue as one JSON document.")
def catalogue(as_json: bool) -> None:
    """Known accelerators and instance types, with their sources."""
    from dataclasses import asdict

    from sim import hardware

    cat = hardware.builtin()
    if as_json:
        print_json({"accelerators": [asdict(a) for a in cat.accelerators.values()],
                    "instances": [{**asdict(i), "per_ultraserver": cat.domain_size(i.name)}
                                  for i in cat.instances.values()]})
        return
    from rich.console import Console
    from rich.table import Table

    def num(value: float | None, estimate: bool | None = False) -> str:
        return "?" if not value else f"{value:g}" + ("*" if estimate else "")

    sources: list[str] = []

    def cite(name: str, text: str | None) -> str:
        if not text:
            return ""
        sources.append(f"[{len(sources) + 1}] {name}: {text}")
        return str(len(sources))

    t = Table(title="accelerators (dense TFLOPS per chip)")
    for col in ("name", "BF16", "FP8", "HBM GB", "watts", "MFU", "src"):
        t.add_column(col, no_wrap=True, justify="left" if col == "name" else "right")
    for a in cat.accelerators.values():
        t.add_row(a.name, num(a.bf16_tflops), num(a.fp8_tflops), num(a.hbm_gb), num(a.watts, a.watts_is_estimate),
                  num(a.mfu, a.mfu_is_estimate), cite(a.name, a.source))
    i = Table(title="instance types")
    for col in ("name", "accelerator", "chips", "per UltraServer", "EFA Gbps", "$/h on demand", "src"):
        i.add_column(col, no_wrap=True, justify="left" if col in ("name", "accelerator") else "right")
    for inst in cat.instances.values():
        domain = cat.domain_size(inst.name)
        i.add_row(inst.name, inst.accelerator or "?", str(inst.chips), str(domain) if domain > 1 else "—",
                  num(inst.efa_gbps), num(inst.on_demand_usd_per_h, inst.price_is_estimate), cite(inst.name, inst.source))
    console = Console(highlight=False, width=None if sys.stdout.isatty() else terminal_width())
    console.print(t)
    console.print(i)
    console.print("* ESTIMATE (see sim/hardware/FACTS.md)\n\nsources:")
    for line in sources:
        console.print(line, overflow="fold")


@click.command()
@click.option("--markdown", is_flag=True, help="Print the scenario reference (docs/scenario.md) instead.")
@click.option("--summary", is_flag=True, help="The schema of summary.json instead (with --markdown: its key list "
              "in docs/reports.md).")
def schema(markdown: bool, summary: bool) -> None:
    """Print the scenario JSON Schema (for editors: see docs/scenario.md), or the reference generated from it."""
    if summary:
        from sim import metric_registry

        click.echo(metric_registry.markdown() if markdown else metric_registry.dumps(), nl=False)
        return
    from sim import schema as scenario_schema

    click.echo(scenario_schema.markdown() if markdown else scenario_schema.dumps(), nl=False)
