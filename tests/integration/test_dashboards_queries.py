"""Every panel, variable and alert-rule query, expanded as Grafana would, runs on the real InfluxDB.

Demo data (raw readings and derived points in the documented schemas) is written with
core/influx.py; each query must return the series, tags and columns its panel expects, and a few
panels are checked against numbers computed here from the same demo data.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest

from analytics import enterprise_info
from analytics.analyze_job import analyze
from analytics.calendar import next_month
from analytics.enterprise import EnterpriseInfo, MeterInfo
from analytics.enterprise_info import InfoRow, recent_days
from analytics.publish_job import FINDING_CODES, SEVERITY, publish
from analytics.report.job import diagnose_enterprises
from analytics.rollup_job import run_rollup
from collector.loadgen import Publisher, messages, telemetry_topic
from collector.registry_view import RegistrySnapshot
from collector.service import Collector, CollectorConfig
from core.influx import InfluxV1, Series, line
from core.marks import IngestMarks
from core.reference import get_reference
from dashboards import alerting, catalog, city, health
from dashboards.common import RAW_RP_NAME
from dashboards.macros import VariableValue, expand, panel_range, values
from dashboards.model import TIMEZONE, Dashboard, Panel, Target
from enerdiag.localservices.stack import RawRetention, ensure_retention_policy
from tests.integration import test_publish_job as pj

pytestmark = pytest.mark.integration

TZ = ZoneInfo(TIMEZONE)
E1, E2, E3 = "91140200DASHB00001", "91140200DASHB00002", "91140200DASHB00003"
INFO = {
    E1: ("云冈区", "3011", "大同示例水泥"),
    E2: ("平城区", "3011", "大同示例建材"),
    E3: ("平城区", "1331", "大同示例食品"),
}
Totals = dict[tuple[str, str, int], float]  # (enterprise, carrier, local-midnight epoch s) → value
# (enterprise, gateway, meter) → fields of one reading; E3 has been silent for the last 30 minutes.
METERS = {
    (E1, "gw1", "M01"): ("energy_kwh", "power_kw", "pf", "reactive_kvarh"),
    (E1, "gw1", "M02"): ("energy_kwh", "power_kw"),
    (E1, "gw2", "G01"): ("gas_m3",),
    (E2, "gw1", "M01"): ("energy_kwh", "power_kw", "pf"),
    (E2, "gw1", "O01"): ("output_t",),
    (E3, "gw1", "M01"): ("energy_kwh", "power_kw", "pf"),
}
SILENT = {E3}


@dataclass
class Demo:
    influx: InfluxV1
    now: dt.datetime
    daily: Totals
    monthly: Totals
    raw_rp: str = "autogen"  # where the raw readings are: the default policy, or their own (influx_raw_rp)


def local_midnight(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), TZ).timestamp())


def demo_lines(now: dt.datetime) -> tuple[list[str], Totals, Totals]:
    """Raw readings (26 h, every 5 min) and derived points (35 local days) for three enterprises."""
    out: list[str] = []
    now_s = int(now.timestamp())
    for (ent, gw, meter), fields in METERS.items():
        for k in range(26 * 12):
            t = now_s - 60 - k * 300
            if ent in SILENT and t > now_s - 1800:
                continue
            vals = {f: (1000.0 + (26 * 12 - k) * 3.5 if f.endswith(("_kwh", "_kvarh", "_m3", "_t"))
                        else 0.88 + (k % 5) / 100 if f == "pf" else 40.0 + k % 7) for f in fields}
            out.append(line("reading", {"enterprise": ent, "gateway": gw, "meter": meter}, vals, t))
    today = now.astimezone(TZ).date()
    out += enterprise_info.lines([InfoRow(code, *facts) for code, facts in INFO.items()], recent_days(now, 34))
    daily: Totals = {}
    monthly: Totals = {}
    for i, ent in enumerate(INFO):
        for back in range(35):
            day = today - dt.timedelta(days=back)
            t = local_midnight(day)
            carriers = {"electricity": 1000.0 * (i + 1) + back, "output": 10.0 + i + back % 3}
            if ent == E1:
                carriers["natural_gas"] = 50.0 + back
            for carrier, value in carriers.items():
                daily[(ent, carrier, t)] = value
                out.append(line("enterprise_daily", {"enterprise": ent, "carrier": carrier},
                                {"value": value, "estimated": 0.0, "completeness": 0.9 + (back % 10) / 100,
                                 "meters": 1}, t))
                month_t = local_midnight(day.replace(day=1))
                monthly[(ent, carrier, month_t)] = monthly.get((ent, carrier, month_t), 0.0) + value
            out.append(line("product_daily", {"enterprise": ent, "product": f"product{i}", "carrier": "electricity"},
                            {"value": 600.0 * (i + 1) + back, "estimated": 0.0, "completeness": 1.0, "meters": 1}, t))
            for meter in ("M01", "M02"):
                out.append(line("consumption_daily", {"enterprise": ent, "meter": meter, "quantity": "energy_kwh"},
                                {"value": 400.0 + back, "estimated": 2.0, "completeness": 0.97, "anomalies": 0,
                                 "excluded": 0, "n_readings": 288}, t))
    for (ent, carrier, month_t), value in monthly.items():
        out.append(line("enterprise_monthly", {"enterprise": ent, "carrier": carrier},
                        {"value": value, "estimated": 0.0, "completeness": 0.9}, month_t))
    hour0 = now_s - now_s % 3600
    for ent in INFO:
        for h in range(48):
            out.append(line("consumption_hourly", {"enterprise": ent, "meter": "M01", "quantity": "energy_kwh"},
                            {"value": 40.0 + h % 24, "estimated": 0.0, "completeness": 1.0, "anomalies": 0,
                             "excluded": 0, "n_readings": 12}, hour0 - 3600 * (h + 1)))
    alarm = {"enterprise": E1, "meter": "M01", "rule": "leakage", "severity": "alarm"}
    today_start = local_midnight(today)
    opened = max(now_s - 7200, today_start + 1)  # both alarms open today (local), the second one closed
    earlier = max(opened - 3600, today_start)
    out.append(line("safety_alarm", alarm, {"state": "open", "open": 1, "peak": 320.0, "value": 320.0,
                                            "threshold": 300.0, "start_s": opened, "alarm_id": f"{E1}:M01:leakage"},
                    opened))
    closed = {**alarm, "enterprise": E2, "severity": "pre_alarm"}
    out.append(line("safety_alarm", closed, {"state": "open", "open": 1, "peak": 80.0, "value": 80.0,
                                             "threshold": 60.0, "start_s": earlier, "alarm_id": "x"},
                    earlier))
    out.append(line("safety_alarm", closed, {"state": "closed", "open": 0, "peak": 80.0, "value": 20.0,
                                             "threshold": 60.0, "start_s": earlier, "end_s": opened,
                                             "alarm_id": "x"}, opened))
    return out, daily, monthly


def make_demo(services, db: str, raw_rp: str | None) -> Iterator[Demo]:  # type: ignore[no-untyped-def]
    """The demo data; with `raw_rp`, the raw readings in that retention policy (as `services up` creates it)."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    lines, daily, monthly = demo_lines(now)
    with InfluxV1(services.influx_url, db, raw_rp=raw_rp) as influx:
        if raw_rp is None:
            influx.write(lines)
        else:
            ensure_retention_policy(services.influxd, db, RawRetention(raw_rp, "30d"))
            influx.write([x for x in lines if x.startswith("reading,")], rp=raw_rp)
            influx.write([x for x in lines if not x.startswith("reading,")])
        yield Demo(influx, now, daily, monthly, raw_rp or "autogen")


