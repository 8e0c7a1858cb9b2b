"""A screening query as a file row or an API body gives it, validated into a match profile."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Final, TypeAlias

from shouhu.identity.errors import IdentityError
from shouhu.identity.names import normalise_name
from shouhu.identity.rows import Rejection, RowCheck, check_identity
from shouhu.matching.profile import MatchProfile, ProfileDocument, ProfileName
from shouhu.registry.models import NameKind

# DESIGN §6: the screening file's columns, in order.
COLUMNS: Final = (
    "reference",
    "name",
    "id_type",
    "id_number",
    "date_of_birth",
    "sex",
    "nationality",
)
REQUIRED_COLUMNS: Final = ("name", "id_type", "id_number")
REFERENCE_LENGTH: Final = 64
RawRow: TypeAlias = tuple[int, dict[str, str], bool]  # row number, values by column, extra cells?


@dataclass(frozen=True, slots=True)
class ValidQuery:
    """A query that passed validation."""

    reference: str
    profile: MatchProfile


@dataclass(frozen=True, slots=True)
class InvalidQuery:
    """A query that did not, with every problem found."""

    reference: str
    problems: tuple[Rejection, ...]

    def message(self) -> str:
        """One line for the output file: each field and what is wrong with it."""
        return "; ".join(f"{p.field}: {p.message}" for p in self.problems)


def parse_query(row: int, values: Mapping[str, str], *, today: date) -> ValidQuery | InvalidQuery:
    """Check one query; the profile to match, or every problem (naming the field)."""
    check = RowCheck(row, values, required=REQUIRED_COLUMNS)
    reference = check.text("reference", max_length=REFERENCE_LENGTH) or ""
    name = check.text("name")
    if name is not None:
        try:
            normalise_name(name)
        except IdentityError as exc:
            check.identity_error(exc, "name")
    sex, born, nationality, document = check_identity(check, today)
    if check.problems or name is None or document is None:
        return InvalidQuery(reference, tuple(check.problems))
    profile = MatchProfile(
        names=(ProfileName(NameKind.PRIMARY.value, " ".join(name.split())),),
        documents=(
            ProfileDocument(document.id_type.value, document.lifelong_number, document.nationality),
        ),
        date_of_birth=born or document.birth_date,
        sex=sex or document.sex,
        nationality=nationality or document.nationality,
    )
    return ValidQuery(reference, profile)


def parse_rows(rows: list[RawRow], today: date) -> list[ValidQuery | InvalidQuery]:
    """The rows as queries, in order."""
    queries: list[ValidQuery | InvalidQuery] = []
    for number, values, extra in rows:
        query = parse_query(number, values, today=today)
        if extra:
            problem = Rejection(number, "row", "extra_cells", "values beyond the last column")
            problems = query.problems if isinstance(query, InvalidQuery) else ()
            query = InvalidQuery(query.reference, (problem, *problems))
        queries.append(query)
    return queries
