"""`shouhu registry duplicates`: the registry matched against itself, for persons entered twice.

Each person's stored profile is put to the matching engine as if it were a query; every other
person it would answer `hit` (the same document and a high score: surely one human) or
`possible_match` (a reviewer should look) is a pair. A pair is reported once, however many of
its two persons' batches find it. Reading profiles is reading sensitive data: each batch is
audited (counts only) before its pairs leave. Merging a pair is a reviewer's decision, made on the
pair's page (the governance issue's pages).
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
from shouhu.core.database import read_only_session, transaction
from shouhu.core.principal import Principal
from shouhu.matching.engine import Outcome, Thresholds, score_candidates
from shouhu.matching.model import MatchModel
from shouhu.matching.profile import MatchProfile
from shouhu.registry.candidates import RegistryCandidates, person_uuid
from shouhu.registry.models import RegistryPerson
from shouhu.registry.policy import InquiryPurpose, policy

AUDIT_ACTION: Final = "registry:duplicates"
BATCH_PERSONS: Final = 500
# Any record of either person: a duplicate registration matters whatever it holds.
_EVERY_RECORD: Final = InquiryPurpose.CLOSE_CONTACT


@dataclass(frozen=True, slots=True)
class DuplicatePair:
    """Two persons the engine takes for one human, and why."""

    first_external_id: str
    second_external_id: str
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
                pairs.append(
                    DuplicatePair(
                        first, second, candidate.outcome, explanation.score, explanation.reasons()
                    )
                )
        with transaction(factory) as session:
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
