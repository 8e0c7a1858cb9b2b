"""Start-up: settings, engine, migrations and the keyring, in one place for every entry point."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shouhu.core import migrate
from shouhu.core.crypto.keyring import Keyring, install_keyring, load_keyring, load_master_key
from shouhu.core.database import engine_from_settings, make_session_factory, transaction
from shouhu.core.settings import Settings, get_settings


@dataclass
class Runtime:
    """What a running Shouhu process holds: settings, database and keys."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    keyring: Keyring
    master_key: bytes
    master_key_generated: bool


def start(settings: Settings | None = None, *, run_migrations: bool = False) -> Runtime:
    """Open the database, optionally migrate it, and load and install the keyring."""
    settings = settings or get_settings()
    engine = engine_from_settings(settings)
    if run_migrations:
        migrate.upgrade(engine)
    master = load_master_key(settings)
    sessions = make_session_factory(engine)
    with transaction(sessions) as session:
        keyring = load_keyring(session, master.key)
    install_keyring(keyring)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        keyring=keyring,
        master_key=master.key,
        master_key_generated=master.generated,
    )
