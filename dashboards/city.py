"""全市能耗总览 City overview: plants online, today's and this month's energy, breakdowns, rankings."""

from __future__ import annotations

from core.measurements import (
    ACTIVITY_INDEX,
    ENTERPRISE_ANALYSIS,
    ENTERPRISE_DAILY,
    ENTERPRISE_MONTHLY,
    FINDING,
    SAFETY_ALARM,
)
from dashboards.common import (
    DASHBOARD_LINKS,
    DAY_BUCKET,
    ENTERPRISE_INFO,
    ENTERPRISE_MATCH,
    RAW_RP,
    enterprise_link,
    over_quota_panel,
    reporting_count,
    variables,
)
from dashboards.model import Dashboard, Expect, Link, Panel, Target

UID = "enerdiag-city"

_ELEC_MONTH = Target(
    f'SELECT sum("value") AS "kwh" FROM "{ENTERPRISE_MONTHLY}" '
    f"WHERE \"carrier\" = 'electricity' AND {ENTERPRISE_MATCH} AND $timeFilter GROUP BY \"enterprise\"",
    Expect(("kwh",), ("enterprise",)),
    ref_id="A",
    result_format="table",
)
_INFO = Target(
    f'SELECT last("name") AS "name" FROM "{ENTERPRISE_INFO}" WHERE {ENTERPRISE_MATCH} AND $timeFilter '
    'GROUP BY "enterprise", "county", "industry"',
    Expect(("name",), ("enterprise", "county", "industry")),
    ref_id="B",
    result_format="table",
)


def _breakdown(by: str, label: str, x: int) -> Panel:
    """This month's electricity summed per registry attribute (`county` or `industry`), joined in Grafana."""
    return Panel(
        "barchart",
        f"本月用电量（按{label}）",
        f"This month's electricity (kWh) per {by}: enterprise_monthly per enterprise joined with "
        f"enterprise_info on the enterprise code, then summed per {by} (Grafana transformations).",
        (_ELEC_MONTH, _INFO),
        (x, 13, 8, 9),
        unit="kwatth",
        time_from="now/M",
        transformations=(
            {"id": "joinByField", "options": {"byField": "enterprise", "mode": "outer"}},
            {"id": "groupBy", "options": {"fields": {
                by: {"aggregations": [], "operation": "groupby"},
                "kwh": {"aggregations": ["sum"], "operation": "aggregate"},
            }}},
        ),
        options={"xField": by, "orientation": "horizontal", "showValue": "auto",
                 "legend": {"showLegend": False, "displayMode": "list", "placement": "bottom", "calcs": []}},
    )


def _analysis_stats(stat: dict[str, object]) -> tuple[Panel, ...]:
    """tce today and this month, CO2 this month, enterprises over quota this month (enterprise_analysis)."""
    def analysis_sum(field: str, alias: str, period: str) -> Target:
        return Target(f'SELECT sum("{field}") AS "{alias}" FROM "{ENTERPRISE_ANALYSIS}" '
                      f"WHERE \"period\" = '{period}' AND {ENTERPRISE_MATCH} AND $timeFilter", Expect((alias,)))

    return (
        Panel("stat", "今日综合能耗", "Comprehensive energy consumption today (local day so far), tce (GB/T 2589, "
              "equivalent value), from enterprise_analysis (period day).",
              (analysis_sum("tce", "tce", "day"),), (0, 22, 6, 5), unit="none", decimals=2, time_from="now/d",
              options=stat),
        Panel("stat", "本月综合能耗", "Comprehensive energy consumption this month so far, tce, from "
              "enterprise_analysis (period month).",
              (analysis_sum("tce", "tce", "month"),), (6, 22, 6, 5), unit="none", decimals=1, time_from="now/M",
              options=stat),
        Panel("stat", "本月碳排放", "CO2 emissions this month so far, t (scope 1 + scope 2), from "
              "enterprise_analysis (period month).",
              (analysis_sum("co2_t", "co2_t", "month"),), (12, 22, 6, 5), unit="none", decimals=1,
              time_from="now/M", options=stat),
        Panel("stat", "本月超定额企业", "Enterprises above the unit-product quota limit this month "
              "(enterprise_analysis over_quota, period month).",
              (analysis_sum("over_quota", "over_quota", "month"),), (18, 22, 6, 5), unit="none",
              time_from="now/M", options=stat, thresholds=((None, "green"), (1, "red"))),
    )


