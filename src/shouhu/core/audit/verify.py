"""Checking the audit chain: every entry's hash, every link, the head row and checkpoints.

DESIGN §4: `shouhu audit verify` finds any change, deletion, insertion, reordering or
truncation (the last against an exported checkpoint). The walk reads plain rows in keyset
batches, so memory stays constant however long the log is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from shouhu.core.audit.chain import GENESIS_HASH, HEAD_ROW_ID, EntryFields, record
from shouhu.core.audit.models import AuditEvent, AuditHead
from shouhu.core.principal import Principal

BATCH = 5000
HASHED_FIELDS = tuple(f.name for f in fields(EntryFields))
# The hashed fields in EntryFields' order, then the stored hash: rows are read by position,
# which is several times faster than by name over millions of rows.
_COLUMNS = [AuditEvent.__table__.c[name] for name in HASHED_FIELDS] + [
    AuditEvent.__table__.c.entry_hash
]
_SEQ, _PREV_HASH, _ENTRY_HASH = 0, HASHED_FIELDS.index("prev_hash"), len(HASHED_FIELDS)

Progress = Callable[[int, int], None]
"""Called after each batch with (entries checked so far, entries in the log at the start)."""


class Reason(StrEnum):
    """Why verification stopped: one code per kind of tampering."""

    UNEXPECTED = "unexpected"  # a row numbered before the chain starts (inserted)
    MISSING = "missing"  # a gap in the numbering: a row deleted or renumbered
    HASH_MISMATCH = "hash_mismatch"  # a field changed since the entry was written
    BROKEN_LINK = "broken_link"  # the entry does not carry the hash of the one before
    HEAD_MISSING = "head_missing"
    TRUNCATED = "truncated"  # the head names entries that are not there
    BEYOND_HEAD = "beyond_head"  # entries past the head: appended behind the writer's back
    HEAD_MISMATCH = "head_mismatch"  # the head's hash is not the last entry's
    CHECKPOINT_MISSING = "checkpoint_missing"  # the log ends before a signed checkpoint
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"  # the history under a checkpoint was rewritten


class HeadClaim(Protocol):
    """Anything that says "entry `seq` had hash `entry_hash`", e.g. a signed Checkpoint."""

    @property
    def seq(self) -> int:
        """The sequence number of the entry the claim is about."""
        ...

    @property
    def entry_hash(self) -> str:
        """The hash that entry had when the claim was made."""
        ...


@dataclass(frozen=True)
class Problem:
    """The first bad entry found: its sequence number, a reason code and a message."""

    seq: int
    reason: Reason
    message: str


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of a run; `last_seq`/`last_hash` are those of the last good entry."""

    checked: int
    last_seq: int
    last_hash: str
    problem: Problem | None

    @property
    def intact(self) -> bool:
        """True when no problem was found."""
        return self.problem is None

    @property
    def first_bad(self) -> int | None:
        """The sequence number of the first bad entry, if any."""
        return self.problem.seq if self.problem else None


@dataclass
class _Walk:
    """The running state of one walk: the entry expected next and the hash it must carry."""

    claim: HeadClaim | None
    next_seq: int = 1
    prev_hash: str = GENESIS_HASH
    checked: int = 0

    @property
    def last_seq(self) -> int:
        return self.next_seq - 1

    def step(self, row: Row[Any]) -> Problem | None:
        """Check one row against its predecessor; advance on success."""
        seq = int(row[_SEQ])
        if seq < self.next_seq:
            # Keyset paging only returns rows past the last one checked, so this is a row
            # numbered before 1 (the first batch has no lower bound so that it is seen).
            return Problem(seq, Reason.UNEXPECTED, f"entry {seq}: the chain starts at entry 1")
        if seq > self.next_seq:
            return Problem(
                self.next_seq, Reason.MISSING, f"entry {self.next_seq} is missing (next is {seq})"
            )
        entry_hash = row[_ENTRY_HASH]
        if EntryFields(*row[:_ENTRY_HASH]).digest() != entry_hash:
            return Problem(
                seq, Reason.HASH_MISMATCH, f"entry {seq}: hash does not match its contents"
            )
        if row[_PREV_HASH] != self.prev_hash:
            return Problem(
                seq, Reason.BROKEN_LINK, f"entry {seq}: does not link to the entry before it"
            )
        if self.claim is not None and seq == self.claim.seq and entry_hash != self.claim.entry_hash:
            # Every link holds, yet the signed checkpoint remembers another hash: the history
            # up to here was rewritten and re-hashed.
            return Problem(
                seq,
                Reason.CHECKPOINT_MISMATCH,
                f"entry {seq}: hash differs from the signed checkpoint's; "
                "the log was rewritten at or before this entry",
            )
        self.next_seq, self.prev_hash, self.checked = seq + 1, str(entry_hash), self.checked + 1
        return None

    def result(self, problem: Problem | None) -> VerifyResult:
        """The result of the walk so far."""
        return VerifyResult(self.checked, self.last_seq, self.prev_hash, problem)


