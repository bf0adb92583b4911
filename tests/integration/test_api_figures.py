"""Figure endpoints equal `enerdiag analyze` for the same enterprise and period (one implementation of each figure)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from analytics.registry_view import load_enterprises
from analytics.rollup_job import ENTERPRISE_DAILY, ENTERPRISE_MONTHLY, run_rollup
from api.app import create_app
from api.precompute import precompute_credit, read_snapshot
from core.influx import InfluxV1, line
from core.reference import get_reference
from core.registry.access import grant_consent
from core.registry.db import get_engine, session_scope
from core.registry.models import Meter
from core.settings import get_settings
from enerdiag.commands import analyze as analyze_commands
from tests.unit.test_api_support import E1, E2, START, Clock, World, bearer, make_world

pytestmark = pytest.mark.integration


def analyze_cli() -> typer.Typer:
    """The `enerdiag analyze` command itself (registered here until the root CLI drops its placeholder)."""
    app = typer.Typer()
    analyze_commands.register(app)
    return app
SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(y: int, mo: int, d: int, h: int = 0) -> int:
    return int(dt.datetime(y, mo, d, h, tzinfo=SHANGHAI).timestamp())


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


@pytest.fixture
def influx(services: object, influx_db: str) -> Iterator[InfluxV1]:
    client = InfluxV1(services.influx_url, influx_db)  # type: ignore[attr-defined]
    yield client
    client.close()


@pytest.fixture
def rolled_up(world: World, influx: InfluxV1) -> None:
    """E1's main meter: 2.5 kWh every 15 min from local 30 October to local 2 November (240 kWh a day)."""
    start = local(2026, 10, 30)
    influx.write(
        line("reading", {"enterprise": E1, "gateway": "gw1", "meter": "M01"}, {"energy_kwh": 5000.0 + 2.5 * q},
             start + q * 900)
        for q in range(3 * 96 + 1)
    )
    with session_scope(world.url) as session:
        enterprises = load_enterprises(session, [E1])
    run_rollup(influx, enterprises, now_s=local(2026, 11, 3), since_s=local(2026, 10, 28))


def analyze_json(world: World, influx: InfluxV1, monkeypatch: pytest.MonkeyPatch, start: str, end: str) -> dict:  # type: ignore[type-arg]
    monkeypatch.setenv("ENERDIAG_DB_URL", world.url)
    monkeypatch.setenv("ENERDIAG_INFLUX_DB", influx.db)
    get_settings.cache_clear()
    try:
        args = ["analyze", "--from", start, "--to", end, "--enterprise", E1, "--json"]
        result = CliRunner().invoke(analyze_cli(), args)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)[0]


