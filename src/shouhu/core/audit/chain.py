"""Appending to the audit chain inside the caller's transaction."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.orm import Session

from shouhu.core.audit.models import AuditEvent, AuditHead
from shouhu.core.database import utcnow
from shouhu.core.principal import Principal

GENESIS_HASH = "0" * 64
HEAD_ROW_ID = 1


@dataclass(frozen=True)
class EntryFields:
    """The fields of an entry that its hash covers, in their canonical order."""

    seq: int
    occurred_at: datetime
    actor_id: str | None
    organisation_id: str | None
    source_address: str | None
    action: str
    object_type: str | None
    object_id: str | None
    outcome: str
    details: str
    prev_hash: str

    @classmethod
    def of(cls, event: AuditEvent) -> EntryFields:
        """The hashed fields of a stored event."""
        return cls(
            seq=event.seq,
            occurred_at=event.occurred_at,
            actor_id=event.actor_id,
            organisation_id=event.organisation_id,
            source_address=event.source_address,
            action=event.action,
            object_type=event.object_type,
            object_id=event.object_id,
            outcome=event.outcome,
            details=event.details,
            prev_hash=event.prev_hash,
        )

    def digest(self) -> str:
        """SHA-256 over a canonical JSON array of the fields (time to the microsecond, UTC)."""
        encoded = json.dumps(
            [
                self.seq,
                self.occurred_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                self.actor_id,
                self.organisation_id,
                self.source_address,
                self.action,
                self.object_type,
                self.object_id,
                self.outcome,
                self.details,
                self.prev_hash,
            ],
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        return hashlib.sha256(encoded).hexdigest()


def canonical_details(details: dict[str, Any] | None) -> str:
    """Details as sorted, compact JSON, so the same facts always hash the same."""
    return json.dumps(
        details or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


# Built once: a statement's cache key is computed once per statement object, and values passed
# at execution are plain parameters, so an append costs three cached statements.
_HEAD: Final = cast("Table", AuditHead.__table__)
_CLAIM: Final = (
    update(_HEAD)
    .where(_HEAD.c.id == HEAD_ROW_ID)
    .values(seq=_HEAD.c.seq + bindparam("count"))
    .returning(_HEAD.c.seq, _HEAD.c.entry_hash)
)
_APPEND: Final = insert(cast("Table", AuditEvent.__table__))
_SET_HEAD_HASH: Final = (
    update(_HEAD).where(_HEAD.c.id == HEAD_ROW_ID).values(entry_hash=bindparam("head_hash"))
)


def _claim_head(session: Session, count: int) -> tuple[int, str]:
    """Reserve `count` sequence numbers; the first of them and the hash of the entry before."""
    # Updating the head row first takes its row lock on PostgreSQL and the write lock on
    # SQLite, so concurrent writers are serialised before anyone reads the head. RETURNING
    # reads it in the same statement. Core statements on the session's connection: no head
    # object is ever loaded into a session, so the ORM has nothing to keep in step.
    head = session.connection().execute(_CLAIM, {"count": count}).one_or_none()
    if head is None:
        # The first migration creates the head row; its absence means the table was tampered.
        raise RuntimeError("the audit chain head row is missing")
    return int(head.seq) - count + 1, str(head.entry_hash)


@dataclass(frozen=True)
class Event:
    """One event to append: what `record` takes, for appending several at once."""

    action: str
    outcome: str = "success"
    object_type: str | None = None
    object_id: object | None = None
    details: dict[str, Any] | None = None


def record(
    session: Session,
    *,
    actor: Principal,
    action: str,
    outcome: str = "success",
    object_type: str | None = None,
    object_id: object | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event, in the caller's transaction; `action` is `subject:verb`.

    The channel of the actor becomes the tag's source, giving `source:subject:action`.
    Details must never hold plaintext personal data (DESIGN §4).
    """
    [row] = _append(session, actor, [Event(action, outcome, object_type, object_id, details)])
    # The caller's pending changes are flushed here, as they always were by an append: after
    # the head is claimed, so a writer takes the head before its rows' locks (one lock order).
    session.flush()
    return AuditEvent(**row)


def record_last(session: Session, *, actor: Principal, events: Sequence[Event]) -> None:
    """Append the events of a transaction that writes nothing more after them.

    The caller's changes are flushed first and the head is claimed once for all the events,
    so on PostgreSQL the head (which every writer waits for) is held only from here to the
    commit. Nothing may be written after this: a writer holding the head that then waited for
    a row lock could deadlock with one holding that row and waiting for the head.
    """
    session.flush()
    _append(session, actor, events)


def _append(session: Session, actor: Principal, events: Sequence[Event]) -> list[dict[str, Any]]:
    """Chain the events onto the head, on the session's connection; the rows stored."""
    seq, prev_hash = _claim_head(session, len(events))
    now = utcnow()
    user_id = str(actor.user_id) if actor.user_id else None
    organisation_id = str(actor.organisation_id) if actor.organisation_id else None
    rows: list[dict[str, Any]] = []
    for offset, event in enumerate(events):
        fields = EntryFields(
            seq=seq + offset,
            occurred_at=now,
            actor_id=user_id,
            organisation_id=organisation_id,
            source_address=actor.source_address,
            action=f"{actor.channel}:{event.action}",
            object_type=event.object_type,
            object_id=str(event.object_id) if event.object_id is not None else None,
            outcome=event.outcome,
            details=canonical_details(event.details),
            prev_hash=prev_hash,
        )
        prev_hash = fields.digest()
        rows.append({**fields.__dict__, "entry_hash": prev_hash})
    connection = session.connection()
    connection.execute(_APPEND, rows)
    connection.execute(_SET_HEAD_HASH, {"head_hash": prev_hash})
    return rows
