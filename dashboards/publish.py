"""Push the data source, the folder and the dashboards to a Grafana through its HTTP API (grafana-client).

For a Grafana that is not provisioned from deploy/grafana/ (a shared or hosted Grafana): the same
data source (uid enerdiag-influxdb) is created or updated, the folder is created when missing, and
every dashboard is saved with overwrite, so publishing twice is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException

from dashboards.catalog import REPO, dashboards
from dashboards.model import DATASOURCE_UID

DATASOURCE_FILE = REPO / "deploy" / "grafana" / "provisioning" / "datasources" / "influxdb.yaml"
PROVIDER_FILE = REPO / "deploy" / "grafana" / "provisioning" / "dashboards" / "provider.yaml"


class PublishError(RuntimeError):
    """Grafana refused or could not be reached; the message says which step."""


@dataclass(frozen=True, slots=True)
class PublishReport:
    """What was done: the data source action and each dashboard's URL in Grafana."""

    datasource: str  # "created" | "updated"
    folder: str  # "created" | "exists"
    dashboards: dict[str, str]


def datasource_body(influx_url: str | None = None, influx_token: str | None = None,
                    path: Path = DATASOURCE_FILE) -> dict[str, Any]:
    """The provisioned data source as an API body; the token replaces `$ENERDIAG_INFLUX_TOKEN`."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    (ds,) = [d for d in doc["datasources"] if d.get("uid") == DATASOURCE_UID]
    body: dict[str, Any] = {k: ds[k] for k in ("name", "uid", "type", "access", "url", "isDefault", "database")
                            if k in ds}
    body["jsonData"] = dict(ds.get("jsonData", {}))
    if influx_url:
        body["url"] = influx_url
    if influx_token:
        body["secureJsonData"] = {"httpHeaderValue1": f"Token {influx_token}"}
    else:  # InfluxDB 1.x without auth: no header at all
        body["jsonData"].pop("httpHeaderName1", None)
    return body


def folder_of_provider(path: Path = PROVIDER_FILE) -> tuple[str, str]:
    """(uid, title) of the folder the file provider uses, so both routes put dashboards in one place."""
    (provider,) = yaml.safe_load(path.read_text(encoding="utf-8"))["providers"]
    return provider["folderUid"], provider["folder"]


def publish(url: str, token: str, influx_url: str | None = None, influx_token: str | None = None,
            timeout: float = 10.0) -> PublishReport:
    """Create/update the data source, make sure the folder exists, save every dashboard (overwrite)."""
    api = GrafanaApi.from_url(url, credential=token, timeout=timeout)
    step = "data source"
    try:
        body = datasource_body(influx_url, influx_token)
        try:
            api.datasource.get_datasource_by_uid(DATASOURCE_UID)
        except GrafanaClientError as exc:
            if exc.status_code != 404:
                raise
            api.datasource.create_datasource(body)
            ds_action = "created"
        else:
            api.datasource.update_datasource_by_uid(DATASOURCE_UID, body)
            ds_action = "updated"
        step = "folder"
        folder_uid, folder_title = folder_of_provider()
        try:
            api.folder.get_folder(folder_uid)
            folder_action = "exists"
        except GrafanaClientError as exc:
            if exc.status_code != 404:
                raise
            api.folder.create_folder(folder_title, uid=folder_uid)
            folder_action = "created"
        urls: dict[str, str] = {}
        for name, dashboard in dashboards().items():
            step = f"dashboard {name}"
            answer = api.dashboard.update_dashboard({
                "dashboard": dashboard.to_json(),
                "folderUid": folder_uid,
                "overwrite": True,
                "message": "enerdiag dashboards publish",
            })
            urls[dashboard.uid] = str(answer.get("url", ""))
    except GrafanaException as exc:
        raise PublishError(f"Grafana at {url} refused the {step}: {exc}") from exc
    except OSError as exc:
        raise PublishError(f"Grafana at {url} unreachable during the {step}: {exc}") from exc
    return PublishReport(ds_action, folder_action, urls)
