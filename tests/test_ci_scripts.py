""".ci/chromium.sh waits for the package lock another install holds, instead of failing."""

from __future__ import annotations

import os
import subprocess

from conftest import ROOT

FAKE_APT = """#!/usr/bin/env bash
# A stand-in for apt-get: the lock is held for the first {busy} calls.
n=$(cat "{count}" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "{count}"
echo "$*" >> "{calls}"
if [ "$n" -le {busy} ]; then
  echo "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)" >&2
  exit 100
fi
exit 0
"""


def _run(tmp_path, busy: int, wait: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    apt = bin_dir / "apt-get"
    apt.write_text(FAKE_APT.format(busy=busy, count=tmp_path / "count", calls=tmp_path / "calls"))
    apt.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "TRNSIM_CHROMIUM": str(tmp_path / "none"),
           "TRNSIM_UID": "0", "TRNSIM_APT_LOCK_WAIT": wait, "TRNSIM_APT_LOCK_POLL": "0.05"}
    proc = subprocess.run(["bash", str(ROOT / ".ci" / "chromium.sh")], capture_output=True, text=True, env=env,
                          timeout=60)
    calls = (tmp_path / "calls").read_text().splitlines() if (tmp_path / "calls").exists() else []
    return proc, calls


def test_chromium_script_waits_for_the_lock_then_installs(tmp_path):
    proc, calls = _run(tmp_path, busy=3, wait="30")
    assert proc.returncode == 0
    assert [c.split()[-1] for c in calls] == ["-q"] * 4 + ["chromium"], calls
    assert "waiting for it" in proc.stderr and "could not install" not in proc.stderr
    assert calls[0].startswith("-o DPkg::Lock::Timeout=60 update")


def test_chromium_script_gives_up_after_the_wait_and_still_exits_0(tmp_path):
    proc, calls = _run(tmp_path, busy=10_000, wait="1")
    assert proc.returncode == 0
    assert "apt-get could not install chromium" in proc.stderr and "Could not get lock" in proc.stderr
    assert all(" update " in f" {c} " for c in calls), "it never got past the update"


def test_chromium_script_installs_nothing_unless_root(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    apt = bin_dir / "apt-get"
    apt.write_text(f"#!/usr/bin/env bash\ntouch {tmp_path / 'called'}\n")
    apt.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "TRNSIM_CHROMIUM": str(tmp_path / "none"),
           "TRNSIM_UID": "1000"}
    proc = subprocess.run(["bash", str(ROOT / ".ci" / "chromium.sh")], capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 0 and "this is not root: not installing it" in proc.stderr
    assert not (tmp_path / "called").exists()
