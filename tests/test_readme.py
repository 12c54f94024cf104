"""The README's commands and examples are the ones the project really uses."""

from __future__ import annotations

import re

import yaml
from conftest import ROOT, SCENARIOS


def _readme() -> str:
    return (ROOT / "README.md").read_text()


def test_ci_runs_the_readme_test_command():
    readme = _readme()
    ci = (ROOT / ".ci" / "run").read_text()
    test_line = next(line for line in readme.splitlines()
                     if "'.[dev]'" in line and "pytest" in line and not line.startswith(("#", "`")))
    command = test_line.replace("python3", "$PYTHON")
    assert command in ci, f"README test command {test_line!r} is not what .ci/run runs"
    assert test_line.startswith("bash .ci/chromium.sh && python3 -m venv"), "the browser test needs chromium"


def test_readme_run_command_runs_the_quickstart():
    readme = _readme()
    assert "&& .venv/bin/trnsim run scenarios/quickstart.yaml" in readme


def test_readme_quickstart_block_is_the_bundled_scenario():
    block = re.search(r"```yaml\n(name: quickstart\n.*?)```", _readme(), re.S)
    assert block, "README shows the quickstart scenario"
    assert yaml.safe_load(block.group(1)) == yaml.safe_load((SCENARIOS / "quickstart.yaml").read_text())


def test_makefile_targets_match_the_readme():
    makefile = (ROOT / "Makefile").read_text()
    assert "trnsim run scenarios/quickstart.yaml" in makefile
    assert "pip install -q -e '.[dev]'" in makefile and "pytest" in makefile


def test_readme_quickstart_figures_are_what_the_run_prints(tmp_path):
    from conftest import run_cli

    proc = run_cli("run", SCENARIOS / "quickstart.yaml", "--out", tmp_path / "qs", check=True)
    readme = _readme()
    for label in ("utilisation", "mean wait", "p95 wait", "cost", "energy (MWh)"):
        printed = next(line for line in proc.stdout.splitlines() if line.startswith(f"│ {label} "))
        assert printed in readme, f"README's quickstart output is stale: {printed!r}"


def _docs() -> dict[str, str]:
    return {f"docs/{p.name}": p.read_text() for p in sorted((ROOT / "docs").glob("*.md"))}


def test_readme_figures_exist_and_the_gallery_names_their_commands():
    """Every figure the README and docs/ show is in plots/, and plots/README.md (written by `make gallery`)
    lists each figure in plots/ with the command that made it."""
    readme = _readme()
    shown = re.findall(r"!\[[^\]]*\]\((plots/[^)]+)\)", readme)
    assert shown == ["plots/quickstart-utilisation.png"], "the README shows one picture"
    reports = _docs()["docs/reports.md"]
    in_docs = [p.removeprefix("../") for text in _docs().values()
               for p in re.findall(r"!\[[^\]]*\]\((\.\./plots/[^)]+)\)", text)]
    shown_reports = re.findall(r"!\[[^\]]*\]\(\.\./(plots/[^)]+)\)", reports)
    assert "plots/quickstart-report-screenshot.png" in shown_reports, "docs/reports.md shows a screenshot of a report"
    assert "plots/compare-policies-utilisation.png" in shown_reports, "and the compare plot of three policies"
    for path in shown + in_docs:
        assert (ROOT / path).is_file(), path
    gallery = (ROOT / "plots" / "README.md").read_text()
    for png in sorted((ROOT / "plots").glob("*.png")):
        row = next((line for line in gallery.splitlines() if line.startswith(f"| [{png.name}]")), None)
        assert row is not None, f"plots/README.md does not list {png.name}: run `make gallery`"
        assert "trnsim " in row or "Chromium" in row, row
    assert "make gallery" in readme and "gallery:" in (ROOT / "Makefile").read_text()


def test_readme_is_short_and_maps_every_docs_page():
    readme = _readme()
    assert len(readme.splitlines()) <= 250
    mapped = set(re.findall(r"\]\((docs/[^)#]+\.md)\)", readme))
    assert mapped == set(_docs()), "the README's map names every page in docs/ (and only those)"


def test_every_relative_link_in_the_docs_resolves():
    pages = {"README.md": _readme(), **_docs()}
    for name, text in pages.items():
        base = (ROOT / name).parent
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in target or target.startswith("mailto:"):
                continue
            assert (base / target).exists(), f"{name} links to {target}, which does not exist"