@pytest.fixture(params=[None, RAW_RP_NAME], ids=["default-rp", "raw-rp"])
def demo(request, services, influx_db) -> Iterator[Demo]:  # type: ignore[no-untyped-def]
    """The panels must answer both with the raw readings in the default policy and in their own."""
    yield from make_demo(services, influx_db, request.param)


@pytest.fixture
def raw_demo(services, influx_db) -> Iterator[Demo]:  # type: ignore[no-untyped-def]
    """For the alert rules, which read the production stack's raw policy (dashboards/alerting.py)."""
    yield from make_demo(services, influx_db, RAW_RP_NAME)


def run(demo: Demo, query: str) -> list[Series]:
    assert " INTO " not in query.upper()
    return demo.influx.query(query, epoch="ms")


def all_selected(demo: Demo, dashboard: Dashboard) -> dict[str, VariableValue]:
    """Resolve the county → industry → enterprise chain as Grafana does with every variable on 'All'."""
    resolved: dict[str, VariableValue] = {}
    start, end = panel_range(demo.now, dashboard.time_from, None, TIMEZONE)
    for var in dashboard.variables:
        series = run(demo, expand(var.query, start, end, resolved))
        found = sorted({row[1] for s in series for row in s.values})
        assert found, f"variable {var.name} has no values: {var.query}"
        resolved[var.name] = (VariableValue(tuple(found), var.all_value) if var.include_all
                              else values(found[:1]))
    for hidden in dashboard.hidden:
        # Grafana takes a SHOW RETENTION POLICIES answer's first column, filters it with the regex, sorts it
        # (2: alphabetical, descending) and, with no stored current value, selects the first option
        names = [row[0] for s in run(demo, hidden.query) for row in s.values]
        matching = sorted((n for n in names if re.fullmatch(hidden.regex.strip("/"), n)), reverse=hidden.sort == 2)
        assert matching, f"variable {hidden.name} has no values in {names}"
        resolved[hidden.name] = values(matching[:1])
        assert matching[0] == demo.raw_rp, (hidden.name, matching)
    return resolved


