"""Grafana alert rules as code, rendered in Grafana's file-provisioning format (apiVersion 1, `groups`).

Written to deploy/grafana/provisioning/alerting/enerdiag-alerts.yaml by `enerdiag dashboards build`.
Each rule: an InfluxQL query (A) over a relative time range, a Reduce (B, last value per series) and
a Threshold (C); one alert instance per series (enterprise, gateway, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.measurements import ENTERPRISE_ANALYSIS, READING, SAFETY_ALARM
from dashboards.common import RAW_READING, RAW_RP_NAME
from dashboards.health import gateway_recent_rate
from dashboards.model import DATASOURCE_UID

FOLDER = "能耗监测 Energy"
ALL_ENTERPRISES = '"enterprise" =~ /.*/'
ALERT_RAW_READING = f'"{RAW_RP_NAME}"."{READING}"'
"""Raw readings as the alert rules read them. Grafana alerting expands no dashboard variables, so the rules name
the production stack's raw retention policy (docker-compose.yml sets ENERDIAG_INFLUX_RAW_RP=raw and
deploy/influxdb maps it onto the raw bucket); these rules are provisioned there only."""


def for_alerting(query: str) -> str:
    """A dashboard query as an alert rule runs it: every enterprise, the production raw retention policy."""
    return query.replace('"enterprise" =~ /^$enterprise$/', ALL_ENTERPRISES).replace(RAW_READING, ALERT_RAW_READING)


@dataclass(frozen=True, slots=True)
class AlertRule:
    """One rule: query, time range (seconds back from now), the threshold on the last value, texts."""

    uid: str
    title: str
    query: str
    range_s: int
    op: str  # "lt" | "gt"
    threshold: float
    for_: str
    summary: str
    description: str
    severity: str
    paused: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "title": self.title,
            "condition": "C",
            "data": [
                {"refId": "A", "relativeTimeRange": {"from": self.range_s, "to": 0},
                 "datasourceUid": DATASOURCE_UID,
                 "model": {"refId": "A", "query": self.query, "rawQuery": True, "resultFormat": "time_series",
                           "intervalMs": 60000, "maxDataPoints": 43200}},
                {"refId": "B", "datasourceUid": "__expr__",
                 "model": {"refId": "B", "type": "reduce", "expression": "A", "reducer": "last",
                           "settings": {"mode": "dropNN"}}},
                {"refId": "C", "datasourceUid": "__expr__",
                 "model": {"refId": "C", "type": "threshold", "expression": "B",
                           "conditions": [{"evaluator": {"type": self.op, "params": [self.threshold]}}]}},
            ],
            "noDataState": "OK",
            "execErrState": "Error",
            "for": self.for_,
            "annotations": {"summary": self.summary, "description": self.description},
            "labels": {"team": "enerdiag", "severity": self.severity},
            "isPaused": self.paused,
        }


def rules() -> dict[str, list[AlertRule]]:
    """Rule groups by name."""
    offline = AlertRule(
        uid="enerdiag-gateway-offline",
        title="网关离线 Gateway offline",
        query=for_alerting(gateway_recent_rate()),
        range_s=6 * 3600,
        op="lt",
        threshold=0.01,
        for_="5m",
        summary="网关 {{ $labels.gateway }}（企业 {{ $labels.enterprise }}）超过10分钟没有上报数据",
        description="Gateway sent readings in the last 6 h but none in the last 10-15 minutes. A gateway silent "
                    "for more than 6 h drops out of the query and the alert resolves: check the platform-health "
                    "dashboard for long outages.",
        severity="warning",
    )
    safety = AlertRule(
        uid="enerdiag-safety-open",
        title="电气安全告警未关闭 Safety alarm open",
        query=(f'SELECT last("open") AS "open" FROM "{SAFETY_ALARM}" '
               f'WHERE {ALL_ENTERPRISES} AND $timeFilter GROUP BY "enterprise", "meter", "rule"'),
        range_s=30 * 86400,
        op="gt",
        threshold=0.5,
        for_="0s",
        summary="企业 {{ $labels.enterprise }} 计量点 {{ $labels.meter }} 电气安全告警 {{ $labels.rule }} 未关闭",
        description="An electrical-safety alarm (safety_alarm, docs/safety.md) is open on this meter and rule.",
        severity="critical",
    )
    over_quota = AlertRule(
        uid="enerdiag-over-quota",
        title="单位产品能耗超定额 Over quota",
        query=(f'SELECT last("over_quota") AS "over_quota" FROM "{ENTERPRISE_ANALYSIS}" '
               f"WHERE {ALL_ENTERPRISES} AND \"period\" = 'month' AND $timeFilter GROUP BY \"enterprise\""),
        range_s=62 * 86400,
        op="gt",
        threshold=0.5,
        for_="0s",
        summary="企业 {{ $labels.enterprise }} 单位产品能耗超过定额限定值",
        description="Unit-product energy consumption above the quota standard's limit (grade 3) in the latest "
                    "month analysed (enterprise_analysis, written by `enerdiag dashboards feed` / the scheduler).",
        severity="warning",
    )
    return {"enerdiag-data": [offline], "enerdiag-compliance": [over_quota], "enerdiag-safety": [safety]}


def provisioning() -> dict[str, Any]:
    """The whole provisioning document."""
    return {
        "apiVersion": 1,
        "groups": [
            {"orgId": 1, "name": name, "folder": FOLDER, "interval": "1m",
             "rules": [r.to_json() for r in group]}
            for name, group in rules().items()
        ],
    }
