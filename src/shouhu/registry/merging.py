"""Merging two registry persons who are one human, dismissing a pair, and undoing a merge.

A merge moves the names, documents and records of one person (the merged) onto the other (the
kept); the merged person's row stays, emptied and pointing at the kept one, and the merge keeps
the ids of everything it moved with the kinds of the names before it. Undoing it moves exactly
those rows back (with any later version of a moved record), so a wrong merge leaves no trace in
the data but its audit events. Each step rebuilds the match profiles and blocking keys of the
persons it changed, in the same transaction as the change and its audit event.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session, selectinload

from shouhu.accounts.policies import require
from shouhu.accounts.roles import Permission
from shouhu.core.audit.chain import record as audit_record
from shouhu.core.database import utcnow
from shouhu.core.errors import ConflictError, NotFoundError, ValidationFailedError
from shouhu.core.principal import Principal
from shouhu.matching.blocking import KEYS_VERSION
from shouhu.registry.models import (
    LIVE_STATUSES,
    DuplicateStatus,
    NameKind,
    RegistryBlockingKey,
    RegistryDuplicatePair,
    RegistryPerson,
    RegistryPersonMerge,
    RegistryRecord,
)
from shouhu.registry.profiles import refresh_persons
from shouhu.registry.schemas import Reason

ACTION_MERGE: Final = "registry:person_merge"
ACTION_UNDO: Final = "registry:person_merge_undo"
ACTION_DISMISS: Final = "registry:duplicate_dismiss"
ACTION_PAIR_VIEW: Final = "registry:duplicate_view"


@dataclass(frozen=True, slots=True)
class Moved:
    """What a merge moved: name ids with their kind before, document ids, record ids."""

    names: list[tuple[str, str]]
    documents: list[str]
    records: list[str]

    def to_json(self) -> str:
        """Compact JSON (ids and name kinds only: no personal data)."""
        return json.dumps(
            {"names": self.names, "documents": self.documents, "records": self.records},
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Moved:
        """Parse what `to_json` wrote."""
        data: dict[str, Any] = json.loads(text)
        return cls(
            names=[(str(i), str(k)) for i, k in data["names"]],
            documents=[str(i) for i in data["documents"]],
            records=[str(i) for i in data["records"]],
        )


def _reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise ValidationFailedError("Give the reason.", field="reason")
    return Reason(reason=text).reason


def _loaded(session: Session, person_id: uuid.UUID, *, lock: bool = True) -> RegistryPerson:
    statement = (
        select(RegistryPerson)
        .where(RegistryPerson.id == person_id)
        .options(
            selectinload(RegistryPerson.names),
            selectinload(RegistryPerson.documents),
            selectinload(RegistryPerson.records),
        )
        .execution_options(populate_existing=True)  # collections as stored now, not as cached
    )
    if lock:
        statement = statement.with_for_update()
    person = session.scalar(statement)
    if person is None:
        raise NotFoundError("Person not found.")
    return person


def open_pairs(actor: Principal) -> Select[RegistryDuplicatePair]:
    """Pairs still to decide, likeliest first: neither person merged away since it was found."""
    require(actor, Permission.REGISTRY_DUPLICATES)
    merged = select(RegistryPerson.id).where(RegistryPerson.merged_into_id.is_not(None))
    return (
        select(RegistryDuplicatePair)
        .where(
            RegistryDuplicatePair.status == DuplicateStatus.OPEN.value,
            RegistryDuplicatePair.first_person_id.not_in(merged),
            RegistryDuplicatePair.second_person_id.not_in(merged),
        )
        .order_by(RegistryDuplicatePair.score.desc(), RegistryDuplicatePair.id)
    )


def get_pair(
    session: Session, actor: Principal, pair_id: uuid.UUID, *, lock: bool = False
) -> RegistryDuplicatePair:
    """One pair of the duplicate sweep, for those who decide duplicates (`lock`: to decide it)."""
    require(actor, Permission.REGISTRY_DUPLICATES)
    pair = session.get(RegistryDuplicatePair, pair_id, with_for_update=lock)
    if pair is None:
        raise NotFoundError("Pair not found.")
    return pair


def view_pair(
    session: Session, *, actor: Principal, pair_id: uuid.UUID
) -> tuple[RegistryDuplicatePair, RegistryPerson, RegistryPerson]:
    """A pair and both its persons, side by side; the read is audited."""
    pair = get_pair(session, actor, pair_id)
    first = _loaded(session, pair.first_person_id, lock=False)
    second = _loaded(session, pair.second_person_id, lock=False)
    audit_record(
        session,
        actor=actor,
        action=ACTION_PAIR_VIEW,
        object_type="registry_duplicate_pair",
        object_id=pair.id,
        details={"persons": [str(first.id), str(second.id)]},
    )
    return pair, first, second


def _live_fingerprints(person: RegistryPerson) -> set[str]:
    live = {status.value for status in LIVE_STATUSES}
    return {r.fingerprint for r in person.records if r.status in live}


def merge_persons(
    session: Session,
    *,
    actor: Principal,
    kept_id: uuid.UUID,
    merged_id: uuid.UUID,
    reason: str,
    pair_id: uuid.UUID | None = None,
) -> RegistryPersonMerge:
    """Move everything of `merged_id` onto `kept_id`; the merged person stays, emptied."""
    require(actor, Permission.REGISTRY_DUPLICATES)
    text = _reason(reason)
    if kept_id == merged_id:
        raise ValidationFailedError("A person cannot be merged into themselves.", field="kept")
    kept, merged = _loaded(session, kept_id), _loaded(session, merged_id)
    if kept.merged_into_id is not None or merged.merged_into_id is not None:
        raise ConflictError("One of the two persons has already been merged into another.")
    if _live_fingerprints(kept) & _live_fingerprints(merged):
        raise ConflictError(
            "Both persons hold the same decision; revoke the duplicate record before merging."
        )
    held = {(d.id_type, d.number_index) for d in kept.documents}
    if any((d.id_type, d.number_index) in held for d in merged.documents):
        raise ConflictError("Both persons hold the same identity document.")
    moved = Moved(
        names=[(str(n.id), n.kind) for n in merged.names],
        documents=[str(d.id) for d in merged.documents],
        records=[str(r.id) for r in merged.records],
    )
    for name in list(merged.names):
        # Their primary name is one the human was registered under: a former name now.
        if name.kind == NameKind.PRIMARY.value:
            name.kind = NameKind.FORMER.value
        name.person_id = kept.id
    for document in list(merged.documents):
        document.person_id = kept.id
    for item in list(merged.records):
        item.person_id = kept.id
    merged.merged_into_id = kept.id
    now = utcnow()
    merged.updated_at = kept.updated_at = now
    session.flush()
    session.expire(kept, ["names", "documents", "records"])
    session.expire(merged, ["names", "documents", "records"])
    refresh_persons(session, [kept])
    _empty(session, merged)
    merge = RegistryPersonMerge(
        kept_person_id=kept.id,
        merged_person_id=merged.id,
        pair_id=pair_id,
        moved=moved.to_json(),
        merged_by_id=actor.user_id,
        merged_at=now,
    )
    merge.ensure_id()
    merge.reason = text
    session.add(merge)
    _decide_pairs(session, actor, kept.id, merged.id, DuplicateStatus.MERGED)
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_MERGE,
        object_type="registry_person_merge",
        object_id=merge.id,
        details={
            "kept": str(kept.id),
            "merged": str(merged.id),
            "names": len(moved.names),
            "documents": len(moved.documents),
            "records": len(moved.records),
            "pair": str(pair_id) if pair_id else None,
        },
    )
    return merge


def _empty(session: Session, person: RegistryPerson) -> None:
    """A person with nothing left: no profile and no keys, so no inquiry or sweep finds them."""
    session.execute(delete(RegistryBlockingKey).where(RegistryBlockingKey.person_id == person.id))
    person.match_profile = None
    # Current, so that screening's stale-keys check does not wait for a rebuild of nothing.
    person.keys_version = KEYS_VERSION


def _decide_pairs(
    session: Session,
    actor: Principal,
    one: uuid.UUID,
    other: uuid.UUID,
    status: DuplicateStatus,
) -> None:
    low, high = sorted((one, other))
    pair = session.scalar(
        select(RegistryDuplicatePair).where(
            RegistryDuplicatePair.first_person_id == low,
            RegistryDuplicatePair.second_person_id == high,
        )
    )
    if pair is not None:
        pair.status = status.value
        pair.decided_by_id = actor.user_id
        pair.decided_at = utcnow()


def dismiss_pair(
    session: Session, *, actor: Principal, pair_id: uuid.UUID, reason: str
) -> RegistryDuplicatePair:
    """Record that the two persons of a pair are two humans."""
    pair = get_pair(session, actor, pair_id, lock=True)
    text = _reason(reason)
    if pair.status != DuplicateStatus.OPEN.value:
        raise ConflictError("This pair has already been decided.")
    _decide_pairs(
        session, actor, pair.first_person_id, pair.second_person_id, DuplicateStatus.DISMISSED
    )
    pair.reason = text
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_DISMISS,
        object_type="registry_duplicate_pair",
        object_id=pair.id,
        details={"persons": [str(pair.first_person_id), str(pair.second_person_id)]},
    )
    return pair


def merge_for_pair(
    session: Session, *, actor: Principal, pair_id: uuid.UUID, keep: str, reason: str
) -> RegistryPersonMerge:
    """Merge the two persons of an open pair, keeping `first` or `second`."""
    pair = get_pair(session, actor, pair_id, lock=True)
    if pair.status != DuplicateStatus.OPEN.value:
        raise ConflictError("This pair has already been decided.")
    if keep not in {"first", "second"}:
        raise ValidationFailedError("Choose the person to keep.", field="keep")
    kept, merged = (
        (pair.first_person_id, pair.second_person_id)
        if keep == "first"
        else (pair.second_person_id, pair.first_person_id)
    )
    return merge_persons(
        session, actor=actor, kept_id=kept, merged_id=merged, reason=reason, pair_id=pair.id
    )


def get_merge(session: Session, actor: Principal, merge_id: uuid.UUID) -> RegistryPersonMerge:
    """One merge, for those who decide duplicates."""
    require(actor, Permission.REGISTRY_DUPLICATES)
    merge = session.get(RegistryPersonMerge, merge_id)
    if merge is None:
        raise NotFoundError("Merge not found.")
    return merge


def _later_versions(session: Session, record_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """The records that correct any of these, transitively (they belong with them)."""
    found: set[uuid.UUID] = set()
    frontier = set(record_ids)
    while frontier:
        newer = set(
            session.scalars(
                select(RegistryRecord.id).where(RegistryRecord.supersedes_id.in_(frontier))
            )
        )
        frontier = newer - found - record_ids
        found |= frontier
    return found


def _subject_names(record: RegistryRecord) -> list[str]:
    subject = record.subject or {}
    return [subject.get("name", ""), *subject.get("former_names", "").split(";")]


def _move_back(
    session: Session, kept: RegistryPerson, merged: RegistryPerson, merge: RegistryPersonMerge
) -> set[uuid.UUID]:
    """Give the merged person back their rows and whatever followed them.

    That is: later versions of their records, and records approved about one of their documents
    while they were merged, with the names those brought.
    """
    moved = Moved.from_json(merge.moved)
    kinds = {uuid.UUID(i): kind for i, kind in moved.names}
    documents = {uuid.UUID(i) for i in moved.documents}
    records = {uuid.UUID(i) for i in moved.records}
    theirs = {(d.id_type, d.number) for d in kept.documents if d.id in documents}
    # Approved onto the kept person because its subject held one of these documents.
    since = [
        item
        for item in kept.records
        if item.id not in records
        and item.approved_at is not None
        and item.approved_at >= merge.merged_at
        and item.subject
        and (item.subject.get("id_type"), item.subject.get("id_number")) in theirs
    ]
    records |= {item.id for item in since}
    records |= _later_versions(session, records)
    brought = {name for item in since for name in _subject_names(item) if name}
    for name in list(kept.names):
        if name.id in kinds:
            name.kind = kinds[name.id]
            name.person_id = merged.id
        elif name.created_at >= merge.merged_at and name.name in brought:
            name.person_id = merged.id
    for document in list(kept.documents):
        if document.id in documents:
            document.person_id = merged.id
    for item in list(kept.records):
        if item.id in records:
            item.person_id = merged.id
    return records


def undo_merge(
    session: Session, *, actor: Principal, merge_id: uuid.UUID, reason: str
) -> RegistryPersonMerge:
    """Move back what a merge moved; the two persons are two humans again."""
    merge = get_merge(session, actor, merge_id)
    text = _reason(reason)
    if merge.undone_at is not None:
        raise ConflictError("This merge has already been undone.")
    kept, merged = _loaded(session, merge.kept_person_id), _loaded(session, merge.merged_person_id)
    if merged.merged_into_id != kept.id:
        raise ConflictError("The merged person is no longer merged into the kept one.")
    if kept.merged_into_id is not None:
        raise ConflictError(
            "The kept person has since been merged into another; undo that merge first."
        )
    records = _move_back(session, kept, merged, merge)
    merged.merged_into_id = None
    now = utcnow()
    merge.undone_at = merged.updated_at = kept.updated_at = now
    merge.undone_by_id = actor.user_id
    merge.undo_reason = text
    session.flush()
    for person in (kept, merged):
        session.expire(person, ["names", "documents", "records"])
    refresh_persons(session, [kept, merged])
    _decide_pairs(session, actor, kept.id, merged.id, DuplicateStatus.DISMISSED)
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_UNDO,
        object_type="registry_person_merge",
        object_id=merge.id,
        details={"kept": str(kept.id), "merged": str(merged.id), "records": len(records)},
    )
    return merge
