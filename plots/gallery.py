"""Regenerate every figure in plots/ (the README's pictures): `make gallery`.

Runs the bundled scenarios, a three-policy comparison, the README's capacity plan and two
teaching-pack sweeps through the `trnsim` command line,
copies the figures here, takes screenshots of a report and a comparison with headless
Chromium (`.ci/chromium.sh` installs it; without it the screenshots are skipped, with a
warning), and writes plots/README.md naming the command behind each figure.

    .venv/bin/python plots/gallery.py [--quick]     # --quick: the scenarios' short ci: forms
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLOTS = ROOT / "plots"
sys.path.insert(0, str(ROOT))

from sim.report import browser  # noqa: E402

# (scenario, extra run arguments, {run figure: gallery name})
RUNS = [
    ("quickstart", [], {"utilisation.png": "quickstart-utilisation.png", "wait_by_size.png": "quickstart-wait-by-size.png",
                        "timeline.png": "quickstart-timeline.png"}),
    ("policies-compare", [], {"utilisation.png": "policies-compare-utilisation-per-pool.png"}),
    ("hpc2n-replay", [], {"wait_cdf.png": "hpc2n-wait-cdf.png", "utilisation.png": "hpc2n-utilisation.png"}),
    # the real pod list is not shipped (no licence stated): its ci: form replays the synthetic one
    ("alibaba-2023", ["--ci"], {"utilisation.png": "alibaba-2023-synthetic-utilisation.png"}),
    ("campus-5gw", [], {"utilisation.png": "campus-5gw-utilisation.png", "power_cost.png": "campus-5gw-power-cost.png"}),
    ("campus-decade", [], {"decade.png": "campus-decade-chips-power.png"}),  # a minute or two
]
# (compare arguments, {compare figure: gallery name}, screenshot name or None)
COMPARES = [
    (["scenarios/quickstart.yaml", "--policies", "fifo,sjf,easy_backfill"],
     {"utilisation.png": "compare-policies-utilisation.png", "wait_cdf.png": "compare-policies-wait-cdf.png",
      "queue.png": "compare-policies-queue.png"},
     "compare-policies-screenshot.png"),
    (["scenarios/quickstart.yaml", "--policies", "fifo,sjf,easy_backfill", "--seeds", "5"],
     {"metrics.png": "compare-policies-5-seeds-metrics.png", "utilisation.png": "compare-policies-5-seeds-utilisation.png"},
     None),
]

# (commands, each a trnsim argument list or a python script's, {file the last wrote under OUT: gallery name})
PLANS = [
    ([["plan", "scenarios/teaching/07-plan-surge.yaml", "--slo", "p95_wait<=2h",
       "--vary", "cluster.pools.0.ultraservers=2..16"]], {"knee.png": "plan-knee.png"}),
    ([["sweep", "scenarios/teaching/02-knee.yaml", "--grid",
       "workload.0.generator.arrivals.poisson.rate=8/h,11.2/h,12.8/h,13.6/h,14.4/h,15.2/h", "--seeds", "5"]],
     {"sweep.png": "teaching-knee.png"}),
    ([["sweep", "scenarios/teaching/06-cost.yaml", "--grid", "cluster.pools.0.ultraservers=3,4,5,6,7,8", "--seeds", "5",
       "--metric", "avg_wait_s", "--metric", "cost_usd"],
      ["python:docs/lessons/total_cost.py", "OUT", "--axis", "cluster.pools.0.ultraservers", "--wait-cost", "$100/h"]],
     {"total_cost.png": "teaching-total-cost.png"}),
]


def shell_words(args: list[str]) -> str:
    return " ".join(f"'{a}'" if any(c in a for c in "<>$ ") else a for a in args)


def trnsim(*args: str) -> None:
    shown = "trnsim " + " ".join(args)
    print(f"$ {shown}", flush=True)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sim", *args], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    print(f"  ({time.perf_counter() - t0:.1f} s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="use each scenario's ci: block (for a smoke test)")
    args = parser.parse_args()
    made: list[tuple[str, str]] = []  # (figure, command)
    runs_made: dict[str, str] = {}  # scenario -> command
    with tempfile.TemporaryDirectory(prefix="trnsim-gallery-") as tmp:
        work = Path(tmp)
        for name, extra, figures in RUNS:
            out = work / name
            run_args = ["run", f"scenarios/{name}.yaml", "--out", str(out), "-q", *extra]
            if args.quick and "--ci" not in run_args:
                run_args.append("--ci")
            trnsim(*run_args)
            command = "trnsim " + " ".join(a if a != str(out) else "OUT" for a in run_args)
            runs_made[name] = command
            for src, dst in figures.items():
                shutil.copyfile(out / "plots" / src, PLOTS / dst)
                made.append((dst, f"`{command}`, then `OUT/plots/{src}`"))
        shots: list[tuple[Path, str, int, str]] = [(work / "quickstart" / "report.html",
                                                    "quickstart-report-screenshot.png", 1500, runs_made["quickstart"])]
        for k, (cmp_args, figures, shot) in enumerate(COMPARES):
            cmp_out = work / f"compare{k}"
            cmp_args = ["compare", *cmp_args, "--out", str(cmp_out), "-q"]
            if args.quick:
                cmp_args += ["--set", "workload.0.generator.count=300"]
            trnsim(*cmp_args)
            command = "trnsim " + " ".join(a if a != str(cmp_out) else "OUT" for a in cmp_args)
            for src, dst in figures.items():
                shutil.copyfile(cmp_out / src, PLOTS / dst)
                made.append((dst, f"`{command}`, then `OUT/{src}`"))
            if shot:
                shots.append((cmp_out / "compare.html", shot, 1300, command))
        for k, (commands, figures) in enumerate(PLANS):
            out = work / f"plan{k}"
            shown = []
            for command in commands:
                if command[0].startswith("python:"):
                    script = command[0].removeprefix("python:")
                    rest = [str(out) if a == "OUT" else a for a in command[1:]]
                    print(f"$ python {script} {' '.join(rest)}", flush=True)
                    subprocess.run([sys.executable, script, *rest], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
                    shown.append(f"python {script} " + shell_words(command[1:]))
                else:
                    full = [*command, "--out", str(out), "-q"]
                    if args.quick:
                        full += ["--seeds", "2"]
                    trnsim(*full)
                    shown.append("trnsim " + shell_words([a if a != str(out) else "OUT" for a in full]))
            for src, dst in figures.items():
                shutil.copyfile(out / src, PLOTS / dst)
                made.append((dst, "`" + "`, then `".join(shown) + f"`, then `OUT/{src}`"))
        if browser.find() is None:
            print("warning: chromium is not installed (bash .ci/chromium.sh): screenshots not regenerated",
                  file=sys.stderr)
        else:
            for page, dst, height, command in shots:
                browser.screenshot(page, PLOTS / dst, width=1100, height=height)
                made.append((dst, f"headless Chromium's screenshot (1100 x {height} px) of `OUT/{page.name}` "
                                  f"from `{command}`"))
                print(f"screenshot: plots/{dst}", flush=True)
    lines = ["# plots/", "", "Figures of the bundled scenarios, shown in the project README. Regenerate them all with",
             "`make gallery` (`.venv/bin/python plots/gallery.py`); each was made by:", "",
             "| figure | made by |", "|---|---|"]
    lines += [f"| [{f}]({f}) | {c} |" for f, c in made]
    (PLOTS / "README.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {len(made)} figures and plots/README.md", flush=True)


if __name__ == "__main__":
    main()
