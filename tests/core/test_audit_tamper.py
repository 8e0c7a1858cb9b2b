"""Mutation vectors: any single change to the audit tables is found, at the right entry.

In the manner of transparency-dev/merkle's corrupted proofs: every stored field of an entry
at the start, middle and end of the log is changed with raw SQL, rows are deleted, forged,
swapped and cut, and the head row is altered; verification must name the exact first bad
entry. Each case is verified both in one batch and in batches of two, so that a problem
falling on a batch boundary is not missed either.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import delete, select, text, update

from shouhu.core.audit.chain import GENESIS_HASH, EntryFields, record
from shouhu.core.audit.checkpoint import Checkpoint, load_checkpoint, take_checkpoint
from shouhu.core.audit.models import AuditEvent, AuditHead
from shouhu.core.audit.verify import Problem, Reason, verify_chain
from shouhu.core.database import utcnow
from shouhu.core.principal import Principal, system_principal

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import Row
    from sqlalchemy.orm import Session

ACTOR = Principal(
    user_id=uuid.UUID("11111111-1111-1111-1111-111111111111"),
    organisation_id=uuid.UUID("22222222-2222-2222-2222-222222222222"),
    org_type="education_authority",
    channel="web",
    source_address="198.51.100.4",
)
COUNT = 6
POSITIONS = {"first": 0, "middle": 2, "last": COUNT - 1}


@pytest.fixture
def seqs(session: Session) -> list[int]:
    """Six events, every field filled in, committed to nothing (the test rolls back)."""
    numbers = [
        record(
            session,
            actor=ACTOR,
            action="inquiry:approve",
            object_type="inquiry",
            object_id=uuid.UUID(int=i),
            details={"n": i, "purpose": "hire"},
        ).seq
        for i in range(COUNT)
    ]
    assert numbers == list(range(1, COUNT + 1)), "the shared test database must hold no events"
    session.expire_all()
    return numbers


def _problem(session: Session, checkpoint: Checkpoint | None = None) -> Problem | None:
    session.expire_all()
    whole = verify_chain(session, checkpoint=checkpoint)
    paged = verify_chain(session, checkpoint=checkpoint, batch_size=2)
    assert whole == paged
    return whole.problem


def _first_bad(session: Session, checkpoint: Checkpoint | None = None) -> tuple[int, Reason]:
    problem = _problem(session, checkpoint)
    assert problem is not None, "the tampering went unnoticed"
    return problem.seq, problem.reason


def _flip(value: str) -> str:
    # One bit of the last character, as a disk error or a careful forger would leave it.
    return value[:-1] + chr(ord(value[-1]) ^ 1)


def _row(session: Session, seq: int) -> Row[Any]:
    return session.execute(select(AuditEvent.__table__).where(AuditEvent.seq == seq)).one()


def _set(session: Session, where_seq: int, /, **values: object) -> None:
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    session.execute(
        text(f"UPDATE audit_events SET {assignments} WHERE seq = :where_seq"),  # noqa: S608 - names are ours
        {**values, "where_seq": where_seq},
    )


# Each stored field, and a change to it; the time is bound as a naive UTC value, as stored.
FIELD_CHANGES: dict[str, Callable[[Row[Any]], object]] = {
    "occurred_at": lambda r: (r.occurred_at + timedelta(microseconds=1)).replace(tzinfo=None),
    "actor_id": lambda r: _flip(r.actor_id),
    "organisation_id": lambda r: _flip(r.organisation_id),
    "source_address": lambda r: _flip(r.source_address),
    "action": lambda r: _flip(r.action),
    "object_type": lambda r: _flip(r.object_type),
    "object_id": lambda r: _flip(r.object_id),
    "outcome": lambda r: _flip(r.outcome),
    "details": lambda r: r.details.replace('"n":', '"m":'),
    "prev_hash": lambda r: _flip(r.prev_hash),
    "entry_hash": lambda r: _flip(r.entry_hash),
}


@pytest.mark.parametrize("position", sorted(POSITIONS))
@pytest.mark.parametrize("field", sorted(FIELD_CHANGES))
def test_each_changed_field_is_found_at_its_entry(
    session: Session, seqs: list[int], field: str, position: str
) -> None:
    target = seqs[POSITIONS[position]]
    before = _row(session, target)
    _set(session, target, **{field: FIELD_CHANGES[field](before)})
    assert getattr(_row(session, target), field) != getattr(before, field)
    assert _first_bad(session) == (target, Reason.HASH_MISMATCH)


@pytest.mark.parametrize("position", sorted(POSITIONS))
def test_a_changed_sequence_number_is_found_at_its_entry(
    session: Session, seqs: list[int], position: str
) -> None:
    target = seqs[POSITIONS[position]]
    _set(session, target, seq=seqs[-1] + 50)
    assert _first_bad(session) == (target, Reason.MISSING)


@pytest.mark.parametrize("nullable", ["actor_id", "organisation_id", "source_address"])
def test_a_value_blanked_out_is_found(session: Session, seqs: list[int], nullable: str) -> None:
    _set(session, seqs[3], **{nullable: None})
    assert _first_bad(session) == (seqs[3], Reason.HASH_MISMATCH)


def test_the_first_of_several_changes_is_named(session: Session, seqs: list[int]) -> None:
    _set(session, seqs[4], outcome="failure")
    _set(session, seqs[1], outcome="failure")
    assert _first_bad(session) == (seqs[1], Reason.HASH_MISMATCH)


@pytest.mark.parametrize("position", sorted(POSITIONS))
def test_a_deleted_row_is_found(session: Session, seqs: list[int], position: str) -> None:
    target = seqs[POSITIONS[position]]
    session.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": target})
    # A gap in the middle; at the end, the head still names the deleted entry.
    expected = Reason.TRUNCATED if target == seqs[-1] else Reason.MISSING
    assert _first_bad(session) == (target, expected)


def _forge(seq: int, prev_hash: str) -> AuditEvent:
    """An entry whose own hash is right: only its place in the chain can give it away."""
    fields = EntryFields(
        seq=seq,
        occurred_at=utcnow(),
        actor_id=None,
        organisation_id=None,
        source_address=None,
        action="web:record:delete",
        object_type="record",
        object_id="forged",
        outcome="success",
        details="{}",
        prev_hash=prev_hash,
    )
    return AuditEvent(**fields.__dict__, entry_hash=fields.digest())


def test_a_forged_row_inserted_in_the_middle_is_found(session: Session, seqs: list[int]) -> None:
    # Make room after entry 3 and insert a forgery that links to entry 3 correctly.
    for seq in reversed(seqs[3:]):
        _set(session, seq, seq=seq + 1)
    session.add(_forge(seqs[3], _row(session, seqs[2]).entry_hash))
    session.flush()
    # The forgery itself checks out; the entry pushed along behind it does not.
    assert _first_bad(session) == (seqs[3] + 1, Reason.HASH_MISMATCH)


def test_a_row_replaced_by_a_forgery_is_found(session: Session, seqs: list[int]) -> None:
    session.execute(delete(AuditEvent).where(AuditEvent.seq == seqs[2]))
    session.add(_forge(seqs[2], _row(session, seqs[1]).entry_hash))
    session.flush()
    assert _first_bad(session) == (seqs[3], Reason.BROKEN_LINK)


def test_a_forged_row_appended_without_moving_the_head_is_found(
    session: Session, seqs: list[int]
) -> None:
    session.add(_forge(seqs[-1] + 1, _row(session, seqs[-1]).entry_hash))
    session.flush()
    assert _first_bad(session) == (seqs[-1] + 1, Reason.BEYOND_HEAD)


def test_a_forged_row_numbered_before_the_first_is_found(session: Session, seqs: list[int]) -> None:
    session.add(_forge(0, GENESIS_HASH))
    session.flush()
    assert seqs[0] == 1
    assert _first_bad(session) == (0, Reason.UNEXPECTED)


@pytest.mark.parametrize(
    ("a", "b"), [(0, 1), (2, 3), (1, 4), (0, COUNT - 1)], ids=["1-2", "3-4", "2-5", "1-6"]
)
def test_two_rows_swapped_are_found(session: Session, seqs: list[int], a: int, b: int) -> None:
    _set(session, seqs[a], seq=-1)
    _set(session, seqs[b], seq=seqs[a])
    _set(session, -1, seq=seqs[b])
    # The entry now numbered `a` was hashed with its old number.
    assert _first_bad(session) == (seqs[a], Reason.HASH_MISMATCH)


def test_a_cut_tail_is_found_by_the_head_row(session: Session, seqs: list[int]) -> None:
    session.execute(text("DELETE FROM audit_events WHERE seq >= :s"), {"s": seqs[3]})
    assert _first_bad(session) == (seqs[3], Reason.TRUNCATED)


def _checkpoint(session: Session) -> Checkpoint:
    taken = take_checkpoint(session, actor=system_principal("cli"))
    # As an auditor would hold it: exported, kept elsewhere, loaded with its signature checked.
    return load_checkpoint(taken.to_json())


@pytest.mark.usefixtures("keyring")
def test_a_cut_tail_with_the_head_rewound_is_found_only_with_a_checkpoint(
    session: Session, seqs: list[int]
) -> None:
    checkpoint = _checkpoint(session)
    assert checkpoint.seq == seqs[-1]
    # The attacker cuts entries 4… and rewinds the head to entry 3, leaving a chain that is
    # consistent in itself: nothing in the database can show the cut.
    cut_from = seqs[3]
    survivor = _row(session, cut_from - 1)
    session.execute(delete(AuditEvent).where(AuditEvent.seq >= cut_from))
    session.execute(update(AuditHead).values(seq=survivor.seq, entry_hash=survivor.entry_hash))
    assert _problem(session) is None
    # The checkpoint remembers entry 6, so the first entry missing from it is named.
    assert _first_bad(session, checkpoint) == (cut_from, Reason.CHECKPOINT_MISSING)


@pytest.mark.usefixtures("keyring")
def test_a_rewritten_history_is_found_only_with_a_checkpoint(
    session: Session, seqs: list[int]
) -> None:
    checkpoint = _checkpoint(session)
    # The attacker changes entry 3 and re-hashes it and everything after it, head included.
    prev_hash = _row(session, seqs[1]).entry_hash
    for seq in range(seqs[2], checkpoint.seq + 2):
        row = _row(session, seq)
        values = {f.name: getattr(row, f.name) for f in dataclasses.fields(EntryFields)}
        values["prev_hash"] = prev_hash
        if seq == seqs[2]:
            values["outcome"] = "failure"
        prev_hash = EntryFields(**values).digest()
        _set(session, seq, outcome=values["outcome"], prev_hash=values["prev_hash"])
        _set(session, seq, entry_hash=prev_hash)
    session.execute(update(AuditHead).values(entry_hash=prev_hash))
    assert _problem(session) is None
    # The links all hold, so the checkpoint's entry is the first the walk can call bad.
    assert _first_bad(session, checkpoint) == (checkpoint.seq, Reason.CHECKPOINT_MISMATCH)


@pytest.mark.usefixtures("keyring")
def test_entries_after_a_checkpoint_are_no_tampering(session: Session, seqs: list[int]) -> None:
    checkpoint = _checkpoint(session)
    record(session, actor=ACTOR, action="inquiry:approve")
    assert _problem(session, checkpoint) is None
    assert checkpoint.seq == seqs[-1]


HEAD_CHANGES: dict[str, tuple[dict[str, object] | None, int, Reason]] = {
    # change to the head row, first bad entry (relative to the last), reason
    "hash": ({"entry_hash": "f" * 64}, 0, Reason.HEAD_MISMATCH),
    "seq-ahead": ({"seq": COUNT + 1}, 1, Reason.TRUNCATED),
    "seq-behind": ({"seq": COUNT - 1}, 0, Reason.BEYOND_HEAD),
    "deleted": (None, 0, Reason.HEAD_MISSING),
}


@pytest.mark.parametrize("change", sorted(HEAD_CHANGES))
def test_an_altered_head_row_is_found(session: Session, seqs: list[int], change: str) -> None:
    values, offset, reason = HEAD_CHANGES[change]
    if values is None:
        session.execute(delete(AuditHead))
    else:
        session.execute(update(AuditHead).values(**values))
    assert _first_bad(session) == (seqs[-1] + offset, reason)


def test_the_message_names_the_entry(session: Session, seqs: list[int]) -> None:
    _set(session, seqs[2], outcome="failure")
    problem = _problem(session)
    assert problem is not None
    assert problem.message == f"entry {seqs[2]}: hash does not match its contents"
    result = verify_chain(session)
    # The result stops at the last good entry.
    assert (result.first_bad, result.checked, result.last_seq) == (seqs[2], seqs[1], seqs[1])
    assert result.last_hash == _row(session, seqs[1]).entry_hash
