"""Expand a panel's InfluxQL the way Grafana's InfluxDB (InfluxQL) data source does, to run it elsewhere.

Grafana documents for InfluxQL: `$timeFilter` / `$__timeFilter` → `time >= <from>ms and time <= <to>ms`,
`$__interval` / `$interval` → the auto interval (range / max data points, at least the panel's or data
source's minimum, rounded to a "nice" step), `$__interval_ms`, `$__from` / `$__to` (epoch ms), and
template variables as `$name`, `${name}` or `[[name]]`. A multi-value or "All" variable inside a
regex (`/^$enterprise$/`) becomes `(v1|v2|…)` with each value regex-escaped; a custom all value
(`.*`) is inserted as is. Used by the tests that prove every panel query against a real InfluxDB.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

# Grafana's kbn.roundInterval steps (ms → rounded interval), shortened to what matters here.
_NICE_MS: tuple[tuple[int, int], ...] = (
    (1_500, 1_000), (3_500, 2_000), (7_500, 5_000), (12_500, 10_000), (17_500, 15_000), (25_000, 20_000),
    (45_000, 30_000), (90_000, 60_000), (210_000, 120_000), (450_000, 300_000), (750_000, 600_000),
    (1_050_000, 900_000), (1_500_000, 1_200_000), (2_700_000, 1_800_000), (5_400_000, 3_600_000),
    (9_000_000, 7_200_000), (16_200_000, 10_800_000), (32_400_000, 21_600_000), (86_400_000, 43_200_000),
    (604_800_000, 86_400_000),
)
_UNITS = (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000))
_DURATION = re.compile(r"^(\d+)([smhdwMy])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True, slots=True)
class VariableValue:
    """A variable's current value: one or more values, or a custom all value inserted verbatim."""

    values: tuple[str, ...]
    all_value: str | None = None


def round_interval(ms: float) -> int:
    """Grafana's rounding of an auto interval to a nice step (ms)."""
    for bound, nice in _NICE_MS:
        if ms < bound:
            return nice
    return 604_800_000


def format_interval(ms: int) -> str:
    """`60000` → `1m` (the largest whole unit)."""
    for suffix, size in _UNITS:
        if ms % size == 0:
            return f"{ms // size}{suffix}"
    return f"{ms}ms"


def parse_duration_ms(text: str) -> int:
    """`5m` → 300000 (Grafana interval strings; months and years are not intervals)."""
    m = _DURATION.match(text)
    if not m or m.group(2) not in _SECONDS:
        raise ValueError(f"not an interval: {text!r}")
    return int(m.group(1)) * _SECONDS[m.group(2)] * 1000


def auto_interval_ms(start_ms: int, end_ms: int, max_data_points: int = 1000, min_interval: str = "1m") -> int:
    """`$__interval` for a range: range / max data points, not below the minimum, rounded."""
    raw = max((end_ms - start_ms) / max_data_points, parse_duration_ms(min_interval))
    return max(round_interval(raw), parse_duration_ms(min_interval))


def panel_range(now: dt.datetime, dashboard_from: str, time_from: str | None, tz: str) -> tuple[int, int]:
    """(from_ms, to_ms) of a panel: its relative-time override (`now/d`, `now/M`, `24h`) or the dashboard's."""
    local = now.astimezone(ZoneInfo(tz))
    spec = time_from or dashboard_from
    if spec == "now/d":
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    elif spec == "now/M":
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    else:
        rel = spec.removeprefix("now-")
        start = local - dt.timedelta(milliseconds=parse_duration_ms(rel))
    return int(start.timestamp() * 1000), int(now.timestamp() * 1000)


_REGEX_LITERAL = re.compile(r"[=!]~\s*(/(?:[^/\\]|\\.)*/)")
"""An InfluxQL regex literal after `=~` or `!~`: from its opening to its closing unescaped slash."""


def _regex_escape(value: str) -> str:
    """Grafana's escapeRegex: backslash-escape regex metacharacters (and the / delimiter)."""
    return re.sub(r"[\\^$*+?.()|{}\[\]/]", lambda m: "\\" + m.group(0), value)


def _format(var: VariableValue, in_regex: bool) -> str:
    if var.all_value is not None:
        return var.all_value
    if not in_regex:
        return ",".join(var.values)
    escaped = [_regex_escape(v) for v in var.values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def expand(query: str, start_ms: int, end_ms: int, variables: Mapping[str, VariableValue],
           interval: str | None = None, max_data_points: int = 1000, min_interval: str = "1m") -> str:
    """The query Grafana would send for this time range and these variable values."""
    iv_ms = parse_duration_ms(interval) if interval else auto_interval_ms(start_ms, end_ms, max_data_points,
                                                                            min_interval)
    time_filter = f"time >= {start_ms}ms and time <= {end_ms}ms"
    out = query.replace("$__timeFilter", time_filter).replace("$timeFilter", time_filter)
    out = out.replace("$__interval_ms", str(iv_ms)).replace("$__interval", format_interval(iv_ms))
    out = out.replace("$interval", format_interval(iv_ms))
    out = out.replace("$__from", str(start_ms)).replace("$__to", str(end_ms))

    regexes = [m.span(1) for m in _REGEX_LITERAL.finditer(out)]

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        if name not in variables:
            raise KeyError(f"query uses variable ${name}, which has no value: {query}")
        in_regex = any(lo <= match.start() < hi for lo, hi in regexes)  # inside =~ /…/ (not after a division)
        return _format(variables[name], in_regex)

    return re.sub(r"\$\{(\w+)\}|\[\[(\w+)\]\]|\$(\w+)", substitute, out)


def values(items: Sequence[str]) -> VariableValue:
    """A selection of concrete values."""
    return VariableValue(tuple(items))
