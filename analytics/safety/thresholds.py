"""Named rule thresholds with documented defaults, and per-enterprise / per-meter overrides from a YAML file.

Every default carries its source and a confidence (high: read in the cited text; medium: cited practice or a
secondary source; low: an engineering choice of this project). `docs/safety.md` prints the same table.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from core.registry.yamlnodes import Located, YamlFileError, load_located


class RulesFileError(ValueError):
    """An override file that cannot be used; the message names FILE:LINE and the key."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Rule parameters for one meter (defaults below; an override file changes any of them)."""

    # residual (leakage) current, mA
    leakage_pre_ma: float = 200.0
    leakage_alarm_ma: float = 300.0
    leakage_critical_ma: float = 1000.0
    # cable / switchgear temperature, degC
    temp_pre_c: float = 60.0
    temp_alarm_c: float = 70.0
    temp_critical_c: float = 90.0
    # fast temperature rise within a trailing window
    temp_rise_window_s: float = 600.0
    temp_rise_pre_c: float = 10.0
    temp_rise_alarm_c: float = 20.0
    # overload: current / rated current of the circuit
    rated_current_a: float | None = None  # from the registry (meters.rated_current_a) unless overridden
    overload_pre_ratio: float = 0.9
    overload_alarm_ratio: float = 1.05
    overload_critical_ratio: float = 1.30
    # supply voltage deviation, % of nominal phase voltage
    nominal_voltage_v: float = 220.0
    supply: str = "three_phase"  # three_phase (380 V) or single_phase (220 V)
    voltage_high_pre_pct: float = 7.0
    voltage_high_alarm_pct: float = 10.0
    voltage_high_critical_pct: float = 20.0
    voltage_low_pre_pct: float | None = None  # None: -7 % three-phase, -10 % single-phase (GB/T 12325)
    voltage_low_alarm_pct: float | None = None  # None: -10 % three-phase, -15 % single-phase
    voltage_low_critical_pct: float = -30.0
    voltage_hysteresis_pct: float = 1.0  # an open voltage alarm releases 1 %-point inside the pre-alarm limit
    # phase current imbalance (max - min) / max, where phase currents are reported
    imbalance_pre_ratio: float = 0.15
    imbalance_alarm_ratio: float = 0.30
    imbalance_min_current_a: float = 5.0
    # night-time load while the plant is closed (only when closed_hours is set)
    closed_hours: str | None = None  # "HH:MM-HH:MM" local time, may wrap midnight
    closed_weekdays: tuple[int, ...] = ()  # whole days closed, 0 = Monday
    night_load_ratio: float = 0.30  # current / rated current ...
    night_load_kw: float | None = None  # ... or active power above this (kW)
    # debounce
    open_readings: int = 3  # the condition holds this many consecutive readings ...
    open_seconds: float = 120.0  # ... or this long (at least two readings), then the alarm opens
    clear_readings: int = 3  # the condition is gone this many consecutive readings ...
    clear_seconds: float = 300.0  # ... or this long (at least two readings), then the alarm closes
    hysteresis: float = 0.05  # the release level is the pre-alarm level moved by this fraction
    critical_immediate: tuple[str, ...] = ("leakage", "over_temp")  # rules whose critical reading opens at once
    max_gap_s: float = 900.0  # a silence longer than this restarts the debounce count

    def low_pcts(self) -> tuple[float, float]:
        """(pre-alarm, alarm) under-voltage limits in %, filled from the supply type when not set."""
        pre, alarm = (-10.0, -15.0) if self.supply == "single_phase" else (-7.0, -10.0)
        return (
            self.voltage_low_pre_pct if self.voltage_low_pre_pct is not None else pre,
            self.voltage_low_alarm_pct if self.voltage_low_alarm_pct is not None else alarm,
        )

    def closed_window(self) -> tuple[int, int] | None:
        """`closed_hours` as (start, end) minutes of the day, or None."""
        if not self.closed_hours:
            return None
        return _parse_hours(self.closed_hours)


DEFAULTS: Final = Thresholds()

