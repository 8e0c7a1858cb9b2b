"""Field-key rotation: everything re-sealed, values unchanged, resumable, audited (DESIGN §4)."""

from __future__ import annotations

import base64
import dataclasses
import importlib
import json
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import LargeBinary, String, func, select, text, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from typer.testing import CliRunner

from shouhu.accounts.models import Organisation, User
from shouhu.core import migrate
from shouhu.core.audit.models import AuditEvent
from shouhu.core.crypto import keyring as keyring_module
from shouhu.core.crypto.fields import EncryptedString, Sealed, envelope_key_id
from shouhu.core.crypto.keyring import install_keyring, load_keyring, load_master_key, unwrap_key
from shouhu.core.crypto.models import CryptoKey, KeyStatus
from shouhu.core.crypto.rotation import (
    RotationError,
    RotationProgress,
    RotationReport,
    _begin,
    _rotate_batch,
    rotate_field_key,
    sealed_tables,
)
from shouhu.core.database import (
    UUIDPrimaryKey,
    make_engine,
    make_session_factory,
    transaction,
)
from shouhu.core.models_registry import metadata
from shouhu.core.principal import system_principal
from shouhu.core.runtime import start
from shouhu.core.settings import get_settings
from tests.conftest import (
    PG_URL,
    TEST_MASTER_KEY,
    drop_postgres_database,
    fresh_database_url,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import typer
    from sqlalchemy.orm import Session, sessionmaker

    from shouhu.core.crypto.keyring import Keyring

ACTOR = system_principal()
NAMES = ["王小明", "欧阳娜娜", "Zhang Wei", "单田芳", "曾国藩", "Ольга Иванова", "李华"]


class RotationStoppedError(Exception):
    """Raised by a progress callback to stop a rotation half-way."""


@pytest.fixture(autouse=True)
def restore_suite_keyring(keyring: Keyring) -> Iterator[None]:
    # A rotation installs its new keyring process-wide; later tests expect the suite's.
    yield
    install_keyring(keyring)


def add_users(
    session_factory: sessionmaker[Session], names: list[str] = NAMES
) -> dict[uuid.UUID, tuple[str, str | None]]:
    """Commit one organisation and a user per name; return id → (display name, MFA secret)."""
    expected: dict[uuid.UUID, tuple[str, str | None]] = {}
    with transaction(session_factory) as session:
        org = Organisation(
            name=f"rotation-{uuid.uuid4().hex[:8]}", type="operator", region_code="110000"
        )
        session.add(org)
        session.flush()
        for number, name in enumerate(names):
            user = User(
                organisation_id=org.id,
                username=f"rot-{uuid.uuid4().hex[:12]}",
                password_hash="not-a-real-hash",
            )
            user.display_name = name
            # Every third user has no second factor: NULL envelopes must be left alone.
            secret = None if number % 3 == 2 else base64.b32encode(uuid.uuid4().bytes).decode()
            user.mfa_secret = secret
            session.add(user)
            session.flush()
            expected[user.id] = (name, secret)
    return expected


def envelope_keys(session_factory: sessionmaker[Session]) -> dict[uuid.UUID, set[str]]:
    """For each user, the key ids of its stored envelopes."""
    with session_factory() as session:
        rows = session.execute(select(User.id, User.display_name_sealed, User.mfa_secret_sealed))
        return {row.id: {envelope_key_id(e) for e in row[1:] if e is not None} for row in rows}


def stored_values(
    session_factory: sessionmaker[Session],
) -> dict[uuid.UUID, tuple[str, str | None]]:
    """Every user's decrypted display name and MFA secret, read through the model."""
    with session_factory() as session:
        session.expire_all()
        return {
            user.id: (user.display_name or "", user.mfa_secret)
            for user in session.scalars(select(User))
        }


def key_statuses(session_factory: sessionmaker[Session]) -> dict[str, tuple[str, bool]]:
    """Each key's status and whether it has a retirement time."""
    with session_factory() as session:
        return {
            k.id: (k.status, k.retired_at is not None) for k in session.scalars(select(CryptoKey))
        }


def rotation_events(session_factory: sessionmaker[Session], after: int) -> list[tuple[str, ...]]:
    """The rotation's audit events since `after`: (action, outcome, phase)."""
    with session_factory() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq)
        )
        return [(e.action, e.outcome, json.loads(e.details)["phase"]) for e in events]


