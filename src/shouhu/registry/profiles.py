"""Match profiles and blocking keys of registry persons: building, storing and rebuilding them.

A person's profile (`shouhu.matching.profile`) and blocking keys (`shouhu.matching.blocking`) are
derived from their names, documents, birth date, sex and nationality; they are written with the
person and rewritten whenever one of those changes, in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any, Final, cast

from sqlalchemy import Table, delete, func, insert, or_, select
from sqlalchemy.orm import Session, selectinload

from shouhu.core.audit.chain import record as audit_record
from shouhu.core.crypto.fields import open_sealed
from shouhu.core.principal import Principal
from shouhu.identity.documents import normalise_document
from shouhu.identity.errors import IdentityError
from shouhu.matching.blocking import KEYS_VERSION, BlockingKey, KeyKind, stored_keys
from shouhu.matching.profile import MatchProfile, ProfileDocument, ProfileName
from shouhu.registry.maintenance import refresh_planner_statistics
from shouhu.registry.models import (
    NameKind,
    RegistryBlockingKey,
    RegistryDocument,
    RegistryPerson,
)

REBUILD_ACTION: Final = "registry:rebuild_keys"
REBUILD_BATCH: Final = 500


def build_profile(
    *,
    names: Iterable[tuple[str, str]],
    documents: Iterable[ProfileDocument],
    date_of_birth: date | None,
    sex: str | None,
    nationality: str | None,
) -> MatchProfile:
    """A profile from a person's (kind, name) pairs, lifelong document numbers and the rest."""
    return MatchProfile(
        names=tuple(ProfileName(kind, text) for kind, text in names),
        documents=tuple(documents),
        date_of_birth=date_of_birth,
        sex=sex,
        nationality=nationality,
    )


def lifelong_number(document: RegistryDocument) -> str:
    """The part of a stored document's number that stays with the holder (decrypts it)."""
    number = document.number or ""
    try:
        return normalise_document(
            document.id_type, number, nationality=document.nationality
        ).lifelong_number
    except IdentityError:
        return number  # stored under an older rule: the number itself still matches


def profile_of_person(person: RegistryPerson) -> MatchProfile:
    """The profile of a stored person (decrypts every name and number)."""
    names = sorted(
        ((name.kind, name.name or "") for name in person.names),
        key=lambda pair: pair[0] != NameKind.PRIMARY.value,  # the primary name first
    )
    return build_profile(
        names=[pair for pair in names if pair[1]],
        documents=[
            ProfileDocument(d.id_type, lifelong_number(d), d.nationality) for d in person.documents
        ],
        date_of_birth=person.date_of_birth,
        sex=person.sex,
        nationality=person.nationality,
    )


# Each kind's text, looked up once: reading `.value` of an enum member per key is measurably
# slow when an import writes millions of keys.
_KIND_TEXT: Final = {kind: kind.value for kind in KeyKind}


def key_rows(person_id: uuid.UUID, keys: set[BlockingKey]) -> list[dict[str, Any]]:
    """Rows of `registry_blocking_keys` for one person."""
    return [{"key": k.key, "person_id": person_id, "kind": _KIND_TEXT[k.kind]} for k in keys]


def key_tuples(person_id: object, keys: Iterable[BlockingKey]) -> list[tuple[bytes, object, str]]:
    """`key_rows` as (key, person_id, kind) tuples, the id as the writer's driver takes it."""
    return [(k.key, person_id, _KIND_TEXT[k.kind]) for k in keys]


def refresh_persons(session: Session, persons: Sequence[RegistryPerson]) -> None:
    """Rewrite loaded persons' profiles and blocking keys from their current data."""
    rows: list[dict[str, Any]] = []
    for person in persons:
        profile = profile_of_person(person)
        person.match_profile = profile
        person.keys_version = KEYS_VERSION
        rows.extend(key_rows(person.id, stored_keys(profile)))
    ids = [person.id for person in persons]
    session.execute(delete(RegistryBlockingKey).where(RegistryBlockingKey.person_id.in_(ids)))
    if rows:
        session.execute(insert(RegistryBlockingKey), rows)


def _stale() -> Any:
    return or_(RegistryPerson.keys_version.is_(None), RegistryPerson.keys_version < KEYS_VERSION)


def count_stale(session: Session) -> int:
    """How many persons' profiles or keys an older derivation built (or none at all)."""
    return session.scalar(select(func.count()).select_from(RegistryPerson).where(_stale())) or 0


_PERSONS: Final = cast("Table", RegistryPerson.__table__)
# Built once: every inquiry asks it (a statement's cache key is computed once per object).
_ANY_STALE: Final = (
    select(_PERSONS.c.id)
    .where(or_(_PERSONS.c.keys_version.is_(None), _PERSONS.c.keys_version < KEYS_VERSION))
    .limit(1)
)


def has_stale(session: Session) -> bool:
    """Whether any person needs `rebuild_stale` before screening can trust the keys."""
    return session.connection().scalar(_ANY_STALE) is not None


def rebuild_batch(session: Session, *, actor: Principal) -> int:
    """Rebuild up to one batch of stale persons in the session's transaction; return how many."""
    persons = session.scalars(
        select(RegistryPerson)
        .where(_stale())
        .order_by(RegistryPerson.id)
        .limit(REBUILD_BATCH)
        .options(selectinload(RegistryPerson.names), selectinload(RegistryPerson.documents))
    ).all()
    if persons:
        refresh_persons(session, persons)
        audit_record(
            session,
            actor=actor,
            action=REBUILD_ACTION,
            object_type="registry_person",
            object_id=None,
            details={"persons": len(persons), "keys_version": KEYS_VERSION},
        )
    return len(persons)


def rebuild_stale(
    begin: Callable[[], Any], *, actor: Principal, progress: Callable[[int], None] | None = None
) -> int:
    """Rebuild every stale person, one committed batch at a time; return how many."""
    total = 0
    while True:
        with begin() as session:
            done = rebuild_batch(session, actor=actor)
            if not done and total:
                refresh_planner_statistics(session)
        if not done:
            return total
        total += done
        if progress is not None:
            progress(done)


FIT_ACTION: Final = "registry:fit_weights"


def sample_profiles(session: Session, *, actor: Principal, persons: int) -> list[MatchProfile]:
    """Up to `persons` random persons' profiles, for refitting the model (an audited read)."""
    field = RegistryPerson.match_profile
    rows = session.execute(
        select(RegistryPerson.id, RegistryPerson.match_profile_sealed)
        .where(RegistryPerson.match_profile_sealed.is_not(None))
        .order_by(func.random())
        .limit(persons)
    ).all()
    profiles = [
        MatchProfile.from_bytes(open_sealed(sealed, field.aad_for_row(person_id)))
        for person_id, sealed in rows
        if sealed is not None
    ]
    audit_record(
        session,
        actor=actor,
        action=FIT_ACTION,
        object_type="registry",
        details={"persons_sampled": len(profiles)},
    )
    return profiles
