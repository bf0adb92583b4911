"""Registry file → an enterprise's declared shift calendar (`shifts:`), stored as one canonical text.

    shifts:
      - {from: "08:00", to: "17:30"}                  # working days (China's calendar) by default
      - {from: "22:00", to: "06:00", days: every_day}  # ends at or before its start: runs past midnight

The diagnosis reads operating hours from it when the plant has no output meter (docs/diagnosis.md "Operating
hours"). Stored as "workdays 08:00-17:30; every_day 22:00-06:00" (`format_shifts` / `parse_shifts`).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from core.registry.filecheck import Checker, choice
from core.registry.yamlnodes import Located

SHIFT_KEYS = {"from", "to", "days"}
SHIFT_DAYS = ("workdays", "every_day")
"""`workdays`: China's working days (holidays off, adjusted working days on); `every_day`: all days."""
MAX_SHIFTS = 6
_CLOCK = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")

Shift = tuple[dt.time, dt.time, str]
"""(start, end, days) of one shift."""


def clock_time(value: Any) -> dt.time:
    """"HH:MM" (00:00-24:00; 24:00 is midnight at the end of the day) as a time of day."""
    if isinstance(value, int) and not isinstance(value, bool):
        hint = f' (YAML reads an unquoted {value // 60}:{value % 60:02d} as the number {value}: quote it)' \
            if 0 < value < 24 * 60 else ""
        raise ValueError(f'{value!r} is not a time "HH:MM"{hint}')
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None or (int(match[1]) == 24 and match[2] != "00"):
        raise ValueError(f'{value!r} is not a time "HH:MM" (00:00-24:00)')
    hour = int(match[1])
    return dt.time(0) if hour == 24 else dt.time(hour, int(match[2]))


def read_shifts(check: Checker, ent_node: Located, ent_where: str) -> str | None:
    """The enterprise's `shifts:` list, checked (errors as FILE:LINE), in its stored form; None when not given."""
    items = check.items(ent_node.value.get("shifts"), f"{ent_where}.shifts")
    if len(items) > MAX_SHIFTS:
        check.error(ent_node.value["shifts"].line, f"{ent_where}.shifts", f"at most {MAX_SHIFTS} shifts")
        return None
    shifts: list[Shift] = []
    seen: dict[Shift, int] = {}
    for i, node in enumerate(items):
        where = f"{ent_where}.shifts[{i}]"
        if not check.mapping(node, where, SHIFT_KEYS, ("from", "to")):
            continue
        start = check.get(node, "from", where, clock_time)
        end = check.get(node, "to", where, clock_time)
        days = check.get(node, "days", where, choice(SHIFT_DAYS), "workdays")
        if not all(isinstance(v, dt.time) for v in (start, end)) or not isinstance(days, str):
            continue
        if start == end:
            check.error(node.line, where, "from and to are the same time: a shift needs a length")
            continue
        if check.repeated(seen, (start, end, days), node.line, where, "this shift"):
            continue
        shifts.append((start, end, days))
    return format_shifts(shifts) if shifts else None


def format_shifts(shifts: list[Shift]) -> str:
    """The stored form: "workdays 08:00-17:30; every_day 22:00-06:00"."""
    return "; ".join(f"{days} {start:%H:%M}-{end:%H:%M}" for start, end, days in shifts)


def parse_shifts(stored: str | None) -> list[Shift]:
    """The stored form back as (start, end, days) tuples (empty for None or "")."""
    out: list[Shift] = []
    for part in (stored or "").split(";"):
        if not part.strip():
            continue
        days, span = part.split()
        start, end = span.split("-")
        if days not in SHIFT_DAYS:
            raise ValueError(f"unknown shift days {days!r} in {stored!r}")
        out.append((clock_time(start), clock_time(end), days))
    return out
