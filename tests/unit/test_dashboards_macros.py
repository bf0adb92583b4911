"""Grafana's InfluxQL macro and variable expansion, as reproduced for the query proofs."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboards.macros import (
    VariableValue,
    auto_interval_ms,
    expand,
    format_interval,
    panel_range,
    round_interval,
    values,
)

START, END = 1_764_547_200_000, 1_764_633_600_000  # one day, ms


def test_time_filter_and_interval_macros() -> None:
    q = 'SELECT mean("x") FROM "r" WHERE $timeFilter GROUP BY time($__interval) -- $__interval_ms $__from $__to'
    out = expand(q, START, END, {}, interval="5m")
    assert out == (f'SELECT mean("x") FROM "r" WHERE time >= {START}ms and time <= {END}ms GROUP BY time(5m) '
                   f"-- 300000 {START} {END}")
    assert expand("WHERE $__timeFilter", START, END, {}) == f"WHERE time >= {START}ms and time <= {END}ms"


def test_auto_interval_is_range_over_points_rounded_and_at_least_the_minimum() -> None:
    assert auto_interval_ms(START, END, max_data_points=1000) == 60_000  # 86.4 s → 1m (minimum 1m)
    assert auto_interval_ms(START, START + 7 * 86_400_000, max_data_points=1000) == 600_000  # 604.8 s → 10m
    assert auto_interval_ms(START, START + 3_600_000, max_data_points=1000, min_interval="5m") == 300_000
    assert round_interval(86_400) == 60_000 and round_interval(604_800) == 600_000
    assert [format_interval(ms) for ms in (1_000, 60_000, 300_000, 3_600_000, 86_400_000)] == \
        ["1s", "1m", "5m", "1h", "1d"]


def test_multi_value_variable_in_a_regex_becomes_an_escaped_alternation() -> None:
    q = '"enterprise" =~ /^$enterprise$/ AND "meter" = \'$meter\''
    variables = {"enterprise": values(["A.1", "B(2)"]), "meter": values(["M01"])}
    assert expand(q, START, END, variables) == '"enterprise" =~ /^(A\\.1|B\\(2\\))$/ AND "meter" = \'M01\''


def test_a_division_before_the_regex_does_not_change_which_variables_are_escaped() -> None:
    q = ('SELECT sum("value") / 1000 FROM "x" WHERE "enterprise" =~ /^$enterprise$/ AND "meter" = \'$meter\' '
         'AND "carrier" !~ /^$carrier$/')
    variables = {"enterprise": values(["A.1", "B/2"]), "meter": values(["M.01"]), "carrier": values(["gas+"])}
    assert expand(q, START, END, variables) == (
        'SELECT sum("value") / 1000 FROM "x" WHERE "enterprise" =~ /^(A\\.1|B\\/2)$/ AND "meter" = \'M.01\' '
        'AND "carrier" !~ /^gas\\+$/')


def test_single_value_custom_all_and_bracket_forms() -> None:
    variables = {"county": VariableValue(("a", "b"), ".*"), "enterprise": values(["91140200MA0H2KXX88"])}
    q = '/^$county$/ /^${enterprise}$/ [[enterprise]]'
    assert expand(q, START, END, variables) == "/^.*$/ /^91140200MA0H2KXX88$/ 91140200MA0H2KXX88"


def test_unknown_variable_is_an_error_naming_it() -> None:
    with pytest.raises(KeyError, match=r"\$industry"):
        expand('WHERE "industry" =~ /^$industry$/', START, END, {})


def test_panel_relative_ranges_use_the_dashboard_time_zone() -> None:
    now = dt.datetime(2026, 12, 1, 3, 30, tzinfo=dt.UTC)  # 11:30 in Asia/Shanghai
    start, end = panel_range(now, "now-7d", "now/d", "Asia/Shanghai")
    assert start == int(dt.datetime(2026, 11, 30, 16, tzinfo=dt.UTC).timestamp() * 1000)
    assert end == int(now.timestamp() * 1000)
    start, _ = panel_range(now, "now-7d", "now/M", "Asia/Shanghai")
    assert start == int(dt.datetime(2026, 11, 30, 16, tzinfo=dt.UTC).timestamp() * 1000)
    start, _ = panel_range(now, "now-7d", None, "Asia/Shanghai")
    assert start == int((now - dt.timedelta(days=7)).timestamp() * 1000)
    start, _ = panel_range(now, "now-7d", "6h", "Asia/Shanghai")
    assert start == int((now - dt.timedelta(hours=6)).timestamp() * 1000)
