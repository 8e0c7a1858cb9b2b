"""A copy of the database file reveals no plaintext name or secret (DESIGN §4)."""

from __future__ import annotations

import base64
import shutil
import uuid
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.accounts.models import Organisation, User
from shouhu.core import migrate
from shouhu.core.crypto import keyring as keyring_module
from shouhu.core.crypto.keyring import Keyring, install_keyring, load_keyring
from shouhu.core.database import make_engine, make_session_factory, transaction
from tests.conftest import TEST_MASTER_KEY, fresh_database_url

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

# Distinctive values, so a hit cannot be a coincidence.
DISPLAY_NAMES = ["王小明", "欧阳娜娜", "單田芳", "Xiaoming Quirinus-Wang", "Ольга Иванова"]
ORGANISATION_NAME = "守护探针实验小学 Probe Primary School"
ENCODINGS = ["utf-8", "utf-16-le", "utf-16-be"]


@contextmanager
def installed(ring: Keyring) -> Iterator[Keyring]:
    """Install a keyring for the block and put the previous one back afterwards."""
    previous = keyring_module._Holder.keyring
    install_keyring(ring)
    try:
        yield ring
    finally:
        install_keyring(previous)


def mfa_secret(number: int) -> str:
    """A base32 TOTP secret, distinct per user."""
    return base64.b32encode(uuid.uuid5(uuid.NAMESPACE_DNS, f"probe-{number}").bytes).decode()


def database_copy(tmp_path: Path) -> dict[str, bytes]:
    """Populate a fresh SQLite file, checkpoint it, copy it; return each copied file's bytes."""
    url = fresh_database_url("sqlite", tmp_path, "at_rest")
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine) as session, session.begin():
        ring = load_keyring(session, TEST_MASTER_KEY)
    with installed(ring):
        with transaction(make_session_factory(engine)) as session:
            org = Organisation(name=ORGANISATION_NAME, type="institution", region_code="110101")
            session.add(org)
            session.flush()
            for number, name in enumerate(DISPLAY_NAMES):
                user = User(
                    organisation_id=org.id,
                    username=f"probe-user-{number}",
                    password_hash="not-a-real-hash",
                )
                user.display_name = name
                user.mfa_secret = mfa_secret(number)
                session.add(user)
        # The values really are stored: they read back through the model.
        with make_session_factory(engine)() as session:
            stored = session.scalars(select(User).order_by(User.username)).all()
            assert [(u.display_name, u.mfa_secret) for u in stored] == [
                (name, mfa_secret(number)) for number, name in enumerate(DISPLAY_NAMES)
            ]
        # Outside any transaction (the engine's BEGIN IMMEDIATE would block the checkpoint).
        raw_connection = engine.raw_connection()
        try:
            busy, _, _ = (
                raw_connection.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            )
            assert busy == 0
        finally:
            raw_connection.close()
        # Copy while the database is still open, as someone walking off with the files would.
        database = tmp_path / "at_rest.db"
        copied: dict[str, bytes] = {}
        for suffix in ("", "-wal", "-shm"):
            source = database.with_name(database.name + suffix)
            if source.exists():
                target = tmp_path / f"copy{suffix}"
                shutil.copyfile(source, target)
                copied[suffix or "main"] = target.read_bytes()
    engine.dispose()
    return copied


def test_no_name_or_secret_is_readable_in_a_copy_of_the_database(tmp_path: Path) -> None:
    files = database_copy(tmp_path)
    # The grep works: plaintext columns are found, in the main file after the checkpoint.
    assert ORGANISATION_NAME.encode() in files["main"]
    assert b"probe-user-0" in files["main"]
    secrets = [mfa_secret(number) for number in range(len(DISPLAY_NAMES))]
    leaks = [
        (value, encoding)
        for value in [*DISPLAY_NAMES, *secrets]
        for encoding in ENCODINGS
        for raw in files.values()
        if value.encode(encoding) in raw
    ]
    assert leaks == []
