"""平台运行状态 Platform health: ingest, reporting gateways, silent gateways, rollup progress, collector health.

The collector writes its own counters (`collector_stats`), dead letters by reason (`deadletter_count`) and
the gateways' MQTT status messages (`gateway_status`) to InfluxDB (collector/health.py, docs/schema.md).
"""

from __future__ import annotations

from core.domain import COUNTER_KEYS
from core.measurements import COLLECTOR_STATS, CONSUMPTION_HOURLY, DEADLETTER_COUNT, GATEWAY_STATUS
from dashboards.common import (
    DASHBOARD_LINKS,
    ENTERPRISE_MATCH,
    RAW_READING,
    RAW_RP,
    any_reading_count,
    reporting_count,
    variables,
)
from dashboards.model import Dashboard, Expect, Panel, Target
from dashboards.scheduler import scheduler_panels

UID = "enerdiag-health"


def gateway_recent_rate(time_filter: str = "$timeFilter") -> str:
    """Per gateway: mean readings per 5 minutes over the last three 5-minute buckets (0 = silent ≥ 10 min).

    fill(0) keeps a gateway that went silent as a series of zeros (a missing series would look like no
    problem to Grafana); the gateway must have sent something inside `time_filter` to be listed.
    """
    return (
        'SELECT last("m") AS "recent" FROM ('
        'SELECT moving_average("n", 3) AS "m" FROM ('
        f'SELECT {any_reading_count()} AS "n" FROM {RAW_READING} WHERE {ENTERPRISE_MATCH} AND {time_filter} '
        'GROUP BY time(5m), "enterprise", "gateway" fill(0)'
        ') GROUP BY "enterprise", "gateway"'
        ') GROUP BY "enterprise", "gateway"'
    )


STATUS_LOOKBACK = "30d"
"""A status message is written once (retained, at its own ts): the current state is the last one in this window."""


def collector_panels(stat: dict[str, object]) -> tuple[Panel, ...]:
    """Ingest rate, dead letters, spool and write latency per collector; gateways online by the status topic."""
    line_style = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10}
    last_status = (f'SELECT last("online") AS "online" FROM "{GATEWAY_STATUS}" '
                   f'WHERE {ENTERPRISE_MATCH} AND $timeFilter GROUP BY "enterprise", "gateway"')
    return (
        Panel("timeseries", "采集写入速率（按采集器）", "Readings stored and MQTT messages received per second by "
              "each collector (collector_stats stored_per_s / received_per_s: the collector's own rate between "
              "two of its points, averaged per interval).",
              (Target(f'SELECT mean("stored_per_s") AS "readings_per_s" FROM "{COLLECTOR_STATS}" '
                      'WHERE $timeFilter GROUP BY time($__interval), "collector" fill(none)',
                      Expect(("readings_per_s",), ("collector",)), alias="$tag_collector 读数/秒"),
               Target('SELECT mean("received_per_s") AS "messages_per_s" '
                      f'FROM "{COLLECTOR_STATS}" WHERE $timeFilter GROUP BY time($__interval), "collector" fill(none)',
                      Expect(("messages_per_s",), ("collector",)), ref_id="B", alias="$tag_collector 消息/秒")),
              (0, 24, 12, 8), unit="none", interval="1m", time_from="24h", custom=line_style),
        Panel("timeseries", "死信（按原因）", "Dead letters per interval and reason, all collectors "
              "(deadletter_count; details: `enerdiag deadletters` on the collector host).",
              (Target(f'SELECT sum("count") AS "deadletters" FROM "{DEADLETTER_COUNT}" WHERE $timeFilter '
                      'GROUP BY time($__interval), "reason" fill(none)',
                      Expect(("deadletters",), ("reason",)), alias="$tag_reason"),),
              (12, 24, 12, 8), unit="none", interval="1m", time_from="24h",
              custom={"drawStyle": "bars", "fillOpacity": 60, "stacking": {"mode": "normal", "group": "A"}}),
        Panel("timeseries", "缓存积压与写入延迟（按采集器）", "Batches waiting in each collector's disk spool "
              "(InfluxDB unreachable; 0 normally), backpressure (1 while the spool is full and nothing is "
              "acknowledged) and the mean InfluxDB write latency per batch, s.",
              (Target('SELECT max("spool_depth") AS "spool_batches", max("backpressure") AS "backpressure" '
                      f'FROM "{COLLECTOR_STATS}" WHERE $timeFilter GROUP BY time($__interval), "collector" fill(none)',
                      Expect(("spool_batches", "backpressure"), ("collector",)), alias="$tag_collector $col"),
               Target(f'SELECT mean("write_seconds_mean") AS "write_s" FROM "{COLLECTOR_STATS}" WHERE $timeFilter '
                      'GROUP BY time($__interval), "collector" fill(none)',
                      Expect(("write_s",), ("collector",)), ref_id="B", alias="$tag_collector 写入延迟 s")),
              (0, 32, 12, 8), unit="none", interval="1m", time_from="24h", custom=line_style),
        Panel("stat", "网关在线（状态主题）", "Gateways whose last MQTT status message (retained, with last "
              f"will) in the last {STATUS_LOOKBACK} says online (gateway_status).",
              (Target(f'SELECT sum("online") AS "online" FROM ({last_status})', Expect(("online",))),),
              (12, 32, 4, 8), unit="none", time_from=STATUS_LOOKBACK, options=stat),
        Panel("table", "网关状态（最近一次状态消息）", "Per gateway: the last status message (1 = online, "
              "0 = offline or last will) and when it was sent; offline first.",
              (Target(last_status, Expect(("online",), ("enterprise", "gateway")), result_format="table"),),
              (16, 32, 8, 8), time_from=STATUS_LOOKBACK, thresholds=((None, "red"), (1, "green")),
              options={"sortBy": [{"displayName": "online", "desc": False}], "showHeader": True}),
        Panel("table", "死信（按原因与企业）", "Dead letters in the time range per reason and enterprise "
              "('-' = the topic named no registered enterprise).",
              (Target(f'SELECT sum("count") AS "deadletters" FROM "{DEADLETTER_COUNT}" WHERE $timeFilter '
                      'GROUP BY "reason", "enterprise"',
                      Expect(("deadletters",), ("reason", "enterprise")), result_format="table"),),
              (0, 40, 24, 8), time_from="24h",
              options={"sortBy": [{"displayName": "deadletters", "desc": True}], "showHeader": True}),
    )


