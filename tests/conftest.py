"""Shared fixtures: a migrated database per backend, a rolled-back session per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from shouhu.core import migrate
from shouhu.core.crypto import keyring as keyring_module
from shouhu.core.crypto.keyring import Keyring, install_keyring, load_keyring
from shouhu.core.database import make_engine
from shouhu.core.runtime import start
from shouhu.core.settings import get_settings

# No time limit per example: timed assertions do not belong in tests, and on a busy 2-core
# machine Hypothesis's default 200 ms deadline failed examples that were merely slow.
hypothesis_settings.register_profile("shouhu", deadline=None)
hypothesis_settings.load_profile("shouhu")

TEST_MASTER_KEY = bytes(range(32))
PG_URL = os.environ.get("SHOUHU_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _worker() -> str:
    # The pid keeps concurrent pytest runs on one server from dropping each other's databases.
    return f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


def _admin_engine() -> Engine:
    assert PG_URL is not None
    return create_engine(
        "postgresql+psycopg://" + PG_URL.split("://", 1)[1], isolation_level="AUTOCOMMIT"
    )


def drop_postgres_database(url: str) -> None:
    """Drop a database made by `fresh_postgres_database`."""
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def fresh_postgres_database(name: str) -> str:
    """Create (or re-create) a database on the test server and return its URL."""
    assert PG_URL is not None
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return PG_URL.rsplit("/", 1)[0] + f"/{name}"


def fresh_database_url(backend: str, tmp_dir: Path, label: str) -> str:
    """A new, empty database of this backend, private to this worker and label."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_dir / f'{label}.db'}"
    return fresh_postgres_database(f"shouhu_{label}_{_worker()}")


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each test that uses the database runs once per configured backend."""
    return str(request.param)


@pytest.fixture(scope="session")
def migrated_engine(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A database built by running every migration, shared by the tests of one worker."""
    url = fresh_database_url(backend, tmp_path_factory.mktemp("db"), "suite")
    engine = make_engine(url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()
    if backend == "postgresql":
        drop_postgres_database(url)


@pytest.fixture(scope="session")
def keyring(migrated_engine: Engine) -> Keyring:
    """The suite's keyring, created in the migrated database and installed."""
    with Session(migrated_engine) as session, session.begin():
        ring = load_keyring(session, TEST_MASTER_KEY)
    install_keyring(ring)
    return ring


@pytest.fixture
def session_factory(migrated_engine: Engine, keyring: Keyring) -> Iterator[sessionmaker[Session]]:
    """Sessions joined to one outer transaction that is rolled back after the test."""
    install_keyring(keyring)
    connection = migrated_engine.connect()
    outer = connection.begin()
    factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    yield factory
    outer.rollback()
    connection.close()


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session inside the test's rolled-back transaction."""
    with session_factory() as db:
        yield db


@pytest.fixture
def unique() -> str:
    """A short unique suffix for names that must not collide."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def cli_engine(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A fresh migrated database that CLI commands find through the environment."""
    previous = keyring_module._Holder.keyring
    url = fresh_database_url(backend, tmp_path, "cli")
    monkeypatch.setenv("SHOUHU_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SHOUHU_DATABASE_URL", url)
    monkeypatch.setenv("SHOUHU_ENV", "test")
    monkeypatch.delenv("SHOUHU_MASTER_KEY", raising=False)
    monkeypatch.delenv("SHOUHU_MASTER_KEY_FILE", raising=False)
    get_settings.cache_clear()
    rt = start(get_settings(), run_migrations=True)
    yield rt.engine
    rt.engine.dispose()
    get_settings.cache_clear()
    install_keyring(previous)
    if backend == "postgresql":
        drop_postgres_database(url)
