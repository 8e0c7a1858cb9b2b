"""Identity documents: permits, foreign permanent-residence IDs, passports, nationality.

All numbers are invented; those with a MOD 11-2 check character have it computed here.
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shouhu.identity.documents import (
    Document,
    IdType,
    normalise_document,
    parse_id_type,
    validate_nationality,
)
from shouhu.identity.errors import IdentityError
from shouhu.identity.prc_id import check_against, prc_check_character

TODAY = date(2025, 6, 1)


def with_check(first17: str) -> str:
    return first17 + prc_check_character(first17)


def _error(id_type: str, number: str, nationality: str | None = None) -> IdentityError:
    with pytest.raises(IdentityError) as caught:
        normalise_document(id_type, number, nationality=nationality, field="doc", today=TODAY)
    error = caught.value
    assert str(error).startswith(f"{error.field}: {error.reason}")
    return error


def _reason(id_type: str, number: str, nationality: str | None = None) -> str:
    error = _error(id_type, number, nationality)
    if error.field != "nationality":
        assert error.field == "doc"
    return error.reason


# --- id_type ---------------------------------------------------------------------------------


def test_id_types_are_the_design_values() -> None:
    # DESIGN.md §6: the import and screening files use exactly these values.
    assert [t.value for t in IdType] == [
        "prc_id",
        "passport",
        "hkmo_permit",
        "tw_permit",
        "foreign_pr_id",
        "other",
    ]


def test_id_type_in_any_case() -> None:
    assert parse_id_type(" PRC_ID ") is IdType.PRC_ID


def test_unknown_id_type() -> None:
    error = _error("driving_licence", "123456")
    assert error.field == "id_type"
    assert error.reason == "unknown_id_type"
    assert "prc_id" in str(error)


# --- prc_id ----------------------------------------------------------------------------------


def test_prc_id_document() -> None:
    document = normalise_document("prc_id", "110101199003071233", today=TODAY)
    assert document.id_type is IdType.PRC_ID
    assert document.number == document.lifelong_number == "110101199003071233"
    assert document.nationality == "CHN"  # the default for a citizen's number
    assert document.birth_date == date(1990, 3, 7)
    assert document.sex == "M"
    assert document.prc_id is not None
    assert document.prc_id.region_code == "110101"


def test_prc_id_15_digits_become_18() -> None:
    document = normalise_document("prc_id", "110101900307123", today=TODAY)
    assert document.number == "110101199003071233"
    assert document.prc_id is not None
    assert document.prc_id.was_15_digit


def test_prc_id_errors_name_the_field() -> None:
    assert _reason("prc_id", "110101199003071230") == "bad_check_character"


def test_prc_id_keeps_a_nationality_given() -> None:
    document = normalise_document("prc_id", "110101199003071233", nationality="chn", today=TODAY)
    assert document.nationality == "CHN"


# --- hkmo_permit -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "number", "lifelong"),
    [
        ("H12345678", "H12345678", "H12345678"),
        ("m87654321", "M87654321", "M87654321"),
        # MPS 2010 rule: 8-digit lifelong number, then the renewal count (01: renewed once).
        ("H1234567801", "H1234567801", "H12345678"),
        ("Ｈ１２３４５６７８０２", "H1234567802", "H12345678"),
        ("H 1234 5678", "H12345678", "H12345678"),
    ],
)
def test_hkmo_travel_permit(typed: str, number: str, lifelong: str) -> None:
    document = normalise_document("hkmo_permit", typed, today=TODAY)
    assert document == Document(IdType.HKMO_PERMIT, number, "CHN", lifelong)


def test_hkmo_renewals_share_the_lifelong_number() -> None:
    first = normalise_document("hkmo_permit", "H1234567800")
    renewed = normalise_document("hkmo_permit", "H1234567801")
    assert first.number != renewed.number
    assert first.lifelong_number == renewed.lifelong_number


@pytest.mark.parametrize(("prefix", "sequence"), [("810000", "015"), ("820000", "024")])
def test_hkmo_residence_permit(prefix: str, sequence: str) -> None:
    number = with_check(prefix + "19851120" + sequence)
    document = normalise_document("hkmo_permit", number.lower(), today=TODAY)
    assert document.number == number
    assert document.birth_date == date(1985, 11, 20)
    assert document.sex == ("M" if int(sequence) % 2 else "F")
    assert document.nationality == "CHN"


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("X12345678", "bad_format"),  # neither Hong Kong nor Macao
        ("112345678", "bad_format"),
        ("H1234567", "bad_length"),
        ("H123456789", "bad_length"),
        ("H12345A78", "bad_character"),
        (with_check("11010119851120015"), "bad_format"),  # a citizen's number, not a permit
        (with_check("83000019851120015"), "bad_format"),  # Taiwan's, not Hong Kong's
        (with_check("81000019851120015")[:-1] + "Y", "bad_character"),
        ("", "empty"),
    ],
)
def test_hkmo_permit_errors(typed: str, reason: str) -> None:
    assert _reason("hkmo_permit", typed) == reason


def test_hkmo_residence_permit_check_and_date() -> None:
    good = with_check("81000019851120015")
    wrong = "0" if good[-1] != "0" else "1"
    assert _reason("hkmo_permit", good[:-1] + wrong) == "bad_check_character"
    assert _reason("hkmo_permit", with_check("81000019851320015")) == "impossible_birth_date"
    assert _reason("hkmo_permit", with_check("81000020990101015")) == "future_birth_date"


# --- tw_permit -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "number", "lifelong"),
    [
        ("12345678", "12345678", "12345678"),  # since 2008 (and the 2015 card)
        ("1234567801", "1234567801", "12345678"),  # 1992-2008: lifelong number + issue count
        ("1234567801(B)", "1234567801", "12345678"),  # with the issuing office's code
        ("1234567802（B）", "1234567802", "12345678"),  # full-width parentheses
        ("1234567801(5)", "1234567801", "12345678"),  # an office code may be a digit
        ("1234567801b", "1234567801", "12345678"),
        ("1234 5678", "12345678", "12345678"),
    ],
)
def test_tw_travel_permit(typed: str, number: str, lifelong: str) -> None:
    document = normalise_document("tw_permit", typed, today=TODAY)
    assert document == Document(IdType.TW_PERMIT, number, "CHN", lifelong)


def test_tw_residence_permit() -> None:
    number = with_check("83000019700101002")
    document = normalise_document("tw_permit", number, today=TODAY)
    assert document.number == number
    assert document.birth_date == date(1970, 1, 1)
    assert document.sex == "F"


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("1234567", "bad_length"),
        ("123456789", "bad_length"),
        ("12345678(B)", "bad_length"),  # office codes followed the 10-digit numbers only
        ("1234567A", "bad_character"),
        ("T1234567", "bad_character"),
        ("\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668", "bad_character"),  # Arabic-Indic
        (with_check("81000019851120015"), "bad_format"),
    ],
)
def test_tw_permit_errors(typed: str, reason: str) -> None:
    assert _reason("tw_permit", typed) == reason


def test_tw_residence_permit_check_character() -> None:
    good = with_check("83000019700101002")
    wrong = "0" if good[-1] != "0" else "1"
    assert _reason("tw_permit", good[:-1] + wrong) == "bad_check_character"


def test_permit_nationality_given_is_kept() -> None:
    document = normalise_document("tw_permit", "12345678", nationality="TWN")
    assert document.nationality == "TWN"


# --- foreign_pr_id ---------------------------------------------------------------------------


def test_old_foreign_pr_id() -> None:
    # USA, issuing place 1100 (Beijing), born 85-06-15, sequence 01.
    document = normalise_document("foreign_pr_id", "usa 1100 850615 01", today=TODAY)
    assert document == Document(IdType.FOREIGN_PR_ID, "USA110085061501", "USA", "USA110085061501")


def test_old_foreign_pr_id_nationality_given_wins() -> None:
    # The letters record the nationality at issue; it may have changed since.
    document = normalise_document("foreign_pr_id", "USA110085061501", nationality="CA")
    assert document.nationality == "CAN"


def test_old_foreign_pr_id_leap_day_of_2000() -> None:
    # 00-02-29 is no date in 1900 but is one in 2000.
    document = normalise_document("foreign_pr_id", "DEU310000022901", today=TODAY)
    assert document.number == "DEU310000022901"
    assert document.nationality == "DEU"


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("XYZ110085061501", "unknown_nationality"),
        ("US1110085061501", "bad_character"),
        ("USA11008506150A", "bad_character"),
        ("USA110085133101", "impossible_birth_date"),
        ("USA110085023001", "impossible_birth_date"),
        ("USA11008506150", "bad_length"),
    ],
)
def test_old_foreign_pr_id_errors(typed: str, reason: str) -> None:
    error = _error("foreign_pr_id", typed)
    assert error.field == "doc"
    assert error.reason == reason


def test_new_foreign_pr_id() -> None:
    number = with_check("91184019850615003")
    document = normalise_document("foreign_pr_id", number, nationality="US", today=TODAY)
    assert document.number == document.lifelong_number == number
    assert document.birth_date == date(1985, 6, 15)
    assert document.nationality == "USA"
    # The numeric nationality table is not public, so the number implies no nationality.
    assert normalise_document("foreign_pr_id", number, today=TODAY).nationality is None


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        (with_check("11010119850615003"), "bad_format"),  # a citizen's number
        (with_check("91184019851615003"), "impossible_birth_date"),
        (with_check("91184020990615003"), "future_birth_date"),
        (with_check("91184019850615003")[:-1] + "A", "bad_character"),
    ],
)
def test_new_foreign_pr_id_errors(typed: str, reason: str) -> None:
    assert _reason("foreign_pr_id", typed) == reason


def test_new_foreign_pr_id_check_character() -> None:
    good = with_check("91184019850615003")
    wrong = "0" if good[-1] != "0" else "1"
    error = _error("foreign_pr_id", good[:-1] + wrong)
    assert error.reason == "bad_check_character"
    assert error.detail is not None
    assert error.detail.endswith(good[-1])


# --- passport --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "nationality", "number"),
    [
        ("E12345678", "CHN", "E12345678"),
        ("ef1260892", "CN", "EF1260892"),  # E + letter + 7 digits (since 2017)
        ("G12345678", "156", "G12345678"),  # the pre-2012 ordinary passport
        ("DE1234567", "CHN", "DE1234567"),
        ("SE1234567", "CHN", "SE1234567"),
        ("P.1234567", "CHN", "P1234567"),
        ("141234567", "CHN", "141234567"),
        ("K12345678", "CHN", "K12345678"),  # Hong Kong SAR
        ("MA1234567", "CHN", "MA1234567"),  # Macao SAR
        ("PA 123 4567", "NLD", "PA1234567"),
        ("x1234", "GBR", "X1234"),  # foreign numbers: 5-20 letters and digits
        ("12345678901234567890", "USA", "12345678901234567890"),
        ("Ｃ０１Ｘ００Ｔ４７", "DEU", "C01X00T47"),
    ],
)
def test_passport(typed: str, nationality: str, number: str) -> None:
    document = normalise_document("passport", typed, nationality=nationality)
    assert document.number == document.lifelong_number == number
    assert document.nationality == validate_nationality(nationality)


@pytest.mark.parametrize(
    ("typed", "nationality", "reason"),
    [
        ("E12345678", None, "missing_nationality"),
        ("E12345678", "  ", "missing_nationality"),
        ("E12345678", "XX", "unknown_nationality"),
        ("EI1234567", "CHN", "bad_format"),  # I is not used, it looks like 1
        ("EO1234567", "CHN", "bad_format"),
        ("E1234567", "CHN", "bad_format"),
        ("A12345678", "CHN", "bad_format"),
        ("E123456789", "CHN", "bad_format"),
        ("A123", "USA", "bad_length"),
        ("A12345678901234567890", "USA", "bad_length"),
        ("AB12/3456", "USA", "bad_character"),
        ("АВ1234567", "RUS", "bad_character"),  # Cyrillic letters that look Latin
        ("", "USA", "empty"),
    ],
)
def test_passport_errors(typed: str, nationality: str | None, reason: str) -> None:
    error = _error("passport", typed, nationality)
    assert error.reason == reason
    expected_field = "nationality" if reason.endswith("nationality") else "doc"
    assert error.field == expected_field


# --- other -----------------------------------------------------------------------------------


def test_other() -> None:
    document = normalise_document("other", " 军字 第 00123 号 ")
    assert document == Document(IdType.OTHER, "军字第00123号", None, "军字第00123号")
    assert normalise_document("other", "ab-12", nationality="fr").number == "AB-12"
    assert normalise_document("other", "ab-12", nationality="fr").nationality == "FRA"
    assert normalise_document("other", "x" * 40).number == "X" * 40


@pytest.mark.parametrize(
    ("typed", "reason"),
    [("   ", "empty"), ("x" * 41, "bad_length"), ("AB\x0012", "bad_character")],
)
def test_other_errors(typed: str, reason: str) -> None:
    assert _reason("other", typed) == reason


# --- nationality -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "alpha3"),
    [
        ("USA", "USA"),
        ("US", "USA"),
        ("us", "USA"),
        ("840", "USA"),
        ("156", "CHN"),
        ("CN", "CHN"),
        ("ｃｈｎ", "CHN"),
        ("4", "AFG"),  # numeric codes written without their leading zeros
        ("004", "AFG"),
        (" hkg ", "HKG"),
        ("TW", "TWN"),
    ],
)
def test_validate_nationality(code: str, alpha3: str) -> None:
    assert validate_nationality(code) == alpha3


@pytest.mark.parametrize("code", ["XX", "ZZZ", "999", "China", "U", "USAA", "1560", "UK"])
def test_unknown_nationality(code: str) -> None:
    with pytest.raises(IdentityError) as caught:
        validate_nationality(code)
    assert caught.value.reason == "unknown_nationality"
    assert str(caught.value).startswith("nationality: unknown_nationality")


def test_empty_nationality() -> None:
    with pytest.raises(IdentityError, match="nationality: empty"):
        validate_nationality(" ")


def test_unknown_nationality_in_a_document() -> None:
    error = _error("prc_id", "110101199003071233", nationality="ZZZ")
    assert error.field == "nationality"
    assert error.reason == "unknown_nationality"


# --- birth date and sex given separately -----------------------------------------------------


def test_check_against_a_document() -> None:
    permit = normalise_document("hkmo_permit", with_check("81000019851120015"), today=TODAY)
    check_against(permit, date_of_birth=date(1985, 11, 20), sex="M")
    with pytest.raises(IdentityError, match="birth_date_mismatch"):
        check_against(permit, date_of_birth=date(1985, 11, 21))
    with pytest.raises(IdentityError, match="sex_mismatch"):
        check_against(permit, sex="F")
    # A passport number carries neither, so nothing can disagree with it.
    passport = normalise_document("passport", "X12345", nationality="USA")
    check_against(passport, date_of_birth=date(1985, 11, 20), sex="F")


# --- properties ------------------------------------------------------------------------------

digits = st.text(alphabet="0123456789", min_size=1, max_size=1)
birth_dates = st.dates(min_value=date(1850, 1, 1), max_value=TODAY)
sequences = st.integers(0, 999).map("{:03d}".format)


def _other_is_valid(text: str) -> bool:
    folded = unicodedata.normalize("NFKC", "".join(text.split()))
    return 0 < len(folded) <= 40 and folded.isprintable()


def _passport_ok(text: str) -> bool:
    return 5 <= len(text.replace(" ", "")) <= 20


@st.composite
def valid_documents(draw: st.DrawFn) -> tuple[IdType, str, str | None]:
    kind = draw(st.sampled_from(list(IdType)))
    born = draw(birth_dates).strftime("%Y%m%d")
    sequence = draw(sequences)
    eight = draw(st.text(alphabet="0123456789", min_size=8, max_size=8))
    forms: list[str]
    nationality = None
    if kind is IdType.PRC_ID:
        forms = [with_check("110101" + born + sequence)]
        if "1900" <= born < "2000" and sequence not in {"996", "997", "998", "999"}:
            forms.append("110101" + born[2:] + sequence)
    elif kind is IdType.HKMO_PERMIT:
        region = draw(st.sampled_from(["810000", "820000"]))
        letter = draw(st.sampled_from("HM"))
        count = draw(st.sampled_from(["", "00", "07"]))
        forms = [letter + eight + count, with_check(region + born + sequence)]
    elif kind is IdType.TW_PERMIT:
        count = draw(st.sampled_from(["", "01", "12(B)"]))
        forms = [eight + count, with_check("830000" + born + sequence)]
    elif kind is IdType.FOREIGN_PR_ID:
        letters = draw(st.sampled_from(["USA", "DEU", "JPN"]))
        forms = [letters + "1100" + born[2:] + sequence[:2], with_check("911840" + born + sequence)]
    elif kind is IdType.PASSPORT:
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789 "
        forms = [draw(st.text(alphabet=alphabet, min_size=5, max_size=20).filter(_passport_ok))]
        nationality = draw(st.sampled_from(["USA", "GB", "036"]))
    else:
        forms = [draw(st.text(min_size=1, max_size=40).filter(_other_is_valid))]
    return kind, draw(st.sampled_from(forms)), nationality


@given(valid_documents())
def test_normalising_a_canonical_document_returns_it(case: tuple[IdType, str, str | None]) -> None:
    kind, number, nationality = case
    document = normalise_document(kind, number, nationality=nationality, today=TODAY)
    assert document.id_type is kind
    again = normalise_document(
        document.id_type, document.number, nationality=document.nationality, today=TODAY
    )
    # Everything but the record that the first input had 15 digits is unchanged.
    assert replace(again, prc_id=None) == replace(document, prc_id=None)
    assert document.number.startswith(document.lifelong_number)


@given(st.sampled_from(["810000", "820000"]), birth_dates, sequences, st.integers(0, 16), digits)
def test_residence_permit_typos_are_caught(
    region: str, born: date, sequence: str, position: int, digit: str
) -> None:
    number = with_check(region + born.strftime("%Y%m%d") + sequence)
    mistyped = number[:position] + digit + number[position + 1 :]
    if mistyped == number:
        return
    with pytest.raises(IdentityError):
        normalise_document("hkmo_permit", mistyped, today=TODAY)


@given(st.text(max_size=60))
def test_other_normalisation_is_idempotent(text: str) -> None:
    try:
        document = normalise_document("other", text)
    except IdentityError:
        return  # refused input has no canonical form
    assert normalise_document("other", document.number) == document


def test_other_folds_a_combining_mark_freed_by_removing_a_space() -> None:
    # NFKC writes U+00A8 (diaeresis) as a space and a combining mark; once the space is gone the
    # mark composes with the letter before it.
    document = normalise_document("other", "a\u00a8b")
    assert document.number == "\u00c4B"
    assert normalise_document("other", document.number) == document