def _batches(
    session: Session, walk: _Walk, *, upto: int | None, size: int
) -> Iterator[list[Row[Any]]]:
    """Rows in seq order after the last checked one (all rows on the first call), in batches."""
    after: int | None = None if walk.checked == 0 else walk.last_seq
    while True:
        statement = select(*_COLUMNS).order_by(AuditEvent.seq).limit(size)
        if after is not None:
            statement = statement.where(AuditEvent.seq > after)
        if upto is not None:
            statement = statement.where(AuditEvent.seq <= upto)
        # Plain rows on the session's connection, not ORM objects: nothing accumulates in
        # the identity map, and the ORM's per-row work is skipped.
        batch = list(session.connection().execute(statement))
        if not batch:
            return
        yield batch
        if len(batch) < size:
            return
        after = int(batch[-1][_SEQ])


def _walk(
    session: Session,
    walk: _Walk,
    *,
    upto: int | None,
    size: int,
    progress: Progress | None,
    total: int,
) -> Problem | None:
    for batch in _batches(session, walk, upto=upto, size=size):
        for row in batch:
            problem = walk.step(row)
            if problem is not None:
                return problem
        if progress is not None:
            progress(walk.checked, total)
    return None


def _check_head(
    session: Session, walk: _Walk, *, size: int, progress: Progress | None, total: int
) -> Problem | None:
    # The head is read after the walk. Every writer moves the head and adds its entry in one
    # transaction, so the head now is at or past every entry the walk saw: a head behind the
    # walk was rewound. A head ahead of it may be writers who committed during the walk
    # (PostgreSQL reads each batch at READ COMMITTED), so those entries are walked too
    # before anything is called missing.
    head = session.execute(
        select(AuditHead.seq, AuditHead.entry_hash).where(AuditHead.id == HEAD_ROW_ID)
    ).one_or_none()
    if head is None:
        return Problem(walk.last_seq, Reason.HEAD_MISSING, "the chain head row is missing")
    head_seq = int(head.seq)
    if head_seq < walk.last_seq:
        return Problem(
            head_seq + 1,
            Reason.BEYOND_HEAD,
            f"entry {head_seq + 1}: lies beyond the chain head ({head_seq})",
        )
    if head_seq > walk.last_seq:
        problem = _walk(session, walk, upto=head_seq, size=size, progress=progress, total=total)
        if problem is not None:
            return problem
        if walk.last_seq < head_seq:
            return Problem(
                walk.last_seq + 1,
                Reason.TRUNCATED,
                f"entry {walk.last_seq + 1} is missing: the chain ends before its head "
                f"({head_seq})",
            )
    if head.entry_hash != walk.prev_hash:
        return Problem(
            walk.last_seq,
            Reason.HEAD_MISMATCH,
            f"entry {walk.last_seq}: hash differs from the one the chain head holds",
        )
    return None


def _check_claim(walk: _Walk, claim: HeadClaim) -> Problem | None:
    if claim.seq > walk.last_seq:
        # The head agrees with the last entry, so the cut was covered up by rewinding it:
        # only a checkpoint kept outside the database can show this.
        return Problem(
            walk.last_seq + 1,
            Reason.CHECKPOINT_MISSING,
            f"entry {walk.last_seq + 1} is missing: the signed checkpoint names entry "
            f"{claim.seq}, so the log was cut after entry {walk.last_seq}",
        )
    if claim.seq < 1 and (claim.seq != 0 or claim.entry_hash != GENESIS_HASH):
        # Only an empty chain's checkpoint (entry 0, the genesis hash) is numbered below 1.
        return Problem(
            claim.seq,
            Reason.CHECKPOINT_MISMATCH,
            f"entry {claim.seq}: the checkpoint does not describe this chain",
        )
    return None


def verify_chain(
    session: Session,
    *,
    checkpoint: HeadClaim | None = None,
    progress: Progress | None = None,
    batch_size: int = BATCH,
) -> VerifyResult:
    """Walk the whole chain in sequence order, in constant memory; stop at the first problem."""
    total = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    walk = _Walk(claim=checkpoint)
    problem = _walk(session, walk, upto=None, size=batch_size, progress=progress, total=total)
    if problem is None:
        problem = _check_head(session, walk, size=batch_size, progress=progress, total=total)
    if problem is None and checkpoint is not None:
        problem = _check_claim(walk, checkpoint)
    return walk.result(problem)


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
            "problem": result.problem.reason.value if result.problem else None,
            "first_bad": result.problem.seq if result.problem else None,
        },
    )
