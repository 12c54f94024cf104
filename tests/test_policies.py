"""Known-answer schedules for each policy, written down by hand, run through the CLI."""

from __future__ import annotations

import textwrap

import pytest
from conftest import run_cli, run_scenario, write_scenario
from hypothesis import given, settings
from hypothesis import strategies as st

H = 3600.0


def one_instance(policy: str, jobs: list[dict], **scheduler) -> dict:
    """One trn2.48xlarge (16 chips) and explicit jobs."""
    return {
        "name": f"known-{policy}",
        "seed": 1,
        "cluster": {"pools": [{"name": "trn2", "instance": "trn2.48xlarge", "count": 1}]},
        "workload": [{"jobs": jobs}],
        "scheduler": {"policy": policy, **scheduler},
    }


# a holds the whole instance for 10 h; b, c, d queue behind it.
QUEUE_BEHIND_A = [
    {"id": "a", "submit": "0s", "chips": 16, "duration": "10h"},
    {"id": "b", "submit": "1s", "chips": 8, "duration": "5h"},
    {"id": "c", "submit": "2s", "chips": 8, "duration": "1h"},
    {"id": "d", "submit": "3s", "chips": 16, "duration": "2h"},
]


def starts(run) -> dict[str, float]:
    return dict(zip(run.jobs["job_id"].to_pylist(), run.jobs["start_s"].to_pylist(), strict=True))


def test_fifo_starts_in_submission_order_and_the_head_blocks(tmp_path):
    run = run_scenario(tmp_path, one_instance("fifo", QUEUE_BEHIND_A))
    # a at 0; at 10 h b and c (8 + 8 chips) start together; d (16) waits for both: b ends at 15 h
    assert starts(run) == {"a": 0.0, "b": 10 * H, "c": 10 * H, "d": 15 * H}


def test_sjf_starts_the_shortest_request_first_and_the_head_blocks(tmp_path):
    run = run_scenario(tmp_path, one_instance("sjf", QUEUE_BEHIND_A))
    # at 10 h the order is c (1 h), d (2 h), b (5 h): c starts; d needs all 16 chips and blocks b;
    # c ends at 11 h, d runs 11-13 h, then b
    assert starts(run) == {"a": 0.0, "c": 10 * H, "d": 11 * H, "b": 13 * H}


def test_sjf_orders_by_requested_time_not_true_duration(tmp_path):
    jobs = [dict(j) for j in QUEUE_BEHIND_A]
    jobs[1]["requested"] = "30m"  # b claims to be the shortest
    run = run_scenario(tmp_path, one_instance("sjf", jobs))
    # at 10 h: b (0.5 h requested) then c (1 h) start together; d waits for b's true end at 15 h
    assert starts(run) == {"a": 0.0, "b": 10 * H, "c": 10 * H, "d": 15 * H}


