"""Generators under a fixed seed: distributions, arrival processes, named classes and `until`.

Lognormal: the mean and standard deviation of log(samples) within 4 standard errors of
ln(median) and sigma (raw moments are too heavy-tailed to test). Others: the mean within 4
standard errors plus a Kolmogorov-Smirnov test at alpha = 0.001 (the statistic computed here
with numpy; scipy is not a dependency). Class counts are exact.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from conftest import run_cli, write_scenario

from sim.scenario import loader
from sim.scenario.workload import ChipsDistribution, DurationDistribution, Generator
from sim.workload import build_jobs, generators

N = 20_000
KS_CRITICAL = 1.9495  # sqrt(-ln(alpha / 2) / 2) at alpha = 0.001


def ks_statistic(samples: np.ndarray, cdf) -> float:
    """sup |F_n(x) - F(x)| for a continuous or a discrete (right-continuous) F."""
    x = np.sort(np.asarray(samples, dtype=float))
    n = len(x)
    values = np.unique(x)
    # empirical CDF just after and just before each distinct value
    after = np.searchsorted(x, values, side="right") / n
    before = np.searchsorted(x, values, side="left") / n
    f = cdf(values)
    f_before = cdf(np.nextafter(values, -np.inf))
    return float(max(np.max(np.abs(after - f)), np.max(np.abs(before - f_before))))


def assert_ks(samples: np.ndarray, cdf) -> None:
    n = len(samples)
    d = ks_statistic(samples, cdf)
    scaled = (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)) * d  # Stephens (1970)
    assert scaled < KS_CRITICAL, f"KS: D = {d:.4f} (scaled {scaled:.3f} >= {KS_CRITICAL}) over {n} samples"


def assert_mean(samples: np.ndarray, mean: float, sd: float) -> None:
    se = sd / math.sqrt(len(samples))
    assert abs(samples.mean() - mean) < 4 * se, f"mean {samples.mean():.6g}, expected {mean:.6g} +- 4 x {se:.3g}"


def test_ks_statistic_rejects_a_wrong_distribution():
    rng = np.random.default_rng(0)
    x = rng.exponential(1.0, N)
    assert_ks(x, lambda v: 1 - np.exp(-np.maximum(v, 0)))
    with pytest.raises(AssertionError):
        assert_ks(x, lambda v: 1 - np.exp(-np.maximum(v, 0) / 1.05))


def _draw(model, spec, *, integer: bool, seed: int = 1, empirical=None) -> np.ndarray:
    dist = model.model_validate(spec)
    return generators.sample(dist, N, generators.stream(seed, "test.samples"), integer=integer,
                             empirical=empirical)


# --- distributions --------------------------------------------------------------------------------

def test_lognormal_log_moments():
    median, sigma = 7200.0, 1.2
    x = _draw(DurationDistribution, {"lognormal": {"median": "2h", "sigma": sigma}}, integer=False)
    logs = np.log(x)
    assert_mean(logs, math.log(median), sigma)
    se_sd = sigma / math.sqrt(2 * (N - 1))
    assert abs(logs.std(ddof=1) - sigma) < 4 * se_sd


def test_exponential_mean_and_ks():
    mean = 3 * 3600.0
    x = _draw(DurationDistribution, {"exponential": {"mean": "3h"}}, integer=False)
    assert_mean(x, mean, mean)
    assert_ks(x, lambda v: 1 - np.exp(-np.maximum(v, 0) / mean))


def test_uniform_durations_mean_and_ks():
    low, high = 600.0, 7200.0
    x = _draw(DurationDistribution, {"uniform": {"low": "10m", "high": "2h"}}, integer=False)
    assert_mean(x, (low + high) / 2, (high - low) / math.sqrt(12))
    assert_ks(x, lambda v: np.clip((v - low) / (high - low), 0, 1))


def test_uniform_chips_are_discrete_uniform():
    low, high = 1, 48
    x = _draw(ChipsDistribution, {"uniform": {"low": low, "high": high}}, integer=True)
    k = high - low + 1
    assert x.min() == low and x.max() == high
    assert_mean(x, (low + high) / 2, math.sqrt((k * k - 1) / 12))
    assert_ks(x, lambda v: np.clip((np.floor(v) - low + 1) / k, 0, 1))


def test_choice_mean_and_ks():
    values, weights = np.array([1, 4, 16, 64]), np.array([0.5, 0.3, 0.15, 0.05])
    x = _draw(ChipsDistribution, {"choice": {"values": values.tolist(), "weights": weights.tolist()}},
              integer=True)
    mean = float(values @ weights)
    sd = math.sqrt(float((values - mean) ** 2 @ weights))
    assert set(np.unique(x)) == set(values)
    assert_mean(x, mean, sd)
    cumulative = np.cumsum(weights)
    assert_ks(x, lambda v: np.where(v < values[0], 0.0, cumulative[np.clip(
        np.searchsorted(values, v, side="right") - 1, 0, len(values) - 1)]))


def test_constant_is_constant():
    assert set(_draw(ChipsDistribution, 8, integer=True)) == {8}
    assert set(_draw(DurationDistribution, "90m", integer=False)) == {5400.0}


def test_empirical_mean_and_ks(tmp_path):
    population = np.round(np.random.default_rng(9).lognormal(8, 1, size=500))
    (tmp_path / "samples.csv").write_text("run_s\n" + "\n".join(f"{v:g}" for v in population) + "\n")

    def read(spec):
        return generators.read_empirical(tmp_path / spec.path, spec.column, lambda m: m)

    x = _draw(DurationDistribution, {"empirical": {"path": "samples.csv", "column": "run_s"}}, integer=False,
              empirical=read)
    assert set(np.unique(x)) <= set(population)
    assert_mean(x, population.mean(), population.std())
    pop = np.sort(population)
    assert_ks(x, lambda v: np.searchsorted(pop, v, side="right") / len(pop))


# --- arrival processes ------------------------------------------------------------------------------

def _times(spec: dict, seed: int = 3) -> np.ndarray:
    gen = Generator.model_validate({"chips": 1, "duration": "1h", **spec})
    return generators.arrival_times(gen, generators.stream(seed, "test.arrivals"))


def test_poisson_interarrivals_mean_and_ks():
    rate = 5 / 3600
    t = _times({"count": N, "arrivals": {"poisson": {"rate": "5/h"}}})
    gaps = np.diff(np.concatenate([[0.0], t]))
    assert len(t) == N
    assert_mean(gaps, 1 / rate, 1 / rate)
    assert_ks(gaps, lambda v: 1 - np.exp(-np.maximum(v, 0) * rate))


def test_poisson_until_count_is_poisson():
    rate, until = 20 / 3600, 40 * 86400.0
    t = _times({"until": "40d", "arrivals": {"poisson": {"rate": "20/h"}}})
    expected = rate * until
    assert abs(len(t) - expected) < 4 * math.sqrt(expected)
    assert t.max() <= until


def _diurnal_phase_cdf(amplitude: float, peak: float):
    day = 86400.0
    w = 2 * np.pi / day

    def cdf(x):
        x = np.clip(x, 0, day)
        return (x + amplitude / w * (np.sin(w * (x - peak)) - np.sin(-w * peak))) / day
    return cdf


def test_diurnal_count_and_time_of_day():
    rate, amplitude, peak, days = 30 / 3600, 0.8, 14 * 3600.0, 30
    t = _times({"until": f"{days}d", "arrivals": {"diurnal": {"rate": "30/h", "peak_hour": "14h",
                                                              "amplitude": amplitude}}})
    expected = rate * days * 86400  # the cosine integrates to 0 over whole days
    assert abs(len(t) - expected) < 4 * math.sqrt(expected)
    phase = t % 86400.0
    # the mean time of day is not a useful moment of a periodic density; test the peak's side instead
    near_peak = np.mean(np.abs(phase - peak) < 6 * 3600)
    p_near = _diurnal_phase_cdf(amplitude, peak)(peak + 6 * 3600) - _diurnal_phase_cdf(amplitude, peak)(peak - 6 * 3600)
    assert abs(near_peak - p_near) < 4 * math.sqrt(p_near * (1 - p_near) / len(t))
    assert_ks(phase, _diurnal_phase_cdf(amplitude, peak))


def test_diurnal_with_count_gives_exactly_count_and_flat_is_poisson():
    t = _times({"count": 5000, "arrivals": {"diurnal": {"rate": "10/h", "peak_hour": "3h", "amplitude": 1}}})
    assert len(t) == 5000 and np.all(np.diff(t) >= 0)
    flat = _times({"count": N, "arrivals": {"diurnal": {"rate": "10/h", "peak_hour": "0s", "amplitude": 0}}})
    gaps = np.diff(np.concatenate([[0.0], flat]))
    assert_ks(gaps, lambda v: 1 - np.exp(-np.maximum(v, 0) * 10 / 3600))


def test_batch_and_until():
    t = _times({"arrivals": {"batch": {"at": "6h", "count": 250}}})
    assert len(t) == 250 and set(t) == {21600.0}
    assert len(_times({"until": "5h", "arrivals": {"batch": {"at": "6h", "count": 250}}})) == 0
    assert len(_times({"count": 100, "submit": "2h"})) == 100
    assert len(_times({"count": 100, "submit": "2h", "until": "1h"})) == 0
    # count and until: whichever comes first
    short = _times({"count": 10_000, "until": "1d", "arrivals": {"poisson": {"rate": "10/h"}}})
    assert 0 < len(short) < 10_000 and short.max() <= 86400


# --- named classes, through the scenario loader -------------------------------------------------------

MIX = """\
name: mix
seed: 4
cluster:
  pools:
    - {name: trn2, instance: trn2u.48xlarge, count: 64}
