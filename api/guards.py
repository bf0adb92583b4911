"""Per-process guards of the API's costly work: failed keys per client address, heavy requests per bank.

- `FailureLimiter` (issue 15 D6): failed authentications (no key, a malformed, unknown, wrong, revoked or
  expired key) are counted per client address in fixed one-minute windows. Past the limit, the address gets
  429 before any key is looked at, unless the key was already verified by this process (a dictionary lookup,
  no argon2): a client sharing an address with a guesser keeps working, the guesser costs nothing more.
- `HeavyLimiter` (issue 15 D8): requests that compute (a cache miss of series or figures: InfluxDB queries and
  Python aggregation holding the GIL) are limited per bank in concurrency and in cost per minute (points
  computed), so one bank cannot take the workers and CPU another bank's requests need. Over either limit the
  request gets 429 with `Retry-After`, before any work; answers served from the cache are never limited.

Both live in memory per API process (N processes allow N times the numbers): they bound cost, which is per
process too; the per-key request limit shared by every process is `api.ratelimit`.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from api.problems import ProblemError

FAILURES_PER_MINUTE: Final = 20
"""Failed authentications an address may make per minute before it is refused (429)."""
WINDOW_S: Final = 60
MAX_ADDRESSES: Final = 100_000
"""Addresses remembered (least recently failed dropped first): a spoofing flood cannot grow memory further."""
HEAVY_PER_BANK: Final = 2
"""Computing requests a bank may have in flight in one process."""
COST_PER_MINUTE: Final = 400_000
"""Points (buckets × meters) a bank's computing requests may produce per minute in one process: about 45
one-year hourly single-meter series, or 1,000 three-year daily ones."""


def _retry_after(now_s: float) -> int:
    return max(1, math.ceil((now_s // WINDOW_S + 1) * WINDOW_S - now_s))


class FailureLimiter:
    """Failed authentications per client address per minute."""

    def __init__(self, limit: int = FAILURES_PER_MINUTE) -> None:
        self.limit = limit
        self._windows: OrderedDict[str, tuple[int, int]] = OrderedDict()  # address -> (window start, failures)
        self._lock = threading.Lock()

    def blocked(self, address: str, now_s: float) -> int | None:
        """Seconds until `address` may try again, or None when it is under the limit."""
        start = int(now_s // WINDOW_S) * WINDOW_S
        with self._lock:
            window, failures = self._windows.get(address, (start, 0))
        if window == start and failures >= self.limit:
            return _retry_after(now_s)
        return None

    def fail(self, address: str, now_s: float) -> None:
        """Count one failed authentication of `address`."""
        start = int(now_s // WINDOW_S) * WINDOW_S
        with self._lock:
            window, failures = self._windows.pop(address, (start, 0))
            self._windows[address] = (start, failures + 1 if window == start else 1)
            while len(self._windows) > MAX_ADDRESSES:
                self._windows.popitem(last=False)


def too_many_failures(retry_after_s: int, limit: int) -> ProblemError:
    return ProblemError(
        429, "rate-limited", "Too many requests",
        f"too many failed authentications from your address (at most {limit} a minute); retry after "
        f"{retry_after_s} s", headers={"Retry-After": str(retry_after_s)})


@dataclass
class _Bank:
    in_flight: int = 0
    window: int = 0
    spent: int = 0


class HeavyLimiter:
    """Concurrency and cost per minute of each bank's computing requests."""

    def __init__(self, per_bank: int = HEAVY_PER_BANK, cost_per_minute: int = COST_PER_MINUTE) -> None:
        self.per_bank = per_bank
        self.cost_per_minute = cost_per_minute
        self._banks: dict[str, _Bank] = {}
        self._lock = threading.Lock()

    @contextmanager
    def admit(self, bank_id: str, cost: int, now_s: float) -> Iterator[None]:
        """Hold one of the bank's computing slots and spend `cost` for the block; 429 ProblemError when the bank
        has `per_bank` requests computing already or `cost` exceeds what is left of its minute."""
        start = int(now_s // WINDOW_S) * WINDOW_S
        with self._lock:
            bank = self._banks.setdefault(bank_id, _Bank())
            if bank.window != start:
                bank.window, bank.spent = start, 0
            if bank.in_flight >= self.per_bank:
                raise ProblemError(
                    429, "too-many-concurrent", "Too many concurrent requests",
                    f"your bank may have at most {self.per_bank} computing requests in progress at once "
                    "(series, profile, warehouse, order verification not yet cached); retry after 1 s",
                    headers={"Retry-After": "1"})
            if bank.spent + cost > self.cost_per_minute and bank.spent > 0:
                retry = _retry_after(now_s)
                raise ProblemError(
                    429, "cost-limited", "Request cost limit reached",
                    f"your bank's requests this minute have asked for {bank.spent} points of {self.cost_per_minute}; "
                    f"this one needs {cost}; retry after {retry} s, or ask for a shorter period or a coarser "
                    "interval", headers={"Retry-After": str(retry)})
            bank.in_flight += 1
            bank.spent += cost
        try:
            yield
        finally:
            with self._lock:
                bank.in_flight -= 1
