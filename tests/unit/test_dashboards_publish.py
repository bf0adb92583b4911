"""`enerdiag dashboards publish` against a tiny local HTTP server that answers as Grafana's HTTP API documents.

No Grafana runs on these machines: the server below implements the documented requests the command
uses (data source by uid, create/update; folder get/create; POST /api/dashboards/db) and records them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from dashboards.catalog import dashboards
from enerdiag.commands import dashboards as dashboards_cmd

TOKEN = "glsa_test_token"


@dataclass
class FakeGrafana:
    """State and request log of the fake Grafana."""

    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    url: str = ""


def _handler(state: FakeGrafana) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            state.requests.append((method, self.path, body))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self._answer(401, {"message": "Unauthorized"})
            path = self.path
            if method == "GET" and path.startswith("/api/datasources/uid/"):
                uid = path.rsplit("/", 1)[1]
                if uid not in state.datasources:
                    return self._answer(404, {"message": "Data source not found"})
                return self._answer(200, state.datasources[uid])
            if method == "POST" and path == "/api/datasources":
                if body["uid"] in state.datasources:
                    return self._answer(409, {"message": "data source with the same uid already exists"})
                state.datasources[body["uid"]] = {**body, "id": 1}
                return self._answer(200, {"datasource": state.datasources[body["uid"]], "id": 1,
                                          "message": "Datasource added", "name": body["name"]})
            if method == "PUT" and path.startswith("/api/datasources/uid/"):
                uid = path.rsplit("/", 1)[1]
                state.datasources[uid] = {**body, "id": 1}
                return self._answer(200, {"datasource": state.datasources[uid], "id": 1,
                                          "message": "Datasource updated", "name": body["name"]})
            if method == "GET" and path.startswith("/api/folders/"):
                uid = path.rsplit("/", 1)[1]
                if uid not in state.folders:
                    return self._answer(404, {"message": "folder not found", "status": "not-found"})
                return self._answer(200, state.folders[uid])
            if method == "POST" and path == "/api/folders":
                state.folders[body["uid"]] = {"id": 1, "uid": body["uid"], "title": body["title"],
                                              "url": f"/dashboards/f/{body['uid']}/"}
                return self._answer(200, state.folders[body["uid"]])
            if method == "POST" and path == "/api/dashboards/db":
                dash = body["dashboard"]
                if body.get("folderUid") not in state.folders:
                    return self._answer(400, {"message": "folder not found"})
                if not dash.get("title"):
                    return self._answer(400, {"message": "Dashboard title cannot be empty"})
                if not body.get("overwrite") and dash["uid"] in state.dashboards:
                    return self._answer(412, {"message": "The dashboard has been changed by someone else",
                                              "status": "version-mismatch"})
                version = state.dashboards.get(dash["uid"], {}).get("version", 0) + 1
                state.dashboards[dash["uid"]] = {**dash, "version": version}
                return self._answer(200, {"id": len(state.dashboards), "uid": dash["uid"],
                                          "url": f"/d/{dash['uid']}/x", "status": "success",
                                          "version": version, "slug": "x"})
            return self._answer(404, {"message": "Not found"})

        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_PUT(self) -> None:
            self._handle("PUT")

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def grafana() -> Iterator[FakeGrafana]:
    state = FakeGrafana()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def cli(*args: str) -> tuple[int, str, str]:
    app = typer.Typer()
    dashboards_cmd.register(app)
    result = CliRunner().invoke(app, ["dashboards", *args], env={"GRAFANA_TOKEN": ""})
    return result.exit_code, result.stdout, result.stderr


def test_first_publish_creates_data_source_folder_and_every_dashboard(grafana: FakeGrafana) -> None:
    code, out, err = cli("publish", "--url", grafana.url, "--token", TOKEN, "--influx-token", "influx-secret")
    assert code == 0, err
    expected_uids = [d.uid for d in dashboards().values()]
    assert [(m, p) for m, p, _ in grafana.requests] == [
        ("GET", "/api/datasources/uid/enerdiag-influxdb"),
        ("POST", "/api/datasources"),
        ("GET", "/api/folders/enerdiag"),
        ("POST", "/api/folders"),
        *[("POST", "/api/dashboards/db")] * len(expected_uids),
    ]
    ds = grafana.datasources["enerdiag-influxdb"]
    assert (ds["type"], ds["access"], ds["jsonData"]["version"], ds["jsonData"]["dbName"]) == \
        ("influxdb", "proxy", "InfluxQL", "energy")
    assert ds["jsonData"]["httpHeaderName1"] == "Authorization"
    assert ds["secureJsonData"] == {"httpHeaderValue1": "Token influx-secret"}
    assert grafana.folders["enerdiag"]["title"] == "能耗监测 Energy"
    assert list(grafana.dashboards) == expected_uids
    for _m, _p, body in grafana.requests[4:]:
        assert body["overwrite"] is True and body["folderUid"] == "enerdiag"
    for uid in expected_uids:
        assert f"dashboard {uid}: {grafana.url}/d/{uid}/x" in out


def test_second_publish_updates_in_place(grafana: FakeGrafana) -> None:
    assert cli("publish", "--url", grafana.url, "--token", TOKEN, "--influx-token", "a")[0] == 0
    grafana.requests.clear()
    code, out, err = cli("publish", "--url", grafana.url + "/", "--token", TOKEN, "--influx-token", "b",
                         "--influx-url", "http://10.0.0.5:8086")
    assert code == 0, err
    methods = [(m, p) for m, p, _ in grafana.requests]
    assert ("PUT", "/api/datasources/uid/enerdiag-influxdb") in methods
    assert ("POST", "/api/folders") not in methods and ("POST", "/api/datasources") not in methods
    assert grafana.datasources["enerdiag-influxdb"]["url"] == "http://10.0.0.5:8086"
    assert grafana.datasources["enerdiag-influxdb"]["secureJsonData"]["httpHeaderValue1"] == "Token b"
    assert {d["version"] for d in grafana.dashboards.values()} == {2}
    assert "data source enerdiag-influxdb updated; folder exists" in out


def test_without_influx_token_no_auth_header_is_configured(grafana: FakeGrafana, monkeypatch) -> None:
    monkeypatch.delenv("ENERDIAG_INFLUX_TOKEN", raising=False)
    assert cli("publish", "--url", grafana.url, "--token", TOKEN)[0] == 0
    ds = grafana.datasources["enerdiag-influxdb"]
    assert "secureJsonData" not in ds and "httpHeaderName1" not in ds["jsonData"]


def test_wrong_token_exits_1_with_one_line_reason(grafana: FakeGrafana) -> None:
    code, _out, err = cli("publish", "--url", grafana.url, "--token", "wrong")
    assert code == 1
    assert err.count("\n") == 1 and "refused the data source" in err and "Unauthorized" in err
    assert grafana.dashboards == {}


def test_unreachable_grafana_exits_1(grafana: FakeGrafana) -> None:
    code, _out, err = cli("publish", "--url", "http://127.0.0.1:9", "--token", TOKEN)
    assert code == 1 and "127.0.0.1:9" in err


@pytest.mark.parametrize("args", [("--url", "grafana.local", "--token", TOKEN), ("--url", "http://x", "--token", " ")])
def test_bad_usage_exits_2(args: tuple[str, ...]) -> None:
    code, _out, err = cli("publish", *args)
    assert code == 2 and err.startswith("enerdiag:")
