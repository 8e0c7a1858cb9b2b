"""Appending to the audit chain, signed checkpoints, and writers racing for the chain head."""

from __future__ import annotations

import dataclasses
import itertools
import json
import threading
import uuid
from typing import TYPE_CHECKING

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import event as sa_event
from sqlalchemy import select

from shouhu.core import migrate
from shouhu.core.audit.chain import GENESIS_HASH, EntryFields, Event, record, record_last
from shouhu.core.audit.checkpoint import (
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    take_checkpoint,
)
from shouhu.core.audit.models import AuditEvent, AuditHead
from shouhu.core.audit.verify import Reason, record_verification, verify_chain
from shouhu.core.crypto import keyring as keyring_module
from shouhu.core.crypto import signing
from shouhu.core.crypto.keyring import Keyring, install_keyring
from shouhu.core.database import (
    make_engine,
    make_session_factory,
    read_only_session,
    transaction,
)
from shouhu.core.principal import Principal, system_principal
from tests.conftest import drop_postgres_database, fresh_database_url

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session

USER = uuid.UUID("11111111-2222-3333-4444-555555555555")
ORG = uuid.UUID("66666666-7777-8888-9999-000000000000")
HR = Principal(
    user_id=USER,
    organisation_id=ORG,
    org_type="institution",
    roles=frozenset({"institution_hr"}),
    channel="web",
    source_address="203.0.113.7",
)


def _chain(session: Session) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def test_appended_events_form_a_valid_chain(session: Session) -> None:
    before = session.scalar(select(AuditHead.seq)) or 0
    events = [
        record(session, actor=HR, action="inquiry:submit", object_type="inquiry", object_id=i)
        for i in range(5)
    ]
    assert [e.seq for e in events] == list(range(before + 1, before + 6))
    chain = _chain(session)
    # Each entry carries the hash of the one before; the first carries the genesis hash.
    assert chain[0].seq == 1
    assert chain[0].prev_hash == GENESIS_HASH
    for earlier, later in itertools.pairwise(chain):
        assert later.prev_hash == earlier.entry_hash
    for event in chain:
        assert EntryFields.of(event).digest() == event.entry_hash
    head = session.get(AuditHead, 1)
    assert head is not None
    assert (head.seq, head.entry_hash) == (events[-1].seq, events[-1].entry_hash)
    result = verify_chain(session)
    assert result.intact, result.problem
    assert (result.checked, result.last_seq, result.last_hash) == (
        len(chain),
        events[-1].seq,
        events[-1].entry_hash,
    )


def test_an_append_is_three_statements_after_the_callers_own(session: Session) -> None:
    # The chain head serialises every writer (bench/inquiry_load.py): an append claims the
    # head and reads it in one statement, inserts the entry and moves the head, no more.
    record(session, actor=HR, action="inquiry:submit")  # the transaction has begun
    statements: list[str] = []

    def seen(*args: object) -> None:
        statements.append(str(args[2]).split()[0].upper())

    engine = session.get_bind()
    sa_event.listen(engine, "before_cursor_execute", seen)
    try:
        appended = record(session, actor=HR, action="inquiry:lookup", details={"n": 1})
    finally:
        sa_event.remove(engine, "before_cursor_execute", seen)
    assert statements == ["UPDATE", "INSERT", "UPDATE"]
    stored = session.execute(
        select(AuditEvent.entry_hash).where(AuditEvent.seq == appended.seq)
    ).scalar_one()
    assert stored == appended.entry_hash == EntryFields.of(appended).digest()
    head = session.execute(select(AuditHead.seq, AuditHead.entry_hash)).one()
    assert (head.seq, head.entry_hash) == (appended.seq, appended.entry_hash)


