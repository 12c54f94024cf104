"""What machine a benchmark ran on, for its results file (shared by the benchmark scripts)."""

from __future__ import annotations

import importlib
import os
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def describe(*packages: str) -> dict[str, str]:
    """CPU model, core count, memory, Python and the given packages' versions, git commit."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        mem = f"{int(Path('/proc/meminfo').read_text().split()[1]) / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    try:
        commit = subprocess.run(["git", "describe", "--always", "--dirty"], capture_output=True, text=True,
                                cwd=ROOT).stdout.strip() or "unknown"
    except OSError:
        commit = "unknown"
    info = {"nproc": str(len(os.sched_getaffinity(0))), "cpu": cpu, "memory": mem,
            "python": platform.python_version(), "commit": commit}
    for name in packages:
        info[name] = importlib.import_module(name).__version__
    return info
