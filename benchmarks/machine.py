"""What machine a benchmark ran on, for its results file (shared by the benchmark scripts)."""

from __future__ import annotations

import importlib
import io
import os
import platform
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
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


@contextmanager
def source_tree(rev: str | None) -> Iterator[Path]:
    """The repository at git revision `rev`, extracted into a temporary directory (`git archive`),
    or the working tree itself when `rev` is None: run its code with `python_env(tree)`."""
    if rev is None:
        yield ROOT
        return
    archive = subprocess.run(["git", "archive", rev], capture_output=True, check=True, cwd=ROOT).stdout
    with tempfile.TemporaryDirectory(prefix=f"trnsim-{rev}-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        yield Path(tmp)


def python_env(tree: Path) -> dict[str, str]:
    """The environment that makes `python -m sim` (and `import sim`) load the code of `tree`."""
    return {**os.environ, "PYTHONPATH": str(tree)}


def publish(lines: list[str], out: str) -> None:
    """Print a results file's lines and write them to `out` (unless it is '-')."""
    text = "\n".join(lines) + "\n"
    print(text)
    if out != "-":
        Path(out).write_text(text)
