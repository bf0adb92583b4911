"""Interval consumption from cumulative counters: the field's failure modes, with hand-worked numbers."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.consumption import (
    GAP,
    JUMP,
    REPLACED,
    RESET,
    ROLLBACK,
    WRAP,
    CounterEvent,
    CounterSpec,
    counter_intervals,
    hourly,
    hourly_consumption,
    max_rate_from_capacity,
    wrap_delta,
)

T0 = 1_764_518_400  # 2025-11-30T16:00:00Z = 2025-12-01 00:00 Asia/Shanghai, an hour boundary
H = 3600


def minutes(start: int, count: int, step_s: int = 60) -> np.ndarray:
    return start + step_s * np.arange(count)


def test_steady_minute_counter_gives_exact_hours() -> None:
    t = minutes(T0, 121)  # 00:00 .. 02:00 inclusive, one reading a minute
    v = 1000.0 + 0.5 * np.arange(121)  # 0.5 kWh a minute = 30 kWh an hour
    out = hourly_consumption(t, v)
    # the last reading (02:00) opens hour 2, which has consumed nothing yet
    assert list(out["hour_s"]) == [T0, T0 + H, T0 + 2 * H]
    assert out["value"].tolist() == pytest.approx([30.0, 30.0, 0.0])
    assert out["completeness"].tolist() == pytest.approx([1.0, 1.0, 0.0])
    assert out["estimated"].tolist() == [0.0, 0.0, 0.0]
    assert out["n_readings"].tolist() == [60, 60, 1]


def test_gap_spreads_over_the_hours_it_covers_and_lowers_completeness() -> None:
    # counter 100 at 00:00 and 150 at 03:00, nothing in between: 50/3 per hour, none of it measured
    out = hourly_consumption([T0, T0 + 3 * H], [100.0, 150.0])
    assert out["value"].tolist() == pytest.approx([50 / 3] * 3 + [0.0])
    assert out["estimated"].tolist() == pytest.approx([50 / 3] * 3 + [0.0])
    assert out["completeness"].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert out["n_readings"].tolist() == [1, 0, 0, 1]
    ivals = counter_intervals([T0, T0 + 3 * H], [100.0, 150.0])
    assert ivals.flag == [GAP]


def test_gap_not_aligned_to_hours_is_spread_by_overlap() -> None:
    # 00:30 → 02:00, 90 units: 30 in hour 0 (30 min), 60 in hour 1 (60 min)
    out = hourly_consumption([T0 + 1800, T0 + 2 * H], [0.0, 90.0])
    assert out["value"].tolist() == pytest.approx([30.0, 60.0, 0.0])


def test_partial_hour_completeness() -> None:
    # readings every minute from 00:00 to 00:30 only: half the hour measured
    t = minutes(T0, 31)
    out = hourly_consumption(t, np.arange(31, dtype=float))
    assert out["value"].tolist() == pytest.approx([30.0])
    assert out["completeness"].tolist() == pytest.approx([0.5])


def test_reset_counts_the_new_value_never_negative() -> None:
    t = [T0, T0 + 600, T0 + 1200]
    ivals = counter_intervals(t, [99_980.0, 99_990.0, 5.0])
    assert ivals.delta.tolist() == pytest.approx([10.0, 5.0])
    assert ivals.flag == ["", RESET]
    assert (ivals.delta >= 0).all()


def test_rollback_after_power_loss_counts_zero_and_rebases() -> None:
    t = [T0, T0 + 600, T0 + 1200, T0 + 1800]
    ivals = counter_intervals(t, [50_000.0, 50_010.0, 50_008.0, 50_020.0])
    assert ivals.delta.tolist() == pytest.approx([10.0, 0.0, 12.0])
    assert ivals.flag == ["", ROLLBACK, ""]


def test_wraparound_of_a_32_bit_register_scaled_by_0_01() -> None:
    modulus = 2**32 * 0.01  # 42,949,672.96 kWh
    t = [T0, T0 + 600]
    ivals = counter_intervals(t, [modulus - 3.0, 2.0])
    assert ivals.delta.tolist() == pytest.approx([5.0])
    assert ivals.flag == [WRAP]


def test_wraparound_of_a_23_bit_register() -> None:
    assert wrap_delta(2**23 - 10, 4) == pytest.approx(14.0)


def test_decimal_register_wraps_only_when_the_registry_says_so() -> None:
    t = [T0, T0 + 600]
    # 6-digit display 999999.9 declared in the registry: modulus 1,000,000.0
    declared = counter_intervals(t, [999_990.0, 5.0], CounterSpec(register_max=999_999.9))
    assert declared.delta.tolist() == pytest.approx([15.0])
    assert declared.flag == [WRAP]
    # without the declaration, the conservative reset reading
    undeclared = counter_intervals(t, [999_990.0, 5.0])
    assert undeclared.delta.tolist() == pytest.approx([5.0])
    assert undeclared.flag == [RESET]


def test_multiplier_applies_to_every_delta() -> None:
    t = minutes(T0, 61)
    v = 10.0 + 0.01 * np.arange(61)  # 0.6 secondary kWh an hour through a 200/5 CT × 10 kV/100 V PT = 4,000
    out = hourly_consumption(t, v, CounterSpec(multiplier=4000.0))
    assert out["value"].tolist() == pytest.approx([2400.0, 0.0])


def test_multiplier_change_event_applies_from_its_time() -> None:
    t = [T0, T0 + 600, T0 + 1200]
    spec = CounterSpec(multiplier=10.0, events=(CounterEvent(T0 + 600, "multiplier_change", multiplier=20.0),))
    ivals = counter_intervals(t, [0.0, 1.0, 2.0], spec)
    assert ivals.delta.tolist() == pytest.approx([10.0, 20.0])


def test_replacement_event_with_known_readings_counts_both_parts() -> None:
    # old meter read 5,000 at 00:10, was removed at 5,003; new meter installed at 12, reads 20 at 00:20
    t = [T0 + 600, T0 + 1200]
    spec = CounterSpec(events=(CounterEvent(T0 + 900, "replaced", old_reading=5003.0, new_reading=12.0),))
    ivals = counter_intervals(t, [5000.0, 20.0], spec)
    assert ivals.delta.tolist() == pytest.approx([11.0])
    assert ivals.flag == [REPLACED]
    assert ivals.measured.tolist() == [True]


def test_replacement_event_without_readings_counts_zero_unmeasured() -> None:
    t = [T0 + 600, T0 + 1200, T0 + 1800]
    spec = CounterSpec(events=(CounterEvent(T0 + 900, "replaced"),))
    ivals = counter_intervals(t, [5000.0, 300.0, 310.0], spec)
    assert ivals.delta.tolist() == pytest.approx([0.0, 10.0])
    assert ivals.measured.tolist() == [False, True]


def test_isolated_spike_is_excluded_and_flagged() -> None:
    # 100 kWh/h max; a reading of 1e6 between two normal ones is dropped, consumption flows around it
    t = [T0, T0 + 600, T0 + 1200, T0 + 1800]
    spec = CounterSpec(max_rate_per_h=100.0)
    ivals = counter_intervals(t, [1000.0, 1_000_000.0, 1010.0, 1020.0], spec)
    assert ivals.excluded_s.tolist() == [T0 + 600]
    assert ivals.delta.tolist() == pytest.approx([10.0, 10.0])
    out = hourly(ivals, t)
    assert out["excluded"].tolist() == [1]
    assert out["value"].sum() == pytest.approx(20.0)


def test_isolated_dip_to_zero_is_a_glitch_not_a_reset() -> None:
    t = [T0, T0 + 600, T0 + 1200]
    ivals = counter_intervals(t, [1000.0, 0.0, 1010.0], CounterSpec(max_rate_per_h=100.0))
    assert ivals.excluded_s.tolist() == [T0 + 600]
    assert ivals.delta.tolist() == pytest.approx([10.0])


def test_lasting_implausible_jump_counts_zero_and_rebases() -> None:
    t = [T0, T0 + 600, T0 + 1200, T0 + 1800]
    ivals = counter_intervals(t, [1000.0, 900_000.0, 900_010.0, 900_020.0], CounterSpec(max_rate_per_h=100.0))
    assert ivals.delta.tolist() == pytest.approx([0.0, 10.0, 10.0])
    assert ivals.flag == [JUMP, "", ""]
    assert ivals.measured.tolist() == [False, True, True]


def test_implausible_reset_value_counts_zero() -> None:
    # a drop to 500,000 within 10 minutes would mean 3 GWh/h on a 100 kWh/h meter: rebase, count nothing
    t = [T0, T0 + 600, T0 + 1200]
    ivals = counter_intervals(t, [2_000_000.0, 500_000.0, 500_010.0], CounterSpec(max_rate_per_h=100.0))
    assert ivals.delta.tolist() == pytest.approx([0.0, 10.0])
    assert ivals.flag[0] == JUMP


def test_data_derived_rate_cap_catches_a_spike_without_registry_help() -> None:
    t = minutes(T0, 120)
    v = 1000.0 + np.arange(120, dtype=float)  # 1 unit a minute = 60 per hour
    v[60] = 1e7  # one bad reading
    ivals = counter_intervals(t, v)
    assert ivals.rate_cap_per_h == pytest.approx(600.0)
    assert ivals.excluded_s.tolist() == [T0 + 60 * 60]
    assert ivals.delta.sum() == pytest.approx(119.0)


def test_duplicates_and_out_of_order_readings() -> None:
    t = [T0 + 1200, T0, T0 + 600, T0 + 600]
    ivals = counter_intervals(t, [30.0, 10.0, 20.0, 20.0])
    assert ivals.start_s.tolist() == [T0, T0 + 600]
    assert ivals.delta.tolist() == pytest.approx([10.0, 10.0])


def test_never_negative_on_random_garbage() -> None:
    rng = np.random.default_rng(7)
    t = np.sort(rng.choice(np.arange(T0, T0 + 86400, 60), 500, replace=False))
    v = rng.uniform(0, 1e6, 500)
    out = hourly_consumption(t, v, CounterSpec(max_rate_per_h=5000.0))
    assert (out["value"] >= 0).all()
    # no hour can hold more than the cap allows (plus the spread of a longer interval at the same rate)
    assert (out["value"] <= 5000.0 + 1e-6).all()


def test_capacity_gives_a_rate_cap() -> None:
    assert max_rate_from_capacity(800.0) == pytest.approx(1200.0)
    assert max_rate_from_capacity(None) is None


def test_no_readings_and_one_reading() -> None:
    assert hourly_consumption([], []).empty
    one = hourly_consumption([T0 + 5], [3.0])
    assert one["value"].tolist() == [0.0]
    assert one["n_readings"].tolist() == [1]


def test_vectorised_path_equals_the_reading_by_reading_rules() -> None:
    rng = np.random.default_rng(3)
    t = np.sort(rng.choice(np.arange(T0, T0 + 2 * 86400, 30), 2000, replace=False))
    v = 5000.0 + np.cumsum(rng.uniform(0, 2.0, len(t)))
    fast = counter_intervals(t, v, CounterSpec(multiplier=3.0))
    # a no-op multiplier change before the data forces the reading-by-reading loop
    slow = counter_intervals(t, v, CounterSpec(multiplier=3.0, events=(CounterEvent(0, "multiplier_change",
                                                                                    multiplier=3.0),)))
    assert fast.delta.tolist() == pytest.approx(slow.delta.tolist())
    assert fast.flag == slow.flag
    assert fast.measured.tolist() == slow.measured.tolist()
    assert hourly(fast, t).equals(hourly(slow, t))


def test_plant_starting_up_is_not_a_spike_without_a_registry_cap() -> None:
    # five hours idle at 1 unit a minute, then the last 3 minutes at 100 a minute (too few to move the cap):
    # all of it is consumption, up to the window's last reading
    t = minutes(T0, 304)
    steps = np.r_[np.ones(300), np.full(3, 100.0)]
    v = np.r_[0.0, np.cumsum(steps)]
    ivals = counter_intervals(t, v)
    assert ivals.rate_cap_per_h == pytest.approx(600.0)  # learnt from the idle hours
    assert ivals.delta.sum() == pytest.approx(600.0)
    assert JUMP not in ivals.flag and len(ivals.excluded_s) == 0


def test_re_initialised_counter_is_a_jump_without_a_registry_cap() -> None:
    # steady 1 a minute, then the register suddenly holds 10^6 more and goes on at 1 a minute
    t = minutes(T0, 90)
    v = np.arange(90, dtype=float)
    v[60:] += 1e6
    ivals = counter_intervals(t, v)
    assert ivals.delta.sum() == pytest.approx(88.0)
    assert ivals.flag.count(JUMP) == 1


def test_hourly_meter_cadence_counts_as_measured_but_a_missed_reading_is_a_gap() -> None:
    """An hourly gateway is not 'always in a gap'; two hours of silence still are."""
    from analytics.consumption import cadence_gap_s, counter_intervals

    t = np.array([3600 * k for k in range(12)] + [3600 * 13, 3600 * 14], dtype=np.int64)  # 11:00 missing
    v = 100.0 + 10.0 * np.arange(len(t), dtype=float)
    assert cadence_gap_s(t) == 5400
    iv = counter_intervals(t, v)
    gaps = [(int(a), int(b)) for a, b, m in zip(iv.start_s, iv.end_s, iv.measured, strict=True) if not m]
    assert gaps == [(3600 * 11, 3600 * 13)]
    assert float(np.sum(iv.delta)) == pytest.approx(10.0 * (len(t) - 1))


def test_few_readings_keep_the_15_minute_gap_rule() -> None:
    from analytics.consumption import GAP_SECONDS, cadence_gap_s

    assert cadence_gap_s(np.array([0, 3600, 7200], dtype=np.int64)) == GAP_SECONDS
