"""PRC citizen identity numbers (公民身份号码, GB 11643-1999), 18- and 15-digit forms.

An 18-character number is a 6-digit GB/T 2260 region code, the birth date YYYYMMDD, a 3-digit
sequence whose parity gives the sex (odd male, even female) and a check character computed with
ISO 7064 MOD 11-2 (GB 11643-1999). First-generation numbers (issued until 2004) have 15 digits:
the region code, the birth date YYMMDD and the sequence, with no check character; they convert to
18 characters by writing the century in full and appending the check character.

The same 18-character shape (and check) is used by the 2018 residence permits of Hong Kong,
Macao and Taiwan residents (港澳台居民居住证) and by the 2023 foreign permanent-residence ID card;
`read_gb11643_body` is shared with `shouhu.identity.documents` for those.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Final, Literal, Protocol, TypeAlias

from shouhu.identity.errors import IdentityError
from shouhu.identity.regions import is_known_region

Sex: TypeAlias = Literal["M", "F"]

LENGTH: Final = 18
FIRST_GENERATION_LENGTH: Final = 15
# GB 11643-1999, ISO 7064 MOD 11-2: weight of position i (1-based) is 2^(18-i) mod 11.
WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# ISO 7064 MOD 11-2: check value (12 - sum mod 11) mod 11; the value 10 is written as X.
CHECK_CHARACTERS: Final = "0123456789X"
REGION: Final = slice(0, 6)
BIRTH_DATE: Final = slice(6, 14)
SEQUENCE: Final = slice(14, 17)
FIRST_GENERATION_BIRTH_DATE: Final = slice(6, 12)
FIRST_GENERATION_SEQUENCE: Final = slice(12, 15)
# First-generation numbers reserved the sequence codes 996-999 for centenarians, born in the
# 1800s; every other 15-digit number is of someone born in the 1900s.
CENTENARIAN_SEQUENCES: Final = frozenset({"996", "997", "998", "999"})
# Resident identity numbers were first issued in 1984-85; anyone born before 1850 would have been
# over 134 then, older than any person ever verified, so an earlier date can only be a typing
# error (or a centenarian code misapplied to a 1900s birth).
EARLIEST_BIRTH_DATE: Final = date(1850, 1, 1)
# The date has already begun somewhere on Earth when it has begun at UTC+14 (Line Islands):
# judging "the future" there means a newborn's number is never refused because of the clock or
# the time zone of the server.
_EARLIEST_TIME_ZONE: Final = timezone(timedelta(hours=14))
# GB/T 2260 has no code 830000: it is used only by Taiwan residents' residence permits.
_TAIWAN_RESIDENCE_PERMIT_REGION: Final = "830000"
# Dash punctuation that people type between groups of digits; NFKC leaves these unchanged.
_MINUS_SIGN: Final = "\u2212"


@dataclass(frozen=True, slots=True)
class PrcId:
    """A valid PRC identity number in its canonical 18-character form, and what it says."""

    number: str
    birth_date: date
    sex: Sex
    region_code: str
    was_15_digit: bool


def compact(text: str) -> str:
    """Full-width forms folded (NFKC), spaces and hyphens removed, letters in capitals."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(
        character
        for character in folded
        if not character.isspace()
        and character != _MINUS_SIGN
        and unicodedata.category(character) != "Pd"
    ).upper()


def latest_possible_date() -> date:
    """Today's date where it is latest on Earth: no birth date after it can be real."""
    return datetime.now(UTC).astimezone(_EARLIEST_TIME_ZONE).date()


def _is_ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _first_non_digit(text: str) -> int:
    return next(i for i, c in enumerate(text, start=1) if not _is_ascii_digits(c))


def prc_check_character(first17: str, field: str = "id_number") -> str:
    """The ISO 7064 MOD 11-2 check character of the 17 digits given (GB 11643-1999)."""
    if len(first17) != LENGTH - 1:
        raise IdentityError(field, "bad_length", f"{LENGTH - 1} digits expected")
    if not _is_ascii_digits(first17):
        raise IdentityError(field, "bad_character", f"position {_first_non_digit(first17)}")
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARACTERS[(12 - total % 11) % 11]


def sex_of_sequence(sequence: str) -> Sex:
    """The sex that a sequence code gives: odd for men, even for women (GB 11643-1999)."""
    return "M" if int(sequence[-1]) % 2 == 1 else "F"


