"""`report.md`: headline metrics, the scenario, its assumptions, and what was left out."""

from __future__ import annotations

from typing import Any

from sim.scenario.units import format_duration

HEADLINE = (
    ("jobs_submitted", "jobs submitted", "n"), ("jobs_completed", "jobs completed", "n"),
    ("jobs_rejected", "jobs rejected (too large)", "n"), ("jobs_unstarted", "jobs never started", "n"),
    ("utilisation", "utilisation", "pct"), ("goodput", "goodput", "pct"),
    ("placement_efficiency", "placement efficiency", "pct"),
    ("avg_wait_s", "mean wait", "t"), ("p50_wait_s", "median wait", "t"), ("p95_wait_s", "p95 wait", "t"),
    ("avg_jct_s", "mean job completion time", "t"), ("avg_bounded_slowdown", "mean bounded slowdown", "x"),
    ("makespan_s", "window (first submit to last completion)", "t"),
    ("fragmentation_chips", "fragmented free chips (time-average)", "x"),
    ("energy_mwh", "energy (MWh)", "x"), ("peak_power_mw", "peak facility power (MW)", "x"),
    ("cost_usd", "cost", "usd"), ("usd_per_useful_chip_hour", "$ per useful chip-hour", "usd"),
    ("usd_per_useful_pflop_day", "$ per useful PFLOP-day", "usd"),
)


def fmt(value: Any, kind: str) -> str:
    if value is None:
        return "unknown"
    if kind == "pct":
        return f"{value:.1%}"
    if kind == "t":
        return format_duration(value)
    if kind == "usd":
        return f"${value:,.2f}" if value < 1e4 else f"${value:,.0f}"
    if kind == "n":
        return f"{value:,}"
    return f"{value:,.3g}" if isinstance(value, float) else str(value)


def headline_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    return [(label, fmt(summary.get(key), kind)) for key, label, kind in HEADLINE]


def render(result: Any, plots: list[str]) -> str:
    s = result.summary
    m = result.loaded.model
    lines = [f"# trnsim run: {m.name}", ""]
    if m.description:
        lines += [m.description, ""]
    lines += [f"Seed {s['seed']}, trnsim {s['version']}, scenario sha256 `{s['scenario_sha256'][:16]}…`, "
              f"{s['events']:,} events.", "", "## Headline", "", "| metric | value |", "|---|---|"]
    lines += [f"| {label} | {value} |" for label, value in headline_rows(s)]
    lines += ["", "## Cluster", "", "| pool | instance | accelerator | instances | chips | UltraServers | "
              "pods | utilisation |", "|---|---|---|---|---|---|---|---|"]
    for sh in result.shapes:
        lines.append(f"| {sh.name} | {sh.instance_type} | {sh.accelerator} | {sh.instances:,} | {sh.chips:,} | "
                     f"{sh.ultraservers or '—'} | {sh.pods} | {fmt(s.get(f'pool.{sh.name}.utilisation'), 'pct')} |")
    lines += ["", f"Scheduler: `{m.scheduler.policy}`, placement `{m.scheduler.placement}`."]
    for name in plots:
        lines += ["", f"![{name}](plots/{name})"]
    lines += ["", "## Assumptions (ESTIMATE where marked)", ""]
    lines += [f"- {a}" for a in result.assumptions]
    if result.rejected:
        lines += ["", f"## Rejected jobs ({len(result.rejected)}: larger than any pool they accept)", "",
                  "| job | entry | chips | reason |", "|---|---|---|---|"]
        lines += [f"| {r.job_id} | {r.entry} | {r.chips} | {r.reason} |" for r in result.rejected[:200]]
        if len(result.rejected) > 200:
            lines.append(f"| … {len(result.rejected) - 200} more | | | |")
    skipped = result.jobs.skipped
    if skipped:
        lines += ["", f"## Skipped trace rows ({len(skipped)})", "", "| file | line | reason |", "|---|---|---|"]
        lines += [f"| {r.file} | {r.line} | {r.reason} |" for r in skipped[:500]]
        if len(skipped) > 500:
            lines.append(f"| … {len(skipped) - 500} more | | |")
    return "\n".join(lines) + "\n"
