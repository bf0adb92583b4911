"""Audit of every request that reaches an enterprise resource, allowed or denied, with its final status.

A pure ASGI middleware: it sees the status the client will get (200, 403, 404, 422, 429, 500 …), writes the
record before the response starts, and answers 500 `audit-unavailable` instead of serving data it could not
audit (征信业务管理办法 asks that every query be traceable), also when the registry itself fails the request.

Only requests made with a valid key enter an enterprise's audit trail: a request without one (401, or 429 for
an address with too many failed keys) read nothing, and anyone could send any number of them. They go to an
anonymous stream of their own, the `enerdiag.api.anonymous` log (one JSON line each: time, client address,
method, path, status), which costs no registry write.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import sys
import threading
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, insert
from sqlalchemy.exc import DBAPIError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.context import ApiContext
from api.problems import PROBLEM_MEDIA_TYPE, TYPE_BASE, problem_body
from core.registry.dialects import sqlite_file_lock
from core.registry.models import AuditRecord

ENTERPRISE_PATH = re.compile(r"^/v1/enterprises/([0-9A-Z]{18})(?:/|$)")
"""Paths of one enterprise's resources; other shapes cannot name an enterprise and are not audited."""

log = logging.getLogger("enerdiag.api.audit")
anonymous_log = logging.getLogger("enerdiag.api.anonymous")
"""The anonymous stream: requests to enterprise resources without a valid key (never in an audit trail)."""


def stream_anonymous_to_stderr() -> None:
    """Send the anonymous stream to stderr (`enerdiag api`: uvicorn logs only warnings), once per process."""
    if not anonymous_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
        anonymous_log.addHandler(handler)
        anonymous_log.setLevel(logging.INFO)
        anonymous_log.propagate = False


AuditRow = tuple[str | None, str, str, int, dt.datetime]
Done = Callable[[BaseException | None], None]
MAX_BATCH = 500
"""Most rows one transaction writes (a larger backlog is written in several)."""
WRITE_LOCK_SUFFIX = "-writelock"
"""The OS lock beside a SQLite registry that the API processes' audit writers take turns on."""
IDLE_EXIT_S = 60.0
"""The writer thread ends after this long without rows (an idle app keeps no thread)."""


class AuditWriter:
    """Audit rows of concurrent requests written in one registry transaction (group commit) by one thread.

    A request hands its row over and waits until the transaction holding it has committed (or learns its
    error), so no response starts unaudited; but N concurrent requests take the registry's write lock once,
    not N times, and the event loop never blocks on the database write.
    """

    def __init__(self, write_batch: Callable[[list[AuditRow]], None]) -> None:
        self.write_batch = write_batch
        self._cond = threading.Condition()
        self._pending: list[tuple[AuditRow, Done]] = []
        self._thread: threading.Thread | None = None
        self.batches = 0

    def submit(self, row: AuditRow, done: Done) -> None:
        """Queue `row`; `done(None)` is called from the writer thread once it is committed, `done(error)` if not."""
        with self._cond:
            self._pending.append((row, done))
            if self._thread is None or not self._thread.is_alive():  # started lazily: after uvicorn's fork
                self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
                self._thread.start()
            self._cond.notify()

    async def write(self, row: AuditRow) -> None:
        """Write `row` and return once it is committed; raise the database's error if it was not."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def done(error: BaseException | None) -> None:
            loop.call_soon_threadsafe(_settle, future, error)

        self.submit(row, done)
        await future

    def write_blocking(self, row: AuditRow) -> None:
        """`write` for a caller without an event loop (tests, threads)."""
        finished = threading.Event()
        outcome: list[BaseException | None] = []

        def done(error: BaseException | None) -> None:
            outcome.append(error)
            finished.set()

        self.submit(row, done)
        finished.wait()
        if outcome[0] is not None:
            raise outcome[0]

    def _run(self) -> None:
        while True:
            with self._cond:
                if not self._pending:
                    self._cond.wait(IDLE_EXIT_S)
                if not self._pending:  # idle: end the thread (the next submit starts another)
                    self._thread = None
                    return
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            error: BaseException | None = None
            try:
                self.write_batch([row for row, _ in batch])
                self.batches += 1
            except Exception as exc:  # every waiter learns it; the thread keeps serving later rows
                error = exc
            for _, done in batch:
                done(error)


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)


def registry_writer(engine: Engine) -> Callable[[list[AuditRow]], None]:
    """Insert a batch of audit rows in one transaction of the registry database.

    The writer keeps its connection between batches (no pool checkout and liveness ping per batch); one
    that failed is dropped, and the next batch opens a new one.
    """
    table = AuditRecord.__table__
    held: list[Connection] = []

    def attempt(rows: list[AuditRow]) -> None:
        if not held:
            held.append(engine.connect())
        connection = held[0]
        try:
            # on SQLite the API processes take turns on an OS lock: SQLite's own busy handler polls (sleeps of
            # 1 ms growing to 100 ms), and two processes committing hundreds of times a second starve each other
            with sqlite_file_lock(engine, WRITE_LOCK_SUFFIX), connection.begin():
                connection.execute(insert(table), [
                    {"bank_id": bank_id, "enterprise_code": code, "path": path[:1000], "status": status, "at": at}
                    for bank_id, code, path, status, at in rows])
        except Exception:
            held.clear()
            if not connection.invalidated:
                connection.invalidate()
            raise

    def write(rows: list[AuditRow]) -> None:
        try:
            attempt(rows)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            attempt(rows)  # the kept connection died (database restarted): once more on a new one

    return write


class AuditMiddleware:
    """Writes one audit record per request to `/v1/enterprises/{code}…`, whatever the outcome."""

    def __init__(self, app: ASGIApp, ctx: ApiContext) -> None:
        self.app = app
        self.ctx = ctx
        self.writer = AuditWriter(registry_writer(ctx.access.engine))

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
        except Exception as exc:
            if state["audited"]:
                raise
            state["audited"] = True
            if await self._record(scope, code, path, 500) and not isinstance(exc, DBAPIError):
                raise
            # the registry failed the request (locked, down) or its record could not be written: no data
            log.error("request to %s failed on the registry (%s); answered audit-unavailable", code,
                      type(exc).__name__)
            await self._send_unaudited(scope, send)

    async def _record(self, scope: Scope, code: str, path: str, status: int) -> bool:
        bank_id = scope.get("state", {}).get("bank_id")
        if bank_id is None:
            client = scope.get("client")
            anonymous_log.info("%s", orjson.dumps({
                "at": self.ctx.now().isoformat(timespec="seconds"), "client": client[0] if client else None,
                "method": scope.get("method"), "path": path[:1000], "status": status}).decode())
            return True
        try:
            await self.writer.write((bank_id, code, path, status, self.ctx.now().replace(microsecond=0)))
        except Exception:
            log.exception("audit record for %s %s (status %s) could not be written", code, path, status)
            return False
        return True

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
