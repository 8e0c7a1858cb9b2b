"""A first start creates one key per purpose, even when two processes start at once."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shouhu.core import migrate
from shouhu.core.crypto.keyring import KeyError_, Keyring, create_key, load_keyring
from shouhu.core.crypto.models import CryptoKey, KeyPurpose, KeyStatus
from shouhu.core.database import make_engine, make_session_factory, transaction
from tests.conftest import TEST_MASTER_KEY, drop_postgres_database, fresh_database_url

STARTS = 2


@pytest.fixture
def empty_engine(backend: str, tmp_path: Path) -> Iterator[tuple[Engine, str]]:
    """A database migrated to the latest schema and holding no keys; its URL too."""
    url = fresh_database_url(backend, tmp_path, "firststart")
    engine = make_engine(url)
    yield engine, url
    engine.dispose()
    if backend == "postgresql":
        drop_postgres_database(url)


def _meet_after_the_first_read(engine: Engine, parties: int) -> None:
    """Hold each thread after its first read of the keys until all have read (or 0.5 s).

    This makes both starts see an empty table before either writes: the race the lock must
    survive. On SQLite the second start waits at BEGIN IMMEDIATE instead, so the meeting
    times out and the starts run one after the other.
    """
    barrier = threading.Barrier(parties)
    seen = threading.local()

    def after(*args: Any) -> None:
        statement = args[2]
        if "FROM crypto_keys" in statement and not getattr(seen, "read", False):
            seen.read = True
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=0.5)

    event.listen(engine, "after_cursor_execute", after)


def _start_together(engine: Engine) -> list[Keyring]:
    factory = make_session_factory(engine)
    rings: list[Keyring] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            with transaction(factory) as session:
                rings.append(load_keyring(session, TEST_MASTER_KEY))
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(STARTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    return rings


def test_two_first_starts_at_once_make_one_key_per_purpose(
    empty_engine: tuple[Engine, str],
) -> None:
    engine, _url = empty_engine
    migrate.upgrade(engine)
    _meet_after_the_first_read(engine, STARTS)

    rings = _start_together(engine)

    assert len(rings) == STARTS
    first, second = rings
    assert second.field_keys == first.field_keys
    assert second.active_field_key_id == first.active_field_key_id
    assert second.blind_index_key == first.blind_index_key
    assert second.signing_key_id == first.signing_key_id
    with Session(engine) as session:
        rows = session.execute(select(CryptoKey.purpose, CryptoKey.status)).all()
    assert sorted(rows) == [(p.value, KeyStatus.ACTIVE.value) for p in sorted(KeyPurpose)]


def test_the_schema_refuses_a_second_active_key_of_a_purpose(
    session: Session, keyring: Keyring
) -> None:
    retiring = CryptoKey(id="field-extra-1", purpose="field", status="retiring", wrapped=b"x")
    session.add(retiring)
    session.flush()  # any number of keys may be retiring or retired
    nested = session.begin_nested()
    session.add(CryptoKey(id="field-extra-2", purpose="field", status="active", wrapped=b"x"))
    with pytest.raises(IntegrityError):
        session.flush()
    nested.rollback()
    active = select(func.count()).where(
        CryptoKey.purpose == "field", CryptoKey.status == KeyStatus.ACTIVE.value
    )
    assert session.scalar(active) == 1
    assert keyring.active_field_key_id


def test_a_new_key_retires_the_active_one_of_its_purpose(session: Session) -> None:
    before = load_keyring(session, TEST_MASTER_KEY)
    row = create_key(session, TEST_MASTER_KEY, KeyPurpose.FIELD)
    after = load_keyring(session, TEST_MASTER_KEY)
    assert after.active_field_key_id == row.id
    assert after.retiring_field_key_ids == {before.active_field_key_id}
    assert after.blind_index_key == before.blind_index_key


def test_a_start_refuses_two_active_keys_of_one_purpose(session: Session) -> None:
    # A database from before the unique index may hold the result of a lost race.
    session.execute(text("DROP INDEX uq_crypto_keys_active_purpose"))
    session.add(CryptoKey(id="blindindex-dup", purpose="blind_index", status="active", wrapped=b""))
    session.flush()
    with pytest.raises(KeyError_, match=r"more than one active key per purpose \(blind_index: "):
        load_keyring(session, TEST_MASTER_KEY)


def test_the_migration_names_duplicate_active_keys_instead_of_failing_obscurely(
    empty_engine: tuple[Engine, str],
) -> None:
    engine, _url = empty_engine
    migrate.upgrade(engine, "0003")
    with engine.begin() as connection:
        for key_id in ("signing-a", "signing-b", "field-a"):
            connection.execute(
                text(
                    "INSERT INTO crypto_keys (id, purpose, status, wrapped, created_at) "
                    "VALUES (:id, :purpose, 'active', :wrapped, CURRENT_TIMESTAMP)"
                ),
                {"id": key_id, "purpose": key_id.split("-")[0], "wrapped": b""},
            )
    with pytest.raises(RuntimeError, match=r"more than one active key for: signing \(2 active\)"):
        migrate.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE crypto_keys SET status = 'retiring' WHERE id = 'signing-a'")
        )
    migrate.upgrade(engine)
    assert migrate.is_current(engine)