def test_a_users_policy_by_import_path(tmp_path):
    module = tmp_path / "mypolicies.py"
    module.write_text(textwrap.dedent('''
        from sim.policies.base import Policy, Start

        class NewestFirst(Policy):
            """Last come, first served: a policy written outside trnsim."""
            name = "newest_first"

            def schedule(self, view):
                for job in reversed(list(view.queued())):
                    if not view.can_place(job, 0):
                        return
                    yield Start(job, 0)
    '''))
    path = write_scenario(tmp_path, one_instance("mypolicies:NewestFirst", QUEUE_BEHIND_A))
    out = tmp_path / "out"
    proc = run_cli("run", path, "--out", out, "--quiet", env={"PYTHONPATH": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    from conftest import Run

    # at 10 h the newest is d (16 chips): it runs 10-12 h; then c and b together at 12 h
    assert starts(Run(out)) == {"a": 0.0, "d": 10 * H, "c": 12 * H, "b": 12 * H}


@pytest.mark.parametrize("policy", ["mypolicies:Missing", "no_such_policy"])
def test_unknown_policy_is_bad_input(tmp_path, policy):
    path = write_scenario(tmp_path, one_instance(policy, QUEUE_BEHIND_A))
    proc = run_cli("run", path, "--out", tmp_path / "out", "--quiet")
    assert proc.returncode == 2
    assert "scheduler.policy: unknown policy" in proc.stderr
    assert not (tmp_path / "out").exists()


def instances(policy: str, count: int, jobs: list[dict], **scheduler) -> dict:
    scenario = one_instance(policy, jobs, **scheduler)
    scenario["cluster"]["pools"][0]["count"] = count
    return scenario


# a takes 12 of 16 chips for 10 h; b (the whole instance) must wait for it.
BACKFILL_HOLE = [
    {"id": "a", "submit": "0s", "chips": 12, "duration": "10h"},
    {"id": "b", "submit": "1s", "chips": 16, "duration": "2h"},
    {"id": "c", "submit": "2s", "chips": 4, "duration": "5h"},
    {"id": "d", "submit": "3s", "chips": 4, "duration": "20h"},
]


def test_fifo_leaves_the_hole_empty(tmp_path):
    run = run_scenario(tmp_path, one_instance("fifo", BACKFILL_HOLE))
    assert starts(run) == {"a": 0.0, "b": 10 * H, "c": 12 * H, "d": 12 * H}


def test_easy_backfills_a_job_that_ends_before_the_heads_reservation(tmp_path):
    run = run_scenario(tmp_path, one_instance("easy_backfill", BACKFILL_HOLE))
    # b's reservation is 10 h (a's end). c (4 chips, 5 h) fits the 4 free chips and ends at 5 h:
    # backfilled at 2 s. At 5 h d (20 h) would still hold 4 chips at 10 h, when b needs all 16:
    # not backfilled; d starts after b, at 12 h.
    assert starts(run) == {"a": 0.0, "b": 10 * H, "c": 2.0, "d": 12 * H}


def test_easy_backfills_a_long_job_that_leaves_room_for_the_head(tmp_path):
    jobs = [
        {"id": "a", "submit": "0s", "chips": 32, "duration": "10h"},  # instances 0 and 1
        {"id": "b", "submit": "1s", "chips": 32, "duration": "1h"},   # head: needs two whole instances
        {"id": "c", "submit": "2s", "chips": 16, "duration": "20h"},  # instance 2, long after 10 h
    ]
    run = run_scenario(tmp_path, instances("easy_backfill", 3, jobs))
    # at 10 h instances 0 and 1 are free again, so c on instance 2 does not delay b
    assert starts(run) == {"a": 0.0, "b": 10 * H, "c": 2.0}


def test_easy_trusts_requests_when_told_to(tmp_path):
    jobs = [dict(j) for j in BACKFILL_HOLE]
    jobs[2]["requested"] = "12h"  # c claims it would run past b's reservation
    run = run_scenario(tmp_path, one_instance("easy_backfill", jobs, estimate="trace"))
    assert starts(run)["c"] == 12 * H
    (tmp_path / "exact").mkdir()
    run = run_scenario(tmp_path / "exact", one_instance("easy_backfill", jobs, estimate="exact"))
    assert starts(run)["c"] == 2.0


def test_easy_after_an_estimate_overruns_the_head_may_start_any_moment(tmp_path):
    jobs = [
        {"id": "a", "submit": "0s", "chips": 12, "duration": "10h", "requested": "5h"},  # overruns
        {"id": "b", "submit": "1s", "chips": 16, "duration": "2h"},
        {"id": "c", "submit": "2s", "chips": 4, "duration": "1h"},
        {"id": "d", "submit": "6h", "chips": 4, "duration": "1h"},
    ]
    run = run_scenario(tmp_path, one_instance("easy_backfill", jobs, estimate="trace"))
    # by a's request b's reservation is 5 h, so c (ends 1 h after 2 s) is backfilled at once. At 6 h
    # a has overrun: b could start at any moment, so d (1 h) would delay it and waits for b.
    assert starts(run) == {"a": 0.0, "b": 10 * H, "c": 2.0, "d": 12 * H}


def _run_by_id(run, column: str) -> dict:
    return dict(zip(run.jobs["job_id"].to_pylist(), run.jobs[column].to_pylist(), strict=True))


def test_priority_preempts_and_the_victim_resumes_from_its_checkpoint(tmp_path):
    jobs = [
        {"id": "low", "submit": "0s", "chips": 16, "duration": "10h", "checkpoint_interval": "1h"},
        {"id": "high", "submit": "2h", "chips": 16, "duration": "1h", "priority": 10},
    ]
    run = run_scenario(tmp_path, one_instance("priority", jobs))
    # low checkpoints every hour of work, each write 60 s: a cycle is 3,660 s and its whole run
    # 10 h x (1 + 60/3600) = 36,600 s. At 2 h (7,200 s of work) one cycle is saved (3,660 s =
    # 10 % of the run) and 3,540 s are lost. high runs 2-3 h; low restarts at 3 h with 90 % left
    # plus the 60 s preemption overhead: 32,940 + 60 = 33,000 s, ending at 43,800 s.
    assert starts(run) == {"low": 0.0, "high": 2 * H}
    assert _run_by_id(run, "end_s") == pytest.approx({"low": 43_800.0, "high": 3 * H})
    assert _run_by_id(run, "preemptions") == {"low": 1, "high": 0}
    assert _run_by_id(run, "restarts") == {"low": 1, "high": 0}
    assert _run_by_id(run, "lost_chip_s")["low"] == pytest.approx(3_540.0 * 16)
    assert _run_by_id(run, "wait_s")["low"] == pytest.approx(1 * H)  # queued only while high ran
    assert run.summary["preemptions"] == 1 and run.summary["restarts"] == 1
    assert run.summary["lost_chip_s"] == pytest.approx(3_540.0 * 16)
    assert run.summary["goodput"] < 1.0


def test_priority_without_checkpoints_loses_everything_and_stops_only_lower_classes(tmp_path):
    jobs = [
        {"id": "low", "submit": "0s", "chips": 8, "duration": "10h"},
        {"id": "mid", "submit": "0s", "chips": 8, "duration": "10h", "priority": 5},
        {"id": "high", "submit": "2h", "chips": 8, "duration": "1h", "priority": 10},
        {"id": "late", "submit": "2h", "chips": 8, "duration": "1h", "priority": 5},
    ]
    run = run_scenario(tmp_path, one_instance("priority", jobs))
    # high stops low (the lowest class), not mid. late (priority 5) does not preempt mid (equal
    # class), waits for high (ends 3 h), then runs 3-4 h. low restarts at 4 h from scratch:
    # 10 h + 60 s overhead, ending at 14 h + 60 s; it held chips for 2 h before, for nothing.
    assert starts(run) == {"low": 0.0, "mid": 0.0, "high": 2 * H, "late": 3 * H}
    assert _run_by_id(run, "end_s")["low"] == pytest.approx(14 * H + 60)
    assert _run_by_id(run, "lost_chip_s")["low"] == pytest.approx(2 * H * 8)
    assert _run_by_id(run, "preemptions") == {"low": 1, "mid": 0, "high": 0, "late": 0}


# LAS on one 16-chip instance with one threshold of 1 chip-hour: a 16-chip job leaves the top
# queue after 225 s of service.
def las(jobs: list[dict], **options) -> dict:
    return one_instance("las", jobs, thresholds=[1], **options)


def test_las_lets_a_short_job_finish_before_a_long_one_that_started_first(tmp_path):
    jobs = [
        {"id": "long", "submit": "0s", "chips": 16, "duration": "10h"},
        {"id": "short", "submit": "1h", "chips": 16, "duration": "30m"},
    ]
    run = run_scenario(tmp_path, las(jobs, promote_knob=0))
    # long is in the lower queue from 225 s; short arrives in the top queue and preempts it at
    # 1 h, runs to 1.5 h (within a queue there is no preemption), and long starts over: 10 h plus
    # the 60 s preemption overhead from 1.5 h (no checkpoints: its first hour is lost)
    assert starts(run) == {"long": 0.0, "short": 1 * H}
    assert _run_by_id(run, "end_s") == pytest.approx({"short": 1.5 * H, "long": 11.5 * H + 60})
    assert _run_by_id(run, "preemptions") == {"long": 1, "short": 0}
    assert run.summary["lost_chip_s"] == pytest.approx(1 * H * 16)


def test_las_promotes_a_job_that_waited_longer_than_the_knob_times_its_last_span(tmp_path):
    jobs = [
        {"id": "a", "submit": "0s", "chips": 16, "duration": "10h"},
        {"id": "b", "submit": "1h", "chips": 16, "duration": "40m"},
        {"id": "c", "submit": "2h", "chips": 16, "duration": "1h"},
    ]
    run = run_scenario(tmp_path, las(jobs, promote_knob=2))
    # 1 h: b (top queue) preempts a (lower queue since 225 s); b ends at 1 h 40 m and a restarts.
    # 2 h: c preempts a after a 20 min span, so a is promoted at 2 h + 2 x 20 min = 2 h 40 m: back
    #      in the top queue, it preempts c (lower queue since 2 h + 225 s) and starts over; promoted,
    #      it keeps the top queue until it ends, 10 h + 60 s later. c, promoted at 4 h (40 min span),
    #      cannot preempt it (same queue): c runs 1 h + 60 s after a.
    assert starts(run) == {"a": 0.0, "b": 1 * H, "c": 2 * H}
    a_end = 2 * H + 40 * 60 + 10 * H + 60
    assert _run_by_id(run, "end_s") == pytest.approx({"a": a_end, "b": 6000.0, "c": a_end + 1 * H + 60})
    assert _run_by_id(run, "preemptions") == {"a": 2, "b": 0, "c": 1}


def test_las_thresholds_must_increase(tmp_path):
    path = write_scenario(tmp_path, one_instance("las", QUEUE_BEHIND_A, thresholds=[5, 2]))
    proc = run_cli("validate", path)
    assert proc.returncode == 2
    assert "scheduler.thresholds" in proc.stderr and "increasing" in proc.stderr


def test_fair_share_reclaims_lent_chips_by_preempting_the_borrower(tmp_path):
    jobs = [
        {"id": "b1", "submit": "0s", "chips": 8, "duration": "10h", "queue": "b"},
        {"id": "b2", "submit": "0s", "chips": 8, "duration": "10h", "queue": "b"},  # borrows a's idle half
        {"id": "a1", "submit": "1h", "chips": 8, "duration": "2h", "queue": "a"},
    ]
    scenario = one_instance("fair_share", jobs, queues={"a": {"nominal_chips": 8}, "b": {"nominal_chips": 8}})
    run = run_scenario(tmp_path, scenario)
    # a1 is within a's quota and fits nowhere: it preempts b's most recently started job (b2), which
    # restarts from scratch when a1 ends at 3 h: 10 h + 60 s more
    assert starts(run) == {"b1": 0.0, "b2": 0.0, "a1": 1 * H}
    assert _run_by_id(run, "end_s") == pytest.approx({"b1": 10 * H, "a1": 3 * H, "b2": 13 * H + 60})
    assert _run_by_id(run, "preemptions") == {"b1": 0, "b2": 1, "a1": 0}


def test_fair_share_borrowing_limit_caps_what_a_queue_takes_from_idle_quota(tmp_path):
    jobs = [{"id": f"b{k}", "submit": "0s", "chips": 4, "duration": "1h", "queue": "b"} for k in range(4)]
    scenario = one_instance("fair_share", jobs,
                            queues={"a": {"nominal_chips": 8}, "b": {"nominal_chips": 8, "borrowing_limit": 4}})
    run = run_scenario(tmp_path, scenario)
    # b may hold 8 + 4 chips: three jobs at once, the fourth when one ends
    assert starts(run) == {"b0": 0.0, "b1": 0.0, "b2": 0.0, "b3": 1 * H}


def two_pools(policy: str, **scheduler) -> dict:
    """An H100 pool (listed first) and a Trn2 pool; both jobs accept either accelerator."""
    both = ["trainium2", "h100-sxm"]
    return {
        "name": f"known-{policy}", "seed": 1,
        "cluster": {"pools": [{"name": "h100", "instance": "p5.48xlarge", "count": 2},
                              {"name": "trn2", "instance": "trn2.48xlarge", "count": 1}]},
        "workload": [{"jobs": [
            {"id": "a", "submit": "0s", "chips": 16, "duration": "10h", "accelerator": both},
            {"id": "b", "submit": "1s", "chips": 16, "duration": "10h", "accelerator": both},
        ]}],
        "scheduler": {"policy": policy, **scheduler},
    }


def test_hetero_places_on_the_best_throughput_per_dollar_that_fits(tmp_path):
    # catalogue: Trn2 667 TFLOPS x 0.4 MFU at $35.76/h for 16 chips (119 per $/chip-h) against
    # H100 989 x 0.4 at $55.04/h for 8 (57 per $): a goes to Trn2; b finds Trn2 full and takes
    # H100: ceil(16 x 667 / 989) = 11 GPUs, rounded up to two whole 8-GPU instances
    run = run_scenario(tmp_path, two_pools("hetero"))
    assert _run_by_id(run, "pool") == {"a": "trn2", "b": "h100"}
    assert _run_by_id(run, "chips_allocated") == {"a": 16, "b": 16}
    # fifo takes the first pool in scenario order that fits
    (tmp_path / "fifo").mkdir()
    run = run_scenario(tmp_path / "fifo", two_pools("fifo"))
    assert _run_by_id(run, "pool") == {"a": "h100", "b": "trn2"}
    # a throughput matrix that favours H100 enough turns the choice round
    (tmp_path / "matrix").mkdir()
    run = run_scenario(tmp_path / "matrix", two_pools("hetero", throughput={"default": {"h100-sxm": 10, "trn2": 1}}))
    assert _run_by_id(run, "pool") == {"a": "h100", "b": "trn2"}


# Two 16-chip instances. a and a2 leave 8 chips of instance 1 free; b (head) waits for instance 0;
# c needs both instances; d would fit instance 1 now, for 12 h.
SECOND_IN_LINE = [
    {"id": "a", "submit": "0s", "chips": 16, "duration": "4h"},
    {"id": "a2", "submit": "0s", "chips": 8, "duration": "10h"},
    {"id": "b", "submit": "1s", "chips": 16, "duration": "1h"},
    {"id": "c", "submit": "2s", "chips": 32, "duration": "1h"},
    {"id": "d", "submit": "3s", "chips": 8, "duration": "12h"},
]


def test_easy_protects_only_the_head_and_may_delay_the_second_in_line(tmp_path):
    run = run_scenario(tmp_path, instances("easy_backfill", 2, SECOND_IN_LINE))
    # d does not touch instance 0, where b is reserved at 4 h: backfilled at 3 s. c, head from 4 h,
    # needs instance 1 whole, which d holds until 12 h 3 s.
    assert starts(run) == {"a": 0.0, "a2": 0.0, "b": 4 * H, "c": 12 * H + 3, "d": 3.0}


def test_conservative_backfill_delays_no_reservation(tmp_path):
    run = run_scenario(tmp_path, instances("conservative_backfill", 2, SECOND_IN_LINE))
    # reservations in order: b at 4 h (instance 0), c at 10 h (both instances: a2 ends then), and d
    # would overlap c's hour on instance 1 if it started now: it is reserved after c, at 11 h
    assert starts(run) == {"a": 0.0, "a2": 0.0, "b": 4 * H, "c": 10 * H, "d": 11 * H}


def test_conservative_backfill_fills_holes_that_delay_nobody(tmp_path):
    run = run_scenario(tmp_path, one_instance("conservative_backfill", BACKFILL_HOLE))
    # as EASY: c (5 h) ends before b's reservation at 10 h; d (20 h) would overlap it
    assert starts(run) == {"a": 0.0, "b": 10 * H, "c": 2.0, "d": 12 * H}


def test_conservative_backfill_compresses_when_a_job_ends_before_its_estimate(tmp_path):
    jobs = [dict(j) for j in BACKFILL_HOLE]
    jobs[0]["requested"] = "20h"  # a ends at 10 h, not 20 h as requested
    run = run_scenario(tmp_path, one_instance("conservative_backfill", jobs, estimate="trace"))
    # planned: b at 20 h; a's early end at 10 h rebuilds the plan and b starts then. d (20 h) was
    # reserved after b and starts when b and c have ended
    assert starts(run) == {"a": 0.0, "b": 10 * H, "c": 2.0, "d": 12 * H}


@given(st.lists(st.tuples(st.sampled_from(["arrive", "start", "requeue"]), st.integers(0, 10**6)), max_size=200))
@settings(max_examples=200, deadline=None)
def test_job_queue_keeps_submission_order(ops):
    """The engine's queue against a sorted set: arrivals in order, starts anywhere in the queue,
    stopped jobs requeued (older than most of the queue)."""
    from sim.policies.base import JobQueue

    queue, model, running, next_job = JobQueue(), set(), [], 0
    for op, r in ops:
        if op == "arrive":
            queue.add(next_job)
            model.add(next_job)
            next_job += 1
        elif op == "start" and model:
            job = sorted(model)[r % len(model)]
            queue.remove(job)
            model.discard(job)
            running.append(job)
        elif op == "requeue" and running:
            job = running.pop(r % len(running))
            queue.add(job)
            model.add(job)
        assert list(queue) == sorted(model) and len(queue) == len(model) and bool(queue) == bool(model)
        if model:
            assert queue.head() == min(model)
        assert all(job in queue for job in model) and not any(job in queue for job in running)
