"""`enerdiag dashboards feed` on real InfluxDB: registry + rollups → enterprise_info, enterprise_analysis,
enterprise_tou_daily, finding, checked against `analyze`, the diagnosis and the reference TOU table; running twice
changes nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from analytics.analyze_job import analyze
from analytics.calendar import local_midnight_s
from analytics.publish_job import FINDING_CODES, GRADE_OVER, SEVERITY, day_periods
from analytics.registry_view import load_enterprises
from analytics.report.job import all_registry_facts, diagnose_enterprises
from analytics.rollup_job import run_rollup
from core.influx import InfluxV1, line
from core.measurements import ACTIVITY_INDEX, ENTERPRISE_ANALYSIS, ENTERPRISE_INFO, ENTERPRISE_TOU_DAILY, FINDING
from core.reference import get_reference
from core.registry.db import dispose_engines, session_scope
from core.registry.loader import load_registry_file
from core.settings import get_settings
from enerdiag.commands import dashboards as dashboards_commands
from enerdiag.commands import report as report_commands
from tests.support.cement_pair import DAY0, GOOD, OVER, REGISTRY

pytestmark = pytest.mark.integration

DAY = dt.date(2025, 12, 1)

KWH_PER_HOUR = 1000.0  # main meter M01: 250 kWh per 15 minutes


def seed(influx: InfluxV1, code: str, start_s: int, quarters: int, output_per_15min: float) -> None:
    """Counter readings every 15 minutes from `start_s`: main meter 1,000 kWh/h, sub-meter 400 kWh/h,
    process meter 600 kWh/h, gas 100 m3/h, output `output_per_15min` t per quarter hour."""
    lines = []
    for meter, field, step in (("M01", "energy_kwh", 250.0), ("M02", "energy_kwh", 100.0),
                               ("P01", "energy_kwh", 150.0), ("G01", "gas_m3", 25.0),
                               ("O01", "output_t", output_per_15min)):
        lines += [line("reading", {"enterprise": code, "gateway": "gw1", "meter": meter}, {field: 7.0 + step * k},
                       start_s + 900 * k) for k in range(quarters + 1)]
    influx.write(lines)


@pytest.fixture
def registry(services, influx_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A file registry with the two cement plants; settings point at it and at the test database."""
    monkeypatch.setenv("ENERDIAG_INFLUX_DB", influx_db)
    monkeypatch.setenv("ENERDIAG_DB_URL", f"sqlite:///{tmp_path / 'registry.sqlite3'}")
    get_settings.cache_clear()
    path = tmp_path / "registry.yaml"
    path.write_text(REGISTRY.format(over=OVER, good=GOOD), encoding="utf-8")
    with session_scope() as session:
        load_registry_file(session, path)
    yield influx_db
    dispose_engines()
    get_settings.cache_clear()


def app() -> typer.Typer:
    root = typer.Typer()
    dashboards_commands.register(root)
    report_commands.register(root)
    return root


def _points(influx: InfluxV1, measurement: str) -> int:
    return sum(len(s.values) for s in influx.query(f'SELECT * FROM "{measurement}" GROUP BY *'))


