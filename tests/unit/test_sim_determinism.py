"""Same seed, same data: whole backfills, and real time chunked day by day against one backfill."""

from __future__ import annotations

import dataclasses
import io

import numpy as np

from simulators.city import CityConfig
from simulators.runner import Backfill, FaultConfig, FileSink, RealTime, publish
from simulators.timeline import TZ
from tests.unit.test_sim_support import DAYS


def _bytes(seed: int, faults: FaultConfig = FaultConfig()) -> tuple[bytes, dict]:
    run = Backfill.plan(CityConfig(plants=8, seed=seed, days=DAYS[:4], problem_share=0.5), 900, faults)
    buf = io.BytesIO()
    publish(run.messages(), FileSink(buf), run.plants)
    return buf.getvalue(), run.manifest()


def test_same_seed_gives_identical_messages_and_manifest() -> None:
    faults = FaultConfig(("gap", "duplicate", "counter_reset", "late", "malformed"), 0.5)
    a, truth_a = _bytes(5, faults)
    b, truth_b = _bytes(5, faults)
    assert a == b
    assert truth_a == truth_b
    c, truth_c = _bytes(6, faults)
    assert c != a
    assert [p["enterprise"] for p in truth_c["plants"]] != [p["enterprise"] for p in truth_a["plants"]]


def test_a_plant_does_not_change_when_the_city_grows() -> None:
    small = Backfill.plan(CityConfig(plants=3, seed=9, days=DAYS[:3], problem_share=0.0), 900)
    large = Backfill.plan(CityConfig(plants=12, seed=9, days=DAYS[:3], problem_share=0.0), 900)
    for s, big in zip(small.plants, large.plants[:3], strict=True):
        assert s == big
    np.testing.assert_array_equal(small.data[2].values["M01"]["energy_kwh"], large.data[2].values["M01"]["energy_kwh"])


def test_real_time_day_by_day_equals_the_backfill_of_the_same_days() -> None:
    config = CityConfig(plants=4, seed=21, days=DAYS[:2], problem_share=0.5)
    backfill = Backfill.plan(config, 900)
    realtime = RealTime(dataclasses.replace(config), 900)
    step_ends = backfill.timeline.epoch_s
    for plant_index in range(4):
        assert realtime.plants[plant_index] == backfill.plants[plant_index]
    got: dict[str, list[float]] = {}
    for end in step_ends.tolist():
        for message in realtime.step_messages(end):
            import orjson

            for r in orjson.loads(message.payload)["readings"]:
                if r["meter"] == "M01":
                    got.setdefault(message.topic.split("/")[2], []).append(r["values"]["energy_kwh"])
    for spec, data in zip(backfill.plants, backfill.data, strict=True):
        np.testing.assert_allclose(got[spec.code], data.values["M01"]["energy_kwh"], rtol=0, atol=0.011)
    first = step_ends[0] - 900
    assert realtime._day is not None and realtime._day.isoformat() == DAYS[1].isoformat()
    assert first % 900 == 0 and TZ is not None