def run_target(demo: Demo, dashboard: Dashboard, panel: Panel, target: Target,
               variables: dict[str, VariableValue]) -> list[Series]:
    start, end = panel_range(demo.now, dashboard.time_from, panel.time_from, TIMEZONE)
    query = expand(target.query, start, end, variables, min_interval=panel.interval or "1m")
    return run(demo, query)


def check_expectations(series: list[Series], target: Target, where: str) -> None:
    exp = target.expect
    assert len(series) >= exp.min_series, f"{where}: {len(series)} series, expected ≥ {exp.min_series}"
    for s in series:
        missing_tags = set(exp.tags) - set(s.tags) - set(s.columns)
        assert not missing_tags, f"{where}: series lacks tags {missing_tags}"
    for column in exp.columns:
        present = [s for s in series if column in s.columns]
        assert present, f"{where}: no column {column!r} in {[s.columns for s in series]}"
        assert any(row[s.columns.index(column)] is not None for s in present for row in s.values), \
            f"{where}: column {column!r} is null everywhere"


FED_MEASUREMENTS = ("enterprise_analysis", "enterprise_tou_daily", "activity_index", "finding", "collector_stats",
                    "deadletter_count", "gateway_status")
"""Written by analytics/publish_job.py and the collector itself: proven over their real output below."""


PROVEN_ELSEWHERE = ("scheduler_job",)
"""Written by `enerdiag scheduler`: its panels are proven over real runs in tests/integration/test_scheduler_jobs.py."""


def _fed(target: Target) -> bool:
    return any(f'FROM "{m}"' in target.query for m in FED_MEASUREMENTS)


def _elsewhere(target: Target) -> bool:
    return any(f'FROM "{m}"' in target.query for m in PROVEN_ELSEWHERE)


