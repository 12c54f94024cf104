"""`trnsim plan`: SLO and --vary grammar, the search, feasibility rules, the knee plot.

Plans here run `--serial` (in-process); `tests/test_sweep.py` covers the dask paths.
"""

from __future__ import annotations

import json

import pytest
from conftest import ONE_CHIP_CATALOGUE, SCENARIOS, TINY_HEAD, run_cli, write_scenario

from sim import plan as planning
from sim import queueing


def mmc(servers: int = 16, *, count: int = 4000, chips: object = 1, horizon: str | None = None) -> dict:
    scenario = {
        "name": "mmc", "seed": 1, "catalogue": ONE_CHIP_CATALOGUE,
        "cluster": {"pools": [{"name": "cpu", "instance": "hpc-node", "count": servers}]},
        "workload": [{"generator": {"count": count, "arrivals": {"poisson": {"rate": "12/h"}}, "chips": chips,
                                    "duration": {"exponential": {"mean": "1h"}}}}],
        "metrics": {"warmup": "50h"},
    }
    if horizon:
        scenario["horizon"] = horizon
    return scenario


def erlang_c_size(q: float, limit_s: float) -> int:
    return next(c for c in range(13, 100) if queueing.wait_quantile(c, 12 / 3600, 3600, q) <= limit_s)


def test_plan_finds_the_erlang_c_size_on_mmc(tmp_path):
    """M/M/c at 12 jobs/h of 1 h: Erlang C says 16 servers for p95 wait <= 30 min (21 min; 15 give 37 min)."""
    assert erlang_c_size(0.95, 1800) == 16
    path = write_scenario(tmp_path, mmc())
    out = tmp_path / "plan"
    proc = run_cli("plan", path, "--slo", "p95_wait<=30m", "--vary", "cluster.pools.0.count=12..40", "--seeds", "3",
                   "--serial", "--out", out)
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith("answer: cluster.pools.0.count = 16 (16 chips) meets p95_wait<=30m"), proc.stdout
    assert "| `p95_wait<=30m` |" in proc.stdout and "Runs behind it" in proc.stdout
    data = json.loads((out / "plan.json").read_text())
    assert data["answer"] == 16 and data["verdict"] == "feasible"
    assert data["approximation"] == "approximation (Erlang C)"
    sizes = {p["value"]: p for p in data["probes"]}
    assert sizes[16]["meets_all"] and not sizes[15]["meets_all"], "bisection ends between a failing and a good size"
    assert len(sizes) < 29 / 2, "the search runs far fewer sizes than the range holds"
    assert (out / "knee.png").stat().st_size > 10_000 and (out / "plan.md").is_file()
    assert len(list((out / "rows").glob("*.parquet"))) == 3 * len(sizes)

    again = run_cli("plan", path, "--slo", "p95_wait<=30m", "--vary", "cluster.pools.0.count=12..40", "--seeds", "3",
                    "--serial", "--out", out, "-q")
    assert again.returncode == 0 and again.stdout.strip() == str(out)
    assert len(list((out / "rows").glob("*.parquet"))) == 3 * len(sizes), "a rerun reuses every row"


def test_conflicting_slos_are_infeasible_with_the_closest_size(tmp_path):
    path = write_scenario(tmp_path, mmc(count=1500))
    proc = run_cli("plan", path, "--slo", "p95_wait<=30m", "--slo", "utilisation>=90%", "--vary",
                   "cluster.pools.0.count=12..40", "--seeds", "2", "--serial")
    assert proc.returncode == 1
    assert proc.stdout.startswith("answer: infeasible: the SLOs conflict (utilisation>=90% fails"), proc.stdout
    assert "closest: cluster.pools.0.count = 1" in proc.stdout


