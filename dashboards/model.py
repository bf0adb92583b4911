"""Typed builders for the parts of Grafana's dashboard JSON (schemaVersion 39, Grafana 11.x) we use.

Small frozen dataclasses render themselves with `.to_json()`; every query is raw InfluxQL through the
provisioned InfluxDB data source. Each target also records what its answer must contain (`expect`),
which the integration test checks against the real InfluxDB; that metadata never reaches the JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

DATASOURCE_UID = "enerdiag-influxdb"
DATASOURCE: dict[str, str] = {"type": "influxdb", "uid": DATASOURCE_UID}
SCHEMA_VERSION = 39
TIMEZONE = "Asia/Shanghai"

ResultFormat = Literal["time_series", "table"]
PanelKind = Literal["stat", "timeseries", "table", "barchart", "bargauge", "piechart"]

Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Expect:
    """What a query's answer must hold: these value columns (non-null somewhere), grouped by these tags."""

    columns: tuple[str, ...]
    tags: tuple[str, ...] = ()
    min_series: int = 1


@dataclass(frozen=True, slots=True)
class Target:
    """One raw InfluxQL query of a panel."""

    query: str
    expect: Expect
    ref_id: str = "A"
    result_format: ResultFormat = "time_series"
    alias: str | None = None

    def to_json(self) -> Json:
        out: Json = {
            "refId": self.ref_id,
            "datasource": dict(DATASOURCE),
            "query": self.query,
            "rawQuery": True,
            "resultFormat": self.result_format,
        }
        if self.alias:
            out["alias"] = self.alias
        return out


@dataclass(frozen=True, slots=True)
class Link:
    """A data link on every cell of a panel: opens `url` (Grafana interpolates `${__data.fields.x}` etc.)."""

    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Panel:
    """A visualisation: kind, Chinese title, English description, grid position and its queries."""

    kind: PanelKind
    title: str
    description: str
    targets: tuple[Target, ...]
    grid: tuple[int, int, int, int]  # x, y, w, h
    unit: str | None = None
    decimals: int | None = None
    time_from: str | None = None  # relative time override, e.g. "now/d" (today so far)
    thresholds: tuple[tuple[float | None, str], ...] = ()
    options: Json = field(default_factory=dict)
    custom: Json = field(default_factory=dict)
    transformations: tuple[Json, ...] = ()
    links: tuple[Link, ...] = ()
    interval: str | None = None  # minimum interval ($__interval never goes below it)

    def to_json(self, panel_id: int) -> Json:
        x, y, w, h = self.grid
        defaults: Json = {}
        if self.unit:
            defaults["unit"] = self.unit
        if self.decimals is not None:
            defaults["decimals"] = self.decimals
        if self.thresholds:
            defaults["thresholds"] = {
                "mode": "absolute",
                "steps": [{"value": v, "color": c} for v, c in self.thresholds],
            }
        if self.custom:
            defaults["custom"] = dict(self.custom)
        if self.links:
            defaults["links"] = [{"title": link.title, "url": link.url} for link in self.links]
        out: Json = {
            "id": panel_id,
            "type": self.kind,
            "title": self.title,
            "description": self.description,
            "gridPos": {"x": x, "y": y, "w": w, "h": h},
            "datasource": dict(DATASOURCE),
            "targets": [t.to_json() for t in self.targets],
            "fieldConfig": {"defaults": defaults, "overrides": []},
            "options": dict(self.options),
        }
        if self.transformations:
            out["transformations"] = [dict(t) for t in self.transformations]
        if self.time_from:
            out["timeFrom"] = self.time_from
        if self.interval:
            out["interval"] = self.interval
        return out


@dataclass(frozen=True, slots=True)
class Variable:
    """A query template variable filled from `SHOW TAG VALUES`."""

    name: str
    label: str
    query: str
    description: str
    multi: bool = True
    include_all: bool = True
    all_value: str | None = None  # None: "All" expands to every listed value

    def to_json(self) -> Json:
        out: Json = {
            "type": "query",
            "name": self.name,
            "label": self.label,
            "description": self.description,
            "datasource": dict(DATASOURCE),
            "query": self.query,
            "refresh": 1,
            "sort": 1,
            "multi": self.multi,
            "includeAll": self.include_all,
            "options": [],
        }
        if self.all_value is not None:
            out["allValue"] = self.all_value
        return out


@dataclass(frozen=True, slots=True)
class RetentionVariable:
    """A hidden variable naming a retention policy: the first of `SHOW RETENTION POLICIES` that matches `regex`,
    sorted alphabetically descending (so `raw` wins over `autogen` when both exist)."""

    name: str
    regex: str
    description: str

    query: str = "SHOW RETENTION POLICIES"
    sort: int = 2  # Grafana: alphabetical, descending

    def to_json(self) -> Json:
        return {
            "type": "query",
            "name": self.name,
            "label": self.name,
            "description": self.description,
            "datasource": dict(DATASOURCE),
            "query": self.query,
            "regex": self.regex,
            "refresh": 1,
            "sort": self.sort,
            "hide": 2,
            "multi": False,
            "includeAll": False,
            "options": [],
        }


@dataclass(frozen=True, slots=True)
class Dashboard:
    """A whole dashboard; `uid` is stable so links and provisioning keep working across rebuilds."""

    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...]
    variables: tuple[Variable, ...]
    tags: tuple[str, ...] = ("enerdiag",)
    time_from: str = "now-7d"
    time_to: str = "now"
    refresh: str = "5m"
    links: tuple[Json, ...] = ()
    hidden: tuple[RetentionVariable, ...] = ()  # storage variables the panels use, not shown as filters

    def to_json(self) -> Json:
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "timezone": TIMEZONE,
            "editable": False,
            "graphTooltip": 1,
            "time": {"from": self.time_from, "to": self.time_to},
            "refresh": self.refresh,
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "weekStart": "monday",
            "panels": [p.to_json(i + 1) for i, p in enumerate(self.panels)],
            "templating": {"list": [v.to_json() for v in (*self.variables, *self.hidden)]},
            "annotations": {"list": []},
            "links": [dict(link) for link in self.links],
        }