def test_every_panel_query_answers_with_its_series_and_fields(demo: Demo) -> None:
    checked = 0
    for name, dashboard in catalog.dashboards().items():
        variables = all_selected(demo, dashboard)
        for panel in dashboard.panels:
            for target in panel.targets:
                if _fed(target) or _elsewhere(target):
                    continue
                where = f"{name} / {panel.title} / {target.ref_id}"
                check_expectations(run_target(demo, dashboard, panel, target, variables), target, where)
                checked += 1
    assert checked >= 30


def test_single_enterprise_selection_shows_only_that_enterprise(demo: Demo) -> None:
    dashboard = catalog.dashboards()["enterprise-detail.json"]
    variables = all_selected(demo, dashboard)
    assert variables["enterprise"].values == (E1,)
    power = next(p for p in dashboard.panels if p.title == "实时功率")
    meters = {s.tags["meter"] for s in run_target(demo, dashboard, power, power.targets[0], variables)}
    assert meters == {"M01", "M02"}
    variables["enterprise"] = values([E2])
    meters = {s.tags["meter"] for s in run_target(demo, dashboard, power, power.targets[0], variables)}
    assert meters == {"M01"}


def test_county_variable_narrows_industries_and_enterprises(demo: Demo) -> None:
    dashboard = city.dashboard()
    _county, industry, enterprise = dashboard.variables
    start, end = panel_range(demo.now, dashboard.time_from, None, TIMEZONE)
    chosen = {"county": values(["平城区"])}
    industries = {row[1] for s in run(demo, expand(industry.query, start, end, chosen)) for row in s.values}
    assert industries == {"3011", "1331"}
    chosen["industry"] = VariableValue(tuple(sorted(industries)), ".*")
    codes = {row[1] for s in run(demo, expand(enterprise.query, start, end, chosen)) for row in s.values}
    assert codes == {E2, E3}


def _stat(demo: Demo, dashboard: Dashboard, title: str) -> float:
    variables = all_selected(demo, dashboard)
    panel = next(p for p in dashboard.panels if p.title == title)
    (series,) = run_target(demo, dashboard, panel, panel.targets[0], variables)
    return series.values[-1][1]


def test_city_stats_match_the_demo_data(demo: Demo) -> None:
    dashboard = city.dashboard()
    assert _stat(demo, dashboard, "在线企业") == len(INFO) - len(SILENT)
    assert _stat(demo, dashboard, "在线网关") == 3  # E1 gw1, E1 gw2 (gas only), E2 gw1
    today = local_midnight(demo.now.astimezone(TZ).date())
    expected_today = sum(v for (_e, c, t), v in demo.daily.items() if c == "electricity" and t == today)
    assert _stat(demo, dashboard, "今日用电量") == pytest.approx(expected_today)
    month = local_midnight(demo.now.astimezone(TZ).date().replace(day=1))
    expected_month = sum(v for (_e, c, t), v in demo.monthly.items() if c == "electricity" and t == month)
    assert _stat(demo, dashboard, "本月用电量") == pytest.approx(expected_month)
    assert _stat(demo, dashboard, "今日新增安全告警") == 2


def test_county_breakdown_joins_to_the_registry_attributes(demo: Demo) -> None:
    """Grafana's joinByField + groupBy, done here on the two tables the panel asks for."""
    dashboard = city.dashboard()
    variables = all_selected(demo, dashboard)
    panel = next(p for p in dashboard.panels if p.title == "本月用电量（按区县）")
    energy, info = (run_target(demo, dashboard, panel, t, variables) for t in panel.targets)
    kwh = {s.tags["enterprise"]: s.values[0][s.columns.index("kwh")] for s in energy}
    county = {s.tags["enterprise"]: s.tags["county"] for s in info}
    per_county: dict[str, float] = {}
    for code, value in kwh.items():
        per_county[county[code]] = per_county.get(county[code], 0.0) + value
    month = local_midnight(demo.now.astimezone(TZ).date().replace(day=1))
    assert per_county == pytest.approx({
        "云冈区": demo.monthly[(E1, "electricity", month)],
        "平城区": demo.monthly[(E2, "electricity", month)] + demo.monthly[(E3, "electricity", month)],
    })