def check_birth_date(
    text: str, field: str, *, today: date | None = None, where: str = "positions 7-14"
) -> date:
    """The date that 8 digits YYYYMMDD give, if it is real, not before 1850 and not future."""
    try:
        born = date(int(text[0:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        raise IdentityError(field, "impossible_birth_date", f"{where}: no such date") from None
    if born < EARLIEST_BIRTH_DATE:
        raise IdentityError(
            field, "impossible_birth_date", f"{where}: before {EARLIEST_BIRTH_DATE.isoformat()}"
        )
    if born > (today or latest_possible_date()):
        raise IdentityError(field, "future_birth_date", where)
    return born


def read_gb11643_body(number: str, field: str, *, today: date | None = None) -> tuple[date, Sex]:
    """Birth date and sex of an 18-character GB 11643-shaped number, its check verified."""
    if len(number) != LENGTH:
        raise IdentityError(field, "bad_length", f"{LENGTH} characters expected, got {len(number)}")
    body, check = number[:-1], number[-1]
    if not _is_ascii_digits(body):
        raise IdentityError(field, "bad_character", f"position {_first_non_digit(body)}")
    if check not in CHECK_CHARACTERS:
        raise IdentityError(field, "bad_character", f"position {LENGTH}: a digit or X expected")
    expected = prc_check_character(body, field)
    if check != expected:
        raise IdentityError(
            field, "bad_check_character", f"the first 17 digits give check character {expected}"
        )
    born = check_birth_date(number[BIRTH_DATE], field, today=today)
    return born, sex_of_sequence(number[SEQUENCE])


def _require_known_region(region: str, field: str) -> None:
    if is_known_region(region):
        return
    if region == _TAIWAN_RESIDENCE_PERMIT_REGION:
        raise IdentityError(
            field, "unknown_region_code", "830000 is a Taiwan residence permit: use tw_permit"
        )
    raise IdentityError(field, "unknown_region_code", "positions 1-6 are not a GB/T 2260 code")


def _from_15(number: str, field: str, today: date | None) -> PrcId:
    if not _is_ascii_digits(number):
        raise IdentityError(field, "bad_character", f"position {_first_non_digit(number)}")
    sequence = number[FIRST_GENERATION_SEQUENCE]
    century = "18" if sequence in CENTENARIAN_SEQUENCES else "19"
    birth_digits = century + number[FIRST_GENERATION_BIRTH_DATE]
    born = check_birth_date(birth_digits, field, today=today, where="positions 7-12")
    region = number[REGION]
    _require_known_region(region, field)
    first17 = region + birth_digits + sequence
    return PrcId(
        number=first17 + prc_check_character(first17, field),
        birth_date=born,
        sex=sex_of_sequence(sequence),
        region_code=region,
        was_15_digit=True,
    )


def parse_prc_id(text: str, field: str = "id_number", *, today: date | None = None) -> PrcId:
    """Validate an 18- or 15-digit PRC identity number; IdentityError names what is wrong."""
    number = compact(text)
    if not number:
        raise IdentityError(field, "empty")
    if len(number) == FIRST_GENERATION_LENGTH:
        return _from_15(number, field, today)
    if len(number) != LENGTH:
        raise IdentityError(
            field,
            "bad_length",
            f"{LENGTH} characters (or {FIRST_GENERATION_LENGTH} digits) expected,"
            f" got {len(number)}",
        )
    born, sex = read_gb11643_body(number, field, today=today)
    region = number[REGION]
    _require_known_region(region, field)
    return PrcId(number=number, birth_date=born, sex=sex, region_code=region, was_15_digit=False)


def to_18(fifteen: str, field: str = "id_number", *, today: date | None = None) -> str:
    """The 18-character form of a valid 15-digit first-generation number."""
    number = compact(fifteen)
    if len(number) != FIRST_GENERATION_LENGTH:
        raise IdentityError(
            field, "bad_length", f"{FIRST_GENERATION_LENGTH} digits expected, got {len(number)}"
        )
    return _from_15(number, field, today).number


def is_valid_prc_id(text: str) -> bool:
    """Whether `text` is a valid 18- or 15-digit PRC identity number."""
    try:
        parse_prc_id(text)
    except IdentityError:
        return False
    return True


class _BirthAndSex(Protocol):
    @property
    def birth_date(self) -> date | None: ...

    @property
    def sex(self) -> Sex | None: ...


def normalise_sex(value: str, field: str = "sex") -> Sex:
    """'M' or 'F' from any case and width of either letter."""
    sex = compact(value)
    if sex == "M":
        return "M"
    if sex == "F":
        return "F"
    raise IdentityError(field, "bad_sex", "M or F expected")


def check_against(
    parsed: _BirthAndSex,
    date_of_birth: date | None = None,
    sex: str | None = None,
) -> None:
    """Raise IdentityError if a separately given birth date or sex disagrees with the number."""
    # Fields the number does not carry (parsed.birth_date None) cannot disagree with it.
    if (
        date_of_birth is not None
        and parsed.birth_date is not None
        and date_of_birth != parsed.birth_date
    ):
        raise IdentityError(
            "date_of_birth",
            "birth_date_mismatch",
            "differs from the birth date in the identity number",
        )
    # A blank sex column is no statement about the person.
    if sex and sex.strip() and parsed.sex is not None and normalise_sex(sex) != parsed.sex:
        raise IdentityError("sex", "sex_mismatch", "differs from the sex the identity number gives")
