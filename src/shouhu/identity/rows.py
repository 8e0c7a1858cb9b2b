"""Checking the identity columns of one row of a file: registry imports and screening files.

Every problem is reported as a `Rejection` naming the row, the column and the reason, so that a
person can find and fix it; a row may have several.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final

from shouhu.core.text import has_control_characters
from shouhu.identity.documents import (
    CHINA,
    Document,
    IdType,
    normalise_document,
    parse_id_type,
    validate_nationality,
)
from shouhu.identity.errors import IdentityError
from shouhu.identity.prc_id import EARLIEST_BIRTH_DATE, check_against, normalise_sex

_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


@dataclass(frozen=True, slots=True)
class Rejection:
    """One problem with one row; a row may have several."""

    row: int
    field: str
    reason: str
    message: str


class RowCheck:
    """Collects the problems of one row."""

    def __init__(self, row: int, values: Mapping[str, str], *, required: Collection[str]) -> None:
        """Check `values` (column → cell text); `required` columns must not be blank."""
        self.row = row
        self.values = values
        self.required = required
        self.problems: list[Rejection] = []

    def reject(self, column: str, reason: str, message: str) -> None:
        """Note a problem with a column."""
        self.problems.append(Rejection(self.row, column, reason, message))

    def identity_error(self, exc: IdentityError, column: str | None = None) -> None:
        """Note what `shouhu.identity` found wrong."""
        detail = f" ({exc.detail})" if exc.detail else ""
        self.reject(column or exc.field, exc.reason, f"{exc.reason.replace('_', ' ')}{detail}")

    def text(self, column: str, *, max_length: int | None = None) -> str | None:
        """The trimmed value; None (and a problem) if required and blank, or malformed."""
        value = self.values.get(column, "")
        # isprintable() is true of most values and fast; only the rest are looked at closely.
        if not value.isprintable() and has_control_characters(value):
            self.reject(column, "control_characters", "contains control characters")
            return None
        value = value.strip()
        if not value:
            if column in self.required:
                self.reject(column, "missing", "a value is required")
            return None
        if max_length is not None and len(value) > max_length:
            self.reject(column, "too_long", f"at most {max_length} characters")
            return None
        return value

    def date(self, column: str, today: date) -> date | None:
        """A real YYYY-MM-DD date, not in the future."""
        value = self.text(column)
        if value is None:
            return None
        if not _ISO_DATE.fullmatch(value):
            self.reject(column, "bad_date", "a date written YYYY-MM-DD expected")
            return None
        try:
            parsed = date.fromisoformat(value)
        except ValueError:
            self.reject(column, "impossible_date", "no such date")
            return None
        if parsed > today:
            self.reject(column, "future_date", "the date is in the future")
            return None
        return parsed


def check_document(check: RowCheck, nationality: str | None, today: date) -> Document | None:
    """The row's `id_type` and `id_number` as a canonical document, or None (and problems)."""
    id_type_text = check.text("id_type")
    number = check.text("id_number")
    if id_type_text is None:
        return None
    try:
        id_type = parse_id_type(id_type_text)
    except IdentityError as exc:
        check.identity_error(exc, "id_type")
        return None
    if number is None:
        return None
    # Documents issued only to Chinese citizens imply CHN; for a passport or another document a
    # blank nationality means CHN too (DESIGN.md §6). The letters of an old foreign
    # permanent-residence number name the holder's country, so there it is left to them.
    if nationality is None and id_type is not IdType.FOREIGN_PR_ID:
        nationality = CHINA
    try:
        return normalise_document(
            id_type.value, number, nationality=nationality, field="id_number", today=today
        )
    except IdentityError as exc:
        check.identity_error(exc)
        return None


def check_identity(
    check: RowCheck, today: date
) -> tuple[str | None, date | None, str | None, Document | None]:
    """The row's sex, birth date, stated nationality and document, each None if absent or bad."""
    sex: str | None = None
    sex_text = check.text("sex")
    if sex_text is not None:
        try:
            sex = normalise_sex(sex_text)
        except IdentityError as exc:
            check.identity_error(exc, "sex")
    born = check.date("date_of_birth", today)
    if born is not None and born < EARLIEST_BIRTH_DATE:
        check.reject("date_of_birth", "impossible_date", f"before {EARLIEST_BIRTH_DATE}")
        born = None
    nationality: str | None = None
    nationality_text = check.text("nationality")
    if nationality_text is not None:
        try:
            nationality = validate_nationality(nationality_text)
        except IdentityError as exc:
            check.identity_error(exc, "nationality")
    document = check_document(check, nationality, today)
    if document is not None:
        try:
            # A PRC number (and a residence permit) carries birth date and sex: a row that
            # says otherwise is wrong somewhere, and which part is for a person to decide.
            check_against(document, born, sex)
        except IdentityError as exc:
            check.identity_error(exc)
    return sex, born, nationality, document
