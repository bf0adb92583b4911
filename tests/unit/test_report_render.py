"""The diagnosis report as a person sees it: sections, findings, charts with a CJK font, HTML and PDF pages."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

import pytest

from analytics.diagnosis.diagnose import city_norms, diagnose
from analytics.report import charts
from analytics.report.context import ReportOptions, build_report, t
from analytics.report.render import render_html, render_pdf
from core.reference import get_reference
from simulators import timeline
from simulators.city import CityConfig, build_city
from tests.support.diagnosis_simcity import plant_frames
from tests.support.tools import require_tool

REF = get_reference()
FIRST = dt.date(2026, 9, 1)
DAYS = 42
KINDS = ("low_power_factor", "peak_shift", "demand_over_capacity")


@pytest.fixture(scope="module")
def frames():
    tl = timeline.build(FIRST, DAYS, 900, 3)
    spec = build_city(CityConfig(plants=1, seed=3, days=tl.days, problem_share=1.0, problem_kinds=KINDS,
                                 industries=("machinery",)))[0]
    return plant_frames(spec, tl)[0]


@pytest.fixture(scope="module")
def context(frames):
    return build_report(frames, REF)


def test_bilingual_helper() -> None:
    assert t("摘要", "Summary", "zh") == "摘要 Summary"
    assert t("摘要", "Summary", "en") == "Summary"


def test_cjk_font_is_found_and_used() -> None:
    path = charts.cjk_font_path()
    assert Path(path).exists() and "CJK" in path
    assert charts.setup_fonts() == charts.CJK_FAMILY
    import matplotlib.pyplot as plt

    assert plt.rcParams["font.family"][0] == charts.CJK_FAMILY


def test_context_has_findings_summary_and_charts(context, frames) -> None:
    codes = {f["code"] for f in context["findings"]}
    assert codes == set(KINDS)
    assert set(context["figures"]) == {"profile", "heatmap", "trend", "tou", "cusum"}
    for uri in context["figures"].values():
        assert uri.startswith("data:image/png;base64,iVBORw0KGgo")  # PNG signature
    total = sum(f["savings_cny"] for f in context["findings"])
    assert context["total"]["savings_cny"] == pytest.approx(total, abs=1e-3)
    assert context["summary"]["tce"] > 0 and context["summary"]["enterprise"] == frames.enterprise.code
    assert sum(context["tou"].values()) == pytest.approx(float(frames.table["kwh"].sum()), abs=0.5)  # rounded
    assert context["baseline"]["interval"] == "daily"
    assert context["baseline"]["n"] == 21  # the first half of 42 days
    assert context["baseline"]["accepted"] is False  # 21 points < 28
    assert any("fewer than the 28" in r for r in context["baseline"]["reasons"])
    assert context["references"][2]["confidence"] == "assumed"


def test_html_shows_every_section_and_finding(context) -> None:
    html = render_html(context)
    for heading in ("摘要 Summary", "能耗限额 Energy quota", "诊断发现与节能量 Findings and savings",
                    "负荷特性 Load profile", "CUSUM", "低碳改造建议", "数据完整性", "方法与参考依据"):
        assert heading in html, heading
    for f in context["findings"]:
        assert f["title_zh"] in html and f["recommendation"]["zh"] in html
    assert len(re.findall(r'<img class="chart" src="data:image/png;base64,', html)) == 5
    assert "不采用基线" in html  # the baseline was rejected, and the report says why, in Chinese first
    assert "仅 21 个数据点，少于所需的 28 个" in html and "21 daily points, fewer than the 28 required" in html
    gf = context["summary"]["co2"]["grid_factor"]  # the report names the grid factor it used (issue 14 item 7)
    assert "范围二所用电网排放因子" in html and f"{gf['value']} kgCO₂/kWh ({gf['region']}, {gf['year']}" in html
    assert any(r["value"].startswith(f"{gf['value']} kgCO2/kWh ({gf['region']}") for r in context["references"])


def test_english_report_has_no_chinese_headings(frames) -> None:
    findings = diagnose(frames, REF)
    html = render_html(build_report(frames, REF, ReportOptions(lang="en"), findings=findings))
    assert "Findings and savings" in html and "诊断发现" not in html


def test_pdf_pages_render(context, tmp_path: Path) -> None:
    pdf = render_pdf(render_html(context))
    assert pdf[:5] == b"%PDF-"
    path = tmp_path / "r.pdf"
    path.write_bytes(pdf)
    require_tool("pdftoppm", package="poppler-utils")
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(path), str(tmp_path / "p")], check=True)
    assert 3 <= len(list(tmp_path.glob("p-*.png"))) <= 8
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "节能诊断报告" in text and "功率因数低于 0.90" in text


def test_city_norms_need_five_peers(frames) -> None:
    assert city_norms([frames]).base_load_share == {}


PROBE = ('<script>window.addEventListener("load", () => {const ok = [...document.images].filter('
         'i => i.complete && i.naturalWidth > 0).length; document.body.setAttribute("data-images-ok", ok);'
         'document.body.setAttribute("data-text", document.body.innerText.length);});</script></body>')


def test_html_in_headless_chromium(context, tmp_path: Path) -> None:
    """Chromium loads the page, decodes every chart and lays out the text (a probe script reports back)."""
    browser = require_tool("chromium", "chromium-browser", package="chromium")
    page = tmp_path / "r.html"
    page.write_text(render_html(context).replace("</body>", PROBE), encoding="utf-8")
    dom = subprocess.run([browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                          "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=True).stdout
    body = re.search(r"<body[^>]*>", dom)
    assert body is not None
    assert 'data-images-ok="5"' in body.group(0)
    assert int(re.search(r'data-text="(\d+)"', body.group(0)).group(1)) > 2000
    shot = tmp_path / "shot.png"
    subprocess.run([browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=1000,1400", f"--screenshot={shot}", page.as_uri()], capture_output=True,
                   timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_long_period_has_accepted_baseline_savings_and_monthly_trend() -> None:
    tl = timeline.build(dt.date(2026, 6, 1), 70, 3600, 5)
    spec = build_city(CityConfig(plants=1, seed=5, days=tl.days, problem_share=0.0, industries=("cement",)))[0]
    frames = plant_frames(spec, tl)[0]
    ctx = build_report(frames, REF, ReportOptions(lang="en"))
    assert ctx["baseline"]["accepted"] is True and ctx["baseline"]["n"] == 35
    assert ctx["baseline"]["cvrmse"] <= 0.30 and abs(ctx["baseline"]["nmbe_cv"]) <= 0.10
    s = ctx["savings"]
    assert s is not None and abs(s["fraction"]) < 0.02  # a healthy plant neither saves nor wastes
    assert s["uncertainty"] > 0
    assert ctx["trend_interval"] == "monthly" and "trend" in ctx["figures"]
    html = render_html(ctx)
    assert "Baseline accepted" in html and "Rule: accepted when" in html
    assert ("meets Guideline 14" in html) == s["meets_guideline_14"] and s["fsu_68"] < s["fsu"]


def test_full_data_shows_its_coverage_and_withholds_nothing(context, frames) -> None:
    assert context["coverage"]["partial"] is False and context["withheld_findings"] == []
    main = frames.main_electricity_meters()[0]
    row = next(m for m in context["coverage"]["meters"] if m["meter"] == main)
    assert row["completeness"] == pytest.approx(1.0, abs=0.01) and row["hours"] == DAYS * 24
    assert 'id="coverage"' in render_html(context)


def test_partial_data_is_said_on_the_first_page_and_thin_findings_are_withheld(frames) -> None:
    """Issue #13: two weeks of data in a six-week report."""
    from dataclasses import replace

    from analytics.calendar import local_midnight_s

    cut = local_midnight_s(FIRST + dt.timedelta(days=14), frames.enterprise.timezone)
    thin = replace(frames, hourly=frames.hourly[frames.hourly["hour_s"] < cut])
    ctx = build_report(thin, REF)
    assert ctx["coverage"]["partial"] is True
    assert ctx["coverage"]["enterprise"] == pytest.approx(1 / 3, abs=0.01)
    withheld = {w["code"] for w in ctx["withheld_findings"]}
    assert withheld and "data_quality" not in withheld and not withheld & {f["code"] for f in ctx["findings"]}
    assert all(w["withheld"]["coverage"] == pytest.approx(1 / 3, abs=0.01) for w in ctx["withheld_findings"])
    assert ctx["total"]["savings_cny"] == pytest.approx(sum(f["savings_cny"] for f in ctx["findings"]), abs=1e-3)
    html = render_html(ctx)
    assert html.index("本期数据不完整") < html.index("1. 摘要")  # on the first page, before the summary
    assert "数据不足、暂不计入的发现" in html
    to_date = build_report(thin, REF, now_s=cut)  # the same two weeks as a period to date: nothing to come counts
    assert to_date["coverage"]["partial"] is False and to_date["withheld_findings"] == []
    assert {f["code"] for f in to_date["findings"]} >= withheld
