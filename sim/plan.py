"""Capacity planning: the smallest size of a pool that meets every service-level objective.

A size is feasible when every `--slo` holds by its one-sided 90 % confidence bound over the
seeds (Student t on the per-seed values): an upper bound for `<=`, a lower bound for `>=`.
A run with `wait_censored: true` fails every wait SLO (its waits leave out the jobs that never
started); a size at which any job is rejected is infeasible. The search is an exponential
bracket then a bisection over the sizes LO, LO+STEP, ..., on the SLOs that improve with size;
the others are checked at the size found. When they fail there, the SLOs conflict: the answer
is "infeasible", with the closest size. `--vary cluster.pools.<i>.spares=LO..HI` searches the
smallest number of hot spares instead (failures.recovery: spares), on the SLOs that improve as
spares grow (goodput, waits, requeues, lost work).
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim import metric_registry as registry
from sim.errors import InputError, Problem
from sim.scenario import keypath, loader, units
from sim.scenario.cluster import SIZING_KEYS
from sim.sweep import Executor, Rows, Task, execute, load_point, make_tasks

CONFIDENCE = 0.90
# One-sided 90 % Student t quantiles t_{0.90}(df), df = 1..30 (standard tables).
T90 = (3.078, 1.886, 1.638, 1.533, 1.476, 1.440, 1.415, 1.397, 1.383, 1.372, 1.363, 1.356, 1.350, 1.345,
       1.341, 1.337, 1.333, 1.330, 1.328, 1.325, 1.323, 1.321, 1.319, 1.318, 1.316, 1.315, 1.314, 1.313,
       1.311, 1.310)
Z90 = 1.2816

# The metrics an SLO can name (sim.metric_registry's `slo`: mostly the key without its unit suffix):
# summary key -> the kind of value its limit is read as (time, fraction, energy, power, money, number).
SUMMARY_KEYS = {m.key: m.quantity for m in registry.SLOS.values()}
SLO_NAMES = {name: m.key for name, m in registry.SLOS.items()}
# Waits and completion times: they leave out jobs that never started, so a censored run fails them.
WAIT_FAMILY = {m.key for m in registry.SLOS.values() if m.group == "waits"}
# Metrics that get easier to meet as the cluster grows, with `<=` (shrink) or `>=` (grow): the
# bisection's predicate.
SHRINK_WITH_SIZE = {m.key for m in registry.SLOS.values() if m.with_size == "shrinks"}
GROW_WITH_SIZE = {m.key for m in registry.SLOS.values() if m.with_size == "grows"}
# ... and as a pool holds more hot spares (`--vary cluster.pools.<i>.spares`): fewer waits for a spare,
# fewer requeues, more goodput. (Cost is neither: more spares cost more but lose less.)
SHRINK_WITH_SPARES = {m.key for m in registry.SLOS.values() if m.with_spares == "shrinks"}
GROW_WITH_SPARES = {m.key for m in registry.SLOS.values() if m.with_spares == "grows"}


def t90(df: int) -> float:
    if df <= 0:
        return 0.0
    if df <= len(T90):
        return T90[df - 1]
    z = Z90  # Cornish-Fisher expansion of the t quantile
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


# --- --slo 'p95_wait<=2h' ------------------------------------------------------------------------

@dataclass(frozen=True)
class Slo:
    text: str
    name: str
    key: str  # summary key
    op: str  # "<=" or ">="
    limit: float  # in the summary key's unit

    @property
    def improves_with_size(self) -> bool:
        return (self.op == "<=" and self.key in SHRINK_WITH_SIZE) or (self.op == ">=" and self.key in GROW_WITH_SIZE)

    def improves_with(self, sizing: str) -> bool:
        """Whether this SLO gets easier to meet as `--vary`'s value grows (the search's predicate)."""
        if sizing != "spares":
            return self.improves_with_size
        return (self.op == "<=" and self.key in SHRINK_WITH_SPARES) or (self.op == ">=" and self.key in GROW_WITH_SPARES)

    def show(self, value: float | None) -> str:
        return show_value(SUMMARY_KEYS[self.key], value)


def show_value(kind: str, value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if math.isinf(value):
        return "inf"
    if kind == "time":
        return units.format_duration(value)
    if kind == "money":
        return f"${value:,.2f}" if abs(value) < 1000 else f"${value:,.0f}"
    if kind == "fraction":
        return f"{value:.1%}"
    return f"{value:,.4g}"


_SLO = re.compile(r"^\s*([A-Za-z0-9_.]+)\s*(<=|>=|<|>|==|=)\s*(.*?)\s*$")


def parse_slo(text: str) -> Slo:
    m = _SLO.match(text)
    if not m:
        raise InputError(Problem(f"--slo {text}: expected METRIC<=VALUE or METRIC>=VALUE, e.g. 'p95_wait<=2h'"))
    name, op, value = m.groups()
    if op not in ("<=", ">="):
        raise InputError(Problem(f"--slo {text}: use <= or >= (got {op!r})"))
    if name not in SLO_NAMES:
        raise InputError(Problem(f"--slo {text}: unknown metric {name!r}{keypath.did_you_mean(name, list(SLO_NAMES))}"
                                 f" (names are summary keys without their unit suffix)"))
    key = SLO_NAMES[name]
    kind = SUMMARY_KEYS[key]
    try:
        limit = parse_limit(kind, value)
    except ValueError as exc:
        raise InputError(Problem(f"--slo {text}: {exc}")) from None
    return Slo(text, name, key, op, limit)


def parse_limit(kind: str, value: str) -> float:
    if not value:
        raise ValueError("no value")
    if kind == "time":
        return units.parse_time(value if not _plain_number(value) else float(value))
    if kind == "money":
        return units.parse_money(value)
    if "$" in value:
        raise ValueError(f"{value!r} is money, but this metric is not")
    if kind == "power":
        return units.parse_power(value) / 1e6
    if kind == "energy":
        value = value.removesuffix("MWh")
    if kind == "fraction" and value.endswith("%"):
        return float(value[:-1]) / 100
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"cannot read {value!r} as a number") from None


def _plain_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --- --vary cluster.pools.0.count=LO..HI[:STEP] -------------------------------------------------

@dataclass
class Vary:
    path: str
    sizing: str  # count | ultraservers | chips | power | budget | purchase
    values: list[float]
    texts: list[str]  # what each candidate is set to (`--set` syntax)
    step_note: str


_RANGE = re.compile(r"^(.+?)\.\.(.+?)(?::(.+))?$")


def parse_vary(text: str, base: loader.LoadedScenario) -> Vary:
    path, sep, rest = text.partition("=")
    path = path.strip()
    where = path or text

    def bad(message: str) -> InputError:
        return InputError(Problem(f"--vary {where}: {message}"))

    if not sep or not path:
        raise bad("expected PATH=LO..HI[:STEP], e.g. cluster.pools.0.count=16..256")
    parts = keypath.split_path(path)
    if len(parts) != 4 or parts[:2] != ["cluster", "pools"] or not isinstance(parts[2], int) \
            or parts[3] not in (*SIZING_KEYS, "spares"):
        reason = loader.check_path(path)
        raise bad(reason or "plan varies the size of a pool: cluster.pools.<i>.<count | ultraservers | chips | "
                            "power | budget | purchase>, or its hot spares: cluster.pools.<i>.spares")
    pools = base.model.cluster.pools
    if not 0 <= parts[2] < len(pools):
        raise bad(f"index {parts[2]} is out of range ({len(pools)} pools)")
    sizing = str(parts[3])
    m = _RANGE.match(rest.strip())
    if not m:
        raise bad(f"expected LO..HI[:STEP], got {rest.strip()!r}")
    lo_t, hi_t, step_t = (g.strip() if g else g for g in m.groups())
    pool = pools[parts[2]]
    cat = base.catalogue
    domain = cat.domain_size(pool.instance) if pool.instance in cat.instances else 1
    chips_per = cat.instances[pool.instance].chips or 1 if pool.instance in cat.instances else 1  # loaded: known
    lo: float
    hi: float
    step: float
    fmt: Callable[[float], str]
    try:
        if sizing == "spares":  # a count of instances, from none up
            lo, hi = _integer(lo_t), _integer(hi_t)
            step = _integer(step_t) if step_t else 1
            note = "" if step_t else "step 1 (default: one instance)"
            if lo < 0:
                raise ValueError("LO must be >= 0")
            fmt = str
        elif sizing in ("count", "ultraservers", "chips"):
            lo, hi = _integer(lo_t), _integer(hi_t)
            default_step = {"count": domain, "ultraservers": 1, "chips": chips_per * domain}[sizing]
            step = _integer(step_t) if step_t else default_step
            note = "" if step_t else f"step {step} (default: {'one UltraServer' if domain > 1 else 'one instance'})"
            if sizing == "count" and domain > 1 and (lo % domain or step % domain):
                raise ValueError(f"{pool.instance} is an UltraServer member of {domain} instances: LO and STEP "
                                 f"must be multiples of {domain}")
            if sizing == "ultraservers" and domain == 1:
                raise ValueError(f"{pool.instance} is not an UltraServer member; vary its count")
            fmt = str
        else:
            if not step_t:
                raise ValueError(f"{sizing} needs a STEP, e.g. " + {"power": "1MW..20MW:1MW",
                                                                    "purchase": "'$1M..$20M:$1M'"}.get(
                    sizing, "'$1M/yr..$20M/yr:$1M/yr'"))
            parse = {"power": units.parse_power, "purchase": units.parse_money}.get(sizing, units.parse_money_per_year)
            lo, hi, step = parse(lo_t), parse(hi_t), parse(step_t)
            note = ""
            fmt = {"power": lambda v: f"{v:.12g}W", "purchase": lambda v: f"${v:.12g}"}.get(
                sizing, lambda v: f"${v:.12g}/yr")
    except ValueError as exc:
        raise bad(str(exc)) from None
    if (lo <= 0 and sizing != "spares") or step <= 0:
        raise bad("LO and STEP must be > 0")
    if hi < lo:
        raise bad(f"HI ({hi_t}) is below LO ({lo_t})")
    count = int(math.floor((hi - lo) / step + 1e-9)) + 1
    if count > 100_000:
        raise bad(f"{count:,} sizes: use a larger STEP")
    values = [lo + k * step for k in range(count)]
    return Vary(path, sizing, values, [fmt(v) for v in values], note)


def _integer(text: str) -> int:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a whole number, got {text!r}") from None
    if value != int(value):
        raise ValueError(f"expected a whole number, got {text!r}")
    return int(value)


# --- evaluating one size ----------------------------------------------------------------------

@dataclass
class Check:
    """One SLO at one size: per-seed values, their mean and the one-sided 90 % bound."""

    slo: Slo
    values: list[float | None]
    mean: float | None
    bound: float | None
    met: bool
    why: str = ""
    improving: bool = False  # the SLO gets easier as the varied value grows


@dataclass
class Probe:
    index: int
    value: float
    text: str
    rows: list[dict[str, Any]]
    checks: list[Check]
    rejected: int
    errors: list[str]

    @property
    def chips(self) -> int | None:
        ok = [r["chips"] for r in self.rows if r.get("chips") is not None]
        return int(ok[0]) if ok else None

    @property
    def improving_ok(self) -> bool:
        return not self.errors and not self.rejected and all(c.met for c in self.checks if c.improving)

    @property
    def all_ok(self) -> bool:
        return not self.errors and not self.rejected and all(c.met for c in self.checks)


def check(slo: Slo, rows: list[dict[str, Any]], improving: bool = False) -> Check:
    values = [r.get(slo.key) for r in rows]
    numbers = [float(v) for v in values if v is not None]
    mean = statistics.fmean(numbers) if numbers else None
    if len(numbers) != len(values) or mean is None:
        return Check(slo, values, mean, None, False, "no value in some run", improving)
    n = len(numbers)
    half = t90(n - 1) * statistics.stdev(numbers) / math.sqrt(n) if n > 1 else 0.0
    bound = mean + half if slo.op == "<=" else mean - half
    met = bound <= slo.limit if slo.op == "<=" else bound >= slo.limit
    why = ""
    if slo.key in WAIT_FAMILY and any(r.get("wait_censored") for r in rows):
        met, why = False, "waits censored (some jobs never started)"
    return Check(slo, values, mean, bound, met, why, improving)


@dataclass
class Plan:
    vary: Vary
    slos: list[Slo]
    seeds: list[int]
    probes: dict[int, Probe] = field(default_factory=dict)
    ran: int = 0  # runs made by this command; the others were reused from --out's rows
    answer: int | None = None  # index into vary.values
    closest: int | None = None
    verdict: str = ""


def search(vary: Vary, slos: list[Slo], evaluate: Callable[[int], Probe]) -> tuple[int | None, int | None, str]:
    """(answer index, closest index, verdict): exponential bracket, bisection, then the other SLOs."""
    n = len(vary.values)
    last_bad, step, good = -1, 1, None
    while True:
        i = min(last_bad + step, n - 1)
        if evaluate(i).improving_ok:
            good = i
            break
        last_bad = i
        if i == n - 1:
            break
        step *= 2
    if good is None:
        return None, n - 1, "infeasible: not met even at the largest size"
    while good - last_bad > 1:
        mid = (last_bad + good) // 2
        if evaluate(mid).improving_ok:
            good = mid
        else:
            last_bad = mid
    probe = evaluate(good)
    if probe.all_ok:
        return good, good, "feasible"
    failing = ", ".join(c.slo.text for c in probe.checks if not c.met)
    return None, good, (f"infeasible: the SLOs conflict ({failing} fails at the smallest size meeting the others, "
                        "and grows harder with size)")


def plan(scenario: Path, vary: Vary, slos: list[Slo], seeds: list[int], executor: Executor,
         rows: Rows, *, sets: tuple[str, ...] = (), ci: bool = False,
         progress: Callable[[int, int, dict[str, Any]], None] | None = None) -> Plan:
    """The smallest size of `vary` (parsed against the loaded base scenario) meeting every SLO."""
    result = Plan(vary, slos, seeds)
    loaded_cache: dict[int, Any] = {}

    def tasks_for(i: int) -> list[Task]:
        point = [(vary.path, vary.texts[i], _cell(vary, i))]
        loaded = loaded_cache.get(i) or load_point(scenario, sets, ci, point, flag="--vary")
        loaded_cache[i] = loaded
        return make_tasks(loaded, point, seeds)

    # the ends of the range must be valid scenarios before anything runs
    tasks_for(0)
    tasks_for(len(vary.values) - 1)

    def evaluate(i: int) -> Probe:
        if i in result.probes:
            return result.probes[i]
        got = execute(tasks_for(i), rows, executor, progress)
        errors = [r["error"] for r in got if r.get("error")]
        rejected = sum(int(r.get("jobs_rejected") or 0) for r in got)
        probe = Probe(i, vary.values[i], vary.texts[i], got, [check(s, got, s.improves_with(vary.sizing)) for s in slos], rejected, errors)
        result.probes[i] = probe
        return probe

    result.answer, result.closest, result.verdict = search(vary, slos, evaluate)
    result.ran = rows.added
    rows.rebuild()
    return result


def _cell(vary: Vary, i: int) -> Any:
    v = vary.values[i]
    return int(v) if vary.sizing in ("count", "ultraservers", "chips", "spares") else vary.texts[i]


def show_size(vary: Vary, i: int) -> str:
    v = vary.values[i]
    if vary.sizing == "power":
        return f"{v / 1e6:,.6g}MW"
    if vary.sizing == "budget":
        return f"${v:,.0f}/yr"
    if vary.sizing == "purchase":
        return f"${v:,.0f}"
    return f"{int(v):,}"


from sim.callable_module import make_callable  # noqa: E402  (`sim.plan(...)` is sim.api.plan: see that module)

make_callable(__name__)
