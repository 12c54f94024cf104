"""How long a queue takes to recover after a demand surge, from a run directory's timeseries.csv.

Usage: python docs/lessons/recovery.py RUN_DIR --surge 10d..11d

Prints the queue before the surge (time-average of queued chips), its peak, and the time from the
end of the surge until the queue first falls back to the pre-surge average.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv

from sim.metrics import step_integral
from sim.scenario.units import format_duration, parse_time


def recovery(run_dir: Path, start_s: float, end_s: float) -> dict[str, float]:
    series = pacsv.read_csv(Path(run_dir) / "timeseries.csv")
    t = series["t_s"].to_numpy().astype(float)
    queued = series["queued_chips"].to_numpy().astype(float)
    before = step_integral(t, queued, 0.0, start_s) / start_s
    during = (t >= start_s) & (t <= end_s)
    peak = float(queued[during].max()) if during.any() else 0.0
    # the queue's value at each change point after the surge ends; the first one at or below the
    # pre-surge average is when it has recovered
    i0 = int(np.searchsorted(t, end_s, side="right")) - 1
    after = np.nonzero(queued[max(i0, 0):] <= before)[0]
    back = float(t[max(i0, 0) + after[0]]) if len(after) else float("inf")
    return {"queued_chips_before": before, "queued_chips_peak": peak, "recovery_s": max(0.0, back - end_s)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--surge", required=True, help="START..END of the surge, e.g. 10d..11d")
    args = parser.parse_args()
    start, _, end = args.surge.partition("..")
    r = recovery(args.run_dir, parse_time(start), parse_time(end))
    print(f"queued chips before the surge (time-average): {r['queued_chips_before']:,.1f}")
    print(f"queued chips at the surge's peak: {r['queued_chips_peak']:,.0f}")
    print(f"recovered {format_duration(r['recovery_s'])} after the surge ended")


if __name__ == "__main__":
    main()
