"""企业能耗详情 Enterprise detail: power, carriers, hourly load, TOU split, pf, quota, carbon, completeness, findings.
"""

from __future__ import annotations

from core.measurements import (
    CONSUMPTION_DAILY,
    CONSUMPTION_HOURLY,
    ENTERPRISE_ANALYSIS,
    ENTERPRISE_DAILY,
    ENTERPRISE_TOU_DAILY,
    FINDING,
    PRODUCT_DAILY,
    SAFETY_ALARM,
)
from dashboards.common import (
    DASHBOARD_LINKS,
    DAY_BUCKET,
    ENTERPRISE_DASHBOARD_UID,
    ENTERPRISE_MATCH,
    RAW_READING,
    RAW_RP,
    variables,
)
from dashboards.model import Dashboard, Expect, Panel, Target

UID = ENTERPRISE_DASHBOARD_UID

_LINE = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10, "spanNulls": False}
_BARS = {"drawStyle": "bars", "fillOpacity": 60, "stacking": {"mode": "none", "group": "A"}}


def _analysis_panels() -> tuple[Panel, ...]:
    """Time-of-use split, unit-product intensity against the quota grades, carbon, diagnosis findings
    (enterprise_analysis, enterprise_tou_daily and finding, written by analytics/publish_job.py)."""
    return (
        Panel("timeseries", "分时用电（逐日）", "Electricity per local day in each Shanxi time-of-use period "
              "(critical_peak 尖峰, peak 峰, flat 平, valley 谷, deep_valley 深谷), kWh, from the hourly rollups "
              "(enterprise_tou_daily; main meters only).",
              (Target(f'SELECT sum("kwh") AS "kwh" FROM "{ENTERPRISE_TOU_DAILY}" '
                      f'WHERE {ENTERPRISE_MATCH} AND $timeFilter GROUP BY {DAY_BUCKET}, "period" fill(none)',
                      Expect(("kwh",), ("period",), min_series=3), alias="$tag_period"),),
              (0, 32, 12, 8), unit="kwatth",
              custom={"drawStyle": "bars", "fillOpacity": 70, "stacking": {"mode": "normal", "group": "A"}}),
        Panel("piechart", "分时用电占比", "Share of the time range's electricity in each time-of-use period "
              "(enterprise_tou_daily): what moving load out of the peak hours can save.",
              (Target(f'SELECT sum("kwh") AS "kwh" FROM "{ENTERPRISE_TOU_DAILY}" '
                      f'WHERE {ENTERPRISE_MATCH} AND $timeFilter GROUP BY "period"',
                      Expect(("kwh",), ("period",), min_series=3), alias="$tag_period"),),
              (12, 32, 6, 8), unit="kwatth",
              options={"reduceOptions": {"calcs": ["sum"], "fields": "", "values": False},
                       "pieType": "donut", "displayLabels": ["percent"],
                       "legend": {"showLegend": True, "displayMode": "table", "placement": "right",
                                  "values": ["percent"]}}),
        Panel("stat", "本月定额等级", "This month's unit-product energy consumption (kgce/t) and the quota grade "
              "met: 1-3 = grade of the quota standard, 4 = above the limit (over quota), 0 = not applicable "
              "(no quota product or no output). enterprise_analysis, period month.",
              (Target('SELECT last("intensity_kgce_per_t") AS "单位产品能耗", last("quota_grade") AS "定额等级" '
                      f"FROM \"{ENTERPRISE_ANALYSIS}\" WHERE \"period\" = 'month' AND "
                      f"{ENTERPRISE_MATCH} AND $timeFilter",
                      Expect(("单位产品能耗", "定额等级"))),),
              (18, 32, 6, 8), time_from="now/M", decimals=1,
              options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                       "colorMode": "value", "graphMode": "none", "textMode": "value_and_name"}),
        Panel("timeseries", "单位产品能耗与定额等级（逐日）", "Unit-product energy consumption per local day "
              "(kgce/t, the product's process boundary) against the quota standard's grade 1, grade 2 and limit "
              "(grade 3) in force that day (enterprise_analysis, period day).",
              (Target('SELECT mean("intensity_kgce_per_t") AS "单位产品能耗", mean("grade1_kgce_per_t") AS "1级", '
                      'mean("grade2_kgce_per_t") AS "2级", mean("quota_limit_kgce_per_t") AS "限定值（3级）" '
                      f"FROM \"{ENTERPRISE_ANALYSIS}\" WHERE \"period\" = 'day' AND "
                      f"{ENTERPRISE_MATCH} AND $timeFilter GROUP BY {DAY_BUCKET} fill(none)",
                      Expect(("单位产品能耗", "1级", "2级", "限定值（3级）"))),),
              (0, 40, 12, 8), unit="none", decimals=1, custom=_LINE),
        Panel("timeseries", "碳排放（逐日）", "CO2 per local day, t: scope 1 (fuels burnt on site) and scope 2 "
              "(purchased electricity and heat), from enterprise_analysis (period day).",
              (Target(f'SELECT sum("scope1_t") AS "范围一", sum("scope2_t") AS "范围二" FROM "{ENTERPRISE_ANALYSIS}" '
                      f"WHERE \"period\" = 'day' AND {ENTERPRISE_MATCH} AND $timeFilter "
                      f"GROUP BY {DAY_BUCKET} fill(none)",
                      Expect(("范围一", "范围二"))),),
              (12, 40, 12, 8), unit="none", decimals=2,
              custom={"drawStyle": "bars", "fillOpacity": 60, "stacking": {"mode": "normal", "group": "A"}}),
        Panel("table", "诊断发现 Findings", "This month's energy-saving diagnosis findings (month to date; finding, "
              "written by the publish job from analytics/diagnosis): code, title, severity (1 low, 2 medium, "
              "3 high) and the estimated savings in kWh, tce, CNY (assumed prices) and t CO2.",
              (Target('SELECT "title_zh", "severity", "savings_kwh", "savings_tce", "savings_cny", "savings_co2_t" '
                      f'FROM "{FINDING}" WHERE {ENTERPRISE_MATCH} AND "present" = 1 AND $timeFilter GROUP BY "code"',
                      Expect(("title_zh", "severity", "savings_kwh", "savings_tce", "savings_cny", "savings_co2_t"),
                             ("code",)),
                      result_format="table"),),
              (0, 48, 24, 8), time_from="now/M", decimals=2,
              transformations=({"id": "organize", "options": {
                  "excludeByName": {"Time": True},
                  "renameByName": {"code": "代码 code", "title_zh": "发现", "severity": "严重程度",
                                   "savings_kwh": "节电 kWh", "savings_tce": "节能 tce", "savings_cny": "节约 元",
                                   "savings_co2_t": "减碳 tCO2"}}},),
              options={"sortBy": [{"displayName": "节约 元", "desc": True}], "showHeader": True}),
    )