SOURCES: Final[dict[str, tuple[str, str]]] = {
    "leakage_alarm_ma": (
        "GB 50116-2013 §9.2.3 and its commentary: alarm setting 300–500 mA, since about 300 mA of leakage can "
        "start a fire and natural leakage reaches 100–200 mA; GB 14287.2 lets a detector be set 20–1000 mA",
        "high (300 mA); the 20–1000 mA range is medium (secondary sources)",
    ),
    "leakage_pre_ma": ("upper end of normal natural leakage, 100–200 mA (GB 50116-2013 §9.2.3 commentary)", "low"),
    "leakage_critical_ma": ("top of the GB 14287.2 settable alarm range, 1000 mA", "medium"),
    "temp_alarm_c": ("70 °C: maximum continuous conductor temperature of PVC-insulated cable (GB/T 12706.1 / "
                     "IEC 60502-1)", "medium"),
    "temp_critical_c": ("90 °C: maximum continuous conductor temperature of XLPE cable (GB/T 12706.1 / "
                        "IEC 60502-1); above it every common cable is out of rating", "medium"),
    "temp_pre_c": ("10 K below the PVC limit (engineering margin)", "low"),
    "temp_rise_pre_c": ("10 K within 10 min on a cable surface: engineering choice (rate-of-rise heat detectors "
                        "respond to a few K/min)", "low"),
    "temp_rise_alarm_c": ("20 K within 10 min: engineering choice", "low"),
    "overload_alarm_ratio": ("1.05 In: conventional non-tripping current of a circuit-breaker (GB/T 14048.2 / "
                             "IEC 60947-2); above it the breaker is allowed to trip within 1 h", "high"),
    "overload_critical_ratio": ("1.30 In: conventional tripping current (GB/T 14048.2 / IEC 60947-2)", "high"),
    "overload_pre_ratio": ("0.9 In: engineering margin before the breaker's non-tripping current", "low"),
    "voltage_high_pre_pct": ("GB/T 12325 and 供电营业规则 art. 54: supply voltage deviation ±7 % (three-phase, "
                             "≤ 20 kV) and +7 %/−10 % (220 V single-phase)", "high (secondary sources agree)"),
    "voltage_low_pre_pct": ("GB/T 12325: −7 % three-phase, −10 % single-phase", "high (secondary sources agree)"),
    "voltage_high_alarm_pct": ("±10 %: the maximum deviation allowed at the customer when the system is abnormal "
                               "(供电营业规则 art. 54)", "medium"),
    "voltage_low_alarm_pct": ("−10 % three-phase (abnormal-system limit, 供电营业规则 art. 54); −15 % single-phase "
                              "(engineering choice)", "medium"),
    "voltage_high_critical_pct": ("+20 %: engineering choice (insulation stress)", "low"),
    "voltage_low_critical_pct": ("−30 %: a deep sustained sag (below 70 % of nominal; engineering choice)", "low"),
    "imbalance_pre_ratio": ("15 %: common distribution-transformer practice for three-phase load imbalance "
                            "(DL/T 499 rural low-voltage practice)", "low"),
    "imbalance_alarm_ratio": ("30 %: engineering choice", "low"),
    "night_load_ratio": ("30 % of rated current while the plant is closed: engineering choice", "low"),
    "open_readings": ("3 consecutive readings: engineering choice (1-minute readings: 2 min to open)", "low"),
    "clear_readings": ("3 consecutive clear readings: engineering choice", "low"),
}
"""Source and confidence of each default that is not obvious (rendered in docs/safety.md)."""

RULE_CODES: Final = ("leakage", "over_temp", "temp_rise", "overload", "over_voltage", "under_voltage",
                     "phase_imbalance", "night_load")
"""The rule codes (`analytics.safety.rules.RULES` has one entry for each)."""

_HOURS: Final = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$")
FIELDS: Final = {f.name: f for f in dataclasses.fields(Thresholds)}

