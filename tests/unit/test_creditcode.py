"""GB 32100 unified social credit codes: real published codes validate; every failure says why."""

from __future__ import annotations

import random

import pytest

from core.registry.creditcode import (
    CHARSET,
    CODE_WEIGHTS,
    InvalidCreditCode,
    complete_credit_code,
    is_valid_credit_code,
    organisation_check_char,
    validate_credit_code,
)

REAL_CODES = [
    # 华为技术有限公司: zh.wikipedia.org/zh-hk/華為, infobox "機構代碼"
    "914403001922038216",
    # 深圳市腾讯计算机系统有限公司: check-china.com/example_report/en/8 ("Unified social credit code")
    "91440300708461136T",
    # Xiamen companies listed as test data of a public credit-code validator
    # (github.com/02020/vite, learn/utils/validateSocialCreditCode.js); both check characters and a
    # letter check character ('A', 'X', 'Q') are exercised
    "91350200776049653A",
    "9135021359498494XQ",
    "91350213678251743X",
    "91350503MA31DKY80A",
    # a 民政 (civil affairs) registration, department code 1 / category 2
    "123502001549897397",
]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_published_codes_validate(code: str) -> None:
    assert validate_credit_code(code) == code
    assert is_valid_credit_code(code)


def test_lower_case_and_spaces_are_normalised() -> None:
    assert validate_credit_code(" 9135021359498494xq ") == "9135021359498494XQ"


def test_weights_are_powers_of_three_mod_31() -> None:
    assert CODE_WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    assert len(CHARSET) == 31
    assert not set("IOZSV") & set(CHARSET)


def test_organisation_check_char_follows_gb_11714() -> None:
    # Huawei's organisation code 19220382-1 (body 19220382): 3*1+7*9+9*2+10*2+5*0+8*3+4*8+2*2 = 164;
    # 164 mod 11 = 10; 11 - 10 = 1
    assert organisation_check_char("19220382") == "1"
    # 59498494-X: a check value of 10 is written X
    assert organisation_check_char("59498494") == "X"


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("91440300708461136", "has 17 characters, must have 18"),
        ("91440300708461136TT", "has 19 characters"),
        ("91440300708461I36T", "character 'I' at position 15 is not allowed"),
        ("9144030070846113OT", "character 'O' at position 17 is not allowed"),
        ("914403S0708461136T", "character 'S' at position 7 is not allowed"),
        ("9144A300708461136T", "positions 3-8 '44A300' must be a 6-digit administrative division code"),
        ("919903007084611360", "start with '99', which is no province"),
        ("914403007084611376", "wrong organisation-code check character at position 17: '7', expected '6'"),
        ("914403001922038217", "wrong check character at position 18: '7', expected '6'"),
    ],
)
def test_each_failure_says_why(code: str, reason: str) -> None:
    with pytest.raises(InvalidCreditCode) as info:
        validate_credit_code(code)
    assert reason in str(info.value)
    assert not is_valid_credit_code(code)


def test_early_pilot_codes_without_a_valid_check_char_are_rejected() -> None:
    # Fuzhou pilot code issued before GB 32100 applied nationally (noted in github.com/aarioai/id-rule);
    # the contract requires valid check characters, so the registry refuses it and says what is expected
    with pytest.raises(InvalidCreditCode, match="position 18: 'M', expected '1'"):
        validate_credit_code("91350100M0001TGQXM")


def test_complete_credit_code_reproduces_real_codes() -> None:
    for code in REAL_CODES:
        assert complete_credit_code(code[:8], code[8:16]) == code


def test_complete_credit_code_generates_valid_codes() -> None:
    rng = random.Random(7)
    body_chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    for _ in range(500):
        body = "MA" + "".join(rng.choice(body_chars) for _ in range(6))
        code = complete_credit_code("91140214", body)
        assert is_valid_credit_code(code)
        assert code[:8] == "91140214" and code[8:16] == body
        # any single changed character in positions 9-18 is caught
        pos = rng.randrange(8, 18)
        other = rng.choice([c for c in CHARSET if c != code[pos]])
        assert not is_valid_credit_code(code[:pos] + other + code[pos + 1 :])


def test_complete_credit_code_rejects_wrong_lengths() -> None:
    with pytest.raises(InvalidCreditCode, match="8 \\+ 8 characters"):
        complete_credit_code("9114021", "MA0H2KXX")