def test_gateway_offline_rule_flags_exactly_the_silent_gateway(raw_demo: Demo) -> None:
    demo = raw_demo
    (offline,) = alerting.rules()["enerdiag-data"]
    start = int(demo.now.timestamp() * 1000) - offline.range_s * 1000
    series = run(demo, expand(offline.query, start, int(demo.now.timestamp() * 1000), {}))
    last = {(s.tags["enterprise"], s.tags["gateway"]): s.values[-1][1] for s in series}
    assert set(last) == {(e, g) for (e, g, _m) in METERS}
    firing = {key for key, value in last.items() if value < offline.threshold}
    assert firing == {(E3, "gw1")}


def test_safety_rule_fires_for_the_open_alarm_only(demo: Demo) -> None:
    (rule,) = alerting.rules()["enerdiag-safety"]
    end = int(demo.now.timestamp() * 1000)
    series = run(demo, expand(rule.query, end - rule.range_s * 1000, end, {}))
    state = {s.tags["enterprise"]: s.values[-1][1] for s in series}
    assert state == {E1: 1, E2: 0}


def test_silent_gateway_table_uses_the_same_query_as_the_rule() -> None:
    panel = next(p for p in health.dashboard().panels if p.title.startswith("网关近期上报"))
    (offline,) = alerting.rules()["enerdiag-data"]
    assert panel.targets[0].query.replace('"enterprise" =~ /^$enterprise$/', alerting.ALL_ENTERPRISES) \
        .replace('"$raw_rp"."reading"', '"raw"."reading"') == offline.query


def test_over_quota_rule_finds_nothing_without_analysis_results(demo: Demo) -> None:
    (rule,) = alerting.rules()["enerdiag-compliance"]
    assert not rule.paused
    end = int(demo.now.timestamp() * 1000)
    assert run(demo, expand(rule.query, end - rule.range_s * 1000, end, {})) == []


# --- The same panels over what the real rollup job writes (not hand-written derived points) ---------------

ROLLUP_MEASUREMENTS = ("consumption_hourly", "consumption_daily", "enterprise_daily", "enterprise_monthly",
                       "product_daily")


def registry() -> list[EnterpriseInfo]:
    """The demo plants as the registry describes them to the rollups."""
    return [
        EnterpriseInfo(E1, county="云冈区", industry="3011", meters=(
            MeterInfo("M01", "electricity"), MeterInfo("M02", "electricity", role="sub", product="p1"),
            MeterInfo("G01", "natural_gas"))),
        EnterpriseInfo(E2, county="平城区", industry="3011", product="p2", meters=(
            MeterInfo("M01", "electricity", product="p2"), MeterInfo("O01", "output", product="p2"))),
        EnterpriseInfo(E3, county="平城区", industry="1331", meters=(MeterInfo("M01", "electricity"),)),
    ]


@pytest.fixture
def rolled_up(services, influx_db) -> Iterator[Demo]:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    raw = [ln for ln in demo_lines(now)[0] if ln.startswith("reading,")]
    with InfluxV1(services.influx_url, influx_db) as influx:
        influx.write(raw)
        IngestMarks("demo-import").mark(influx, "\n".join(raw).encode())  # as every writer of readings does
        influx.write(enterprise_info.lines([InfoRow(code, *facts) for code, facts in INFO.items()],
                                           recent_days(now, 2)))
        report = run_rollup(influx, registry(), now_s=int(now.timestamp()))
        assert report.enterprises == len(INFO)
        yield Demo(influx, now, {}, {})


