"""Output directories: refused when non-empty without --force, and filled atomically.

Everything is written into a temporary sibling directory, which is renamed into place only
when complete, so a failed or interrupted command never leaves half-written results.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sim.errors import InputError, Problem


def check_out(out: Path, force: bool, *, flag: str = "--out") -> None:
    """An existing non-empty output directory is bad input unless --force."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(Problem(f"{flag} {out}: exists and is not a directory"))
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(Problem(f"{flag} {out}: directory is not empty (use --force to replace it)"))


@contextlib.contextmanager
def atomic_dir(out: Path, *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of `out` to fill; on success it replaces `out`, else it is removed."""
    out = Path(out)
    check_out(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o755)
        if out.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            out.rename(trash / "old")
            tmp.rename(out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
