"""Checks of what people type into one-stop forms, each error naming its field."""

from __future__ import annotations

from shouhu.core.errors import ValidationFailedError
from shouhu.core.text import clean_line
from shouhu.identity.regions import is_known_region
from shouhu.onestop.labels import field_label


def line(value: str | None, *, field: str, limit: int, required: bool = True) -> str | None:
    """A one-line text: trimmed, no control characters, not too long; None if blank."""
    text = clean_line(value or "", field=field)
    if not text:
        if required:
            raise ValidationFailedError(
                "The field {name} is required.", field=field, name=field_label(field)
            )
        return None
    if len(text) > limit:
        raise ValidationFailedError(
            "The field {name} is longer than {limit} characters.",
            field=field,
            name=field_label(field),
            limit=limit,
        )
    return text


def text(value: str | None, *, field: str, limit: int, required: bool = True) -> str | None:
    """A text of several lines (a reason, a note): line breaks and tabs allowed; None if blank."""
    stripped = (value or "").strip()
    if not stripped:
        if required:
            raise ValidationFailedError(
                "The field {name} is required.", field=field, name=field_label(field)
            )
        return None
    if len(stripped) > limit:
        raise ValidationFailedError(
            "The field {name} is longer than {limit} characters.",
            field=field,
            name=field_label(field),
            limit=limit,
        )
    # C0 and C1 control characters but line breaks and tabs (PostgreSQL refuses NUL).
    if any((ord(ch) < 32 and ch not in "\n\r\t") or 127 <= ord(ch) < 160 for ch in stripped):  # noqa: PLR2004
        raise ValidationFailedError(
            "The field {name} contains control characters; type it again as plain text.",
            field=field,
            name=field_label(field),
        )
    return stripped


def region(value: str | None, *, field: str) -> str:
    """A GB/T 2260 region code that some code list carried."""
    code = (value or "").strip()
    if not is_known_region(code):
        raise ValidationFailedError(
            "Unknown GB/T 2260 region code {code}.", field=field, code=code[:12]
        )
    return code
