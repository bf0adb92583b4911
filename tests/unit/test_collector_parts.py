"""Collector pieces without services: subscriptions, metrics text, dead-letter store and CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from collector.deadletters import DeadLetter, DeadLetterStore
from collector.metrics import Metrics
from collector.service import CollectorConfig
from enerdiag.commands import collect


def config(**kw: object) -> CollectorConfig:
    return CollectorConfig(mqtt_url="mqtt://127.0.0.1:1883", client_id="c", influx_url="http://x", influx_db="d",
                           data_dir=Path("/nonexistent"), **kw)  # type: ignore[arg-type]


def test_subscriptions_plain_and_shared() -> None:
    assert config().subscriptions == ["em/v1/+/+/telemetry", "em/v1/+/+/status"]
    assert config(shared_group="ingest").telemetry_subscription == "$share/ingest/em/v1/+/+/telemetry"


def test_prometheus_text() -> None:
    m = Metrics()
    m.add("messages_received", 3)
    m.dead("not_json", 2)
    m.write_latency(0.02)
    m.write_latency(20.0)
    m.gateway_status("E", "gw1", True, 1.0)
    text = m.prometheus()
    assert "enerdiag_collector_messages_received_total 3" in text
    assert 'enerdiag_collector_deadletters_total{reason="not_json"} 2' in text
    assert 'enerdiag_collector_write_seconds_bucket{le="0.025"} 1' in text
    assert 'enerdiag_collector_write_seconds_bucket{le="+Inf"} 2' in text
    assert 'enerdiag_gateway_online{enterprise="E",gateway="gw1"} 1' in text


@pytest.fixture
def store_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from core.settings import get_settings

    monkeypatch.setenv("ENERDIAG_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    store = DeadLetterStore.in_dir(tmp_path)
    store.add_many([
        DeadLetter(1_764_547_200.0, "em/v1/A/gw/telemetry", "not_json", "payload is not JSON", b"{x", "A", "gw"),
        DeadLetter(1_764_633_600.0, "em/v1/A/gw/telemetry", "bad_meter", "reading 0: meter id", b'{"meter":1}', "A"),
        DeadLetter(1_764_633_700.0, "em/v1/B/gw/telemetry", "not_json", "payload is not JSON", "\ud800".encode(
            "utf-8", "surrogatepass"), "B"),
    ])
    store.close()
    yield tmp_path
    get_settings.cache_clear()


def app() -> typer.Typer:
    a = typer.Typer()
    collect.register(a)
    return a


def test_deadletters_cli_filters_and_json(store_dir: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(app(), ["deadletters", "--json", "--enterprise", "A"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    assert [r["reason"] for r in rows] == ["bad_meter", "not_json"]  # newest first
    out = runner.invoke(app(), ["deadletters", "--json", "--since", "2025-12-02"])  # Asia/Shanghai midnight
    assert [r["enterprise"] for r in json.loads(out.stdout)] == ["B", "A"]
    out = runner.invoke(app(), ["deadletters", "--count", "--json"])
    assert json.loads(out.stdout) == {"bad_meter": 1, "not_json": 2}
    out = runner.invoke(app(), ["deadletters"])
    assert out.exit_code == 0 and "not_json" in out.stdout and "em/v1/B/gw/telemetry" in out.stdout


def test_deadletters_bad_since_is_exit_2(store_dir: Path) -> None:
    out = CliRunner().invoke(app(), ["deadletters", "--since", "last week"])
    assert out.exit_code == 2