def _activity_panels(stat: dict[str, object]) -> tuple[Panel, ...]:
    """Operation index: tce per day over 7 local days against the 28 days before (activity_index)."""
    def per_group(by: str, label: str, x: int) -> Panel:
        return Panel(
            "timeseries", f"运行指数（按{label}）",
            f"Operation index per {by} and day: 100 × energy use (tce/day) of the 7 days ending that day over the "
            "28 days before, summed over the enterprises with ≥ 90 % data in both windows (activity_index).",
            (Target(f'SELECT mean("activity_index") AS "activity_index" FROM "{ACTIVITY_INDEX}" '
                    f"WHERE \"by\" = '{by}' AND \"group\" =~ /^${by}$/ AND $timeFilter "
                    f'GROUP BY {DAY_BUCKET}, "group" fill(none)',
                    Expect(("activity_index",), ("group",)), alias="$tag_group"),),
            (x, 36, 10, 8), unit="none", decimals=1,
            custom={"drawStyle": "line", "lineWidth": 1, "fillOpacity": 0, "thresholdsStyle": {"mode": "line"}},
            thresholds=((None, "orange"), (90, "green"), (110, "orange")))

    return (
        Panel("stat", "全市运行指数", "City operation index of the latest day: 100 × tce/day of the last 7 days over "
              "the 28 days before (activity_index, by city; 100 = as busy as the previous four weeks).",
              (Target(f'SELECT last("activity_index") AS "activity_index" FROM "{ACTIVITY_INDEX}" '
                      "WHERE \"by\" = 'city' AND $timeFilter", Expect(("activity_index",))),),
              (0, 36, 4, 8), unit="none", decimals=1, options=stat),
        per_group("county", "区县", 4),
        per_group("industry", "行业", 14),
    )


def _savings_panel(stat: dict[str, object]) -> Panel:
    """This month's savings potential of the diagnosis findings (finding, written by the publish job)."""
    return Panel("stat", "本月节能潜力 Savings potential", "Estimated savings (CNY, assumed prices) of this month's "
                 "diagnosis findings summed over the selected enterprises (finding, present = 1; month to date).",
                 (Target(f'SELECT sum("savings_cny") AS "savings_cny" FROM "{FINDING}" '
                         f'WHERE "present" = 1 AND {ENTERPRISE_MATCH} AND $timeFilter', Expect(("savings_cny",))),),
                 (0, 44, 6, 5), unit="none", decimals=0, time_from="now/M", options=stat)


