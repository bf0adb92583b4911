"""What a period's figures rest on: per meter and per enterprise, how much of what each meter should have sent.

A meter should send at its cadence: the registry has no cadence field, so it is learned from the meter's own
readings (the rollup's rule, `analytics.consumption.cadence_gap_s`: an interval counts as measured when it is no
longer than max(15 min, 1.5 × the meter's median reading interval)). A meter's completeness over a period is the
share of the period covered by measured intervals: Σ daily completeness of `consumption_daily` / days of the
period, a day without a rollup counting 0, a meter in the registry without any rollup in the period 0.
`cadence_s` = measured seconds / readings (≈ the median interval), `expected_readings` = period / cadence.

`read_meter_coverage` and `read_uncovered` are the I/O (InfluxQL); `meter_coverage` and `uncovered_warning`
are pure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from analytics.calendar import local_midnight_s
from analytics.energy import FUEL_CARRIERS
from analytics.enterprise import EnterpriseInfo, total_carrier
from analytics.rollup_job import counter_fields
from core.domain import CARRIER_COUNTER, Carrier, MeterRole
from core.influx import InfluxV1, quote_ident, quote_literal
from core.measurements import CONSUMPTION_DAILY, CONSUMPTION_HOURLY

DAY_S: Final = 86400
BATCH_ENTERPRISES: Final = 200
DECIMALS: Final = 6


def _r(value: float | None) -> float | None:
    return None if value is None else round(float(value), DECIMALS) + 0.0


def counter_meters(enterprise: EnterpriseInfo) -> list[dict[str, Any]]:
    """Every registry meter with a counter (energy or output), with its counter quantity and the enterprise
    total it feeds (`carrier`: None for sub-meters and other meters not added to a total); safety meters are
    not counter meters."""
    out = []
    for meter in enterprise.meters:
        if meter.role == MeterRole.SAFETY.value:
            continue  # electrical-safety meters send gauges (leakage, temperatures), not a counter
        try:
            quantity = CARRIER_COUNTER[Carrier(meter.carrier)]
        except (ValueError, KeyError):
            continue
        out.append({"meter": meter.meter_id, "quantity": quantity, "role": meter.role,
                    "carrier": total_carrier(enterprise, meter.meter_id, quantity)})
    return out


def total_meters(enterprise: EnterpriseInfo) -> list[dict[str, str]]:
    """The meters whose counters make the enterprise's totals (analytics' rule: mains, no sub-meters)."""
    return [{"meter": m["meter"], "quantity": m["quantity"], "carrier": m["carrier"], "role": m["role"]}
            for m in counter_meters(enterprise) if m["carrier"] is not None]


def expected_carriers(enterprise: EnterpriseInfo) -> list[str]:
    """The totals the registry says the enterprise has meters for (a carrier here without data is missing)."""
    return sorted({m["carrier"] for m in total_meters(enterprise)})


@dataclass(frozen=True, slots=True)
class MeterCoverage:
    """One counter of one meter over a period: what it sent against what its cadence says it should have."""

    meter: str
    quantity: str
    role: str
    carrier: str | None
    days: int
    completeness_days: float  # Σ daily completeness
    readings: int

    @property
    def completeness(self) -> float:
        return min(self.completeness_days / self.days, 1.0) if self.days else 0.0

    @property
    def cadence_s(self) -> int | None:
        """Learned reading interval: measured seconds / readings (None without readings)."""
        if self.readings <= 0 or self.completeness_days <= 0:
            return None
        return max(1, round(self.completeness_days * DAY_S / self.readings))

    @property
    def expected_readings(self) -> int | None:
        cadence = self.cadence_s
        return None if cadence is None else round(self.days * DAY_S / cadence)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"meter": self.meter, "quantity": self.quantity, "role": self.role,
                               "carrier": self.carrier, "completeness": _r(self.completeness),
                               "readings": self.readings, "cadence_s": self.cadence_s,
                               "expected_readings": self.expected_readings}
        if self.readings == 0 and self.completeness_days == 0:
            out["reason"] = "no readings in the period"
        return out


def meter_coverage(meters: Sequence[Mapping[str, Any]], sums: Mapping[tuple[str, str], tuple[float, int]],
                   days: int) -> list[MeterCoverage]:
    """Coverage of each registry counter meter from the period's Σ daily completeness and Σ readings."""
    out = []
    for m in meters:
        filled, readings = sums.get((m["meter"], m["quantity"]), (0.0, 0))
        out.append(MeterCoverage(m["meter"], m["quantity"], m["role"], m["carrier"], days, filled, readings))
    return out


