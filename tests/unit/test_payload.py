"""Parsing and validation of telemetry messages against CONTRACTS.md section 2."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector.payload import Reason, parse_status, parse_telemetry
from collector.registry_view import RegistrySnapshot
from core.telemetry import Topic, parse_topic, timestamp_seconds
from tests.support.snapshots import AnyMeterSnapshot

ENT = "91330100MA27XL0E2K"
TOPIC = Topic(ENT, "gw1", "telemetry")
NOW = 1_764_547_500.0  # 2025-12-01T00:05:00Z
SNAP = AnyMeterSnapshot({ENT: "Asia/Shanghai"}, frozenset({(ENT, "gw1")}))


def parse(doc: object, now: float = NOW, snap: RegistrySnapshot = SNAP) -> object:
    return parse_telemetry(TOPIC, orjson.dumps(doc), snap, now)


def test_contract_example_is_stored_with_batch_ts_fallback() -> None:
    doc = {
        "ts": 1764547200,
        "readings": [
            {"meter": "M01", "ts": "2025-12-01T08:00:00+08:00",
             "values": {"energy_kwh": 182345.6, "power_kw": 85.2, "reactive_kvarh": 40211.0, "pf": 0.91}},
            {"meter": "G01", "values": {"gas_m3": 4521.3}},
        ],
    }
    out = parse(doc)
    assert out.rejects == []
    assert out.lines == [
        f"reading,enterprise={ENT},gateway=gw1,meter=M01 "
        "energy_kwh=182345.6,pf=0.91,power_kw=85.2,reactive_kvarh=40211 1764547200",
        f"reading,enterprise={ENT},gateway=gw1,meter=G01 gas_m3=4521.3 1764547200",
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1764547200, 1764547200),
        (1764547200.999, 1764547200),
        (1764547200123, 1764547200),  # epoch ms
        (10**12, 10**9),  # the ms threshold itself
        (10**12 - 1, 10**12 - 1),  # just below: seconds (far future, rejected later)
        ("2025-12-01T00:00:00Z", 1764547200),
        ("2025-12-01T00:00:00.75z", 1764547200),
        ("2025-12-01T08:00:00+08:00", 1764547200),
        ("2025-11-30T19:30:00-04:30", 1764547200),
        ("2025-12-01 08:00:00", 1764547200),  # naive: enterprise zone Asia/Shanghai
        ("2025-12-01T08:00:00.999999", 1764547200),
    ],
)
def test_timestamp_forms(value: object, expected: int) -> None:
    assert timestamp_seconds(value, "Asia/Shanghai") == expected


def test_naive_string_uses_the_enterprise_time_zone() -> None:
    snap = AnyMeterSnapshot({ENT: "Europe/Berlin"}, frozenset({(ENT, "gw1")}))
    out = parse({"readings": [{"meter": "M1", "ts": "2025-07-01T12:00:00", "values": {"pf": 1}}]}, snap=snap)
    summer = int(dt.datetime(2025, 7, 1, 10, tzinfo=dt.UTC).timestamp())  # CEST = UTC+2
    assert out.lines[0].endswith(f" {summer}")


@pytest.mark.parametrize(
    "value",
    [True, None, [1], {"a": 1}, "2026-13-01T00:00:00Z", "2026-02-30T00:00:00", "yesterday", "", -1,
     float("nan"), float("inf"), "2026-01-01T00:00:00+25:00", "١٢٣٤-01-01T00:00:00Z", "2025-12-01T00:00:00Z\n",
     "1969-12-31T23:59:59Z"],
)
def test_bad_timestamps_are_strings(value: object) -> None:
    assert isinstance(timestamp_seconds(value, "Asia/Shanghai"), str)


def test_future_and_missing_timestamps_reject_the_reading_only() -> None:
    doc = {"readings": [
        {"meter": "M1", "ts": int(NOW) + 300, "values": {"pf": 0.5}},  # exactly 5 min ahead: accepted
        {"meter": "M2", "ts": int(NOW) + 301, "values": {"pf": 0.5}},
        {"meter": "M3", "values": {"pf": 0.5}},
        {"meter": "M4", "ts": 1, "values": {"pf": 0.5}},  # years old: accepted
    ]}
    out = parse(doc)
    assert [r.reason for r in out.rejects] == [Reason.FUTURE_TIMESTAMP, Reason.NO_TIMESTAMP]
    assert [r.index for r in out.rejects] == [1, 2]
    assert len(out.lines) == 2 and not out.rejected_whole
    assert b'"M2"' in out.rejects[0].raw


def test_bad_batch_ts_rejects_only_readings_that_fall_back_on_it() -> None:
    out = parse({"ts": "soon", "readings": [
        {"meter": "M1", "values": {"pf": 0.5}}, {"meter": "M2", "ts": 1764547200, "values": {"pf": 0.5}}]})
    assert [r.reason for r in out.rejects] == [Reason.BAD_TIMESTAMP]
    assert len(out.lines) == 1


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"energy_kwh": -0.001}, Reason.NEGATIVE_COUNTER),
        ({"gas_m3": -5}, Reason.NEGATIVE_COUNTER),
        ({"pf": 1.0001}, Reason.OUT_OF_RANGE),
        ({"pf": -0.1}, Reason.OUT_OF_RANGE),
        ({"current_a": -1}, Reason.OUT_OF_RANGE),
        ({"energy_kwh": 1, "volts": 220}, Reason.UNKNOWN_QUANTITY),
        ({"energy_kwh": "12"}, Reason.BAD_VALUE),
        ({"energy_kwh": True}, Reason.BAD_VALUE),
        ({"energy_kwh": None}, Reason.BAD_VALUE),
        ({}, Reason.NO_VALUES),
        ([1], Reason.NO_VALUES),
    ],
)
def test_bad_values_reject_the_reading(values: object, reason: str) -> None:
    out = parse({"ts": 1764547200, "readings": [
        {"meter": "M1", "values": values}, {"meter": "M2", "values": {"energy_kwh": 1}}]})
    assert [r.reason for r in out.rejects] == [reason]
    assert out.lines == [f"reading,enterprise={ENT},gateway=gw1,meter=M2 energy_kwh=1 1764547200"]


def test_gauges_may_be_negative_and_boundaries_are_inclusive() -> None:
    out = parse({"ts": 1764547200, "readings": [
        {"meter": "M1", "values": {"power_kw": -12.5, "temp_c": -30, "pf": 0, "energy_kwh": 0}},
        {"meter": "M2", "values": {"pf": 1}}]})
    assert out.rejects == [] and len(out.lines) == 2
    assert "power_kw=-12.5" in out.lines[0] and "temp_c=-30" in out.lines[0]


@pytest.mark.parametrize("meter", ["", "M 1", "M,1", "M=1", "M1\n", "x" * 65, 7, None, "电表1"])
def test_bad_meter_ids(meter: object) -> None:
    out = parse({"ts": 1764547200, "readings": [{"meter": meter, "values": {"pf": 1}}]})
    assert [r.reason for r in out.rejects] == [Reason.BAD_METER]
    assert out.lines == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json", Reason.NOT_JSON),
        (b"[1,2]", Reason.NOT_OBJECT),
        (b'{"ts":1}', Reason.NO_READINGS),
        (b'{"readings":{}}', Reason.NO_READINGS),
        (b"\xff\xfe{}", Reason.NOT_JSON),
    ],
)
def test_bad_messages_are_rejected_whole(payload: bytes, reason: str) -> None:
    out = parse_telemetry(TOPIC, payload, SNAP, NOW)
    assert out.rejected_whole and [r.reason for r in out.rejects] == [reason] and out.lines == []


def test_size_and_count_limits() -> None:
    ok = {"ts": 1764547200, "readings": [{"meter": "M1", "values": {"pf": 1}}] * 1000}
    assert len(parse(ok).lines) == 1000
    too_many = {"ts": 1764547200, "readings": [{"meter": "M1", "values": {"pf": 1}}] * 1001}
    assert [r.reason for r in parse(too_many).rejects] == [Reason.TOO_MANY_READINGS]
    big = b'{"readings":[],"pad":"' + b"x" * (256 * 1024) + b'"}'
    assert [r.reason for r in parse_telemetry(TOPIC, big, SNAP, NOW).rejects] == [Reason.TOO_LARGE]
    exact = b'{"readings":[],"pad":"' + b"x" * (256 * 1024 - 22 - 2) + b'"}'
    assert len(exact) == 256 * 1024
    assert parse_telemetry(TOPIC, exact, SNAP, NOW).rejects == []


def test_nan_and_infinity_literals_reject_only_their_readings() -> None:
    payload = (b'{"ts":1764547200,"readings":[{"meter":"M1","values":{"energy_kwh":NaN}},'
               b'{"meter":"M2","values":{"power_kw":-Infinity}},{"meter":"M3","values":{"energy_kwh":1e400}},'
               b'{"meter":"M4","values":{"energy_kwh":2.5}}]}')
    out = parse_telemetry(TOPIC, payload, SNAP, NOW)
    assert [r.reason for r in out.rejects] == [Reason.BAD_VALUE] * 3
    assert out.lines == [f"reading,enterprise={ENT},gateway=gw1,meter=M4 energy_kwh=2.5 1764547200"]


def test_bom_is_ignored_and_integers_become_floats() -> None:
    out = parse_telemetry(TOPIC, b'\xef\xbb\xbf{"ts":1764547200,"readings":[{"meter":"M","values":{"gas_m3":4521}}]}',
                          SNAP, NOW)
    assert out.lines == [f"reading,enterprise={ENT},gateway=gw1,meter=M gas_m3=4521 1764547200"]


def test_series_gateway_comes_from_the_registry_for_registered_meters() -> None:
    snap = RegistrySnapshot({ENT: "Asia/Shanghai"}, frozenset({(ENT, "gw1"), (ENT, "gw2")}), {(ENT, "M1"): "gw2"},
                            meter_ids={ENT: frozenset({"M1", "M9"})})  # M9: registered without a gateway
    out = parse({"ts": 1764547200, "readings": [{"meter": "M1", "values": {"pf": 1}},
                                                {"meter": "M9", "values": {"pf": 1}}]}, snap=snap)
    assert ",gateway=gw2,meter=M1 " in out.lines[0]
    assert ",gateway=gw1,meter=M9 " in out.lines[1]


def test_unregistered_meters_are_dead_lettered_and_make_no_line() -> None:
    snap = RegistrySnapshot({ENT: "Asia/Shanghai"}, frozenset({(ENT, "gw1")}), {(ENT, "M1"): "gw1"})
    doc = {"ts": 1764547200, "readings": [{"meter": m, "values": {"pf": 1}} for m in ("M1", "X1", "M1x")]}
    out = parse(doc, snap=snap)
    assert out.lines == [f"reading,enterprise={ENT},gateway=gw1,meter=M1 pf=1 1764547200"]
    assert [(r.index, r.reason) for r in out.rejects] == [(1, Reason.UNKNOWN_METER), (2, Reason.UNKNOWN_METER)]
    assert "X1 is not registered" in out.rejects[0].detail and out.rejects[0].raw.startswith(b'{"meter":"X1"')
    other = RegistrySnapshot({ENT: "Asia/Shanghai", "91330100MA27XL0F01": "Asia/Shanghai"}, frozenset({(ENT, "gw1")}),
                             {("91330100MA27XL0F01", "X1"): "gw7"})
    assert [r.reason for r in parse(doc, snap=other).rejects] == [Reason.UNKNOWN_METER] * 3  # another enterprise's


def test_a_gateway_names_at_most_max_meters_meters() -> None:
    seen: set[str] = {"A0"}
    doc = {"ts": 1764547200, "readings": [{"meter": f"A{i}", "values": {"pf": 1}} for i in range(5)]}
    out = parse_telemetry(TOPIC, orjson.dumps(doc), SNAP, NOW, seen, 3)
    assert [line.split(",meter=")[1].split()[0] for line in out.lines] == ["A0", "A1", "A2"]
    assert [r.reason for r in out.rejects] == [Reason.TOO_MANY_METERS] * 2 and seen == {"A0", "A1", "A2"}
    again = parse_telemetry(TOPIC, orjson.dumps(doc), SNAP, NOW, seen, 3)  # known ones still pass
    assert len(again.lines) == 3


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        (f"em/v1/{ENT}/gw-1_A/telemetry", Topic(ENT, "gw-1_A", "telemetry")),
        (f"em/v1/{ENT}/gw1/status", Topic(ENT, "gw1", "status")),
        (f"em/v2/{ENT}/gw1/telemetry", None),
        (f"em/v1/{ENT}/gw1/telemetry/x", None),
        (f"em/v1/{ENT.lower()}/gw1/telemetry", None),
        (f"em/v1/{ENT}/gw 1/telemetry", None),
        (f"em/v1/{ENT}//telemetry", None),
        ("em/v1/SHORT/gw1/telemetry", None),
        (f"em/v1/{ENT}\n/gw1/telemetry", None),
    ],
)
def test_parse_topic(topic: str, expected: Topic | None) -> None:
    assert parse_topic(topic) == expected


def test_registry_check_reasons() -> None:
    assert SNAP.check(TOPIC) is None
    assert SNAP.check(Topic(ENT, "gw9", "telemetry"))[0] == Reason.UNKNOWN_GATEWAY  # type: ignore[index]
    other = "91110000100000000J"
    assert SNAP.check(Topic(other, "gw1", "telemetry"))[0] == Reason.UNKNOWN_ENTERPRISE  # type: ignore[index]


def test_status_payload() -> None:
    assert parse_status(b'{"online": true, "ts": 1764547200}') == (True, 1764547200)
    assert parse_status(b'{"online": false}') == (False, None)
    assert parse_status(b'{"online": 1}') is None
    assert parse_status(b"garbage") is None


# ---------------------------------------------------------------- properties

instants = st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(2100, 1, 1),
                        timezones=st.just(dt.UTC))
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))


@given(instants, offsets)
def test_rfc3339_with_any_offset_is_the_same_instant(when: dt.datetime, tz: dt.timezone) -> None:
    local = when.astimezone(tz)
    text = local.isoformat()  # YYYY-MM-DDTHH:MM:SS[.ffffff]+HH:MM
    assert timestamp_seconds(text, "Asia/Shanghai") == int(when.timestamp() // 1)


@given(instants)
def test_epoch_seconds_ms_and_naive_string_agree(when: dt.datetime) -> None:
    seconds = int(when.timestamp() // 1)
    ms = int(when.timestamp() * 1000) // 1 if when.timestamp() * 1000 >= 10**12 else None
    local = when.astimezone(ZoneInfo("Asia/Shanghai"))  # China kept DST 1986-1991: not always +08:00
    assert timestamp_seconds(seconds, "Asia/Shanghai") == seconds
    assert timestamp_seconds(when.timestamp(), "Asia/Shanghai") == seconds
    if local.fold == 0:  # the repeated hour when DST ended is read as its first occurrence
        assert timestamp_seconds(local.replace(tzinfo=None).isoformat(), "Asia/Shanghai") == seconds
    if ms is not None:
        assert timestamp_seconds(ms, "Asia/Shanghai") == seconds


@given(st.lists(st.one_of(
    st.fixed_dictionaries({"meter": st.from_regex(r"\A[A-Za-z0-9_-]{1,8}\Z"), "values": st.just({"pf": 0.5})}),
    st.fixed_dictionaries({"meter": st.text(max_size=5), "values": st.just({"pf": 2.0})}),
), max_size=30))
def test_every_reading_is_stored_or_dead_lettered_alone(readings: list[dict]) -> None:
    out = parse({"ts": 1764547200, "readings": readings})
    good = [r for r in readings if r["values"]["pf"] == 0.5]
    assert len(out.lines) == len(good)
    assert sorted(r.index for r in out.rejects) == [i for i, r in enumerate(readings) if r["values"]["pf"] != 0.5]
