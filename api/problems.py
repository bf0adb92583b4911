"""Every error of the API as `application/problem+json` (RFC 9457), including FastAPI's own.

One exception type (`ProblemError`) for the API's deliberate answers, and handlers that turn
validation errors, unknown routes and unexpected exceptions into the same shape. A 500 never
carries exception text: the log has it, the client gets an id to quote.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "urn:enerdiag:problem:"
"""Problem types are URNs documented in docs/api.md ("Errors"); `about:blank` for plain HTTP statuses."""

log = logging.getLogger("enerdiag.api")

HTTP_TITLES: dict[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    501: "Not Implemented",
    503: "Service Unavailable",
}


class ProblemError(Exception):
    """A deliberate error answer: status, a stable type slug, and a detail a person can act on."""

    def __init__(
        self,
        status: int,
        slug: str,
        title: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})


def problem_body(
    status: int, type_: str, title: str, detail: str, instance: str, extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The RFC 9457 members in their usual order, then any extension members."""
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail, "instance": instance}
    if extra:
        body.update(extra)
    return body


def problem_response(
    request: Request,
    status: int,
    type_: str,
    title: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    """A problem+json response whose `instance` is the request's path."""
    body = problem_body(status, type_, title, detail, request.url.path, extra)
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=dict(headers or {}))


def _location(loc: Sequence[Any]) -> tuple[str, str]:
    """Where a validation error is (`query`, `path`, `header`, `body`) and the parameter's name."""
    where = str(loc[0]) if loc else "request"
    name = ".".join(str(part) for part in loc[1:]) or where
    return where, name


def validation_detail(errors: Sequence[Mapping[str, Any]]) -> tuple[str, list[dict[str, str]]]:
    """One sentence naming each bad parameter, and the same as a list for programs."""
    items: list[dict[str, str]] = []
    for err in errors:
        where, name = _location(err.get("loc", ()))
        message = str(err.get("msg", "invalid value"))
        if message.startswith("Value error, "):
            message = message[len("Value error, ") :]
        items.append({"in": where, "name": name, "message": message})
    sentence = "; ".join(f"{item['in']} parameter '{item['name']}': {item['message']}" for item in items)
    return sentence or "the request is invalid", items


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(
        request, exc.status, TYPE_BASE + exc.slug, exc.title, exc.detail, headers=exc.headers, extra=exc.extra
    )


def _needs_key(request: Request) -> bool:
    """Paths whose operations take a Bearer key (everything under /v1/ except the health check)."""
    path = request.url.path
    return path.startswith("/v1/") and path != "/v1/health"


async def _unauthenticated(request: Request) -> Response | None:
    """A request rejected before its auth dependency ran (bad body or parameters) still answers 401 first
    when it carries no valid key: a caller without a key learns nothing about the request's shape."""
    if not _needs_key(request):
        return None
    from api.auth import authenticate  # api.auth raises this module's ProblemError

    try:
        await authenticate(request)
    except ProblemError as exc:
        return await _on_problem(request, exc)
    return None


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    denied = await _unauthenticated(request)
    if denied is not None:
        return denied
    detail, items = validation_detail(exc.errors())
    return problem_response(
        request, 422, TYPE_BASE + "invalid-parameter", "Invalid request parameter", detail, extra={"errors": items}
    )


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 400:  # FastAPI could not read the body (not UTF-8, not JSON): an invalid request body
        denied = await _unauthenticated(request)
        if denied is not None:
            return denied
        return problem_response(
            request, 422, TYPE_BASE + "invalid-parameter", "Invalid request parameter",
            f"body: {exc.detail}: send a UTF-8 JSON object", extra={"errors": [
                {"in": "body", "name": "body", "message": str(exc.detail)}]},
        )
    if status == 413:  # a body without a length grew past api.limits.MAX_BODY_BYTES while it was read
        return problem_response(request, 413, TYPE_BASE + "body-too-large", HTTP_TITLES[413], str(exc.detail),
                                headers={"Connection": "close"})
    if status == 404:
        detail = f"there is no resource at {request.url.path}; see /openapi.json for the API's paths"
    elif status == 405:
        detail = f"method {request.method} is not allowed on {request.url.path}"
    else:
        detail = str(exc.detail) if status < 500 else HTTP_TITLES.get(status, "error")
    return problem_response(
        request, status, "about:blank", HTTP_TITLES.get(status, "Error"), detail, headers=exc.headers
    )


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    error_id = secrets.token_hex(8)
    log.exception("unhandled error %s on %s %s", error_id, request.method, request.url.path)
    return problem_response(
        request,
        500,
        TYPE_BASE + "internal-error",
        "Internal Server Error",
        f"the server failed to answer this request; quote error id {error_id} to the operator",
        extra={"error_id": error_id},
    )


def install(app: FastAPI) -> None:
    """Register the problem+json handlers on an app."""
    app.add_exception_handler(ProblemError, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)


PROBLEM_SCHEMA: dict[str, Any] = {
    "description": "An RFC 9457 problem",
    "content": {
        PROBLEM_MEDIA_TYPE: {
            "schema": {
                "type": "object",
                "required": ["type", "title", "status", "detail", "instance"],
                "properties": {
                    "type": {"type": "string"},
                    "title": {"type": "string"},
                    "status": {"type": "integer"},
                    "detail": {"type": "string"},
                    "instance": {"type": "string"},
                },
            }
        }
    },
}
"""OpenAPI response object for problem answers (listed on every operation)."""