def test_feed_writes_analysis_tou_and_info_and_is_idempotent(services, registry: str) -> None:
    influx = InfluxV1(services.influx_url, registry)
    seed(influx, OVER, DAY0, 96, 0.5)
    seed(influx, GOOD, DAY0, 96, 1.0)
    with session_scope() as session:
        enterprises = load_enterprises(session)
    run_rollup(influx, enterprises, since_s=DAY0 - 86400, now_s=DAY0 + 2 * 86400)
    runner = CliRunner()
    result = runner.invoke(app(), ["dashboards", "feed", "--from", "2025-12-01", "--to", "2025-12-02"])
    assert result.exit_code == 0, result.output
    assert "2 enterprise_info, 4 enterprise_analysis" in result.stdout

    info = influx.query('SELECT "name" FROM "enterprise_info" GROUP BY "enterprise", "county", "industry"')
    assert {(s.tags["enterprise"], s.tags["county"], s.values[0][1], s.values[0][0]) for s in info} == {
        (OVER, "云冈区", "大同示例水泥有限公司", DAY0), (GOOD, "平城区", "示例二号水泥有限公司", DAY0)}

    reference = get_reference()
    expected = {r.enterprise: r for r in analyze(influx, enterprises, DAY, DAY + dt.timedelta(days=1), reference)}
    rows = influx.query(f'SELECT * FROM "{ENTERPRISE_ANALYSIS}" GROUP BY "enterprise", "period"')
    got = {(s.tags["enterprise"], s.tags["period"]): s.records()[0] for s in rows}
    assert set(got) == {(OVER, "day"), (OVER, "month"), (GOOD, "day"), (GOOD, "month")}
    assert got[(OVER, "month")]["time"] == DAY0  # 1 December is the first of its month too
    for (code, _period), row in got.items():
        result, quota = expected[code], expected[code].quota
        assert row["tce"] == pytest.approx(result.tce) and row["tce"] > 5
        assert row["co2_t"] == pytest.approx(result.co2_t)
        assert row["quota_limit_kgce_per_t"] == quota.limit
        assert row["intensity_kgce_per_t"] == pytest.approx(quota.value)
    assert got[(OVER, "day")]["over_quota"] == 1 and got[(OVER, "day")]["quota_grade"] == GRADE_OVER
    assert got[(OVER, "day")]["gap_tce"] == pytest.approx(expected[OVER].quota.gap_tce)
    assert got[(GOOD, "day")]["over_quota"] == 0 and got[(GOOD, "day")]["quota_grade"] == 1

    table = day_periods(reference, DAY)
    tou = influx.query(f'SELECT "kwh" FROM "{ENTERPRISE_TOU_DAILY}" GROUP BY "enterprise", "period"')
    split = {(s.tags["enterprise"], s.tags["period"]): s.values[0][1] for s in tou}
    for code in (OVER, GOOD):  # only the main meter counts: sub and process meters are inside it
        assert {p: v for (c, p), v in split.items() if c == code} == {
            p: KWH_PER_HOUR * table.count(p) for p in set(table)}
    daily = influx.query("SELECT sum(\"value\") FROM \"enterprise_daily\" WHERE \"carrier\" = 'electricity' "
                         'GROUP BY "enterprise"')
    assert {s.tags["enterprise"]: s.values[0][1] for s in daily} == {OVER: 24_000.0, GOOD: 24_000.0}

    activity = influx.query('SELECT * FROM "activity_index" GROUP BY "by", "group"')
    groups = {(s.tags["by"], s.tags["group"]): s.records()[0] for s in activity}
    assert set(groups) == {("county", "云冈区"), ("county", "平城区"), ("industry", "3011"), ("city", "全市")}
    # no data in the four reference weeks before 1 December: nobody enters the index, and it is left out
    assert groups[("city", "全市")]["excluded"] == 2 and groups[("city", "全市")]["enterprises"] == 0
    assert all("activity_index" not in row or row["activity_index"] is None for row in groups.values())

    with session_scope() as session:
        facts = all_registry_facts(session, DAY.year)
    withheld: dict[str, list[dict[str, object]]] = {}
    diagnosed = diagnose_enterprises(influx, enterprises, facts, DAY, dt.date(2026, 1, 1), reference,
                                     withheld=withheld)
    rows = influx.query(f'SELECT * FROM "{FINDING}" GROUP BY "enterprise", "code"')
    findings = {(s.tags["enterprise"], s.tags["code"]): s.records()[0] for s in rows}
    assert set(findings) == {(c, f) for c in (OVER, GOOD) for f in FINDING_CODES}  # every code, found or not
    assert all(row["time"] == DAY0 for row in findings.values())  # the month's start: re-runs overwrite
    for code in (OVER, GOOD):
        found = {f.code: f for f in diagnosed[code]}
        assert {c for (e, c), row in findings.items() if e == code and row["present"] == 1} == set(found)
        for c, f in found.items():
            row = findings[(code, c)]
            assert (row["savings_cny"], row["savings_kwh"]) == (pytest.approx(f.savings_cny),
                                                                pytest.approx(f.savings_kwh))
            assert row["title_zh"] == f.title_zh and row["severity"] == SEVERITY[f.severity]
    # one day of data in December: the month's over-quota finding rests on 1/31 of it, so it is withheld, not fed
    assert findings[(OVER, "over_quota")]["present"] == 0 and findings[(GOOD, "over_quota")]["present"] == 0
    assert "over_quota" in {w["code"] for w in withheld[OVER]}
    assert findings[(GOOD, "over_quota")]["savings_cny"] == 0.0

    published = (ENTERPRISE_INFO, ENTERPRISE_ANALYSIS, ENTERPRISE_TOU_DAILY, ACTIVITY_INDEX, FINDING)
    before = {m: _points(influx, m) for m in published}
    # a finding an earlier run wrote that the diagnosis no longer makes: the re-run clears it (present 0, no savings)
    influx.write([line(FINDING, {"enterprise": GOOD, "code": "over_quota"},
                       {"present": 1, "severity": 3, "savings_kwh": 5.0, "savings_tce": 1.0, "savings_cny": 99.0,
                        "savings_co2_t": 2.0, "title_zh": "旧的发现"}, DAY0)], precision="s")
    again = runner.invoke(app(), ["dashboards", "feed", "--from", "2025-12-01", "--to", "2025-12-02"])
    assert again.exit_code == 0, again.output
    assert {m: _points(influx, m) for m in before} == before
    rows = influx.query(f'SELECT * FROM "{FINDING}" GROUP BY "enterprise", "code"')
    assert {(s.tags["enterprise"], s.tags["code"]): s.records()[0] for s in rows} == findings
    rows = influx.query(f'SELECT * FROM "{ENTERPRISE_ANALYSIS}" GROUP BY "enterprise", "period"')
    assert {(s.tags["enterprise"], s.tags["period"]): s.records()[0] for s in rows} == got
    influx.close()


