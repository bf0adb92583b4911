"""Per-gateway guards (collector/guard.py) on a hand-driven clock."""

from __future__ import annotations

import pytest

from collector.guard import GatewayGuard, GuardLimits

A, B = ("91330100MA27XL0E96", "gw1"), ("91330100MA27XL0E96", "gw2")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rate_is_a_token_bucket_per_gateway() -> None:
    clock = Clock()
    guard = GatewayGuard(GuardLimits(rate=2.0, burst=5), clock)
    assert [guard.admit(A) for _ in range(7)] == [True] * 5 + [False] * 2
    assert guard.admit(B)  # another gateway has its own bucket
    clock.now += 1.0  # two messages' worth refilled
    assert [guard.admit(A) for _ in range(3)] == [True, True, False]
    clock.now += 100.0  # refills up to the burst, not beyond
    assert sum(guard.admit(A) for _ in range(10)) == 5


def test_meter_sets_are_per_gateway_and_per_window() -> None:
    clock = Clock()
    guard = GatewayGuard(GuardLimits(max_meters=3, window=60.0), clock)
    guard.meters(A).update({"M1", "M2"})
    assert guard.meters(A) == {"M1", "M2"} and guard.meters(B) == set()
    clock.now += 61.0
    assert guard.meters(A) == set()


def test_dead_letter_budget_counts_per_gateway_and_minute() -> None:
    clock = Clock()
    guard = GatewayGuard(GuardLimits(letters_per_minute=2), clock)
    assert [guard.letter(A) for _ in range(4)] == [1, 2, 3, 4]
    assert guard.letter(B) == 1
    clock.now += 60.0
    assert guard.letter(A) == 1 and guard.letters_reset_in == pytest.approx(60.0)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        GuardLimits(rate=0)
    with pytest.raises(ValueError):
        GuardLimits(max_meters=0)
