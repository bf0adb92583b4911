"""A county's weather CSV imported into real InfluxDB → the diagnosis baseline of a plant with a heating load keeps
HDD and fits better; a plant in a county without weather keeps the production-only model."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from analytics.calendar import local_midnight_s
from analytics.diagnosis.frames import DiagnosisFacts
from analytics.enterprise import EnterpriseInfo, MeterInfo
from analytics.report.context import baseline_for
from analytics.report.job import read_frames
from analytics.weather_store import read_weather
from core.influx import InfluxV1, line
from core.measurements import CONSUMPTION_HOURLY, WEATHER
from core.reference import get_reference
from core.registry.db import dispose_engines, session_scope
from core.registry.loader import load_registry_file
from core.settings import get_settings
from enerdiag.commands import report as report_commands
from enerdiag.commands import weather as weather_commands
from simulators.city import CityConfig, build_city
from simulators.registry import dump, registry_document

pytestmark = pytest.mark.integration

FIRST = dt.date(2026, 11, 2)
DAYS = 56
TZ = "Asia/Shanghai"
WARM, COLD = "平城区", "云冈区"  # COLD has weather imported, WARM none
REF = get_reference()
GAS_PER_HDD_M3 = 40.0


def _meters() -> tuple[MeterInfo, ...]:
    return (MeterInfo("M01", "electricity"), MeterInfo("G01", "natural_gas"),
            MeterInfo("O01", "output", product="meat_products"))


def _enterprise(code: str, county: str) -> EnterpriseInfo:
    return EnterpriseInfo(code, TZ, "meat_products", "1353", county, _meters())


def _temperatures() -> np.ndarray:
    """An autumn in Datong: 12 °C falling to −12 °C with a ±4 °C day-to-day swing (daily means)."""
    rng = np.random.default_rng(3)
    return np.round(np.linspace(12, -12, DAYS) + rng.normal(0, 4, DAYS), 1)


def _hourly_lines(code: str, temps: np.ndarray) -> list[str]:
    """`consumption_hourly` of a plant whose boiler gas follows the heating degree-days (and output)."""
    rng = np.random.default_rng(7)
    out: list[str] = []
    for i in range(DAYS):
        day = FIRST + dt.timedelta(days=i)
        output_t = float(rng.uniform(20, 40))
        hdd = max(18.0 - float(temps[i]), 0.0)
        per_day = {("M01", "energy_kwh"): (1000 + 50 * output_t) * (1 + 0.01 * rng.normal()),
                   ("G01", "gas_m3"): (300 + 4 * output_t + GAS_PER_HDD_M3 * hdd) * (1 + 0.01 * rng.normal()),
                   ("O01", "output_t"): output_t}
        start = local_midnight_s(day, TZ)
        for (meter, quantity), total in per_day.items():
            for h in range(24):
                out.append(line(CONSUMPTION_HOURLY, {"enterprise": code, "meter": meter, "quantity": quantity},
                                {"value": total / 24, "estimated": 0.0, "completeness": 1.0, "anomalies": 0},
                                start + 3600 * h))
    return out


def _app() -> typer.Typer:
    root = typer.Typer()
    root.callback()(lambda: None)
    weather_commands.register(root)
    report_commands.register(root)
    return root


@pytest.fixture
def city(services, influx_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InfluxV1]:
    """Two identical plants, one per county, with 8 weeks of hourly rollups."""
    monkeypatch.setenv("ENERDIAG_INFLUX_DB", influx_db)
    monkeypatch.setenv("ENERDIAG_DB_URL", f"sqlite:///{tmp_path / 'registry.sqlite3'}")
    get_settings.cache_clear()
    temps = _temperatures()
    influx = InfluxV1(services.influx_url, influx_db)
    for code in ("COLDPLANT", "WARMPLANT"):
        influx.write(_hourly_lines(code, temps))
    yield influx
    influx.close()
    dispose_engines()
    get_settings.cache_clear()


def _import(tmp_path: Path, text: str, *args: str):
    path = tmp_path / "weather.csv"
    path.write_text(text, encoding="utf-8")
    return CliRunner().invoke(_app(), ["weather", "import", str(path), *args])


def _count(influx: InfluxV1, county: str) -> int:
    series = influx.query(f"SELECT count(\"temp_c\") FROM \"{WEATHER}\" WHERE \"county\" = '{county}'")
    return int(series[0].values[0][1]) if series else 0


def test_imported_weather_gives_the_cold_county_an_hdd_baseline(city: InfluxV1, tmp_path: Path) -> None:
    temps = _temperatures()
    csv = "date,temp_c\n" + "".join(f"{FIRST + dt.timedelta(days=i)},{t}\n" for i, t in enumerate(temps))
    done = _import(tmp_path, csv, "--county", COLD)
    assert done.exit_code == 0, done.output
    assert f"{DAYS} day(s) {FIRST}..{FIRST + dt.timedelta(days=DAYS - 1)} (date,temp_c) for {COLD}" in done.stdout
    assert _count(city, COLD) == DAYS and _count(city, WARM) == 0
    stored = read_weather(city, [COLD, WARM], FIRST, FIRST + dt.timedelta(days=DAYS))
    assert list(stored) == [COLD] and stored[COLD].tolist() == temps.tolist()
    assert stored[COLD].index[0] == FIRST

    end = FIRST + dt.timedelta(days=DAYS)
    cold = read_frames(city, _enterprise("COLDPLANT", COLD), DiagnosisFacts(), FIRST, end)
    warm = read_frames(city, _enterprise("WARMPLANT", WARM), DiagnosisFacts(), FIRST, end)
    assert cold.outdoor_c is not None and warm.outdoor_c is None
    with_hdd, _, _, use = baseline_for(cold, REF, None)
    production_only, table, _, no_weather = baseline_for(warm, REF, None)
    assert with_hdd is not None and production_only is not None and use is not None and no_weather is not None
    assert with_hdd.variables == ("output", "hdd") and use.degree_days_used == ("hdd",)
    # the searched balance point is the plant's (gas follows HDD at 18 °C), within two 0.5 °C grid steps
    assert use.hdd_base_c is not None and abs(use.hdd_base_c - 18.0) <= 1.0
    assert production_only.variables == ("output",) and no_weather.days_with_weather == 0
    # same consumption in both counties: the weather alone makes the difference
    assert use.production_only_cvrmse == pytest.approx(production_only.cvrmse)
    assert with_hdd.cvrmse < production_only.cvrmse / 3
    assert with_hdd.accepted
    # HDD coefficient: 40 m³ gas per °C·day, in tce (natural gas coefficient of the reference data)
    gas_tce_per_m3 = REF.coal_coefficient("natural_gas").value / 1000  # kgce/m³ → tce/m³
    assert with_hdd.coefficients["hdd"] == pytest.approx(GAS_PER_HDD_M3 * gas_tce_per_m3, rel=0.1)
    assert table is not None and len(table) == DAYS
    print(f"CV(RMSE) production-only {production_only.cvrmse:.4f}, with HDD {with_hdd.cvrmse:.4f} "
          f"(base {use.hdd_base_c} °C)")


def test_a_bad_weather_file_names_its_line_and_writes_nothing(city: InfluxV1, tmp_path: Path) -> None:
    bad = _import(tmp_path, "date,temp_c\n2026-11-02,3.5\n2026-11-03,3,5\n", "--county", COLD)
    assert bad.exit_code == 2
    assert "weather.csv line 3: 3 columns, the header on line 1 has 2" in bad.stderr
    assert _count(city, COLD) == 0
    nocounty = _import(tmp_path, "date,temp_c\n2026-11-02,3.5\n", "--county", " ")
    assert nocounty.exit_code == 2 and "--county" in nocounty.stderr
    assert _count(city, COLD) == 0


def test_counties_in_one_query_and_a_note_for_a_county_the_registry_lacks(city: InfluxV1, tmp_path: Path) -> None:
    done = _import(tmp_path, "date,temp_c\n2026-11-02,3.5\n2026-11-03,-1\n", "--county", COLD, "--county", WARM)
    assert done.exit_code == 0, done.output
    assert "4 point(s) written" in done.stdout
    assert f"no registered enterprise is in {COLD}, {WARM}" in done.stderr  # the test registry is empty

    calls: list[str] = []
    query = city.query

    def counting(q: str, epoch: str = "s"):
        calls.append(q)
        return query(q, epoch)

    city.query = counting  # type: ignore[method-assign]
    stored = read_weather(city, [COLD, WARM, "无气象县"], FIRST, FIRST + dt.timedelta(days=2))
    assert len(calls) == 1
    assert {k: v.tolist() for k, v in stored.items()} == {COLD: [3.5, -1.0], WARM: [3.5, -1.0]}


def test_enerdiag_report_prints_the_weather_line_per_county(city: InfluxV1, tmp_path: Path) -> None:
    """Registry → `enerdiag weather import` → `enerdiag report`: the cold county's report uses HDD, the other not."""
    days = tuple(FIRST + dt.timedelta(days=i) for i in range(DAYS))
    specs = [build_city(CityConfig(plants=1, seed=seed, days=days, problem_share=0.0, industries=("food",)))[0]
             for seed in (6, 8)]
    doc = registry_document(specs)
    for enterprise, county in zip(doc["enterprises"], (COLD, WARM), strict=True):
        enterprise["county"] = county
    registry = tmp_path / "registry.yaml"
    registry.write_text(dump(doc), encoding="utf-8")
    with session_scope() as session:
        load_registry_file(session, registry)
    temps = _temperatures()
    for spec in specs:
        city.write(_hourly_lines(spec.code, temps))
    csv = "date,temp_c\n" + "".join(f"{FIRST + dt.timedelta(days=i)},{t}\n" for i, t in enumerate(temps))
    done = _import(tmp_path, csv, "--county", COLD)
    assert done.exit_code == 0 and "no registered enterprise" not in done.stderr, done.output
    period = ["--from", FIRST.isoformat(), "--to", (FIRST + dt.timedelta(days=DAYS)).isoformat(), "--lang", "en"]
    pages = []
    for spec in specs:
        out = tmp_path / f"{spec.code}.html"
        result = CliRunner().invoke(_app(), ["report", spec.code, *period, "--out", str(out)])
        assert result.exit_code == 0, result.output
        pages.append(out.read_text(encoding="utf-8").split("<h2>6.")[1].split("<h2>7.")[0])
    cold, warm = pages
    assert "× hdd" in cold and f"Outdoor temperature ({COLD}, 28/28 days):" in cold
    assert "degree-days used hdd (HDD base " in cold
    assert "× hdd" not in warm and f"Outdoor temperature ({WARM}, 0/28 days):" in warm
    assert "no temperature data: production-only baseline" in warm
