"""Pools bought outright (`pools[].purchase`): sized by their whole life's price, paid when they
come online (docs/power-and-growth.md, "Money"), on hand-worked tranches.

A trn2.48xlarge costs $35.76/h on demand (the catalogue's figure); at a reserved discount of 0.5,
$17.88/h.
"""

from __future__ import annotations

import pytest
from conftest import SCENARIOS, run_cli, run_scenario, simulate_in_process, write_scenario

from sim import plan as planning

# a: $1M buys floor(1e6 / ($35.76 x 17,520 h)) = floor(1.596) = 1 instance, paid $626,515.20 at 0.
# b: $3M at half price buys floor(3e6 / ($17.88 x 17,520 h)) = floor(9.577) = 9 instances,
#    paid 9 x $313,257.60 = $2,819,318.40 when it comes online at 365 d.
A_USD = 35.76 * 17520
B_USD = 9 * 17.88 * 17520
TWO_TRANCHES = """\
name: two-tranches
horizon: 730d
cluster:
  pools:
    - {name: a, instance: trn2.48xlarge, purchase: $1M, retire: 730d}
    - {name: b, instance: trn2.48xlarge, purchase: $3M, pricing: {reserved: {discount: 0.5}},
       online: 365d, retire: 1095d}
workload:
  - jobs:
      - {id: j1, submit: 0, chips: 16, duration: 100d}
      - {id: j2, submit: 365d, chips: 32, duration: 100d}
scheduler: {policy: fifo}
"""


def test_two_tranches_cost_their_purchase_prices(tmp_path):
    run = run_scenario(tmp_path, TWO_TRANCHES)
    s = run.summary
    assert (s["pool.a.chips"], s["pool.b.chips"]) == (16, 144)
    assert s["cost_usd"] == pytest.approx(A_USD + B_USD, rel=1e-12)
    assert s["cost_usd"] == pytest.approx(3_445_833.60, abs=0.01)
    # 16 chips x 100 d + 32 chips x 100 d, at 667 TFLOPS x MFU 0.4 / 1000 each chip-day
    assert s["usd_per_useful_pflop_day"] == pytest.approx(3_445_833.60 / (4800 * 0.2668))
    report = (run.path / "report.md").read_text()
    assert "## Per year" in report


def test_each_purchase_is_spent_in_the_year_its_pool_comes_online():
    from sim import metrics

    y1, y2 = metrics.per_year(simulate_in_process(TWO_TRANCHES))
    assert y1["spend_usd"] == pytest.approx(A_USD, rel=1e-12)
    assert y2["spend_usd"] == pytest.approx(B_USD, rel=1e-12)
    assert y1["usd_per_useful_pflop_day"] == pytest.approx(A_USD / (1600 * 0.2668))
    # nothing is lost (no failures, no preemptions): every busy chip-second is useful
    assert y1["goodput"] == pytest.approx(1.0) and y2["goodput"] == pytest.approx(1.0)


def test_a_purchase_online_before_the_first_submission_is_still_paid():
    """Without a horizon the window starts at the first submission (1 d here); the pool came
    online at 0 and is paid in full all the same. A pool paid per hour would cost 1 d less."""
    result = simulate_in_process(TWO_TRANCHES.replace("horizon: 730d\n", "")
                                 .replace("submit: 0,", "submit: 1d,"))
    assert result.summary["cost_usd"] == pytest.approx(A_USD + B_USD, rel=1e-12)


def test_the_sizing_sheet_shows_the_arithmetic(tmp_path):
    proc = run_cli("topology", write_scenario(tmp_path, TWO_TRANCHES), check=True)
    assert ("a: purchase $1M / ($35.76/h per instance at on_demand pricing x 17,520 h from online to retire) "
            "= 1.60 -> 1 instances (whole instances), $626,515 paid when it comes online") in proc.stdout


def test_set_purchase_replaces_the_other_sizing_key(tmp_path):
    scenario = TWO_TRANCHES.replace("purchase: $1M", "count: 4")
    result = simulate_in_process(scenario, "cluster.pools.0.purchase=$1M")
    assert result.summary["pool.a.chips"] == 16


@pytest.mark.parametrize("old,new,needle,field,message", [
    (", retire: 730d}", "}", "purchase: $1M", "cluster.pools.0.purchase",
     "a purchase pays for the pool's life from online to retire: give the pool a retire time"),
    ("purchase: $1M", "purchase: $0", "purchase: $0", "cluster.pools.0.purchase", "Input should be greater than 0"),
    ("purchase: $1M", "purchase: 1M", "purchase: 1M", "cluster.pools.0.purchase", "money must start with '$'"),
    ("purchase: $1M", "purchase: $100k", "purchase: $100k", "cluster.pools.0.purchase",
     "sizing by purchase leaves no whole instance of trn2.48xlarge"),
    ("purchase: $1M, retire", "purchase: $1M, count: 1, retire", "- {name: a", "cluster.pools.0",
     "a pool has exactly one sizing key, got count, purchase"),
])
def test_bad_purchases_are_located(tmp_path, old, new, needle, field, message):
    text = TWO_TRANCHES.replace(old, new, 1)
    path = write_scenario(tmp_path, text)
    proc = run_cli("validate", path)
    assert proc.returncode == 2, proc.stdout
    line_no = next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)
    col = text.splitlines()[line_no - 1].index(needle.lstrip("- ")) + 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"{path}:{line_no}:{col}: {field}: {message}"), lines[0]


def test_commitment_pricing_cannot_be_bought(tmp_path):
    text = TWO_TRANCHES.replace("pricing: {reserved: {discount: 0.5}}", "pricing: {commitment: {usd_per_year: $1M/yr}}")
    path = write_scenario(tmp_path, text)
    proc = run_cli("validate", path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"{path}:6:7: cluster.pools.1: a pool with commitment pricing cannot be sized by purchase"


def test_plan_varies_a_purchase():
    from sim.scenario import loader

    base = loader.load(SCENARIOS / "campus-decade.yaml")
    v = planning.parse_vary("cluster.pools.0.purchase=$1B..$3B:$1B", base)
    assert v.values == [1e9, 2e9, 3e9] and v.texts == ["$1000000000", "$2000000000", "$3000000000"]
    assert planning.show_size(v, 1) == "$2,000,000,000"
