"""JSON answers serialised with orjson (several times faster than the stdlib encoder on large series)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """`content` as application/json bytes."""
    return Response(
        orjson.dumps(content, option=ORJSON_OPTIONS), status_code=status, media_type="application/json",
        headers=headers,
    )
