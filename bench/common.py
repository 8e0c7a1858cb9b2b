"""What the benchmark scripts share: scratch databases with a keyring, and rates."""

from __future__ import annotations

import os
import threading
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


def _children(task: Path) -> list[str]:
    try:
        return (task / "children").read_text().split()
    except FileNotFoundError:
        return []  # the thread ended meanwhile


class ChildMemory:
    """The largest resident size any child process reached, sampled twice a second.

    `getrusage(RUSAGE_CHILDREN)` is no use for spawned workers: it counts a child from the
    moment it is forked, when it still shares all of this process's pages.
    """

    def __init__(self) -> None:
        """Start sampling in a daemon thread."""
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        tasks = Path(f"/proc/{os.getpid()}/task")
        while not self._stop.wait(0.5):
            try:
                # Each thread's children: a pool may start its processes from its own thread.
                pids = {pid for task in tasks.iterdir() for pid in _children(task)}
            except OSError:
                return  # not Linux: nothing to report
            for pid in pids:
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue  # ended meanwhile
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_kib = max(self.peak_kib, int(line.split()[1]))

    def stop(self) -> int:
        """Stop sampling; the peak in MiB."""
        self._stop.set()
        self._thread.join()
        return self.peak_kib // 1024
