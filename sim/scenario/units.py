"""Units of scenario values: time, rate, power, money and money rates.

Case-sensitive: `M` is mega, `m` is minute. Values are returned in SI base units
(seconds, events per second, watts, US dollars, dollars per second is avoided:
money rates are returned in dollars per hour).
"""

from __future__ import annotations

import math
import re

TIME_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 7 * 86400.0, "yr": 365 * 86400.0}
POWER_UNITS = {"W": 1.0, "kW": 1e3, "MW": 1e6, "GW": 1e9}
MONEY_SUFFIXES = {"": 1.0, "k": 1e3, "M": 1e6, "B": 1e9}
RATE_UNITS = {"s": 1.0, "h": 3600.0, "d": 86400.0}

_NUMBER = r"[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?"
_QUANTITY = re.compile(rf"^\s*({_NUMBER})\s*([A-Za-z]*)\s*$")
_MONEY = re.compile(rf"^\s*\$\s*({_NUMBER})\s*([kMB]?)\s*(?:/\s*(h|yr))?\s*$")
_RATE = re.compile(rf"^\s*({_NUMBER})\s*/\s*([A-Za-z]+)\s*$")


# What a value of each kind looks like, for the JSON Schema (`trnsim schema`); the parsers below decide.
TIME_PATTERN = rf"^\s*{_NUMBER}\s*({'|'.join(TIME_UNITS)})\s*$"
RATE_PATTERN = rf"^\s*{_NUMBER}\s*/\s*({'|'.join(RATE_UNITS)})\s*$"
POWER_PATTERN = rf"^\s*{_NUMBER}\s*({'|'.join(POWER_UNITS)})\s*$"
MONEY_PATTERN = rf"^\s*\$\s*{_NUMBER}\s*[kMB]?\s*$"
MONEY_PER_YEAR_PATTERN = rf"^\s*\$\s*{_NUMBER}\s*[kMB]?\s*(/\s*yr)?\s*$"


def _finite(value: float, text: object) -> float:
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def parse_time(value: object) -> float:
    """`90s`, `2h`, `3d`, `1.5yr` -> seconds. A bare 0 is accepted; other bare numbers are not."""
    if isinstance(value, bool):
        raise ValueError(f"expected a time such as '2h', got {value!r}")
    if isinstance(value, int | float):
        if value == 0:
            return 0.0
        raise ValueError(f"time {value!r} needs a unit ({', '.join(TIME_UNITS)}), e.g. '{value}s'")
    if not isinstance(value, str):
        raise ValueError(f"expected a time such as '2h', got {value!r}")
    m = _QUANTITY.match(value)
    if not m or m.group(2) not in TIME_UNITS:
        raise ValueError(
            f"cannot read time {value!r}: use a number and one of the units {', '.join(TIME_UNITS)} (e.g. '2h')"
        )
    return _finite(float(m.group(1)) * TIME_UNITS[m.group(2)], value)


def parse_rate(value: object) -> float:
    """`5/h`, `0.1/s`, `200/d` -> events per second."""
    if not isinstance(value, str):
        raise ValueError(f"expected a rate such as '5/h', got {value!r}")
    m = _RATE.match(value)
    if not m or m.group(2) not in RATE_UNITS:
        raise ValueError(f"cannot read rate {value!r}: use N/s, N/h or N/d (e.g. '5/h')")
    return _finite(float(m.group(1)) / RATE_UNITS[m.group(2)], value)


def parse_power(value: object) -> float:
    """`500W`, `2.5kW`, `100MW`, `5GW` -> watts."""
    if not isinstance(value, str):
        raise ValueError(f"expected a power such as '5GW', got {value!r}")
    m = _QUANTITY.match(value)
    if not m or m.group(2) not in POWER_UNITS:
        raise ValueError(f"cannot read power {value!r}: use W, kW, MW or GW (e.g. '100MW')")
    return _finite(float(m.group(1)) * POWER_UNITS[m.group(2)], value)


def _money(value: object, per: str | None) -> float:
    if not isinstance(value, str) or "$" not in value:
        raise ValueError(
            f"money must start with '$' (got {value!r}); quote it in a shell: --set 'x=$2.5M'"
        )
    m = _MONEY.match(value)
    if not m:
        raise ValueError(f"cannot read money {value!r}: use e.g. '$12', '$2.5k', '$2.5M', '$10B'")
    if m.group(3) != per:
        want = "an amount such as '$2.5M'" if per is None else f"a rate per {per}, e.g. '$35.76/{per}'"
        raise ValueError(f"expected {want}, got {value!r}")
    return _finite(float(m.group(1)) * MONEY_SUFFIXES[m.group(2)], value)


def parse_money(value: object) -> float:
    """`$12`, `$2.5k`, `$2.5M`, `$10B` -> dollars."""
    return _money(value, None)


def parse_money_per_hour(value: object) -> float:
    """`$35.76/h` -> dollars per hour."""
    return _money(value, "h")


def parse_money_per_year(value: object) -> float:
    """`$10B/yr` -> dollars per year (365 days)."""
    return _money(value, "yr")


def format_duration(seconds: float) -> str:
    """A short human reading of a duration: 45s, 12.5m, 3.2h, 4.1d."""
    if seconds is None or not math.isfinite(seconds):
        return "n/a"
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0)):
        if abs(seconds) >= size:
            value = seconds / size
            return f"{value:,.0f}{unit}" if abs(value) >= 1000 else f"{value:.3g}{unit}"
    return f"{seconds:.3g}s"