# (min, max) a city may set; the leakage range follows GB 14287.2
_RANGES: Final[dict[str, tuple[float, float]]] = {
    "leakage_pre_ma": (10.0, 1000.0),
    "leakage_alarm_ma": (20.0, 1000.0),
    "leakage_critical_ma": (20.0, 5000.0),
    "temp_pre_c": (20.0, 200.0),
    "temp_alarm_c": (20.0, 200.0),
    "temp_critical_c": (20.0, 250.0),
    "temp_rise_window_s": (30.0, 86400.0),
    "rated_current_a": (0.1, 100000.0),
    "overload_pre_ratio": (0.1, 5.0),
    "overload_alarm_ratio": (0.1, 5.0),
    "overload_critical_ratio": (0.1, 10.0),
    "nominal_voltage_v": (1.0, 100000.0),
    "voltage_high_pre_pct": (0.0, 100.0),
    "voltage_high_alarm_pct": (0.0, 100.0),
    "voltage_high_critical_pct": (0.0, 200.0),
    "voltage_low_pre_pct": (-100.0, 0.0),
    "voltage_low_alarm_pct": (-100.0, 0.0),
    "voltage_low_critical_pct": (-100.0, 0.0),
    "imbalance_pre_ratio": (0.0, 1.0),
    "imbalance_alarm_ratio": (0.0, 1.0),
    "night_load_ratio": (0.0, 5.0),
    "night_load_kw": (0.0, 1e7),
    "open_readings": (1, 1000),
    "clear_readings": (1, 1000),
    "open_seconds": (0.0, 86400.0),
    "clear_seconds": (0.0, 86400.0),
    "hysteresis": (0.0, 0.5),
    "voltage_hysteresis_pct": (0.0, 20.0),
    "max_gap_s": (1.0, 86400.0 * 7),
}
_ORDERED: Final = (
    ("leakage_pre_ma", "leakage_alarm_ma", "leakage_critical_ma"),
    ("temp_pre_c", "temp_alarm_c", "temp_critical_c"),
    ("temp_rise_pre_c", "temp_rise_alarm_c"),
    ("overload_pre_ratio", "overload_alarm_ratio", "overload_critical_ratio"),
    ("voltage_high_pre_pct", "voltage_high_alarm_pct", "voltage_high_critical_pct"),
    ("imbalance_pre_ratio", "imbalance_alarm_ratio"),
)


