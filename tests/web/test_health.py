"""`/healthz` answers while the process runs; `/readyz` only when the database is current."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from shouhu.core import migrate
from shouhu.core.database import make_engine, make_session_factory
from shouhu.core.settings import Settings
from shouhu.web.app import create_app
from tests.conftest import drop_postgres_database, fresh_database_url


@pytest.fixture
def bare_database(backend: str, tmp_path: Path) -> Iterator[Engine]:
    """A new database of the backend with nothing in it: no tables, no migration."""
    url = fresh_database_url(backend, tmp_path, "health")
    engine = make_engine(url)
    yield engine
    engine.dispose()
    if backend == "postgresql":
        drop_postgres_database(url)


def _probe(engine: Engine, tmp_path: Path, path: str) -> tuple[int, dict[str, str]]:
    app = create_app(
        settings=Settings(env="test", data_dir=tmp_path),
        sessions=make_session_factory(engine),
        engine=engine,
    )
    with TestClient(app, base_url="https://testserver") as client:
        response = client.get(path)
    return response.status_code, response.json()


def test_healthz_answers_without_the_database(tmp_path: Path) -> None:
    # Liveness must not depend on the database: an unreachable one still answers 200.
    unreachable = make_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}")
    assert _probe(unreachable, tmp_path, "/healthz") == (200, {"status": "ok"})


def test_readyz_is_200_on_a_migrated_database(bare_database: Engine, tmp_path: Path) -> None:
    # Not the suite's shared database: on SQLite its open test transaction holds the write lock.
    migrate.upgrade(bare_database)
    assert _probe(bare_database, tmp_path, "/readyz") == (200, {"status": "ok", "database": "ok"})


def test_readyz_is_503_before_the_migrations_ran(bare_database: Engine, tmp_path: Path) -> None:
    assert _probe(bare_database, tmp_path, "/readyz") == (
        503,
        {"status": "unavailable", "database": "migrations pending"},
    )


def test_readyz_is_503_at_a_revision_other_than_the_codes(
    bare_database: Engine, tmp_path: Path
) -> None:
    migrate.upgrade(bare_database)
    # As if the database were left at an earlier revision than the code's head.
    with bare_database.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'an_older_revision'"))

    assert _probe(bare_database, tmp_path, "/readyz") == (
        503,
        {"status": "unavailable", "database": "migrations pending"},
    )


def test_readyz_is_503_when_the_database_cannot_be_reached(tmp_path: Path) -> None:
    unreachable = make_engine(f"sqlite:///{tmp_path / 'no-such-dir' / 'x.db'}")
    assert _probe(unreachable, tmp_path, "/readyz") == (
        503,
        {"status": "unavailable", "database": "unreachable"},
    )


def test_the_probes_are_not_part_of_the_api_document(client: TestClient) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert not {"/healthz", "/readyz"} & set(paths)
