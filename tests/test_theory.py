"""Validation against queueing theory, end to end through the CLI.

Each scenario runs once (module-scoped fixtures) with ~2e5 jobs after `metrics.warmup`, and
the closed forms (Erlang C for M/M/c, Pollaczek-Khinchine for M/D/1, utilisation = offered
load, Little's law) must lie inside a 99 % batch-means confidence interval computed from the
run directory. Batch means: the post-warm-up sample, in submission order, is cut into
BATCHES consecutive batches whose means are close to independent and normal (each batch
holds ~5000 jobs, hundreds of relaxation times even at rho = 0.8), so a Student t interval
on the batch means is valid for the steady-state mean despite the autocorrelation of waits.

Seeds are fixed, so each test is deterministic. Measured half-widths: M/M/1 Wq 2.6 %,
P(wait) 0.8 %; M/M/16 at rho = 0.8 Wq 17 % (its waits are rare and long-correlated), C 6.5 %;
M/D/1 Wq 4.8 %; utilisation 0.5-1 %. So a wrong model is far outside: M/M/16 with rho in
place of C(c, a) gives 900 s against 349 +- 58 s, and the M/M/1 formula for the M/D/1 queue
twice the P-K wait.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
from conftest import ONE_CHIP_CATALOGUE, Run, one_chip_cluster, run_scenario

from sim.queueing import erlang_c

pytestmark = pytest.mark.slow

BATCHES = 40
# Student t quantile t_{0.995}(BATCHES - 1 = 39 degrees of freedom), two-sided 99 %. Computed
# by integrating the t density (Simpson) and bisecting; tables give 2.7079.
T_995_39 = 2.707913
JOBS_AFTER_WARMUP = 200_000


@dataclass
class Interval:
    mean: float
    half_width: float

    @property
    def lo(self) -> float:
        return self.mean - self.half_width

    @property
    def hi(self) -> float:
        return self.mean + self.half_width

    def __contains__(self, x: float) -> bool:
        return self.lo <= x <= self.hi

    def __str__(self) -> str:
        return f"{self.mean:.6g} ± {self.half_width:.3g} (99 % batch means)"


def batch_means_ci(batch_means: np.ndarray) -> Interval:
    assert len(batch_means) == BATCHES
    mean = float(np.mean(batch_means))
    half = T_995_39 * float(np.std(batch_means, ddof=1)) / math.sqrt(BATCHES)
    return Interval(mean, half)


def job_ci(values: np.ndarray) -> Interval:
    """99 % CI of the mean of a per-job sequence (in submission order) by batch means."""
    size = len(values) // BATCHES
    return batch_means_ci(values[: size * BATCHES].reshape(BATCHES, size).mean(axis=1))


def step_integral(t: np.ndarray, v: np.ndarray, lo: float, hi: float) -> float:
    """Integral over [lo, hi] of the step function with value v[i] on [t[i], t[i+1])."""
    edges = np.clip(np.append(t, max(hi, t[-1])), lo, hi)
    return float(np.sum(v * np.diff(edges)))


def time_ci(t: np.ndarray, v: np.ndarray, lo: float, hi: float) -> Interval:
    """99 % CI of the time-average of a step function over [lo, hi], by equal-time batches."""
    edges = np.linspace(lo, hi, BATCHES + 1)
    width = edges[1] - edges[0]
    means = np.array([step_integral(t, v, a, b) / width for a, b in zip(edges[:-1], edges[1:], strict=True)])
    return batch_means_ci(means)


@dataclass
class Steady:
    """One theory run and its post-warm-up sample."""

    run: Run
    lam: float  # arrivals per second
    mean_service: float  # seconds
    chips: int  # per job
    warmup: float
    waits: np.ndarray  # post-warm-up jobs, in submission order
    sojourns: np.ndarray

    @property
    def capacity(self) -> int:
        return self.run.summary["chips"]

    @property
    def offered_load(self) -> float:
        return self.lam * self.mean_service * self.chips / self.capacity


def steady_run(tmp_path, *, cluster: dict, catalogue: dict | None, lam_per_h: float, duration: dict,
               mean_service_h: float, chips: int, warmup_h: float, seed: int) -> Steady:
    count = JOBS_AFTER_WARMUP + round(lam_per_h * warmup_h)
    scenario = {
        "name": tmp_path.name,
        "seed": seed,
        **({"catalogue": catalogue} if catalogue else {}),
        "cluster": cluster,
        "workload": [{"generator": {"count": count, "arrivals": {"poisson": {"rate": f"{lam_per_h}/h"}},
                                    "chips": chips, "duration": duration}}],
        "scheduler": {"policy": "fifo", "placement": "first_fit"},
        "metrics": {"warmup": f"{warmup_h}h"},
    }
    run = run_scenario(tmp_path, scenario)
    assert run.summary["jobs_completed"] == count
    jobs = run.jobs
    submit = jobs["submit_s"].to_numpy()
    order = np.argsort(submit, kind="stable")
    after = order[submit[order] >= warmup_h * 3600]
    waits = jobs["wait_s"].to_numpy()[after]
    sojourns = jobs["jct_s"].to_numpy()[after]
    assert abs(len(after) - JOBS_AFTER_WARMUP) < 0.02 * JOBS_AFTER_WARMUP
    return Steady(run, lam_per_h / 3600, mean_service_h * 3600, chips, warmup_h * 3600, waits, sojourns)


MMC_CASES = [(1, 0.5), (16, 0.8)]


@pytest.fixture(scope="module", params=MMC_CASES, ids=[f"MM{c}-rho{rho}" for c, rho in MMC_CASES])
def mmc(request, tmp_path_factory) -> tuple[int, float, Steady]:
    """M/M/c: c one-chip instances, 1-chip jobs, exponential service of mean 1 h, FIFO."""
    c, rho = request.param
    steady = steady_run(tmp_path_factory.mktemp(f"mm{c}"), cluster=one_chip_cluster(c),
                        catalogue=ONE_CHIP_CATALOGUE, lam_per_h=rho * c, duration={"exponential": {"mean": "1h"}},
                        mean_service_h=1.0, chips=1, warmup_h=round(2000 / c), seed=20 + c)
    return c, rho, steady


@pytest.fixture(scope="module")
def md1(tmp_path_factory) -> Steady:
    """M/D/1 with whole-instance jobs: 16-chip jobs of exactly 1 h on one trn2.48xlarge, rho = 0.8."""
    return steady_run(tmp_path_factory.mktemp("md1"),
                      cluster={"pools": [{"name": "trn2", "instance": "trn2.48xlarge", "count": 1}]},
                      catalogue=None, lam_per_h=0.8, duration="1h", mean_service_h=1.0, chips=16,
                      warmup_h=2000, seed=11)


def test_erlang_c_known_values():
    """The helper itself: M/M/1 gives rho; a textbook M/M/2 value; large c stays finite."""
    assert erlang_c(1, 0.5) == pytest.approx(0.5)
    # M/M/2, a = 1: P0 = 1/3, C = a^2/(2!(1 - a/2)) P0 = 1/3
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert 0 < erlang_c(10_000, 9_900.0) < 1


def test_mmc_mean_wait_matches_erlang_c(mmc):
    c, rho, s = mmc
    mu = 1 / s.mean_service
    wq = erlang_c(c, rho * c) / (c * mu - s.lam)
    ci = job_ci(s.waits)
    assert wq in ci, f"M/M/{c} rho={rho}: Erlang C Wq = {wq:.6g} s outside {ci}"
    # the summary's statistic is over the same jobs (submit >= warmup)
    assert s.run.summary["avg_wait_s"] == pytest.approx(float(np.mean(s.waits)), rel=1e-9)


def test_mmc_probability_of_waiting_matches_erlang_c(mmc):
    c, rho, s = mmc
    # a job that finds a free server starts in the pass at its own arrival: wait exactly 0
    ci = job_ci((s.waits > 0).astype(float))
    assert erlang_c(c, rho * c) in ci, f"M/M/{c} rho={rho}: C(c, a) = {erlang_c(c, rho * c):.6g} outside {ci}"


def test_md1_mean_wait_matches_pollaczek_khinchine(md1):
    rho = md1.offered_load
    wq = rho * md1.mean_service / (2 * (1 - rho))
    ci = job_ci(md1.waits)
    assert wq in ci, f"M/D/1 rho={rho}: P-K Wq = {wq:.6g} s outside {ci}"
    assert md1.run.summary["avg_wait_s"] == pytest.approx(float(np.mean(md1.waits)), rel=1e-9)
    # deterministic service: every sojourn is the wait plus exactly one hour, on one whole instance
    assert np.allclose(md1.sojourns - md1.waits, md1.mean_service, rtol=0, atol=1e-6)
    assert set(md1.run.jobs["chips_allocated"].to_numpy().tolist()) == {16}


def _utilisation_checks(s: Steady, label: str) -> None:
    t = s.run.series["t_s"].to_numpy().astype(float)
    busy = s.run.series["busy_chips"].to_numpy().astype(float) / s.capacity
    end = float(np.max(s.run.jobs["end_s"].to_numpy()))
    reported = s.run.summary["utilisation"]
    # the summary's utilisation is busy chip-seconds over [warmup, last completion]: the series says the same
    assert reported == pytest.approx(step_integral(t, busy, s.warmup, end) / (end - s.warmup), rel=1e-9)
    ci = time_ci(t, busy, s.warmup, end)
    assert s.offered_load in ci, f"{label}: offered load {s.offered_load:.6g} outside utilisation {ci}"


def test_mmc_utilisation_equals_offered_load(mmc):
    c, rho, s = mmc
    assert s.offered_load == pytest.approx(rho)
    _utilisation_checks(s, f"M/M/{c}")


def test_md1_utilisation_equals_offered_load(md1):
    _utilisation_checks(md1, "M/D/1 (16-chip jobs)")


def test_littles_law_on_recorded_series(mmc):
    """L = lambda W on the step-function series, for the queue and for the whole system.

    Exactly, over the whole run (empty at the start and at the end): the integral of
    queued_jobs is the sum of all waits and that of running + queued the sum of all sojourns —
    true of any sample path, so only float rounding (rel 1e-9) is allowed. Over the post-warm-up
    window, the time-averages equal (observed arrival rate) x (mean of post-warm-up jobs) up to
    edge effects: jobs queued at the warm-up boundary, whose area is a few mean waits' worth,
    against a window of ~2e5 mean interarrival times — below 1e-4 relative; we allow 1e-3. With
    the nominal rate lambda instead, the count of arrivals in the window adds a Poisson error
    of relative s.d. 1/sqrt(2e5) = 0.22 %, so 1 % is over 4 s.d.
    """
    c, rho, s = mmc
    jobs = s.run.jobs
    t = s.run.series["t_s"].to_numpy().astype(float)
    queued = s.run.series["queued_jobs"].to_numpy().astype(float)
    in_system = queued + s.run.series["running_jobs"].to_numpy().astype(float)
    end = float(np.max(jobs["end_s"].to_numpy()))
    assert queued[-1] == 0 and in_system[-1] == 0 and t[-1] == pytest.approx(end)

    all_waits = jobs["wait_s"].to_numpy()
    all_sojourns = jobs["jct_s"].to_numpy()
    assert step_integral(t, queued, 0.0, end) == pytest.approx(float(np.sum(all_waits)), rel=1e-9)
    assert step_integral(t, in_system, 0.0, end) == pytest.approx(float(np.sum(all_sojourns)), rel=1e-9)

    window = end - s.warmup
    lq = step_integral(t, queued, s.warmup, end) / window
    ls = step_integral(t, in_system, s.warmup, end) / window
    lam_observed = len(s.waits) / window
    assert lq == pytest.approx(lam_observed * float(np.mean(s.waits)), rel=1e-3)
    assert ls == pytest.approx(lam_observed * float(np.mean(s.sojourns)), rel=1e-3)
    assert lq == pytest.approx(s.lam * float(np.mean(s.waits)), rel=0.01)
    assert ls == pytest.approx(s.lam * float(np.mean(s.sojourns)), rel=0.01)
