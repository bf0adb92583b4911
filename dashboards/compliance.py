"""定额与碳排放合规 Quota and carbon compliance across the city.

The quota terms and data quality come from the rollups; quota grades, tce and CO2 per enterprise from
`enterprise_analysis` (analytics/publish_job.py, docs/schema.md).
"""

from __future__ import annotations

from core.measurements import ENTERPRISE_ANALYSIS, ENTERPRISE_DAILY, PRODUCT_DAILY, SAFETY_ALARM
from dashboards.common import (
    DASHBOARD_LINKS,
    DAY_BUCKET,
    ENTERPRISE_INFO,
    ENTERPRISE_MATCH,
    JOIN_ON_ENTERPRISE,
    enterprise_link,
    info_target,
    over_quota_panel,
    variables,
)
from dashboards.model import Dashboard, Expect, Link, Panel, Target

UID = "enerdiag-compliance"


def dashboard() -> Dashboard:
    """What a compliance check can already use: the terms of the unit-product quota and data quality."""
    info = Target(f'SELECT last("name") AS "name" FROM "{ENTERPRISE_INFO}" WHERE {ENTERPRISE_MATCH} AND $timeFilter '
                  'GROUP BY "enterprise", "county", "industry"',
                  Expect(("name",), ("enterprise", "county", "industry")), ref_id="Z", result_format="table")
    join = {"id": "joinByField", "options": {"byField": "enterprise", "mode": "outer"}}
    panels = (
        Panel("table", "产品用能与产量（按企业）", "Per enterprise and product over the time range: electricity "
              "of the product's process meters (product_daily, kWh) and the enterprise's output (t). Their "
              "ratio, converted to kgce/t, is what the quota standard grades.",
              (Target(f'SELECT sum("value") AS "process_kwh" FROM "{PRODUCT_DAILY}" '
                      f"WHERE \"carrier\" = 'electricity' AND {ENTERPRISE_MATCH} AND $timeFilter "
                      'GROUP BY "enterprise", "product"',
                      Expect(("process_kwh",), ("enterprise", "product")), result_format="table"),
               Target(f'SELECT sum("value") AS "output_t" FROM "{ENTERPRISE_DAILY}" '
                      f"WHERE \"carrier\" = 'output' AND {ENTERPRISE_MATCH} AND $timeFilter GROUP BY \"enterprise\"",
                      Expect(("output_t",), ("enterprise",)), ref_id="B", result_format="table"),
               info),
              (0, 0, 14, 10), decimals=1, transformations=(join,),
              links=(Link("企业详情 Enterprise detail", enterprise_link()),)),
        Panel("table", "数据完整率（按企业，最低在前）", "Completeness of each enterprise's electricity over the "
              "time range: Σ day completeness (enterprise_daily) / days of the range, a day without data counting 0 "
              "(missing is never full); figures built on incomplete data are weak evidence.",
              (Target('SELECT sum("completeness") * 86400000 / ($__to - $__from) AS "completeness" '
                      f'FROM "{ENTERPRISE_DAILY}" '
                      f"WHERE \"carrier\" = 'electricity' AND {ENTERPRISE_MATCH} AND $timeFilter "
                      'GROUP BY "enterprise"',
                      Expect(("completeness",), ("enterprise",)), result_format="table"),
               info),
              (14, 0, 10, 10), unit="percentunit", decimals=1, transformations=(join,),
              thresholds=((None, "red"), (0.8, "orange"), (0.95, "green")),
              options={"sortBy": [{"displayName": "completeness", "desc": False}], "showHeader": True},
              links=(Link("企业详情 Enterprise detail", enterprise_link()),)),
        Panel("timeseries", "全市产量与用电（逐日）", "Electricity (kWh) and product output (t) per local day over "
              "the selected enterprises: the city-level trend behind unit-product intensity.",
              (Target(f'SELECT sum("value") AS "kwh" FROM "{ENTERPRISE_DAILY}" '
                      f"WHERE \"carrier\" = 'electricity' AND {ENTERPRISE_MATCH} AND $timeFilter "
                      f"GROUP BY {DAY_BUCKET} fill(none)", Expect(("kwh",)), alias="用电 kWh"),
               Target(f'SELECT sum("value") AS "t" FROM "{ENTERPRISE_DAILY}" '
                      f"WHERE \"carrier\" = 'output' AND {ENTERPRISE_MATCH} AND $timeFilter "
                      f"GROUP BY {DAY_BUCKET} fill(none)", Expect(("t",)), ref_id="B", alias="产量 t")),
              (0, 10, 14, 8), custom={"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10}),
        Panel("timeseries", "安全告警（逐日新增，按级别）", "Electrical-safety alarms opened per local day and "
              "severity (safety_alarm).",
              (Target(f'SELECT count("state") AS "opened" FROM "{SAFETY_ALARM}" '
                      f"WHERE \"state\" = 'open' AND {ENTERPRISE_MATCH} AND $timeFilter "
                      f'GROUP BY {DAY_BUCKET}, "severity" fill(none)',
                      Expect(("opened",), ("severity",)), alias="$tag_severity"),),
              (14, 10, 10, 8), unit="none", custom={"drawStyle": "bars", "fillOpacity": 60}),
        over_quota_panel((0, 18, 24, 9)),
        Panel("table", "综合能耗与碳排放（按企业）", "Per enterprise over the time range (sum of its local days, "
              "enterprise_analysis period day): comprehensive energy consumption (tce), CO2 (t) with scope 1 "
              "and scope 2, and the weakest energy-carrier completeness of any day.",
              (Target('SELECT sum("tce") AS "tce", sum("co2_t") AS "co2_t", sum("scope1_t") AS "scope1_t", '
                      'sum("scope2_t") AS "scope2_t", min("completeness") AS "completeness" '
                      f"FROM \"{ENTERPRISE_ANALYSIS}\" WHERE \"period\" = 'day' AND "
                      f'{ENTERPRISE_MATCH} AND $timeFilter GROUP BY "enterprise"',
                      Expect(("tce", "co2_t", "scope1_t", "scope2_t", "completeness"), ("enterprise",)),
                      result_format="table"),
               info_target("B")),
              (0, 27, 14, 10), decimals=2, transformations=(JOIN_ON_ENTERPRISE,),
              options={"sortBy": [{"displayName": "tce", "desc": True}], "showHeader": True},
              links=(Link("企业详情 Enterprise detail", enterprise_link()),)),
        Panel("table", "本月定额等级（按企业）", "This month per enterprise: unit-product energy consumption "
              "(kgce/t), the quota limit, the grade met (1-3; 4 = over quota; 0 = not applicable) and output "
              "(enterprise_analysis, period month).",
              (Target('SELECT last("quota_grade") AS "quota_grade", last("intensity_kgce_per_t") AS "intensity", '
                      'last("quota_limit_kgce_per_t") AS "limit", last("output_t") AS "output_t" '
                      f"FROM \"{ENTERPRISE_ANALYSIS}\" WHERE \"period\" = 'month' AND "
                      f'{ENTERPRISE_MATCH} AND $timeFilter GROUP BY "enterprise"',
                      Expect(("quota_grade", "intensity", "limit", "output_t"), ("enterprise",)),
                      result_format="table"),
               info_target("B")),
              (14, 27, 10, 10), decimals=1, time_from="now/M", transformations=(JOIN_ON_ENTERPRISE,),
              thresholds=((None, "green"), (4, "red")),
              options={"sortBy": [{"displayName": "quota_grade", "desc": True}], "showHeader": True},
              links=(Link("企业详情 Enterprise detail", enterprise_link()),)),
    )
    return Dashboard(
        uid=UID,
        title="定额与碳排放合规",
        description="Quota and carbon compliance across the city: the terms of the unit-product quota "
                    "(process energy and output), data quality, over-quota enterprises, quota grades, tce and CO2.",
        panels=panels,
        variables=variables(),
        time_from="now-30d",
        links=(DASHBOARD_LINKS,),
    )
