"""Detection quality of safety alarms against the simulators' ground truth: recall and precision.

Lives in the tests because it needs both sides: analytics must not import simulators, and simulators
speak only MQTT. The rule names below are the analytics' rule codes (analytics.safety.rules.RULES).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from analytics.safety.alarms import Alarm
from simulators.safety_faults import Fault

PRIMARY_RULE: Final[dict[str, str]] = {
    "leakage": "leakage",
    "overheat": "over_temp",
    "overload": "overload",
    "voltage_sag": "under_voltage",
}
"""The rule that names each fault."""

DETECTING_RULES: Final[dict[str, frozenset[str]]] = {
    "leakage": frozenset({"leakage"}),
    "overheat": frozenset({"over_temp", "temp_rise"}),  # a short hot spot may only show as a fast rise
    "overload": frozenset({"overload"}),
    "voltage_sag": frozenset({"under_voltage"}),
}
"""Rules whose alarm counts as detecting each fault (recall is counted on them)."""

RELATED_RULES: Final[dict[str, frozenset[str]]] = {
    "leakage": frozenset({"leakage"}),
    "overheat": frozenset({"over_temp", "temp_rise"}),
    "overload": frozenset({"overload", "over_temp", "temp_rise"}),  # the current heats the cable
    "voltage_sag": frozenset({"under_voltage"}),
}
"""Rules whose alarms a fault explains (precision counts an alarm as true when a fault explains it)."""

SLACK_S = 1800
"""An alarm may end (thermal lag, clear debounce) up to this long after its fault ends and still match."""


@dataclass(frozen=True, slots=True)
class Quality:
    """Recall (faults found by a detecting rule) and precision (alarms explained by a fault)."""

    faults: int
    detected: int
    alarms: int
    explained: int

    @property
    def recall(self) -> float:
        return self.detected / self.faults if self.faults else 1.0

    @property
    def precision(self) -> float:
        return self.explained / self.alarms if self.alarms else 1.0


def _overlaps(a: Alarm, f: Fault) -> bool:
    start = int(a.start.timestamp())
    end = int(a.end.timestamp()) if a.end else start
    return start < f.end_s + SLACK_S and end >= f.start_s


def score(alarms: Iterable[Alarm], faults: Iterable[Fault]) -> Quality:
    """Match alarms to faults on the same meter whose time overlaps (with SLACK_S after the fault)."""
    alarms, faults = list(alarms), list(faults)
    by_meter: dict[tuple[str, str], list[Fault]] = {}
    for f in faults:
        by_meter.setdefault((f.enterprise, f.meter), []).append(f)
    explained = 0
    for a in alarms:
        if any(a.rule in RELATED_RULES[f.kind] and _overlaps(a, f) for f in by_meter.get((a.enterprise, a.meter), [])):
            explained += 1
    detected = 0
    for f in faults:
        rules = DETECTING_RULES[f.kind]
        if any(
            a.enterprise == f.enterprise and a.meter == f.meter and a.rule in rules and _overlaps(a, f) for a in alarms
        ):
            detected += 1
    return Quality(len(faults), detected, len(alarms), explained)


def faults_from_manifest(manifest: Mapping[str, Any]) -> list[Fault]:
    """The safety faults a `enerdiag simulate city --safety-faults` manifest lists, as `Fault`s."""
    return [
        Fault(
            plant["enterprise"],
            f["meter"],
            f["kind"],
            int(f["start_epoch"]),
            int(f["end_epoch"]),
            float(f["magnitude"]),
        )
        for plant in manifest["plants"]
        for f in plant.get("safety_faults", [])
    ]
