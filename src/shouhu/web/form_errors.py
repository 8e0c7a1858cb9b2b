"""Form errors in the reader's language: pydantic's error types and identity rejection reasons.

Pydantic and the identity checks explain themselves in English; a person reads the form in
Chinese by default. Each known error type or reason code has a translatable message here; an
English reader keeps the original, more detailed text (it may name the expected check digit).
"""

from __future__ import annotations

from typing import Final

from pydantic import ValidationError

from shouhu.core.i18n import N_, current_language, gettext

PYDANTIC_MESSAGES: Final = {
    "missing": N_("A value is required."),
    "string_too_long": N_("This is too long."),
    "string_too_short": N_("A value is required."),
    "int_parsing": N_("Enter a whole number."),
    "int_from_float": N_("Enter a whole number."),
    "greater_than_equal": N_("This number is too small."),
    "less_than_equal": N_("This number is too large."),
    "date_parsing": N_("Enter a date written YYYY-MM-DD."),
    "date_from_datetime_parsing": N_("Enter a date written YYYY-MM-DD."),
    "uuid_parsing": N_("Choose one of the listed options."),
    "bool_parsing": N_("Choose yes or no."),
}
REASON_MESSAGES: Final = {
    "missing": N_("A value is required."),
    "empty": N_("A value is required."),
    "too_long": N_("This is too long."),
    "control_characters": N_("Remove the control characters."),
    "bad_date": N_("Enter a date written YYYY-MM-DD."),
    "impossible_date": N_("No such date."),
    "future_date": N_("The date is in the future."),
    "before_birth": N_("The date is before the birth date."),
    "after_decision": N_("The offence date is after the decision date."),
    "bad_character": N_("The number contains a character it cannot hold."),
    "bad_length": N_("The number has the wrong length."),
    "bad_format": N_("The number is not written the way this document writes it."),
    "bad_check_character": N_("The check character does not match: check the number."),
    "unknown_region_code": N_("The number's region code does not exist."),
    "impossible_birth_date": N_("The birth date in the number is impossible."),
    "future_birth_date": N_("The birth date in the number is in the future."),
    "birth_date_mismatch": N_("The birth date differs from the one in the identity number."),
    "sex_mismatch": N_("The sex differs from the one the identity number gives."),
    "bad_sex": N_("Choose M or F."),
    "unknown_id_type": N_("Choose a document type from the list."),
    "unknown_nationality": N_("Not an ISO 3166 alpha-3 country code."),
    "missing_nationality": N_("Give the nationality for this document."),
    "no_letters": N_("A name needs at least one letter or character."),
    "unknown_record_kind": N_("Choose a kind from the list."),
    "unknown_offence": N_("Choose an offence from the catalogue."),
    "offence_kind_mismatch": N_("This offence is not recorded as this kind of decision."),
}
INVALID: Final = N_("This value is not valid.")


def pydantic_errors(exc: ValidationError) -> dict[str, str]:
    """Field → message for each error pydantic found, in the reader's language."""
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = str(error["loc"][-1]) if error["loc"] else ""
        if current_language() == "en":
            errors.setdefault(field, str(error["msg"]))
        else:
            errors.setdefault(field, gettext(PYDANTIC_MESSAGES.get(error["type"], INVALID)))
    return errors


def rejection_text(reason: str, message: str) -> str:
    """An identity or import rejection, in the reader's language."""
    if current_language() == "en":
        return message
    return gettext(REASON_MESSAGES.get(reason, INVALID))
