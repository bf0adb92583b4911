"""The analysis of one enterprise over a local period, as a typed frozen object (CONTRACTS.md section 6).

`analytics.summary.enterprise_result` builds it; consumers (the dashboard feed, reports, the bank API's
figures, `enerdiag analyze`) read its attributes. It validates on construction (a figure named in `missing`
is null, numbers are finite, completeness is a share), carries its warnings, and `to_json()` is the object
`enerdiag analyze --json` prints, key for key (tests/unit/test_analysis_result.py pins the text).
Adding findings or the rollup coverage makes a new object (`with_findings`, `with_rollup_coverage`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any, Literal

from analytics.diagnosis.finding import Finding
from analytics.energy import FUEL_CARRIERS
from analytics.quota import QuotaResult

Json = dict[str, Any]
NULLABLE_FIGURES = ("tce", "co2_t", "output_t", "intensity_kgce_per_t")
"""Top-level figures `missing` may name (besides `energy.<carrier>`)."""
ENERGY_CARRIERS = ("electricity", *FUEL_CARRIERS)
"""The carriers that make the energy figures (completeness of the tce)."""
_SHARE_TOLERANCE = 1e-6
DECIMALS = 6
"""Figures are rounded to 6 decimals: below any meter's resolution, and free of float noise (0.12290000000000001)."""


class AnalysisError(ValueError):
    """An analysis result that contradicts itself (a bug upstream, never bad input)."""


