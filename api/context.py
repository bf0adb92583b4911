"""What one API app holds for its lifetime: settings, registry URL, InfluxDB client, clock, limits."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from sqlalchemy.orm import Session

from api.access_state import AccessState
from api.cache import FIGURES_TTL_S, HEALTH_TTL_S, REGISTRY_TTL_S, TTLCache
from api.egress import EgressPolicy
from api.guards import FailureLimiter, HeavyLimiter
from api.ratelimit import RateLimit, RateLimiter
from core.domain import DEFAULT_TIMEZONE
from core.influx import InfluxV1
from core.registry.db import get_engine, session_scope
from core.settings import Settings

Clock = Callable[[], dt.datetime]

CONSENT_TIMEZONE = ZoneInfo(DEFAULT_TIMEZONE)
"""Consent end dates are calendar dates in China's time (a consent `until` 2027-12-31 ends at midnight Beijing)."""


def system_clock() -> dt.datetime:
    """Now, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


@dataclass
class ApiContext:
    """The app's collaborators, reached by every dependency through `request.app.state.ctx`."""

    settings: Settings
    registry_url: str
    influx: InfluxV1
    clock: Clock = system_clock
    rate_limiter: RateLimiter = field(default_factory=lambda: RateLimiter(RateLimit()))
    webhook_policy: EgressPolicy = field(default_factory=EgressPolicy)  # webhook URLs (api.egress)
    failures: FailureLimiter = field(default_factory=FailureLimiter)  # failed keys per client address
    heavy: HeavyLimiter = field(default_factory=HeavyLimiter)  # computing requests per bank
    figures: TTLCache[Any] = field(default_factory=lambda: TTLCache(FIGURES_TTL_S))
    enterprises: TTLCache[Any] = field(default_factory=lambda: TTLCache(REGISTRY_TTL_S))
    health: TTLCache[Any] = field(default_factory=lambda: TTLCache(HEALTH_TTL_S, max_entries=1))
    access: AccessState = field(init=False)

    def __post_init__(self) -> None:
        self.access = AccessState(get_engine(self.registry_url))
        self.access.on_change(self.enterprises.clear)  # enterprise facts are registry rows too

    def now(self) -> dt.datetime:
        """The app's notion of now (UTC); tests move it to expire consents and keys."""
        return self.clock().astimezone(dt.UTC)

    def today(self) -> dt.date:
        """Today's date in China's time, for consent end dates."""
        return self.now().astimezone(CONSENT_TIMEZONE).date()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A registry session that commits at the end of the block."""
        with session_scope(self.registry_url) as session:
            yield session


def context_of(request: Request) -> ApiContext:
    """The ApiContext of the app serving `request`."""
    ctx: ApiContext = request.app.state.ctx
    return ctx
