"""Headless Chromium: screenshots of reports, for the browser test and the README's gallery.

Chromium comes from Debian's packages (`.ci/chromium.sh` installs it). The flags keep it from
reaching the network or needing a display, a sandbox or a GPU, and every call gets a fresh,
empty profile so runs do not share state.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars")
CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser")


def find() -> str | None:
    """The chromium executable, or None when it is not installed."""
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(page: Path, extra: list[str], timeout: float) -> subprocess.CompletedProcess:
    exe = find()
    if exe is None:
        raise FileNotFoundError("chromium is not installed (run .ci/chromium.sh as root)")
    with tempfile.TemporaryDirectory(prefix="trnsim-chromium-") as profile:
        return subprocess.run([exe, *FLAGS, f"--user-data-dir={profile}", *extra, Path(page).resolve().as_uri()],
                              capture_output=True, text=True, timeout=timeout, check=True)


def screenshot(page: Path, png: Path, *, width: int = 1200, height: int = 1600, timeout: float = 120) -> Path:
    """Render `page` (a local HTML file) at width x height CSS pixels into `png`."""
    _run(page, [f"--window-size={width},{height}", f"--screenshot={Path(png).resolve()}"], timeout)
    if not Path(png).is_file():
        raise RuntimeError(f"chromium wrote no screenshot of {page}")
    return Path(png)


def dom(page: Path, *, timeout: float = 120) -> str:
    """The page's DOM after it loaded, serialised as HTML."""
    return _run(page, ["--dump-dom"], timeout).stdout
