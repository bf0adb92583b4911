"""core/measurements.py is the one place the InfluxDB schema's names are spelled: no other module spells a
measurement, the dashboards query only tags and fields it declares, and the writers write only those."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import pytest

from analytics.activity import GroupActivity
from analytics.diagnosis.finding import Finding
from analytics.enterprise_info import InfoRow
from analytics.enterprise_info import lines as info_lines
from analytics.publish_job import activity_lines, analysis_line, finding_lines, tou_lines
from analytics.quota import assess_quota
from analytics.weather import WeatherDays
from analytics.weather_store import weather_lines
from collector.health import StatsSnapshot, deadletter_lines, gateway_status_line, stats_line
from core.measurements import SCHEMA, Layout
from core.reference import get_reference
from tests.support.analysis_results import analysis_result
from tests.unit.test_dashboards_build import all_queries, select_levels

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "collector", "analytics", "api", "dashboards", "simulators", "enerdiag")
ALSO_OTHER_NAMES = {"activity_index": "a credit indicator and a field", "weather": "a command and a job",
                    "finding": "a word"}
"""Measurement names that are also other things: a string equal to one of them is not flagged."""
_NAMES = "|".join(sorted(SCHEMA, key=len, reverse=True))
_NEAR_QUOTE = re.compile(rf'(?:["\'.]|FROM\s+)(?:{_NAMES})\b|\b(?:{_NAMES})\\?["\']')
_IN_QUERY = re.compile(rf'(?:FROM\s+|MEASUREMENT\s+|\.)\\?"?({_NAMES})\b')


def _string_constants(tree: ast.AST) -> list[tuple[int, str]]:
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    strings = [node for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    # attribute docstrings (a string statement after an assignment) are prose too
    prose = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)
             and isinstance(node.value, ast.Constant)}
    skip = docstrings | prose
    return [(s.lineno, s.value) for s in strings if id(s) not in skip]


def _spells_a_measurement(text: str) -> bool:
    bare = text[1:-1] if len(text) > 2 and text[0] == text[-1] == '"' else text
    return (bare in SCHEMA and bare not in ALSO_OTHER_NAMES) or _IN_QUERY.search(text) is not None


def test_no_module_but_core_measurements_spells_a_measurement() -> None:
    found = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if path == REPO / "core" / "measurements.py":
                continue
            source = path.read_text(encoding="utf-8")
            if not _NEAR_QUOTE.search(source):  # parse only what may spell one (ast is slow on a loaded machine)
                continue
            for lineno, text in _string_constants(ast.parse(source)):
                if _spells_a_measurement(text):
                    found.append(f"{path.relative_to(REPO)}:{lineno}: {text[:80]!r}")
    assert found == []


def test_the_check_finds_a_spelled_measurement() -> None:
    tree = ast.parse('X = "consumption_hourly"\nQ = \'SELECT * FROM "enterprise_daily"\'\nY = f"a.{b}"\n'
                     'def f(source=\'"reading"\'):\n    """Reads `reading` FROM "reading"."""\n')
    flagged = [t for _, t in _string_constants(tree) if _spells_a_measurement(t)]
    assert flagged == ["consumption_hourly", 'SELECT * FROM "enterprise_daily"', '"reading"']


_FROM = re.compile(r'\bFROM\s+(?:"\$?\w+"\.)?"(\w+)"')
_IDENT = re.compile(r'(\bAS\s+)?"([^"]+)"')


def _unknown_identifiers(query: str) -> list[str]:
    """Identifiers of a query's SELECT levels that are neither a tag nor a field of the measurement it reads."""
    out = []
    for level in select_levels(query):
        m = _FROM.search(level)
        if m is None:  # FROM (sub): the identifiers are the subquery's aliases
            continue
        layout = SCHEMA.get(m.group(1))
        if layout is None:
            out.append(f"measurement {m.group(1)}")
            continue
        rest = level[:m.start()] + level[m.end():]
        for alias, ident in _IDENT.findall(rest):
            if not alias and ident not in layout.tags and not layout.field_ok(ident):
                out.append(f"{layout.name}.{ident}")
    return out


