"""How a policy is found (docs/policies.md), each way through the CLI: built-ins by registration
alone, installed plug-ins by the `trnsim.policies` entry-point group, local ones by `module:Class`.

One 16-chip instance; a holds it for 10 h while b, c, d queue behind it. Newest-first (the
policy every test here adds) starts d at 10 h (16 chips, to 12 h), then c (the newest of b, c)
and b together; fifo would start b and c at 10 h and d at 15 h.
"""

from __future__ import annotations

import ast
import os
import re
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, Run, run_cli, write_scenario
from test_policies import QUEUE_BEHIND_A, one_instance, starts

H = 3600.0
NEWEST_FIRST = {"a": 0.0, "d": 10 * H, "c": 12 * H, "b": 12 * H}

POLICY_MODULE = textwrap.dedent('''\
    from sim.policies.base import Policy, Start, register


    @register
    class NewestFirst(Policy):
        """Last come, first served (one pool)."""

        name = "{name}"

        def schedule(self, view):
            for job in reversed(list(view.queued())):
                if not view.can_place(job, 0):
                    return
                yield Start(job, 0)


    class NotAPolicy:
        pass
''')


def registered_in_source() -> set[str]:
    """The `name` of every class decorated with @register in sim/policies/*.py, read from the source."""
    found = set()
    for path in (ROOT / "sim" / "policies").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and any(getattr(d, "id", None) == "register" for d in node.decorator_list):
                for stmt in node.body:
                    if isinstance(stmt, ast.Assign) and getattr(stmt.targets[0], "id", None) == "name":
                        found.add(stmt.value.value)
    return found


def test_every_builtin_registers_itself_and_the_cli_lists_them_all(tmp_path):
    builtins = registered_in_source()
    assert {"fifo", "las", "priority", "fair_share", "elastic"} <= builtins
    path = write_scenario(tmp_path, one_instance("fifo", QUEUE_BEHIND_A))
    proc = run_cli("compare", path, "--policies", "fifo,fifoo", "--out", tmp_path / "out")
    assert proc.returncode == 2
    known = re.search(r"\(known: (.*)\)", proc.stderr).group(1).split(", ")
    assert known == sorted(builtins)


def test_a_module_added_to_sim_policies_is_found_without_editing_a_list(tmp_path):
    """A new file in the package registers by itself: here the package's search path gains a folder
    holding newest.py (the source tree stays untouched), and the CLI runs its policy."""
    extra = tmp_path / "more_policies"
    extra.mkdir()
    (extra / "newest.py").write_text(POLICY_MODULE.format(name="newest_first_builtin"))
    path = write_scenario(tmp_path, one_instance("newest_first_builtin", QUEUE_BEHIND_A))
    code = (f"import sys, sim.policies\nsim.policies.__path__.append({str(extra)!r})\n"
            "from sim.cli import main\nmain(sys.argv[1:])\n")
    import subprocess

    proc = subprocess.run([sys.executable, "-c", code, "run", str(path), "--out", str(tmp_path / "out"), "--quiet"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert starts(Run(tmp_path / "out")) == NEWEST_FIRST


def plugin_site(tmp_path: Path) -> dict[str, str]:
    """An installed plug-in distribution (a dist-info with entry points) on PYTHONPATH: `newest`
    loads, `broken` names a module that is not there, `notpolicy` names a class that is no policy."""
    site = tmp_path / "site"
    (site / "trnsim_plugpol-1.0.dist-info").mkdir(parents=True)
    (site / "plugpol.py").write_text(POLICY_MODULE.format(name="newest_plugin_class"))
    info = site / "trnsim_plugpol-1.0.dist-info"
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: trnsim-plugpol\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[trnsim.policies]\nnewest = plugpol:NewestFirst\n"
                                           "broken = plugpol_missing:NewestFirst\nnotpolicy = plugpol:NotAPolicy\n")
    return {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}


def test_an_installed_plugin_policy_runs_by_its_entry_point_name(tmp_path):
    env = plugin_site(tmp_path)
    path = write_scenario(tmp_path, one_instance("newest", QUEUE_BEHIND_A))
    run_cli("run", path, "--out", tmp_path / "out", "--quiet", env=env, check=True)
    assert starts(Run(tmp_path / "out")) == NEWEST_FIRST
    proc = run_cli("compare", path, "--policies", "fifo,fifoo", "--out", tmp_path / "cmp", env=env)
    assert "broken" in proc.stderr and "newest" in proc.stderr  # listed with the built-ins
    assert proc.returncode == 2


@pytest.mark.parametrize(("policy", "message"), [
    ("broken", "plug-in policy 'broken' (plugpol_missing:NewestFirst, entry point of trnsim-plugpol) cannot be "
               "loaded: ModuleNotFoundError: No module named 'plugpol_missing'"),
    ("notpolicy", "plug-in policy 'notpolicy' (plugpol:NotAPolicy, entry point of trnsim-plugpol) is not a policy "
                  "(a subclass of sim.policies.base.Policy)"),
])
def test_a_plugin_that_cannot_be_used_is_bad_input_at_its_line(tmp_path, policy, message):
    env = plugin_site(tmp_path)
    path = write_scenario(tmp_path, one_instance(policy, QUEUE_BEHIND_A))
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if text.startswith("  policy:"))
    proc = run_cli("run", path, "--out", tmp_path / "out", "--quiet", env=env)
    assert proc.returncode == 2
    assert proc.stderr == f"{path}:{line}:3: scheduler.policy: {message}\n"
    assert not (tmp_path / "out").exists()