def last_seq(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return int(session.scalar(select(func.max(AuditEvent.seq))) or 0)


def test_sealed_tables_are_discovered_from_the_mappings() -> None:
    found = {t.name: t for t in sealed_tables()}
    assert "users" in found
    users = found["users"]
    assert users.primary_key.name == "id"
    assert {(c.column.name, c.field.name, c.field.table) for c in users.columns} == {
        ("display_name", "display_name", "users"),
        ("mfa_secret", "mfa_secret", "users"),
    }
    # Every table with a Sealed column is found, whichever domain package it belongs to.
    with_sealed = {
        name
        for name, table in metadata.tables.items()
        if any(isinstance(c.type, Sealed) for c in table.columns)
    }
    assert set(found) == with_sealed


def test_discovery_covers_new_tables_and_custom_column_names() -> None:
    class OtherBase(DeclarativeBase):
        pass

    class Case(UUIDPrimaryKey, OtherBase):
        __tablename__ = "cases_probe"
        title: Mapped[str] = mapped_column(String(20))
        narrative_ciphertext: Mapped[bytes | None] = mapped_column("narrative", Sealed())
        narrative = EncryptedString("narrative_ciphertext")

    found = sealed_tables(OtherBase)
    assert [t.name for t in found] == ["cases_probe"]
    (column,) = found[0].columns
    assert column.column.name == "narrative"
    assert column.field is Case.narrative
    assert column.field.name == "narrative"


def test_a_sealed_column_without_its_field_stops_discovery() -> None:
    class OtherBase(DeclarativeBase):
        pass

    class Orphan(UUIDPrimaryKey, OtherBase):
        __tablename__ = "orphan_probe"
        secret_sealed: Mapped[bytes | None] = mapped_column("secret", Sealed())
        plain: Mapped[bytes | None] = mapped_column(LargeBinary)

    assert Orphan.__tablename__ == "orphan_probe"
    with pytest.raises(
        RotationError, match=r"orphan_probe\.secret is Sealed but no EncryptedField"
    ):
        sealed_tables(OtherBase)


def test_rotation_reseals_every_value_under_the_new_key(
    session_factory: sessionmaker[Session], keyring: Keyring
) -> None:
    expected = add_users(session_factory)
    old = keyring.active_field_key_id
    before = last_seq(session_factory)
    seen: list[RotationProgress] = []

    report = rotate_field_key(
        session_factory, TEST_MASTER_KEY, actor=ACTOR, batch_size=3, progress=seen.append
    )

    assert report.old_key_ids == (old,)
    assert report.new_key_id != old
    assert not report.resumed
    assert report.completed
    assert report.re_encrypted["users"] == len(NAMES)
    assert envelope_keys(session_factory) == {user_id: {report.new_key_id} for user_id in expected}
    current = keyring_module.current_keyring()
    assert current.active_field_key_id == report.new_key_id
    assert old not in current.field_keys
    assert stored_values(session_factory) == expected

    statuses = key_statuses(session_factory)
    assert statuses[old] == (KeyStatus.RETIRED, True)
    assert statuses[report.new_key_id] == (KeyStatus.ACTIVE, False)
    # Only the field key turns over; the blind-index and signing keys stay as they were.
    assert current.blind_index_key == keyring.blind_index_key
    assert current.signing_key_id == keyring.signing_key_id

    users_progress = [p for p in seen if p.table == "users"]
    assert [p.scanned for p in users_progress] == [0, 3, 6, 7]
    assert users_progress[-1].re_encrypted == len(NAMES)
    assert all(p.total == len(NAMES) for p in users_progress)

    assert rotation_events(session_factory, before) == [
        ("system:keys:rotate", "success", "start"),
        ("system:keys:rotate", "success", "complete"),
    ]


def test_the_audit_details_name_keys_but_hold_no_key_material(
    session_factory: sessionmaker[Session], keyring: Keyring
) -> None:
    add_users(session_factory, ["王小明"])
    before = last_seq(session_factory)
    report = rotate_field_key(session_factory, TEST_MASTER_KEY, actor=ACTOR)
    with session_factory() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.seq > before)))
        new_row = session.get(CryptoKey, report.new_key_id)
        assert new_row is not None
        materials = [
            unwrap_key(TEST_MASTER_KEY, new_row),
            keyring.field_keys[report.old_key_ids[0]],
        ]
    start_details, complete_details = (json.loads(e.details) for e in events)
    assert start_details == {
        "phase": "start",
        "retiring": [report.old_key_ids[0]],
        "active": report.new_key_id,
        "resumed": False,
    }
    assert complete_details["retired"] == list(report.old_key_ids)
    assert complete_details["re_encrypted"]["users"] == 1
    for event in events:
        for material in materials:
            for encoded in (material.hex(), base64.b64encode(material).decode()):
                assert encoded not in event.details
        assert "王小明" not in event.details