def test_events_appended_last_claim_the_head_once_after_the_callers_changes(
    session: Session,
) -> None:
    # A request that appends its events last holds PostgreSQL's chain head only from the
    # claim to its commit: the caller's pending changes are flushed first, then one claim,
    # one multi-row insert and one move of the head, whatever the number of events.
    before = record(session, actor=HR, action="inquiry:submit")  # the transaction has begun
    session.add(AuditHead(id=2, seq=0, entry_hash=GENESIS_HASH))  # a pending change to flush
    statements: list[str] = []

    def seen(*args: object) -> None:
        statements.append(" ".join(str(args[2]).split()[:3]).upper())

    engine = session.get_bind()
    sa_event.listen(engine, "before_cursor_execute", seen)
    try:
        record_last(
            session,
            actor=HR,
            events=[
                Event("inquiry:submit", object_type="inquiry", object_id=1),
                Event("inquiry:lookup", object_type="inquiry", object_id=1, details={"n": 1}),
                Event("inquiry:lookup", outcome="failure", object_type="inquiry", object_id=2),
            ],
        )
    finally:
        sa_event.remove(engine, "before_cursor_execute", seen)
    assert [s.split()[0] for s in statements] == ["INSERT", "UPDATE", "INSERT", "UPDATE"]
    assert statements[0].startswith("INSERT INTO AUDIT_HEAD")
    chain = _chain(session)
    appended = chain[-3:]
    assert [e.seq for e in appended] == [before.seq + 1, before.seq + 2, before.seq + 3]
    assert [(e.action, e.outcome, e.object_id) for e in appended] == [
        ("web:inquiry:submit", "success", "1"),
        ("web:inquiry:lookup", "success", "1"),
        ("web:inquiry:lookup", "failure", "2"),
    ]
    assert json.loads(appended[1].details) == {"n": 1}
    for earlier, later in itertools.pairwise(chain):
        assert later.prev_hash == earlier.entry_hash
    for stored in appended:
        assert stored.entry_hash == EntryFields.of(stored).digest()
    head = session.execute(select(AuditHead.seq, AuditHead.entry_hash).where(AuditHead.id == 1))
    assert head.one() == (appended[-1].seq, appended[-1].entry_hash)
    result = verify_chain(session)
    assert result.intact, result.problem


def test_an_entry_records_who_did_what_to_which_object(session: Session) -> None:
    event = record(
        session,
        actor=HR,
        action="inquiry:submit",
        outcome="denied",
        object_type="inquiry",
        object_id=uuid.UUID(int=42),
    )
    stored = session.execute(select(AuditEvent.__table__).where(AuditEvent.seq == event.seq)).one()
    assert stored.actor_id == str(USER)
    assert stored.organisation_id == str(ORG)
    assert stored.source_address == "203.0.113.7"
    # The tag is `source:subject:action`, the source being the actor's channel.
    assert stored.action == "web:inquiry:submit"
    assert (stored.object_type, stored.object_id) == ("inquiry", str(uuid.UUID(int=42)))
    assert stored.outcome == "denied"
    assert stored.occurred_at.tzinfo is not None
    assert stored.occurred_at.utcoffset().total_seconds() == 0


def test_the_system_acts_without_user_or_organisation(session: Session) -> None:
    event = record(session, actor=system_principal("cli"), action="db:upgrade")
    assert (event.actor_id, event.organisation_id, event.action) == (None, None, "cli:db:upgrade")
    assert event.details == "{}"


def test_details_are_canonical_json(session: Session) -> None:
    first = record(session, actor=HR, action="t:e", details={"b": [2, 1], "a": "二", "c": None})
    second = record(session, actor=HR, action="t:e", details={"c": None, "a": "二", "b": [2, 1]})
    # Sorted keys, no whitespace, characters kept as UTF-8: the same facts, the same text.
    assert first.details == second.details == '{"a":"二","b":[2,1],"c":null}'
    assert json.loads(first.details) == {"a": "二", "b": [2, 1], "c": None}


def test_the_hash_covers_the_time_to_the_microsecond(session: Session) -> None:
    event = record(session, actor=HR, action="t:e")
    fields = EntryFields.of(event)
    later = dataclasses.replace(fields, occurred_at=fields.occurred_at.replace(microsecond=1))
    earlier = dataclasses.replace(fields, occurred_at=fields.occurred_at.replace(microsecond=0))
    assert later.digest() != earlier.digest()


def test_verification_reads_plain_rows_in_batches(session: Session) -> None:
    for i in range(7):
        record(session, actor=HR, action="t:e", object_id=i)
    session.expunge_all()
    calls: list[tuple[int, int]] = []
    result = verify_chain(
        session, batch_size=3, progress=lambda done, total: calls.append((done, total))
    )
    assert result.intact
    # One call per batch of three, the count growing; no ORM objects were loaded.
    assert [done for done, _ in calls] == [*range(3, result.checked, 3), result.checked]
    assert {total for _, total in calls} == {result.checked}
    assert len(session.identity_map) == 0


def test_a_verification_is_recorded_and_the_chain_stays_valid(session: Session) -> None:
    record(session, actor=HR, action="t:e")
    result = verify_chain(session)
    record_verification(session, actor=system_principal("cli"), result=result)
    last = _chain(session)[-1]
    assert (last.action, last.outcome, last.object_id) == (
        "cli:audit:verify",
        "success",
        str(result.last_seq),
    )
    assert json.loads(last.details) == {
        "checked": result.checked,
        "first_bad": None,
        "problem": None,
    }
    assert verify_chain(session).intact


