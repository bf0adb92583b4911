"""The scheduler's health endpoint: every job's last run, duration and error, from the registry (all replicas).

`GET /health` answers 200 when the registry answers and no switched-on job is overdue, else 503; the body is
the same JSON either way. A job is overdue when it has not succeeded for its period plus its timeout plus
`GRACE_S`, counted from its last success or, before the first, from this replica's start.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

from sqlalchemy.exc import SQLAlchemyError

from core.registry import jobs as leases
from enerdiag.scheduler.jobs import JobSpec
from enerdiag.scheduler.runner import JobRunner

log = logging.getLogger(__name__)

GRACE_S: Final = 600


def report(runner: JobRunner, specs: list[JobSpec], started: float, alive: bool = True) -> tuple[bool, dict[str, Any]]:
    """(healthy, body) for this replica now."""
    problems: list[str] = []
    if not alive:
        problems.append("the scheduler has stopped")
    reachable = True
    try:
        with runner.engine.connect() as conn:
            now, states = leases.read_states(conn)
    except SQLAlchemyError as exc:
        reachable = False
        now, states = time.time(), {}
        problems.append("registry unavailable")
        log.error("scheduler health: registry unavailable: %s: %s", type(exc).__name__, exc)
    jobs = []
    for spec in specs:
        state = states.get(spec.name)
        local = runner.local.get(spec.name)
        since = max(x for x in (state.last_ok_at if state else None, started) if x is not None)
        overdue = spec.enabled and reachable and now - since > spec.every_s + spec.timeout_s + GRACE_S
        if overdue:
            problems.append(f"{spec.name}: no successful run for {now - since:.0f} s")
        jobs.append({
            "job": spec.name, "enabled": spec.enabled, "every_s": spec.every_s, "timeout_s": spec.timeout_s,
            "description": spec.description,
            "running_on": state.holder if state else None,
            "last_start": _iso(state.started_at) if state else None,
            "last_end": _iso(state.finished_at) if state else None,
            "last_duration_s": _round(state.duration_s) if state else None,
            "last_exit_code": state.exit_code if state else None,
            "last_error": state.error if state else None,
            "last_ok": _iso(state.last_ok_at) if state else None,
            "last_replica": state.last_holder if state else None,
            "runs": state.runs if state else 0,
            "overdue": overdue,
            "this_replica": None if local is None else {"slot": _iso(local.slot), "ran": local.ran,
                                                        "error": local.error},
        })
    return not problems, {"status": "ok" if not problems else "unhealthy", "problems": problems,
                          "replica": runner.holder, "now": _iso(now), "jobs": jobs}


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def serve(runner: JobRunner, specs: list[JobSpec], host: str, port: int, started: float,
          alive: threading.Event) -> ThreadingHTTPServer:
    """Start the endpoint on a daemon thread; `alive` cleared means the scheduler stopped."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] not in ("/health", "/"):
                self._send(404, {"status": "not found", "paths": ["/health"]})
                return
            healthy, body = report(runner, specs, started, alive.is_set())
            self._send(200 if healthy else 503, body)

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # health checks every 15 s: no access log
            return

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="scheduler-health", daemon=True).start()
    return server
