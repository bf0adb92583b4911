"""Electrical-safety faults injected by the simulators: the batch detection finds them on a simulated city.

Pure (no MQTT): the readings are decoded from the gateways' own messages, the rated currents come from the
generated registry, and the alarms are scored against the ground-truth manifest.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from functools import cache

import numpy as np
import orjson
import pandas as pd
import pytest

from analytics.safety.alarms import Alarm, detect
from analytics.safety.thresholds import DEFAULTS, apply
from simulators.city import CityConfig
from simulators.runner import Backfill, SafetyFaultConfig
from simulators.safety_faults import FAULT_KINDS
from tests.support.safety_scoring import faults_from_manifest, score

DAYS = tuple(dt.date(2026, 1, 12) + dt.timedelta(days=i) for i in range(2))  # a cold working Monday-Tuesday
PLANTS, SHARE = 70, 0.8


@cache
def city(enabled: bool = True, seed: int = 5) -> Backfill:
    config = CityConfig(plants=PLANTS, seed=seed, days=DAYS, problem_share=0.3, safety_share=SHARE)
    return Backfill.plan(config, 60, safety=SafetyFaultConfig(enabled, max_per_day=2))


def safety_frames(run: Backfill) -> dict[tuple[str, str], pd.DataFrame]:
    """The safety meters' readings as the gateways send them (decoded from the MQTT payloads)."""
    registry = run.registry()
    safety = {(e["code"], m["id"]) for e in registry["enterprises"] for m in e["meters"] if m["role"] == "safety"}
    rows: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for index, plant in enumerate(run.plants):
        if not any(code == plant.code for code, _ in safety):
            continue
        for message in run.plant_messages(index):
            for r in orjson.loads(message.payload)["readings"]:
                if (plant.code, r["meter"]) in safety:
                    rows[(plant.code, r["meter"])].append({"ts": r["ts"], **r["values"]})
    frames = {}
    for key, rs in rows.items():
        frame = pd.DataFrame(rs)
        frame.index = pd.to_datetime(frame.pop("ts"), unit="s", utc=True)
        frames[key] = frame
    return frames


def array_frames(run: Backfill) -> dict[tuple[str, str], pd.DataFrame]:
    """The safety meters' simulated arrays (no message round trip: faster, for the healthy city)."""
    index = pd.to_datetime(run.timeline.epoch_s, unit="s", utc=True)
    return {(p.code, "S01"): pd.DataFrame(d.values["S01"], index=index)
            for p, d in zip(run.plants, run.data, strict=True) if p.has_safety_meter}


@cache
def city_frames(enabled: bool = True) -> dict[tuple[str, str], pd.DataFrame]:
    """Faulted city: from the gateways' messages; healthy city: from the arrays."""
    return safety_frames(city(enabled)) if enabled else array_frames(city(enabled))


def rated_currents(run: Backfill) -> dict[tuple[str, str], float]:
    return {(e["code"], m["id"]): m["rated_current_a"] for e in run.registry()["enterprises"]
            for m in e["meters"] if m["role"] == "safety"}


def batch_alarms(enabled: bool) -> list[Alarm]:
    rated = rated_currents(city(enabled))
    alarms: list[Alarm] = []
    for (code, meter), frame in city_frames(enabled).items():
        alarms += detect(frame, apply(DEFAULTS, {"rated_current_a": rated[(code, meter)]}), code, meter)
    return alarms


def test_a_share_of_plants_has_a_safety_meter_with_its_rated_current() -> None:
    run = city(True)
    rated = rated_currents(run)
    assert len(rated) == round(SHARE * PLANTS) >= 50
    assert {p.industry.key for p in run.plants if p.has_safety_meter} >= {"cement", "food", "machinery", "cold_store"}
    assert set(rated.values()) <= {100.0, 160.0, 250.0, 400.0, 630.0}
    doc = run.manifest()
    assert doc["safety"]["meters"] == len(rated) and doc["safety"]["faults_injected"] is True
    assert {(p["enterprise"], p["safety_meter"]["meter"]) for p in doc["plants"] if p["safety_meter"]} == set(rated)


def test_batch_detection_finds_the_injected_faults_with_recall_and_precision_of_95_percent() -> None:
    run = city(True)
    truth = faults_from_manifest(run.manifest())
    assert len(truth) >= 80 and {f.kind for f in truth} == set(FAULT_KINDS)
    alarms = batch_alarms(True)
    q = score(alarms, truth)
    assert q.recall >= 0.95, q
    assert q.precision >= 0.95, q
    # every kind is found, not just the easy ones
    for kind in FAULT_KINDS:
        assert score(alarms, [f for f in truth if f.kind == kind]).recall >= 0.9, kind


def test_the_manifest_magnitudes_are_in_the_data() -> None:
    run = city(True)
    doc = run.manifest()
    rated = rated_currents(run)
    frames = city_frames(True)
    limits = {"leakage": (DEFAULTS.leakage_alarm_ma, np.inf), "overheat": (0.0, np.inf),
              "overload": (DEFAULTS.overload_alarm_ratio, np.inf), "voltage_sag": (0.0, 0.9)}
    for plant in doc["plants"]:
        for f in plant["safety_faults"]:
            lo, hi = limits[f["kind"]]
            assert lo <= f["magnitude"] <= hi and lo <= f["measured_peak"] <= hi, f
            frame = frames[(plant["enterprise"], f["meter"])]
            inside = frame[(frame.index >= f["start"]) & (frame.index < f["end"])][f["quantity"]]
            if f["kind"] == "overload":
                assert inside.max() / rated[(plant["enterprise"], f["meter"])] == pytest.approx(f["measured_peak"],
                                                                                               abs=0.002)
            elif f["kind"] in ("leakage",):
                assert inside.max() == pytest.approx(f["measured_peak"])
            elif f["kind"] == "overheat":  # a short hot spot from a cold cable may stay below 60 degC, but rises fast
                before = frame[frame.index < f["start"]]["temp_c"].iloc[-1]
                assert f["magnitude"] >= 76 and f["measured_peak"] - before >= DEFAULTS.temp_rise_alarm_c, f
            elif f["kind"] == "voltage_sag":
                assert inside.max() < 0.9 * DEFAULTS.nominal_voltage_v  # the whole fault, not one reading
        for t in plant["safety_transients"]:
            frame = frames[(plant["enterprise"], t["meter"])]
            assert frame.loc[pd.Timestamp(t["at_epoch"], unit="s", tz="UTC"), t["quantity"]] == t["value"]


def test_without_safety_faults_the_same_city_raises_no_alarm() -> None:
    run = city(False)
    doc = run.manifest()
    assert all(p["safety_faults"] == [] and p["safety_transients"] == [] for p in doc["plants"])
    assert batch_alarms(False) == []


def test_safety_faults_are_deterministic_by_seed() -> None:
    config = CityConfig(plants=6, seed=9, days=DAYS[:1], safety_share=1.0)
    a, b = (Backfill.plan(config, 300, safety=SafetyFaultConfig(True, 2)) for _ in range(2))
    assert a.manifest()["plants"] == b.manifest()["plants"]
    other = Backfill.plan(CityConfig(plants=6, seed=10, days=DAYS[:1], safety_share=1.0), 300,
                          safety=SafetyFaultConfig(True, 2))
    assert other.manifest()["plants"] != a.manifest()["plants"]
