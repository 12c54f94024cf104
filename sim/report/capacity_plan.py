"""A capacity plan's answer as `trnsim plan` prints it, plan.json's contents, and the plan
directory (plan.md, plan.json, knee.png); the Python API (`sim.Plan`) reads the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from sim.jsonfile import strict_json
from sim.scenario import loader


def describe(result: Any, where: str) -> list[str]:
    from sim.plan import show_size

    vary, n = result.vary, len(result.seeds)
    seeds = f"seeds {result.seeds[0]}-{result.seeds[-1]}" if n > 1 else f"seed {result.seeds[0]}"
    lines = []
    if result.answer is not None:
        probe = result.probes[result.answer]
        lines.append(f"answer: {vary.path} = {show_size(vary, result.answer)} ({probe.chips:,} chips) meets "
                     + " and ".join(s.text for s in result.slos) + f" (90 % one-sided bound over {n} runs, {seeds})")
    else:
        probe = result.probes[result.closest]
        lines.append(f"answer: {result.verdict}; closest: {vary.path} = {show_size(vary, result.closest)} "
                     f"({probe.chips or 0:,} chips)")
    lines.append(f"searched {vary.path} = {show_size(vary, 0)} .. {show_size(vary, len(vary.values) - 1)} "
                 f"({len(vary.values)} sizes{'; ' + vary.step_note if vary.step_note else ''}): "
                 f"{len(result.probes)} sizes run, {len(result.probes) * n} runs"
                 + (f" ({result.ran} new, {len(result.probes) * n - result.ran} reused)"
                    if result.ran != len(result.probes) * n else "") + f" ({where})")
    lines.append("")
    lines.append(f"| SLO | mean | 90 % bound | met at {show_size(vary, probe.index)} |")
    lines.append("|---|---:|---:|---|")
    for c in probe.checks:
        met = "yes" if c.met else "no" + (f" ({c.why})" if c.why else "")
        lines.append(f"| `{c.slo.text}` | {c.slo.show(c.mean)} | {c.slo.show(c.bound)} | {met} |")
    if probe.rejected:
        lines.append(f"| no job rejected | | | no ({probe.rejected} rejected over {n} runs) |")
    lines.append("")
    lines.append(f"Runs behind it ({vary.path} = {show_size(vary, probe.index)}):")
    lines.append("")
    keys = [c.slo for c in probe.checks]
    lines.append("| seed | run key | " + " | ".join(s.name for s in keys) + " | utilisation | censored | error |")
    lines.append("|---:|---|" + "---:|" * len(keys) + "---:|---|---|")
    for r in sorted(probe.rows, key=lambda r: r["seed"]):
        util = r.get("utilisation")
        lines.append(f"| {r['seed']} | {r['run_key'][:8]} | " + " | ".join(s.show(r.get(s.key)) for s in keys)
                     + f" | {'n/a' if util is None else f'{util:.1%}'} | {bool(r.get('wait_censored'))} | "
                     + f"{r.get('error') or ''} |")
    lines.append("")
    lines.append("Every size run (bounds are one-sided 90 % over the seeds):")
    lines.append("")
    lines.append(f"| {vary.path} | chips | " + " | ".join(f"{s.name} bound" for s in result.slos)
                 + " | rejected | meets all |")
    lines.append("|---:|---:|" + "---:|" * len(result.slos) + "---:|---|")
    for p in sorted(result.probes.values(), key=lambda p: p.index):
        cells = [c.slo.show(c.bound) + ("" if c.met else " ✗") for c in p.checks]
        lines.append(f"| {show_size(vary, p.index)} | {p.chips or 0:,} | " + " | ".join(cells)
                     + f" | {p.rejected} | {'yes' if p.all_ok else 'no'} |")
    return lines


def chips_at(result: Any, scenario: Path, sets: tuple[str, ...], ci: bool) -> dict[int, int]:
    """Installed chips at (up to ~120 of) the candidate sizes, for the approximation's curve."""
    from sim import topology
    from sim.report.knee import MAX_APPROX_POINTS
    from sim.sweep import load_point

    vary = result.vary
    n = len(vary.values)
    picks = set(np.unique(np.linspace(0, n - 1, min(n, MAX_APPROX_POINTS)).round().astype(int)).tolist())
    out = {p.index: p.chips for p in result.probes.values() if p.chips}
    for i in sorted(picks - set(out)):
        loaded = load_point(scenario, sets, ci, [(vary.path, vary.texts[i], vary.texts[i])], flag="--vary")
        out[i] = sum(s.chips for s in topology.size_pools(loaded.model.cluster, loaded.catalogue, loaded.problem))
    return {i: c for i, c in out.items() if c > 0}


def write(result: Any, base: loader.LoadedScenario, out: Path, lines: list[str], scenario: Path,
          sets: tuple[str, ...], ci: bool) -> None:
    from sim.report import knee

    (out / "plan.md").write_text(f"# Capacity plan: {base.model.name}\n\n" + "\n".join(lines) + "\n")
    workload = knee.workload_of(base, result.seeds[0])
    knee.draw(result, chips_at(result, scenario, sets, ci), workload, out / "knee.png",
              title=f"{base.model.name}: " + ", ".join(s.text for s in result.slos))
    data = {**plan_data(result, scenario), "approximation": None if workload is None else workload.label}
    (out / "plan.json").write_text(strict_json(data))


def plan_data(result: Any, scenario: Path) -> dict[str, Any]:
    """plan.json's contents (without the approximation's label): the answer and every size run."""
    return {
        "scenario": str(scenario), "vary": result.vary.path, "slos": [s.text for s in result.slos],
        "seeds": result.seeds, "verdict": result.verdict,
        "answer": None if result.answer is None else result.vary.values[result.answer],
        "closest": None if result.closest is None else result.vary.values[result.closest],
        "probes": [{"value": p.value, "chips": p.chips, "meets_all": p.all_ok, "rejected": p.rejected,
                    "run_keys": [r["run_key"] for r in p.rows],
                    "slos": [{"slo": c.slo.text, "mean": c.mean, "bound": c.bound, "met": c.met} for c in p.checks]}
                   for p in sorted(result.probes.values(), key=lambda p: p.index)],
    }