def _frozen(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


def _check_number(name: str, value: float | None) -> None:
    if value is not None and not math.isfinite(value):
        raise AnalysisError(f"{name} is {value!r}: a figure is a finite number or null")


@dataclass(frozen=True, slots=True)
class BalanceFigures:
    """`electricity_balance`: imports, exports, PV, and what was bought net (kWh)."""

    imported_kwh: float | None
    exported_kwh: float | None
    pv_generated_kwh: float | None
    pv_self_kwh: float | None
    net_purchased_kwh: float | None

    def to_json(self) -> Json:
        return {"imported_kwh": self.imported_kwh, "exported_kwh": self.exported_kwh,
                "pv_generated_kwh": self.pv_generated_kwh, "pv_self_kwh": self.pv_self_kwh,
                "net_purchased_kwh": self.net_purchased_kwh}


@dataclass(frozen=True, slots=True)
class Co2Figures:
    """`co2`: Scope 1 and 2 (t), the green share, the grid factors used, the annual budget position."""

    scope1_t: float | None
    scope2_t: float | None
    green_share: float | None
    green_kwh: float | None
    green_purchased_kwh: float | None
    scope2_method: Literal["market_based", "location_based"]
    scope2_location_t: float | None
    intensity_t_per_t: float | None
    scope1_combustion_t: float | None
    scope1_process_t: float | None
    grid_factor: Mapping[str, Any] | None
    scope2_national_t: float | None
    national_grid_factor: Mapping[str, Any] | None
    budget_year: int | None = None
    budget_t: float | None = None
    year_to_date_t: float | None = None
    projected_year_t: float | None = None
    budget_status: str = "n/a"

    def __post_init__(self) -> None:
        if self.scope2_method not in ("market_based", "location_based"):
            raise AnalysisError(f"scope2_method {self.scope2_method!r}")
        if self.green_share is not None and not -_SHARE_TOLERANCE <= self.green_share <= 1 + _SHARE_TOLERANCE:
            raise AnalysisError(f"green_share {self.green_share} is not a share")
        for name in ("scope1_t", "scope2_t", "green_kwh", "green_purchased_kwh", "scope2_location_t",
                     "intensity_t_per_t", "scope1_combustion_t", "scope1_process_t", "scope2_national_t",
                     "budget_t", "year_to_date_t", "projected_year_t"):
            _check_number(f"co2.{name}", getattr(self, name))

    def to_json(self) -> Json:
        return {"scope1_t": self.scope1_t, "scope2_t": self.scope2_t, "green_share": self.green_share,
                "green_kwh": self.green_kwh, "green_purchased_kwh": self.green_purchased_kwh,
                "scope2_method": self.scope2_method, "scope2_location_t": self.scope2_location_t,
                "intensity_t_per_t": self.intensity_t_per_t, "scope1_combustion_t": self.scope1_combustion_t,
                "scope1_process_t": self.scope1_process_t,
                "grid_factor": None if self.grid_factor is None else dict(self.grid_factor),
                "scope2_national_t": self.scope2_national_t,
                "national_grid_factor": None if self.national_grid_factor is None else dict(self.national_grid_factor),
                "budget_year": self.budget_year, "budget_t": self.budget_t, "year_to_date_t": self.year_to_date_t,
                "projected_year_t": self.projected_year_t, "budget_status": self.budget_status}


@dataclass(frozen=True, slots=True)
class BoundaryFigures:
    """`boundary`: whose energy the unit-product figure uses (the product's process meters, or the site)."""

    product: str | None
    scope: Literal["process_meters", "site"]
    tce: float | None
    output_unit: str | None

    def to_json(self) -> Json:
        return {"product": self.product, "scope": self.scope, "tce": self.tce, "output_unit": self.output_unit}


@dataclass(frozen=True, slots=True)
class RollupCoverage:
    """`coverage.rollup`: raw counter readings stored in the period against those the rollups used."""

    raw_readings: int
    rolled_up_readings: int

    def to_json(self) -> Json:
        return {"raw_readings": self.raw_readings, "rolled_up_readings": self.rolled_up_readings}


@dataclass(frozen=True, slots=True)
class Coverage:
    """`coverage`: the enterprise's completeness, per carrier, per registry meter (and, from the command, the
    rollup's)."""

    enterprise: float | None
    carriers: Mapping[str, float | None]
    meters: tuple[Mapping[str, Any], ...] = ()
    rollup: RollupCoverage | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "carriers", _frozen(self.carriers))
        object.__setattr__(self, "meters", tuple(self.meters))

    def to_json(self) -> Json:
        out: Json = {"enterprise": self.enterprise, "carriers": dict(self.carriers),
                     "meters": [dict(m) for m in self.meters]}
        if self.rollup is not None:
            out["rollup"] = self.rollup.to_json()
        return out


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """One enterprise's figures for the local days [period_from, period_to) (`enerdiag analyze --json`)."""

    enterprise: str
    period_from: dt.date
    period_to: dt.date
    timezone: str
    energy: Mapping[str, float | None]  # per carrier, in the units of CONTRACTS.md section 2; null: no data
    electricity_balance: BalanceFigures
    tce: float | None
    tce_method: str
    co2_t: float | None
    co2: Co2Figures
    output_t: float | None
    intensity_kgce_per_t: float | None
    boundary: BoundaryFigures
    quota: QuotaResult
    completeness: Mapping[str, float | None]
    evidence: Mapping[str, Any]
    warnings: tuple[str, ...] = ()
    coverage: Coverage | None = None  # with `missing`: when the registry's meters were known
    missing: Mapping[str, str] | None = None  # figure path ("tce", "energy.electricity") -> why it is null
    findings: tuple[Finding, ...] = ()
    withheld_findings: tuple[Mapping[str, Any], ...] | None = None  # None: the diagnosis did not run

    def __post_init__(self) -> None:
        for name in ("energy", "completeness", "evidence"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        if self.missing is not None:
            object.__setattr__(self, "missing", _frozen(self.missing))
        object.__setattr__(self, "warnings", tuple(self.warnings))
        object.__setattr__(self, "findings", tuple(self.findings))
        if self.withheld_findings is not None:
            object.__setattr__(self, "withheld_findings", tuple(self.withheld_findings))
        self._validate()

    def _validate(self) -> None:
        if self.period_to <= self.period_from:
            raise AnalysisError(f"period [{self.period_from}, {self.period_to}) is empty")
        for name in NULLABLE_FIGURES:
            _check_number(name, getattr(self, name))
        for carrier, value in self.energy.items():
            _check_number(f"energy.{carrier}", value)
        for carrier, share in self.completeness.items():
            if share is not None and not -_SHARE_TOLERANCE <= share <= 1 + _SHARE_TOLERANCE:
                raise AnalysisError(f"completeness of {carrier} is {share}, not a share")
        if (self.coverage is None) != (self.missing is None):
            raise AnalysisError("coverage and missing come together (the registry's meters known or not)")
        for path in self.missing or {}:
            if path in NULLABLE_FIGURES:
                value = getattr(self, path)
            elif path.startswith("energy."):
                value = self.energy.get(path.removeprefix("energy."))
            else:
                raise AnalysisError(f"missing names {path!r}, which is not a figure")
            if value is not None:
                raise AnalysisError(f"{path} is {value} but missing says why it is null: missing is never zero")
        if any(not isinstance(w, str) for w in self.warnings):
            raise AnalysisError("warnings are sentences")

    # ------------------------------------------------------------------ reading

    def completeness_of(self, carrier: str) -> float | None:
        """The period's completeness of `carrier` (None: the carrier has no completeness in this result)."""
        return self.completeness.get(carrier)

    @property
    def energy_completeness(self) -> float:
        """The weakest completeness of the energy carriers (electricity and fuels) present; 0 when none is."""
        values = [float(v) for c, v in self.completeness.items() if c in ENERGY_CARRIERS and v is not None]
        return min(values) if values else 0.0

    # ------------------------------------------------------------------ what the command adds

    def with_findings(self, findings: Iterable[Finding],
                      withheld: Sequence[Mapping[str, Any]] = ()) -> AnalysisResult:
        """The same result with the diagnosis of the same period (and the findings it withheld, with reasons)."""
        return replace(self, findings=tuple(findings), withheld_findings=tuple(withheld))

    def with_rollup_coverage(self, raw_readings: int, rolled_up_readings: int,
                             warning: str | None = None) -> AnalysisResult:
        """The same result with `coverage.rollup` (and the warning that the rollups leave readings out)."""
        if self.coverage is None:
            raise AnalysisError("the rollup coverage goes with the meters' coverage (analyze with the registry)")
        coverage = replace(self.coverage, rollup=RollupCoverage(raw_readings, rolled_up_readings))
        warnings = self.warnings if warning is None else (*self.warnings, warning)
        return replace(self, coverage=coverage, warnings=warnings)

    # ------------------------------------------------------------------ writing

    def to_json(self) -> Json:
        """The section-6 object, key for key as `enerdiag analyze --json` prints it (fresh dicts on each call)."""
        out: Json = {
            "enterprise": self.enterprise,
            "from": self.period_from.isoformat(),
            "to": self.period_to.isoformat(),
            "timezone": self.timezone,
            "energy": dict(self.energy),
            "electricity_balance": self.electricity_balance.to_json(),
            "tce": self.tce,
            "tce_method": self.tce_method,
            "co2_t": self.co2_t,
            "co2": self.co2.to_json(),
            "output_t": self.output_t,
            "intensity_kgce_per_t": self.intensity_kgce_per_t,
            "boundary": self.boundary.to_json(),
            "quota": quota_json(self.quota),
            "findings": [f.as_dict() for f in self.findings],
            "completeness": dict(self.completeness),
        }
        if self.coverage is not None:
            out["coverage"] = self.coverage.to_json()
            out["missing"] = dict(self.missing or {})
        out["evidence"] = dict(self.evidence)
        out["warnings"] = list(self.warnings)
        if self.withheld_findings is not None:
            out["withheld_findings"] = [dict(w) for w in self.withheld_findings]
        return out


def quota_json(quota: QuotaResult) -> Json:
    """The `quota` object of section 6: the assessment with its standard's evidence, figures rounded."""
    out = quota.as_dict()
    for key in ("value", "gap_per_unit", "gap_tce"):
        if key in out:
            out[key] = rounded(out[key])
    return out


def rounded(value: float | None) -> float | None:
    """A figure rounded to `DECIMALS` (None stays None; -0.0 becomes 0.0)."""
    return None if value is None else round(float(value), DECIMALS) + 0.0


__all__ = ["DECIMALS", "AnalysisError", "AnalysisResult", "BalanceFigures", "BoundaryFigures", "Co2Figures",
           "Coverage", "RollupCoverage", "quota_json", "rounded"]