def dashboard() -> Dashboard:
    """One enterprise (single-value `$enterprise`), for the diagnosis institution."""
    panels = (
        Panel("timeseries", "实时功率", "Active power per meter (mean per interval), kW, from raw readings.",
              (Target(f'SELECT mean("power_kw") AS "power_kw" FROM {RAW_READING} WHERE {ENTERPRISE_MATCH} '
                      'AND $timeFilter GROUP BY time($__interval), "meter" fill(none)',
                      Expect(("power_kw",), ("meter",)), alias="$tag_meter"),),
              (0, 0, 12, 8), unit="kwatt", time_from="24h", interval="1m", custom=_LINE),
        Panel("timeseries", "分品种能源消费（逐日）", "Consumption per carrier per local day (enterprise_daily; "
              "units per carrier: kWh, m3, t, GJ). Output and reactive energy are shown in other panels.",
              (Target(f'SELECT sum("value") AS "value" FROM "{ENTERPRISE_DAILY}" WHERE {ENTERPRISE_MATCH} '
                      "AND \"carrier\" !~ /^(output|reactive|electricity_export|pv)$/ AND $timeFilter "
                      f'GROUP BY {DAY_BUCKET}, "carrier" fill(none)',
                      Expect(("value",), ("carrier",)), alias="$tag_carrier"),),
              (12, 0, 12, 8), custom=_BARS),
        Panel("timeseries", "逐时用电（分时电价基础）", "Electricity per clock hour and meter (consumption_hourly, "
              "kWh): the load curve behind the time-of-use split. Sub-meters are part of their main meter; "
              "do not stack. The peak/flat/valley split itself needs a measurement (docs/dashboards.md).",
              (Target(f'SELECT sum("value") AS "kwh" FROM "{CONSUMPTION_HOURLY}" '
                      f"WHERE {ENTERPRISE_MATCH} AND \"quantity\" = 'energy_kwh' AND $timeFilter "
                      'GROUP BY time(1h), "meter" fill(none)',
                      Expect(("kwh",), ("meter",)), alias="$tag_meter"),),
              (0, 8, 12, 8), unit="kwatth", custom=_BARS),
        Panel("timeseries", "功率因数", "Power factor per meter (mean per interval); the red line is the 0.90 "
              "standard below which the tariff adds a penalty.",
              (Target(f'SELECT mean("pf") AS "pf" FROM {RAW_READING} WHERE {ENTERPRISE_MATCH} AND $timeFilter '
                      'GROUP BY time($__interval), "meter" fill(none)',
                      Expect(("pf",), ("meter",)), alias="$tag_meter"),),
              (12, 8, 12, 8), unit="none", decimals=2, interval="5m",
              thresholds=((None, "red"), (0.9, "green")),
              custom={**_LINE, "thresholdsStyle": {"mode": "line"}}),
        Panel("timeseries", "产品用能与产量（逐日）", "Per local day: electricity of the product's process meters "
              "(product_daily, kWh) and the product output (enterprise_daily carrier output, t): the two "
              "terms of the unit-product energy consumption.",
              (Target(f'SELECT sum("value") AS "kwh" FROM "{PRODUCT_DAILY}" '
                      f"WHERE {ENTERPRISE_MATCH} AND \"carrier\" = 'electricity' AND $timeFilter "
                      f'GROUP BY {DAY_BUCKET}, "product" fill(none)',
                      Expect(("kwh",), ("product",)), alias="$tag_product 用电 kWh"),
               Target(f'SELECT sum("value") AS "t" FROM "{ENTERPRISE_DAILY}" '
                      f"WHERE {ENTERPRISE_MATCH} AND \"carrier\" = 'output' AND $timeFilter "
                      f"GROUP BY {DAY_BUCKET} fill(none)",
                      Expect(("t",)), ref_id="B", alias="产量 t")),
              (0, 16, 12, 8), custom=_BARS),
        Panel("timeseries", "数据完整率（逐日）", "Share of each local day covered by measured intervals, per "
              "carrier (enterprise_daily completeness, 0..1).",
              (Target(f'SELECT mean("completeness") AS "completeness" FROM "{ENTERPRISE_DAILY}" '
                      f"WHERE {ENTERPRISE_MATCH} AND $timeFilter GROUP BY {DAY_BUCKET}, \"carrier\" fill(none)",
                      Expect(("completeness",), ("carrier",)), alias="$tag_carrier"),),
              (12, 16, 12, 8), unit="percentunit", decimals=1,
              thresholds=((None, "red"), (0.8, "orange"), (0.95, "green")), custom=_LINE),
        Panel("table", "计量点数据完整率", "Completeness per meter and counter over the time range: Σ day "
              "completeness (consumption_daily) / days of the range, a day without data counting 0; with estimated "
              "consumption and flagged anomalies.",
              (Target('SELECT sum("completeness") * 86400000 / ($__to - $__from) AS "completeness", '
                      'sum("estimated") AS "estimated", '
                      f'sum("anomalies") AS "anomalies" FROM "{CONSUMPTION_DAILY}" '
                      f'WHERE {ENTERPRISE_MATCH} AND $timeFilter GROUP BY "meter", "quantity"',
                      Expect(("completeness", "estimated", "anomalies"), ("meter", "quantity")),
                      result_format="table"),),
              (0, 24, 12, 8), decimals=3),
        Panel("table", "安全用电告警", "Electrical-safety alarm events in the time range (safety_alarm, "
              "docs/safety.md): state, value, threshold and peak per meter and rule.",
              (Target(f'SELECT "state", "value", "threshold", "peak" FROM "{SAFETY_ALARM}" '
                      f'WHERE {ENTERPRISE_MATCH} AND $timeFilter GROUP BY "meter", "rule", "severity"',
                      Expect(("state", "value", "threshold", "peak"), ("meter", "rule", "severity")),
                      result_format="table"),),
              (12, 24, 12, 8)),
        *_analysis_panels(),
    )
    return Dashboard(
        uid=UID,
        title="企业能耗详情",
        description="One enterprise for the diagnosis institution: live power, consumption by carrier, hourly "
                    "load, power factor, product energy and output, data completeness, safety alarms.",
        panels=panels,
        variables=variables(multi_enterprise=False),
        hidden=(RAW_RP,),
        time_from="now-30d",
        links=(DASHBOARD_LINKS,),
    )
