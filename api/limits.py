"""Request size limits, enforced before anything else reads the request (issue 15 D3).

A pure ASGI middleware, outermost of the app's own: headers larger than `MAX_HEADER_BYTES` are answered 431 and
a body whose `Content-Length` exceeds `MAX_BODY_BYTES` 413, both as problem+json and before authentication,
routing or the body is read. A body sent without a length (chunked) is counted as it is read and cut off at
the limit with the same 413, so at most `MAX_BODY_BYTES` of it is ever held. The proxy in front enforces the
same limits (deploy/caddy/Caddyfile); this one holds when the API is reached directly.
"""

from __future__ import annotations

from typing import Final

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import PROBLEM_MEDIA_TYPE, TYPE_BASE, problem_body

MAX_BODY_BYTES: Final = 64 * 1024
"""The largest request body: the API's only body is a webhook registration (a URL of ≤ 2,000 characters)."""
MAX_HEADER_BYTES: Final = 16 * 1024
"""The largest request line plus headers (an API key is 60 characters)."""


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a body without a length grows past the limit (FastAPI re-raises HTTP errors)."""

    def __init__(self) -> None:
        super().__init__(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")


def _problem(status: int, slug: str, title: str, detail: str, path: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    body = orjson.dumps(problem_body(status, TYPE_BASE + slug, title, detail, path))
    headers = [(b"content-type", PROBLEM_MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close")]
    return headers, body


def too_large_detail() -> str:
    return f"the request body may be at most {MAX_BODY_BYTES} bytes; nothing of it was processed"


class SizeLimitMiddleware:
    """431 for oversized headers, 413 for oversized bodies, before the request reaches the app."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY_BYTES, max_headers: int = MAX_HEADER_BYTES) -> None:
        self.app = app
        self.max_body = max_body
        self.max_headers = max_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header_bytes = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"") + 16
        length: bytes | None = None
        for name, value in scope["headers"]:
            header_bytes += len(name) + len(value) + 4
            if name == b"content-length":
                length = value
        if header_bytes > self.max_headers:
            await self._refuse(send, 431, "headers-too-large", "Request Header Fields Too Large",
                               f"the request line and headers may be at most {self.max_headers} bytes", scope)
            return
        if length is not None and (not length.strip().isdigit() or int(length) > self.max_body):
            await self._refuse(send, 413, "body-too-large", "Content Too Large", too_large_detail(), scope)
            return
        if length is not None:
            await self.app(scope, receive, send)  # the server delivers at most Content-Length bytes
            return
        state = {"read": 0, "started": False}

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["read"] += len(message.get("body", b""))
                if state["read"] > self.max_body:
                    raise BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if state["started"]:
                raise
            await self._refuse(send, 413, "body-too-large", "Content Too Large", too_large_detail(), scope)

    @staticmethod
    async def _refuse(send: Send, status: int, slug: str, title: str, detail: str, scope: Scope) -> None:
        headers, body = _problem(status, slug, title, detail, scope.get("path", ""))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
