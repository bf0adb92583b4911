"""The watcher's pure parts: safety readings out of a telemetry message, and which meters are watched."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pytest

from analytics.safety.context import load_context
from analytics.safety.thresholds import RuleSet, load_rules
from analytics.safety.watch import readings_of, watcher_mqtt_url
from core.registry.db import init_db, session_scope
from core.registry.models import Enterprise, Gateway, Meter

ENT = "91330100MA27XL0E96"
TOPIC = f"em/v1/{ENT}/gw1/telemetry"
NOW = 1772416800.0  # 2026-03-02 02:00 UTC


def tz(_: str) -> str:
    return "Asia/Shanghai"


def test_readings_of_takes_safety_values_and_the_contract_timestamps() -> None:
    payload = orjson.dumps({"ts": int(NOW) - 60, "readings": [
        {"meter": "S2", "ts": "2026-03-02T10:00:00", "values": {"leakage_ma": 320, "energy_kwh": 5.0}},
        {"meter": "S1", "values": {"temp_c": 41.5, "voltage_v": 221.0}},
        {"meter": "S1", "ts": int(NOW - 120) * 1000, "values": {"current_a": 80}},
        {"meter": "S3", "ts": int(NOW) + 3600, "values": {"leakage_ma": 900}},  # future: rejected
        {"meter": "S4", "values": {"leakage_ma": 900, "bogus_q": 1}},  # unknown quantity: rejected
        {"meter": "S5", "values": {"energy_kwh": 10.0}},  # no safety quantity
        {"meter": "S6", "values": {"leakage_ma": "high"}},
        "not a reading",
    ]})
    out = readings_of(TOPIC, payload, tz, NOW)
    naive_local = int(dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC).timestamp())  # 10:00 Shanghai
    assert out == [
        (ENT, "S1", int(NOW) - 120, {"current_a": 80.0}),
        (ENT, "S1", int(NOW) - 60, {"temp_c": 41.5, "voltage_v": 221.0}),
        (ENT, "S2", naive_local, {"leakage_ma": 320.0}),
    ]


def test_readings_of_ignores_bad_messages() -> None:
    assert readings_of("em/v1/bad/gw1/telemetry", b'{"readings": []}', tz, NOW) == []
    assert readings_of(TOPIC, b"not json", tz, NOW) == []
    assert readings_of(TOPIC, b"[1, 2]", tz, NOW) == []
    assert readings_of(f"em/v1/{ENT}/gw1/status", b'{"online": true}', tz, NOW) == []


def test_context_watches_safety_meters_and_configured_night_meters(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    init_db(url)
    with session_scope(url) as s:
        s.add(Enterprise(code=ENT, name="测试", industry="3311", county="330102", timezone="Asia/Urumqi"))
        s.add(Gateway(enterprise_code=ENT, gateway_id="gw1"))
        for meter, role, rated in (("S1", "safety", 63.0), ("S2", "safety", None), ("COLD", "warehouse", None),
                                   ("MAIN", "main", None), ("SUB", "sub", None)):
            s.add(Meter(enterprise_code=ENT, meter_id=meter, gateway_id="gw1", carrier="electricity", role=role,
                        unit="kWh", rated_current_a=rated))
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(f"enterprises:\n  {ENT}:\n    meters:\n      MAIN:\n        closed_hours: '22:00-06:00'\n"
                          f"        night_load_kw: 50\n", encoding="utf-8")
    ctx = load_context(load_rules(rules_file), url)
    s1 = ctx(ENT, "S1")
    assert s1 is not None and s1[0].rated_current_a == 63.0 and s1[1] == "Asia/Urumqi"
    assert ctx(ENT, "S2") is not None and ctx(ENT, "S2")[0].rated_current_a is None
    assert ctx(ENT, "COLD") is None and ctx(ENT, "SUB") is None
    main = ctx(ENT, "MAIN")
    assert main is not None and main[0].night_load_kw == 50
    assert load_context(RuleSet(), url, all_meters=True)(ENT, "COLD") is not None


def test_the_watcher_never_logs_in_with_the_collectors_account() -> None:
    own = "mqtt://enerdiag-safety:s@mosquitto:1884"
    assert watcher_mqtt_url(own, "mqtt://collector:c@mosquitto:1884") == own
    assert watcher_mqtt_url(None, "mqtt://127.0.0.1:1883") == "mqtt://127.0.0.1:1883"  # development broker
    with pytest.raises(ValueError, match="ENERDIAG_SAFETY_MQTT_URL"):
        watcher_mqtt_url(None, "mqtt://collector:c@mosquitto:1884")