def _parse_hours(text: str) -> tuple[int, int]:
    match = _HOURS.fullmatch(text.strip())
    if not match:
        raise ValueError(f"closed_hours {text!r} is not HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    return h1 * 60 + m1, h2 * 60 + m2


def _coerce(name: str, value: Any) -> Any:
    """The value checked and converted for field `name`; ValueError says what is wrong."""
    if name == "supply":
        if value not in ("three_phase", "single_phase"):
            raise ValueError("supply must be three_phase or single_phase")
        return value
    if name == "closed_hours":
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValueError("closed_hours must be a string HH:MM-HH:MM")
        _parse_hours(value)
        return value.strip()
    if name == "closed_weekdays":
        if not isinstance(value, list) or not all(isinstance(d, int) and 0 <= d <= 6 for d in value):
            raise ValueError("closed_weekdays must be a list of integers 0 (Monday) .. 6 (Sunday)")
        return tuple(sorted(set(value)))
    if name == "critical_immediate":
        if not isinstance(value, list) or not all(v in RULE_CODES for v in value):
            raise ValueError(f"critical_immediate must be a list of rule codes ({', '.join(RULE_CODES)})")
        return tuple(value)
    if value is None and name in ("rated_current_a", "night_load_kw", "voltage_low_pre_pct", "voltage_low_alarm_pct"):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, not {value!r}")
    if name in ("open_readings", "clear_readings") and not isinstance(value, int):
        raise ValueError(f"{name} must be a whole number")
    low, high = _RANGES.get(name, (float("-inf"), float("inf")))
    if not low <= value <= high:
        raise ValueError(f"{name} = {value} is outside {low:g}..{high:g}")
    return value if name in ("open_readings", "clear_readings") else float(value)


def check_order(t: Thresholds) -> str | None:
    """None when pre-alarm < alarm < critical for every rule, else what is out of order."""
    for names in _ORDERED:
        values = [getattr(t, n) for n in names]
        if any(a >= b for a, b in itertools.pairwise(values)):
            return " < ".join(f"{n} ({getattr(t, n):g})" for n in names) + " does not hold"
    low_pre, low_alarm = t.low_pcts()
    if not low_pre > low_alarm > t.voltage_low_critical_pct:
        return (f"voltage_low_pre_pct ({low_pre:g}) > voltage_low_alarm_pct ({low_alarm:g}) > "
                f"voltage_low_critical_pct ({t.voltage_low_critical_pct:g}) does not hold")
    return None


def apply(base: Thresholds, changes: dict[str, Any]) -> Thresholds:
    """`base` with `changes` (already validated names and values)."""
    return dataclasses.replace(base, **changes)


@dataclass
class RuleSet:
    """Defaults and overrides: `for_meter` resolves the thresholds of one meter."""

    defaults: dict[str, Any] = field(default_factory=dict)
    enterprises: dict[str, dict[str, Any]] = field(default_factory=dict)
    meters: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    source: str = "built-in defaults"

    def for_meter(self, enterprise: str, meter: str, rated_current_a: float | None = None) -> Thresholds:
        """Defaults, then the file's defaults, the enterprise's, the meter's; the registry's rated current
        applies unless the file sets one."""
        changes: dict[str, Any] = {}
        if rated_current_a is not None:
            changes["rated_current_a"] = float(rated_current_a)
        changes.update(self.defaults)
        changes.update(self.enterprises.get(enterprise, {}))
        changes.update(self.meters.get((enterprise, meter), {}))
        return apply(DEFAULTS, changes)


def _fields_of(node: Located, path: Path, where: str) -> dict[str, Any]:
    if not isinstance(node.value, dict):
        raise RulesFileError(f"{path}:{node.line}: {where} must be a mapping of threshold names to values")
    out: dict[str, Any] = {}
    for key, child in node.value.items():
        line = node.key_lines.get(key, child.line)
        if key not in FIELDS:
            raise RulesFileError(f"{path}:{line}: unknown threshold {key!r} in {where} "
                                 f"(known: {', '.join(sorted(FIELDS))})")
        raw = [c.value for c in child.value] if isinstance(child.value, list) else child.value
        if isinstance(raw, dict):
            raise RulesFileError(f"{path}:{line}: {key} in {where} must be a value, not a mapping")
        try:
            out[key] = _coerce(key, raw)
        except ValueError as exc:
            raise RulesFileError(f"{path}:{line}: {where}: {exc}") from exc
    problem = check_order(apply(DEFAULTS, out))
    if problem:
        raise RulesFileError(f"{path}:{node.line}: {where}: {problem}")
    return out


def load_rules(path: Path) -> RuleSet:
    """Read an override file (schema in docs/safety.md); every error names FILE:LINE."""
    try:
        root = load_located(path)
    except YamlFileError as exc:
        raise RulesFileError(str(exc)) from exc
    rules = RuleSet(source=str(path))
    if root is None:
        return rules
    if not isinstance(root.value, dict):
        raise RulesFileError(f"{path}:{root.line}: the file must be a mapping with keys defaults, enterprises")
    for key, node in root.value.items():
        line = root.key_lines[key]
        if key == "defaults":
            rules.defaults = _fields_of(node, path, "defaults")
        elif key == "enterprises":
            if not isinstance(node.value, dict):
                raise RulesFileError(f"{path}:{line}: enterprises must be a mapping keyed by credit code")
            for code, ent in node.value.items():
                _load_enterprise(rules, str(code), ent, path)
        else:
            raise RulesFileError(f"{path}:{line}: unknown key {key!r} (known: defaults, enterprises)")
    for code, changes in rules.enterprises.items():  # merged order must hold too
        problem = check_order(apply(DEFAULTS, {**rules.defaults, **changes}))
        if problem:
            raise RulesFileError(f"{path}: enterprise {code}: {problem}")
    for (code, meter), changes in rules.meters.items():
        problem = check_order(apply(DEFAULTS, {**rules.defaults, **rules.enterprises.get(code, {}), **changes}))
        if problem:
            raise RulesFileError(f"{path}: enterprise {code} meter {meter}: {problem}")
    return rules


def _load_enterprise(rules: RuleSet, code: str, node: Located, path: Path) -> None:
    if not isinstance(node.value, dict):
        raise RulesFileError(f"{path}:{node.line}: enterprise {code} must be a mapping")
    meters = node.value.get("meters")
    own = Located({k: v for k, v in node.value.items() if k != "meters"}, node.line,
                  {k: v for k, v in node.key_lines.items() if k != "meters"})
    rules.enterprises[code] = _fields_of(own, path, f"enterprise {code}")
    if meters is None:
        return
    if not isinstance(meters.value, dict):
        raise RulesFileError(f"{path}:{meters.line}: enterprise {code}: meters must be a mapping keyed by meter id")
    for meter_id, meter_node in meters.value.items():
        rules.meters[(code, str(meter_id))] = _fields_of(
            meter_node, path, f"enterprise {code} meter {meter_id}"
        )
