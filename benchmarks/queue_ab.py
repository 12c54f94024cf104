"""The engine's queue, A/B: the same runs with three structures for `sim.engine`'s queue of jobs.

- `dict`: arrivals appended to a plain dict, requeued jobs in a sorted list beside it, iteration
  merged by `heapq.merge` (the queue of 2c70c5e);
- `odict`: the same with an OrderedDict for arrivals (`sim.policies.base.JobQueue`);
- `sorted`: one `sortedcontainers.SortedList`.

Each run patches the engine's `JobQueue` (`sim.engine.coordinator`) in a fresh process and reports the CPU seconds of
`simulate()`: the workload of benchmarks/policies.py at an offered load (1.5: the queue only
grows), optionally with instance failures (`--mtbf`, e.g. 2h: every failure requeues the jobs on
that instance). Results by hand in benchmarks/queue-results.md.

    .venv/bin/python benchmarks/queue_ab.py --policy fifo --jobs 200000
    .venv/bin/python benchmarks/queue_ab.py --policy fifo --jobs 100000 --mtbf 2h
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from sim.policies.base import JobQueue

ROOT = Path(__file__).resolve().parent.parent


class DictMerge(JobQueue):
    """The engine's queue with a plain dict for arrivals (the queue of 2c70c5e)."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__()
        self.arrived = {}


class SortedQueue:
    """One sorted list of every queued job."""

    __slots__ = ("_jobs",)

    def __init__(self) -> None:
        from sortedcontainers import SortedList

        self._jobs = SortedList()

    def __iter__(self) -> Iterator[int]:
        return iter(self._jobs)

    def __len__(self) -> int:
        return len(self._jobs)

    def __bool__(self) -> bool:
        return bool(self._jobs)

    def add(self, job: int) -> None:
        self._jobs.add(job)

    def remove(self, job: int) -> None:
        self._jobs.remove(job)

    def head(self) -> int:
        return self._jobs[0]


def child(variant: str, policy: str, n: int, offered: float, mtbf: str | None) -> dict:
    import policies  # benchmarks/policies.py: the workload

    import sim.engine.coordinator
    from sim import run
    from sim.scenario import loader

    sim.engine.coordinator.JobQueue = {"dict": DictMerge, "odict": JobQueue, "sorted": SortedQueue}[variant]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(policies.scenario_yaml(n, policy, offered) + (f"failures: {{mtbf_instance: {mtbf}}}\n"
                                                                        if mtbf else ""))
        loaded = loader.load(path, [])
        t0 = time.process_time()
        summary = run.simulate(loaded).summary
    return {"cpu_s": time.process_time() - t0, "avg_wait_s": summary["avg_wait_s"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--policy", default="fifo")
    ap.add_argument("--jobs", type=int, default=200_000)
    ap.add_argument("--load", type=float, default=1.5)
    ap.add_argument("--mtbf", default=None, help="instance MTBF, e.g. 2h (default: no failures)")
    ap.add_argument("--variants", default="dict,odict,sorted")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.policy, args.jobs, args.load, args.mtbf)))
        return
    for variant in args.variants.split(","):
        cmd = [sys.executable, __file__, "--child", variant, "--policy", args.policy, "--jobs", str(args.jobs),
               "--load", str(args.load), *(["--mtbf", args.mtbf] if args.mtbf else [])]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{variant:7s} {args.policy} {args.jobs:,} jobs load {args.load} mtbf {args.mtbf}: "
              f"{r['cpu_s']:.2f} CPU s (mean wait {r['avg_wait_s'] / 3600:,.1f} h)", flush=True)


if __name__ == "__main__":
    main()
