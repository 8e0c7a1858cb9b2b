"""The offence catalogue: the codes a registry record may name (part of the disclosure policy)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shouhu.registry.models import RecordKind


class OffenceCategory(StrEnum):
    """The four kinds of offence the Minors Law art. 62 inquiry covers."""

    SEXUAL = "sexual"
    ABUSE = "abuse"
    TRAFFICKING = "trafficking"
    VIOLENCE = "violence"


@dataclass(frozen=True, slots=True)
class Offence:
    """One entry of the catalogue."""

    code: str
    name_zh: str
    name_en: str
    legal_basis: str
    category: OffenceCategory
    record_kinds: frozenset[RecordKind]


@dataclass(frozen=True)
class OffenceCatalogue:
    """Every offence by code, and the version of the catalogue file."""

    version: int
    offences: dict[str, Offence]

    def get(self, code: str) -> Offence | None:
        """The offence with this code, or None."""
        return self.offences.get(code)

    def codes(self) -> list[str]:
        """Every code, sorted."""
        return sorted(self.offences)


class CatalogueError(Exception):
    """The packaged catalogue is malformed (a defect of the release, not of user input)."""


def _offence(entry: dict[str, Any]) -> Offence:
    try:
        return Offence(
            code=str(entry["code"]),
            name_zh=str(entry["name_zh"]),
            name_en=str(entry["name_en"]),
            legal_basis=str(entry["legal_basis"]),
            category=OffenceCategory(entry["category"]),
            record_kinds=frozenset(RecordKind(kind) for kind in entry["record_kinds"]),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise CatalogueError(f"bad offence entry {entry.get('code')!r}: {exc}") from exc


def parse_catalogue(text: str) -> OffenceCatalogue:
    """Parse catalogue TOML; codes must be unique and each offence must allow a record kind."""
    data = tomllib.loads(text)
    version = data.get("version")
    if not isinstance(version, int):
        raise CatalogueError("the catalogue needs an integer `version`")
    offences: dict[str, Offence] = {}
    for entry in data.get("offence", []):
        offence = _offence(entry)
        if offence.code in offences:
            raise CatalogueError(f"offence code {offence.code} appears twice")
        if not offence.record_kinds:
            raise CatalogueError(f"offence {offence.code} allows no record kind")
        offences[offence.code] = offence
    return OffenceCatalogue(version=version, offences=offences)
