"""The engine's core contracts: the pass runs after every other event at its timestamp, and the
pool clocks (virtual time) re-time completions when a pool's speed changes."""

from __future__ import annotations

import sys

import pytest
from conftest import ROOT, simulate_in_process

from sim import run as simulation
from sim.engine import Engine
from sim.engine.events import EventCore

H = 3600.0


def one_instance(jobs: list[dict], policy: str = "priority") -> dict:
    return {"name": "core", "seed": 1,
            "cluster": {"pools": [{"name": "trn2", "instance": "trn2.48xlarge", "count": 1}]},
            "workload": [{"name": "w", "jobs": jobs}], "scheduler": {"policy": policy}}


# A low-priority job holds the only instance until exactly 1 h; a high-priority job arrives at
# exactly 1 h. The pass must see the completion first: the high job then starts on the free
# instance and nobody is preempted. A pass run before the completion would preempt the low job
# at the very moment it finishes (it would lose its hour of work: no checkpoints).
TIE = [{"id": "low", "submit": "0s", "chips": 16, "duration": "1h", "priority": 0},
       {"id": "high", "submit": "1h", "chips": 16, "duration": "1h", "priority": 1}]


def test_the_pass_runs_after_every_other_event_at_its_time():
    result = simulate_in_process(one_instance(TIE))
    o = result.outcome
    assert sum(o.preemptions) == 0
    assert o.end[0] == pytest.approx(H) and o.start[1] == pytest.approx(H) and o.end[1] == pytest.approx(2 * H)


def test_the_hand_worked_case_fails_when_the_pass_runs_first(monkeypatch):
    """The control: the same case with the pass run at once on every trigger preempts `low`."""
    monkeypatch.setattr(EventCore, "request_pass", lambda self: self._pass(None))
    o = simulate_in_process(one_instance(TIE)).outcome
    assert sum(o.preemptions) == 1


def with_clocks(monkeypatch, speeds: list[tuple[float, float]] | None = None) -> None:
    """Run every pool on a variable clock; `speeds` are (time, speed factor) changes of pool 0."""

    class Clocked(Engine):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, variable_speed=range(len(args[1])), **kwargs)
            for t, f in speeds or ():
                self.core.at(t, lambda ev, f=f: self.ledger.set_speed(0, f), None)

    monkeypatch.setattr(simulation, "Engine", Clocked)


def test_a_speed_change_re_times_every_running_job(monkeypatch):
    # two jobs from 0 on one instance (8 + 8 chips), 2 h and 4 h of work; at 1 h the pool slows to
    # 0.5, at 5 h it is back at full speed. Job a: 1 h done at 1 h, 1 h left at half speed -> 3 h.
    # Job b: 1 h done at 1 h, 4 h x 0.5 = 2 h more by 5 h, 1 h left at full speed -> 6 h.
    with_clocks(monkeypatch, [(H, 0.5), (5 * H, 1.0)])
    jobs = [{"id": "a", "chips": 8, "duration": "2h"}, {"id": "b", "chips": 8, "duration": "4h"}]
    o = simulate_in_process(one_instance(jobs, "fifo")).outcome
    assert o.end[0] == pytest.approx(3 * H)
    assert o.end[1] == pytest.approx(6 * H)


def test_preemption_on_a_slowed_pool_keeps_the_work_of_the_slow_stretch(monkeypatch):
    # low runs at half speed from 0, writing a checkpoint (C = 60 s) after every 30 min of work;
    # high preempts it at 90 min of real time = 45 min (2,700 s) of its virtual time, so low kept
    # one cycle (1,800 + 60 s) and lost 840 s of virtual time = 1,680 s of real time
    with_clocks(monkeypatch, [(0.0, 0.5)])
    jobs = [{"id": "low", "chips": 16, "duration": "2h", "checkpoint_interval": "30m"},
            {"id": "high", "submit": "90m", "chips": 16, "duration": "1h", "priority": 1}]
    result = simulate_in_process(one_instance(jobs))
    o = result.outcome
    rows = o.stretches()
    assert o.preemptions[0] == 1
    assert rows["lost_s"][0] == pytest.approx(2 * (2700 - 1860))  # real seconds of lost work


@pytest.mark.parametrize("name", ["quickstart.yaml", "policies-compare.yaml", "teaching/05-checkpoints.yaml"])
def test_variable_clocks_at_full_speed_give_the_same_schedule(monkeypatch, name):
    from conftest import SCENARIOS

    from sim.run import simulate
    from sim.scenario.loader import load

    loaded = load(SCENARIOS / name, [], ci=name != "quickstart.yaml")
    fixed = simulate(loaded).outcome
    with_clocks(monkeypatch)
    variable = simulate(loaded).outcome
    assert variable.start == fixed.start and variable.end == fixed.end and variable.state == fixed.state
    assert variable.restarts == fixed.restarts and variable.earlier == fixed.earlier


def test_a_speed_change_touches_one_event_not_every_running_job():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from pool_clock import ledger_with

    ledger = ledger_with(5000)
    clock = ledger.clocks[0]
    ends_before = list(clock.ends)
    events_before = len(ledger.core._queue)
    ledger.set_speed(0, 0.25)
    assert clock.ends == ends_before  # the jobs' virtual ends are untouched
    assert len(ledger.core._queue) == events_before + 1  # one re-timed event for the pool
    # the pool's earliest job (1 day of work from 0) now ends after 4 days of real time
    # the pool's earliest job (1 day of work from 0) now ends after 4 days of real time
    newest = max(ledger.core._queue, key=lambda e: e[2])  # the event pushed last (highest event id)
    assert newest[0] == pytest.approx(4 * 86400.0)
