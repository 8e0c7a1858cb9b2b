"""Plain single-line text from people: no control characters (PostgreSQL refuses NUL)."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

from shouhu.core.errors import ValidationFailedError


def has_control_characters(value: str) -> bool:
    """Whether the text holds C0/C1 control characters (NUL, newline, escape…)."""
    return any(unicodedata.category(ch) == "Cc" for ch in value)


def clean_line(value: str, *, field: str) -> str:
    """Trim a one-line value and refuse control characters, naming the field."""
    if has_control_characters(value):
        raise ValidationFailedError(
            "The field {name} contains control characters; type it again as plain text.",
            field=field,
            name=field,
        )
    return value.strip()


def _pydantic_clean(value: str) -> str:
    if has_control_characters(value):
        raise ValueError("must not contain control characters")
    return value.strip()


# For API input schemas: a 422 naming the field, before any service runs.
PlainLine = Annotated[str, AfterValidator(_pydantic_clean)]