def test_an_interrupted_rotation_resumes_where_it_stopped(
    session_factory: sessionmaker[Session], keyring: Keyring
) -> None:
    expected = add_users(session_factory)
    old = keyring.active_field_key_id
    before = last_seq(session_factory)

    def stop_after_first_batch(event: RotationProgress) -> None:
        if event.table == "users" and event.scanned > 0:
            raise RotationStoppedError

    with pytest.raises(RotationStoppedError):
        rotate_field_key(
            session_factory,
            TEST_MASTER_KEY,
            actor=ACTOR,
            batch_size=2,
            progress=stop_after_first_batch,
        )

    # Half-way: the first batch is under the new key, the rest under the old, all readable.
    halfway = envelope_keys(session_factory)
    new = keyring_module.current_keyring().active_field_key_id
    assert new != old
    assert all(len(keys) == 1 for keys in halfway.values())
    assert sum(1 for keys in halfway.values() if keys == {new}) == 2
    assert sum(1 for keys in halfway.values() if keys == {old}) == len(NAMES) - 2
    assert key_statuses(session_factory)[old] == (KeyStatus.RETIRING, False)
    assert stored_values(session_factory) == expected

    report = rotate_field_key(session_factory, TEST_MASTER_KEY, actor=ACTOR, batch_size=2)

    assert report.resumed
    assert report.old_key_ids == (old,)
    assert report.new_key_id == new
    assert report.re_encrypted["users"] == len(NAMES) - 2
    assert envelope_keys(session_factory) == {user_id: {new} for user_id in expected}
    assert stored_values(session_factory) == expected
    assert key_statuses(session_factory)[old] == (KeyStatus.RETIRED, True)
    assert rotation_events(session_factory, before) == [
        ("system:keys:rotate", "success", "start"),
        ("system:keys:rotate", "failure", "interrupted"),
        ("system:keys:rotate", "success", "start"),
        ("system:keys:rotate", "success", "complete"),
    ]


def test_rotating_twice_retires_both_earlier_keys(
    session_factory: sessionmaker[Session], keyring: Keyring
) -> None:
    expected = add_users(session_factory, NAMES[:3])
    first = rotate_field_key(session_factory, TEST_MASTER_KEY, actor=ACTOR)
    second = rotate_field_key(session_factory, TEST_MASTER_KEY, actor=ACTOR)
    assert second.old_key_ids == (first.new_key_id,)
    assert second.re_encrypted["users"] == 3
    statuses = key_statuses(session_factory)
    assert statuses[keyring.active_field_key_id][0] == KeyStatus.RETIRED
    assert statuses[first.new_key_id][0] == KeyStatus.RETIRED
    assert statuses[second.new_key_id][0] == KeyStatus.ACTIVE
    assert stored_values(session_factory) == expected


def test_a_damaged_value_stops_the_rotation_before_the_old_key_is_retired(
    session_factory: sessionmaker[Session], keyring: Keyring
) -> None:
    expected = add_users(session_factory, NAMES[:2])
    victim = next(iter(expected))
    with transaction(session_factory) as session:
        envelope = session.scalar(select(User.display_name_sealed).where(User.id == victim))
        assert envelope is not None
        damaged = envelope[:-1] + bytes([envelope[-1] ^ 1])
        session.execute(update(User).where(User.id == victim).values(display_name_sealed=damaged))

    with pytest.raises(RotationError, match=f"users.display_name row {victim}"):
        rotate_field_key(session_factory, TEST_MASTER_KEY, actor=ACTOR)
    assert key_statuses(session_factory)[keyring.active_field_key_id] == (
        KeyStatus.RETIRING,
        False,
    )


