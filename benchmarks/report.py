"""How long a run's report takes on a big run: `.venv/bin/python benchmarks/report.py [--jobs N]`.

Simulates N generated jobs (default 10^6) on a 4,096-chip Trn2 cluster at about 70 % load,
then times the parts of writing the run directory: the jobs table, the report's inputs, the
report itself (figures, report.md, report.html) and the whole `rundir.write`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sim import metrics, rundir  # noqa: E402
from sim import run as simulation  # noqa: E402
from sim.report import run_report  # noqa: E402
from sim.report.rundata import from_result  # noqa: E402
from sim.scenario import loader  # noqa: E402

SCENARIO = """\
name: big
seed: 3
cluster:
  pools:
    - {{name: trn2, instance: trn2u.48xlarge, count: 256}}
workload:
  - generator:
      count: {jobs}
      arrivals: {{poisson: {{rate: 150/h}}}}
      chips: {{choice: {{values: [1, 4, 16, 64, 256, 2048], weights: [0.5, 0.3, 0.15, 0.04, 0.009, 0.001]}}}}
      duration: {{lognormal: {{median: 1h, sigma: 1.0}}}}
scheduler:
  policy: fifo
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trnsim-report-bench-") as tmp:
        path = Path(tmp) / "big.yaml"
        path.write_text(SCENARIO.format(jobs=args.jobs))
        loaded = loader.load(path)
        t0 = time.perf_counter()
        result = simulation.simulate(loaded)
        t1 = time.perf_counter()
        print(f"jobs {len(result.jobs):,}, series rows {len(result.outcome.series['t_s']):,}, "
              f"utilisation {result.summary['utilisation']:.1%}; simulate {t1 - t0:.1f} s", flush=True)
        jobs = metrics.jobs_table(result)
        t2 = time.perf_counter()
        data = from_result(result, jobs)
        t3 = time.perf_counter()
        out = Path(tmp) / "report"
        out.mkdir()
        run_report.write(data, run_report.context_of(result), out)
        t4 = time.perf_counter()
        rundir.write(result, Path(tmp) / "run")
        t5 = time.perf_counter()
        print(f"jobs table {t2 - t1:.2f} s, report inputs {t3 - t2:.2f} s, "
              f"report (figures, report.md, report.html) {t4 - t3:.2f} s, whole rundir.write {t5 - t4:.2f} s")


if __name__ == "__main__":
    main()
