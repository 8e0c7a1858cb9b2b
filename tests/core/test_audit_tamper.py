"""Mutation vectors: any single change to the audit table is found, at the right entry."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from shouhu.core.audit.chain import EntryFields, record
from shouhu.core.audit.checkpoint import load_checkpoint, take_checkpoint
from shouhu.core.audit.models import AuditEvent, AuditHead
from shouhu.core.audit.verify import verify_chain
from shouhu.core.database import utcnow
from shouhu.core.principal import Principal, system_principal

ACTOR = Principal(
    user_id=None, organisation_id=None, org_type=None, channel="web", source_address="10.1.2.3"
)


def _events(session: Session, count: int = 6) -> list[int]:
    seqs = [
        record(
            session,
            actor=ACTOR,
            action="test:event",
            object_type="thing",
            object_id=i,
            details={"n": i},
        ).seq
        for i in range(count)
    ]
    session.flush()
    return seqs


def _first_bad(session: Session) -> int | None:
    session.expire_all()
    result = verify_chain(session)
    return result.problem.seq if result.problem else None


def test_an_untouched_chain_verifies(session: Session) -> None:
    seqs = _events(session)
    result = verify_chain(session)
    assert result.intact
    assert result.last_seq == seqs[-1]
    assert result.checked == seqs[-1]


def test_details_are_stored_as_canonical_json(session: Session) -> None:
    event = record(session, actor=ACTOR, action="test:event", details={"b": 1, "a": "二"})
    assert event.details == '{"a":"二","b":1}'
    assert event.action == "web:test:event"


FIELD_CHANGES: dict[str, Any] = {
    "occurred_at": lambda e: e.occurred_at.replace(
        microsecond=(e.occurred_at.microsecond + 1) % 10**6
    ),
    "actor_id": lambda _e: "00000000-0000-0000-0000-000000000001",
    "organisation_id": lambda _e: "00000000-0000-0000-0000-000000000002",
    "source_address": lambda _e: "10.9.9.9",
    "action": lambda _e: "web:test:other",
    "object_type": lambda _e: "other",
    "object_id": lambda _e: "999",
    "outcome": lambda _e: "failure",
    "details": lambda _e: '{"n":42}',
    "prev_hash": lambda e: ("1" if e.prev_hash[0] != "1" else "2") + e.prev_hash[1:],
    "entry_hash": lambda e: ("1" if e.entry_hash[0] != "1" else "2") + e.entry_hash[1:],
}


@pytest.mark.parametrize("field", sorted(FIELD_CHANGES))
def test_each_changed_field_is_found_at_its_entry(session: Session, field: str) -> None:
    seqs = _events(session)
    target = seqs[2]
    event = session.get(AuditEvent, target)
    assert event is not None
    new_value = FIELD_CHANGES[field](event)
    session.execute(update(AuditEvent).where(AuditEvent.seq == target).values({field: new_value}))
    assert _first_bad(session) == target


def test_a_changed_sequence_number_is_found(session: Session) -> None:
    seqs = _events(session)
    session.execute(update(AuditEvent).where(AuditEvent.seq == seqs[2]).values(seq=seqs[-1] + 50))
    assert _first_bad(session) == seqs[2]


def test_a_deleted_row_is_found(session: Session) -> None:
    seqs = _events(session)
    session.execute(text("DELETE FROM audit_events WHERE seq = :s"), {"s": seqs[3]})
    assert _first_bad(session) == seqs[3]


def test_a_forged_row_inserted_in_the_middle_is_found(session: Session) -> None:
    seqs = _events(session)
    # Make room after entry 2 and insert a self-consistent forgery linked to entry 2.
    for seq in reversed(seqs[3:]):
        session.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(seq=seq + 1))
    before = session.get(AuditEvent, seqs[2])
    assert before is not None
    forged = EntryFields(
        seq=seqs[3],
        occurred_at=utcnow(),
        actor_id=None,
        organisation_id=None,
        source_address=None,
        action="web:test:forged",
        object_type=None,
        object_id=None,
        outcome="success",
        details="{}",
        prev_hash=before.entry_hash,
    )
    session.add(AuditEvent(**forged.__dict__, entry_hash=forged.digest()))
    session.flush()
    # The forgery itself is consistent; the entry after it no longer is (seq and link).
    assert _first_bad(session) == seqs[3] + 1


def test_a_forged_row_appended_without_moving_the_head_is_found(session: Session) -> None:
    seqs = _events(session)
    last = session.get(AuditEvent, seqs[-1])
    assert last is not None
    forged = EntryFields(
        seq=seqs[-1] + 1,
        occurred_at=utcnow(),
        actor_id=None,
        organisation_id=None,
        source_address=None,
        action="web:test:forged",
        object_type=None,
        object_id=None,
        outcome="success",
        details="{}",
        prev_hash=last.entry_hash,
    )
    session.add(AuditEvent(**forged.__dict__, entry_hash=forged.digest()))
    session.flush()
    assert _first_bad(session) == seqs[-1] + 1


def test_two_rows_swapped_are_found(session: Session) -> None:
    seqs = _events(session)
    a, b = seqs[1], seqs[2]
    session.execute(update(AuditEvent).where(AuditEvent.seq == a).values(seq=-1))
    session.execute(update(AuditEvent).where(AuditEvent.seq == b).values(seq=a))
    session.execute(update(AuditEvent).where(AuditEvent.seq == -1).values(seq=b))
    assert _first_bad(session) == a


def test_a_cut_tail_is_found_by_the_head_row(session: Session) -> None:
    seqs = _events(session)
    session.execute(text("DELETE FROM audit_events WHERE seq >= :s"), {"s": seqs[4]})
    assert _first_bad(session) == seqs[4]


def test_a_cut_tail_with_the_head_rewound_is_found_only_with_a_checkpoint(
    session: Session, keyring: object
) -> None:
    seqs = _events(session)
    checkpoint = load_checkpoint(take_checkpoint(session, actor=system_principal("cli")).to_json())
    assert checkpoint.seq == seqs[-1]
    # The attacker cuts the tail (entries 5…) and rewinds the head row to match.
    cut_from = seqs[4]
    survivor = session.get(AuditEvent, cut_from - 1)
    assert survivor is not None
    session.execute(text("DELETE FROM audit_events WHERE seq >= :s"), {"s": cut_from})
    session.execute(update(AuditHead).values(seq=survivor.seq, entry_hash=survivor.entry_hash))
    session.expire_all()
    assert verify_chain(session).intact  # without a checkpoint the cut is invisible
    result = verify_chain(session, checkpoint=checkpoint.claim())
    assert result.problem is not None
    assert result.problem.seq == checkpoint.seq
    assert result.problem.reason == "checkpoint_missing"


def test_an_altered_head_row_is_found(session: Session) -> None:
    seqs = _events(session)
    session.execute(update(AuditHead).values(entry_hash="f" * 64))
    assert _first_bad(session) == seqs[-1]


def test_the_first_of_several_changes_is_named(session: Session) -> None:
    seqs = _events(session)
    for seq in (seqs[4], seqs[1]):
        session.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(outcome="x"))
    assert _first_bad(session) == seqs[1]


def test_the_first_entry_links_to_genesis(session: Session) -> None:
    assert _events(session, 1) == [1]
    first = session.scalar(select(AuditEvent).order_by(AuditEvent.seq))
    assert first is not None
    assert first.prev_hash == "0" * 64
