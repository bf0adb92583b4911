"""Generated dashboards and alert rules: fresh, schema-valid, and within the InfluxQL rules of the project."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from dashboards import alerting, catalog, schema_check
from dashboards.model import DATASOURCE_UID
from enerdiag.commands import dashboards as dashboards_cmd

PROVISIONING = catalog.REPO / "deploy" / "grafana" / "provisioning"
CJK = re.compile(r"[\u4e00-\u9fff]")


def all_queries() -> list[tuple[str, str]]:
    """(where, query) for every panel target, variable and alert rule."""
    out: list[tuple[str, str]] = []
    for name, dash in catalog.dashboards().items():
        out += [(f"{name}/{p.title}/{t.ref_id}", t.query) for p in dash.panels for t in p.targets]
        out += [(f"{name}/${v.name}", v.query) for v in dash.variables]
    out += [(f"alert {r.uid}", r.query) for group in alerting.rules().values() for r in group]
    return out


def select_levels(query: str) -> list[str]:
    """Each SELECT of a query on its own, innermost subqueries first, replaced by `(sub)` in their parent."""
    levels: list[str] = []
    while True:
        starts = [m.start() for m in re.finditer(r"\(SELECT ", query)]
        if not starts:
            return [*levels, query]
        start = starts[-1]  # the last "(SELECT" opens an innermost subquery
        depth, end = 0, start
        for end in range(start, len(query)):
            depth += {"(": 1, ")": -1}.get(query[end], 0)
            if depth == 0:
                break
        levels.append(query[start + 1:end])
        query = query[:start] + "(sub)" + query[end + 1:]


def test_committed_files_are_what_the_builders_produce() -> None:
    stale = catalog.stale()
    assert not stale, f"stale generated files, run `enerdiag dashboards build`: {stale}"


def test_stale_detects_a_changed_or_missing_file(tmp_path: Path) -> None:
    dash_dir, alerts = tmp_path / "d", tmp_path / "a" / "alerts.yaml"
    written = catalog.write_all(dash_dir, alerts)
    assert len(written) == len(catalog.BUILDERS) + 1 and catalog.stale(dash_dir, alerts) == []
    target = dash_dir / "city-overview.json"
    target.write_text(target.read_text(encoding="utf-8").replace("全市能耗总览", "old title"), encoding="utf-8")
    (dash_dir / "compliance.json").unlink()
    assert sorted(catalog.stale(dash_dir, alerts)) == sorted([target, dash_dir / "compliance.json"])


def test_build_check_command_passes_on_the_committed_files() -> None:
    app = typer.Typer()
    dashboards_cmd.register(app)
    result = CliRunner().invoke(app, ["dashboards", "build", "--check"])
    assert result.exit_code == 0, result.stderr
    assert "up to date" in result.stdout


@pytest.mark.parametrize("name", list(catalog.BUILDERS))
def test_dashboard_validates_against_the_grafana_schema(name: str) -> None:
    doc = json.loads((catalog.DASHBOARD_DIR / name).read_text(encoding="utf-8"))
    assert schema_check.errors(doc) == []


def test_schema_check_rejects_what_grafana_would_not_load() -> None:
    doc = catalog.dashboards()["city-overview.json"].to_json()
    doc["panels"][0]["gridPos"]["w"] = 30
    doc["panels"][1]["bogus"] = 1
    doc["templating"]["list"][0]["type"] = "sql"
    del doc["schemaVersion"]
    found = "\n".join(schema_check.errors(doc))
    assert "missing required 'schemaVersion'" in found
    assert "$.panels[0]" in found and "maximum 24" in found
    assert "$.panels[1]" in found and "'bogus' is not allowed" in found
    assert "$.templating.list[0].type" in found


def test_every_query_uses_the_provisioned_data_source_and_no_into() -> None:
    provisioned = yaml.safe_load((PROVISIONING / "datasources" / "influxdb.yaml").read_text(encoding="utf-8"))
    assert DATASOURCE_UID in {d["uid"] for d in provisioned["datasources"]}
    for dash in catalog.dashboards().values():
        doc = dash.to_json()
        for panel in doc["panels"]:
            assert panel["datasource"]["uid"] == DATASOURCE_UID
            assert all(t["datasource"]["uid"] == DATASOURCE_UID and t["rawQuery"] for t in panel["targets"])
        assert all(v["datasource"]["uid"] == DATASOURCE_UID for v in doc["templating"]["list"])
    for where, query in all_queries():
        assert not re.search(r"\bINTO\b", query, re.IGNORECASE), where


def test_every_group_by_time_has_both_time_bounds_in_its_own_select() -> None:
    checked = 0
    for where, query in all_queries():
        for level in select_levels(query):
            if "GROUP BY time(" in level:
                bounded = "$timeFilter" in level or ("time >=" in level and "time <=" in level)
                assert bounded, f"{where}: GROUP BY time() without both bounds in: {level}"
                checked += 1
    assert checked >= 15


def test_select_levels_splits_nested_subqueries() -> None:
    q = 'SELECT a FROM (SELECT b FROM (SELECT c FROM "x" GROUP BY time(5m)) GROUP BY "g") WHERE $timeFilter'
    assert select_levels(q) == ['SELECT c FROM "x" GROUP BY time(5m)', 'SELECT b FROM (sub) GROUP BY "g"',
                                "SELECT a FROM (sub) WHERE $timeFilter"]


def test_titles_are_chinese_descriptions_english_ids_unique_and_grids_fit() -> None:
    uids = set()
    for name, dash in catalog.dashboards().items():
        assert CJK.search(dash.title) and not CJK.search(dash.description), name
        uids.add(dash.uid)
        doc = dash.to_json()
        assert len({p["id"] for p in doc["panels"]}) == len(doc["panels"])
        cells: set[tuple[int, int]] = set()
        for panel in doc["panels"]:
            assert CJK.search(panel["title"]), panel["title"]
            assert re.match(r"[A-Z]", panel["description"]), panel["title"]
            g = panel["gridPos"]
            assert g["x"] + g["w"] <= 24, panel["title"]
            mine = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
            assert not cells & mine, f"{name}: {panel['title']} overlaps another panel"
            cells |= mine
    assert len(uids) == len(catalog.BUILDERS)


def test_variables_come_from_show_tag_values_and_chain() -> None:
    for dash in catalog.dashboards().values():
        names = [v.name for v in dash.variables]
        assert names == ["county", "industry", "enterprise"]
        assert all(v.query.startswith("SHOW TAG VALUES FROM") for v in dash.variables)
        assert "$county" in dash.variables[1].query and "$industry" in dash.variables[2].query
        # "All" on enterprise must expand to the filtered list, never to a match-everything regex.
        assert dash.variables[2].all_value is None


def test_data_links_open_existing_dashboards() -> None:
    uids = {d.uid for d in catalog.dashboards().values()}
    links = [link.url for d in catalog.dashboards().values() for p in d.panels for link in p.links]
    assert links
    for url in links:
        target = re.match(r"/d/([\w-]+)/", url)
        assert target and target.group(1) in uids, url


def test_alert_rules_file_matches_grafana_provisioning_format() -> None:
    doc = yaml.safe_load(catalog.ALERTING_FILE.read_text(encoding="utf-8"))
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "provider.yaml").read_text(encoding="utf-8"))
    assert doc["apiVersion"] == 1
    rule_uids = []
    for group in doc["groups"]:
        assert {"orgId", "name", "folder", "interval", "rules"} <= set(group)
        assert group["folder"] == provider["providers"][0]["folder"]
        for rule in group["rules"]:
            assert {"uid", "title", "condition", "data", "noDataState", "execErrState", "for"} <= set(rule)
            refs = {d["refId"]: d for d in rule["data"]}
            assert rule["condition"] in refs
            assert refs["A"]["datasourceUid"] == DATASOURCE_UID and refs["A"]["relativeTimeRange"]["from"] > 0
            assert {refs["B"]["datasourceUid"], refs["C"]["datasourceUid"]} == {"__expr__"}
            # Alert rules have no dashboard variables: a $variable left in the query would never expand.
            assert not re.search(r"\$(?!timeFilter|__)\w", refs["A"]["model"]["query"]), rule["uid"]
            rule_uids.append(rule["uid"])
    assert len(rule_uids) == len(set(rule_uids)) == 3


def test_compose_mounts_what_the_provider_and_alerting_need() -> None:
    compose = yaml.safe_load((catalog.REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    volumes = compose["services"]["grafana"]["volumes"]
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "provider.yaml").read_text(encoding="utf-8"))
    assert f"./dashboards:{provider['providers'][0]['options']['path']}:ro" in volumes
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in volumes
    # Grafana's file provider loads every *.json below its path: only dashboards may carry that suffix.
    jsons = {p.relative_to(catalog.DASHBOARD_DIR).as_posix() for p in catalog.DASHBOARD_DIR.rglob("*.json")}
    assert jsons == set(catalog.BUILDERS)
