"""The InfluxDB schema's names, spelled once: every measurement, its tags and its fields (docs/schema.md).

The raw layer is CONTRACTS.md section 3; the others are the project's (docs/schema.md, docs/safety.md).
Code names a measurement by the constant here, never by a string of its own; `SCHEMA` says which tags and
fields each one has, and the tests check that the points the writers build and the queries the dashboards
run use only those (tests/unit/test_measurements.py). Field names of raw quantities are the quantity keys of
`core.domain.QUANTITIES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from core.domain import QUANTITIES

# ------------------------------------------------------------------ measurements

READING: Final = "reading"
"""Raw readings (CONTRACTS.md section 3): one float field per quantity; may live in its own retention policy."""
INGEST_MARK: Final = "ingest_mark"
"""Which enterprise and hours a raw write touched (core/marks.py)."""
ROLLUP_CURSOR: Final = "rollup_cursor"
"""The rollup's cursor over the ingest marks (analytics/marks.py)."""
READING_HOURLY: Final = "reading_hourly"
"""Gauges per meter and clock hour (`enerdiag downsample`)."""
CONSUMPTION_HOURLY: Final = "consumption_hourly"
CONSUMPTION_DAILY: Final = "consumption_daily"
ENTERPRISE_DAILY: Final = "enterprise_daily"
ENTERPRISE_MONTHLY: Final = "enterprise_monthly"
PRODUCT_DAILY: Final = "product_daily"
WEATHER: Final = "weather"
ENTERPRISE_INFO: Final = "enterprise_info"
ENTERPRISE_ANALYSIS: Final = "enterprise_analysis"
ACTIVITY_INDEX: Final = "activity_index"
ENTERPRISE_TOU_DAILY: Final = "enterprise_tou_daily"
FINDING: Final = "finding"
COLLECTOR_STATS: Final = "collector_stats"
DEADLETTER_COUNT: Final = "deadletter_count"
GATEWAY_STATUS: Final = "gateway_status"
SAFETY_ALARM: Final = "safety_alarm"
SCHEDULER_JOB: Final = "scheduler_job"
ORDERLY_PLAN: Final = "orderly_plan"
"""Orderly-use plans: kW asked per enterprise and event (`enerdiag orderly plan --publish`, issue 18)."""
ORDERLY_COMPLIANCE: Final = "orderly_compliance"
"""Orderly-use verification: each enterprise's record per event (`enerdiag orderly verify --publish`)."""


# ------------------------------------------------------------------ tags and shared fields

class Tag:
    """Tag keys (a tag means the same thing in every measurement that has it)."""

    ENTERPRISE: Final = "enterprise"
    GATEWAY: Final = "gateway"
    METER: Final = "meter"
    QUANTITY: Final = "quantity"
    CARRIER: Final = "carrier"
    PRODUCT: Final = "product"
    PERIOD: Final = "period"
    COUNTY: Final = "county"
    INDUSTRY: Final = "industry"
    BY: Final = "by"
    GROUP: Final = "group"
    CODE: Final = "code"
    RULE: Final = "rule"
    SEVERITY: Final = "severity"
    COLLECTOR: Final = "collector"
    REASON: Final = "reason"
    WRITER: Final = "writer"
    SCOPE: Final = "scope"
    JOB: Final = "job"
    REPLICA: Final = "replica"


class Field:
    """Field keys that several measurements share (the rollups' layout)."""

    VALUE: Final = "value"
    ESTIMATED: Final = "estimated"
    COMPLETENESS: Final = "completeness"
    ANOMALIES: Final = "anomalies"
    EXCLUDED: Final = "excluded"
    N_READINGS: Final = "n_readings"
    METERS: Final = "meters"


# ------------------------------------------------------------------ the layout of each measurement

@dataclass(frozen=True, slots=True)
class Layout:
    """Tags and fields of one measurement. `fields` None: any field (raw quantities, per-writer cursors…)
    checked by `field_ok`."""

    name: str
    tags: frozenset[str]
    fields: frozenset[str] | None

    def field_ok(self, key: str) -> bool:
        """True when `key` is a field this measurement may carry."""
        if self.fields is not None:
            return key in self.fields
        if self.name == READING:
            return key in QUANTITIES
        if self.name == READING_HOURLY:
            gauge, _, stat = key.rpartition("_")
            return gauge in QUANTITIES and stat in ("mean", "min", "max", "count")
        return True  # ingest_mark, rollup_cursor: one field per writer / scope (epoch ns)


def _layout(name: str, tags: tuple[str, ...], fields: tuple[str, ...] | None) -> Layout:
    return Layout(name, frozenset(tags), None if fields is None else frozenset(fields))


_ROLLUP_METER: Final = (Field.VALUE, Field.ESTIMATED, Field.COMPLETENESS, Field.ANOMALIES, Field.EXCLUDED,
                        Field.N_READINGS)
