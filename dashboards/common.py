"""Pieces every dashboard shares: the county → industry → enterprise variables, filters, liveness queries.

County and industry are not tags of the energy measurements (docs/schema.md), so they are filtered
through `enterprise_info` (tags county, industry, enterprise; see docs/dashboards.md): the variables
chain county → industry → enterprise, and every panel filters on `$enterprise` only.
"""

from __future__ import annotations

from core.domain import QUANTITIES
from core.measurements import ENTERPRISE_ANALYSIS, ENTERPRISE_INFO, READING
from dashboards.model import Expect, Link, Panel, RetentionVariable, Target, Variable

ENTERPRISE_DASHBOARD_UID = "enerdiag-enterprise"

# Every panel filters on the (multi-value) enterprise variable with the regex form Grafana documents
# for InfluxQL multi-value variables: it expands to (code1|code2|…), regex-escaped.
ENTERPRISE_MATCH = '"enterprise" =~ /^$enterprise$/'


RAW_RP_NAME = "raw"
"""The retention policy name the dashboards look for raw readings in (settings influx_raw_rp, docs/operations.md)."""

RAW_RP = RetentionVariable(
    name="raw_rp",
    regex=f"/^({RAW_RP_NAME}|autogen)$/",
    description=f"Retention policy of the raw readings: {RAW_RP_NAME} when the database has it "
                "(ENERDIAG_INFLUX_RAW_RP), else autogen (the default policy; InfluxDB 2.x maps autogen too).",
)

RAW_READING = f'"${RAW_RP.name}"."{READING}"'
"""FROM target of raw readings in panel queries: works with and without a separate raw retention policy."""


def variables(multi_enterprise: bool = True) -> tuple[Variable, ...]:
    """county → industry → enterprise, each narrowing the next (`enterprise_info` tag values)."""
    return (
        Variable(
            name="county",
            label="区县",
            query=f'SHOW TAG VALUES FROM "{ENTERPRISE_INFO}" WITH KEY = "county"',
            description="County / district of the enterprise (registry, via enterprise_info).",
            all_value=".*",
        ),
        Variable(
            name="industry",
            label="行业",
            query=(f'SHOW TAG VALUES FROM "{ENTERPRISE_INFO}" WITH KEY = "industry" '
                   'WHERE "county" =~ /^$county$/'),
            description="GB/T 4754-2017 industry class code (registry, via enterprise_info).",
            all_value=".*",
        ),
        Variable(
            name="enterprise",
            label="企业",
            query=(f'SHOW TAG VALUES FROM "{ENTERPRISE_INFO}" WITH KEY = "enterprise" '
                   'WHERE "county" =~ /^$county$/ AND "industry" =~ /^$industry$/'),
            description="Unified social credit code. 'All' expands to the enterprises of the chosen county "
                        "and industry (no custom all value, so the county/industry filter holds).",
            multi=multi_enterprise,
            include_all=multi_enterprise,
        ),
    )


def any_reading_count() -> str:
    """InfluxQL expression: readings of any quantity in a GROUP BY time() bucket (needs fill(0)).

    `count(*)` gives one column per quantity and null + number is null, so the quantities are added
    one by one and fill(0) turns the missing ones into 0.
    """
    return " + ".join(f'count("{key}")' for key in QUANTITIES)


def reporting_count(per: tuple[str, ...], window: str = "15m") -> str:
    """How many distinct `per` tag combinations (enterprises, gateways) sent any reading in the last `window`."""
    group = ", ".join(f'"{t}"' for t in per)
    return (
        'SELECT count("m") AS "reporting" FROM ('
        f'SELECT max("n") AS "m" FROM ('
        f'SELECT {any_reading_count()} AS "n" FROM {RAW_READING} '
        f"WHERE {ENTERPRISE_MATCH} AND time >= now() - {window} AND time <= now() "
        f"GROUP BY time(5m), {group} fill(0)"
        f") GROUP BY {group}"
        ') WHERE "m" > 0'
    )


def enterprise_link(column: str = "enterprise") -> str:
    """URL of the enterprise dashboard for the code in `column` of the clicked row, keeping the time range."""
    return f"/d/{ENTERPRISE_DASHBOARD_UID}/?var-enterprise=${{__data.fields.{column}}}&${{__url_time_range}}"


# Local days start at 16:00 UTC in Asia/Shanghai: daily buckets use this offset so a day's point
# (stored at local midnight) lands in its own bucket, labelled with its own date.
DAY_BUCKET = "time(1d, 16h)"

# A drop-down of every enerdiag dashboard, keeping the time range and the variables.
DASHBOARD_LINKS: dict[str, object] = {
    "title": "能耗监测看板",
    "type": "dashboards",
    "tags": ["enerdiag"],
    "asDropdown": True,
    "icon": "external link",
    "tooltip": "",
    "url": "",
    "targetBlank": False,
    "includeVars": True,
    "keepTime": True,
}


def info_target(ref_id: str) -> Target:
    """Registry name, county and industry per enterprise (for a `joinByField` on `enterprise`)."""
    return Target(f'SELECT last("name") AS "name" FROM "{ENTERPRISE_INFO}" WHERE {ENTERPRISE_MATCH} AND $timeFilter '
                  'GROUP BY "enterprise", "county", "industry"',
                  Expect(("name",), ("enterprise", "county", "industry")), ref_id=ref_id, result_format="table")


JOIN_ON_ENTERPRISE: dict[str, object] = {"id": "joinByField", "options": {"byField": "enterprise", "mode": "outer"}}


def over_quota_panel(grid: tuple[int, int, int, int]) -> Panel:
    """This month's over-quota enterprises, worst first (excess over the limit relative to it), linking to
    the enterprise dashboard (enterprise_analysis, period month; docs/schema.md)."""
    return Panel(
        "table", "本月超定额企业（超出最多在前）",
        "Enterprises whose unit-product energy consumption this month is above the quota standard's limit "
        "(grade 3), worst first by excess over the limit (%); gap in tce for the month. Click a row to open "
        "the enterprise dashboard.",
        (Target('SELECT "excess_pct", "intensity_kgce_per_t" AS "intensity", "quota_limit_kgce_per_t" AS "limit", '
                f'"gap_tce" FROM "{ENTERPRISE_ANALYSIS}" '
                f"WHERE \"period\" = 'month' AND \"over_quota\" = 1 AND {ENTERPRISE_MATCH} AND $timeFilter "
                'GROUP BY "enterprise"',
                Expect(("excess_pct", "intensity", "limit", "gap_tce"), ("enterprise",)), result_format="table"),
         info_target("B")),
        grid, decimals=1, time_from="now/M",
        transformations=(
            JOIN_ON_ENTERPRISE,
            {"id": "filterByValue", "options": {"type": "include", "match": "any", "filters": [
                {"fieldName": "excess_pct", "config": {"id": "isNotNull", "options": {}}}]}},
            {"id": "organize", "options": {"excludeByName": {"Time": True, "Time 1": True, "Time 2": True,
                                                             "county": True, "industry": True},
                                           "renameByName": {"name": "企业名称", "excess_pct": "超出限定值 %",
                                                            "intensity": "单位产品能耗 kgce/t",
                                                            "limit": "限定值 kgce/t", "gap_tce": "超出 tce"}}},
        ),
        options={"sortBy": [{"displayName": "超出限定值 %", "desc": True}], "showHeader": True},
        links=(Link("企业详情 Enterprise detail", enterprise_link()),),
    )
