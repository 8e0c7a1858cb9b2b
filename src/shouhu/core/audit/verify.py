"""Checking the audit chain: every entry's hash, every link, the head row and checkpoints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from shouhu.core.audit.chain import GENESIS_HASH, HEAD_ROW_ID, EntryFields, record
from shouhu.core.audit.models import AuditEvent, AuditHead
from shouhu.core.principal import Principal

BATCH = 5000


@dataclass(frozen=True)
class Problem:
    """The first bad entry found: its sequence number, a reason code and a message."""

    seq: int
    reason: str
    message: str


@dataclass(frozen=True)
class CheckpointClaim:
    """What a (signature-checked) checkpoint says: this entry had this hash."""

    seq: int
    entry_hash: str


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of a verification run."""

    checked: int
    last_seq: int
    last_hash: str
    problem: Problem | None

    @property
    def intact(self) -> bool:
        """True when no problem was found."""
        return self.problem is None


HASHED_FIELDS = tuple(f.name for f in fields(EntryFields))


def _check_entry(event: Row[Any], expected_seq: int, prev_hash: str) -> Problem | None:
    if event.seq != expected_seq:
        # A gap: the entry that should be here was deleted (or its seq was changed).
        return Problem(expected_seq, "missing", f"entry {expected_seq} is missing")
    recomputed = EntryFields(**{name: getattr(event, name) for name in HASHED_FIELDS}).digest()
    if recomputed != event.entry_hash:
        return Problem(
            event.seq, "hash_mismatch", f"entry {event.seq}: hash does not match its contents"
        )
    if event.prev_hash != prev_hash:
        return Problem(
            event.seq, "broken_link", f"entry {event.seq}: does not link to the entry before it"
        )
    return None


def _check_head(session: Session, last_seq: int, last_hash: str) -> Problem | None:
    head = session.get(AuditHead, HEAD_ROW_ID)
    if head is None:
        return Problem(last_seq + 1, "head_missing", "the chain head row is missing")
    if head.seq > last_seq:
        return Problem(
            last_seq + 1,
            "truncated",
            f"entry {last_seq + 1} is missing: the chain ends before its head ({head.seq})",
        )
    if head.seq < last_seq:
        return Problem(
            head.seq + 1,
            "beyond_head",
            f"entry {head.seq + 1}: lies beyond the chain head ({head.seq})",
        )
    if head.entry_hash != last_hash:
        return Problem(
            last_seq,
            "head_mismatch",
            f"entry {last_seq}: hash differs from the one the chain head holds",
        )
    return None


def _check_checkpoint(session: Session, claim: CheckpointClaim) -> Problem | None:
    stored = session.scalar(select(AuditEvent.entry_hash).where(AuditEvent.seq == claim.seq))
    if stored is None:
        return Problem(
            claim.seq,
            "checkpoint_missing",
            f"entry {claim.seq} named by the checkpoint is missing: the log was cut",
        )
    if stored != claim.entry_hash:
        return Problem(
            claim.seq,
            "checkpoint_mismatch",
            f"entry {claim.seq}: hash differs from the checkpoint's",
        )
    return None


def verify_chain(
    session: Session,
    *,
    checkpoint: CheckpointClaim | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> VerifyResult:
    """Walk the whole chain in sequence order, in constant memory; stop at the first problem."""
    total = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    expected_seq, prev_hash, checked = 1, GENESIS_HASH, 0
    while True:
        # Plain rows, not ORM objects: nothing accumulates in the session's identity map.
        batch = list(
            session.execute(
                select(AuditEvent.__table__)
                .where(AuditEvent.seq >= expected_seq)
                .order_by(AuditEvent.seq)
                .limit(BATCH)
            )
        )
        for event in batch:
            problem = _check_entry(event, expected_seq, prev_hash)
            if problem is not None:
                return VerifyResult(checked, expected_seq - 1, prev_hash, problem)
            expected_seq, prev_hash, checked = event.seq + 1, event.entry_hash, checked + 1
        if progress is not None:
            progress(checked, total)
        if len(batch) < BATCH:
            break
    last_seq = expected_seq - 1
    problem = _check_head(session, last_seq, prev_hash)
    if problem is None and checkpoint is not None:
        problem = _check_checkpoint(session, checkpoint)
    return VerifyResult(checked, last_seq, prev_hash, problem)


def record_verification(session: Session, *, actor: Principal, result: VerifyResult) -> None:
    """Audit who verified the chain and what they found (after the walk, never inside it)."""
    record(
        session,
        actor=actor,
        action="audit:verify",
        outcome="success" if result.intact else "failure",
        object_type="audit_chain",
        object_id=result.last_seq,
        details={
            "checked": result.checked,
            "problem": result.problem.reason if result.problem else None,
            "first_bad": result.problem.seq if result.problem else None,
        },
    )