def _in(codes: Iterable[str]) -> str:
    return "(" + " OR ".join(f"\"enterprise\" = {quote_literal(c)}" for c in codes) + ")"


def read_meter_coverage(influx: InfluxV1, enterprises: Sequence[EnterpriseInfo], period_from: dt.date,
                        period_to: dt.date) -> dict[str, list[MeterCoverage]]:
    """Per enterprise, the coverage of each of its registry counter meters over the local days [from, to)."""
    days = (period_to - period_from).days
    sums: dict[str, dict[tuple[str, str], tuple[float, int]]] = {e.code: {} for e in enterprises}
    by_tz: dict[str, list[str]] = {}
    for e in enterprises:
        by_tz.setdefault(e.timezone, []).append(e.code)
    for tz, codes in by_tz.items():
        lo, hi = local_midnight_s(period_from, tz), local_midnight_s(period_to, tz)
        for i in range(0, len(codes), BATCH_ENTERPRISES):
            batch = codes[i:i + BATCH_ENTERPRISES]
            q = (f"SELECT sum(\"completeness\") AS c, sum(\"n_readings\") AS n FROM {quote_ident(CONSUMPTION_DAILY)} "
                 f"WHERE {_in(batch)} AND time >= {lo}s AND time < {hi}s "
                 "GROUP BY \"enterprise\", \"meter\", \"quantity\"")
            for series in influx.query(q):
                code = series.tags.get("enterprise", "")
                for row in series.records():
                    sums.setdefault(code, {})[(series.tags.get("meter", ""), series.tags.get("quantity", ""))] = (
                        float(row.get("c") or 0.0), int(row.get("n") or 0))
    return {e.code: meter_coverage(counter_meters(e), sums.get(e.code, {}), days) for e in enterprises}


def enterprise_completeness(completeness: Mapping[str, float | None], expected: Sequence[str]) -> float | None:
    """The enterprise's completeness: the weakest of its energy carriers (electricity and fuels) that the
    registry has total meters for, a carrier without data counting 0; None when it has no such meter."""
    energy = [c for c in expected if c in ("electricity", *FUEL_CARRIERS)]
    if not energy:
        return None
    return _r(min(float(completeness.get(c) or 0.0) for c in energy))


def read_uncovered(influx: InfluxV1, enterprises: Sequence[EnterpriseInfo], period_from: dt.date,
                   period_to: dt.date) -> dict[str, tuple[int, int]]:
    """Per enterprise: (raw counter readings stored in the period, readings the hourly rollups were computed
    from); a difference means the rollups do not cover what is stored (a backfill not yet rolled up)."""
    fields = counter_fields(influx)
    out: dict[str, tuple[int, int]] = {}
    if not fields:
        return out
    by_tz: dict[str, list[str]] = {}
    for e in enterprises:
        by_tz.setdefault(e.timezone, []).append(e.code)
    for tz, codes in by_tz.items():
        lo, hi = local_midnight_s(period_from, tz), local_midnight_s(period_to, tz)
        for i in range(0, len(codes), BATCH_ENTERPRISES):
            batch = codes[i:i + BATCH_ENTERPRISES]
            where = f"WHERE {_in(batch)} AND time >= {lo}s AND time < {hi}s"
            selects = ", ".join(f"count({quote_ident(f)}) AS {quote_ident(f)}" for f in fields)
            raw: dict[str, int] = {}
            for series in influx.query(f"SELECT {selects} FROM {influx.raw_source} {where} GROUP BY \"enterprise\""):
                for row in series.records():
                    raw[series.tags.get("enterprise", "")] = sum(int(row.get(f) or 0) for f in fields)
            stored: dict[str, int] = {}
            q = (f"SELECT sum(\"n_readings\") AS n FROM {quote_ident(CONSUMPTION_HOURLY)} {where} "
                 "GROUP BY \"enterprise\"")
            for series in influx.query(q):
                for row in series.records():
                    stored[series.tags.get("enterprise", "")] = int(row.get("n") or 0)
            for code in batch:
                if raw.get(code, 0) or stored.get(code, 0):
                    out[code] = (raw.get(code, 0), stored.get(code, 0))
    return out


def uncovered_warning(raw: int, rolled_up: int, period_from: dt.date) -> str | None:
    """The warning `analyze` gives when stored raw readings are missing from the rollups, saying what to run."""
    if raw <= rolled_up:
        return None
    return (f"{raw - rolled_up} of {raw} raw readings stored in the period are not in the rollups, so the figures "
            f"leave them out: run `enerdiag rollup --since {period_from.isoformat()}` and analyze again")
