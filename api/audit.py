"""Audit of every request that reaches an enterprise resource, allowed or denied, with its final status.

A pure ASGI middleware: it sees the status the client will get (200, 401, 403, 404, 422, 429, 500 …),
writes the record before the response starts, and answers 500 instead of serving data it could not
audit (征信业务管理办法 asks that every query be traceable).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from concurrent.futures import Future
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.context import ApiContext
from api.problems import PROBLEM_MEDIA_TYPE, TYPE_BASE, problem_body
from core.registry.access import record_audit

ENTERPRISE_PATH = re.compile(r"^/v1/enterprises/([0-9A-Z]{18})(?:/|$)")
"""Paths of one enterprise's resources; other shapes cannot name an enterprise and are not audited."""

log = logging.getLogger("enerdiag.api.audit")


AuditRow = tuple[str | None, str, str, int, dt.datetime]


class GroupCommit:
    """Audit rows of concurrent requests written in one registry transaction (group commit).

    Each caller waits until the transaction holding its row has committed (or raises its error), so no
    response starts unaudited; but N concurrent requests take the registry's write lock once, not N times
    (on SQLite, contended writers otherwise sleep in the busy handler for milliseconds each).
    """

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx
        self._cond = threading.Condition()
        self._pending: list[tuple[AuditRow, Future[None]]] = []
        self._writing = False

    def write(self, row: AuditRow) -> None:
        """Write `row` (with whatever else is pending) and return once it is committed; raise if it was not."""
        done: Future[None] = Future()
        with self._cond:
            self._pending.append((row, done))
            while self._writing and not done.done():
                self._cond.wait()
            if done.done():
                done.result()
                return
            self._writing = True
            batch, self._pending = self._pending, []
        try:
            self._commit(batch)
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()
        done.result()

    def _commit(self, batch: list[tuple[AuditRow, Future[None]]]) -> None:
        try:
            with self.ctx.session() as session:
                for (bank_id, code, path, status, at), _ in batch:
                    record_audit(session, bank_id, code, path, status, at=at)
        except Exception as exc:
            for _, done in batch:
                done.set_exception(exc)
        else:
            for _, done in batch:
                done.set_result(None)


class AuditMiddleware:
    """Writes one audit record per request to `/v1/enterprises/{code}…`, whatever the outcome."""

    def __init__(self, app: ASGIApp, ctx: ApiContext) -> None:
        self.app = app
        self.ctx = ctx
        self.writer = GroupCommit(ctx)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        match = ENTERPRISE_PATH.match(scope["path"])
        if match is None:
            await self.app(scope, receive, send)
            return
        code = match.group(1)
        query = scope.get("query_string", b"").decode("latin-1")
        path = scope["path"] + (f"?{query}" if query else "")
        state: dict[str, Any] = {"audited": False, "replaced": False}

        async def audited_send(message: Message) -> None:
            if state["replaced"]:
                return
            if message["type"] == "http.response.start" and not state["audited"]:
                state["audited"] = True
                if not await self._record(scope, code, path, int(message["status"])):
                    state["replaced"] = True
                    await self._send_unaudited(scope, send)
                    return
            await send(message)

        try:
            await self.app(scope, receive, audited_send)
        except Exception:
            if not state["audited"]:
                state["audited"] = True
                await self._record(scope, code, path, 500)
            raise

    async def _record(self, scope: Scope, code: str, path: str, status: int) -> bool:
        bank_id = scope.get("state", {}).get("bank_id")
        try:
            await run_in_threadpool(self._write, bank_id, code, path, status)
        except Exception:
            log.exception("audit record for %s %s (status %s) could not be written", code, path, status)
            return False
        return True

    def _write(self, bank_id: str | None, code: str, path: str, status: int) -> None:
        self.writer.write((bank_id, code, path, status, self.ctx.now().replace(microsecond=0)))

    @staticmethod
    async def _send_unaudited(scope: Scope, send: Send) -> None:
        body = orjson.dumps(
            problem_body(
                500,
                TYPE_BASE + "audit-unavailable",
                "Internal Server Error",
                "the request could not be recorded in the audit log, so no data is served; try again later",
                scope["path"],
            )
        )
        headers = [(b"content-type", PROBLEM_MEDIA_TYPE.encode()), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 500, "headers": headers})
        await send({"type": "http.response.body", "body": body})
