"""Checking one YAML value at a time: converters that say why, and a collector of FILE:LINE errors."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.domain import ID_PATTERN
from core.registry.access import SCOPES
from core.registry.creditcode import InvalidCreditCode, validate_credit_code
from core.registry.filespec import INDUSTRY_CODE, PRODUCT_KEY
from core.registry.yamlnodes import Located, plain

# ---------------------------------------------------------------- checking


MISSING = object()


class Checker:
    """Collects errors as 'FILE:LINE: path: message' while reading Located values."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.errors: list[str] = []
        self.known_quota: set[str] | None = None

    def error(self, line: int, where: str, message: str) -> None:
        self.errors.append(f"{self.path}:{line}: {where}: {message}")

    def repeated(self, seen: dict[Any, int], key: object, line: int, where: str, what: str) -> bool:
        """True (and an error naming the first line) when `key` was seen before; else remember its line."""
        if key in seen:
            self.error(line, where, f"{what} given twice (first on line {seen[key]})")
            return True
        seen[key] = line
        return False

    def mapping(self, node: Located, where: str, allowed: set[str], required: tuple[str, ...]) -> bool:
        if not isinstance(node.value, dict):
            self.error(node.line, where, f"must be a mapping, got {_kind(node.value)}")
            return False
        unknown = sorted(set(node.value) - allowed)
        for key in unknown:
            allowed_text = ", ".join(sorted(allowed))
            self.error(node.key_lines[key], f"{where}.{key}", f"unknown key {key!r} (allowed: {allowed_text})")
        for key in required:
            if key not in node.value or node.value[key].value is None:
                self.error(node.line, f"{where}.{key}", "required key missing")
        return not unknown

    def items(self, node: Located | None, where: str) -> list[Located]:
        if node is None or node.value is None:
            return []
        if not isinstance(node.value, list):
            self.error(node.line, where, f"must be a list, got {_kind(node.value)}")
            return []
        return node.value

    def get(
        self,
        parent: Located,
        key: str,
        where: str,
        convert: Callable[[Any], Any],
        default: Any = None,
    ) -> Any:
        """Convert parent[key] (default when absent or null); a ValueError from `convert` becomes an error."""
        node = parent.value.get(key) if isinstance(parent.value, dict) else None
        if node is None or node.value is None:
            return default
        try:
            return convert(plain(node))
        except (ValueError, TypeError) as exc:
            line = node.line
            if isinstance(node.value, list):  # point at the offending item when the message names it
                line = next((item.line for item in node.value if repr(plain(item)) in str(exc)), line)
            self.error(line, f"{where}.{key}", str(exc))
            return MISSING


def key_line(node: Located, key: str) -> int:
    return node.value[key].line if key in node.value else node.line


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string"}.get(type(value), type(value).__name__)


def text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"must be a non-empty string, got {value!r}")
    return value.strip()


def ident(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a valid id (1-64 characters of A-Z a-z 0-9 _ -)")
    return value


def number(positive: bool = False) -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"must be a number, got {value!r}")
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("must be a finite number")
        if positive and value <= 0:
            raise ValueError(f"must be greater than 0, got {value!r}")
        return float(value)

    return convert


def choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value not in options:
            raise ValueError(f"{value!r} is not one of: {', '.join(options)}")
        return str(value)

    return convert


def credit_code(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"credit code must be a string, got {value!r}")
    try:
        return validate_credit_code(value)
    except InvalidCreditCode as exc:
        raise ValueError(f"invalid credit code: {exc}") from None


def industry_code(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and 1000 <= value <= 9999:
        value = str(value)
    if not isinstance(value, str) or not INDUSTRY_CODE.match(value):
        raise ValueError(f'{value!r} is not a 4-digit GB/T 4754-2017 class code (quote it, e.g. "0511")')
    return value


def timezone_name(value: Any) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone (e.g. Asia/Shanghai)") from None
    return str(value)


def product_key(value: Any) -> str:
    if not isinstance(value, str) or not PRODUCT_KEY.match(value):
        raise ValueError(f"{value!r} is not a product key (lower case letters, digits, _)")
    return value


def date_value(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)")


def timestamp(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        stamp = value
    elif isinstance(value, str):
        try:
            stamp = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a timestamp (RFC 3339, e.g. 2026-03-01T08:00:00+08:00)") from None
    else:
        raise ValueError(f"{value!r} is not a timestamp (RFC 3339, e.g. 2026-03-01T08:00:00+08:00)")
    if stamp.tzinfo is None:
        raise ValueError(f"{value!r} has no UTC offset (write e.g. +08:00)")
    return stamp.astimezone(dt.UTC)


def scopes_value(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [s.strip() for s in value.split(",")]
    if not isinstance(value, list) or not value:
        raise ValueError("must be a non-empty list of scopes")
    unknown = [s for s in value if s not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scope {unknown[0]!r} (scopes: {', '.join(SCOPES)})")
    return sorted(set(value), key=SCOPES.index)


def password_value(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("must be a string (quote it)")
    if not isinstance(value, str) or not value:
        raise ValueError("must be a non-empty string")
    return value


def password_hash_value(value: Any) -> str:
    if not isinstance(value, str) or not re.match(r"^\$7\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$", value):
        raise ValueError("must be a Mosquitto PBKDF2-SHA512 hash ($7$iterations$salt$hash, as mosquitto_passwd writes)")
    return value
