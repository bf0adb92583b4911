"""Transport faults: each one is in the messages exactly as the manifest records it."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import numpy as np
import orjson
import pytest

from core.domain import MAX_READINGS_PER_MESSAGE
from simulators.city import CityConfig
from simulators.runner import Backfill, FaultConfig
from tests.unit.test_sim_support import DAYS

STEP = 900


def _run(kinds: tuple[str, ...], plants: int = 3) -> tuple[Backfill, list, dict]:
    run = Backfill.plan(
        CityConfig(plants=plants, seed=4, days=DAYS[:4], problem_share=0.0),
        STEP,
        FaultConfig(kinds, 1.0),
        batch_readings=200,
    )
    messages = list(run.messages())
    return run, messages, run.manifest()


def _series(messages: list, code: str, meter: str, key: str) -> list[tuple[int, float]]:
    out = []
    for m in messages:
        if f"/{code}/" not in m.topic:
            continue
        doc = orjson.loads(m.payload)
        out += [(r["ts"], r["values"][key]) for r in doc["readings"] if r["meter"] == meter and key in r["values"]]
    return sorted(set(out))


def _epoch(iso: str) -> int:
    return int(dt.datetime.fromisoformat(iso).timestamp())


def test_gap_drops_every_reading_of_the_window() -> None:
    run, messages, truth = _run(("gap",))
    for plant, spec, data in zip(truth["plants"], run.plants, run.data, strict=True):
        (gap,) = plant["faults"]
        first, last = _epoch(gap["from"]), _epoch(gap["to"])
        seen = {t for t, _ in _series(messages, spec.code, "M01", "energy_kwh")}
        expected = {int(t) for t in data.epoch_s if not first <= t <= last}
        assert seen == expected
        assert len(data.epoch_s) - len(seen) == gap["readings_per_meter"]


@pytest.mark.parametrize("kind", ["counter_reset", "meter_replacement"])
def test_counter_falls_once_exactly_where_recorded(kind: str) -> None:
    run, messages, truth = _run((kind,))
    registry = run.registry()
    for plant, spec, entry in zip(truth["plants"], run.plants, registry["enterprises"], strict=True):
        (fault,) = plant["faults"]
        values = _series(messages, spec.code, fault["meter"], "energy_kwh")
        ts = np.array([t for t, _ in values])
        v = np.array([x for _, x in values])
        falls = np.flatnonzero(np.diff(v) < 0)
        assert len(falls) == 1
        at = _epoch(fault["at"])
        assert ts[falls[0]] == at
        c = fault["counters"]["energy_kwh"]
        assert v[falls[0]] == pytest.approx(c["old_reading"])
        assert v[falls[0] + 1] == pytest.approx(c["first_new_value"])
        assert c["new_reading"] <= c["first_new_value"] < c["new_reading"] + v.max() - v.min()
        meter = next(m for m in entry["meters"] if m["id"] == fault["meter"])
        if kind == "meter_replacement":
            (event,) = meter["events"]
            assert event["kind"] == "replaced" and _epoch(event["at"]) == at
            assert event["old_reading"] == c["old_reading"] and event["new_reading"] == c["new_reading"]
        else:
            assert "events" not in meter and c["new_reading"] == 0


def test_duplicates_out_of_order_and_late_keep_every_reading() -> None:
    clean_run = Backfill.plan(CityConfig(plants=3, seed=4, days=DAYS[:4], problem_share=0.0), STEP, batch_readings=200)
    clean = list(clean_run.messages())
    run, messages, truth = _run(("duplicate", "out_of_order", "late"))
    assert Counter(m.payload for m in messages).keys() == Counter(m.payload for m in clean).keys()
    assert len(messages) == len(clean) + 3 * len(run.plants)
    by_topic: dict[str, list[int]] = defaultdict(list)
    for m in messages:
        by_topic[m.topic].append(m.at)
    for plant in truth["plants"]:
        kinds = {f["kind"]: f for f in plant["faults"]}
        assert kinds["duplicate"]["messages"] == 3 and kinds["late"]["messages"] >= 1
    assert all(np.any(np.diff(ats) < 0) for ats in by_topic.values())


def test_clock_skew_shifts_the_recorded_window() -> None:
    run, messages, truth = _run(("clock_skew",))
    for plant, spec in zip(truth["plants"], run.plants, strict=True):
        (fault,) = plant["faults"]
        seen = np.array([t for t, _ in _series(messages, spec.code, "M01", "energy_kwh")])
        off_grid = seen[(seen % STEP) != 0]
        assert len(off_grid) == 86400 // STEP
        assert set((off_grid - fault["seconds"]) % STEP) == {0}
        assert 60 <= abs(fault["seconds"]) <= 900


def test_spikes_are_on_the_listed_power_readings() -> None:
    clean_run = Backfill.plan(CityConfig(plants=3, seed=4, days=DAYS[:4], problem_share=0.0), STEP, batch_readings=200)
    clean = list(clean_run.messages())
    run, messages, truth = _run(("spike",))
    for plant, spec in zip(truth["plants"], run.plants, strict=True):
        (fault,) = plant["faults"]
        power = dict(_series(messages, spec.code, fault["meter"], "power_kw"))
        normal = dict(_series(clean, spec.code, fault["meter"], "power_kw"))
        changed = {t for t in power if power[t] != normal[t]}
        assert changed == {_epoch(a) for a in fault["at"]}
        assert all(power[t] == pytest.approx(normal[t] * 10 + 100) for t in changed)


def test_malformed_payloads_are_extra_and_each_is_broken_as_labelled() -> None:
    _, messages, truth = _run(("malformed",), plants=1)
    (fault,) = truth["plants"][0]["faults"]
    bad = [m for m in messages if m.readings == 0]
    assert len(bad) == fault["messages"] == 6
    kinds = Counter()
    for m in bad:
        try:
            doc = orjson.loads(m.payload)
        except orjson.JSONDecodeError:
            kinds["not_json"] += 1
            continue
        if not isinstance(doc, dict):
            kinds["not_object"] += 1
        elif len(doc["readings"]) > MAX_READINGS_PER_MESSAGE:
            kinds["too_many_readings"] += 1
        else:
            (r,) = doc["readings"]
            v = r["values"]
            kinds[
                "pf_out_of_range"
                if v.get("pf", 0) > 1
                else "negative_counter"
                if "energy_kwh" in v
                else "future_timestamp"
            ] += 1
    assert sorted(kinds) == sorted(fault["reasons"]) and set(kinds.values()) == {1}


def test_unknown_fault_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        FaultConfig(("gremlins",), 0.5)
