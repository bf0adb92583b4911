"""What a diagnosis report rests on: coverage per registry meter, and the findings withheld for lack of data.

Pure. A meter's coverage over the report period is the share of the period's hours covered by measured readings
of its counter (Σ hourly completeness of `consumption_hourly` / hours; an hour without a rollup counts 0, a meter
in the registry that sent nothing 0) — the same measure as `enerdiag analyze` (`analytics.coverage`). A finding
rests on the meters its evidence names (`meters`), else on the enterprise's energy meters; when the weakest of
them is below `FINDING_MIN_COMPLETENESS` the finding is withheld: listed with its coverage, not counted in the
savings total, not fed to the dashboards.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from analytics.coverage import counter_meters
from analytics.diagnosis.finding import Finding
from analytics.diagnosis.frames import PlantFrames
from analytics.energy import FUEL_CARRIERS

FINDING_MIN_COMPLETENESS: Final = 0.8
"""A finding needs the meters it rests on ≥ 80 % complete over the period: the month rule of the credit indicators
(docs/api.md, "Data sufficiency"); a detector reading a period mostly without data would report the gaps as
behaviour (a night base load, a stop, a peak share)."""
PARTIAL: Final = 0.9
"""The first page warns that the period's data are partial when a meter is below 90 % (CalTRACK: ≥ 90 % of hours
present per month)."""
NEVER_WITHHELD: Final = frozenset({"data_quality"})
"""The data-quality finding is about the gaps themselves."""


def meter_coverage(frames: PlantFrames, now_s: int | None = None) -> list[dict[str, Any]]:
    """Per registry counter meter: role, carrier, completeness over the period and hours with data. With `now_s`,
    only the hours before it count (a month to date is not partial for the days still to come)."""
    grid = frames.hour_grid if now_s is None else frames.hour_grid[frames.hour_grid < now_s]
    h = frames.hourly if now_s is None else frames.hourly[frames.hourly["hour_s"] < now_s]
    hours = len(grid)
    out = []
    for m in counter_meters(frames.enterprise):
        rows = h[(h["meter"] == m["meter"]) & (h["quantity"] == m["quantity"])] if not h.empty else h
        filled = float(rows["completeness"].sum()) if "completeness" in rows and len(rows) else float(len(rows))
        with_data = int((rows["completeness"] > 0).sum()) if "completeness" in rows else len(rows)
        out.append({"meter": m["meter"], "quantity": m["quantity"], "role": m["role"], "carrier": m["carrier"],
                    "completeness": round(min(filled / hours, 1.0), 4) if hours else 0.0,
                    "hours_with_data": with_data, "hours": hours})
    return out


def enterprise_coverage(meters: Sequence[Mapping[str, Any]]) -> float | None:
    """The weakest meter that feeds an energy total (electricity, fuels); None without such a meter."""
    values = [float(m["completeness"]) for m in meters if m["carrier"] in ("electricity", *FUEL_CARRIERS)]
    return min(values) if values else None


def finding_coverage(finding: Finding, by_meter: Mapping[str, float], default: float | None) -> float | None:
    """The completeness a finding rests on: its evidence's meters, else the enterprise's."""
    named = finding.evidence.get("meters") if isinstance(finding.evidence, Mapping) else None
    known = [by_meter[m] for m in named or () if isinstance(m, str) and m in by_meter]
    return min(known) if known else default


def split_findings(findings: Iterable[Finding], meters: Sequence[Mapping[str, Any]],
                   ) -> tuple[list[Finding], list[dict[str, Any]]]:
    """(findings kept, findings withheld with their coverage and the rule) for a period's meter coverage."""
    by_meter: dict[str, float] = {}
    for m in meters:
        by_meter[str(m["meter"])] = min(by_meter.get(str(m["meter"]), 1.0), float(m["completeness"]))
    default = enterprise_coverage(meters)
    kept, withheld = [], []
    for f in findings:
        coverage = finding_coverage(f, by_meter, default)
        if f.code in NEVER_WITHHELD or coverage is None or coverage >= FINDING_MIN_COMPLETENESS:
            kept.append(f)
            continue
        withheld.append({**f.as_dict(), "withheld": {
            "coverage": round(coverage, 4),
            "needs": f"the meters it rests on ≥ {FINDING_MIN_COMPLETENESS:.0%} complete over the period",
            "reason": f"rests on data {coverage:.0%} complete: not counted in the savings total"}})
    return kept, withheld
