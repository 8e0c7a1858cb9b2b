"""Identity documents of an inquiry or a registry person: type, canonical number, nationality.

`normalise_document` is the one entry point that import and screening both use (DESIGN.md §6
`id_type` values). Rules and where they come from:

- `prc_id`: GB 11643-1999, see `shouhu.identity.prc_id`.
- `hkmo_permit`, the Mainland travel permit for Hong Kong and Macao residents
  (港澳居民来往内地通行证): the MPS Exit-Entry Administration's number rule of 2010-03-10
  (China News Service, "公安部公布港澳居民来往内地通行证号码规则"): 'H' (Hong Kong) or 'M'
  (Macao), an 8-digit lifelong number, then a 2-digit renewal count; later cards print the
  letter and the 8 digits only. Also the 2018 residence permit (港澳居民居住证, State Council
  《港澳台居民居住证申领发放办法》): a GB 11643-shaped number whose address code is 810000
  (Hong Kong) or 820000 (Macao).
- `tw_permit`, the Mainland travel permit for Taiwan residents (台湾居民来往大陆通行证):
  China News Service 2008-09-12 "台胞证9月25日起实行一人一号、终身不变" and the NIA's
  中国出入境观察 2020 no. 21 p. 36: from 1992 the number was the 8-digit lifelong number, a
  2-digit issue count and the issuing office's code in parentheses (Fujian, Jiangsu and
  Shanghai dropped the parentheses in 2006); since 2008-09-25 it is the 8 digits alone (the
  card form of 2015 kept them). The Taiwan residence permit number has the address code 830000.
- `foreign_pr_id`, the foreign permanent-residence ID card (外国人永久居留身份证): the NIA's
  "新版外国人永久居留身份证机读信息规则(2023版)" as reproduced by card-reader vendors (e.g.
  eastcoms.com/service/pro/840.html): the old number is 15 characters, 3 Latin letters (the
  nationality) and 12 digits; the 2023 number is 17 digits and a MOD 11-2 check character like a
  citizen's number, its first digit 9. Public implementations (the credentialkit Java library,
  a JavaScript id-card parser) agree on the old layout (letters, 4-digit issuing place, YYMMDD,
  2 more digits; one reads the last as a check digit, which we could not confirm and do not
  enforce) and on the new one (9, 2-digit province, 3-digit nationality, YYYYMMDD,
  sequence, check). We found no official table of the new numeric nationality codes, so they
  are not checked: only the length, the leading 9, the birth date and the check character are.
- `passport`: ICAO 9303 allows up to 9 characters in the MRZ but longer numbers exist in
  national formats, so any 5-20 Latin letters and digits; a Chinese passport must have one of
  the forms listed by the public guide at cwdbkk.com (chongwuchuguo/4933): E/G/D/S/P + 8 digits,
  E + a letter other than I and O + 7 digits, DE/SE/PE + 7 digits, D/S/P(.) + 7 digits, the old
  14/15 + 7 digits, K + 8 digits (Hong Kong SAR), MA + 7 digits (Macao SAR).
- Nationality: ISO 3166-1 through `pycountry`; alpha-2 and numeric codes are converted to
  alpha-3.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

import pycountry

from shouhu.identity.errors import IdentityError
from shouhu.identity.prc_id import (
    LENGTH,
    PrcId,
    Sex,
    compact,
    latest_possible_date,
    parse_prc_id,
    read_gb11643_body,
)

# The default nationality of documents issued only to Chinese citizens: PRC identity numbers,
# and the travel and residence permits of Hong Kong, Macao and Taiwan residents (issued to
# residents who are Chinese citizens). A nationality given explicitly is kept.
CHINA: Final = "CHN"


class IdType(StrEnum):
    """The kinds of identity document Shouhu accepts (DESIGN.md §6 `id_type`)."""

    PRC_ID = "prc_id"
    PASSPORT = "passport"
    HKMO_PERMIT = "hkmo_permit"
    TW_PERMIT = "tw_permit"
    FOREIGN_PR_ID = "foreign_pr_id"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Document:
    """A valid identity document in canonical form, with what its number says of the holder."""

    id_type: IdType
    number: str
    nationality: str | None  # ISO 3166-1 alpha-3; None where neither given nor implied
    # The part of the number that stays with the holder when the document is renewed (the
    # permits' 终身号); the whole number where nothing in it changes.
    lifelong_number: str
    birth_date: date | None = None  # None where the number does not carry it
    sex: Sex | None = None  # None where the number does not carry it
    prc_id: PrcId | None = None  # the parsed number, for `prc_id` only


PASSPORT_MIN_LENGTH: Final = 5
PASSPORT_MAX_LENGTH: Final = 20
# See the module docstring for the source of each form.
CHINESE_PASSPORT: Final = re.compile(
    r"[EGDSPK]\d{8}"  # E/G ordinary, D diplomatic, S service, P public affairs; K Hong Kong SAR
    r"|E[A-HJ-NP-Z]\d{7}"  # ordinary e-passports since 2017: E + letter (no I, O) + 7 digits
    r"|[DSP]E\d{7}"  # diplomatic, service and public-affairs e-passports
    r"|[DSP]\d{7}"  # older D/S/P passports (P.1234567 is written with a dot, removed here)
    r"|1[45]\d{7}"  # old ordinary passports
    r"|MA\d{7}",  # Macao SAR
    re.ASCII,
)
_PASSPORT_FORMS: Final = "E/G/D/S/P/K + 8 digits, E + letter + 7 digits, DE/SE/PE + 7 digits, ..."

HKMO_LETTERS: Final = frozenset({"H", "M"})  # Hong Kong, Macao
HKMO_PERMIT_LENGTHS: Final = (9, 11)  # letter + 8-digit lifelong number (+ 2-digit renewal count)
HKMO_LIFELONG: Final = slice(0, 9)
HKMO_RESIDENCE_REGIONS: Final = frozenset({"810000", "820000"})
TW_PERMIT_LENGTHS: Final = (8, 10)  # 8-digit lifelong number (+ 2-digit issue count)
TW_LIFELONG: Final = slice(0, 8)
TW_RESIDENCE_REGION: Final = "830000"
# Old Taiwan permits: 10 digits then the issuing office's code, usually in parentheses.
_TW_OFFICE_CODE: Final = re.compile(r"(\d{10})(?:\([A-Z0-9]{1,2}\)|[A-Z])", re.ASCII)

PR_OLD_LENGTH: Final = 15
PR_OLD_NATIONALITY: Final = slice(0, 3)
PR_OLD_DIGITS: Final = slice(3, 15)
PR_OLD_BIRTH_DATE: Final = slice(7, 13)
PR_NEW_FIRST_DIGIT: Final = "9"  # NIA 2023: 9 marks a foreigner; citizens' numbers start 1-8

OTHER_MAX_LENGTH: Final = 40
# ISO 3166-1 code lengths.
ALPHA2_LENGTH: Final = 2
ALPHA3_LENGTH: Final = 3
NUMERIC_LENGTH: Final = 3
_MAX_FOLDS: Final = 8


def _country(code: str) -> pycountry.db.Country | None:
    if code.isascii() and code.isdigit() and len(code) <= NUMERIC_LENGTH:
        # Numeric codes are often written without their leading zeros (4 for 004 Afghanistan).
        return pycountry.countries.get(numeric=code.zfill(NUMERIC_LENGTH))
    if code.isascii() and code.isalpha():
        if len(code) == ALPHA2_LENGTH:
            return pycountry.countries.get(alpha_2=code)
        if len(code) == ALPHA3_LENGTH:
            return pycountry.countries.get(alpha_3=code)
    return None


def validate_nationality(code: str, field: str = "nationality") -> str:
    """The ISO 3166-1 alpha-3 code for an alpha-3, alpha-2 or numeric country code."""
    cleaned = compact(code)
    if not cleaned:
        raise IdentityError(field, "empty")
    country = _country(cleaned)
    if country is None:
        raise IdentityError(field, "unknown_nationality", "an ISO 3166-1 country code expected")
    return str(country.alpha_3)


def _first_bad(text: str, allowed: str) -> int:
    return next(i for i, c in enumerate(text, start=1) if c not in allowed)


_DIGITS: Final = "0123456789"
_LETTERS: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LETTERS_AND_DIGITS: Final = _DIGITS + _LETTERS


def _require(text: str, allowed: str, field: str, offset: int = 0) -> None:
    if any(c not in allowed for c in text):
        raise IdentityError(
            field, "bad_character", f"position {offset + _first_bad(text, allowed)}"
        )


def _require_not_empty(number: str, field: str) -> None:
    if not number:
        raise IdentityError(field, "empty")


def _residence_permit(
    number: str,
    *,
    regions: frozenset[str],
    id_type: IdType,
    nationality: str,
    field: str,
    today: date | None,
) -> Document:
    # 港澳台居民居住证: a GB 11643 number whose address code names the region of residence.
    if number[:6] not in regions:
        starts = " or ".join(sorted(regions))
        raise IdentityError(field, "bad_format", f"an 18-character number starts with {starts}")
    born, sex = read_gb11643_body(number, field, today=today)
    return Document(id_type, number, nationality, number, birth_date=born, sex=sex)


def _hkmo_permit(text: str, nationality: str, field: str, today: date | None) -> Document:
    number = compact(text)
    _require_not_empty(number, field)
    if len(number) == LENGTH:
        return _residence_permit(
            number,
            regions=HKMO_RESIDENCE_REGIONS,
            id_type=IdType.HKMO_PERMIT,
            nationality=nationality,
            field=field,
            today=today,
        )
    if len(number) not in HKMO_PERMIT_LENGTHS:
        raise IdentityError(
            field,
            "bad_length",
            f"H or M and 8 or 10 digits, or an 18-character residence permit number;"
            f" got {len(number)} characters",
        )
    if number[0] not in HKMO_LETTERS:
        raise IdentityError(field, "bad_format", "starts with H (Hong Kong) or M (Macao)")
    _require(number[1:], _DIGITS, field, offset=1)
    return Document(IdType.HKMO_PERMIT, number, nationality, number[HKMO_LIFELONG])


def _tw_permit(text: str, nationality: str, field: str, today: date | None) -> Document:
    number = compact(text)
    _require_not_empty(number, field)
    if len(number) == LENGTH:
        return _residence_permit(
            number,
            regions=frozenset({TW_RESIDENCE_REGION}),
            id_type=IdType.TW_PERMIT,
            nationality=nationality,
            field=field,
            today=today,
        )
    office = _TW_OFFICE_CODE.fullmatch(number)
    if office:
        # The issuing office's code changes with every permit; it was never part of the number.
        number = office.group(1)
    if len(number) not in TW_PERMIT_LENGTHS:
        raise IdentityError(
            field,
            "bad_length",
            f"8 or 10 digits, or an 18-character residence permit number;"
            f" got {len(number)} characters",
        )
    _require(number, _DIGITS, field)
    return Document(IdType.TW_PERMIT, number, nationality, number[TW_LIFELONG])


def _old_pr_birth_date_is_real(yymmdd: str, today: date | None) -> bool:
    # The year has two digits: the date is real if it is in 19YY or 20YY (and not in the future).
    for century in (1900, 2000):
        try:
            born = date(century + int(yymmdd[0:2]), int(yymmdd[2:4]), int(yymmdd[4:6]))
        except ValueError:
            continue
        if born <= (today or latest_possible_date()):
            return True
    return False


def _foreign_pr_id(text: str, nationality: str | None, field: str, today: date | None) -> Document:
    number = compact(text)
    _require_not_empty(number, field)
    if len(number) == LENGTH:
        if not number.startswith(PR_NEW_FIRST_DIGIT):
            raise IdentityError(field, "bad_format", "an 18-character number starts with 9")
        # NIA 2023: the holder's number for life, so nothing in it changes on renewal. The sex
        # digit is not read: the rule we found does not say which position carries it.
        born, _ = read_gb11643_body(number, field, today=today)
        return Document(IdType.FOREIGN_PR_ID, number, nationality, number, birth_date=born)
    if len(number) != PR_OLD_LENGTH:
        raise IdentityError(
            field,
            "bad_length",
            f"15 (3 letters and 12 digits) or 18 characters expected, got {len(number)}",
        )
    letters = number[PR_OLD_NATIONALITY]
    _require(letters, _LETTERS, field)
    _require(number[PR_OLD_DIGITS], _DIGITS, field, offset=3)
    country = pycountry.countries.get(alpha_3=letters)
    if country is None:
        raise IdentityError(field, "unknown_nationality", "positions 1-3: not an ISO 3166 code")
    if not _old_pr_birth_date_is_real(number[PR_OLD_BIRTH_DATE], today):
        raise IdentityError(field, "impossible_birth_date", "positions 8-13: no such date")
    # The letters name the nationality when the card was issued; a nationality given separately
    # wins, since it may have changed since.
    return Document(IdType.FOREIGN_PR_ID, number, nationality or str(country.alpha_3), number)


def _passport(text: str, nationality: str | None, field: str) -> Document:
    if nationality is None:
        raise IdentityError("nationality", "missing_nationality", "a passport needs its country")
    # A dot is written in some older Chinese numbers (P.1234567); it is not part of the MRZ.
    number = compact(text).replace(".", "")
    _require_not_empty(number, field)
    if not PASSPORT_MIN_LENGTH <= len(number) <= PASSPORT_MAX_LENGTH:
        raise IdentityError(
            field,
            "bad_length",
            f"{PASSPORT_MIN_LENGTH}-{PASSPORT_MAX_LENGTH} letters and digits expected,"
            f" got {len(number)}",
        )
    _require(number, _LETTERS_AND_DIGITS, field)
    if nationality == CHINA and not CHINESE_PASSPORT.fullmatch(number):
        raise IdentityError(field, "bad_format", f"a Chinese passport number is {_PASSPORT_FORMS}")
    return Document(IdType.PASSPORT, number, nationality, number)


def _fold_other(text: str) -> str:
    # Upper-casing can leave a string that NFKC would change (Greek with diacritics), and removing
    # a space can put a combining mark next to a letter it composes with: fold until nothing
    # changes, so that normalising the result returns it unchanged.
    folded = text
    for _ in range(_MAX_FOLDS):
        step = "".join(unicodedata.normalize("NFKC", folded).upper().split())
        step = unicodedata.normalize("NFKC", step)
        if step == folded:
            break
        folded = step
    return folded


def _other(text: str, nationality: str | None, field: str) -> Document:
    number = _fold_other(text)
    _require_not_empty(number, field)
    if len(number) > OTHER_MAX_LENGTH:
        raise IdentityError(
            field, "bad_length", f"at most {OTHER_MAX_LENGTH} characters, got {len(number)}"
        )
    if not number.isprintable():
        position = next(i for i, c in enumerate(number, start=1) if not c.isprintable())
        raise IdentityError(field, "bad_character", f"position {position}")
    return Document(IdType.OTHER, number, nationality, number)


def parse_id_type(value: str, field: str = "id_type") -> IdType:
    """The IdType named by `value`, in any case, or IdentityError `unknown_id_type`."""
    try:
        return IdType(unicodedata.normalize("NFKC", value).strip().lower())
    except ValueError:
        allowed = ", ".join(member.value for member in IdType)
        raise IdentityError(field, "unknown_id_type", f"one of {allowed}") from None


def normalise_document(
    id_type: str,
    number: str,
    *,
    nationality: str | None = None,
    field: str = "id_number",
    today: date | None = None,
) -> Document:
    """Validate a document's number (and nationality) and return its canonical form."""
    kind = parse_id_type(id_type)
    # A blank nationality column is no statement: the document's own default applies.
    given = validate_nationality(nationality) if nationality and nationality.strip() else None
    if kind is IdType.PRC_ID:
        parsed = parse_prc_id(number, field, today=today)
        return Document(
            kind,
            parsed.number,
            given or CHINA,
            parsed.number,
            birth_date=parsed.birth_date,
            sex=parsed.sex,
            prc_id=parsed,
        )
    if kind is IdType.HKMO_PERMIT:
        return _hkmo_permit(number, given or CHINA, field, today)
    if kind is IdType.TW_PERMIT:
        return _tw_permit(number, given or CHINA, field, today)
    if kind is IdType.FOREIGN_PR_ID:
        return _foreign_pr_id(number, given, field, today)
    if kind is IdType.PASSPORT:
        return _passport(number, given, field)
    return _other(number, given, field)
