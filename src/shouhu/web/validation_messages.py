"""The API's validation errors in the reader's language: pydantic's own wording is English only.

An API client is an integrator's program and the person reading its logs: each message says
what to send instead (the format, the limit). Forms speak to a person at a page and have their
own wording (web/form_errors.py).
"""

from __future__ import annotations

from typing import Any, Final

from shouhu.core.i18n import N_, gettext

# Pydantic's error types (pydantic_core ErrorType) people meet, each with a message saying what to
# send instead; the placeholders are the error's `ctx` values.
MESSAGES: Final[dict[str, str]] = {
    "missing": N_("This field is required."),
    "extra_forbidden": N_("This field is not accepted here; leave it out."),
    "string_too_long": N_("Use at most {max_length} characters."),
    "string_too_short": N_("Use at least {min_length} characters."),
    "too_long": N_("Give at most {max_length} items."),
    "too_short": N_("Give at least {min_length} items."),
    "greater_than": N_("Give a number above {gt}."),
    "greater_than_equal": N_("Give a number of at least {ge}."),
    "less_than": N_("Give a number below {lt}."),
    "less_than_equal": N_("Give a number of at most {le}."),
    "enum": N_("Choose one of: {expected}."),
    "literal_error": N_("Choose one of: {expected}."),
    "uuid_parsing": N_("Give an identifier (a UUID)."),
    "uuid_type": N_("Give an identifier (a UUID)."),
    "datetime_parsing": N_("Give a date and time, such as 2026-11-30T09:00:00+08:00."),
    "datetime_from_date_parsing": N_("Give a date and time, such as 2026-11-30T09:00:00+08:00."),
    "datetime_type": N_("Give a date and time, such as 2026-11-30T09:00:00+08:00."),
    "timezone_aware": N_("Give the time with its time zone, such as +08:00."),
    "date_parsing": N_("Give a date as YYYY-MM-DD."),
    "date_from_datetime_parsing": N_("Give a date as YYYY-MM-DD."),
    "date_type": N_("Give a date as YYYY-MM-DD."),
    "int_parsing": N_("Give a whole number."),
    "int_from_float": N_("Give a whole number."),
    "int_type": N_("Give a whole number."),
    "float_parsing": N_("Give a number."),
    "float_type": N_("Give a number."),
    "bool_parsing": N_("Give true or false."),
    "bool_type": N_("Give true or false."),
    "string_type": N_("Give text."),
    "list_type": N_("Give a list."),
    "dict_type": N_("Give an object."),
    "model_type": N_("Give an object."),
    "model_attributes_type": N_("Give an object."),
    "json_invalid": N_("The body is not valid JSON; check its syntax."),
    "string_pattern_mismatch": N_("This is not in the expected format."),
}
FALLBACK: Final = N_("This value is not valid; check it against the API documentation.")
VALUE_ERROR_PREFIX: Final = "Value error, "


def field_message(error: dict[str, Any]) -> str:
    """One pydantic error's message, translated; a validator's own message is looked up as is."""
    kind = str(error.get("type", ""))
    if kind == "value_error":
        # Our validators raise ValueError with a catalogue message; pydantic prefixes it.
        return gettext(str(error.get("msg", "")).removeprefix(VALUE_ERROR_PREFIX))
    template = MESSAGES.get(kind)
    if template is None:
        return gettext(FALLBACK)
    params = {key: str(value) for key, value in (error.get("ctx") or {}).items()}
    try:
        return gettext(template).format(**params)
    except (KeyError, IndexError):  # a pydantic version with other ctx names: say it plainly
        return gettext(FALLBACK)
