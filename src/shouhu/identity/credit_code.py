"""Unified social credit codes (统一社会信用代码, GB 32100-2015) of organisations."""

from __future__ import annotations

import unicodedata
from typing import Final

from shouhu.identity.errors import IdentityError

LENGTH: Final = 18
# GB 32100-2015 §4: digits and capitals without I, O, Z, S and V, valued 0..30 in this order.
CHARSET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUES: Final = {character: value for value, character in enumerate(CHARSET)}
# GB 32100-2015 §5: weight of position i is 3^(i-1) mod 31.
WEIGHTS: Final = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
MODULUS: Final = 31
# GB 11714-1997: the organisation code (positions 9-17) has its own mod-11 check character.
ORGANISATION_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)
REGION: Final = slice(2, 8)
ORGANISATION: Final = slice(8, 17)


def _require_charset(text: str, field: str) -> None:
    for position, character in enumerate(text, start=1):
        if character not in _VALUES:
            raise IdentityError(field, "bad_character", f"position {position}")


def credit_code_check_character(first17: str, field: str = "credit_code") -> str:
    """The 18th character of a credit code whose first 17 characters are given."""
    if len(first17) != LENGTH - 1:
        raise IdentityError(field, "bad_length", f"{LENGTH - 1} characters expected")
    _require_charset(first17, field)
    total = sum(_VALUES[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    # GB 32100-2015 §5: C18 = 31 - (sum mod 31), where 31 stands for 0.
    return CHARSET[(MODULUS - total % MODULUS) % MODULUS]


def _gb11714_value(character: str) -> int:
    # GB 11714-1997 values digits as themselves and letters A..Z as 10..35.
    return int(character) if character.isdigit() else ord(character) - ord("A") + 10


def organisation_code_check_character(first8: str) -> str:
    """The GB 11714 check character of an organisation code whose first 8 characters are given."""
    if len(first8) != len(ORGANISATION_WEIGHTS) or not all(
        c.isascii() and (c.isdigit() or c.isupper()) for c in first8
    ):
        raise ValueError("an organisation code body is 8 digits or capital letters")
    total = sum(_gb11714_value(c) * w for c, w in zip(first8, ORGANISATION_WEIGHTS, strict=True))
    check = 11 - total % 11
    # GB 11714-1997: 10 is written X and 11 is written 0.
    return {10: "X", 11: "0"}.get(check, str(check))


def normalise_credit_code(text: str) -> str:
    """Full-width forms folded (NFKC), whitespace removed, letters in capitals."""
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


def validate_credit_code(text: str, field: str = "credit_code") -> str:
    """The normalised code, or IdentityError naming why it is not a valid credit code."""
    code = normalise_credit_code(text)
    if not code:
        raise IdentityError(field, "empty")
    if len(code) != LENGTH:
        raise IdentityError(field, "bad_length", f"{LENGTH} characters expected, got {len(code)}")
    _require_charset(code, field)
    # Positions 3-8 are the GB/T 2260 code of the registering authority's region: digits only.
    if not code[REGION].isdigit():
        raise IdentityError(field, "bad_region_code", "positions 3-8 must be digits")
    if credit_code_check_character(code[:-1], field) != code[-1]:
        raise IdentityError(field, "bad_check_character")
    organisation = code[ORGANISATION]
    if organisation_code_check_character(organisation[:-1]) != organisation[-1]:
        raise IdentityError(field, "bad_organisation_code_check", "positions 9-17")
    return code


def is_valid_credit_code(text: str) -> bool:
    """Whether `text` is a valid unified social credit code."""
    try:
        validate_credit_code(text)
    except IdentityError:
        return False
    return True