def test_a_local_policy_by_module_and_class_beside_the_scenario(tmp_path):
    (tmp_path / "mypolicies.py").write_text(POLICY_MODULE.format(name="newest_local"))
    path = write_scenario(tmp_path, one_instance("mypolicies:NewestFirst", QUEUE_BEHIND_A))
    run_cli("run", path, "--out", tmp_path / "out", "--quiet", check=True)
    assert starts(Run(tmp_path / "out")) == NEWEST_FIRST


@pytest.mark.parametrize(("policy", "message"), [
    ("nosuchmodule:NewestFirst", "unknown policy 'nosuchmodule:NewestFirst': cannot import 'nosuchmodule' (from {dir} "
                                 "or the import path): ModuleNotFoundError: No module named 'nosuchmodule'"),
    ("mypolicies:Missing", "unknown policy 'mypolicies:Missing': module 'mypolicies' ({dir}/mypolicies.py) has no "
                           "'Missing'"),
    ("mypolicies:NotAPolicy", "unknown policy 'mypolicies:NotAPolicy': NotAPolicy is not a policy (a subclass of "
                              "sim.policies.base.Policy)"),
])
def test_a_local_policy_that_cannot_be_used_is_bad_input_at_its_line(tmp_path, policy, message):
    (tmp_path / "mypolicies.py").write_text(POLICY_MODULE.format(name="newest_local"))
    path = write_scenario(tmp_path, one_instance(policy, QUEUE_BEHIND_A))
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if text.startswith("  policy:"))
    proc = run_cli("run", path, "--out", tmp_path / "out", "--quiet")
    assert proc.returncode == 2
    assert proc.stderr == f"{path}:{line}:3: scheduler.policy: {message.format(dir=tmp_path)}\n"


VIEW_LOGGER = textwrap.dedent('''\
    import json
    import os

    from sim.policies.priority import StrictPriority


    class Logged(StrictPriority):
        """Strict priority, writing what the view says of every job at each pass."""

        def schedule(self, view):
            with open(os.environ["VIEW_LOG"], "a") as f:
                for job in range(len(view.jobs.submit)):
                    f.write(json.dumps([view.now, job, view.attained(job), view.last_start(job),
                                        view.restarts(job), view.preemptions(job)]) + "\\n")
            yield from super().schedule(view)
''')


def test_the_view_tells_attained_service_last_start_restarts_and_preemptions(tmp_path):
    """a (8 chips) runs from 0; b (16 chips, priority 1) preempts it at 2 h and runs to 3 h; a
    restarts at 3 h; c queues at 5 h. The view reports the engine's own accounts at each pass."""
    (tmp_path / "logged.py").write_text(VIEW_LOGGER)
    jobs = [{"id": "a", "submit": "0s", "chips": 8, "duration": "10h"},
            {"id": "b", "submit": "2h", "chips": 16, "duration": "1h", "priority": 1},
            {"id": "c", "submit": "5h", "chips": 16, "duration": "1h"}]
    path = write_scenario(tmp_path, one_instance("logged:Logged", jobs))
    log = tmp_path / "view.jsonl"
    run_cli("run", path, "--out", tmp_path / "out", "--quiet", env={"VIEW_LOG": str(log)}, check=True)
    import json
    import math

    seen = {(t, j): (att, math.isnan(last) and "never" or last, r, p)
            for t, j, att, last, r, p in (json.loads(line) for line in log.read_text().splitlines())}
    assert seen[(0.0, 0)] == (0.0, "never", 0, 0)  # a queued, before its start
    assert seen[(2 * H, 0)] == (8 * 2 * H, 0.0, 0, 0)  # a has run 2 h on 8 chips
    assert seen[(3 * H, 0)] == (8 * 2 * H, 0.0, 0, 1)  # preempted at 2 h: queued, attained kept
    assert seen[(5 * H, 0)] == (8 * 4 * H, 3 * H, 1, 1)  # restarted at 3 h: 2 h more on 8 chips
    assert seen[(5 * H, 1)] == (16 * H, 2 * H, 0, 0)  # b ran 2-3 h on 16 chips, ended
    assert seen[(5 * H, 2)] == (0.0, "never", 0, 0)