def test_a_2018_period_without_a_tou_edition_is_fed_and_reported(services, registry: str, tmp_path: Path) -> None:
    """Issue 13 item 2: Shanxi has no TOU edition recorded before 2022-01-05. The feed and the report of a 2018 day
    compute energy and tce, leave the TOU split and TOU-priced CNY out with a warning naming the missing edition."""
    influx = InfluxV1(services.influx_url, registry)
    start = local_midnight_s(dt.date(2018, 2, 1), "Asia/Shanghai")
    seed(influx, OVER, start, 96, 0.5)
    with session_scope() as session:
        enterprises = load_enterprises(session)
    run_rollup(influx, enterprises, since_s=start - 86400, now_s=start + 2 * 86400)
    runner = CliRunner()
    fed = runner.invoke(app(), ["dashboards", "feed", "--from", "2018-02-01", "--to", "2018-02-02"])
    assert fed.exit_code == 0, fed.output
    assert "no shanxi time-of-use edition in force on 2018-02-01" in fed.output
    rows = influx.query(f'SELECT * FROM "{ENTERPRISE_ANALYSIS}" WHERE "period" = \'day\' GROUP BY "enterprise"')
    day = {s.tags["enterprise"]: s.records()[0] for s in rows}
    assert day[OVER]["tce"] > 5  # 24,000 kWh and 2,400 m3 of gas: energy and tce are there
    assert _points(influx, ENTERPRISE_TOU_DAILY) == 0
    findings = influx.query(f'SELECT * FROM "{FINDING}" GROUP BY "enterprise", "code"')
    assert {s.tags["code"] for s in findings} >= set(FINDING_CODES)
    out = tmp_path / "2018.html"
    reported = runner.invoke(app(), ["report", OVER, "--from", "2018-02-01", "--to", "2018-02-02", "--out", str(out)])
    assert reported.exit_code == 0, reported.output
    html = out.read_text(encoding="utf-8")
    assert "no shanxi time-of-use edition in force on 2018-02-01" in html
    assert 'data-tariff="assumed"' in html and "金额按假设电价计算" in html
    influx.close()


def test_feed_bad_input_exits_2(registry: str) -> None:
    runner = CliRunner()
    bad = runner.invoke(app(), ["dashboards", "feed", "--from", "2025-13-01"])
    assert bad.exit_code == 2 and "--from" in bad.output
    backwards = runner.invoke(app(), ["dashboards", "feed", "--from", "2025-12-02", "--to", "2025-12-01"])
    assert backwards.exit_code == 2
    unknown = runner.invoke(app(), ["dashboards", "feed", "--enterprise", "91140200MA0H2KZZ00"])
    assert unknown.exit_code == 2 and "not in the registry" in unknown.output
