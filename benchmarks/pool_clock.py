"""The cost of a pool-wide speed change (a power cap throttling every chip) on the job ledger.

A pool on a variable clock (sim/engine/ledger.py) keeps its running jobs' completions in its
own virtual time, so a speed change settles the clock and re-times one event. The baseline,
measured in the same run, is what the change would cost without the clock: for every running
job, settle its progress and push a new completion event (the O(running jobs) way).

    .venv/bin/python benchmarks/pool_clock.py                 # 100, 10k and 100k running jobs
    .venv/bin/python benchmarks/pool_clock.py --running 1000 --changes 2000

Prints microseconds per speed change for both, and their ratio.
"""

from __future__ import annotations

import argparse
import math
import time
from heapq import heappush

from sim.engine.events import EventCore
from sim.engine.ledger import Ledger, PoolClock
from sim.engine.plan import JobPlan
from sim.placement import Allocation
from sim.policies.base import COMPLETED, JobTable


def ledger_with(running: int) -> Ledger:
    """A ledger whose one pool (variable clock) runs `running` one-chip jobs of 1-2 days."""
    table = JobTable(submit=(0.0,) * running, chips=(1,) * running, requested=(0.0,) * running,
                     priority=(0,) * running, user=("",) * running, queue=("",) * running,
                     entry=("",) * running, pools=((0,),) * running)
    plan = JobPlan(table, [False] * running, [(1,)] * running, [(86400.0,)] * running, [(86400.0,)] * running,
                   [None] * running, [COMPLETED] * running)
    core = EventCore(lambda ev: None)
    ledger = Ledger(plan, core, [PoolClock(variable=True)], lambda ev: None, 0.0)
    alloc = Allocation([0], 1, 0)
    for j in range(running):
        ledger.open(j, 0, alloc, 1, 0, 1.0, 86400.0 * (1 + j / running), None, COMPLETED)
    return ledger


def with_clock(ledger: Ledger, changes: int) -> float:
    t = time.perf_counter()
    for k in range(changes):
        ledger.set_speed(0, 0.5 if k % 2 == 0 else 1.0)
    return (time.perf_counter() - t) / changes


def per_job(ledger: Ledger, changes: int) -> float:
    """The baseline: settle and re-push every running job's completion per change."""
    running = len(ledger.state)
    heap: list = []
    done = [0.0] * running
    full = ledger.full
    now = 0.0
    speed = 1.0
    t = time.perf_counter()
    for k in range(changes):
        new = 0.5 if k % 2 == 0 else 1.0
        for j in range(running):  # progress since the last change at the old speed, then the new end
            done[j] = min(1.0, done[j] + 1.0 * speed / full[j])
            heappush(heap, (now + (1.0 - done[j]) * full[j] / new, j))
        speed = new
        now += 1.0
        if len(heap) > 4 * running:
            heap.clear()
    return (time.perf_counter() - t) / changes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--running", default="100,10000,100000", help="comma-separated running job counts")
    parser.add_argument("--changes", type=int, default=1000, help="speed changes timed per count")
    args = parser.parse_args()
    print(f"{'running jobs':>12}  {'clock us/change':>15}  {'per-job us/change':>17}  {'per-job / clock':>15}")
    for running in (int(x) for x in args.running.split(",")):
        ledger = ledger_with(running)
        clock = with_clock(ledger, args.changes)
        baseline = per_job(ledger, max(3, min(args.changes, 2_000_000 // running)))
        ratio = baseline / clock if clock > 0 else math.inf
        print(f"{running:>12,}  {clock * 1e6:>15.2f}  {baseline * 1e6:>17.1f}  {ratio:>14.0f}x")


if __name__ == "__main__":
    main()