def test_rollup_panels_answer_over_the_real_rollup_output(rolled_up: Demo) -> None:
    checked = 0
    for name, dashboard in catalog.dashboards().items():
        variables = all_selected(rolled_up, dashboard)
        if not dashboard.variables[2].multi:
            variables["enterprise"] = values([E2])  # the plant with a product, output and power factor
        for panel in dashboard.panels:
            for target in panel.targets:
                if not any(f'FROM "{m}"' in target.query for m in ROLLUP_MEASUREMENTS):
                    continue
                where = f"{name} / {panel.title} / {target.ref_id} (rollup output)"
                check_expectations(run_target(rolled_up, dashboard, panel, target, variables), target, where)
                checked += 1
    assert checked >= 15


# --- The panels over what the publish job and the collector write (enterprise_analysis, TOU, health) -------

@dataclass
class Fed:
    demo: Demo
    enterprises: list[EnterpriseInfo]
    collector: str


def cement_registry() -> list[EnterpriseInfo]:
    """The two cement plants of tests/integration/test_publish_job.py, as the registry describes them."""
    clinker = "cement_clinker"
    return [
        EnterpriseInfo(pj.OVER, county="云冈区", industry="3011", product=clinker, meters=(
            MeterInfo("M01", "electricity"), MeterInfo("M02", "electricity", role="sub"),
            MeterInfo("G01", "natural_gas"), MeterInfo("O01", "output", role="process", product=clinker))),
        EnterpriseInfo(pj.GOOD, county="平城区", industry="3011", product=clinker, meters=(
            MeterInfo("M01", "electricity"), MeterInfo("P01", "electricity", role="process", product=clinker),
            MeterInfo("G01", "natural_gas", role="process", product=clinker),
            MeterInfo("O01", "output", role="process", product=clinker))),
    ]


def run_collector(services, db: str, data_dir: Path, now_s: int) -> str:  # type: ignore[no-untyped-def]
    """The real collector takes telemetry, bad messages and gateway status over MQTT and writes its health."""
    snapshot = RegistrySnapshot({pj.OVER: TIMEZONE, pj.GOOD: TIMEZONE},
                                frozenset({(pj.OVER, "gw1"), (pj.GOOD, "gw1")}),
                                meter_ids={pj.GOOD: frozenset(f"M{i:04d}" for i in range(5))})  # loadgen's meters
    cfg = CollectorConfig(mqtt_url=services.mqtt_url, client_id=f"dash-{db}", influx_url=services.influx_url,
                          influx_db=db, data_dir=data_dir, batch_age=0.05, stats_every=0.2)
    collector = Collector(cfg, lambda: snapshot)
    collector.start()
    assert collector.wait_connected()
    time.sleep(0.3)
    pub = Publisher(services.mqtt_url, f"pd-{db}")
    try:
        topic = telemetry_topic(pj.OVER, "gw2")  # not registered: dead-lettered (unknown_gateway)
        pub.publish(topic, next(messages(1, 2, start_ts=now_s - 120)))
        pub.publish(telemetry_topic(pj.GOOD, "gw1"), b"{not json")
        pub.publish_all(telemetry_topic(pj.GOOD, "gw1"), messages(5, 10, start_ts=now_s - 600, meters=5))
        pub.publish(f"em/v1/{pj.OVER}/gw1/status", orjson.dumps({"online": True, "ts": now_s - 300}))
        pub.publish(f"em/v1/{pj.GOOD}/gw1/status", orjson.dumps({"online": False, "ts": now_s - 200}))
        assert pub.wait_acked()
        deadline = time.monotonic() + 20
        while collector.metrics.messages_received < 9 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)  # at least one stats point after the last message
    finally:
        pub.close()
        collector.stop()  # writes a last stats point
    return cfg.client_id


