"""Query-parameter rules shared by the endpoints: periods in local time, at most three years, bounded pages."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Final

from pydantic import BeforeValidator

from api.problems import ProblemError

MAX_RANGE_YEARS: Final = 3
"""A period longer than this many years is refused (CONTRACTS.md section 5)."""
MAX_HOURLY_DAYS: Final = 366
"""Hourly series are bounded to one year per request (about 8,800 points per meter)."""
MAX_PAGE: Final = 500
DEFAULT_PAGE: Final = 100
EARLIEST: Final = dt.date(2000, 1, 1)
LATEST: Final = dt.date(2099, 12, 31)
"""Dates outside [EARLIEST, LATEST] are refused: no meter data predates them, and calendar arithmetic stays safe."""
MONTH_PATTERN: Final = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
_MONTH = re.compile(MONTH_PATTERN)
_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _iso_day(value: Any) -> Any:
    """Only the contract's `YYYY-MM-DD`: pydantic alone also takes epoch seconds and midnight datetimes."""
    if isinstance(value, str) and not _DAY.match(value):
        raise ValueError(f"{value[:40]!r} is not a date in the form YYYY-MM-DD")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_day)]
"""A query parameter that is a calendar day written `YYYY-MM-DD`, nothing else (issue 15 D9)."""


def invalid(name: str, message: str) -> ProblemError:
    """A 422 naming the query parameter, in the same shape as FastAPI's validation errors."""
    return ProblemError(
        422,
        "invalid-parameter",
        "Invalid request parameter",
        f"query parameter '{name}': {message}",
        extra={"errors": [{"in": "query", "name": name, "message": message}]},
    )


def add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` later (29 February → 28 February)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def check_date(day: dt.date, name: str) -> None:
    """422 naming the parameter when `day` is outside [EARLIEST, LATEST]."""
    if not EARLIEST <= day <= LATEST:
        raise invalid(name, f"{day.isoformat()} is outside {EARLIEST.isoformat()} … {LATEST.isoformat()}")


def check_period(start: dt.date, end: dt.date, *, max_days: int | None = None) -> None:
    """[start, end) must be non-empty and at most three years (or `max_days`) long; else 422 naming 'to'."""
    check_date(start, "from")
    check_date(end, "to")
    if end <= start:
        raise invalid("to", f"must be after 'from' ({start.isoformat()}); the period is [from, to)")
    if end > add_years(start, MAX_RANGE_YEARS):
        raise invalid("to", f"the period may be at most {MAX_RANGE_YEARS} years long; split the request")
    if max_days is not None and (end - start).days > max_days:
        raise invalid("to", f"the period may be at most {max_days} days long for this interval")


def parse_month(value: str, name: str) -> dt.date:
    """'YYYY-MM' → the first day of that month; 422 naming the parameter otherwise."""
    if not _MONTH.match(value):
        raise invalid(name, f"{value!r} is not a month in the form YYYY-MM")
    try:
        month = dt.date(int(value[:4]), int(value[5:7]), 1)
    except ValueError as exc:  # year 0000, month 00 or 13
        raise invalid(name, f"{value!r} is not a month: {exc}") from exc
    check_date(month, name)
    return month


def next_month(day: dt.date) -> dt.date:
    """First day of the month after `day`'s month."""
    return dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
