"""One enterprise's period result, the object of `enerdiag analyze --json` (CONTRACTS.md section 6).

Pure: carrier totals of the period (from the rollups) + registry facts + reference data in, a JSON-ready
dict out. Every reference value used travels in `evidence` with its source and confidence mark.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analytics.carbon import carbon_account
from analytics.energy import ENERGY_KEYS, Method, comprehensive_energy
from analytics.enterprise import EnterpriseInfo
from analytics.quota import QuotaResult, assess_quota
from analytics.refs import Reference, cited_dict

DECIMALS = 6
"""Figures are rounded to 6 decimals: below any meter's resolution, and free of float noise (0.12290000000000001)."""


@dataclass(frozen=True, slots=True)
class AnalyzeOptions:
    """Choices of method the caller may make (defaults: GB/T 2589 equivalent value, national grid factor)."""

    method: Method = "equivalent"
    region: str = "national"
    include_pv: bool = True
    green_purchased_kwh: float = 0.0


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), DECIMALS) + 0.0


def enterprise_result(enterprise: EnterpriseInfo, period_from: dt.date, period_to: dt.date,
                      totals: Mapping[str, float], completeness: Mapping[str, float], reference: Reference,
                      options: AnalyzeOptions | None = None, *,
                      boundary: Mapping[str, float] | None = None) -> tuple[dict[str, Any], QuotaResult]:
    """The section-6 object for [period_from, period_to) local time, and the quota assessment behind it.

    `boundary`: per-carrier energy of the meters mapped to the enterprise's product; when given, the
    unit-product figure and the quota use it (the product's process boundary) instead of the whole site.
    """
    options = options or AnalyzeOptions()
    energy = comprehensive_energy(totals, reference, method=options.method, include_pv=options.include_pv)
    scoped = energy
    if boundary:
        scoped = comprehensive_energy({**boundary, "output": totals.get("output", 0.0)}, reference,
                                      method=options.method, include_pv=options.include_pv)
    carbon = carbon_account(totals, reference, year=period_from.year, region=options.region,
                            green_purchased_kwh=options.green_purchased_kwh)
    last_day = period_to - dt.timedelta(days=1)
    quota = assess_quota(enterprise.quota_key, scoped.tce, scoped.output, last_day, reference)
    output_t = energy.output
    balance = energy.electricity
    warnings: list[str] = [*energy.notes, *carbon.notes]
    if carbon.grid_factor is not None:
        warnings.extend(getattr(carbon.grid_factor, "warnings", ()))
    if period_to.year != period_from.year:
        warnings.append(f"grid factor of {period_from.year} used for the whole period")
    low = sorted(c for c, v in completeness.items() if v < 0.9)
    if low:
        warnings.append("completeness below 90 % for: " + ", ".join(low))
    result: dict[str, Any] = {
        "enterprise": enterprise.code,
        "from": period_from.isoformat(),
        "to": period_to.isoformat(),
        "timezone": enterprise.timezone,
        "energy": {k: _r(v) for k, v in energy.energy.items() if k in ENERGY_KEYS},
        "electricity_balance": {
            "imported_kwh": _r(balance.imported_kwh),
            "exported_kwh": _r(balance.exported_kwh),
            "pv_generated_kwh": _r(balance.pv_generated_kwh),
            "pv_self_kwh": _r(balance.pv_self_kwh),
            "net_purchased_kwh": _r(balance.net_purchased_kwh),
        },
        "tce": _r(energy.tce),
        "tce_method": energy.method,
        "co2_t": _r(carbon.co2_t),
        "co2": {
            "scope1_t": _r(carbon.scope1_t),
            "scope2_t": _r(carbon.scope2_t),
            "green_share": _r(carbon.green_share),
            "green_kwh": _r(carbon.green_kwh),
            "intensity_t_per_t": _r(carbon.intensity_t_per_unit(output_t)),
        },
        "output_t": _r(output_t),
        "intensity_kgce_per_t": _r(scoped.intensity_kgce_per_unit),
        "boundary": {
            "product": enterprise.product,
            "scope": "process_meters" if boundary else "site",
            "tce": _r(scoped.tce),
            "output_unit": enterprise.output_unit,
        },
        "quota": _rounded_quota(quota),
        "findings": [],
        "completeness": {k: _r(v) for k, v in sorted(completeness.items())},
        "evidence": {
            "tce": energy.evidence(),
            **({"boundary_tce": scoped.evidence()} if boundary else {}),
            "co2": carbon.evidence(),
            **({"grid_factor": cited_dict(carbon.grid_factor)} if carbon.grid_factor is not None else {}),
        },
        "warnings": warnings,
    }
    return result, quota


def _rounded_quota(quota: QuotaResult) -> dict[str, Any]:
    out = quota.as_dict()
    for key in ("value", "gap_per_unit", "gap_tce"):
        if key in out:
            out[key] = _r(out[key])
    return out
