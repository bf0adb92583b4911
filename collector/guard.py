"""Per-gateway guards: how fast a gateway may send, how many meters it may name, how many dead letters it may cost.

A gateway is an account on a plant network we do not control (docs/security.md, "Gateway"). Whatever it
sends, it must not cost the collector, InfluxDB or the dead-letter disk so much that other gateways'
readings suffer. Checked in paho's network thread for every message, so each check is a dict lookup and
a little arithmetic; state is bounded (one entry per gateway that sent something, reset when too many).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

GatewayKey = tuple[str | None, str | None]
"""(enterprise, gateway) of a topic; None parts when the topic does not name them."""

_MAX_GATEWAYS = 100_000  # gateways tracked before the state is dropped (open mode could name any number)


@dataclass(frozen=True)
class GuardLimits:
    """Per-gateway limits (defaults: far above what a real gateway sends, far below what hurts others).

    A real gateway sends one message per meter group and interval (≈ 1/min .. 5/s) and, after an outage,
    its backlog at once: `burst` covers a day of one message a minute or an hour of five a second.
    """

    rate: float = 50.0  # messages per second, sustained
    burst: int = 20_000  # messages at once
    max_meters: int = 2_000  # distinct meter ids a gateway may name per `window`
    window: float = 3600.0  # s
    letters_per_minute: int = 1_000  # dead letters stored per gateway and minute; the rest are counted only

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1 or self.max_meters < 1 or self.window <= 0:
            raise ValueError("gateway limits must be positive")
        if self.letters_per_minute < 1:
            raise ValueError("letters_per_minute must be at least 1")


class GatewayGuard:
    """The state behind `GuardLimits`; not thread-safe (the collector calls it under its held lock)."""

    def __init__(self, limits: GuardLimits | None = None, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits or GuardLimits()
        self._clock = monotonic
        self._tokens: dict[GatewayKey, list[float]] = {}  # key -> [tokens, last refill]
        self._meters: dict[GatewayKey, set[str]] = {}
        self._meters_until = self._clock() + self.limits.window
        self._letters: dict[GatewayKey, int] = {}
        self._letters_until = self._clock() + 60.0

    def admit(self, key: GatewayKey) -> bool:
        """Take one message from the gateway's token bucket; False when it is empty (message refused)."""
        now = self._clock()
        bucket = self._tokens.get(key)
        if bucket is None:
            if len(self._tokens) >= _MAX_GATEWAYS:
                self._tokens.clear()
            bucket = self._tokens[key] = [float(self.limits.burst), now]
        tokens = min(float(self.limits.burst), bucket[0] + (now - bucket[1]) * self.limits.rate)
        bucket[1] = now
        if tokens < 1.0:
            bucket[0] = tokens
            return False
        bucket[0] = tokens - 1.0
        return True

    def meters(self, key: GatewayKey) -> set[str]:
        """The meter ids the gateway named in the current window (parsing adds to it, up to `max_meters`)."""
        now = self._clock()
        if now >= self._meters_until:
            self._meters.clear()
            self._meters_until = now + self.limits.window
        seen = self._meters.get(key)
        if seen is None:
            if len(self._meters) >= _MAX_GATEWAYS:
                self._meters.clear()
            seen = self._meters[key] = set()
        return seen

    def letter(self, key: GatewayKey) -> int:
        """Count one dead letter of the gateway in this minute; returns how many it has had, this one included.

        The caller stores it while the count is within `letters_per_minute`, records one notice when the
        count is one more, and only counts the rest.
        """
        now = self._clock()
        if now >= self._letters_until:
            self._letters.clear()
            self._letters_until = now + 60.0
        count = self._letters.get(key, 0) + 1
        if count == 1 and len(self._letters) >= _MAX_GATEWAYS:
            self._letters.clear()
        self._letters[key] = count
        return count

    @property
    def letters_reset_in(self) -> float:
        """Seconds until the dead-letter budgets start again."""
        return max(0.0, self._letters_until - self._clock())