def dashboard() -> Dashboard:
    """The city overview for the industry bureau."""
    today_sum = (
        f'SELECT sum("value") AS "{{alias}}" FROM "{ENTERPRISE_DAILY}" '
        f"WHERE \"carrier\" = '{{carrier}}' AND {ENTERPRISE_MATCH} AND $timeFilter"
    )
    stat = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value", "graphMode": "none", "textMode": "value"}
    panels = (
        Panel("stat", "在线企业", "Enterprises that sent any reading in the last 15 minutes.",
              (Target(reporting_count(("enterprise",)), Expect(("reporting",))),),
              (0, 0, 4, 5), unit="none", options=stat),
        Panel("stat", "在线网关", "Gateways that sent any reading in the last 15 minutes (by data, not by "
              "the MQTT status topic, see docs/dashboards.md).",
              (Target(reporting_count(("enterprise", "gateway")), Expect(("reporting",))),),
              (4, 0, 4, 5), unit="none", options=stat),
        Panel("stat", "今日用电量", "Electricity imported today (local day so far), kWh, from enterprise_daily.",
              (Target(today_sum.format(alias="kwh", carrier="electricity"), Expect(("kwh",))),),
              (8, 0, 4, 5), unit="kwatth", time_from="now/d", options=stat),
        Panel("stat", "本月用电量", "Electricity imported this calendar month so far, kWh, from enterprise_monthly.",
              (Target(f'SELECT sum("value") AS "kwh" FROM "{ENTERPRISE_MONTHLY}" '
                      f"WHERE \"carrier\" = 'electricity' AND {ENTERPRISE_MATCH} AND $timeFilter",
                      Expect(("kwh",))),),
              (12, 0, 4, 5), unit="kwatth", time_from="now/M", options=stat),
        Panel("stat", "今日天然气", "Natural gas used today (local day so far), standard m3, from enterprise_daily.",
              (Target(today_sum.format(alias="m3", carrier="natural_gas"), Expect(("m3",))),),
              (16, 0, 4, 5), unit="m3", time_from="now/d", options=stat),
        Panel("stat", "今日新增安全告警", "Electrical-safety alarms opened today (safety_alarm, docs/safety.md).",
              (Target(f'SELECT count("state") AS "opened" FROM "{SAFETY_ALARM}" '
                      f"WHERE \"state\" = 'open' AND {ENTERPRISE_MATCH} AND $timeFilter",
                      Expect(("opened",))),),
              (20, 0, 4, 5), unit="none", time_from="now/d", options=stat,
              thresholds=((None, "green"), (1, "red"))),
        Panel("timeseries", "全市逐日用电量", "Electricity per local day summed over the selected enterprises, kWh.",
              (Target(f'SELECT sum("value") AS "用电量" FROM "{ENTERPRISE_DAILY}" '
                      f"WHERE \"carrier\" = 'electricity' AND {ENTERPRISE_MATCH} AND $timeFilter "
                      f"GROUP BY {DAY_BUCKET} fill(none)",
                      Expect(("用电量",))),),
              (0, 5, 12, 8), unit="kwatth", custom={"drawStyle": "bars", "fillOpacity": 60}),
        Panel("table", "本月各能源品种消费", "This month's consumption per carrier (units: electricity kWh, "
              "natural_gas/water m3, steam/coal/diesel/output t, heat GJ, reactive kvarh).",
              (Target(f'SELECT sum("value") AS "value" FROM "{ENTERPRISE_MONTHLY}" '
                      f'WHERE {ENTERPRISE_MATCH} AND $timeFilter GROUP BY "carrier"',
                      Expect(("value",), ("carrier",), min_series=2), result_format="table"),),
              (12, 5, 12, 8), time_from="now/M", decimals=1),
        _breakdown("county", "区县", 0),
        _breakdown("industry", "行业", 8),
        Panel("table", "企业本月用电排名", "Enterprises by this month's electricity, largest first; click a row "
              "to open its enterprise dashboard.",
              (_ELEC_MONTH, _INFO),
              (16, 13, 8, 9), unit="kwatth", time_from="now/M",
              transformations=(
                  {"id": "joinByField", "options": {"byField": "enterprise", "mode": "outer"}},
                  {"id": "organize", "options": {"excludeByName": {"Time": True, "Time 1": True, "Time 2": True,
                                                                     "county": True, "industry": True},
                                                 "renameByName": {"name": "企业名称", "kwh": "本月用电量"}}},
              ),
              options={"sortBy": [{"displayName": "本月用电量", "desc": True}], "showHeader": True},
              links=(Link("企业详情 Enterprise detail", enterprise_link()),)),
        *_analysis_stats(stat),
        over_quota_panel((0, 27, 24, 9)),
        *_activity_panels(stat),
        _savings_panel(stat),
    )
    return Dashboard(
        uid=UID,
        title="全市能耗总览",
        description="City overview for the industry bureau: plants online, energy today and this month, "
                    "breakdown by county and industry, largest consumers.",
        panels=panels,
        variables=variables(),
        hidden=(RAW_RP,),
        links=(DASHBOARD_LINKS,),
    )
