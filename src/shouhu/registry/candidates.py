"""The registry as the matching engine's candidate source (`shouhu.matching.engine`).

Every look-up goes through the primary-key index of `registry_blocking_keys` (led by the key) and
the primary keys of the persons: never a scan, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from shouhu.core.crypto.fields import open_sealed
from shouhu.matching.blocking import KeyKind, QueryKeys
from shouhu.matching.engine import Candidate
from shouhu.matching.profile import MatchProfile
from shouhu.registry.models import RecordStatus, RegistryBlockingKey, RegistryPerson, RegistryRecord
from shouhu.registry.profiles import profile_of_person

# A bucket of a bounded key (a birth date with a sex, a name with a birth year) holds tens of
# persons at 10⁶; this bound only guards against a pathological one (a placeholder date).
BUCKET_BOUND: Final = 5000


class RegistryCandidates:
    """Candidates from the registry tables, in the caller's session."""

    def __init__(self, session: Session) -> None:
        """Look candidates up in `session`."""
        self.session = session

    def lookup(self, keys: QueryKeys, *, cap: int) -> Mapping[uuid.UUID, set[KeyKind]]:
        """Persons sharing any key, with the kinds of the keys they share."""
        found: dict[uuid.UUID, set[KeyKind]] = defaultdict(set)
        table = RegistryBlockingKey
        if keys.bounded:
            rows = self.session.execute(
                select(table.person_id, table.kind)
                .where(table.key.in_([k.key for k in keys.bounded]))
                .limit(BUCKET_BOUND)
            )
            for person_id, kind in rows:
                found[person_id].add(KeyKind(kind))
        for key in keys.capped:
            rows = self.session.execute(
                select(table.person_id, table.kind).where(table.key == key.key).limit(cap)
            )
            for person_id, kind in rows:
                found[person_id].add(KeyKind(kind))
        return found

    def profiles(self, person_ids: Collection[uuid.UUID]) -> Mapping[uuid.UUID, Candidate]:
        """Each person's profile: one decryption; rebuilt from the rows if it was never built."""
        if not person_ids:
            return {}
        field = RegistryPerson.match_profile
        rows = self.session.execute(
            select(
                RegistryPerson.id, RegistryPerson.external_id, RegistryPerson.match_profile_sealed
            ).where(RegistryPerson.id.in_(list(person_ids)))
        ).all()
        found: dict[uuid.UUID, Candidate] = {}
        missing: list[uuid.UUID] = []
        for person_id, external_id, sealed in rows:
            if sealed is None:
                missing.append(person_id)
                continue
            profile = MatchProfile.from_bytes(open_sealed(sealed, field.aad_for_row(person_id)))
            found[person_id] = Candidate(person_id, external_id, profile)
        if missing:
            # Imported before profiles existed and not yet rebuilt: slower, never wrong.
            for person in self.session.scalars(
                select(RegistryPerson)
                .where(RegistryPerson.id.in_(missing))
                .options(selectinload(RegistryPerson.names), selectinload(RegistryPerson.documents))
            ):
                found[person.id] = Candidate(
                    person.id, person.external_id, profile_of_person(person)
                )
        return found

    def in_scope(self, person_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
        """Those of the persons who hold an active record."""
        if not person_ids:
            return set()
        # Until the disclosure policy lands (issue 4) every active record counts.
        rows = self.session.scalars(
            select(RegistryRecord.person_id)
            .where(
                RegistryRecord.person_id.in_(list(person_ids)),
                RegistryRecord.status == RecordStatus.ACTIVE.value,
            )
            .distinct()
        )
        return set(rows)