def test_rejected_jobs_make_a_size_infeasible(tmp_path):
    """Jobs of 20 chips are rejected below 20 one-chip instances, however short the wait."""
    path = write_scenario(tmp_path, mmc(count=1500, chips={"choice": {"values": [1, 20], "weights": [0.99, 0.01]}}))
    proc = run_cli("plan", path, "--slo", "p99_wait<=1000d", "--vary", "cluster.pools.0.count=4..64", "--seeds", "2",
                   "--serial")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("answer: cluster.pools.0.count = 20 "), proc.stdout


def test_censored_waits_fail_every_wait_slo():
    slo = planning.parse_slo("avg_wait<=100d")
    rows = [{"avg_wait_s": 10.0, "wait_censored": False}, {"avg_wait_s": 20.0, "wait_censored": True}]
    c = planning.check(slo, rows)
    assert not c.met and "censored" in c.why
    assert planning.check(planning.parse_slo("utilisation>=0.1"), [{"utilisation": 0.5, "wait_censored": True}]).met


def test_one_sided_bound_uses_student_t():
    rows = [{"avg_wait_s": v} for v in (10.0, 20.0, 30.0, 40.0, 50.0)]
    c = planning.check(planning.parse_slo("avg_wait<=45s"), rows)
    sd = 15.811388300841896
    assert c.mean == 30.0 and c.bound == pytest.approx(30 + 1.533 * sd / 5**0.5)
    assert c.met  # 40.84 <= 45
    low = planning.check(planning.parse_slo("avg_wait>=25s"), rows)
    assert low.bound == pytest.approx(30 - 1.533 * sd / 5**0.5) and not low.met
    assert planning.t90(200) == pytest.approx(1.2858, abs=1e-3)


def test_slo_grammar():
    s = planning.parse_slo("p95_wait<=2h")
    assert (s.key, s.op, s.limit, s.improves_with_size) == ("p95_wait_s", "<=", 7200.0, True)
    assert planning.parse_slo("cost<=$2.5M").limit == 2.5e6
    assert not planning.parse_slo("cost<=$2.5M").improves_with_size
    assert planning.parse_slo("utilisation>=70%").limit == pytest.approx(0.7)
    assert planning.parse_slo("peak_power<=5MW").limit == 5.0


@pytest.mark.parametrize("args, message", [
    (("--slo", "cost<=2.5M"), "--slo cost<=2.5M: money must start with '$'"),
    (("--slo", "p95_wiat<=2h"), "--slo p95_wiat<=2h: unknown metric 'p95_wiat' (did you mean 'p95_wait'?)"),
    (("--slo", "p95_wait<2h"), "--slo p95_wait<2h: use <= or >= (got '<')"),
    (("--slo", "p95_wait<=2"), "--slo p95_wait<=2: time 2.0 needs a unit"),
    (("--slo", "utilisation>=$3"), "--slo utilisation>=$3: '$3' is money"),
    (("--vary", "cluster.pools.0.count=6..16"), "--vary cluster.pools.0.count: trn2u.48xlarge is an UltraServer member"),
    (("--vary", "cluster.pools.0.count=8..16:2"), "--vary cluster.pools.0.count: trn2u.48xlarge is an UltraServer"),
    (("--vary", "cluster.pools.0.cont=8..16"), "--vary cluster.pools.0.cont: unknown key 'cont' (did you mean"),
    (("--vary", "scheduler.policy=1..2"), "--vary scheduler.policy: plan varies the size of a pool"),
    (("--vary", "cluster.pools.0.count=16..8"), "--vary cluster.pools.0.count: HI (8) is below LO (16)"),
    (("--vary", "cluster.pools.0.power=1MW..2MW"), "--vary cluster.pools.0.power: power needs a STEP"),
    (("--vary", "cluster.pools.0.count=8-16"), "--vary cluster.pools.0.count: expected LO..HI[:STEP]"),
])
def test_bad_plan_input_is_one_line_exit_2(tmp_path, args, message):
    defaults = {"--slo": "p95_wait<=2h", "--vary": "cluster.pools.0.count=8..32"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        defaults[flag] = value
    argv = [x for kv in defaults.items() for x in kv]
    proc = run_cli("plan", SCENARIOS / "quickstart.yaml", *argv, "--serial", "--out", tmp_path / "out")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), proc.stderr