@pytest.fixture
def fed(services, influx_db, tmp_path: Path) -> Iterator[Fed]:  # type: ignore[no-untyped-def]
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    now_s = int(now.timestamp())
    start = local_midnight(now.astimezone(TZ).date() - dt.timedelta(days=36))  # the operation index looks 35 back
    quarters = (now_s - start) // 900
    enterprises = cement_registry()
    with InfluxV1(services.influx_url, influx_db) as influx:
        influx.create_database()
        client = run_collector(services, influx_db, tmp_path / "collector", now_s)
        pj.seed(influx, pj.OVER, start, quarters, 0.5)
        pj.seed(influx, pj.GOOD, start, quarters, 1.0)
        run_rollup(influx, enterprises, now_s=now_s, since_s=start - 86400)
        report = publish(influx, enterprises, get_reference(), recent_days(now, 1),
                         names={pj.OVER: "大同示例水泥", pj.GOOD: "示例二号水泥"})
        months = len({d.replace(day=1) for d in recent_days(now, 1)})
        assert report.analysis_points == 2 * 2 + 2 * months
        assert report.finding_points == 2 * len(FINDING_CODES) * months  # both plants have data in each month
        # the collector stamps its points with the clock (a flush may be a second ahead): the dashboards look later
        later = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=3)
        yield Fed(Demo(influx, later, {}, {}), enterprises, client)


def test_fed_panels_answer_over_the_publish_job_and_collector_output(fed: Fed) -> None:
    checked = 0
    for name, dashboard in catalog.dashboards().items():
        variables = all_selected(fed.demo, dashboard)
        if not dashboard.variables[2].multi:
            variables["enterprise"] = values([pj.GOOD])
        for panel in dashboard.panels:
            for target in panel.targets:
                if not _fed(target) or _elsewhere(target):
                    continue
                where = f"{name} / {panel.title} / {target.ref_id} (job output)"
                check_expectations(run_target(fed.demo, dashboard, panel, target, variables), target, where)
                checked += 1
    assert checked >= 26


def _panel(dashboard: Dashboard, title: str) -> Panel:
    return next(p for p in dashboard.panels if p.title == title)


def test_fed_numbers_match_analyze_and_the_collector(fed: Fed) -> None:
    reference = get_reference()
    today = fed.demo.now.astimezone(TZ).date()
    results = analyze(fed.demo.influx, fed.enterprises, today, today + dt.timedelta(days=1), reference)
    dashboard = city.dashboard()
    assert _stat(fed.demo, dashboard, "今日综合能耗") == pytest.approx(sum(r.tce for r in results))
    assert _stat(fed.demo, dashboard, "本月超定额企业") == 1

    variables = all_selected(fed.demo, dashboard)
    panel = _panel(dashboard, "本月超定额企业（超出最多在前）")
    (over,) = run_target(fed.demo, dashboard, panel, panel.targets[0], variables)
    row = dict(zip(over.columns, over.values[0], strict=True))
    month = next(r.quota for r in analyze(fed.demo.influx, fed.enterprises, today.replace(day=1),
                                          next_month(today), reference) if r.enterprise == pj.OVER)
    assert over.tags["enterprise"] == pj.OVER and row["excess_pct"] == pytest.approx(100 * month.severity)

    (rule,) = alerting.rules()["enerdiag-compliance"]
    end = int(fed.demo.now.timestamp() * 1000)
    firing = {s.tags["enterprise"]: s.values[-1][1]
              for s in run(fed.demo, expand(rule.query, end - rule.range_s * 1000, end, {}))}
    assert firing == {pj.OVER: 1, pj.GOOD: 0}

    detail = catalog.dashboards()["enterprise-detail.json"]
    chosen = {**all_selected(fed.demo, detail), "enterprise": values([pj.GOOD])}
    pie = _panel(detail, "分时用电占比")
    split = {s.tags["period"]: s.values[0][1] for s in run_target(fed.demo, detail, pie, pie.targets[0], chosen)}
    hourly = fed.demo.influx.query(
        "SELECT sum(\"value\") FROM \"consumption_hourly\" WHERE \"meter\" = 'M01' AND "
        f"\"enterprise\" = '{pj.GOOD}' AND \"quantity\" = 'energy_kwh' AND "
        f"time >= {local_midnight(today - dt.timedelta(days=1))}s")
    assert sum(split.values()) == pytest.approx(hourly[0].values[0][1])  # main meter only, every hour once

    # the plants run steadily for 36 days: this week is as busy as the four weeks before
    assert _stat(fed.demo, dashboard, "全市运行指数") == pytest.approx(100.0)
    panel = _panel(dashboard, "运行指数（按区县）")
    counties = {s.tags["group"]: s.values[-1][1] for s in run_target(fed.demo, dashboard, panel, panel.targets[0],
                                                                      variables)}
    assert counties == pytest.approx({"云冈区": 100.0, "平城区": 100.0})

    health_board = health.dashboard()
    assert _stat(fed.demo, health_board, "网关在线（状态主题）") == 1  # OVER gw1 online, GOOD gw1 offline
    chosen = all_selected(fed.demo, health_board)
    table = _panel(health_board, "死信（按原因与企业）")
    dead = {(s.tags["reason"], s.tags["enterprise"]): s.values[0][1]
            for s in run_target(fed.demo, health_board, table, table.targets[0], chosen)}
    assert dead == {("unknown_gateway", pj.OVER): 1, ("not_json", pj.GOOD): 1}
    rate = _panel(health_board, "采集写入速率（按采集器）")
    series = run_target(fed.demo, health_board, rate, rate.targets[0], chosen)
    assert {s.tags["collector"] for s in series} == {fed.collector}
    assert any((v[1] or 0) > 0 for s in series for v in s.values)


