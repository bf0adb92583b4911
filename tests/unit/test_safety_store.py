"""The local alarm list (SQLite) and the InfluxDB line of an alarm event; `enerdiag alarms` over the list."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
import pytest
import typer
from typer.testing import CliRunner

from analytics.safety.alarms import Alarm, AlarmEvent
from analytics.safety.rules import Severity
from analytics.safety.store import AlarmStore, event_line
from core.settings import get_settings
from enerdiag.commands import safety

START = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def alarm(meter: str, end: dt.datetime | None, enterprise: str = "91140200MA0H2KXX88") -> Alarm:
    return Alarm(enterprise, meter, "leakage", Severity.ALARM, START, end, 450.0, 420.0, 300.0, {"unit": "mA"})


def test_upsert_is_idempotent_and_updates_by_id(tmp_path: Path) -> None:
    store = AlarmStore(tmp_path / "a.sqlite3")
    store.upsert([alarm("S1", None), alarm("S2", None)])
    store.upsert([alarm("S1", START + dt.timedelta(minutes=9))])  # the same alarm closes
    assert len(store.list()) == 2
    assert [a.meter for a in store.list(open_only=True)] == ["S2"]
    closed = next(a for a in store.list() if a.meter == "S1")
    assert closed.end == START + dt.timedelta(minutes=9) and closed.evidence == {"unit": "mA"}
    assert store.list(enterprise="OTHER") == []
    store.close()


def test_event_line_carries_bounded_tags_and_state_fields() -> None:
    text = event_line(AlarmEvent("close", 1772417400, alarm("S1", START + dt.timedelta(minutes=9))))
    head, fields, ts = text.split(" ")
    assert head == "safety_alarm,enterprise=91140200MA0H2KXX88,meter=S1,rule=leakage,severity=alarm"
    assert 'state="closed"' in fields and "open=0i" in fields and "peak=450" in fields
    assert f"start_s={int(START.timestamp())}i" in fields and ts == "1772417400"


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setenv("ENERDIAG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ENERDIAG_RUN_DIR", str(tmp_path / "run"))
    get_settings.cache_clear()
    application = typer.Typer()
    safety.register(application)
    yield application
    get_settings.cache_clear()


def test_alarms_command_lists_and_filters(app: typer.Typer, tmp_path: Path) -> None:
    runner = CliRunner()
    assert orjson.loads(runner.invoke(app, ["alarms", "--json"]).output) == []
    store = AlarmStore.in_dir(tmp_path)
    store.upsert([alarm("S1", START + dt.timedelta(minutes=5)), alarm("S2", None),
                  alarm("S3", None, enterprise="91140200MA0H2KXX99")])
    store.close()
    everything = orjson.loads(runner.invoke(app, ["alarms", "--json"]).output)
    assert len(everything) == 3
    opened = orjson.loads(runner.invoke(app, ["alarms", "--json", "--open",
                                              "--enterprise", "91140200MA0H2KXX88"]).output)
    assert [(a["meter"], a["open"], a["severity"], a["peak"]) for a in opened] == [("S2", True, "alarm", 450.0)]
    table = runner.invoke(app, ["alarms"]).output
    assert "剩余电流" in table and "进行中" in table
    bad = runner.invoke(app, ["alarms", "--since", "yesterday"])
    assert bad.exit_code == 2


def test_rules_command_rejects_a_bad_file_with_its_line(app: typer.Typer, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("defaults:\n  leakage_alarm_ma: 5000\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["safety", "rules", "--rules", str(path)])
    assert result.exit_code == 2
    assert result.stderr == f"enerdiag: {path}:2: defaults: leakage_alarm_ma = 5000 is outside 20..1000\n"
    backwards = CliRunner().invoke(app, ["safety", "scan", "--from", "2026-01-02", "--to", "2026-01-01"])
    assert backwards.exit_code == 2 and "is not after" in backwards.stderr
    path.write_text("defaults:\n  leakage_alarm_ma: 500\n", encoding="utf-8")
    good = CliRunner().invoke(app, ["safety", "rules", "--rules", str(path)])
    assert good.exit_code == 0 and orjson.loads(good.output)["thresholds"]["leakage_alarm_ma"] == 500
