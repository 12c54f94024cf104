"""A real browser opens report.html and compare.html: title, plots present, pixels drawn.

Headless Chromium from Debian's packages (`.ci/chromium.sh` installs it as root). Without it
the tests skip, except under CI (`CI` set, as `.ci/run` does), where they fail.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import SCENARIOS, run_cli

from sim.report import browser

SMALL = ("--set", "workload.0.generator.count=300")


@pytest.fixture(scope="module")
def chromium() -> str:
    exe = browser.find()
    if exe is None:
        message = ("chromium is not installed: run `bash .ci/chromium.sh` as root (it apt-get installs Debian's "
                   "chromium), or see the README's test command")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return exe


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("browser")
    run_cli("run", SCENARIOS / "quickstart.yaml", "--out", d / "run", "--quiet", *SMALL, check=True)
    run_cli("compare", SCENARIOS / "quickstart.yaml", "--policies", "fifo,sjf,easy_backfill", "--out", d / "cmp",
            "--quiet", "--seeds", "2", *SMALL, check=True)
    return {"dir": d, "report": d / "run" / "report.html", "compare": d / "cmp" / "compare.html"}


def _pixels(png: Path) -> np.ndarray:
    import matplotlib.image

    return matplotlib.image.imread(png)[..., :3]


def _check_screenshot(png: Path, width: int, height: int) -> None:
    rgb = _pixels(png)
    assert rgb.shape[:2] == (height, width), rgb.shape
    not_white = np.mean(np.any(rgb < 0.94, axis=2))
    colourful = np.mean(rgb.max(axis=2) - rgb.min(axis=2) > 0.25)  # plot fills and lines, not text
    assert not_white > 0.05, f"{png.name}: only {not_white:.1%} of the pixels are not white"
    assert colourful > 0.004, f"{png.name}: only {colourful:.2%} of the pixels are coloured: no plots drawn?"


@pytest.mark.parametrize("page, title, figures", [
    ("report", "trnsim run: quickstart", 8),
    ("compare", "trnsim compare: fifo vs sjf vs easy_backfill", 4),
])
def test_chromium_renders_the_page(chromium, pages, page, title, figures):
    dom = browser.dom(pages[page])
    assert f"<title>{title}</title>" in dom
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', dom)
    assert len(images) == figures, f"{len(images)} embedded figures, expected {figures}"
    assert all(len(i) > 10_000 for i in images), "every figure is a real picture"
    png = pages["dir"] / f"{page}.png"
    browser.screenshot(pages[page], png, width=1200, height=1600)
    _check_screenshot(png, 1200, 1600)


def test_a_blank_page_fails_the_pixel_check(chromium, tmp_path):
    """The check can fail: an empty page is white."""
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><title>blank</title><p>nothing</p>")
    png = browser.screenshot(blank, tmp_path / "blank.png", width=400, height=300)
    with pytest.raises(AssertionError):
        _check_screenshot(png, 400, 300)


def test_the_install_script_does_nothing_when_chromium_is_there():
    """`.ci/chromium.sh` runs apt-get only as root and only when /usr/bin/chromium is absent."""
    import subprocess

    from conftest import ROOT

    script = (ROOT / ".ci" / "chromium.sh").read_text()
    assert "apt_get update -q && apt_get install -y -q --no-install-recommends chromium" in script
    assert 'apt-get -o DPkg::Lock::Timeout=60 "$@"' in script  # apt_get: apt-get, waiting for the lock
    assert 'chromium=${TRNSIM_CHROMIUM:-/usr/bin/chromium}' in script and '[ -x "$chromium" ]' in script
    assert 'uid=${TRNSIM_UID:-$(id -u)}' in script and '"$uid" -ne 0' in script
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("/usr/bin/chromium is absent: running the script would install it")
    proc = subprocess.run(["bash", str(ROOT / ".ci" / "chromium.sh")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == "", proc


def test_the_compare_page_shows_every_curve_and_the_accounting(chromium, pages):
    """The screenshot of the comparison: each policy's colour is on screen (a curve identical to
    another is dashed on top of it, not hidden), and the page holds the count partition, the
    queue-length overlay and the significance note of a two-seed comparison."""
    from sim.report.comparison import COLOURS

    dom = browser.dom(pages["compare"])
    for text in ("queue length over time, overlaid", "waiting to restart", "running at the horizon",
                 "Jain fairness index", "not significant", "mean of the seeds still running"):
        assert text in dom, text
    png = pages["dir"] / "compare-top.png"
    browser.screenshot(pages["compare"], png, width=1100, height=1300)
    _check_screenshot(png, 1100, 1300)
    rgb = _pixels(png)
    for colour in COLOURS[:3]:
        want = np.array([int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
        near = np.all(np.abs(rgb - want) < 0.08, axis=2)
        assert near.sum() > 200, f"{colour}: {near.sum()} pixels: a curve is missing from the figures"