def test_findings_panels_show_this_months_diagnosis(fed: Fed) -> None:
    """The enterprise findings table and the city savings stat show what the diagnosis finds for the month."""
    today = fed.demo.now.astimezone(TZ).date()
    month = today.replace(day=1)
    diagnosed = diagnose_enterprises(fed.demo.influx, fed.enterprises, {}, month, next_month(month), get_reference())
    detail = catalog.dashboards()["enterprise-detail.json"]
    chosen = {**all_selected(fed.demo, detail), "enterprise": values([pj.OVER])}
    table = _panel(detail, "诊断发现 Findings")
    rows = {s.tags["code"]: dict(zip(s.columns, s.values[-1], strict=True))
            for s in run_target(fed.demo, detail, table, table.targets[0], chosen)}
    expected = {f.code: f for f in diagnosed[pj.OVER]}
    assert "over_quota" in rows and set(rows) == set(expected)  # resolved or absent codes (present = 0) hidden
    for code, finding in expected.items():
        assert rows[code]["title_zh"] == finding.title_zh and rows[code]["severity"] == SEVERITY[finding.severity]
        assert rows[code]["savings_cny"] == pytest.approx(finding.savings_cny)
        assert rows[code]["savings_kwh"] == pytest.approx(finding.savings_kwh)
    assert rows["over_quota"]["savings_cny"] > 0

    city_board = city.dashboard()
    total = sum(f.savings_cny for found in diagnosed.values() for f in found)
    assert total > 0 and _stat(fed.demo, city_board, "本月节能潜力 Savings potential") == pytest.approx(total)


def test_meter_completeness_counts_days_without_data_as_missing(fed: Fed) -> None:
    """Issue #13: over a range twice as long as the data, the per-meter completeness is about half, not 100 %."""
    detail = catalog.dashboards()["enterprise-detail.json"]
    chosen = {**all_selected(fed.demo, detail), "enterprise": values([pj.OVER])}
    panel = _panel(detail, "计量点数据完整率")
    end = int(fed.demo.now.timestamp() * 1000)
    query = expand(panel.targets[0].query, end - 72 * 86_400_000, end, chosen)
    rows = {(s.tags["meter"], s.tags["quantity"]): dict(zip(s.columns, s.values[0], strict=True))
            for s in run(fed.demo, query)}
    assert 0.45 < rows[("M01", "energy_kwh")]["completeness"] < 0.56  # 36 days of data in 72
