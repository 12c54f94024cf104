"""fair_share against its definition: attained shares follow the quotas, idle quota is lent."""

from __future__ import annotations

import numpy as np
from conftest import ONE_CHIP_CATALOGUE, one_chip_cluster, run_scenario

H = 3600.0
CHIPS = 32
MEAN_JOB_H = 1.0
WARMUP_H, END_H = 10.0, 70.0  # 60 mean job lengths after warm-up


def backlogged(queues: dict[str, int], quotas: dict) -> dict:
    """Every queue submits `n` one-chip jobs (mean 1 h) at t = 0: more than the window can run."""
    return {
        "name": "fair", "seed": 3, "horizon": f"{END_H:g}h", "catalogue": ONE_CHIP_CATALOGUE,
        "cluster": one_chip_cluster(CHIPS),
        "workload": [{"name": q, "generator": {"arrivals": {"batch": {"at": "0s", "count": n}}, "chips": 1,
                                                "duration": {"exponential": {"mean": f"{MEAN_JOB_H:g}h"}},
                                                "queue": q}}
                     for q, n in queues.items()],
        "scheduler": {"policy": "fair_share", "queues": quotas},
    }


def attained_shares(run) -> dict[str, float]:
    """Each queue's part of the chip-seconds held between warm-up and the end."""
    jobs = run.jobs
    start = np.asarray(jobs["start_s"].to_pylist(), dtype=float)
    end = np.asarray([END_H * H if e is None else e for e in jobs["end_s"].to_pylist()], dtype=float)
    chips = np.asarray(jobs["chips_allocated"].to_pylist(), dtype=float)
    held = np.clip(np.minimum(end, END_H * H) - np.maximum(np.nan_to_num(start, nan=np.inf), WARMUP_H * H), 0, None)
    queue = np.asarray(jobs["queue"].to_pylist())
    total = float(np.sum(held * chips))
    return {q: float(np.sum((held * chips)[queue == q])) / total for q in np.unique(queue)}


def test_backlogged_queues_get_their_configured_shares(tmp_path):
    run = run_scenario(tmp_path, backlogged({"a": 3000, "b": 3000, "c": 3000},
                                            {"a": {"weight": 1}, "b": {"weight": 3}, "c": {"nominal_chips": 16}}))
    assert run.summary["preemptions"] == 0  # every queue had work from the start: nothing to reclaim
    shares = attained_shares(run)
    # c holds 16 of 32 chips by number; a and b share the other 16 as 1 : 3
    for queue, share in {"a": 0.125, "b": 0.375, "c": 0.5}.items():
        assert abs(shares[queue] - share) <= 0.05, shares
    assert run.summary["jain_fairness"] > 0.99


def test_an_idle_queues_quota_is_lent_to_the_others(tmp_path):
    run = run_scenario(tmp_path, backlogged({"b": 3000, "c": 3000},
                                            {"a": {"weight": 2}, "b": {"weight": 1}, "c": {"weight": 1}}))
    shares = attained_shares(run)
    assert "a" not in shares
    assert shares["b"] + shares["c"] >= 0.95
    assert run.summary["utilisation"] > 0.95