def test_a_row_changed_during_its_batch_keeps_the_newer_value(
    session_factory: sessionmaker[Session],
) -> None:
    expected = add_users(session_factory, ["王小明"])
    (user_id,) = expected

    def stop_at_once(_event: RotationProgress) -> None:
        raise RotationStoppedError

    # Stop before the first batch: the new key is active, the old one retiring.
    with pytest.raises(RotationStoppedError):
        rotate_field_key(session_factory, TEST_MASTER_KEY, actor=ACTOR, progress=stop_at_once)
    current = keyring_module.current_keyring()
    (table,) = [t for t in sealed_tables() if t.name == "users"]
    columns = [table.primary_key, *(c.column for c in table.columns)]
    with session_factory() as session:
        stale_rows: list[Any] = list(session.execute(select(*columns)))
    with transaction(session_factory) as session:
        user = session.get(User, user_id)
        assert user is not None
        user.display_name = "王大明"

    # Re-sealing from a stale read must not overwrite the newer value (no lost update).
    with transaction(session_factory) as session:
        outcome = _rotate_batch(
            session,
            table,
            stale_rows,
            current.retiring_field_key_ids,
            current.active_field_key_id,
        )
    assert outcome == (0, 1)
    assert stored_values(session_factory)[user_id][0] == "王大明"


def test_batch_size_must_be_positive(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        rotate_field_key(session_factory, TEST_MASTER_KEY, actor=ACTOR, batch_size=0)


def test_a_value_sealed_by_a_stale_server_during_a_long_walk_is_swept_up(
    session_factory: sessionmaker[Session], keyring: Keyring
) -> None:
    expected = add_users(session_factory, NAMES[:2])
    old = keyring.active_field_key_id
    stale: dict[uuid.UUID, tuple[str, str | None]] = {}

    def stale_write_then_slow(event: RotationProgress) -> None:
        # After the users table is walked, a server that has not yet noticed the rotation
        # seals a new row with the old key; the rest of the walk then outlasts the wait.
        if event.table == "users" and event.scanned == event.total > 0 and not stale:
            rotating = keyring_module.current_keyring()
            install_keyring(dataclasses.replace(rotating, active_field_key_id=old))
            try:
                stale.update(add_users(session_factory, ["迟到的服务器"]))
            finally:
                install_keyring(rotating)
            time.sleep(0.05)

    report = rotate_field_key(
        session_factory,
        TEST_MASTER_KEY,
        actor=ACTOR,
        progress=stale_write_then_slow,
        settle_seconds=0.01,
    )

    assert stale
    assert report.completed
    assert envelope_keys(session_factory) == {
        user_id: {report.new_key_id} for user_id in {**expected, **stale}
    }
    assert stored_values(session_factory) == {**expected, **stale}


# PostgreSQL only: SQLite serialises writers with BEGIN IMMEDIATE, so the race cannot occur.
@pytest.mark.skipif(PG_URL is None, reason="needs SHOUHU_TEST_DATABASE_URL (PostgreSQL)")
def test_a_concurrent_rotation_waits_and_resumes_the_first(tmp_path: Path) -> None:
    url = fresh_database_url("postgresql", tmp_path, "rotation_race")
    engine = make_engine(url)
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    try:
        with transaction(factory) as session:
            install_keyring(load_keyring(session, TEST_MASTER_KEY))
        first = factory()
        first.begin()
        old_ids, new_id, _ = _begin(first, TEST_MASTER_KEY)
        outcome: dict[str, object] = {}

        def second_rotation() -> None:
            try:
                outcome["report"] = rotate_field_key(factory, TEST_MASTER_KEY, actor=ACTOR)
            except Exception as exc:  # noqa: BLE001 - handed to the test thread to report
                outcome["error"] = exc

        thread = threading.Thread(target=second_rotation)
        thread.start()
        # Wait until the second rotation is blocked on the locked key rows, then commit.
        for _ in range(2000):
            with engine.connect() as watcher:
                blocked = watcher.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                )
            if blocked:
                break
            time.sleep(0.005)
        assert blocked, "the second rotation never waited for the first"
        first.commit()
        first.close()
        thread.join()

        assert "error" not in outcome, outcome
        report = outcome["report"]
        assert isinstance(report, RotationReport)
        # It resumed the first rotation instead of creating a second active key.
        assert report.resumed
        assert report.old_key_ids == old_ids
        assert report.new_key_id == new_id
        statuses = key_statuses(factory)
        assert [
            k
            for k, (status, _) in statuses.items()
            if status == KeyStatus.ACTIVE and k.startswith("field")
        ] == [new_id]
    finally:
        engine.dispose()
        drop_postgres_database(url)


