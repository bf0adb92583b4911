"""Payloads exactly per CONTRACTS.md section 2: topics, limits, readings and their values."""

from __future__ import annotations

import math
import re

import orjson
import pytest

from core.domain import ID_PATTERN, MAX_PAYLOAD_BYTES, MAX_READINGS_PER_MESSAGE, QUANTITIES, QuantityKind
from core.registry.creditcode import is_valid_credit_code
from simulators.city import CityConfig
from simulators.messages import batch, status_payload
from simulators.runner import Backfill
from tests.unit.test_sim_support import DAYS

TOPIC = re.compile(r"^em/v1/([0-9A-Z]{18})/([A-Za-z0-9_-]{1,64})/telemetry$")


@pytest.fixture(scope="module")
def backfill() -> Backfill:
    return Backfill.plan(CityConfig(plants=12, seed=2, days=DAYS[:3], problem_share=0.5), 300)


def test_every_message_is_within_the_contract(backfill: Backfill) -> None:
    registry = {e["code"]: {m["id"] for m in e["meters"]} for e in backfill.registry()["enterprises"]}
    count = readings = 0
    for message in backfill.messages():
        count += 1
        match = TOPIC.match(message.topic)
        assert match and is_valid_credit_code(match.group(1))
        assert len(message.payload) <= MAX_PAYLOAD_BYTES
        doc = orjson.loads(message.payload)
        assert isinstance(doc["ts"], int)
        assert 1 <= len(doc["readings"]) <= MAX_READINGS_PER_MESSAGE
        assert message.readings == len(doc["readings"])
        for r in doc["readings"]:
            readings += 1
            assert r["meter"] in registry[match.group(1)] and ID_PATTERN.match(r["meter"])
            assert isinstance(r["ts"], int) and r["ts"] <= doc["ts"]
            for key, value in r["values"].items():
                q = QUANTITIES[key]
                assert isinstance(value, float | int) and math.isfinite(value)
                if q.kind is QuantityKind.COUNTER or q.min_value is not None:
                    assert value >= 0, (key, value)
                if key == "pf":
                    assert 0 <= value <= 1
    intervals = len(backfill.timeline)
    assert readings == intervals * sum(len(d.values) for d in backfill.data)
    assert count >= readings / MAX_READINGS_PER_MESSAGE


def test_batch_splits_by_size_as_well_as_count() -> None:
    big = [{"meter": "M01", "ts": 1_700_000_000 + i, "values": {"power_kw": 1.0, "x" * 300: 1.0}} for i in range(1000)]
    messages = list(batch(big, "em/v1/X/gw/telemetry"))
    assert len(messages) > 1
    assert all(len(m.payload) <= MAX_PAYLOAD_BYTES for m in messages)
    assert sum(m.readings for m in messages) == 1000
    many = [{"meter": "M01", "ts": 1_700_000_000, "values": {"power_kw": 1.0}}] * 2500
    assert [m.readings for m in batch(many, "t", 1000)] == [1000, 1000, 500]


def test_status_payload_is_the_contract_shape() -> None:
    assert orjson.loads(status_payload(False, 1764547200.7)) == {"online": False, "ts": 1764547200}
