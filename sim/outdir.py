"""Output directories: refused when non-empty without --force, and filled atomically.

Everything is written into a temporary sibling directory, which is renamed into place only
when complete, so a failed or interrupted command never leaves half-written results. A
temporary name carries the writer's process id (`.NAME.trnsim-PID-XXXX`): one left by a
process that was killed outright (SIGKILL, a power cut) is removed by the next command that
writes into the same parent. SIGTERM is turned into a clean exit while a directory is written.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from sim.errors import InputError, Problem

_TEMP = re.compile(r"\..*\.trnsim-(\d+)-\w+")


def temp_prefix(name: str) -> str:
    """The prefix of a temporary sibling of `name` written by this process."""
    return f".{name}.trnsim-{os.getpid()}-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def clean_stale(parent: Path) -> None:
    """Remove the temporary siblings that processes which no longer run left in `parent`."""
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    for entry in entries:
        m = _TEMP.fullmatch(entry.name)
        if m is None or _alive(int(m.group(1))):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)


def _writable_ancestor(out: Path, flag: str) -> None:
    """The nearest existing ancestor of `out` must be a directory this process can write in."""
    for parent in Path(os.path.abspath(out)).parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise InputError(Problem(f"{flag} {out}: {parent} is not a directory"))
            if not os.access(parent, os.W_OK | os.X_OK):
                raise InputError(Problem(f"{flag} {out}: cannot write in {parent}"))
            return


def check_out(out: Path, force: bool, *, flag: str = "--out", keep: Iterable[Path] = ()) -> None:
    """Refuse an --out that cannot or must not be written: non-empty without --force, a symbolic
    link, a device, `/`, the home or current directory or one holding them, one holding a
    file in `keep` (the scenario), or one in a directory this process cannot write in."""
    out = Path(out)
    if out.is_symlink():
        raise InputError(Problem(f"{flag} {out}: is a symbolic link (to {os.readlink(out)}); give the directory "
                                 "itself (--force never replaces what a link points to)"))
    if out.exists():
        mode = out.stat().st_mode
        if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
            raise InputError(Problem(f"{flag} {out}: is neither a directory nor a regular file (a device, pipe "
                                     "or socket is never replaced)"))
        if stat.S_ISREG(mode) and not force:
            raise InputError(Problem(f"{flag} {out}: exists and is a file (use --force to replace it)"))
        if stat.S_ISDIR(mode) and any(out.iterdir()):
            if not force:
                raise InputError(Problem(f"{flag} {out}: directory is not empty (use --force to replace it)"))
            _refuse_precious(out, flag, keep)
    _writable_ancestor(out, flag)


def _refuse_precious(out: Path, flag: str, keep: Iterable[Path]) -> None:
    real = out.resolve()
    precious = [Path("/"), Path.home().resolve(), Path.cwd().resolve()]
    for p in precious:
        if real == p or real in p.parents:
            raise InputError(Problem(f"{flag} {out}: --force would delete {p} (or the directory you are in)"))
    for p in keep:
        if real in Path(p).resolve().parents:
            raise InputError(Problem(f"{flag} {out}: --force would delete {p}, which it holds"))


_held: list[int] = []  # while non-empty, SIGTERM waits: the signals that came meanwhile are appended


@contextlib.contextmanager
def _sigterm_exits() -> Iterator[None]:
    """While a directory is written, SIGTERM exits through the cleanup below (status 143)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        if _held:
            _held.append(signum)  # `_let_sigterm` exits with it, once the cleanup is in place
            return
        sys.exit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _hold_sigterm() -> None:
    """SIGTERM waits (the handler of `_sigterm_exits` notes it) until `_let_sigterm`. Python runs
    signal handlers in the main thread whichever thread the signal reached, so this holds it for
    the whole process, unlike a thread's signal mask. (Only the main thread's directories hold it:
    `_sigterm_exits` handles SIGTERM only for them.)"""
    if threading.current_thread() is threading.main_thread():
        _held.append(0)


def _let_sigterm() -> None:
    """SIGTERM exits again; one that came while it was held exits now."""
    if threading.current_thread() is not threading.main_thread():
        return
    came = _held[1:]
    _held.clear()
    if came:
        sys.exit(128 + came[0])


@contextlib.contextmanager
def atomic_dir(out: Path, *, force: bool = False, keep: Iterable[Path] = ()) -> Iterator[Path]:
    """Yield a temporary sibling of `out` to fill; on success it replaces `out`, else it is removed."""
    out = Path(out)
    check_out(out, force, keep=keep)
    out.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(out.parent)
    with _sigterm_exits():
        _hold_sigterm()  # until the cleanup below is in place: a SIGTERM waits for it
        try:
            tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(out.name), dir=out.parent))
        except BaseException:
            _let_sigterm()
            raise
        try:
            _let_sigterm()  # (one that came meanwhile exits from here, through the cleanup)
            yield tmp
            os.chmod(tmp, 0o755)
            if out.exists():
                trash = Path(tempfile.mkdtemp(prefix=temp_prefix(f"{out.name}.old"), dir=out.parent))
                out.rename(trash / "old")
                tmp.rename(out)
                shutil.rmtree(trash, ignore_errors=True)
            else:
                tmp.rename(out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