@pytest.fixture
def cli_env(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, migrated database named by SHOUHU_* variables, as an operator's shell has."""
    url = fresh_database_url(backend, tmp_path, "keys_cli")
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    monkeypatch.setenv("SHOUHU_DATABASE_URL", url)
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SHOUHU_ENV", "test")
    monkeypatch.delenv("SHOUHU_MASTER_KEY", raising=False)
    monkeypatch.delenv("SHOUHU_MASTER_KEY_FILE", raising=False)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
    if backend == "postgresql":
        drop_postgres_database(url)


@pytest.fixture
def cli_app() -> typer.Typer:
    """The installed `shouhu` command (imported here: the other tests do not need the CLI)."""
    app: typer.Typer = importlib.import_module("shouhu.cli.main").app
    return app


@pytest.mark.usefixtures("cli_env")
def test_cli_rotate_reseals_everything_and_reports(cli_app: typer.Typer, tmp_path: Path) -> None:
    rt = start()
    assert rt.master_key_generated
    old = rt.keyring.active_field_key_id
    expected = add_users(rt.sessions)
    before = last_seq(rt.sessions)

    # No server is running, so there is nothing to wait for before retiring the old key.
    args = ["keys", "rotate", "--batch-size", "3", "--settle-seconds", "0"]
    result = CliRunner().invoke(cli_app, args)

    assert result.exit_code == 0, result.output
    rt = start()
    new = rt.keyring.active_field_key_id
    assert new != old
    assert f"{old} → {new}" in result.stdout
    assert "users" in result.stdout
    assert f"{len(NAMES)} rows re-encrypted" in result.stdout
    # The progress bar goes to stderr, so stdout stays parseable for scripts.
    assert f"{len(NAMES)}/{len(NAMES)}" in result.stderr
    assert envelope_keys(rt.sessions) == {user_id: {new} for user_id in expected}
    assert stored_values(rt.sessions) == expected
    assert key_statuses(rt.sessions)[old] == (KeyStatus.RETIRED, True)
    # No evidence was ever uploaded: nothing to re-wrap, and the command says where it looked.
    assert f"no store at {tmp_path / 'data' / 'evidence'}" in result.stdout
    assert rotation_events(rt.sessions, before) == [
        ("cli:keys:rotate", "success", "start"),
        ("cli:keys:rotate", "success", "evidence"),
        ("cli:keys:rotate", "success", "complete"),
    ]
    # The master key was generated into the data directory and is reused, not replaced.
    assert load_master_key(rt.settings).path == tmp_path / "data" / "master.key"
    rt.engine.dispose()


@pytest.mark.usefixtures("cli_env")
def test_cli_rotate_with_the_wrong_master_key_fails_cleanly(
    cli_app: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = start()
    old = rt.keyring.active_field_key_id
    rt.engine.dispose()
    monkeypatch.setenv("SHOUHU_MASTER_KEY", base64.b64encode(bytes(32)).decode())
    get_settings.cache_clear()

    result = CliRunner().invoke(cli_app, ["keys", "rotate"])

    assert result.exit_code == 1
    assert "wrong master key" in result.stderr
    monkeypatch.delenv("SHOUHU_MASTER_KEY")
    get_settings.cache_clear()
    rt = start()
    assert rt.keyring.active_field_key_id == old
    rt.engine.dispose()


@pytest.mark.usefixtures("cli_env")
def test_cli_rotate_refuses_a_zero_batch_size(cli_app: typer.Typer) -> None:
    result = CliRunner().invoke(cli_app, ["keys", "rotate", "--batch-size", "0"])
    assert result.exit_code == 2


def test_a_serving_process_notices_a_rotation_and_reloads(
    session_factory: sessionmaker[Session], keyring: Keyring
) -> None:
    from shouhu.core.crypto.keyring import current_keyring, refresh_if_rotated  # noqa: PLC0415

    with session_factory() as session:
        assert refresh_if_rotated(session, TEST_MASTER_KEY) is False
    report = rotate_field_key(session_factory, TEST_MASTER_KEY, actor=system_principal("cli"))
    stale = report.old_key_ids[0]
    install_keyring(keyring)  # a process that loaded its keys before the rotation
    assert current_keyring().active_field_key_id == stale
    with session_factory() as session:
        assert refresh_if_rotated(session, TEST_MASTER_KEY) is True
    assert current_keyring().active_field_key_id == report.new_key_id
    install_keyring(keyring)