def test_vary_ultraservers_and_power_steps(tmp_path):
    from sim.scenario import loader

    base = loader.load(SCENARIOS / "quickstart.yaml")
    v = planning.parse_vary("cluster.pools.0.ultraservers=2..5", base)
    assert v.values == [2, 3, 4, 5] and v.texts == ["2", "3", "4", "5"]
    v = planning.parse_vary("cluster.pools.0.count=8..20", base)
    assert v.values == [8, 12, 16, 20] and "one UltraServer" in v.step_note
    v = planning.parse_vary("cluster.pools.0.power=1MW..2MW:0.5MW", base)
    assert v.values == [1e6, 1.5e6, 2e6]
    path = write_scenario(tmp_path, TINY_HEAD)
    proc = run_cli("plan", path, "--slo", "avg_wait<=1h", "--vary", "cluster.pools.0.power=20kW..100kW:20kW",
                   "--seeds", "2", "--serial")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("answer: cluster.pools.0.power = "), proc.stdout


def test_queueing_helpers():
    assert queueing.erlang_c(1, 0.5) == pytest.approx(0.5)
    assert queueing.erlang_c(2, 1.0) == pytest.approx(1 / 3)
    # M/M/1: Wq = rho / (mu - lambda); P(W > t) = rho exp(-(mu - lambda) t)
    assert queueing.mmc_mean_wait(1, 0.5, 1.0) == pytest.approx(1.0)
    assert queueing.wait_quantile(1, 0.5, 1.0, 0.95) == pytest.approx(2 * __import__("math").log(0.5 / 0.05))
    assert queueing.allen_cunneen_mean_wait(1, 0.5, 1.0, 1.0, 0.0) == pytest.approx(0.5)  # M/D/1: P-K
    assert queueing.mmc_mean_wait(4, 5.0, 1.0) == float("inf")


def test_plan_finds_the_smallest_number_of_hot_spares(tmp_path):
    """`--vary cluster.pools.0.spares`: a 16-instance run on 24 instances failing every 4 days each
    (repair 1 day, fallback wait), so about 4 are in repair at a time. Without spares a failure
    stalls the run for a day (goodput ~0.3); goodput rises with the spares, and the plan's answer
    is the first count whose bound meets the SLO, the one below it failing."""
    scenario = {
        "name": "spares-small", "seed": 3, "horizon": "20d", "catalogue": ONE_CHIP_CATALOGUE,
        "cluster": {"pools": [{"name": "p", "instance": "hpc-node", "count": 24}]},
        "failures": {"mtbf_instance": "4d", "repair": "1d", "recovery": "spares", "fallback": "wait",
                     "checkpoint_write": "10s", "restart_overhead": "60s"},
        "workload": [{"generator": {"count": 1, "submit": "0s", "chips": 16, "duration": "60d"}}],
    }
    path = write_scenario(tmp_path, scenario)
    out = tmp_path / "plan"
    proc = run_cli("plan", path, "--slo", "goodput>=0.9", "--vary", "cluster.pools.0.spares=0..8", "--seeds", "3",
                   "--serial", "--out", out)
    assert proc.returncode == 0, proc.stderr
    data = json.loads((out / "plan.json").read_text())
    answer = data["answer"]
    assert data["verdict"] == "feasible" and 4 <= answer <= 7, proc.stdout
    probes = {p["value"]: p for p in data["probes"]}
    assert probes[answer]["meets_all"] and not probes[answer - 1]["meets_all"]
    assert not probes[0]["meets_all"]
    assert proc.stdout.startswith(f"answer: cluster.pools.0.spares = {answer} "), proc.stdout
    bad = run_cli("plan", path, "--slo", "goodput>=0.9", "--vary", "cluster.pools.0.spares=-1..8", "--serial")
    assert bad.returncode == 2 and "--vary cluster.pools.0.spares" in bad.stderr, bad.stderr
