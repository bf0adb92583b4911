"""The documented 200 bodies of the figure endpoints (issue #7) accept what the figure code builds, and reject drift.

Schemathesis (tests/integration/test_api_schemathesis.py) checks the bodies E1's data produces; these
build the parts E1 has none of (outages, excursions, every order method) with the pure functions and
validate them against the API's own `/openapi.json`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema_rs
import orjson
import pandas as pd
import pytest

import api.warehouse as warehouse_module
from analytics.warehouse import warehouse_report
from api.app import create_app
from api.orders import verify_order
from api.warehouse import WarehouseMeters, warehouse_figures
from tests.support.analysis_results import analysis_result
from tests.unit.test_api_support import FakeInflux

DOCUMENT = create_app(registry_url="sqlite://", influx=FakeInflux()).openapi()  # type: ignore[arg-type]
TZ = "Asia/Shanghai"
DAY = dt.date(2026, 10, 1)
OBJECTION = {"id": 1, "indicator": "warehouse", "period": None, "text": "检修", "opened_at": "2026-10-02T00:00:00"}


def errors(path: str, body: dict[str, Any]) -> list[str]:
    """Schema errors of `body` (as serialised) against the documented 200 body of GET `path`."""
    schema = DOCUMENT["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    validator = jsonschema_rs.validator_for({**schema, "components": DOCUMENT["components"]})
    return ["/" + "/".join(map(str, e.instance_path)) + f": {e.message}"
            for e in validator.iter_errors(orjson.loads(orjson.dumps(body)))]


def hour(h: int, minute: int = 0) -> int:
    return int(dt.datetime(2026, 10, 1, h, minute, tzinfo=ZoneInfo(TZ)).timestamp())


def warehouse_body(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A day with a stopped compressor (10–14 h), silent meter (2–5 h) and a warm spell (12:00–12:50)."""
    hourly = pd.DataFrame([{"meter": "M02", "time_s": hour(h), "value": 0.2 if 10 <= h < 14 else 4.0,
                            "completeness": 1.0} for h in range(24) if not 2 <= h < 5])
    raw = pd.DataFrame([{"meter": "T01", "time_s": hour(h, m), "value": -14.0 if h == 12 else -18.0}
                        for h in range(24) for m in range(0, 60, 10)])
    stats = raw.assign(hour=raw["time_s"] // 3600 * 3600).groupby(["meter", "hour"])["value"].agg(
        ["min", "max", "count"]).reset_index().rename(columns={"hour": "time_s"})
    bands: dict[str, tuple[float, float] | None] = {"T01": (-22.0, -15.0), "T02": None}
    monkeypatch.setattr(warehouse_module, "read_report", lambda *_: warehouse_report(
        hourly, stats, raw, ["M02"], bands, hour(0), hour(0) + 86400))
    meters = WarehouseMeters(
        loads=[{"meter": "M02", "role": "warehouse", "carrier": "electricity", "quantity": "energy_kwh"}],
        temperatures=[{"meter": "T01", "role": "warehouse", "carrier": "temperature", "quantity": "temp_c",
                       "band_c": [-22.0, -15.0]},
                      {"meter": "T02", "role": "warehouse", "carrier": "temperature", "quantity": "temp_c",
                       "band_c": None}])
    body = warehouse_figures(FakeInflux(), "E2", TZ, meters, DAY, DAY + dt.timedelta(days=1))  # type: ignore[arg-type]
    return {"enterprise": "E2", "timezone": TZ, **body, "objections": [OBJECTION]}


def test_warehouse_body_with_outages_and_excursions_is_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    body = warehouse_body(monkeypatch)
    assert [o["kind"] for o in body["outages"]] == ["no_data", "no_load"]
    assert [(e["side"], e["ended"]) for e in body["excursions"]] == [("above", True)]
    assert body["temperature"][1]["band_c"] is None and body["warnings"]
    assert errors("/v1/enterprises/{code}/warehouse", body) == []


def test_warehouse_continuity_is_null_when_the_meter_mostly_sent_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    body = warehouse_body(monkeypatch)
    assert body["continuity"] is not None and body["insufficient"] == {}  # 21 of 24 hours measured
    silent = pd.DataFrame([{"meter": "M02", "time_s": hour(h), "value": 4.0, "completeness": 1.0} for h in range(6)])
    monkeypatch.setattr(warehouse_module, "read_report", lambda *_: warehouse_report(
        silent, pd.DataFrame(), pd.DataFrame(), ["M02"], {}, hour(0), hour(0) + 86400))
    meters = WarehouseMeters(loads=[{"meter": "M02", "role": "warehouse", "carrier": "electricity",
                                     "quantity": "energy_kwh"}], temperatures=[])
    body = {"enterprise": "E2", "timezone": TZ, "objections": [],
            **warehouse_figures(FakeInflux(), "E2", TZ, meters, DAY, DAY + dt.timedelta(days=1))}  # type: ignore[arg-type]
    assert body["continuity"] is None  # 18 silent hours are not 18 hours without refrigeration
    assert body["insufficient"]["continuity"]["coverage"]["M02"] == {"completeness": 0.25, "no_data_hours": 18,
                                                                     "hours": 24}
    assert errors("/v1/enterprises/{code}/warehouse", body) == []


def test_warehouse_schema_rejects_an_unknown_outage_kind_and_a_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    body = warehouse_body(monkeypatch)
    body["outages"][0]["kind"] = "stopped"
    del body["refrigeration"][0]["continuity"]
    found = errors("/v1/enterprises/{code}/warehouse", body)
    assert len(found) == 2, found
    assert any("/outages/0/kind" in e for e in found) and any("continuity" in e for e in found)


def baseline(kwh_per_t: list[float]) -> list[dict[str, Any]]:
    return [{"month": f"2025-{i + 1:02d}", "energy": {"electricity": 1000.0 * r}, "output_t": 1000.0,
             "evidence": {"completeness_by_carrier": {"electricity": 1.0, "output": 1.0}}}
            for i, r in enumerate(kwh_per_t)]


@pytest.mark.parametrize(("coverage", "months", "method"), [
    (0.95, [], "measured"),
    (0.5, [100.0, 110.0, 90.0], "estimated_from_electricity"),
    (None, [100.0], "unavailable"),
])
def test_every_order_method_is_documented(coverage: float | None, months: list[float], method: str) -> None:
    period = analysis_result({"output": coverage, "electricity": 1.0}, period=("2026-10-01", "2026-11-01"),
                             output_t=950.0 if coverage else None, energy={"electricity": 100_000.0})
    out = verify_order(period, baseline(months), 1200.0)
    out["evidence"]["meters"] = [{"meter": "M01", "quantity": "energy_kwh", "carrier": "electricity", "role": "main"}]
    body = {"enterprise": "E1", "timezone": TZ, **out, "objections": []}
    assert body["method"] == method
    assert errors("/v1/enterprises/{code}/order-verification", body) == []
    body["method"] = "guessed"
    assert len(errors("/v1/enterprises/{code}/order-verification", body)) == 1


def test_figure_bodies_admit_no_undocumented_top_level_key() -> None:
    """Top-level objects are closed (`additionalProperties: false`); only evidence objects are open."""
    schemas = DOCUMENT["components"]["schemas"]
    for name in ("Profile", "CreditIndicators", "Warehouse", "OrderVerification"):
        assert schemas[name]["additionalProperties"] is False, name
    for name in ("ProfileEvidence", "CreditEvidence", "IndicatorEvidence", "WarehouseEvidence", "OrderEvidence"):
        assert schemas[name]["additionalProperties"] is True, name
