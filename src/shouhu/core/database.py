"""Engine, sessions and the declarative Base shared by every domain package."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from typing import Any, ClassVar, cast

from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Insert,
    MetaData,
    Table,
    create_engine,
    event,
    insert,
    inspect,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Mapper,
    Session,
    make_transient_to_detached,
    mapped_column,
    sessionmaker,
)
from sqlalchemy.types import TypeDecorator, Uuid

from shouhu.core.settings import Settings

# Stable constraint names so Alembic migrations name the same thing on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 10_000


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and always read back timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        """Refuse naive datetimes and store UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use shouhu.core.database.utcnow()")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        """Attach UTC to the stored value."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """The declarative base of every Shouhu table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), uuid.UUID: Uuid()}


def insert_new(session: Session, *instances: Base) -> None:
    """INSERT new objects at once, in order, one Core statement each; they join the session.

    For a hot path: the unit of work's bookkeeping costs more than the statement. Each object
    is transient (never added to a session); every column is given a value first, Python-side
    defaults included, so the persistent object that joins the session is complete.
    """
    connection = session.connection()
    for instance in instances:
        state = inspect(instance)
        values: dict[str, Any] = {}
        for key, column in _columns(state.mapper):
            value = state.dict.get(key)
            if value is None and column.default is not None:
                default: Any = column.default  # a ColumnDefault: a scalar or a callable
                value = default.arg if default.is_scalar else default.arg(None)
            # Written past the instrumentation: the object is transient, so it has no history
            # to keep, and make_transient_to_detached resets it anyway.
            state.dict[key] = value
            values[column.key] = value
        connection.execute(_insert_of(state.mapper), values)
        make_transient_to_detached(instance)
        session.add(instance)


@cache
def _columns(mapper: Mapper[Any]) -> tuple[tuple[str, Column[Any]], ...]:
    """A mapped class's attributes and their columns."""
    return tuple((a.key, cast("Column[Any]", a.columns[0])) for a in mapper.column_attrs)


@cache
def _insert_of(mapper: Mapper[Any]) -> Insert:
    """One INSERT statement per table, built once (its cache key is computed once)."""
    return insert(cast("Table", mapper.local_table))


class UUIDPrimaryKey:
    """A client-generated UUID primary key, known before flush (encryption binds it)."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)

    def ensure_id(self) -> uuid.UUID:
        """Assign the primary key now if it has not been assigned yet."""
        if self.id is None:
            self.id = uuid.uuid4()
        return self.id


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from pysqlite (whose implicit BEGIN breaks SAVEPOINT and
    # rollback-per-test); SQLAlchemy's "begin" event below emits BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers run beside the one writer; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


READ_ONLY = "shouhu_read_only"


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock up front: a deferred transaction that reads and then
    # writes fails with SQLITE_BUSY when another writer committed in between (WAL snapshot).
    # Long read-only work (verifying the audit chain) opts out, so writers are not blocked.
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def read_only_session(engine: Engine) -> Session:
    """A session for long reads that never writes (SQLite: no write lock while it runs)."""
    return Session(engine.execution_options(**{READ_ONLY: True}))


def make_engine(url: str) -> Engine:
    """Create an engine for SQLite (with pragmas) or PostgreSQL (psycopg 3)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def engine_from_settings(settings: Settings) -> Engine:
    """Create the engine the settings name, making the data directory if needed."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.resolved_database_url)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error unless it asks to persist."""
    from shouhu.core.errors import DomainError  # noqa: PLC0415 - errors imports nothing of ours

    with factory() as session:
        session.begin()
        try:
            yield session
        except DomainError as exc:
            if exc.persist:
                session.commit()
            else:
                session.rollback()
            raise
        except BaseException:
            session.rollback()
            raise
        session.commit()