def dashboard() -> Dashboard:
    """Operators' view of the data pipeline."""
    stat = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
            "colorMode": "value", "graphMode": "none", "textMode": "value"}
    counters = sorted(COUNTER_KEYS)
    raw_counters = " + ".join(f'count("{k}")' for k in counters)
    panels = (
        Panel("timeseries", "数据写入量（按物理量）", "Values stored per interval and quantity, by reading "
              "timestamp (a backfill shows up at the time it was measured, not when it arrived).",
              (Target(f'SELECT count(*) FROM {RAW_READING} WHERE {ENTERPRISE_MATCH} AND $timeFilter '
                      "GROUP BY time($__interval) fill(0)",
                      Expect(("count_energy_kwh", "count_power_kw")), alias="$col"),),
              (0, 0, 16, 8), unit="none", interval="1m", time_from="24h",
              custom={"drawStyle": "bars", "fillOpacity": 60, "stacking": {"mode": "normal", "group": "A"}}),
        Panel("stat", "在线网关", "Gateways that sent any reading in the last 15 minutes.",
              (Target(reporting_count(("enterprise", "gateway")), Expect(("reporting",))),),
              (16, 0, 4, 4), unit="none", options=stat),
        Panel("stat", "在线企业", "Enterprises that sent any reading in the last 15 minutes.",
              (Target(reporting_count(("enterprise",)), Expect(("reporting",))),),
              (20, 0, 4, 4), unit="none", options=stat),
        Panel("table", "网关近期上报（0 = 已静默）", "Per gateway seen in the last 6 hours: mean readings per 5 "
              "minutes over the last 10-15 minutes. 0 means silent for at least 10 minutes; the alert rule "
              "'网关离线' uses the same query.",
              (Target(gateway_recent_rate(), Expect(("recent",), ("enterprise", "gateway")),
                      result_format="table"),),
              (16, 4, 8, 12), time_from="6h", decimals=1,
              thresholds=((None, "red"), (0.01, "green")),
              options={"sortBy": [{"displayName": "recent", "desc": False}], "showHeader": True}),
        Panel("timeseries", "上报网关数（每5分钟）", "Gateways with at least one reading in each 5-minute bucket.",
              (Target('SELECT count("n") AS "gateways" FROM ('
                      f'SELECT {any_reading_count()} AS "n" FROM {RAW_READING} '
                      f'WHERE {ENTERPRISE_MATCH} AND $timeFilter '
                      'GROUP BY time(5m), "enterprise", "gateway" fill(0)'
                      ') WHERE "n" > 0 AND $timeFilter GROUP BY time(5m) fill(0)',
                      Expect(("gateways",)), alias="网关数"),),
              (0, 8, 16, 8), unit="none", time_from="24h",
              custom={"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10}),
        Panel("timeseries", "汇总进度（每小时读数：原始 vs 已汇总）", "Counter readings per hour in the raw layer "
              "versus the readings the hourly rollup has consumed (consumption_hourly n_readings). A gap means "
              "the rollup has not caught up (or readings arrived late).",
              (Target(f'SELECT {raw_counters} AS "raw" FROM {RAW_READING} WHERE {ENTERPRISE_MATCH} AND $timeFilter '
                      "GROUP BY time(1h) fill(0)", Expect(("raw",)), alias="原始读数"),
               Target(f'SELECT sum("n_readings") AS "rolled_up" FROM "{CONSUMPTION_HOURLY}" '
                      f"WHERE {ENTERPRISE_MATCH} AND $timeFilter GROUP BY time(1h) fill(0)",
                      Expect(("rolled_up",)), ref_id="B", alias="已汇总")),
              (0, 16, 24, 8), unit="none", time_from="48h",
              custom={"drawStyle": "line", "lineWidth": 1, "fillOpacity": 0}),
        *collector_panels(stat),
        *scheduler_panels(48),
    )
    return Dashboard(
        uid=UID,
        title="平台运行状态",
        description="Platform health for operators: ingest per quantity and per collector, gateways and "
                    "enterprises reporting, silent gateways, gateway status, dead letters, spool, rollup progress, "
                    "scheduler jobs.",
        panels=panels,
        variables=variables(),
        hidden=(RAW_RP,),
        time_from="now-24h",
        refresh="1m",
        links=(DASHBOARD_LINKS,),
    )
