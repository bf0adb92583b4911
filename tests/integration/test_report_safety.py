"""Safety section of `enerdiag report` on the real InfluxDB: a simulated plant's safety meter gets injected leakage
and over-temperature faults, `enerdiag safety scan` stores the alarms in `safety_alarm`, and the HTML and PDF
report list exactly those alarms (open ones critical first) with the advice; a plant without a safety meter is
told to get one; the city summary has a line for the plant with open critical alarms."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import typer
from markupsafe import escape
from typer.testing import CliRunner

from analytics.report.safety import ADVICE, NO_MONITORING_ZH
from core.influx import InfluxV1, line
from core.registry.db import dispose_engines, session_scope
from core.registry.loader import load_registry_file
from core.settings import get_settings
from enerdiag.commands import analyze as analyze_commands
from enerdiag.commands import report as report_commands
from enerdiag.commands import safety as safety_commands
from simulators import timeline
from simulators.city import CityConfig, build_city
from simulators.plant import simulate
from simulators.registry import dump, registry_document
from tests.support.tools import require_tool

pytestmark = pytest.mark.integration

FIRST = dt.date(2026, 10, 12)
DAYS = 7
STEP_S = 900
LEAK_BURST = range(200, 204)
"""Readings with 1,200 mA residual current on day 3: a critical leakage alarm that opens at once and closes."""
END_FAULT = 6
"""The last readings of the period: 650 mA leakage (alarm) and 95 °C on the cable (critical), both still open."""
PERIOD = ["--from", FIRST.isoformat(), "--to", (FIRST + dt.timedelta(days=DAYS)).isoformat()]
RANK = {"critical": 0, "alarm": 1, "pre_alarm": 2}


@pytest.fixture
def plants(services, influx_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """A machinery plant whose safety meter S01 has the faults above, and a cement plant without a safety meter:
    registry loaded, a week of 15-minute readings written and rolled up."""
    monkeypatch.setenv("ENERDIAG_INFLUX_DB", influx_db)
    monkeypatch.setenv("ENERDIAG_DB_URL", f"sqlite:///{tmp_path / 'registry.sqlite3'}")
    monkeypatch.setenv("ENERDIAG_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    days = tuple(FIRST + dt.timedelta(days=i) for i in range(DAYS))
    spec = build_city(CityConfig(plants=1, seed=11, days=days, problem_share=0.0, industries=("machinery",)))[0]
    cement = build_city(CityConfig(plants=1, seed=12, days=days, problem_share=0.0, industries=("cement",)))[0]
    doc = registry_document([spec, cement])
    safety_meters = {e["code"]: {m["id"] for m in e["meters"] if m["role"] == "safety"} for e in doc["enterprises"]}
    assert "S01" in safety_meters[spec.code]
    for enterprise in doc["enterprises"]:
        if enterprise["code"] == cement.code:
            enterprise["meters"] = [m for m in enterprise["meters"] if m["role"] != "safety"]
    registry = tmp_path / "registry.yaml"
    registry.write_text(dump(doc), encoding="utf-8")
    with session_scope() as session:
        load_registry_file(session, registry)
    tl = timeline.build(FIRST, DAYS, STEP_S, 11)
    lines = []
    for plant_spec in (spec, cement):
        data = simulate(plant_spec, tl)
        for meter, quantities in data.values.items():
            if plant_spec is cement and meter in safety_meters[cement.code]:
                continue
            if plant_spec is spec and meter == "S01":
                quantities["leakage_ma"][LEAK_BURST.start:LEAK_BURST.stop] = 1200.0
                quantities["leakage_ma"][-END_FAULT:] = 650.0
                quantities["temp_c"][-END_FAULT:] = 95.0
            for i, ts in enumerate(tl.epoch_s):
                fields = {q: float(v[i]) for q, v in quantities.items()}
                lines.append(line("reading", {"enterprise": plant_spec.code, "gateway": plant_spec.gateway,
                                              "meter": meter}, fields, int(ts)))
    influx = InfluxV1(services.influx_url, influx_db)
    for i in range(0, len(lines), 5000):
        influx.write(lines[i:i + 5000])
    done = CliRunner().invoke(app(), ["rollup", "--since", FIRST.isoformat(), "--scan-days", "400"])
    assert done.exit_code == 0, done.output
    yield spec.code, cement.code
    dispose_engines()
    get_settings.cache_clear()


def app() -> typer.Typer:
    root = typer.Typer()
    analyze_commands.register(root)
    report_commands.register(root)
    safety_commands.register(root)
    return root


def scan() -> list[dict]:
    """`enerdiag safety scan --json` over the period: writes `safety_alarm` the way the watcher's store does."""
    result = CliRunner().invoke(app(), ["safety", "scan", *PERIOD, "--json"])
    assert result.exit_code == 0, result.output
    return orjson.loads(result.stdout.strip().splitlines()[-1])


