"""Upgrading a database that holds data keeps every row (SQLite rebuilds tables to alter them)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from alembic import command
from sqlalchemy import text

from shouhu.core.database import make_engine
from shouhu.core.migrate import alembic_config, upgrade
from tests.conftest import drop_postgres_database, fresh_database_url

if TYPE_CHECKING:
    from pathlib import Path

TABLES = (
    "registry_persons",
    "registry_names",
    "registry_documents",
    "registry_records",
    "registry_blocking_keys",
)


def _fill_at_0004(connection) -> None:
    """One registry person with a name, a document, a record and a key, as 0004 stored them."""
    person = uuid.uuid4()
    now = "2026-11-01 00:00:00"
    values = {
        "p": person.hex if connection.dialect.name == "sqlite" else str(person),
        "n": uuid.uuid4().hex if connection.dialect.name == "sqlite" else str(uuid.uuid4()),
        "d": uuid.uuid4().hex if connection.dialect.name == "sqlite" else str(uuid.uuid4()),
        "r": uuid.uuid4().hex if connection.dialect.name == "sqlite" else str(uuid.uuid4()),
        "blob": b"sealed",
        "key": b"k" * 16,
        "now": now,
    }
    statements = [
        (
            "INSERT INTO registry_persons (id, external_id, name, created_at, updated_at)"
            " VALUES (:p, 'P-1', :blob, :now, :now)"
        ),
        (
            "INSERT INTO registry_names (id, person_id, kind, name, created_at)"
            " VALUES (:n, :p, 'primary', :blob, :now)"
        ),
        (
            "INSERT INTO registry_documents (id, person_id, id_type, number, number_index,"
            " created_at) VALUES (:d, :p, 'prc_id', :blob, 'idx', :now)"
        ),
        (
            "INSERT INTO registry_records (id, person_id, kind, offence, decision_authority,"
            " decision_number, decision_date, status, fingerprint, created_at, updated_at)"
            " VALUES (:r, :p, 'conviction', 'rape', 'court', :blob, '2020-01-01', 'active', 'fp',"
            " :now, :now)"
        ),
        "INSERT INTO registry_blocking_keys (key, person_id, kind) VALUES (:key, :p, 'name')",
    ]
    for statement in statements:
        connection.execute(text(statement), values)


def test_upgrading_from_0004_keeps_the_registry(backend: str, tmp_path: Path) -> None:
    url = fresh_database_url(backend, tmp_path, "keep_data")
    engine = make_engine(url)
    try:
        upgrade(engine, "0004")
        with engine.begin() as connection:
            _fill_at_0004(connection)
        upgrade(engine)
        with engine.connect() as connection:
            counts = {
                table: connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()  # noqa: S608 - fixed names
                for table in TABLES
            }
            source = connection.execute(text("SELECT source, version FROM registry_records")).one()
        assert counts == dict.fromkeys(TABLES, 1)
        assert tuple(source) == ("import", 1)
        command.downgrade(alembic_config(engine), "0004")
        with engine.connect() as connection:
            kept = connection.execute(text("SELECT COUNT(*) FROM registry_records")).scalar_one()
        assert kept == 1
    finally:
        engine.dispose()
        if backend == "postgresql":
            drop_postgres_database(url)
