"""What matching knows of a person: names, documents, birth date, sex and nationality.

A registry person's profile is stored sealed in one column (`registry_persons.match_profile`), so
that scoring a candidate costs one decryption instead of one per name and document. A query is
turned into a profile of the same shape, so that both sides are compared field by field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

PROFILE_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class ProfileName:
    """One name of a person and which of their names it is (primary, former, alias)."""

    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class ProfileDocument:
    """An identity document: its type, the lifelong part of its number, and its nationality."""

    id_type: str
    number: str  # the lifelong number (`Document.lifelong_number`): renewals keep it
    nationality: str | None


@dataclass(frozen=True, slots=True)
class MatchProfile:
    """The identifying facts of a person (or of a query) in canonical form."""

    names: tuple[ProfileName, ...]
    documents: tuple[ProfileDocument, ...]
    date_of_birth: date | None
    sex: str | None
    nationality: str | None

    def to_bytes(self) -> bytes:
        """A compact JSON encoding, for sealing."""
        payload: list[Any] = [
            PROFILE_VERSION,
            [[name.kind, name.text] for name in self.names],
            [[d.id_type, d.number, d.nationality] for d in self.documents],
            self.date_of_birth.isoformat() if self.date_of_birth else None,
            self.sex,
            self.nationality,
        ]
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> MatchProfile:
        """Decode what `to_bytes` wrote."""
        version, names, documents, born, sex, nationality = json.loads(raw)
        if version != PROFILE_VERSION:
            raise ValueError(f"match profile version {version} is not {PROFILE_VERSION}")
        return cls(
            names=tuple(ProfileName(kind, text) for kind, text in names),
            documents=tuple(ProfileDocument(t, n, c) for t, n, c in documents),
            date_of_birth=date.fromisoformat(born) if born else None,
            sex=sex,
            nationality=nationality,
        )
