"""`shouhu registry duplicates`: the registry matched against itself, for persons entered twice.

Each person's stored profile is put to the matching engine as if it were a query; every other
person it would answer `hit` (the same document and a high score: surely one human) or
`possible_match` (a reviewer should look) is a pair. A pair is reported once, however many of
its two persons' batches find it. Reading profiles is reading sensitive data: each batch is
audited (counts only) before its pairs leave. Each pair is also kept in
`registry_duplicate_pairs`, in the batch's transaction, for the reviewers' duplicates page: a pair
found again keeps the reviewer's decision. Merging is a reviewer's decision (`registry.merging`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from shouhu.accounts.policies import require
from shouhu.accounts.roles import Permission
from shouhu.core.audit.chain import record as audit_record
from shouhu.core.crypto.fields import open_sealed
from shouhu.core.database import read_only_session, transaction, utcnow
from shouhu.core.principal import Principal
from shouhu.matching.engine import Outcome, Thresholds, score_candidates
from shouhu.matching.model import MatchModel
from shouhu.matching.profile import MatchProfile
from shouhu.registry.candidates import RegistryCandidates, person_uuid
from shouhu.registry.models import DuplicateStatus, RegistryDuplicatePair, RegistryPerson
from shouhu.registry.policy import InquiryPurpose, RecordScope, policy

AUDIT_ACTION: Final = "registry:duplicates"
BATCH_PERSONS: Final = 500
# Any record of either person: a duplicate registration matters whatever it holds.
_EVERY_RECORD: Final = InquiryPurpose.CLOSE_CONTACT


@dataclass(frozen=True, slots=True)
class DuplicatePair:
    """Two persons the engine takes for one human, and why."""

    first_external_id: str
    second_external_id: str
    first_person_id: uuid.UUID  # the smaller id of the two
    second_person_id: uuid.UUID
    outcome: Outcome  # hit: surely one human; possible_match: a reviewer should look
    score: float
    reasons: str


@dataclass(frozen=True, slots=True)
class _Person:
    id: uuid.UUID
    external_id: str
    profile: MatchProfile


def _batches(engine: Engine, size: int) -> Iterator[list[_Person]]:
    """Every person with a profile, in id order, a batch at a time (keyset pages)."""
    field = RegistryPerson.match_profile
    after: uuid.UUID | None = None
    while True:
        query = select(
            RegistryPerson.id, RegistryPerson.external_id, RegistryPerson.match_profile_sealed
        ).where(RegistryPerson.match_profile_sealed.is_not(None))
        if after is not None:
            query = query.where(RegistryPerson.id > after)
        with read_only_session(engine) as session:
            rows = session.execute(query.order_by(RegistryPerson.id).limit(size)).all()
        if not rows:
            return
        yield [
            _Person(
                person_id,
                external_id,
                MatchProfile.from_bytes(open_sealed(sealed, field.aad_for_row(person_id))),
            )
            for person_id, external_id, sealed in rows
            if sealed is not None
        ]
        after = rows[-1][0]


def _keep(session: Session, pairs: list[DuplicatePair]) -> None:
    """Store new pairs and refresh the open ones; a decided pair keeps its decision."""
    if not pairs:
        return
    ids = {p.first_person_id for p in pairs}
    stored = {
        (row.first_person_id, row.second_person_id): row
        for row in session.scalars(
            select(RegistryDuplicatePair).where(RegistryDuplicatePair.first_person_id.in_(ids))
        )
    }
    now = utcnow()
    for pair in pairs:
        row = stored.get((pair.first_person_id, pair.second_person_id))
        if row is None:
            session.add(
                RegistryDuplicatePair(
                    first_person_id=pair.first_person_id,
                    second_person_id=pair.second_person_id,
                    outcome=pair.outcome.value,
                    score=pair.score,
                    reasons=pair.reasons,
                    status=DuplicateStatus.OPEN.value,
                    found_at=now,
                )
            )
        elif row.status == DuplicateStatus.OPEN.value:
            row.outcome, row.score, row.reasons, row.found_at = (
                pair.outcome.value,
                pair.score,
                pair.reasons,
                now,
            )


def _pairs(  # noqa: PLR0917 - the sweep's state, passed along
    session: Session,
    batch: list[_Person],
    scope: RecordScope,
    model: MatchModel,
    thresholds: Thresholds,
    seen: set[frozenset[uuid.UUID]],
) -> list[DuplicatePair]:
    """The new pairs the engine finds for a batch of persons (each pair once, over `seen`)."""
    scored = score_candidates(
        [person.profile for person in batch],
        RegistryCandidates(session, scope),
        model=model,
        thresholds=thresholds,
    )
    pairs: list[DuplicatePair] = []
    for person, candidates in zip(batch, scored, strict=True):
        for candidate in candidates:
            other = person_uuid(candidate.explanation.person_id)
            pair = frozenset({person.id, other})
            if candidate.outcome is Outcome.NO_RECORD or other == person.id or pair in seen:
                continue
            seen.add(pair)
            explanation = candidate.explanation
            first, second = sorted((person.external_id, explanation.external_id))
            low, high = sorted((person.id, other))
            pairs.append(
                DuplicatePair(
                    first,
                    second,
                    low,
                    high,
                    candidate.outcome,
                    explanation.score,
                    explanation.reasons(),
                )
            )
    return pairs


def sweep_persons(
    session: Session,
    person_ids: list[uuid.UUID],
    *,
    actor: Principal,
    model: MatchModel,
    thresholds: Thresholds,
) -> list[DuplicatePair]:
    """The sweep for a few persons only, in the caller's transaction (kept and audited)."""
    require(actor, Permission.REGISTRY_DUPLICATES)
    rows = session.execute(
        select(
            RegistryPerson.id, RegistryPerson.external_id, RegistryPerson.match_profile_sealed
        ).where(RegistryPerson.id.in_(person_ids), RegistryPerson.match_profile_sealed.is_not(None))
    ).all()
    field = RegistryPerson.match_profile
    batch = [
        _Person(
            pid, external_id, MatchProfile.from_bytes(open_sealed(sealed, field.aad_for_row(pid)))
        )
        for pid, external_id, sealed in rows
        if sealed is not None
    ]
    pairs = _pairs(session, batch, policy().scope(_EVERY_RECORD), model, thresholds, set())
    _keep(session, pairs)
    audit_record(
        session,
        actor=actor,
        action=AUDIT_ACTION,
        object_type="duplicate_sweep",
        object_id=uuid.uuid4(),
        details={"persons": len(batch), "pairs": len(pairs), "model": model.version},
    )
    return pairs


def find_duplicates(
    engine: Engine,
    factory: sessionmaker[Session],
    *,
    actor: Principal,
    model: MatchModel,
    thresholds: Thresholds,
    batch_persons: int = BATCH_PERSONS,
    progress: Callable[[int], None] | None = None,
) -> Iterator[list[DuplicatePair]]:
    """Each batch's new pairs, after the batch's audit event is committed."""
    require(actor, Permission.REGISTRY_DUPLICATES)
    scope = policy().scope(_EVERY_RECORD)
    seen: set[frozenset[uuid.UUID]] = set()
    sweep_id = uuid.uuid4()
    for batch in _batches(engine, batch_persons):
        with read_only_session(engine) as session:
            pairs = _pairs(session, batch, scope, model, thresholds, seen)
        with transaction(factory) as session:
            _keep(session, pairs)
            audit_record(
                session,
                actor=actor,
                action=AUDIT_ACTION,
                object_type="duplicate_sweep",
                object_id=sweep_id,
                details={"persons": len(batch), "pairs": len(pairs), "model": model.version},
            )
        if progress is not None:
            progress(len(batch))
        yield pairs