workload:
  - name: mix
    generator:
      user: lab
      until: 30d
      classes:
        frontier: {count: 1, chips: 4096, duration: 90d, priority: 10, user: pretrain}
        sweep: {arrivals: {batch: {at: 2d, count: 40}}, chips: 64, duration: 6h, queue: sweeps}
        experiments:
          arrivals: {diurnal: {rate: 12/h, peak_hour: 14h, amplitude: 0.6}}
          chips: {choice: {values: [1, 4, 16], weights: [0.6, 0.3, 0.1]}}
          duration: {lognormal: {median: 1h, sigma: 1.0}}
          count: 3000
  - generator:
      count: 50
      arrivals: {poisson: {rate: 5/h}}
      chips: 4
      duration: 1h
"""


def _jobs(tmp_path, text: str, name: str = "scenario.yaml", seed: int = 4):
    path = write_scenario(tmp_path, text, name)
    return build_jobs(loader.load(path), seed)


def test_classes_counts_ids_and_fields(tmp_path):
    jobs = _jobs(tmp_path, MIX)
    by_class: dict[str, list[int]] = {}
    for k, job_id in enumerate(jobs.id):
        by_class.setdefault(job_id.rsplit("-", 1)[0], []).append(k)
    assert {c: len(v) for c, v in by_class.items()} == {
        "mix-frontier": 1, "mix-sweep": 40, "mix-experiments": 3000, "w1-job": 50}
    assert sorted(jobs.id[k] for k in by_class["mix-sweep"]) == sorted(f"mix-sweep-{n}" for n in range(40))
    f = by_class["mix-frontier"][0]
    assert (jobs.chips[f], jobs.duration[f], jobs.priority[f], jobs.user[f], jobs.submit[f]) == (
        4096, 90 * 86400.0, 10, "pretrain", 0.0)
    sweep = by_class["mix-sweep"]
    assert {jobs.submit[k] for k in sweep} == {2 * 86400.0} and {jobs.queue[k] for k in sweep} == {"sweeps"}
    assert {jobs.user[k] for k in sweep} == {"lab"}  # inherited from the generator
    exp = by_class["mix-experiments"]
    assert max(jobs.submit[k] for k in exp) <= 30 * 86400  # the generator's until, inherited
    assert {jobs.chips[k] for k in exp} == {1, 4, 16}
    assert all(jobs.entry[k] == "mix" for k in exp)
    assert jobs.submit == sorted(jobs.submit)


def test_classes_draw_from_their_own_streams(tmp_path):
    base = _jobs(tmp_path, MIX, "a.yaml")
    fewer = MIX.replace("        sweep: {arrivals: {batch: {at: 2d, count: 40}}, chips: 64, duration: 6h, "
                        "queue: sweeps}\n", "")
    assert fewer != MIX
    other = _jobs(tmp_path, fewer, "b.yaml")

    def draws(jobs, prefix):
        return {j: (s, c, d) for j, s, c, d in zip(jobs.id, jobs.submit, jobs.chips, jobs.duration, strict=True)
                if j.startswith(prefix)}

    assert draws(base, "mix-experiments-") == draws(other, "mix-experiments-")
    assert draws(base, "w1-") == draws(other, "w1-")
    assert "mix-sweep-0" not in other.id
    # named streams: workload.<entry>.<class>.<field>
    rng = generators.stream(4, "workload.mix.experiments.duration")
    first = next(k for k, j in enumerate(base.id) if j == "mix-experiments-0")
    expected = rng.lognormal(math.log(3600), 1.0, size=3000)[0]
    assert base.duration[first] == pytest.approx(expected)


def test_single_class_ids_and_streams_are_unchanged(tmp_path):
    jobs = _jobs(tmp_path, MIX)
    gaps = generators.stream(4, "workload.1.arrivals").exponential(3600 / 5, size=50)
    w1 = [k for k, j in enumerate(jobs.id) if j.startswith("w1-job-")]
    assert [jobs.submit[k] for k in w1] == pytest.approx(np.cumsum(gaps).tolist())
    assert [jobs.id[k] for k in w1] == [f"w1-job-{n}" for n in range(50)]


BAD_GENERATORS = {
    "top-level-chips": ("      classes:\n", "      chips: 4\n      classes:\n",
                        "with classes:, set chips in each class"),
    "class-no-duration": ("        frontier: {count: 1, chips: 4096, duration: 90d, priority: 10, user: pretrain}\n",
                          "        frontier: {count: 1, chips: 4096}\n", "class 'frontier' needs `duration`"),
    "batch-and-count": ("sweep: {arrivals: {batch: {at: 2d, count: 40}}, chips",
                        "sweep: {count: 3, arrivals: {batch: {at: 2d, count: 40}}, chips",
                        "batch arrivals, which give their own count"),
    "amplitude": ("amplitude: 0.6", "amplitude: 1.5", "less than or equal to 1"),
    "peak-hour": ("peak_hour: 14h", "peak_hour: 25h", "peak_hour is a time of day"),
    "two-processes": ("arrivals: {diurnal:", "arrivals: {poisson: {rate: 1/h}, diurnal:",
                      "give exactly one arrival process"),
}


def test_bad_generators_are_located_errors(tmp_path):
    paths = {}
    for name, (old, new, _) in BAD_GENERATORS.items():
        assert MIX.count(old) == 1, name
        paths[name] = write_scenario(tmp_path, MIX.replace(old, new), f"{name}.yaml")
    proc = run_cli("validate", *paths.values())
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    for name, (_, _new, message) in BAD_GENERATORS.items():
        mine = [line for line in lines if line.startswith(f"{paths[name]}:")]
        assert mine and any(message in line for line in mine), (name, mine)
        assert ": workload.0.generator" in mine[0], mine[0]


def test_frontier_class_is_one_line_and_appears_once(tmp_path):
    data = yaml.safe_load(MIX)
    data["workload"][0]["generator"]["classes"] = {
        "frontier": {"count": 1, "chips": 65536, "duration": "90d"},
        "small": {"count": 200, "arrivals": {"poisson": {"rate": "30/h"}}, "chips": 8, "duration": "2h"}}
    jobs = _jobs(tmp_path, yaml.safe_dump(data))
    assert [j for j in jobs.id if "frontier" in j] == ["mix-frontier-0"]
    assert sum(j.startswith("mix-small-") for j in jobs.id) == 200


def test_docs_classes_example_validates(tmp_path):
    from conftest import ROOT

    readme = (ROOT / "docs" / "traces.md").read_text()
    start = readme.index("```yaml\nworkload:\n  - name: lab\n")
    block = readme[start + len("```yaml\n"): readme.index("```", start + 8)]
    head = "name: readme\ncluster:\n  pools:\n    - {name: trn2, instance: trn2u.48xlarge, count: 1024}\n"
    jobs = _jobs(tmp_path, head + block)
    assert [j for j in jobs.id if "frontier" in j] == ["lab-frontier-0"]
    assert sum(j.startswith("lab-sweeps-") for j in jobs.id) == 200
    assert max(jobs.submit) <= 180 * 86400
