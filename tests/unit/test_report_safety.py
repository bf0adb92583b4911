"""The report's electrical-safety section from a hand-built alarm list: exactly those alarms, critical first, each
rule with its advice; a plant without a safety meter is told to get one; the city lists open critical alarms."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from markupsafe import escape

from analytics.calendar import local_midnight_s
from analytics.diagnosis.frames import PlantFrames
from analytics.enterprise import MeterInfo
from analytics.report.city import CityRow, build_city_report
from analytics.report.context import ReportOptions, build_report
from analytics.report.render import render_html
from analytics.report.safety import ADVICE, NO_MONITORING_EN, NO_MONITORING_ZH, open_critical_line, safety_section
from analytics.safety.alarms import Alarm
from analytics.safety.rules import RULES, Severity
from core.reference import get_reference
from simulators import timeline
from simulators.city import CityConfig, build_city
from tests.support.diagnosis_simcity import plant_frames

REF = get_reference()
FIRST = dt.date(2026, 9, 1)
DAYS = 14
TZ = "Asia/Shanghai"
T0 = dt.datetime.fromtimestamp(local_midnight_s(FIRST, TZ), dt.UTC)
END = T0 + dt.timedelta(days=DAYS)
H = dt.timedelta(hours=1)
D = dt.timedelta(days=1)


def alarm(meter: str, rule: str, sev: Severity, start: dt.datetime, end: dt.datetime | None, peak: float,
          threshold: float) -> Alarm:
    return Alarm("E1", meter, rule, sev, start, end, peak, peak, threshold)


LEAK_ALARM = alarm("S01", "leakage", Severity.ALARM, T0 + 2 * D, None, 420.0, 300.0)
HOT_CRIT = alarm("S02", "over_temp", Severity.CRITICAL, T0 + 5 * D, None, 96.4, 90.0)
LEAK_CRIT = alarm("S01", "leakage", Severity.CRITICAL, T0 + 3 * D, None, 1150.0, 1000.0)
OVERLOAD_CLOSED = alarm("S02", "overload", Severity.ALARM, T0 + D, T0 + D + 2 * H, 131.0, 105.0)
SAG_CLOSED = alarm("S01", "under_voltage", Severity.PRE_ALARM, T0 + 10 * D, T0 + 10 * D + H / 2, 190.0, 204.6)
BEFORE = alarm("S02", "leakage", Severity.CRITICAL, T0 - 30 * D, T0 - 29 * D, 1300.0, 1000.0)
OLD_OPEN = alarm("S02", "over_voltage", Severity.ALARM, T0 - 20 * D, None, 255.0, 242.0)
CLOSED_LATER = alarm("S01", "temp_rise", Severity.CRITICAL, T0 + 12 * D, END + 2 * D, 31.0, 20.0)
ALARMS = [LEAK_ALARM, HOT_CRIT, LEAK_CRIT, OVERLOAD_CLOSED, SAG_CLOSED, BEFORE, OLD_OPEN, CLOSED_LATER]
OPEN_ORDER = [LEAK_CRIT, HOT_CRIT, CLOSED_LATER, OLD_OPEN, LEAK_ALARM]
"""Critical first, then the longest open; the temp-rise alarm closed after the period is open at its end."""


@pytest.fixture(scope="module")
def frames() -> PlantFrames:
    tl = timeline.build(FIRST, DAYS, 3600, 3)
    spec = build_city(CityConfig(plants=1, seed=3, days=tl.days, problem_share=0.0, industries=("machinery",)))[0]
    return plant_frames(spec, tl)[0]


def with_safety_meters(frames: PlantFrames, *meters: str) -> PlantFrames:
    """The same plant with exactly these safety meters (the simulator gives some plants one of its own)."""
    others = tuple(m for m in frames.enterprise.meters if m.role != "safety")
    ent = dataclasses.replace(frames.enterprise,
                              meters=(*others, *(MeterInfo(m, "electricity", role="safety") for m in meters)))
    return PlantFrames(ent, frames.first_day, frames.end_day, frames.hourly, frames.facts, frames.demand_kw,
                       frames.temperatures)


def section_html(html: str) -> str:
    return html.split('<h2 id="safety">')[1].split("<h2>")[0]


def table_ids(html: str, cls: str) -> list[str]:
    part = html.split(f'<table class="{cls}">')[1].split("</table>")[0]
    return re.findall(r'data-(?:alarm|rule|enterprise)="([^"]+)"', part)


@pytest.fixture(scope="module")
def html(frames: PlantFrames) -> str:
    ctx = build_report(with_safety_meters(frames, "S01", "S02"), REF, findings=[], safety_alarms=ALARMS)
    return render_html(ctx)


def test_section_lists_exactly_the_alarms_critical_first(html: str) -> None:
    sec = section_html(html)
    assert table_ids(sec, "safety-open") == [a.id for a in OPEN_ORDER]
    assert table_ids(sec, "safety-closed") == [OVERLOAD_CLOSED.id, SAG_CLOSED.id]
    assert BEFORE.id not in html  # closed before the period
    open_rows = sec.split('<table class="safety-open">')[1].split("</table>")[0].split("<tr data-alarm=")[1:]
    for row, a in zip(open_rows, OPEN_ORDER, strict=True):
        start = a.start.astimezone(dt.timezone(dt.timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")
        assert start in row and f"{round(a.peak, 1)} " in row and a.meter in row, row
        assert ADVICE[a.rule].advice_zh in row
        assert ("严重 critical" in row) == (a.severity is Severity.CRITICAL)
    assert "S01, S02" in sec  # the monitored meters
    counts = re.search(r"本期报警 Alarms in the period <b>(\d+)</b>", sec)
    assert counts is not None and int(counts.group(1)) == 7  # every alarm but BEFORE
    assert "期末未消除 open at the period end <b class=\"bad\">5</b>" in sec and "其中严重 critical 3" in sec
    assert "有 3 项严重电气安全报警尚未消除" in html.split('<h2 id="safety">')[0]  # warned in the summary


def test_rules_table_counts_and_advice(html: str) -> None:
    sec = section_html(html)
    assert table_ids(sec, "safety-rules") == ["leakage", "over_temp", "temp_rise", "overload", "over_voltage",
                                              "under_voltage"]
    rows = dict(zip(table_ids(sec, "safety-rules"),
                    sec.split('<table class="safety-rules">')[1].split("</table>")[0].split("<tr data-rule=")[1:],
                    strict=True))
    for rule, row in rows.items():
        advice = ADVICE[rule]
        assert advice.advice_zh in row and escape(advice.advice_en) in row and RULES[rule].title_zh in row
        assert (escape(advice.source) in row) if advice.source else ("依据 Basis" not in row)
    nums = re.findall(r'<td class="num">([^<]+)</td>', rows["leakage"])
    assert nums[:3] == ["1", "1", "0"] and nums[4] == "1150.0 mA"  # 1 critical, 1 alarm, 0 pre-alarm; worst
    assert "GB 50116-2013" in rows["leakage"] and "IEC 60947-2" in rows["overload"]
    assert "GB/T 12325" in rows["over_voltage"] and "GB/T 12325" in rows["under_voltage"]
    assert re.findall(r'<td class="num">([^<]+)</td>', rows["under_voltage"])[4] == "190.0 V"  # lowest is worst
    assert "31.0 K" in rows["temp_rise"]


def test_section_hours_are_clipped_to_the_period() -> None:
    s = safety_section(ALARMS, T0, END, ["S01", "S02"])
    hours = {r["rule"]: r["hours"] for r in s["rules"]}
    assert hours["overload"] == 2.0 and hours["under_voltage"] == 0.5
    assert hours["over_voltage"] == DAYS * 24  # opened 20 days before, still open: the whole period
    assert hours["temp_rise"] == 48.0  # closed two days after the period: counted to its end
    assert hours["leakage"] == (DAYS - 2) * 24 + (DAYS - 3) * 24


def test_plant_without_safety_meter_is_told_to_get_one(frames: PlantFrames) -> None:
    sec = section_html(render_html(build_report(with_safety_meters(frames), REF, findings=[])))
    assert NO_MONITORING_ZH in sec and NO_MONITORING_EN in sec
    assert "safety-rules" not in sec and "本期无电气安全报警" not in sec
    quiet = section_html(render_html(build_report(with_safety_meters(frames, "S01"), REF, findings=[])))
    assert NO_MONITORING_ZH not in quiet and "本期无电气安全报警" in quiet


def test_english_report_has_english_advice_only(frames: PlantFrames) -> None:
    ctx = build_report(with_safety_meters(frames, "S01", "S02"), REF, ReportOptions(lang="en"), findings=[],
                       safety_alarms=ALARMS)
    sec = section_html(render_html(ctx))
    assert "Electrical safety" in sec and escape(ADVICE["leakage"].advice_en) in sec
    assert ADVICE["leakage"].advice_zh not in sec and "电气安全" not in sec
    assert table_ids(sec, "safety-open") == [a.id for a in OPEN_ORDER]


def test_every_rule_has_advice() -> None:
    assert set(ADVICE) == set(RULES)
    assert all(a.advice_zh and a.advice_en and a.title_en for a in ADVICE.values())


def test_city_lists_enterprises_with_open_critical_alarms() -> None:
    two = [LEAK_CRIT, HOT_CRIT, OVERLOAD_CLOSED]
    one = [dataclasses.replace(LEAK_CRIT, enterprise="E2", start=T0 + D)]
    none = [LEAK_ALARM, dataclasses.replace(HOT_CRIT, end=T0 + 6 * D)]
    rows = [CityRow(code, code + " name", "machinery", "平城区", None, (), 2, open_critical_line(alarms, END))
            for code, alarms in (("E3", none), ("E2", one), ("E1", two))]
    rows.append(CityRow("E4", "E4 name", "cement", None, None))
    ctx = build_city_report(rows, FIRST, FIRST + dt.timedelta(days=DAYS))
    assert [r["code"] for r in ctx["safety_open_critical"]] == ["E1", "E2"]  # most critical alarms first
    assert ctx["safety_open_critical"][0]["count"] == 2 and ctx["safety_monitored"] == 3
    assert ctx["safety_open_critical"][0]["meters"] == "S01, S02"
    html = render_html(ctx, "city.html.j2")
    assert table_ids(html, "safety-critical") == ["E1", "E2"]
    assert "电气安全：未消除的严重报警 Electrical safety: open critical alarms (2)" in html
    assert "剩余电流（漏电）超限 Residual (leakage) current" in html
    assert open_critical_line(none, END) is None
