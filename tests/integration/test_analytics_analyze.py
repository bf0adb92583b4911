"""`enerdiag rollup` then `enerdiag analyze --json` on real InfluxDB and a registry file: the section-6 object."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from core.influx import InfluxV1, line
from core.registry.db import dispose_engines, session_scope
from core.registry.loader import load_registry_file
from core.settings import get_settings
from enerdiag.commands import analyze as analyze_commands
from tests.support.cement_pair import DAY0, GOOD, OVER, REGISTRY

pytestmark = pytest.mark.integration



# GB/T 2589-2020 and GB/T 32150-2015 as printed (gas CO2 on the tce heat value: 1.2143 kgce/m3 × 29.3076 MJ/kgce),
# and the MEE 2023 grid factors (the latest published): 华北 for these Shanxi plants, national beside it
ELEC_KGCE, GAS_KGCE = 0.1229, 1.2143
GAS_KGCO2 = GAS_KGCE * 29.3076 / 1000 * 15.30 * 0.99 * 44 / 12
GRID_2023, NORTH_CHINA_2023 = 0.5306, 0.6361
CLINKER_T_PER_T = 0.66 * 44 / 56 + 0.02 * 44 / 40  # the registry's CaO/MgO (GB/T 32151.8): 0.540571 tCO2/t


@pytest.fixture
def cli(services, influx_db, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("ENERDIAG_INFLUX_DB", influx_db)
    monkeypatch.setenv("ENERDIAG_DB_URL", f"sqlite:///{tmp_path / 'registry.sqlite3'}")
    get_settings.cache_clear()
    registry = tmp_path / "registry.yaml"
    registry.write_text(REGISTRY.format(over=OVER, good=GOOD), encoding="utf-8")
    with session_scope() as session:
        load_registry_file(session, registry)
    yield CliRunner()
    dispose_engines()
    get_settings.cache_clear()


def app() -> typer.Typer:
    root = typer.Typer()
    analyze_commands.register(root)
    return root


def seed(influx: InfluxV1, code: str, output_per_15min: float) -> None:
    """One local day at 15-minute readings: 250 kWh (1,000 kWh/h), 25 m3 gas, output; sub-meter 100 kWh;
    process meter of the clinker line 150 kWh (only the second enterprise has it in the registry)."""
    t = DAY0 + 900 * np.arange(97)  # 00:00 .. 24:00 inclusive
    i = np.arange(97, dtype=float)
    lines = []
    for meter, field, step in (("M01", "energy_kwh", 250.0), ("M02", "energy_kwh", 100.0), ("P01", "energy_kwh", 150.0),
                               ("G01", "gas_m3", 25.0),
                               ("O01", "output_t", output_per_15min)):
        lines += [line("reading", {"enterprise": code, "gateway": "gw1", "meter": meter}, {field: 7.0 + step * k},
                       int(ts)) for ts, k in zip(t, i, strict=True)]
    influx.write(lines)


def test_rollup_then_analyze_json(services, influx_db, cli: CliRunner) -> None:
    influx = InfluxV1(services.influx_url, influx_db)
    seed(influx, OVER, 0.5)
    seed(influx, GOOD, 1.0)
    only = cli.invoke(app(), ["rollup", "--since", "2025-11-29", "--enterprise", GOOD])
    assert only.exit_code == 0, only.output
    assert "1 of 1 enterprise(s) recomputed" in only.stderr and "unknown" not in only.stderr
    done = cli.invoke(app(), ["rollup", "--since", "2025-11-29"])
    assert done.exit_code == 0, done.output
    assert "1 of 2 enterprise(s) recomputed" in done.stderr  # the other one is up to date already
    # the rollup also fed the dashboards for the days it recomputed (analytics/publish_job.py)
    fed = influx.query('SELECT "tce", "over_quota" FROM "enterprise_analysis" WHERE "period" = \'day\' '
                       f"AND time >= {DAY0}s AND time < {DAY0 + 86400}s GROUP BY \"enterprise\"")
    fed_days = {s.tags["enterprise"]: s.records() for s in fed}
    assert set(fed_days) == {OVER, GOOD}
    assert fed_days[OVER][0]["over_quota"] == 1
    assert fed_days[GOOD][0]["over_quota"] == 0
    result = cli.invoke(app(), ["analyze", "--from", "2025-12-01", "--to", "2025-12-02", "--json"])
    assert result.exit_code == 0, result.output
    objects = {o["enterprise"]: o for o in json.loads(result.stdout)}
    assert set(objects) == {OVER, GOOD}
    over = objects[OVER]
    assert over["from"] == "2025-12-01" and over["to"] == "2025-12-02"
    # 24,000 kWh (the sub-meter is inside the main meter) and 2,400 m3 of gas
    assert over["energy"] == {"electricity": 24_000.0, "natural_gas": 2_400.0}
    kgce = 24_000 * ELEC_KGCE + 2_400 * GAS_KGCE  # 2,949.6 + 2,914.32 = 5,863.92
    assert over["tce"] == pytest.approx(kgce / 1000)
    assert over["output_t"] == pytest.approx(48.0)
    assert over["intensity_kgce_per_t"] == pytest.approx(kgce / 48)  # 122.165 kgce/t
    combustion, process = 2_400 * GAS_KGCO2 / 1000, 48 * CLINKER_T_PER_T  # 4.744 + 25.947 t
    scope1 = combustion + process
    scope2 = 24_000 * NORTH_CHINA_2023 / 1000
    assert over["co2"]["scope1_combustion_t"] == pytest.approx(combustion, abs=1e-6)
    assert over["co2"]["scope1_process_t"] == pytest.approx(process, abs=1e-6)
    assert over["co2"]["scope1_t"] == pytest.approx(scope1, abs=1e-6)
    assert over["co2"]["scope2_national_t"] == pytest.approx(24_000 * GRID_2023 / 1000, abs=1e-6)
    assert over["co2"]["grid_factor"]["region"] == "north_china" and over["co2"]["grid_factor"]["year"] == 2023
    assert any("2025 is not yet published" in w for w in over["warnings"])
    assert over["evidence"]["co2"]["clinker_calcination"]["factor"]["value"] == pytest.approx(CLINKER_T_PER_T * 1000)
    assert over["co2"]["scope2_t"] == pytest.approx(scope2, abs=1e-6)
    assert over["co2_t"] == pytest.approx(scope1 + scope2, abs=1e-6)
    assert over["co2"]["green_share"] == 0.0
    quota = over["quota"]
    assert quota["status"] == "over_quota" and quota["limit"] == 117.0 and quota["grade"] is None
    assert quota["standard"].startswith("GB 16780-2021")
    assert quota["gap_per_unit"] == pytest.approx(kgce / 48 - 117)
    assert quota["gap_tce"] == pytest.approx((kgce / 48 - 117) * 48 / 1000)
    over_quota_finding = next(f for f in over["findings"] if f["code"] == "over_quota")
    assert over_quota_finding["savings_tce"] == pytest.approx((kgce / 48 - 117) * 48 / 1000, rel=1e-3)
    assert all(f["code"] != "over_quota" for f in objects[GOOD]["findings"])
    assert over["completeness"]["electricity"] == pytest.approx(1.0)
    assert over["evidence"]["tce"]["electricity"]["coefficient"]["source"].startswith("GB/T 2589-2020")
    assert over["evidence"]["grid_factor"]["confidence"] == "verified"
    assert over["boundary"]["scope"] == "site"
    good = objects[GOOD]
    # the site is the same, but the quota looks at the clinker line's own meters: 14,400 kWh + 2,400 m3 gas
    assert good["tce"] == pytest.approx(kgce / 1000)
    line_kgce = 14_400 * ELEC_KGCE + 2_400 * GAS_KGCE  # 1,769.76 + 2,914.32 = 4,684.08
    assert good["boundary"] == {"product": "cement_clinker", "scope": "process_meters",
                                "tce": pytest.approx(line_kgce / 1000), "output_unit": "t"}
    assert good["intensity_kgce_per_t"] == pytest.approx(line_kgce / 96)
    assert good["quota"]["value"] == pytest.approx(line_kgce / 96)
    assert good["quota"]["status"] == "ok" and good["quota"]["grade"] == 1

    ranked = cli.invoke(app(), ["analyze", "--from", "2025-12-01", "--to", "2025-12-02", "--over-quota", "--json"])
    assert ranked.exit_code == 0, ranked.output
    rows = json.loads(ranked.stdout)
    assert [r["enterprise"] for r in rows] == [OVER]
    assert rows[0]["gap_tce"] == pytest.approx((kgce / 48 - 117) * 48 / 1000)

    one = cli.invoke(app(), ["analyze", "--from", "2025-12-01", "--to", "2025-12-02", "--enterprise", GOOD,
                             "--json"])
    assert [o["enterprise"] for o in json.loads(one.stdout)] == [GOOD]

    table = cli.invoke(app(), ["analyze", "--from", "2025-12-01", "--to", "2025-12-02"])
    assert table.exit_code == 0 and OVER in table.stdout and "over_quota" in table.stdout
    city = cli.invoke(app(), ["analyze", "--from", "2025-12-01", "--to", "2025-12-02", "--over-quota"])
    assert city.exit_code == 0 and OVER in city.stdout and GOOD not in city.stdout


def test_bad_input_exits_2(cli: CliRunner) -> None:
    backwards = cli.invoke(app(), ["analyze", "--from", "2025-12-02", "--to", "2025-12-01", "--json"])
    assert backwards.exit_code == 2
    assert "must be after" in backwards.stderr
    assert cli.invoke(app(), ["analyze", "--from", "2025-13-01", "--to", "2026-01-01"]).exit_code == 2
    unknown = cli.invoke(app(), ["analyze", "--from", "2025-12-01", "--to", "2025-12-02", "--enterprise",
                                 "91350100M000100Y43"])
    assert unknown.exit_code == 2


def test_activity_index_by_county(services, influx_db, cli: CliRunner) -> None:
    influx = InfluxV1(services.influx_url, influx_db)
    base_day = DAY0 - 86400  # 2025-11-30 local
    t = base_day + 900 * np.arange(2 * 96 + 1)
    kwh = np.r_[0.0, np.cumsum(np.r_[np.full(96, 125.0), np.full(96, 250.0)])]  # 500 kWh/h, then 1,000
    gas = 25.0 * np.arange(len(t))
    lines = []
    for code, scale in ((OVER, 1.0), (GOOD, 2.0)):
        for meter, field, values in (("M01", "energy_kwh", kwh * scale), ("G01", "gas_m3", gas)):
            lines += [line("reading", {"enterprise": code, "gateway": "gw1", "meter": meter}, {field: float(v)},
                           int(ts)) for ts, v in zip(t, values, strict=True)]
    influx.write(lines)
    assert cli.invoke(app(), ["rollup", "--since", "2025-11-28"]).exit_code == 0
    result = cli.invoke(app(), ["analyze", "--from", "2025-12-01", "--to", "2025-12-02", "--activity", "county",
                                "--base-from", "2025-11-30", "--base-to", "2025-12-01", "--json"])
    assert result.exit_code == 0, result.output
    groups = {g["county"]: g for g in json.loads(result.stdout)}
    base = 12_000 * ELEC_KGCE + 2_400 * GAS_KGCE  # 4,389.12 kgce a day
    now = 24_000 * ELEC_KGCE + 2_400 * GAS_KGCE  # 5,863.92
    assert groups["云冈区"]["index"] == pytest.approx(round(100 * now / base, 2))  # 133.6
    base2 = 24_000 * ELEC_KGCE + 2_400 * GAS_KGCE
    now2 = 48_000 * ELEC_KGCE + 2_400 * GAS_KGCE
    assert groups["平城区"]["index"] == pytest.approx(round(100 * now2 / base2, 2))
    assert groups["云冈区"]["enterprises"] == 1 and groups["云冈区"]["excluded"] == 0
    missing = cli.invoke(app(), ["analyze", "--from", "2025-12-01", "--to", "2025-12-02", "--activity", "county"])
    assert missing.exit_code == 2


def test_missing_is_never_zero_and_rollup_gaps_are_named(services, influx_db, cli: CliRunner) -> None:
    """Issue #13: a period without data is null with its reason; raw readings the rollups do not cover are
    named, with the command to run; every registry meter has its coverage."""
    influx = InfluxV1(services.influx_url, influx_db)
    seed(influx, OVER, 0.5)
    assert cli.invoke(app(), ["rollup", "--since", "2025-11-29", "--enterprise", OVER]).exit_code == 0
    empty = cli.invoke(app(), ["analyze", "--from", "2025-11-01", "--to", "2025-11-02", "--enterprise", OVER,
                               "--json", "--no-findings"])
    assert empty.exit_code == 0, empty.output
    (obj,) = json.loads(empty.stdout)
    assert obj["energy"] == {"electricity": None, "natural_gas": None}
    assert (obj["tce"], obj["co2_t"], obj["output_t"]) == (None, None, None)
    assert obj["completeness"] == {"electricity": 0.0, "natural_gas": 0.0, "output": 0.0}
    assert obj["missing"]["tce"] == "no energy meter sent readings in the period"
    assert obj["missing"]["energy.electricity"] == "no readings of the electricity meters in the period (meters M01)"
    meters = {m["meter"]: m for m in obj["coverage"]["meters"]}
    assert meters["M01"] == {"meter": "M01", "quantity": "energy_kwh", "role": "main", "carrier": "electricity",
                             "completeness": 0.0, "readings": 0, "cadence_s": None, "expected_readings": None,
                             "reason": "no readings in the period"}
    assert obj["coverage"]["enterprise"] == 0.0 and obj["coverage"]["rollup"] == {"raw_readings": 0,
                                                                                  "rolled_up_readings": 0}
    # a second day arrives (a gateway's backlog) and nobody rolls it up yet
    t = DAY0 + 86400 + 900 * np.arange(1, 97)
    influx.write(line("reading", {"enterprise": OVER, "gateway": "gw1", "meter": meter}, {field: 7.0 + step * k},
                      int(ts))
                 for meter, field, step in (("M01", "energy_kwh", 250.0), ("G01", "gas_m3", 25.0))
                 for ts, k in zip(t, np.arange(97, 193, dtype=float), strict=True))
    behind = cli.invoke(app(), ["analyze", "--from", "2025-12-01", "--to", "2025-12-03", "--enterprise", OVER,
                                "--json", "--no-findings"])
    assert behind.exit_code == 0, behind.output
    (obj,) = json.loads(behind.stdout)
    rollup = obj["coverage"]["rollup"]
    assert rollup["raw_readings"] - rollup["rolled_up_readings"] == 2 * 95  # the last one (24:00) lies outside
    assert any("190 of" in w and "enerdiag rollup --since 2025-12-01" in w for w in obj["warnings"])
    assert "run `enerdiag rollup --since 2025-12-01`" in behind.stderr
    m01 = next(m for m in obj["coverage"]["meters"] if m["meter"] == "M01")
    assert (m01["completeness"], m01["readings"], m01["cadence_s"], m01["expected_readings"]) == (
        pytest.approx(0.5), 97, 891, 194)  # day 1 measured (96 readings + the 24:00 one), day 2 not rolled up
    assert cli.invoke(app(), ["rollup", "--since", "2025-11-29", "--enterprise", OVER]).exit_code == 0
    caught_up = cli.invoke(app(), ["analyze", "--from", "2025-12-01", "--to", "2025-12-03", "--enterprise", OVER,
                                   "--json", "--no-findings"])
    (obj,) = json.loads(caught_up.stdout)
    assert obj["coverage"]["rollup"]["raw_readings"] == obj["coverage"]["rollup"]["rolled_up_readings"]
    assert not any("enerdiag rollup" in w for w in obj["warnings"]) and "enerdiag rollup" not in caught_up.stderr
