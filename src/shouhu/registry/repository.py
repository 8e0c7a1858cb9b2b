"""Every query of registry records and persons, each filtered by what the principal may see.

Who sees a record:
- its submitting organisation, always (its own drafts, returns and what became of them);
- the reviewing organisation's reviewers, from the moment it is sent for review;
- the registry roles (`registry:read`), every decided record: active, corrected, revoked, sealed.
Anyone else, and anything else, is a 404. What a sealed record says is shown only to the roles
the disclosure policy names (`can_read_sealed`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Final

from sqlalchemy import Select, false, or_, select
from sqlalchemy.orm import Session, selectinload

from shouhu.accounts.policies import allows
from shouhu.accounts.roles import Permission
from shouhu.core.errors import NotFoundError
from shouhu.core.principal import Principal
from shouhu.registry.models import (
    RecordStatus,
    RegistryDocument,
    RegistryPerson,
    RegistryRecord,
    RegistryRecordTransition,
)
from shouhu.registry.policy import policy

DECIDED_STATUSES: Final = (
    RecordStatus.ACTIVE.value,
    RecordStatus.CORRECTED.value,
    RecordStatus.REVOKED.value,
    RecordStatus.SEALED.value,
)
# A bound on the versions of one decision followed (a correction chain is a few long).
MAX_VERSIONS: Final = 1000
UNDECIDED_STATUSES: Final = (
    RecordStatus.DRAFT.value,
    RecordStatus.PENDING_REVIEW.value,
    RecordStatus.RETURNED.value,
)


def readable_records(principal: Principal) -> Select[RegistryRecord]:
    """The records the principal may see."""
    conditions = []
    org = principal.organisation_id
    if org is not None and allows(principal, Permission.REGISTRY_SUBMIT):
        conditions.append(RegistryRecord.submitting_organisation_id == org)
    if org is not None and allows(principal, Permission.REGISTRY_REVIEW):
        conditions.append(
            (RegistryRecord.review_organisation_id == org)
            & (RegistryRecord.status != RecordStatus.DRAFT.value)
        )
    if allows(principal, Permission.REGISTRY_READ):
        conditions.append(RegistryRecord.status.in_(DECIDED_STATUSES))
    return select(RegistryRecord).where(or_(*conditions) if conditions else false())


def get_record(
    session: Session, principal: Principal, record_id: uuid.UUID, *, lock: bool = False
) -> RegistryRecord:
    """One record the principal may see, or NotFoundError (the same answer as no such record).

    `lock` takes the record's row lock (PostgreSQL; SQLite's writer lock serialises anyway):
    two reviewers deciding one record at once are then decided one after the other.
    """
    statement = (
        readable_records(principal)
        .where(RegistryRecord.id == record_id)
        .options(selectinload(RegistryRecord.transitions), selectinload(RegistryRecord.files))
    )
    if lock:
        statement = statement.with_for_update(of=RegistryRecord)
    found = session.scalar(statement)
    if found is None:
        raise NotFoundError("Record not found.")
    return found


def review_queue(principal: Principal) -> Select[RegistryRecord]:
    """Records waiting for the principal's organisation's reviewers, oldest first."""
    if principal.organisation_id is None or not allows(principal, Permission.REGISTRY_REVIEW):
        return select(RegistryRecord).where(false())
    return (
        select(RegistryRecord)
        .where(
            RegistryRecord.review_organisation_id == principal.organisation_id,
            RegistryRecord.status == RecordStatus.PENDING_REVIEW.value,
        )
        .order_by(RegistryRecord.submitted_at, RegistryRecord.id)
    )


def own_submissions(principal: Principal) -> Select[RegistryRecord]:
    """The principal's organisation's submissions, newest change first."""
    if principal.organisation_id is None or not allows(principal, Permission.REGISTRY_SUBMIT):
        return select(RegistryRecord).where(false())
    return (
        select(RegistryRecord)
        .where(RegistryRecord.submitting_organisation_id == principal.organisation_id)
        .order_by(RegistryRecord.updated_at.desc(), RegistryRecord.id)
    )


def get_person(session: Session, principal: Principal, person_id: uuid.UUID) -> RegistryPerson:
    """One registry person, for the registry roles only; NotFoundError otherwise."""
    if not allows(principal, Permission.REGISTRY_READ):
        raise NotFoundError("Person not found.")
    found = session.scalar(
        select(RegistryPerson)
        .where(RegistryPerson.id == person_id)
        .options(
            selectinload(RegistryPerson.names),
            selectinload(RegistryPerson.documents),
            selectinload(RegistryPerson.records).selectinload(RegistryRecord.transitions),
        )
    )
    if found is None:
        raise NotFoundError("Person not found.")
    return found


def can_read_sealed(principal: Principal) -> bool:
    """Whether the principal may read what a sealed record says (the policy names the roles)."""
    if principal.channel == "cli" and principal.user_id is None:
        return True  # the operator's shell, as in `accounts.policies.allows`
    return bool(principal.roles & policy().sealed_visible_to)


def sealed_lineage(session: Session, records: Sequence[RegistryRecord]) -> set[uuid.UUID]:
    """The records whose content is a sealed record's, whatever their status says now.

    A sealed record (Criminal Procedure Law art. 286), one revoked after it was sealed, and an
    older version of either: a corrected version states the same decision about the same person.
    """
    statuses = {record.id: record.status for record in records}
    asked = {record.id: record.id for record in records}  # a version → the record asked about
    withheld: set[uuid.UUID] = set()
    for _ in range(MAX_VERSIONS):
        withheld |= {asked[i] for i, status in statuses.items() if status == RecordStatus.SEALED}
        revoked = [i for i, status in statuses.items() if status == RecordStatus.REVOKED]
        if revoked:
            once_sealed = session.scalars(
                select(RegistryRecordTransition.record_id).where(
                    RegistryRecordTransition.record_id.in_(revoked),
                    RegistryRecordTransition.to_status == RecordStatus.SEALED.value,
                )
            )
            withheld |= {asked[i] for i in once_sealed}
        corrected = [
            i
            for i, status in statuses.items()
            if status == RecordStatus.CORRECTED and asked[i] not in withheld
        ]
        if not corrected:
            break
        # The version that replaced each corrected one: approved, hence decided.
        newer = session.execute(
            select(RegistryRecord.id, RegistryRecord.supersedes_id, RegistryRecord.status).where(
                RegistryRecord.supersedes_id.in_(corrected),
                RegistryRecord.status.in_(DECIDED_STATUSES),
            )
        ).all()
        asked = {version: asked[older] for version, older, _ in newer if older is not None}
        statuses = {version: status for version, _, status in newer}
    return withheld


def withheld_records(
    session: Session, principal: Principal, records: Sequence[RegistryRecord]
) -> set[uuid.UUID]:
    """The records whose content the principal may not read: sealed ones and their lineage."""
    if can_read_sealed(principal) or not records:
        return set()
    return sealed_lineage(session, records)


def holder_statement(id_type: str, number_index: str) -> Select[RegistryPerson]:
    """The registry person holding an identity document (by its blind index)."""
    return (
        select(RegistryPerson)
        .join(RegistryDocument, RegistryDocument.person_id == RegistryPerson.id)
        .where(RegistryDocument.id_type == id_type, RegistryDocument.number_index == number_index)
    )


def external_ids(session: Session, person_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Each person's external id, in one query (for lists that name persons)."""
    wanted = set(person_ids)
    if not wanted:
        return {}
    rows = session.execute(
        select(RegistryPerson.id, RegistryPerson.external_id).where(RegistryPerson.id.in_(wanted))
    )
    return {row[0]: row[1] for row in rows}