_ROLLUP_TOTAL: Final = (Field.VALUE, Field.ESTIMATED, Field.COMPLETENESS, Field.METERS)

SCHEMA: Final[dict[str, Layout]] = {
    m.name: m
    for m in (
        _layout(READING, (Tag.ENTERPRISE, Tag.GATEWAY, Tag.METER), None),
        _layout(INGEST_MARK, (Tag.WRITER,), None),
        _layout(ROLLUP_CURSOR, (Tag.SCOPE,), None),
        _layout(READING_HOURLY, (Tag.ENTERPRISE, Tag.GATEWAY, Tag.METER), None),
        _layout(CONSUMPTION_HOURLY, (Tag.ENTERPRISE, Tag.METER, Tag.QUANTITY), _ROLLUP_METER),
        _layout(CONSUMPTION_DAILY, (Tag.ENTERPRISE, Tag.METER, Tag.QUANTITY), _ROLLUP_METER),
        _layout(ENTERPRISE_DAILY, (Tag.ENTERPRISE, Tag.CARRIER), _ROLLUP_TOTAL),
        _layout(ENTERPRISE_MONTHLY, (Tag.ENTERPRISE, Tag.CARRIER), _ROLLUP_TOTAL),
        _layout(PRODUCT_DAILY, (Tag.ENTERPRISE, Tag.PRODUCT, Tag.CARRIER), _ROLLUP_TOTAL),
        _layout(WEATHER, (Tag.COUNTY,), ("temp_c", "station")),
        _layout(ENTERPRISE_INFO, (Tag.ENTERPRISE, Tag.COUNTY, Tag.INDUSTRY), ("name", "product")),
        _layout(ENTERPRISE_ANALYSIS, (Tag.ENTERPRISE, Tag.PERIOD), (
            "tce", "co2_t", "scope1_t", "scope2_t", "green_share", "output_t", "intensity_kgce_per_t",
            "grade1_kgce_per_t", "grade2_kgce_per_t", "quota_limit_kgce_per_t", "quota_grade", "over_quota",
            "excess_pct", "gap_per_unit_kgce", "gap_tce", Field.COMPLETENESS)),
        _layout(ACTIVITY_INDEX, (Tag.BY, Tag.GROUP), (
            "activity_index", "enterprises", Field.EXCLUDED, "current_tce_per_day", "reference_tce_per_day")),
        _layout(ENTERPRISE_TOU_DAILY, (Tag.ENTERPRISE, Tag.PERIOD), ("kwh",)),
        _layout(FINDING, (Tag.ENTERPRISE, Tag.CODE), (
            "present", "severity", "savings_kwh", "savings_tce", "savings_cny", "savings_co2_t", "title_zh")),
        _layout(COLLECTOR_STATS, (Tag.COLLECTOR,), (
            "received", "stored", "deadlettered", "spooled", "replayed", "batches_written", "spool_depth",
            "spool_bytes", "backpressure", "stored_per_s", "received_per_s", "write_seconds_mean")),
        _layout(DEADLETTER_COUNT, (Tag.COLLECTOR, Tag.REASON, Tag.ENTERPRISE), ("count",)),
        _layout(GATEWAY_STATUS, (Tag.ENTERPRISE, Tag.GATEWAY), ("online",)),
        _layout(SAFETY_ALARM, (Tag.ENTERPRISE, Tag.METER, Tag.RULE, Tag.SEVERITY), (
            "state", "open", "peak", "value", "threshold", "start_s", "end_s", "alarm_id")),
        _layout(SCHEDULER_JOB, (Tag.JOB, Tag.REPLICA), ("duration_s", "ok", "exit_code", "error")),
        _layout(ORDERLY_PLAN, (Tag.ENTERPRISE,), (
            "action", "reduce_kw", "shift_kw", "curtail_kw", "expected_kw", "security_kw", "hours")),
        _layout(ORDERLY_COMPLIANCE, (Tag.ENTERPRISE,), (
            "status", "action", "planned_kw", "baseline_kw", "actual_kw", "delivered_kw", "ratio", "hours")),
    )
}
"""Every measurement the platform writes, with its tags and fields (docs/schema.md)."""


__all__ = [
    "ACTIVITY_INDEX", "COLLECTOR_STATS", "CONSUMPTION_DAILY", "CONSUMPTION_HOURLY", "DEADLETTER_COUNT",
    "ENTERPRISE_ANALYSIS", "ENTERPRISE_DAILY", "ENTERPRISE_INFO", "ENTERPRISE_MONTHLY", "ENTERPRISE_TOU_DAILY",
    "FINDING", "GATEWAY_STATUS", "INGEST_MARK", "ORDERLY_COMPLIANCE", "ORDERLY_PLAN", "PRODUCT_DAILY", "READING",
    "READING_HOURLY", "ROLLUP_CURSOR", "SAFETY_ALARM", "SCHEDULER_JOB", "SCHEMA", "WEATHER", "Field", "Layout",
    "Tag",
]
