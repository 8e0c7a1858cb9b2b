"""What the benchmark scripts share: scratch databases with a keyring, and rates."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from shouhu.core import migrate
from shouhu.core.crypto.keyring import Keyring, install_keyring, load_keyring
from shouhu.core.database import make_engine, make_session_factory

MASTER_KEY = bytes(range(32))  # a fixed key: the benches measure speed, not secrecy


@dataclass(frozen=True)
class Database:
    """A migrated scratch database with its keyring installed."""

    label: str
    url: str
    engine: Engine
    factory: sessionmaker[Session]
    keyring: Keyring

    def activate(self) -> None:
        """Install this database's keyring (the process has one at a time)."""
        install_keyring(self.keyring)


def _admin(base: str) -> Engine:
    return create_engine(
        "postgresql+psycopg://" + base.split("://", 1)[1], isolation_level="AUTOCOMMIT"
    )


@contextmanager
def scratch_postgres(base: str) -> Iterator[str]:
    """A new, empty PostgreSQL database beside `base`, dropped afterwards."""
    name = f"shouhu_bench_{uuid.uuid4().hex[:8]}"
    admin = _admin(base)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def open_database(label: str, url: str) -> Database:
    """Migrate `url` and install its keyring (created on first use)."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine) as session, session.begin():
        keyring = load_keyring(session, MASTER_KEY)
    install_keyring(keyring)
    return Database(label, url, engine, make_session_factory(engine), keyring)


@contextmanager
def databases(tmp: Path, url: str | None = None) -> Iterator[list[Database]]:
    """The given database, else a SQLite file and (with SHOUHU_TEST_DATABASE_URL) PostgreSQL."""
    if url:
        opened = [open_database("given", url)]
        yield opened
        opened[0].engine.dispose()
        return
    sqlite = open_database("sqlite", f"sqlite:///{tmp / 'bench.db'}")
    base = os.environ.get("SHOUHU_TEST_DATABASE_URL")
    if not base:
        yield [sqlite]
        sqlite.engine.dispose()
        return
    with scratch_postgres(base) as pg_url:
        postgres = open_database("postgresql", pg_url)
        try:
            yield [sqlite, postgres]
        finally:
            sqlite.engine.dispose()
            postgres.engine.dispose()


def rate(count: int, seconds: float, unit: str = "rows") -> str:
    """`count` per second, with the time taken."""
    return f"{count / seconds:>9,.0f} {unit}/s ({seconds:6.1f} s)"
