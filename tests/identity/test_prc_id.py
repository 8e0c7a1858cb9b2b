"""PRC citizen identity numbers (GB 11643-1999): check character, 15 → 18, birth date, region.

Every number here is invented (region, date and sequence chosen, check character computed): no
real person's identity number belongs in the repository.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shouhu.identity import regions
from shouhu.identity.errors import IdentityError
from shouhu.identity.prc_id import (
    CENTENARIAN_SEQUENCES,
    CHECK_CHARACTERS,
    PrcId,
    check_against,
    compact,
    is_valid_prc_id,
    normalise_sex,
    parse_prc_id,
    prc_check_character,
    to_18,
)

TODAY = date(2025, 6, 1)  # passed as `today` so the tests do not depend on the clock
KNOWN_CODES = sorted(regions._table())
RETIRED_CODES = [code for code in KNOWN_CODES if not regions.is_current_region(code)]

region_codes = st.sampled_from(KNOWN_CODES)
sequences = st.integers(0, 999).map("{:03d}".format)
birth_dates = st.dates(min_value=date(1850, 1, 1), max_value=TODAY)


def make_id(region: str = "110101", born: date = date(1990, 3, 7), sequence: str = "123") -> str:
    first17 = region + born.strftime("%Y%m%d") + sequence
    return first17 + prc_check_character(first17)


def make_15(region: str, born: date, sequence: str) -> str:
    return region + born.strftime("%y%m%d") + sequence


def _reason(text: str, **kwargs: date) -> IdentityError:
    with pytest.raises(IdentityError) as caught:
        parse_prc_id(text, field="candidate_id", **kwargs)
    error = caught.value
    # The message a person reads names the field and the reason.
    assert error.field == "candidate_id"
    assert str(error).startswith(f"candidate_id: {error.reason}")
    return error


# --- the check character -------------------------------------------------------------------


def test_check_character_worked_by_hand() -> None:
    # 1 1 0 1 0 1 1 9 9 0 0 3 0 7 1 2 3 weighted by 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2:
    # 7+9+0+5+0+4+2+9+54+0+0+27+0+35+8+8+6 = 174; 174 mod 11 = 9; (12 - 9) mod 11 = 3.
    assert prc_check_character("11010119900307123") == "3"
    # 1 1 0 1 0 1 1 9 9 0 0 3 0 7 0 0 1: 7+9+0+5+0+4+2+9+54+0+0+27+0+35+0+0+2 = 154;
    # 154 mod 11 = 0; (12 - 0) mod 11 = 1.
    assert prc_check_character("11010119900307001") == "1"
    # 4 4 0 3 0 5 2 0 0 0 0 1 0 1 0 0 2: 28+36+0+15+0+20+4+0+0+0+0+9+0+5+0+0+4 = 121;
    # 121 mod 11 = 0 → 1.  And ...003 adds 2 more: 123 mod 11 = 2; (12 - 2) mod 11 = 10 → X.
    assert prc_check_character("44030520000101002") == "1"
    assert prc_check_character("44030520000101003") == "X"


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_iso_7064_mod_11_2_invariant(first17: str) -> None:
    # ISO 7064 MOD 11-2, stated independently: with the check character appended (X = 10) and
    # position i (from 0) weighted 2^(17-i), the weighted sum is 1 modulo 11.
    number = first17 + prc_check_character(first17)
    values = [10 if c == "X" else int(c) for c in number]
    assert sum(v * pow(2, 17 - i, 11) for i, v in enumerate(values)) % 11 == 1


@given(region_codes, birth_dates, sequences)
def test_valid_number_round_trips_and_any_other_check_character_fails(
    region: str, born: date, sequence: str
) -> None:
    number = make_id(region, born, sequence)
    parsed = parse_prc_id(number, today=TODAY)
    assert parsed == PrcId(
        number=number,
        birth_date=born,
        sex="M" if int(sequence) % 2 else "F",
        region_code=region,
        was_15_digit=False,
    )
    for wrong in CHECK_CHARACTERS.replace(number[-1], ""):
        error = _reason(number[:-1] + wrong, today=TODAY)
        assert error.reason == "bad_check_character"
        assert error.detail is not None
        assert error.detail.endswith(f"check character {number[-1]}")


@given(region_codes, birth_dates, sequences, st.integers(0, 16), st.integers(1, 9))
def test_every_single_digit_typo_is_caught(
    region: str, born: date, sequence: str, position: int, shift: int
) -> None:
    # MOD 11-2 detects every single substitution: a mistyped digit never yields a valid number
    # of someone else.
    number = make_id(region, born, sequence)
    typo = str((int(number[position]) + shift) % 10)
    mistyped = number[:position] + typo + number[position + 1 :]
    assert prc_check_character(mistyped[:17]) != mistyped[17]


@given(region_codes, birth_dates, sequences, st.integers(0, 15))
def test_every_adjacent_transposition_is_caught(
    region: str, born: date, sequence: str, position: int
) -> None:
    number = make_id(region, born, sequence)
    a, b = number[position], number[position + 1]
    if a == b:
        return
    swapped = number[:position] + b + a + number[position + 2 :]
    assert prc_check_character(swapped[:17]) != swapped[17]


def test_check_character_needs_17_digits() -> None:
    with pytest.raises(IdentityError, match="bad_length"):
        prc_check_character("1101011990030712")
    with pytest.raises(IdentityError, match="bad_character"):
        prc_check_character("1101011990030712A")


# --- reading the number --------------------------------------------------------------------


def test_invented_example() -> None:
    parsed = parse_prc_id("110101199003071233", today=TODAY)
    assert parsed.birth_date == date(1990, 3, 7)
    assert parsed.sex == "M"  # sequence 123 is odd
    assert parsed.region_code == "110101"
    assert not parsed.was_15_digit
    assert parse_prc_id(make_id(sequence="124"), today=TODAY).sex == "F"
    assert parse_prc_id(make_id(sequence="000"), today=TODAY).sex == "F"


@pytest.mark.parametrize(
    "typed",
    [
        "44030520000101003X",  # the canonical form itself
        "44030520000101003x",  # lower-case x
        "４４０３０５２００００１０１００３Ｘ",  # full-width, as a Chinese input method types it
        "440305 20000101 003X",
        "440305-20000101-003X",
        " 4403 0520 0001 0100 3x\t",
        "440305\u201420000101\u2013003X",  # em and en dashes
    ],
)
def test_input_forms_are_normalised(typed: str) -> None:
    assert parse_prc_id(typed, today=TODAY).number == "44030520000101003X"


@given(region_codes, birth_dates, sequences)
def test_normalising_a_canonical_number_returns_it(region: str, born: date, sequence: str) -> None:
    number = make_id(region, born, sequence)
    once = parse_prc_id(number.lower(), today=TODAY)
    assert once.number == number
    assert parse_prc_id(once.number, today=TODAY) == once


def test_retired_region_codes_are_accepted() -> None:
    # 110103 崇文区 was merged into 东城区 in 2010; numbers issued before keep the old code.
    assert not regions.is_current_region("110103")
    parsed = parse_prc_id(make_id(region="110103", born=date(1962, 8, 30)), today=TODAY)
    assert parsed.region_code == "110103"


@given(st.sampled_from(RETIRED_CODES), birth_dates, sequences)
def test_any_retired_region_code_is_accepted(region: str, born: date, sequence: str) -> None:
    assert parse_prc_id(make_id(region, born, sequence), today=TODAY).region_code == region


def test_is_valid_prc_id() -> None:
    assert is_valid_prc_id(make_id())
    assert not is_valid_prc_id(make_id()[:-1] + "0")


# --- 15-digit first-generation numbers -----------------------------------------------------


@given(
    region_codes,
    st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)),
    sequences.filter(lambda s: s not in CENTENARIAN_SEQUENCES),
)
def test_15_to_18_keeps_birth_date_and_sex(region: str, born: date, sequence: str) -> None:
    fifteen = make_15(region, born, sequence)
    eighteen = to_18(fifteen)
    assert eighteen == make_id(region, born, sequence)
    parsed = parse_prc_id(eighteen, today=TODAY)
    assert parsed.birth_date == born
    assert parsed.sex == ("M" if int(sequence) % 2 else "F")
    assert not parsed.was_15_digit
    from_15 = parse_prc_id(fifteen, today=TODAY)
    assert from_15.was_15_digit
    assert from_15.number == eighteen
    assert (from_15.birth_date, from_15.sex, from_15.region_code) == (
        parsed.birth_date,
        parsed.sex,
        parsed.region_code,
    )


@given(
    region_codes,
    st.dates(min_value=date(1850, 1, 1), max_value=date(1899, 12, 31)),
    st.sampled_from(sorted(CENTENARIAN_SEQUENCES)),
)
def test_centenarian_sequences_give_the_1800s(region: str, born: date, sequence: str) -> None:
    fifteen = make_15(region, born, sequence)
    eighteen = to_18(fifteen)
    assert eighteen[6:8] == "18"
    assert parse_prc_id(fifteen, today=TODAY).birth_date == born
    assert parse_prc_id(eighteen, today=TODAY).birth_date == born


def test_15_digit_examples() -> None:
    assert to_18("110101900307123") == "110101199003071233"
    assert to_18("110101 900307 123") == "110101199003071233"
    # Sequence 997 was reserved for centenarians: 1888, not 1988.
    assert to_18("110101880307997") == make_id(born=date(1888, 3, 7), sequence="997")
    assert parse_prc_id("110101880307997", today=TODAY).birth_date == date(1888, 3, 7)
    # 995 is an ordinary sequence.
    assert parse_prc_id("110101880307995", today=TODAY).birth_date == date(1988, 3, 7)


def test_to_18_refuses_other_lengths() -> None:
    with pytest.raises(IdentityError, match="bad_length"):
        to_18("110101199003071233")


def test_15_digit_errors() -> None:
    assert _reason("11010190030712X").reason == "bad_character"
    assert _reason("110101900230123").reason == "impossible_birth_date"  # 1990-02-30
    # 1900 was not a leap year.
    assert _reason("110101000229123").reason == "impossible_birth_date"
    # A centenarian sequence with a year that would put the birth before 1850.
    error = _reason("110101400101997")
    assert error.reason == "impossible_birth_date"
    assert error.detail == "positions 7-12: before 1850-01-01"
    assert _reason("000000900307123").reason == "unknown_region_code"


# --- errors ----------------------------------------------------------------------------------


def test_empty() -> None:
    assert _reason(" - ").reason == "empty"


@pytest.mark.parametrize("text", ["11010119900307123", "1101011990030712334", "1101011990"])
def test_bad_length(text: str) -> None:
    error = _reason(text)
    assert error.reason == "bad_length"
    assert f"got {len(text)}" in str(error)


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("11010119900307123A", "position 18"),  # only a digit or X may end the number
        ("1101011990030712X3", "position 17"),  # X only as the check character
        ("110101I99003071233", "position 7"),
        ("11010119900307一233", "position 15"),
        ("\u0661" + "10101199003071233", "position 1"),  # an Arabic-Indic digit one
    ],
)
def test_bad_character(text: str, position: str) -> None:
    error = _reason(text)
    assert error.reason == "bad_character"
    assert position in str(error)


def test_bad_check_character_names_the_expected_one() -> None:
    error = _reason("110101199003071230")
    assert error.reason == "bad_check_character"
    assert str(error) == (
        "candidate_id: bad_check_character (the first 17 digits give check character 3)"
    )


@pytest.mark.parametrize(
    "born",
    ["19900230", "19901301", "19900007", "20230229", "18491231", "00000000"],
)
def test_impossible_birth_date(born: str) -> None:
    first17 = "110101" + born + "123"
    assert _reason(first17 + prc_check_character(first17)).reason == "impossible_birth_date"


def test_leap_day_is_a_real_date() -> None:
    assert parse_prc_id(make_id(born=date(2000, 2, 29)), today=TODAY).birth_date.day == 29
    assert parse_prc_id(make_id(born=date(1850, 1, 1)), today=TODAY).birth_date.year == 1850


def test_future_birth_date() -> None:
    assert parse_prc_id(make_id(born=TODAY), today=TODAY).birth_date == TODAY
    error = _reason(make_id(born=TODAY + timedelta(days=1)), today=TODAY)
    assert error.reason == "future_birth_date"


def test_future_birth_date_against_the_clock() -> None:
    # Three days ahead of the local date is in the future in every time zone.
    born = date.today() + timedelta(days=3)  # noqa: DTZ011 - local date is the point here
    assert _reason(make_id(born=born)).reason == "future_birth_date"


@pytest.mark.parametrize("region", ["000000", "999999", "110199", "123456"])
def test_unknown_region_code(region: str) -> None:
    assert _reason(make_id(region=region)).reason == "unknown_region_code"


def test_taiwan_residence_permit_is_pointed_to_its_type() -> None:
    error = _reason(make_id(region="830000"))
    assert error.reason == "unknown_region_code"
    assert "tw_permit" in str(error)


def test_check_character_is_checked_before_the_date_and_region() -> None:
    # A number that fails its check is a typing error wherever it is; say so first.
    assert _reason("000000199013071230").reason == "bad_check_character"


# --- a birth date or sex given separately --------------------------------------------------


def test_check_against_agreeing_values() -> None:
    parsed = parse_prc_id("110101199003071233", today=TODAY)
    check_against(parsed)
    check_against(parsed, date_of_birth=date(1990, 3, 7), sex="M")
    check_against(parsed, sex="m")
    check_against(parsed, sex="Ｍ")
    check_against(parsed, sex="  ")  # a blank column says nothing


def test_check_against_birth_date_mismatch() -> None:
    parsed = parse_prc_id("110101199003071233", today=TODAY)
    with pytest.raises(IdentityError) as caught:
        check_against(parsed, date_of_birth=date(1990, 7, 3))
    assert caught.value.field == "date_of_birth"
    assert caught.value.reason == "birth_date_mismatch"
    assert str(caught.value).startswith("date_of_birth: birth_date_mismatch")


def test_check_against_sex_mismatch() -> None:
    parsed = parse_prc_id("110101199003071233", today=TODAY)
    with pytest.raises(IdentityError) as caught:
        check_against(parsed, date_of_birth=date(1990, 3, 7), sex="F")
    assert caught.value.field == "sex"
    assert caught.value.reason == "sex_mismatch"


def test_check_against_refuses_an_unknown_sex() -> None:
    parsed = parse_prc_id("110101199003071233", today=TODAY)
    with pytest.raises(IdentityError, match="sex: bad_sex"):
        check_against(parsed, sex="male")


def test_normalise_sex() -> None:
    assert normalise_sex("f") == "F"
    assert normalise_sex(" M ") == "M"


def test_compact() -> None:
    assert compact(" ａｂ-1\u20122\u22123 ") == "AB123"
