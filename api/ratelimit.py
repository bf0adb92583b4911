"""Per-key fixed-window rate limits whose counters live in the registry database.

The counter is one row per (key, window), incremented with a single atomic upsert that returns the
new count (`INSERT … ON CONFLICT DO UPDATE … RETURNING`, SQLite ≥ 3.35 and PostgreSQL), so every
API process behind a load balancer counts against the same limit. To spare a database write per
request, a process takes a small lease of requests at once (limit / 50, at least 1) and serves it
locally: the database never grants more than the limit in a window; leased requests a process does
not use by the window's end are lost (at most lease − 1 per process).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from sqlalchemy import Connection, delete
from sqlalchemy.orm import Session

from api.models import RateLimitWindow
from core.registry.dialects import upsert_insert

LEASE_SHARE = 50
"""A process leases limit / LEASE_SHARE requests at a time (at least one)."""
PURGE_EVERY = 256
"""Delete windows older than the previous one every this many increments of a process."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `requests` per `window_s` seconds per API key."""

    requests: int = 600
    window_s: int = 60

    def __post_init__(self) -> None:
        if self.requests < 1 or self.window_s < 1:
            raise ValueError("rate limit needs requests >= 1 and window_s >= 1")


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of counting one request."""

    allowed: bool
    count: int
    limit: int
    retry_after_s: int  # seconds until the window resets (0 when allowed)
    reset_s: int  # seconds until the current window ends


def window_of(now_s: float, window_s: int) -> int:
    """Start (epoch seconds) of the fixed window containing `now_s`."""
    return int(now_s // window_s) * window_s


def verdict(count: int, now_s: float, limit: RateLimit) -> Verdict:
    """Pure: whether request number `count` of its window is allowed, and when to retry."""
    start = window_of(now_s, limit.window_s)
    reset = max(1, math.ceil(start + limit.window_s - now_s))
    allowed = count <= limit.requests
    return Verdict(allowed, count, limit.requests, 0 if allowed else reset, reset)


class RateLimiter:
    """Counts requests per bucket in the registry database (atomic upsert; shared across processes)."""

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self.lease = max(1, limit.requests // LEASE_SHARE)
        self._calls = 0
        self._local: dict[str, tuple[int, int, int]] = {}  # bucket -> (window start, unused leased, db count)
        self._lock = threading.Lock()

    def hit_local(self, bucket: str, now_s: float) -> Verdict | None:
        """Count one request from this process's lease, or None when the database must be asked (`hit`)."""
        start = window_of(now_s, self.limit.window_s)
        with self._lock:
            window, unused, seen = self._local.get(bucket, (start, 0, 0))
            if window == start and unused > 0:
                self._local[bucket] = (start, unused - 1, seen)
                return verdict(seen - unused + 1, now_s, self.limit)
            if window == start and seen >= self.limit.requests:
                return verdict(seen + 1, now_s, self.limit)  # the window is spent; no need to ask again
        return None

    def hit(self, session: Session | Connection, bucket: str, now_s: float) -> Verdict:
        """Count one request of `bucket` at `now_s` and say whether it is within the limit."""
        local = self.hit_local(bucket, now_s)
        if local is not None:
            return local
        start = window_of(now_s, self.limit.window_s)
        count = _increment(session, bucket, start, self.lease)
        granted = max(0, min(self.lease, self.lease - (count - self.limit.requests)))
        with self._lock:
            self._local[bucket] = (start, max(granted - 1, 0), count)
            self._calls += 1
            purge = self._calls % PURGE_EVERY == 0
        if purge:
            session.execute(
                delete(RateLimitWindow).where(RateLimitWindow.window_start < start - self.limit.window_s)
            )
        if granted == 0:
            return verdict(max(count, self.limit.requests + 1), now_s, self.limit)
        return verdict(count - granted + 1, now_s, self.limit)


def _increment(session: Session | Connection, bucket: str, start: int, n: int = 1) -> int:
    """Add `n` to the (bucket, window) counter and return the new value, atomically."""
    dialect = (session.get_bind() if isinstance(session, Session) else session).dialect.name
    table = RateLimitWindow.__table__
    stmt = (
        upsert_insert(dialect)(table)
        .values(bucket=bucket, window_start=start, count=n)
        .on_conflict_do_update(index_elements=["bucket", "window_start"], set_={"count": table.c.count + n})
        .returning(table.c.count)
    )
    return int(session.execute(stmt).scalar_one())
