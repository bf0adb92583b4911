"""Unified social credit codes (统一社会信用代码, GB 32100-2015): validation that says why, and completion.

Structure of the 18 characters: 1 registration department, 2 organisation category, 3-8 administrative
division (GB/T 2260), 9-17 organisation code (GB 11714, its own check character in 17), 18 check character.
"""

from __future__ import annotations

from typing import Final

CHARSET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""GB 32100 code characters, in value order (no I, O, Z, S, V)."""

CODE_WEIGHTS: Final = tuple(pow(3, i, 31) for i in range(17))
"""Weights of positions 1-17 for the 18th check character: 3^(i-1) mod 31."""

ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)
"""GB 11714 weights of the organisation code's 8 body characters."""

PROVINCE_PREFIXES: Final = frozenset(
    {"10", "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42"}
    | {"43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"}
)
"""First two digits of a GB/T 2260 division code; 10 is the national level (100000)."""

_VALUE: Final = {c: i for i, c in enumerate(CHARSET)}


class InvalidCreditCode(ValueError):
    """A credit code that breaks GB 32100 / GB 11714; the message says which rule and where."""


def _org_char_value(char: str) -> int:
    """GB 11714 value of a character: digits 0-9, letters A=10 ... Z=35."""
    return int(char) if char.isdigit() else ord(char) - ord("A") + 10


def organisation_check_char(body8: str) -> str:
    """GB 11714 check character of an 8-character organisation-code body (mod 11; 10 -> X, 11 -> 0)."""
    total = sum(_org_char_value(c) * w for c, w in zip(body8, ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def code_check_char(first17: str) -> str:
    """GB 32100 18th character for the first 17 (weights 3^(i-1) mod 31, mod 31)."""
    total = sum(_VALUE[c] * w for c, w in zip(first17, CODE_WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def validate_credit_code(code: str) -> str:
    """Return the normalised (stripped, upper-case) code, or raise `InvalidCreditCode` saying why."""
    if not isinstance(code, str):
        raise InvalidCreditCode(f"credit code must be a string, got {type(code).__name__}")
    norm = code.strip().upper()
    if len(norm) != 18:
        raise InvalidCreditCode(f"credit code {norm!r} has {len(norm)} characters, must have 18")
    for pos, char in enumerate(norm, start=1):
        if char not in _VALUE:
            raise InvalidCreditCode(
                f"credit code {norm!r}: character {char!r} at position {pos} is not allowed "
                f"(GB 32100 uses 0-9 and A-Z without I, O, Z, S, V)"
            )
    division = norm[2:8]
    if not division.isdigit():
        raise InvalidCreditCode(
            f"credit code {norm!r}: positions 3-8 {division!r} must be a 6-digit administrative division code"
        )
    if division[:2] not in PROVINCE_PREFIXES:
        raise InvalidCreditCode(
            f"credit code {norm!r}: positions 3-8 {division!r} start with {division[:2]!r}, "
            f"which is no province of GB/T 2260"
        )
    org_expected = organisation_check_char(norm[8:16])
    if norm[16] != org_expected:
        raise InvalidCreditCode(
            f"credit code {norm!r}: wrong organisation-code check character at position 17: "
            f"{norm[16]!r}, expected {org_expected!r} (GB 11714)"
        )
    expected = code_check_char(norm[:17])
    if norm[17] != expected:
        raise InvalidCreditCode(
            f"credit code {norm!r}: wrong check character at position 18: {norm[17]!r}, expected {expected!r} "
            f"(GB 32100)"
        )
    return norm


def is_valid_credit_code(code: str) -> bool:
    """True when `code` passes every rule of `validate_credit_code`."""
    try:
        validate_credit_code(code)
    except InvalidCreditCode:
        return False
    return True


def complete_credit_code(first8: str, org_body8: str) -> str:
    """Build a valid code from department+category+division (8) and an organisation-code body (8)."""
    first8, org_body8 = first8.strip().upper(), org_body8.strip().upper()
    if len(first8) != 8 or len(org_body8) != 8:
        raise InvalidCreditCode(f"complete_credit_code needs 8 + 8 characters, got {len(first8)} + {len(org_body8)}")
    org = org_body8 + organisation_check_char(org_body8)
    if org[-1] not in _VALUE:  # cannot happen (check chars are digits or X), kept as a guard
        raise InvalidCreditCode(f"organisation code {org!r} has a check character GB 32100 cannot carry")
    first17 = first8 + org
    for pos, char in enumerate(first17, start=1):
        if char not in _VALUE:
            raise InvalidCreditCode(f"character {char!r} at position {pos} is not allowed in a credit code")
    return validate_credit_code(first17 + code_check_char(first17))
