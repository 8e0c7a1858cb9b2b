"""Unified social credit codes (GB 32100-2015) and their organisation codes (GB 11714-1997)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shouhu.identity.credit_code import (
    CHARSET,
    credit_code_check_character,
    is_valid_credit_code,
    organisation_code_check_character,
    validate_credit_code,
)
from shouhu.identity.errors import IdentityError

# Published codes of registered bodies, found in public code and documentation and checked here.
REAL_CODES = [
    "91350100M000100Y43",  # the example used by GB 32100 validators everywhere
    "91440300708461136T",  # a Shenzhen company (a Tencent entity)
    "91110108551385082Q",  # a Beijing Haidian company (a Xiaomi entity)
    "91110000802100433B",
    "1134082855783407XL",  # a government body; its organisation code ends in X
    "91341000MA2N0ABGXX",  # a newer "MA" code with letters in the organisation code
    "121526004609138637",  # a public institution (事业单位)
    "51100000500019541K",  # a social organisation (社会团体)
    "52610500MJU60350X1",  # a private non-enterprise unit (民办非企业单位)
    "92510100MA61WJ3204",  # an individual business (个体工商户)
]


@pytest.mark.parametrize("code", REAL_CODES)
def test_real_codes_are_valid(code: str) -> None:
    assert validate_credit_code(code) == code
    assert is_valid_credit_code(code)


def test_check_character_of_the_standard_example() -> None:
    assert credit_code_check_character("91350100M000100Y4") == "3"
    assert organisation_code_check_character("M000100Y") == "4"


def test_organisation_check_x_and_zero() -> None:
    # GB 11714: a computed 10 is written X, 11 is written 0.
    assert organisation_code_check_character("55783407") == "X"
    assert organisation_code_check_character("00000000") == "0"


def test_normalisation() -> None:
    assert validate_credit_code(" 9135 0100 m000 100y43\t") == "91350100M000100Y43"
    # Full-width characters, as a Chinese input method may type them.
    assert validate_credit_code("９１３５０１００Ｍ０００１００Ｙ４３") == "91350100M000100Y43"


def _reason(text: str) -> str:
    with pytest.raises(IdentityError) as caught:
        validate_credit_code(text, field="org_code")
    assert caught.value.field == "org_code"
    assert "org_code" in str(caught.value)
    assert caught.value.reason in str(caught.value)
    return caught.value.reason


def test_empty() -> None:
    assert _reason("   ") == "empty"


@pytest.mark.parametrize("text", ["91350100M000100Y4", "91350100M000100Y433", "9135"])
def test_bad_length(text: str) -> None:
    assert _reason(text) == "bad_length"


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("91350100I000100Y43", 9),  # I is not used
        ("91350100O000100Y43", 9),  # nor O
        ("9135010SM000100Y43", 8),  # nor S
        ("91350100M000100Z43", 16),  # nor Z
        ("91350100M000100V43", 16),  # nor V
        ("91350100M000100Y4-", 18),
    ],
)
def test_bad_character(text: str, position: int) -> None:
    with pytest.raises(IdentityError) as caught:
        validate_credit_code(text)
    assert caught.value.reason == "bad_character"
    assert caught.value.detail == f"position {position}"


def test_bad_region_code() -> None:
    first17 = "9135A100M000100Y4"
    assert _reason(first17 + credit_code_check_character(first17)) == "bad_region_code"


@pytest.mark.parametrize("code", ["91350100M000100Y44", "91350100M000100Y4A", "91440300708461136U"])
def test_bad_check_character(code: str) -> None:
    assert _reason(code) == "bad_check_character"


def test_bad_organisation_code_check() -> None:
    # The 18th character is right for these 17, but the organisation code M000100Y5 is not.
    first17 = "91350100M000100Y5"
    assert _reason(first17 + credit_code_check_character(first17)) == "bad_organisation_code_check"
    # A made-up code seen in public code: its final check holds, its organisation code does not.
    assert _reason("123456789012345678") == "bad_organisation_code_check"


def test_check_character_helper_refuses_bad_input() -> None:
    with pytest.raises(IdentityError) as caught:
        credit_code_check_character("9135")
    assert caught.value.reason == "bad_length"
    with pytest.raises(IdentityError) as caught:
        credit_code_check_character("91350100M000100I4")
    assert caught.value.reason == "bad_character"


_chars = st.sampled_from(CHARSET)


@st.composite
def valid_prefixes(draw: st.DrawFn) -> str:
    """17 characters: authority and type, a 6-digit region, a valid organisation code."""
    head = draw(st.text(_chars, min_size=2, max_size=2))
    region = draw(st.text(st.sampled_from("0123456789"), min_size=6, max_size=6))
    body = draw(st.text(_chars, min_size=8, max_size=8))
    return head + region + body + organisation_code_check_character(body)


@given(prefix=valid_prefixes(), other=_chars)
def test_computed_check_character_validates_and_no_other_does(prefix: str, other: str) -> None:
    check = credit_code_check_character(prefix)
    assert validate_credit_code(prefix + check) == prefix + check
    if other != check:
        with pytest.raises(IdentityError) as caught:
            validate_credit_code(prefix + other)
        assert caught.value.reason == "bad_check_character"


@given(prefix=valid_prefixes(), position=st.integers(0, 16), replacement=_chars)
def test_any_single_substitution_is_caught(prefix: str, position: int, replacement: str) -> None:
    code = prefix + credit_code_check_character(prefix)
    changed = code[:position] + replacement + code[position + 1 :]
    # Mod 31 with weights coprime to 31 catches every single-character substitution.
    assert is_valid_credit_code(changed) == (changed == code)
