"""Line protocol and InfluxQL quoting helpers of core.influx."""

from __future__ import annotations

from core.influx import InfluxError, line, quote_ident, quote_literal


def test_line_escapes_tags_and_keeps_second_precision() -> None:
    text = line("reading", {"enterprise": "a b,c=d", "meter": "M01"}, {"energy_kwh": 1.5}, 1764547200)
    assert text == r"reading,enterprise=a\ b\,c\=d,meter=M01 energy_kwh=1.5 1764547200"


def test_line_without_time_and_with_int_field() -> None:
    assert line("m", {}, {"n": 3}) == "m n=3i"


def test_quote_ident_and_literal() -> None:
    assert quote_ident('we"ird') == '"we\\"ird"'
    assert quote_literal("O'Brien") == "'O\\'Brien'"


def test_error_retryable_by_status() -> None:
    assert InfluxError("down").retryable
    assert InfluxError("busy", 503).retryable
    assert not InfluxError("bad line", 400).retryable