# --- checkpoints -------------------------------------------------------------------------


@pytest.mark.usefixtures("keyring")
def test_a_checkpoint_is_the_signed_head_and_is_itself_audited(session: Session) -> None:
    last = record(session, actor=HR, action="t:e")
    checkpoint = take_checkpoint(session, actor=HR)
    assert (checkpoint.seq, checkpoint.entry_hash) == (last.seq, last.entry_hash)
    assert checkpoint.public_key.startswith("-----BEGIN PUBLIC KEY-----")
    assert checkpoint.key_id == keyring_module.current_keyring().signing_key_id
    event = _chain(session)[-1]
    assert (event.seq, event.action, event.actor_id, event.object_id) == (
        last.seq + 1,
        "web:audit:checkpoint",
        str(USER),
        str(last.seq),
    )
    assert json.loads(event.details) == {"entry_hash": last.entry_hash}
    loaded = load_checkpoint(checkpoint.to_json())
    assert loaded == checkpoint
    assert verify_chain(session, checkpoint=loaded).intact


def _altered(checkpoint: Checkpoint, **changes: object) -> str:
    document = json.loads(checkpoint.to_json())
    document.update(changes)
    return json.dumps(document)


@pytest.mark.usefixtures("keyring")
@pytest.mark.parametrize(
    "changes",
    [{"seq": 1}, {"entry_hash": "a" * 64}, {"taken_at": "2020-01-01T00:00:00.000000Z"}],
    ids=["seq", "entry_hash", "taken_at"],
)
def test_a_forged_checkpoint_is_refused(session: Session, changes: dict[str, object]) -> None:
    record(session, actor=HR, action="t:e")
    record(session, actor=HR, action="t:e")
    checkpoint = take_checkpoint(session, actor=HR)
    with pytest.raises(CheckpointError, match="signature is not valid: it was forged"):
        load_checkpoint(_altered(checkpoint, **changes))


@pytest.mark.usefixtures("keyring")
def test_a_checkpoint_signed_with_another_key_is_refused(session: Session) -> None:
    record(session, actor=HR, action="t:e")
    ours = keyring_module.current_keyring()
    theirs = dataclasses.replace(ours, signing_key=Ed25519PrivateKey.generate())
    install_keyring(theirs)
    try:
        # A forger signs a checkpoint of their own, with their key inside it.
        forged = take_checkpoint(session, actor=HR)
    finally:
        install_keyring(ours)
    with pytest.raises(CheckpointError, match="signed by another key"):
        load_checkpoint(forged.to_json())
    # Carrying our public key does not help: the signature is checked against it.
    with pytest.raises(CheckpointError, match="signature is not valid"):
        load_checkpoint(_altered(forged, public_key=signing.public_key_pem()))


@pytest.mark.usefixtures("keyring")
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a Shouhu audit checkpoint"),
        ('{"format": "other/1"}', "not a Shouhu audit checkpoint"),
        ('{"format": "shouhu-audit-checkpoint/1", "seq": 1}', "expected the fields"),
    ],
    ids=["not-json", "list", "other-format", "fields-missing"],
)
def test_a_malformed_checkpoint_is_refused(text: str, message: str) -> None:
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(text)


@pytest.mark.usefixtures("keyring")
@pytest.mark.parametrize(
    ("field", "value"), [("seq", "5"), ("seq", True), ("signature", 5), ("public_key", None)]
)
def test_a_checkpoint_with_wrongly_typed_fields_is_refused(
    session: Session, field: str, value: object
) -> None:
    record(session, actor=HR, action="t:e")
    checkpoint = take_checkpoint(session, actor=HR)
    with pytest.raises(CheckpointError, match=f"{field} is not"):
        load_checkpoint(_altered(checkpoint, **{field: value}))