def rows(html: str, cls: str) -> list[str]:
    part = html.split(f'<table class="{cls}">')[1].split("</table>")[0]
    return re.findall(r'data-(?:alarm|rule|enterprise)="([^"]+)"', part)


def test_report_lists_the_scanned_alarms_with_advice(plants: tuple[str, str], tmp_path: Path) -> None:
    code, cement = plants
    found = scan()
    mine = [a for a in found if a["enterprise"] == code]
    assert {a["enterprise"] for a in found} == {code}  # the cement plant has no safety meter
    by_kind = {(a["rule"], a["severity"], a["open"]) for a in mine}
    assert {("leakage", "critical", False), ("leakage", "alarm", True), ("over_temp", "critical", True)} <= by_kind
    opened = sorted((a for a in mine if a["open"]), key=lambda a: (RANK[a["severity"]], a["start"], a["meter"]))
    closed = sorted((a for a in mine if not a["open"]), key=lambda a: (a["start"], a["meter"], a["rule"]))
    assert opened[0]["rule"] in ("over_temp", "temp_rise") and opened[0]["severity"] == "critical"

    out = tmp_path / "r.html"
    result = CliRunner().invoke(app(), ["report", code, *PERIOD, "--format", "html", "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    section = html.split('<h2 id="safety">')[1].split("<h2>")[0]
    assert rows(section, "safety-open") == [a["id"] for a in opened]
    assert rows(section, "safety-closed") == [a["id"] for a in closed]
    assert set(rows(section, "safety-rules")) == {a["rule"] for a in mine}
    assert rows(section, "safety-rules")[0] == "leakage"  # two alarms, one critical
    for rule in {a["rule"] for a in mine}:
        assert ADVICE[rule].advice_zh in section and escape(ADVICE[rule].advice_en) in section
    leak_burst = next(a for a in closed if a["rule"] == "leakage" and a["severity"] == "critical")
    assert leak_burst["peak"] == 1200.0 and "1200.0 mA" in section
    n_crit = sum(a["severity"] == "critical" for a in opened)
    assert f"有 {n_crit} 项严重电气安全报警尚未消除" in html
    assert "S01" in section and NO_MONITORING_ZH not in section

    other = tmp_path / "cement.html"
    result = CliRunner().invoke(app(), ["report", cement, *PERIOD, "--out", str(other)])
    assert result.exit_code == 0, result.output
    assert NO_MONITORING_ZH in other.read_text(encoding="utf-8").split('<h2 id="safety">')[1].split("<h2>")[0]

    city = tmp_path / "city.html"
    result = CliRunner().invoke(app(), ["report", "city", *PERIOD, "--out", str(city)])
    assert result.exit_code == 0, result.output
    city_html = city.read_text(encoding="utf-8")
    assert rows(city_html, "safety-critical") == [code]
    line_html = city_html.split(f'data-enterprise="{code}">')[1].split("</tr>")[0]
    assert f'<td class="num bad">{n_crit}</td>' in line_html and "S01" in line_html
    assert "有电气安全监测的企业 Enterprises with safety monitoring: 1 / 2" in city_html

    pdf = tmp_path / "r.pdf"
    result = CliRunner().invoke(app(), ["report", code, *PERIOD, "--format", "pdf", "--out", str(pdf)])
    assert result.exit_code == 0, result.output
    assert pdf.read_bytes()[:5] == b"%PDF-"
    require_tool("pdftoppm", package="poppler-utils")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = re.sub(r"\s+", "", text)
    assert "4.电气安全ElectricalSafety" in flat.replace("safety", "Safety")
    assert re.sub(r"\s+", "", ADVICE["leakage"].advice_zh) in flat
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert 3 <= len(pages) <= 12 and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pages)
