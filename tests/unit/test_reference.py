"""Reference data: real coefficients, editions by date, TOU coverage, power factor, overrides, broken files."""

from __future__ import annotations

import re
import shutil
from datetime import date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from core.domain import CARRIER_UNITS, Carrier
from core.reference import (
    CONFIDENCE_MARKS,
    DATA_DIR,
    DATA_FILES,
    ReferenceData,
    ReferenceDataError,
    ReferenceLookupError,
    get_reference,
    load_reference,
)


@pytest.fixture(scope="module")
def ref() -> ReferenceData:
    return load_reference()


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped data files."""
    target = tmp_path / "data"
    shutil.copytree(DATA_DIR, target)
    return target


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur once in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


# --- standard coal ---------------------------------------------------------------------------------------------


def test_electricity_1000_kwh_is_0_1229_tce(ref: ReferenceData) -> None:
    coefficient = ref.coal_coefficient("electricity")
    assert coefficient.unit == "kgce/kWh"
    assert 1000 * coefficient.value / 1000 == pytest.approx(0.1229)
    assert coefficient.confidence == "verified-widely"
    assert "GB/T 2589-2020" in coefficient.source


def test_natural_gas_1000_m3_is_1_2143_tce(ref: ReferenceData) -> None:
    coefficient = ref.coal_coefficient(Carrier.NATURAL_GAS)
    assert coefficient.unit == "kgce/m3"
    assert 1000 * coefficient.value / 1000 == pytest.approx(1.2143)


@pytest.mark.parametrize(
    ("carrier", "per_standard_unit", "expected_per_carrier_unit"),
    [
        ("coal", 0.7143, 714.3),  # kgce/kg -> kgce/t
        ("diesel", 1.4571, 1457.1),  # kgce/kg -> kgce/t
        ("steam", 0.1286, 128.6),  # kgce/kg -> kgce/t
        ("heat", 0.03412, 34.12),  # kgce/MJ -> kgce/GJ
        ("water", 0.0857, 0.0857),  # kgce/t -> kgce/m3 (1 m3 water = 1 t)
    ],
)
def test_unit_conversion_to_carrier_units(
    ref: ReferenceData, carrier: str, per_standard_unit: float, expected_per_carrier_unit: float
) -> None:
    coefficient = ref.coal_coefficient(carrier)
    assert coefficient.unit == f"kgce/{CARRIER_UNITS[Carrier(carrier)]}"
    assert coefficient.value == pytest.approx(expected_per_carrier_unit)
    entry = ref.coal_equivalents.entries()[ref.coal_equivalents.carrier_map[Carrier(carrier)]]
    assert entry.kgce_per_unit == pytest.approx(per_standard_unit)


def test_heat_coefficient_matches_the_kgce_definition(ref: ReferenceData) -> None:
    # 1 GJ / 29.3076 MJ per kgce = 34.12 kgce
    assert ref.coal_coefficient("heat").value == pytest.approx(1000 / 29.3076, rel=1e-4)


def test_every_carrier_with_energy_has_a_coefficient(ref: ReferenceData) -> None:
    for carrier in Carrier:
        if carrier in (Carrier.OUTPUT, Carrier.TEMPERATURE):
            with pytest.raises(ReferenceLookupError, match=carrier.value):
                ref.coal_coefficient(carrier)
        else:
            assert ref.coal_coefficient(carrier).value > 0


def test_equal_value_of_electricity_is_unknown_until_overridden(ref: ReferenceData) -> None:
    with pytest.raises(ReferenceLookupError, match="equal value of electricity is unknown"):
        ref.coal_coefficient("electricity", method="equal")
    assert ref.coal_coefficient("natural_gas", method="equal").value == pytest.approx(1.2143)


# --- emission factors ------------------------------------------------------------------------------------------


def test_grid_factor_of_a_published_year(ref: ReferenceData) -> None:
    factor = ref.grid_emission_factor(2022)
    assert factor.value == pytest.approx(0.5366)
    assert factor.unit == "kgCO2/kWh"
    assert factor.confidence == "verified"
    assert "2022" in factor.source
    assert factor.warnings == ()
    assert ref.grid_emission_factor(2022, region="shanxi").value == pytest.approx(0.7096)
    assert ref.grid_emission_factor(2023, region="north_china").value == pytest.approx(0.6361)


def test_grid_factor_falls_back_to_latest_year_with_warning(ref: ReferenceData) -> None:
    factor = ref.grid_emission_factor(2026)
    assert factor.value == pytest.approx(0.5306)  # 2023, the latest published
    assert factor.warnings and "2023" in factor.warnings[0] and "2026" in factor.warnings[0]


def test_unknown_grid_region_names_it(ref: ReferenceData) -> None:
    with pytest.raises(ReferenceLookupError, match="atlantis"):
        ref.grid_emission_factor(2022, region="atlantis")


def test_fuel_factor_natural_gas(ref: ReferenceData) -> None:
    factor = ref.fuel_emission_factor("natural_gas")
    # one heat value (issue 14): 1.2143 kgce/m3 x 29.3076 MJ/kgce = 0.035588 GJ/m3, the NCV tce also uses;
    # x 15.30 tC/TJ x 0.99 x 44/12 = 1.9765 kgCO2/m3 (GB/T 32150's own 0.038931 GJ/m3 would give 2.162)
    assert factor.value == pytest.approx(1.2143 * 29.3076 / 1000 * 15.30 * 0.99 * 44 / 12)
    assert factor.value == pytest.approx(1.9765, abs=1e-4)
    assert factor.unit == "kgCO2/m3"
    assert factor.confidence == "recalled"
    assert "1.2143 kgce/m3" in (factor.note or "")
    assert ref.fuel_emission_factor("diesel").unit == "kgCO2/t"
    with pytest.raises(ReferenceLookupError, match="electricity"):
        ref.fuel_emission_factor("electricity")


# --- quotas ----------------------------------------------------------------------------------------------------


def test_clinker_at_118_is_over_grade_3(ref: ReferenceData) -> None:
    quota = ref.quota("cement_clinker", date(2026, 6, 1))
    assert quota.standard.startswith("GB 16780-2021")
    assert quota.limit.value == 117
    assert quota.unit == "kgce/t"
    assert quota.is_over(118)
    assert quota.grade_of(118) is None
    assert not quota.is_over(117)
    assert quota.grade_of(117) == 3
    assert quota.grade_of(100) == 1
    assert quota.limit.confidence == "verified-secondary"


def test_coke_quota_edition_changes_on_2026_05_01(ref: ReferenceData) -> None:
    before = ref.quota("coke_top_charged", date(2026, 4, 30))
    after = ref.quota("coke_top_charged", date(2026, 5, 1))
    assert before.edition == "gb21342_2013" and before.standard.startswith("GB 21342-2013")
    assert after.edition == "gb21342_2025" and after.standard.startswith("GB 21342-2025")
    assert after.limit.value == 135
    assert before.limit.value != after.limit.value
    assert before.confidence == "recalled"  # the 2013 values were not read: the mark says so


def test_quota_before_any_edition_and_unknown_product(ref: ReferenceData) -> None:
    with pytest.raises(ReferenceLookupError, match="cement_clinker quota in force on 2020-01-01"):
        ref.quota("cement_clinker", date(2020, 1, 1))
    with pytest.raises(ReferenceLookupError, match="no quota standard for product 'widgets'"):
        ref.quota("widgets", date(2026, 1, 1))


# --- time of use -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("edition_day", [date(2025, 1, 1), date(2026, 6, 1)])
def test_every_hour_maps_to_exactly_one_period_in_every_month(ref: ReferenceData, edition_day: date) -> None:
    _, edition = ref.tariffs_shanxi.edition_on(edition_day)
    for month in range(1, 13):
        season = edition.seasons[edition.season_of(month)]
        hours = [h for spans in season.periods.values() for start, end in spans for h in range(start, end)]
        assert sorted(hours) == list(range(24)), (edition.number, month)
        spans = ref.tou_periods(edition_day, month).value
        assert spans[0].start == 0 and spans[-1].end == 24
        assert all(a.end == b.start for a, b in pairwise(spans))


def test_tou_hours_change_on_2026_05_01(ref: ReferenceData) -> None:
    # 07:30 is flat under 479号 but peak under 2026-15号; 09:30 in May: peak (479) vs valley (2026)
    assert ref.tou_period_of(datetime(2026, 4, 30, 7, 30)).value == "flat"
    assert ref.tou_period_of(datetime(2026, 5, 1, 7, 30)).value == "peak"
    assert ref.tou_period_of(datetime(2026, 4, 30, 9, 30)).value == "peak"
    assert ref.tou_period_of(datetime(2026, 5, 1, 9, 30)).value == "valley"
    assert ref.tou_period_of(datetime(2026, 5, 1, 7)).confidence == "unverified"
    assert "479号" in ref.tou_period_of(datetime(2026, 4, 30, 7)).source


def test_critical_peak_and_deep_valley_overlays(ref: ReferenceData) -> None:
    july_evening = datetime(2025, 7, 15, 19)
    assert ref.tou_period_of(july_evening).value == "critical_peak"
    assert ref.tou_period_of(july_evening, two_part_user=False).value == "peak"  # 479号: 大工业 only
    assert ref.tou_period_of(datetime(2025, 5, 15, 19)).value == "peak"  # no critical peak in May
    assert ref.tou_period_of(datetime(2026, 10, 2, 14), deep_valley_day=True).value == "deep_valley"
    assert ref.tou_period_of(datetime(2026, 10, 2, 14)).value == "valley"


def test_deep_valley_days_follow_the_holiday_calendar(ref: ReferenceData) -> None:
    assert ref.is_deep_valley_day(date(2026, 10, 2)).value is True  # 国庆节
    assert ref.is_deep_valley_day(date(2026, 10, 10)).value is False  # adjusted working day after 国庆
    assert ref.is_deep_valley_day(date(2026, 6, 19)).value is False  # 端午节: not named by the notice
    assert ref.is_deep_valley_day(date(2025, 10, 2)).value is False  # 479号 has no deep valley


def test_aware_datetimes_are_converted_to_shanghai(ref: ReferenceData) -> None:
    utc = datetime(2026, 7, 1, 0, 30, tzinfo=ZoneInfo("UTC"))  # 08:30 in Shanghai: flat in summer 2026
    assert ref.tou_period_of(utc).value == "flat"
    assert ref.tou_period_of(utc.astimezone(ZoneInfo("Asia/Shanghai")) - timedelta(hours=1)).value == "peak"


def test_tou_price_is_flat_price_times_ratio(ref: ReferenceData) -> None:
    price = ref.tou_price(datetime(2026, 9, 1, 20), flat_price=0.5)  # autumn peak 17-24
    assert price.value == pytest.approx(0.5 * 1.60)
    assert price.unit == "CNY/kWh"
    assert ref.tou_price(datetime(2026, 9, 1, 3), flat_price=0.5).value == pytest.approx(0.5 * 0.45)
    with pytest.raises(ReferenceLookupError, match="flat electricity price is not known"):
        ref.tou_price(datetime(2026, 9, 1, 3))  # the flat price is unknown in the shipped data


# --- power factor and two-part tariff --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pf", "percent"),
    [(0.85, 2.5), (0.90, 0.0), (0.92, -0.30), (0.96, -0.75), (1.0, -0.75), (0.70, 10.0), (0.68, 12.0), (0.64, 17.0),
     (0.60, 25.0), (0.855, 2.0), (0.8549, 2.5)],
)  # fmt: skip
def test_power_factor_adjustment_table(ref: ReferenceData, pf: float, percent: float) -> None:
    adjustment = ref.power_factor_adjustment(pf)
    assert adjustment.value == pytest.approx(percent)
    assert adjustment.unit == "%"
    assert adjustment.confidence == "verified-secondary"


@pytest.mark.parametrize(
    ("pf", "standard", "percent"),
    [(0.62, 0.85, 13.0), (0.94, 0.85, -1.1), (0.91, 0.85, -0.65), (0.62, 0.80, 9.0), (0.91, 0.80, -1.15),
     (0.99, 0.80, -1.3)],
)  # fmt: skip
def test_power_factor_other_standards(ref: ReferenceData, pf: float, standard: float, percent: float) -> None:
    assert ref.power_factor_adjustment(pf, standard=standard).value == pytest.approx(percent)


def test_power_factor_unknown_standard_and_bad_pf(ref: ReferenceData) -> None:
    with pytest.raises(ReferenceLookupError, match=r"standard 0\.95"):
        ref.power_factor_adjustment(0.80, standard=0.95)
    with pytest.raises(ReferenceLookupError, match=r"within 0\.\.1"):
        ref.power_factor_adjustment(1.2)


def test_demand_and_capacity_charges(ref: ReferenceData) -> None:
    before = ref.demand_and_capacity_charges(date(2026, 7, 31))
    after = ref.demand_and_capacity_charges(date(2026, 8, 1))
    assert before.demand_cny_per_kw_month.value is None
    assert before.demand_cny_per_kw_month.confidence == "unknown"
    assert before.demand_discount is None
    assert after.demand_discount is not None and after.demand_discount.value == pytest.approx(0.90)
    assert after.demand_discount_min_kwh_per_kva == 260


# --- every value carries a mark and a source -------------------------------------------------------------------


def test_every_cited_node_has_a_known_mark_and_a_source() -> None:
    count = 0

    def walk(node: object, path: str) -> None:
        nonlocal count
        if isinstance(node, dict):
            if "confidence" in node:
                count += 1
                assert node["confidence"] in CONFIDENCE_MARKS, path
                assert node.get("source"), path
            for key, value in node.items():
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}.{i}")

    for stem in DATA_FILES:
        walk(yaml.safe_load((DATA_DIR / f"{stem}.yaml").read_text(encoding="utf-8")), stem)
    assert count > 50


def test_unverified_marks_survive(ref: ReferenceData) -> None:
    assert ref.tariffs_shanxi.editions["sx_2026_15"].confidence == "unverified"
    assert ref.coal_coefficient("coal").confidence == "recalled"


# --- overrides -------------------------------------------------------------------------------------------------


def test_override_changes_a_factor_and_keeps_its_source(tmp_path: Path) -> None:
    override = tmp_path / "override.yaml"
    override.write_text(
        "emission_factors:\n"
        "  grid:\n"
        "    national:\n"
        "      2024: {value: 0.55, source: '大同市发改委 2025 notice'}\n"
        "      2022: {value: 0.54, source: 'city audit 2024', confidence: verified}\n"
        "coal_equivalents:\n"
        "  carriers:\n"
        "    natural_gas: {kgce_per_unit: 1.3300, ncv_kj: 38931, source: 'supplier NCV 389.31 GJ/10^4 m3'}\n"
        "  equal_value:\n"
        "    electricity: {kgce_per_unit: 0.3016, source: 'CEC 2023 供电标准煤耗 301.6 gce/kWh'}\n",
        encoding="utf-8",
    )
    ref = load_reference(override)
    factor = ref.grid_emission_factor(2024)
    assert factor.value == pytest.approx(0.55)
    assert factor.source == "大同市发改委 2025 notice"
    assert factor.confidence == "local-override"
    assert factor.unit == "kgCO2/kWh"
    assert factor.warnings == ()
    assert ref.grid_emission_factor(2022).confidence == "verified"
    assert ref.grid_emission_factor(2022).value == pytest.approx(0.54)
    assert ref.grid_emission_factor(2021).value == pytest.approx(0.5568)  # untouched
    gas = ref.coal_coefficient("natural_gas")
    assert gas.value == pytest.approx(1.33) and gas.source == "supplier NCV 389.31 GJ/10^4 m3"
    assert gas.note is None or "1.2143" not in gas.note  # the old value's note is dropped
    equal = ref.coal_coefficient("electricity", method="equal")
    assert equal.value == pytest.approx(0.3016) and equal.confidence == "local-override"


def test_override_of_unknown_key_names_it(tmp_path: Path) -> None:
    override = tmp_path / "override.yaml"
    override.write_text("emission_factors:\n  grid:\n    natonal:\n      2024: {value: 0.55, source: x}\n")
    with pytest.raises(ReferenceDataError, match=r"override.yaml:3: emission_factors\.grid\.natonal: no such key"):
        load_reference(override)
    override.write_text("emission_factor: {}\n")
    with pytest.raises(ReferenceDataError, match="emission_factor: no such reference file"):
        load_reference(override)


def test_override_without_source_fails(tmp_path: Path) -> None:
    override = tmp_path / "override.yaml"
    override.write_text(
        "quota_standards:\n  products:\n    cement_clinker:\n      editions:\n        gb16780_2021:\n"
        "          grades: {grade_3: 120}\n"
    )
    with pytest.raises(ReferenceDataError, match="gb16780_2021: an override must carry a source"):
        load_reference(override)


def test_override_value_is_validated_with_its_line(tmp_path: Path) -> None:
    override = tmp_path / "override.yaml"
    override.write_text(
        "quota_standards:\n  products:\n    cement_clinker:\n      editions:\n        gb16780_2021:\n"
        "          source: local standard DB14/T 0000\n"
        "          grades: {grade_3: 99}\n"
    )
    with pytest.raises(ReferenceDataError) as info:
        load_reference(override)
    assert re.search(r"override\.yaml:7: .*gb16780_2021\.grades: grades must be ordered", str(info.value))


def test_get_reference_honours_settings_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import get_settings

    override = tmp_path / "city.yaml"
    override.write_text("emission_factors:\n  purchased_heat: {value: 100, source: city heat supplier 2026}\n")
    monkeypatch.setenv("ENERDIAG_REFERENCE_OVERRIDE", str(override))
    get_settings.cache_clear()
    get_reference.cache_clear()
    try:
        assert get_reference().heat_emission_factor().value == 100
        assert get_reference() is get_reference()
    finally:
        get_settings.cache_clear()
        get_reference.cache_clear()


# --- broken data files -----------------------------------------------------------------------------------------


def test_broken_grade_order_names_file_line_and_path(data_copy: Path) -> None:
    path = data_copy / "quota_standards.yaml"
    _replace(path, "{grade_1: 100, grade_2: 107, grade_3: 117}", "{grade_1: 100, grade_2: 120, grade_3: 117}")
    line = _line_of(path, "grade_2: 120")
    with pytest.raises(ReferenceDataError) as info:
        load_reference(data_dir=data_copy)
    message = str(info.value)
    assert f"quota_standards.yaml:{line}:" in message
    assert "quota_standards.products.cement_clinker.editions.gb16780_2021.grades" in message
    assert "grade_1 <= grade_2 <= grade_3" in message


def test_missing_source_names_the_path(data_copy: Path) -> None:
    path = data_copy / "emission_factors.yaml"
    _replace(path, 'confidence: verified, source: "MEE/NBS 2023 notice; reportify.ai (2023 notice coverage)"',
             "confidence: verified")  # fmt: skip
    with pytest.raises(
        ReferenceDataError,
        match=r"emission_factors\.yaml:\d+: emission_factors\.grid\.north_china\.2023\.source: required",
    ):
        load_reference(data_dir=data_copy)


BREAKAGES = [
    ("tariffs_shanxi.yaml", "flat: [[7, 8], [13, 17], [23, 24]]", "flat: [[7, 8], [13, 17]]",
     "hours not covered by any period: 23:00"),
    ("tariffs_shanxi.yaml", "valid_to: 2026-05-01", "valid_to: 2026-06-01", "overlap"),
    ("tariffs_shanxi.yaml", "valley: 0.45, critical_peak: 1.92}", "valley: -0.45, critical_peak: 1.92}",
     "greater than 0"),
    ("coal_equivalents.yaml", "kgce_per_unit: 0.7143", "kgce_per_unit: 0.8143", "disagrees with its heat content"),
    ("coal_equivalents.yaml", "{unit: kg, kgce_per_unit: 1.4571", "{unit: lb, kgce_per_unit: 1.4571",
     "carriers.diesel.unit"),
    ("emission_factors.yaml", "value: 0.5568, unit: kgCO2/kWh, confidence: verified",
     "value: 0.5568, unit: kgCO2/kWh, confidence: sure", "grid.national.2021.confidence"),
    ("tariffs_shanxi.yaml", '"0.85": 2.5', '"0.85": 3.0', "check failed, pf 0.85"),
    ("quota_standards.yaml", "valid_from: 2026-05-01\n        valid_to: null\n        grades: {grade_1: 110,",
     "valid_from: 2026-04-01\n        valid_to: null\n        grades: {grade_1: 110,",
     "coke_top_charged: editions gb21342_2013"),
    ("tariffs_shanxi.yaml", "[[18, 21]], users: unclear", "[[17, 21]], users: unclear", "not a peak hour"),
]  # fmt: skip


@pytest.mark.parametrize(("file", "old", "new", "expected"), BREAKAGES)
def test_broken_files_fail_with_the_problem(data_copy: Path, file: str, old: str, new: str, expected: str) -> None:
    _replace(data_copy / file, old, new)
    with pytest.raises(ReferenceDataError) as info:
        load_reference(data_dir=data_copy)
    assert file in str(info.value)
    assert expected in str(info.value)


def test_duplicate_key_is_an_error(data_copy: Path) -> None:
    path = data_copy / "emission_factors.yaml"
    _replace(
        path,
        "  shanxi:\n",
        '  north_china:\n    "2021": {value: 0.7, unit: kgCO2/kWh, confidence: verified, source: x}\n  shanxi:\n',
    )
    with pytest.raises(ReferenceDataError, match=r"emission_factors\.grid\.north_china: duplicate key"):
        load_reference(data_dir=data_copy)