def test_an_empty_chain_and_its_checkpoint_verify(
    backend: str, tmp_path: Path, keyring: Keyring
) -> None:
    url = fresh_database_url(backend, tmp_path, "audit_empty")
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        factory = make_session_factory(engine)
        install_keyring(keyring)
        with transaction(factory) as session:
            empty = verify_chain(session)
            checkpoint = load_checkpoint(
                take_checkpoint(session, actor=system_principal("cli")).to_json()
            )
        assert empty.intact
        assert (empty.checked, empty.last_seq, empty.last_hash) == (0, 0, GENESIS_HASH)
        # The checkpoint of the empty chain names entry 0 and the genesis hash.
        assert (checkpoint.seq, checkpoint.entry_hash) == (0, GENESIS_HASH)
        with factory() as session:
            result = verify_chain(session, checkpoint=checkpoint)
        assert result.intact, result.problem
        assert result.checked == 1  # the checkpoint's own event
        forged = dataclasses.replace(checkpoint, entry_hash="f" * 64)
        with factory() as session:
            problem = verify_chain(session, checkpoint=forged).problem
        assert problem is not None
        assert (problem.seq, problem.reason) == (0, Reason.CHECKPOINT_MISMATCH)
    finally:
        engine.dispose()
        if backend == "postgresql":
            drop_postgres_database(url)


# --- concurrency -------------------------------------------------------------------------

WRITERS = 8
EVENTS_EACH = 25
VERIFY_EVERY = 5


def test_concurrent_writers_build_one_chain_that_verifies_throughout(
    backend: str, tmp_path: Path
) -> None:
    # Eight writers, each event its own committed transaction. The head row is bumped with
    # an UPDATE first (chain.py), which takes its row lock on PostgreSQL and the write lock
    # on SQLite, so the writers are serialised: no two entries share a number or a parent.
    # Each writer also verifies the chain now and then while the others go on writing, which
    # on PostgreSQL means entries commit during the walk: that must never read as tampering.
    url = fresh_database_url(backend, tmp_path, "audit_race")
    engine = make_engine(url)
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    errors: list[BaseException] = []
    problems: list[object] = []
    barrier = threading.Barrier(WRITERS)

    def writer(n: int) -> None:
        actor = Principal(user_id=uuid.uuid4(), organisation_id=None, org_type=None, channel="api")
        try:
            barrier.wait()
            for i in range(EVENTS_EACH):
                with transaction(factory) as session:
                    record(session, actor=actor, action="test:race", object_id=f"{n}-{i}")
                if i % VERIFY_EVERY == VERIFY_EVERY - 1:
                    with factory() as session:
                        result = verify_chain(session, batch_size=16)
                    if not result.intact:
                        problems.append(result.problem)
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert problems == []
        with factory() as session:
            rows = session.execute(
                select(AuditEvent.seq, AuditEvent.prev_hash, AuditEvent.object_id).order_by(
                    AuditEvent.seq
                )
            ).all()
            result = verify_chain(session)
        total = WRITERS * EVENTS_EACH
        assert [row.seq for row in rows] == list(range(1, total + 1))
        assert len({row.prev_hash for row in rows}) == total  # no fork: each parent used once
        assert sorted(row.object_id for row in rows) == sorted(
            f"{n}-{i}" for n in range(WRITERS) for i in range(EVENTS_EACH)
        )
        assert result.intact, result.problem
        assert (result.checked, result.last_seq) == (total, total)
    finally:
        engine.dispose()
        if backend == "postgresql":
            drop_postgres_database(url)


def test_entries_committed_during_a_walk_are_not_called_tampering(
    backend: str, tmp_path: Path
) -> None:
    url = fresh_database_url(backend, tmp_path, "audit_walk")
    engine = make_engine(url)
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    writer = Principal(user_id=None, organisation_id=None, org_type=None, channel="api")

    def append() -> None:
        with transaction(factory) as session:
            record(session, actor=writer, action="test:during")

    try:
        for _ in range(10):
            append()
        appended = 0

        def commit_between_batches(_done: int, _total: int) -> None:
            # After every batch another process commits an entry; after the last batch of
            # the walk that entry moves the head past everything the walk has seen.
            nonlocal appended
            append()
            appended += 1

        with read_only_session(engine) as session:
            result = verify_chain(session, batch_size=4, progress=commit_between_batches)
        assert result.intact, result.problem
        if backend == "postgresql":
            # READ COMMITTED: batches 1-4, 5-8, 9-12 and 13 each let one entry in (11…14);
            # the head then read (14) is past the walk (13), so 14 is walked too, letting in
            # 15, which the walk rightly does not chase: it came after the head was read.
            assert (appended, result.checked, result.last_seq) == (5, 14, 14)
        else:
            # SQLite: the read-only (deferred) walk sees one snapshot, yet writers still
            # commit during it instead of waiting for a write lock.
            assert (appended, result.checked, result.last_seq) == (3, 10, 10)
        with factory() as session:
            assert verify_chain(session).last_seq == 10 + appended
    finally:
        engine.dispose()
        if backend == "postgresql":
            drop_postgres_database(url)