@pytest.mark.usefixtures("rolled_up")
def test_profile_months_equal_enerdiag_analyze(
    world: World, influx: InfluxV1, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = TestClient(create_app(registry_url=world.url, influx=influx, clock=Clock(START)))
    response = client.get(f"/v1/enterprises/{E1}/profile?from=2026-10&to=2026-11", headers=bearer(world.keys["a"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [m["month"] for m in body["months"]] == ["2026-10", "2026-11"]
    assert body["meters"] == [{"meter": "M01", "quantity": "energy_kwh", "carrier": "electricity", "role": "main"}]
    october, november = body["months"]
    assert october["energy"]["electricity"] == pytest.approx(480.0)
    assert november["energy"]["electricity"] == pytest.approx(240.0)
    assert october["completeness"] == pytest.approx(2 / 31, abs=1e-6)
    for month, (start, end) in zip(body["months"], (("2026-10-01", "2026-11-01"), ("2026-11-01", "2026-12-01")),
                                   strict=True):
        expected = analyze_json(world, influx, monkeypatch, start, end)
        for key in ("energy", "tce", "co2_t", "output_t", "intensity_kgce_per_t"):
            assert month[key] == expected[key], key
        assert month["evidence"]["completeness_by_carrier"] == expected["completeness"]
        assert month["evidence"]["period"] == {"from": start, "to": end}
    assert october["tce"] > 0 and october["co2_t"] > 0


def daily_rate(day: dt.date) -> float:
    """kWh a local day in the credit scenario: 100 a day the first year, 120 the second, October 2026 at 60
    with a three-day stop (12–14 October)."""
    if day < dt.date(2025, 11, 1):
        return 100.0
    if day >= dt.date(2026, 10, 1):
        return 0.0 if dt.date(2026, 10, 12) <= day <= dt.date(2026, 10, 14) else 60.0
    return 120.0


@pytest.fixture
def credit_data(world: World, influx: InfluxV1) -> None:
    """24 months of E1 electricity: a reading every hour, every 15 minutes for the last 90 days (full data)."""
    first, dense, end = dt.date(2024, 11, 1), dt.date(2026, 8, 3), dt.date(2026, 11, 1)
    points, value, day = [], 10_000.0, first
    while day < end:
        steps = 96 if day >= dense else 24
        for k in range(steps):
            points.append((local(day.year, day.month, day.day) + k * 86400 // steps, value))
            value += daily_rate(day) / steps
        day += dt.timedelta(days=1)
    points.append((local(2026, 11, 1), value))
    tags = {"enterprise": E1, "gateway": "gw1", "meter": "M01"}
    influx.write((line("reading", tags, {"energy_kwh": v}, t) for t, v in points), compress=True)
    with session_scope(world.url) as session:
        grant_consent(session, E1, "bank-a", ["credit"], dt.date(2027, 6, 30))
        enterprises = load_enterprises(session, [E1])
    run_rollup(influx, enterprises, now_s=local(2026, 11, 2), since_s=local(2024, 10, 30))


def month_kwh(year: int, month: int) -> float:
    day, total = dt.date(year, month, 1), 0.0
    while day.month == month:
        total += daily_rate(day)
        day += dt.timedelta(days=1)
    return total


@pytest.mark.usefixtures("credit_data")
def test_credit_indicators_follow_their_published_definitions(world: World, influx: InfluxV1) -> None:
    client = TestClient(create_app(registry_url=world.url, influx=influx, clock=Clock(START)))
    response = client.get(f"/v1/enterprises/{E1}/credit-indicators?as_of=2026-11-01",
                          headers=bearer(world.keys["a"]))
    assert response.status_code == 200, response.text
    body = response.json()
    months = [(y, m) for y in (2024, 2025, 2026) for m in range(1, 13) if (2024, 11) <= (y, m) <= (2026, 10)]
    kwh = [month_kwh(y, m) for y, m in months]
    assert body["reference_month"] == "2026-10"
    assert body["utilisation"] == pytest.approx(kwh[-1] / max(kwh[11:23]), abs=1e-6)  # 1,680 / 3,720
    assert body["trend_yoy"] == pytest.approx(sum(kwh[12:]) / sum(kwh[:12]) - 1, abs=1e-6)
    assert body["trend_mom"] == pytest.approx((kwh[-1] / 31) / (kwh[-2] / 30) - 1, abs=1e-6)
    assert body["activity_index"] == (int(sum(kwh[12:]) / 12 / 1000) + 1) * 10
    assert body["shutdown_days_90d"] == 3
    assert [a["day"] for a in body["anomalies"] if a["kind"] == "shutdown_day"] == [
        "2026-10-12", "2026-10-13", "2026-10-14"]
    window = [daily_rate(dt.date(2026, 8, 3) + dt.timedelta(days=i)) for i in range(90)]
    mean = sum(window) / 90
    cv = (sum((x - mean) ** 2 for x in window) / 89) ** 0.5 / mean  # sample SD
    assert body["stability_cv"] == pytest.approx(cv, abs=1e-6)
    assert body["quota_status"] == "n/a"
    assert body["no_data_days_90d"] == 0 and body["insufficient"] == {}  # full data: every figure present
    assert body["carbon_intensity_t_per_t"] is None  # no output meter: null by definition, not for lack of data
    evidence = body["evidence"]
    for name in ("activity_index", "utilisation", "stability_cv", "trend_mom", "trend_yoy", "shutdown_days_90d",
                 "quota_status", "carbon_intensity_t_per_t", "green_share", "completeness"):
        assert {"period", "meters", "completeness"} <= set(evidence[name]), name
        assert evidence[name]["meters"] == [
            {"meter": "M01", "quantity": "energy_kwh", "carrier": "electricity", "role": "main"}]
    assert evidence["utilisation"]["period"] == {"from": "2025-10-01", "to": "2026-11-01"}
    assert evidence["utilisation"]["inputs"]["peak_month"]["electricity_kwh"] == pytest.approx(max(kwh[11:23]))
    assert evidence["stability_cv"]["completeness"] == pytest.approx(1.0)
    assert evidence["carbon_intensity_t_per_t"]["window"] == "12 months 2025-11 to 2026-10"
    assert evidence["activity_index"]["sufficiency"] == {
        "sufficient": True, "needs": "≥ 10 of the 12 months counted (months count when ≥ 80% complete)",
        "coverage": {"months_counted": 12, "months": 12}}


def test_seven_days_in_a_year_give_null_indicators_with_insufficient(world: World, influx: InfluxV1) -> None:
    """Issue #13: about a week of data in the 12-month window is not a year; the figures say so."""
    start = local(2026, 10, 20)
    tags = {"enterprise": E1, "gateway": "gw1", "meter": "M01"}
    influx.write(line("reading", tags, {"energy_kwh": 1000.0 + 5.0 * q}, start + q * 900) for q in range(7 * 96 + 1))
    roll_up(world, influx, dt.date(2026, 10, 18), dt.date(2026, 11, 2))
    with session_scope(world.url) as session:
        grant_consent(session, E1, "bank-a", ["credit"], dt.date(2027, 6, 30))
    client = TestClient(create_app(registry_url=world.url, influx=influx, clock=Clock(START)))
    body = client.get(f"/v1/enterprises/{E1}/credit-indicators?as_of=2026-11-01",
                      headers=bearer(world.keys["a"])).json()
    nulls = {"activity_index", "utilisation", "trend_mom", "trend_yoy", "stability_cv", "shutdown_days_90d",
             "quota_status", "green_share"}
    assert {k for k in nulls if body[k] is not None} == set()
    assert set(body["insufficient"]) == nulls | {"carbon_intensity_t_per_t"}
    assert body["no_data_days_90d"] == 83
    assert body["completeness"] == pytest.approx(7 / 365, abs=1e-4)
    assert body["insufficient"]["activity_index"]["coverage"] == {"months_counted": 0, "months": 12}
    assert body["insufficient"]["shutdown_days_90d"]["coverage"] == {"measured_days": 7, "days": 90}
    october = body["evidence"]["activity_index"]["inputs"]["months"][-1]
    assert october["electricity_kwh"] == pytest.approx(7 * 480.0) and october["counts"] is False
    assert body["evidence"]["activity_index"]["inputs"]["months"][0]["electricity_kwh"] is None  # no data, not 0


def add_output_meter(world: World) -> None:
    with session_scope(world.url) as session:
        session.add(Meter(enterprise_code=E1, meter_id="P01", gateway_id="gw1", carrier="output", role="main",
                          unit="t", multiplier=1.0))
        grant_consent(session, E1, "bank-a", ["orders"], dt.date(2027, 6, 30))


def write_daily_counter(influx: InfluxV1, meter: str, field: str, first: dt.date, end: dt.date,
                        per_day: Callable[[dt.date], float]) -> None:
    points, value, day = [], 100.0, first
    while day <= end:
        points.append((local(day.year, day.month, day.day), value))
        value += per_day(day)
        day += dt.timedelta(days=1)
    tags = {"enterprise": E1, "gateway": "gw1", "meter": meter}
    influx.write(line("reading", tags, {field: v}, t) for t, v in points)


def roll_up(world: World, influx: InfluxV1, since: dt.date, now: dt.date) -> None:
    with session_scope(world.url) as session:
        enterprises = load_enterprises(session, [E1])
    run_rollup(influx, enterprises, now_s=local(now.year, now.month, now.day),
               since_s=local(since.year, since.month, since.day))


def verify(world: World, influx: InfluxV1, query: str) -> dict:  # type: ignore[type-arg]
    client = TestClient(create_app(registry_url=world.url, influx=influx, clock=Clock(START)))
    response = client.get(f"/v1/enterprises/{E1}/order-verification?{query}", headers=bearer(world.keys["a"]))
    assert response.status_code == 200, response.text
    return response.json()


def test_order_output_measured_by_the_output_counter(world: World, influx: InfluxV1) -> None:
    add_output_meter(world)
    start = local(2026, 11, 1)
    tags = {"enterprise": E1, "gateway": "gw1", "meter": "P01"}
    influx.write(line("reading", tags, {"output_t": 50.0 + 0.25 * q}, start + q * 900) for q in range(2 * 96 + 1))
    roll_up(world, influx, dt.date(2026, 10, 30), dt.date(2026, 11, 4))
    body = verify(world, influx, "from=2026-11-01&to=2026-11-03&expected_output_t=60")
    assert body["method"] == "measured"
    assert body["output_t"] == pytest.approx(48.0)
    assert body["ratio_to_expected"] == pytest.approx(0.8)
    assert body["shortfall_t"] == pytest.approx(12.0)
    assert body["uncertainty_t"] == pytest.approx(0.0)
    assert body["evidence"]["output_coverage"] == pytest.approx(1.0)


def test_order_output_estimated_from_electricity_without_output_readings(world: World, influx: InfluxV1) -> None:
    add_output_meter(world)

    def tonnes(day: dt.date) -> float:
        return 12.5 if day.month == 9 else 10.0

    write_daily_counter(influx, "M01", "energy_kwh", dt.date(2026, 7, 1), dt.date(2026, 10, 11), lambda d: 1000.0)
    write_daily_counter(influx, "P01", "output_t", dt.date(2026, 7, 1), dt.date(2026, 10, 1), tonnes)
    roll_up(world, influx, dt.date(2026, 6, 29), dt.date(2026, 10, 12))
    body = verify(world, influx, "from=2026-10-01&to=2026-10-11&expected_output_t=100")
    ratios = [31_000 / 310, 31_000 / 310, 30_000 / 375]  # kWh/t of July, August, September
    kwh_per_t = 92_000 / (310 + 310 + 375)
    estimate = 10_000 / kwh_per_t
    mean = sum(ratios) / 3
    spread = (sum((r - mean) ** 2 for r in ratios) / 2) ** 0.5 / mean
    assert body["method"] == "estimated_from_electricity"
    assert body["evidence"]["baseline"]["kwh_per_t"] == pytest.approx(kwh_per_t, abs=1e-6)
    assert [m["month"] for m in body["evidence"]["baseline"]["months"]] == ["2026-07", "2026-08", "2026-09"]
    assert body["output_t"] == pytest.approx(estimate, abs=1e-6)
    assert body["uncertainty_t"] == pytest.approx(estimate * spread, abs=1e-5)
    assert body["ratio_to_expected"] == pytest.approx(estimate / 100, abs=1e-6)


@pytest.mark.usefixtures("credit_data")
def test_precomputed_indicators_answer_without_influxdb_and_equal_the_computed_ones(world: World,
                                                                                  influx: InfluxV1) -> None:
    engine = get_engine(world.url)
    path = f"/v1/enterprises/{E1}/credit-indicators?as_of=2026-11-01"
    computed = TestClient(create_app(registry_url=world.url, influx=influx, clock=Clock(START))).get(
        path, headers=bearer(world.keys["a"])).json()
    assert "computed_at" not in computed  # no snapshot yet: computed on request
    precomputed_at = dt.datetime(2026, 10, 31, 20, 30, tzinfo=dt.UTC)  # 04:30 on 1 November in Shanghai
    with session_scope(world.url) as session:
        report = precompute_credit(engine, session, influx, get_reference(), load_enterprises(session),
                                   now=precomputed_at)
    assert report.enterprises == 2 and not report.failed  # E1 (bank-a) and E2 (bank-b) granted `credit`
    influx.execute(f'DROP MEASUREMENT "{ENTERPRISE_DAILY}"')  # the request path reads the registry row only
    influx.execute(f'DROP MEASUREMENT "{ENTERPRISE_MONTHLY}"')
    client = TestClient(create_app(registry_url=world.url, influx=influx, clock=Clock(START)))
    stored = client.get(path, headers=bearer(world.keys["a"])).json()
    assert stored.pop("computed_at") == precomputed_at.isoformat()
    assert stored == computed
    other_day = client.get(f"/v1/enterprises/{E1}/credit-indicators?as_of=2026-10-31",
                           headers=bearer(world.keys["a"])).json()
    assert "computed_at" not in other_day and other_day["trend_yoy"] is None  # computed now, on no rollups


@pytest.mark.usefixtures("credit_data")
def test_rollup_command_precomputes_todays_indicators(world: World, influx: InfluxV1,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENERDIAG_DB_URL", world.url)
    monkeypatch.setenv("ENERDIAG_INFLUX_URL", influx.url)
    monkeypatch.setenv("ENERDIAG_INFLUX_DB", influx.db)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(analyze_cli(), ["rollup", "--enterprise", E1])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "credit indicators: 1 enterprise(s) precomputed" in result.output
    today = dt.datetime.now(SHANGHAI).date()
    assert read_snapshot(get_engine(world.url), E1, today)["as_of"] == today.isoformat()  # type: ignore[index]
    assert read_snapshot(get_engine(world.url), E2, today) is None  # --enterprise E1 only
