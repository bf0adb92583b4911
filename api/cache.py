"""Short-lived per-process caches of registry facts and computed figures (the hot path of the bank endpoints).

Figures depend only on the rollups and the registry, which change when `enerdiag rollup` runs (hourly) or
an operator edits the registry: a few tens of seconds of staleness is invisible to a bank. Consent, scope,
rate limit and audit are never cached; keys, consents and objections are kept only while the registry's
change counter stands still (api.access_state), which every request reads.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Final, Generic, TypeVar

V = TypeVar("V")

FIGURES_TTL_S: Final = 60.0
"""How long computed figures (credit indicators, profile months, …) are reused for the same key."""
REGISTRY_TTL_S: Final = 600.0
"""How long an enterprise's registry facts (meters, roles, product) are reused; any registry change clears them
sooner (api.access_state), so this only bounds memory of enterprises no longer asked for."""
HEALTH_TTL_S: Final = 1.0
"""How long a health probe's answer is reused (a load balancer polling many times a second costs one probe)."""


class TTLCache(Generic[V]):
    """A thread-safe mapping whose entries expire `ttl_s` after they were stored; least recently used evicted."""

    def __init__(self, ttl_s: float, max_entries: int = 20_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._clock = clock
        self._data: OrderedDict[Hashable, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()
        self._flights: dict[Hashable, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> V | None:
        """The live value for `key`, or None."""
        now = self._clock()
        with self._lock:
            entry = self._data.get(key)
            if entry is None or entry[0] <= now:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return entry[1]

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._data[key] = (self._clock() + self.ttl_s, value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def get_or_compute(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The cached value, else `compute()` stored; concurrent misses of one key compute it once (the others
        wait and reuse it). Errors are not cached."""
        value = self.get(key)
        if value is not None:
            return value
        with self._lock:
            flight = self._flights.setdefault(key, threading.Lock())
        try:
            with flight:
                value = self.get(key)
                if value is None:
                    value = compute()
                    self.put(key, value)
        finally:
            with self._lock:
                self._flights.pop(key, None)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
