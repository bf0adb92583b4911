"""Standard-coal coefficients and quota limits the simulator sizes plants with and reports in ground truth.

Copied from the project's reference data (core/reference/data: GB/T 2589-2020 Appendix A; GB 16780-2021,
GB 21342-2025, GB 21252-2023 grade 3); tests/unit/test_sim_quota.py checks they still agree with it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from core.domain import Carrier
from simulators.industries import Industry

KGCE_PER_UNIT: dict[Carrier, float] = {
    Carrier.ELECTRICITY: 0.1229,  # per kWh, equivalent value
    Carrier.NATURAL_GAS: 1.2143,  # per m3
    Carrier.COAL: 714.3,  # per t of raw coal (0.7143 kgce/kg)
    Carrier.STEAM: 128.6,  # per t of low-pressure steam (0.1286 kgce/kg)
}
"""kgce per unit of each energy carrier the simulated meters count (units of CONTRACTS.md section 2)."""

QUOTA_EDITIONS: dict[str, tuple[tuple[dt.date, dt.date | None, float], ...]] = {
    "cement_clinker": ((dt.date(2022, 11, 1), None, 117.0),),  # GB 16780-2021
    "coke_top_charged": (
        (dt.date(2014, 10, 1), dt.date(2026, 5, 1), 150.0),  # GB 21342-2013
        (dt.date(2026, 5, 1), None, 135.0),  # GB 21342-2025
    ),
    "sanitary_ware_gt_0_3": ((dt.date(2023, 11, 27), None, 610.0),),  # GB 21252-2023, absorption > 0.3 %
}
"""Grade-3 limits (限定值, kgce/t) of the products the simulator makes, per edition [valid_from, valid_to)."""


def quota_limit(key: str | None, days: Sequence[dt.date]) -> float | None:
    """The loosest grade-3 limit in force on any of `days` (an over-quota plant is over every one of them)."""
    limits = [
        limit
        for first, last, limit in QUOTA_EDITIONS.get(key or "", ())
        for day in (days[0], days[-1])
        if first <= day and (last is None or day < last)
    ]
    return max(limits) if limits else None


def nominal_kgce_per_t(industry: Industry) -> tuple[float, float]:
    """(electricity, fuels) kgce per tonne of a healthy plant at full output, idle and winter extras aside."""
    elec = sum(ld.kwh_per_t for ld in industry.loads) / (1 - industry.unmetered_share)
    fuel = sum(f.per_t * KGCE_PER_UNIT.get(f.carrier, 0.0) for f in industry.fuels)
    return elec * KGCE_PER_UNIT[Carrier.ELECTRICITY], fuel
