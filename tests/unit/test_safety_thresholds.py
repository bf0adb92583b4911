"""Override files: precedence defaults < file defaults < enterprise < meter; errors name FILE:LINE."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.safety.thresholds import DEFAULTS, SOURCES, RulesFileError, check_order, load_rules

GOOD = """\
defaults:
  leakage_alarm_ma: 400
enterprises:
  91140200MA0H2KXX88:
    leakage_alarm_ma: 500
    closed_hours: "22:00-06:00"
    meters:
      S01:
        leakage_alarm_ma: 600
        rated_current_a: 125
        closed_weekdays: [5, 6]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "safety_rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_precedence(tmp_path: Path) -> None:
    rules = load_rules(write(tmp_path, GOOD))
    code = "91140200MA0H2KXX88"
    assert rules.for_meter("OTHER", "X").leakage_alarm_ma == 400
    assert rules.for_meter(code, "S02").leakage_alarm_ma == 500
    s01 = rules.for_meter(code, "S01", rated_current_a=100)
    assert (s01.leakage_alarm_ma, s01.rated_current_a, s01.closed_hours) == (600, 125, "22:00-06:00")
    assert s01.closed_weekdays == (5, 6)
    assert rules.for_meter(code, "S02", rated_current_a=100).rated_current_a == 100  # registry value kept
    assert DEFAULTS.leakage_alarm_ma == 300


@pytest.mark.parametrize(("text", "line", "words"), [
    ("defaults:\n  leakage_alarm_ma: 300\n  leak_alarm: 3\n", 3, "unknown threshold 'leak_alarm'"),
    ("defaults:\n  leakage_alarm_ma: 10\n", 2, "outside 20..1000"),
    ("enterprises:\n  X:\n    meters:\n      S1:\n        closed_hours: 25-7\n", 5, "HH:MM-HH:MM"),
    ("defaults:\n  open_readings: 2.5\n", 2, "whole number"),
    ("defaults:\n  leakage_pre_ma: 500\n", 2, "leakage_pre_ma (500) < leakage_alarm_ma (300)"),
    ("thresholds: {}\n", 1, "unknown key 'thresholds'"),
    ("defaults: [1, 2\n", 2, "not valid YAML"),
    ("defaults:\n  critical_immediate: [leakage, fire]\n", 2, "list of rule codes"),
])
def test_errors_name_the_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RulesFileError) as err:
        load_rules(path)
    assert f"{path}:{line}:" in str(err.value)
    assert words in str(err.value)


def test_rule_codes_match_the_rules() -> None:
    from analytics.safety.rules import RULES
    from analytics.safety.thresholds import RULE_CODES

    assert set(RULE_CODES) == set(RULES)


def test_defaults_are_ordered_and_sourced() -> None:
    assert check_order(DEFAULTS) is None
    for name in SOURCES:
        assert hasattr(DEFAULTS, name), name
    assert DEFAULTS.low_pcts() == (-7.0, -10.0)
