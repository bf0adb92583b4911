"""`GET /v1/health`: no auth; whether InfluxDB and the registry answer (503 problem+json when one does not)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text
from starlette.responses import Response

from api.context import context_of
from api.problems import PROBLEM_SCHEMA, TYPE_BASE, problem_response
from api.responses import json_response
from api.schemas import Health

router = APIRouter()


def _registry_ok(request: Request) -> tuple[bool, str]:
    try:
        with context_of(request).session() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "does not answer"; the class name is no secret
        return False, f"registry does not answer ({type(exc).__name__})"
    return True, "registry answers"


def _influx_ok(request: Request) -> tuple[bool, str]:
    if context_of(request).influx.ping():
        return True, "InfluxDB answers"
    return False, "InfluxDB does not answer /ping"


def _checks(request: Request) -> dict[str, dict[str, Any]]:
    checks = {}
    for name, probe in (("influxdb", _influx_ok), ("registry", _registry_ok)):
        ok, detail = probe(request)
        checks[name] = {"ok": ok, "detail": detail}
    return checks


@router.get(
    "/v1/health",
    response_model=Health,
    summary="Whether the API's dependencies answer",
    responses={503: PROBLEM_SCHEMA},
    tags=["health"],
)
def health(request: Request) -> Response:
    """No authentication. 200 when InfluxDB and the registry both answer, else 503 naming the one that does not.

    The probes' answer is reused for up to a second (api.cache.HEALTH_TTL_S)."""
    checks: dict[str, dict[str, Any]] = context_of(request).health.get_or_compute("checks", lambda: _checks(request))
    if all(c["ok"] for c in checks.values()):
        return json_response({"status": "ok", "checks": checks})
    down = ", ".join(name for name, c in checks.items() if not c["ok"])
    return problem_response(
        request, 503, TYPE_BASE + "dependency-down", "Service Unavailable", f"not answering: {down}",
        extra={"status_text": "degraded", "checks": checks},
    )