def test_dashboard_queries_read_only_declared_measurements_tags_and_fields() -> None:
    queries = all_queries()
    assert len(queries) > 50
    bad = {where: unknown for where, q in queries if (unknown := _unknown_identifiers(q))}
    assert bad == {}
    assert _unknown_identifiers('SELECT "colour" FROM "enterprise_daily" WHERE "carrier" = \'x\'') == \
        ["enterprise_daily.colour"]
    assert _unknown_identifiers('SELECT "x" FROM "nowhere"') == ["measurement nowhere"]


_SPLIT = re.compile(r'(?:\\.|"(?:\\.|[^"\\])*"|[^ ,="\\])+|[ ,=]')


def parse_line(text: str) -> tuple[str, set[str], set[str]]:
    """(measurement, tag keys, field keys) of one line of line protocol."""
    parts = _SPLIT.findall(text)
    sections: list[list[str]] = [[]]
    for part in parts:
        if part == " ":
            sections.append([])
        else:
            sections[-1].append(part)
    series, fields = "".join(sections[0]).split(","), "".join(sections[1])
    keys = [p.split("=", 1)[0] for p in _SPLIT.findall(fields) if p not in ",="]
    field_keys = set(keys[::2])  # key, value, key, value …
    return series[0], {t.split("=", 1)[0] for t in series[1:]}, field_keys


def _conforms(text: str) -> list[str]:
    name, tags, fields = parse_line(text)
    layout: Layout | None = SCHEMA.get(name)
    if layout is None:
        return [f"measurement {name}"]
    return [f"{name} tag {t}" for t in sorted(tags - layout.tags)] + \
        [f"{name} field {f}" for f in sorted(fields) if not layout.field_ok(f)]


def _written_lines() -> list[str]:
    day, code = dt.date(2026, 7, 15), "91140200MA0H2KXX88"
    snap = StatsSnapshot(5, 4, 1, 0, 0, 0, 0, 0, 2, 0.5)
    result = analysis_result({"electricity": 1.0}, period=(day.isoformat(), "2026-07-16"), tce=6.0, co2_t=15.0,
                             output_t=48.0, scope1_t=1.0, intensity_kgce_per_t=125.0,
                             quota=assess_quota("cement_clinker", 6.0, 48.0, day, get_reference()))
    finding = Finding("base_load", "基础负荷偏高", "High base load", 10.0, 0.001, 7.0, 0.01, {}, "", "")
    return [
        stats_line("c1", snap, None, 100, 10.0),
        *deadletter_lines("c1", {("bad_json", code): 2}, 100),
        gateway_status_line(code, "gw1", True, 100),
        analysis_line(result, "day"),
        *activity_lines("county", [GroupActivity("云冈区", 101.0, 3, 1, 2.0, 1.9)], 100),
        *finding_lines(code, "Asia/Shanghai", day.replace(day=1), [finding]),
        *tou_lines(code, "Asia/Shanghai", {day: {"peak": 5.0, "valley": 1.0}}),
        *info_lines([InfoRow(code, "云冈区", "3011", "水泥厂, 一号", "cement_clinker")], [day]),
        *weather_lines("云冈区", WeatherDays({day: 3.5}, "daily", station="53487")),
    ]


def test_every_writer_writes_only_declared_tags_and_fields() -> None:
    written = _written_lines()
    assert {parse_line(w)[0] for w in written} >= {"collector_stats", "enterprise_analysis", "finding", "weather"}
    assert [bad for w in written for bad in _conforms(w)] == []
    assert _conforms('finding,enterprise=X,colour=red present=1i,title_zh="a b, c=d" 0') == ["finding tag colour"]
    assert _conforms("reading,enterprise=X,gateway=G,meter=M energy_kwh=1,bogus=2 0") == ["reading field bogus"]


@pytest.mark.parametrize("name", sorted(SCHEMA))
def test_every_measurement_is_documented(name: str) -> None:
    docs = " ".join((REPO / "docs" / f).read_text(encoding="utf-8") for f in ("schema.md", "safety.md"))
    assert f"`{name}`" in docs
