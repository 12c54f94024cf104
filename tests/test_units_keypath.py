"""Units of scenario values (sim.scenario.units) and key paths for overrides (sim.scenario.keypath)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.errors import InputError
from sim.scenario import keypath, units

H = 3600.0
D = 86400.0


# --- time ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90.0), ("1.5m", 90.0), ("2h", 2 * H), ("3d", 3 * D), ("1w", 7 * D),
    ("1yr", 365 * D), ("1yr", 8760 * H), ("0.5h", 1800.0), (".5h", 1800.0), ("1e3s", 1000.0),
    ("0s", 0.0), (" 2 h ", 2 * H), (0, 0.0),
])
def test_time(text, seconds):
    assert units.parse_time(text) == pytest.approx(seconds, rel=1e-12)


def test_time_is_case_sensitive_m_is_minute_and_M_is_not_a_time():
    assert units.parse_time("1m") == 60.0
    for bad in ("1M", "2H", "1S", "1D", "1YR", "1Yr"):
        with pytest.raises(ValueError, match="cannot read time"):
            units.parse_time(bad)


@pytest.mark.parametrize("bad", ["2 hours", "2hr", "1y", "h", "", "-1s", "1e999s", "nan s", "2h30m"])
def test_time_rejects(bad):
    with pytest.raises(ValueError):
        units.parse_time(bad)


@pytest.mark.parametrize("bad", [5, 2.5, True, None, [1]])
def test_time_needs_a_string_with_a_unit_except_zero(bad):
    with pytest.raises(ValueError):
        units.parse_time(bad)


def test_bare_number_time_error_names_the_units():
    with pytest.raises(ValueError, match=r"needs a unit.*'5s'"):
        units.parse_time(5)


# --- rates -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "per_second"), [
    ("5/s", 5.0), ("5/h", 5 / H), ("200/d", 200 / D), ("0.5 / h", 0.5 / H), ("1e2/d", 100 / D),
])
def test_rate(text, per_second):
    assert units.parse_rate(text) == pytest.approx(per_second, rel=1e-12)


@pytest.mark.parametrize("bad", ["5/hr", "5/H", "5h", "5", "/h", "5/yr", "-5/h", 5, None])
def test_rate_rejects(bad):
    with pytest.raises(ValueError):
        units.parse_rate(bad)


# --- power -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "watts"), [
    ("500W", 500.0), ("2.5kW", 2500.0), ("100MW", 1e8), ("5GW", 5e9), ("1.5 MW", 1.5e6),
])
def test_power(text, watts):
    assert units.parse_power(text) == pytest.approx(watts, rel=1e-12)


@pytest.mark.parametrize("bad", ["5gw", "5Gw", "2.5kw", "100mW", "5 watts", "5", 5e9, "-5W"])
def test_power_rejects(bad):
    with pytest.raises(ValueError):
        units.parse_power(bad)


# --- money -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "dollars"), [
    ("$12", 12.0), ("$2.5k", 2500.0), ("$2.5M", 2.5e6), ("$10B", 1e10), ("$0", 0.0), ("$ 12", 12.0),
])
def test_money(text, dollars):
    assert units.parse_money(text) == pytest.approx(dollars, rel=1e-12)


def test_money_rates():
    assert units.parse_money_per_year("$10B/yr") == pytest.approx(1e10)
    assert units.parse_money_per_hour("$35.76/h") == pytest.approx(35.76)
    assert units.parse_money_per_hour("$2.5k/h") == pytest.approx(2500.0)


@pytest.mark.parametrize("bad", ["12", "2.5M", 12, 2.5e6, None])
def test_money_without_dollar_is_refused_loudly(bad):
    with pytest.raises(ValueError, match=r"must start with '\$'"):
        units.parse_money(bad)


@pytest.mark.parametrize("bad", ["$2.5m", "$2.5K", "$10b", "$-5", "$", "$12 dollars", "$1e999"])
def test_money_rejects(bad):
    with pytest.raises(ValueError):
        units.parse_money(bad)


def test_amount_and_rate_are_not_interchangeable():
    with pytest.raises(ValueError):
        units.parse_money("$10B/yr")
    with pytest.raises(ValueError):
        units.parse_money_per_year("$10B")
    with pytest.raises(ValueError):
        units.parse_money_per_hour("$35.76/yr")
    with pytest.raises(ValueError):
        units.parse_money_per_year("$35.76/h")


# --- unit round trips ------------------------------------------------------------------------

magnitudes = st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False)


@settings(max_examples=50, deadline=None)
@given(x=magnitudes, unit=st.sampled_from(sorted(units.TIME_UNITS)))
def test_time_round_trip(x, unit):
    assert units.parse_time(f"{x!r}{unit}") == pytest.approx(x * units.TIME_UNITS[unit], rel=1e-12)


@settings(max_examples=50, deadline=None)
@given(x=magnitudes, unit=st.sampled_from(sorted(units.POWER_UNITS)))
def test_power_round_trip(x, unit):
    assert units.parse_power(f"{x!r}{unit}") == pytest.approx(x * units.POWER_UNITS[unit], rel=1e-12)


@settings(max_examples=50, deadline=None)
@given(x=magnitudes, suffix=st.sampled_from(["", "k", "M", "B"]), per=st.sampled_from([None, "h", "yr"]))
def test_money_round_trip(x, suffix, per):
    scale = {"": 1.0, "k": 1e3, "M": 1e6, "B": 1e9}[suffix]
    parse = {None: units.parse_money, "h": units.parse_money_per_hour, "yr": units.parse_money_per_year}[per]
    text = f"${x!r}{suffix}" + (f"/{per}" if per else "")
    assert parse(text) == pytest.approx(x * scale, rel=1e-12)


@settings(max_examples=50, deadline=None)
@given(x=st.floats(min_value=1e-6, max_value=1e6), unit=st.sampled_from(["s", "h", "d"]))
def test_rate_round_trip(x, unit):
    seconds = {"s": 1.0, "h": H, "d": D}[unit]
    assert units.parse_rate(f"{x!r}/{unit}") * seconds == pytest.approx(x, rel=1e-12)


# --- key paths: splitting and values ---------------------------------------------------------

def test_split_path():
    assert keypath.split_path("workload.0.generator.count") == ["workload", 0, "generator", "count"]
    assert keypath.split_path("scheduler.policy") == ["scheduler", "policy"]
    assert keypath.split_path("cluster.pools.-1.count") == ["cluster", "pools", -1, "count"]
    assert keypath.split_path("seed") == ["seed"]


@pytest.mark.parametrize(("text", "path", "value"), [
    ("workload.0.generator.count=8", "workload.0.generator.count", 8),
    ("scheduler.policy=fifo", "scheduler.policy", "fifo"),
    ("horizon=2h", "horizon", "2h"),
    ("cluster.pools.0.budget=$2.5M", "cluster.pools.0.budget", "$2.5M"),
    ("cluster.pue=1.2", "cluster.pue", 1.2),
    ("x.values=[1, 4]", "x.values", [1, 4]),
    ("x.weights=[0.5, 0.5]", "x.weights", [0.5, 0.5]),
    ("x={poisson: {rate: 5/h}}", "x", {"poisson": {"rate": "5/h"}}),
    ("scheduler.kill_at_limit=true", "scheduler.kill_at_limit", True),
    ("x='no'", "x", "no"),
    ("x=a=b", "x", "a=b"),         # only the first '=' separates
    (" seed = 3", "seed", 3),
])
def test_parse_assignment_reads_yaml_scalars(text, path, value):
    assert keypath.parse_assignment(text) == (path, value)


@pytest.mark.parametrize("bad", ["seed", "=3", "x=[1, 2"])
def test_parse_assignment_rejects(bad):
    with pytest.raises(InputError) as info:
        keypath.parse_assignment(bad)
    assert str(info.value).startswith("--set ")


# --- key paths: applying ---------------------------------------------------------------------

def scenario() -> dict:
    return {
        "name": "t",
        "cluster": {"pools": [{"name": "a", "instance": "trn2.48xlarge", "count": 2},
                              {"name": "b", "instance": "trn2u.48xlarge", "ultraservers": 1}]},
        "workload": [{"generator": {"count": 5, "chips": 4, "duration": "1h"}},
                     {"jobs": [{"id": "j", "chips": 1, "duration": "1h"}]}],
    }


def test_apply_into_nested_mappings_and_lists():
    data = scenario()
    keypath.apply(data, "workload.0.generator.count", 8)
    keypath.apply(data, "workload.1.jobs.0.chips", 16)
    keypath.apply(data, "cluster.pools.-1.name", "last")
    keypath.apply(data, "workload.0.generator.chips", {"choice": {"values": [1, 4]}})
    assert data["workload"][0]["generator"] == {"count": 8, "chips": {"choice": {"values": [1, 4]}},
                                                "duration": "1h"}
    assert data["workload"][1]["jobs"][0]["chips"] == 16
    assert data["cluster"]["pools"][1]["name"] == "last"


def test_apply_creates_missing_mappings():
    data = scenario()
    keypath.apply(data, "scheduler.policy", "fifo")
    keypath.apply(data, "cluster.topology.slowdown.pod", 1.2)
    assert data["scheduler"] == {"policy": "fifo"}
    assert data["cluster"]["topology"] == {"slowdown": {"pod": 1.2}}


def test_apply_replaces_a_whole_list_entry():
    data = scenario()
    keypath.apply(data, "workload.1", {"jobs": []})
    assert data["workload"][1] == {"jobs": []}


@pytest.mark.parametrize(("path", "message"), [
    ("workload.2.generator.count", "index 2 is out of range"),
    ("workload.-3.generator.count", "out of range"),
    ("workload.2", "out of range"),
    ("cluster.pools.0.count.x", "is a value, not a mapping"),
    ("cluster.pools.name.x", "use an index"),
    ("cluster.pools.name", "use an index"),
    ("cluster.0", "is a mapping, not a list"),
])
def test_apply_refuses_paths_that_do_not_fit(path, message):
    data = scenario()
    before = repr(data)
    with pytest.raises(InputError) as info:
        keypath.apply(data, path, 1)
    (problem,) = info.value.problems
    assert str(problem).startswith(f"--set {path}: ")
    assert message in problem.message
    assert repr(data) == before, "a refused override must not change the scenario"


@pytest.mark.parametrize("key", ["count", "ultraservers", "chips", "power", "budget"])
def test_setting_one_pool_sizing_key_replaces_the_other(key):
    data = scenario()
    keypath.apply(data, f"cluster.pools.0.{key}", "VALUE")
    keypath.apply(data, f"cluster.pools.1.{key}", "VALUE")
    for pool in data["cluster"]["pools"]:
        assert {k: v for k, v in pool.items() if k not in ("name", "instance")} == {key: "VALUE"}


def test_sizing_names_outside_pools_are_ordinary_keys():
    data = scenario()
    keypath.apply(data, "workload.0.generator.chips", 8)   # a generator has both count and chips
    assert data["workload"][0]["generator"]["count"] == 5
    assert data["workload"][0]["generator"]["chips"] == 8


def test_a_path_value_is_relative_to_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = scenario()
    keypath.apply(data, "workload.1", {"trace": {}})
    keypath.apply(data, "workload.1.trace.path", "traces/x.csv")
    assert data["workload"][1]["trace"]["path"] == os.path.join(str(tmp_path), "traces/x.csv")
    keypath.apply(data, "workload.1.trace.path", "y.csv", cwd_paths=False)  # a scenario's own ci: block
    assert data["workload"][1]["trace"]["path"] == "y.csv"


# --- key path properties ---------------------------------------------------------------------

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
key_paths = st.lists(names, min_size=1, max_size=5)
values = st.one_of(st.integers(-10**9, 10**9), st.lists(st.integers(0, 1000), max_size=5))


def get(data, parts):
    for p in parts:
        data = data[p]
    return data


@settings(max_examples=50, deadline=None)
@given(parts=key_paths, value=values)
def test_assignment_round_trip(parts, value):
    """`PATH=VALUE` written from a value reads back as that value, and lands at that path."""
    path = ".".join(parts)
    parsed_path, parsed = keypath.parse_assignment(f"{path}={value}")
    assert (parsed_path, parsed) == (path, value)
    data: dict = {}
    keypath.apply(data, parsed_path, parsed)
    assert get(data, parts) == value


@settings(max_examples=50, deadline=None)
@given(index=st.integers(-4, 3), value=st.integers(0, 100))
def test_apply_list_index_touches_only_that_entry(index, value):
    data = {"xs": [{"v": i} for i in range(4)]}
    keypath.apply(data, f"xs.{index}.v", value)
    expected = [{"v": i} for i in range(4)]
    expected[index]["v"] = value
    assert data == {"xs": expected}


@settings(max_examples=50, deadline=None)
@given(index=st.one_of(st.integers(4, 10**6), st.integers(-10**6, -5)))
def test_apply_out_of_range_index_is_refused(index):
    data = {"xs": [{"v": i} for i in range(4)]}
    with pytest.raises(InputError, match="out of range"):
        keypath.apply(data, f"xs.{index}.v", 1)
    assert data == {"xs": [{"v": i} for i in range(4)]}

