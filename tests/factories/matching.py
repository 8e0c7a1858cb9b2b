"""Match profiles and an in-memory candidate source for matching tests."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import date

from shouhu.identity.documents import normalise_document
from shouhu.matching.blocking import KeyKind, stored_keys
from shouhu.matching.engine import Candidate, Decision, PersonRef, Thresholds, decide
from shouhu.matching.model import stated_model
from shouhu.matching.profile import MatchProfile, ProfileDocument, ProfileName

THRESHOLDS = Thresholds(hit=20.0, review=10.0)


def profile(
    name: str,
    *,
    id_type: str = "prc_id",
    number: str,
    nationality: str | None = None,
    born: date | None = None,
    sex: str | None = None,
    former: tuple[str, ...] = (),
) -> MatchProfile:
    """A profile as the importer or a screening query builds it (the document validated)."""
    document = normalise_document(id_type, number, nationality=nationality or "CHN")
    return MatchProfile(
        names=(
            ProfileName("primary", name),
            *(ProfileName("former", text) for text in former),
        ),
        documents=(
            ProfileDocument(document.id_type.value, document.lifelong_number, document.nationality),
        ),
        date_of_birth=born or document.birth_date,
        sex=sex or document.sex,
        nationality=document.nationality,
    )


@dataclass
class MemorySource:
    """A registry in a dict, keyed like the real one (the keyring must be installed)."""

    persons: dict[str, Candidate] = field(default_factory=dict)
    keys: dict[bytes, list[tuple[PersonRef, KeyKind]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def add(self, external_id: str, person: MatchProfile, *, in_scope: bool = True) -> None:
        """Register a person with their keys."""
        self.persons[external_id] = Candidate(external_id, external_id, person, in_scope)
        for key in stored_keys(person):
            self.keys[key.key].append((external_id, key.kind))

    def lookup(self, keys: Collection[bytes]) -> Mapping[bytes, list[tuple[PersonRef, KeyKind]]]:
        """The persons holding each key."""
        return {key: self.keys[key] for key in keys if key in self.keys}

    def lookup_capped(self, key: bytes, *, cap: int) -> list[tuple[PersonRef, KeyKind]]:
        """Up to `cap` of them."""
        return self.keys.get(key, [])[:cap]

    def profiles(self, person_ids: Collection[PersonRef]) -> Mapping[PersonRef, Candidate]:
        """Their profiles."""
        return {pid: self.persons[str(pid)] for pid in person_ids if str(pid) in self.persons}

    def decide(self, query: MatchProfile) -> Decision:
        """The stated model's decision for `query` against this registry."""
        return decide(query, self, model=stated_model(), thresholds=THRESHOLDS)
