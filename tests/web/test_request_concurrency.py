"""More concurrent API requests than worker threads: each is answered, none stalls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from sqlalchemy import Engine, event

from shouhu.accounts.roles import OrgType, Role
from shouhu.core import migrate
from shouhu.core.crypto.keyring import current_keyring, install_keyring, load_keyring
from shouhu.core.database import make_engine, make_session_factory, transaction
from shouhu.core.settings import Settings
from shouhu.web.app import create_app
from tests.conftest import TEST_MASTER_KEY, drop_postgres_database, fresh_database_url
from tests.factories.accounts import api_token, make_org, make_user

# anyio's thread pool runs 40 sync calls at once; more clients than that is what exhausted it.
CLIENTS = 60


@pytest.fixture
def impatient_engine(backend: str, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, committed database whose SQLite writers give up after 0.5 s, not 10 s."""
    try:
        previous = current_keyring()
    except Exception:  # noqa: BLE001 - no keyring installed yet in this process
        previous = None
    url = fresh_database_url(backend, tmp_path, "concurrency")
    engine = make_engine(url)
    migrate.upgrade(engine)
    if engine.dialect.name == "sqlite":

        def short_wait(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA busy_timeout=500")

        event.listen(engine, "connect", short_wait)
        engine.dispose()  # the pragma applies to connections made from now on
    yield engine
    engine.dispose()
    install_keyring(previous)
    if backend == "postgresql":
        drop_postgres_database(url)


def test_more_clients_than_threads_are_all_answered(
    impatient_engine: Engine, tmp_path: Path
) -> None:
    factory = make_session_factory(impatient_engine)
    with transaction(factory) as db:
        install_keyring(load_keyring(db, TEST_MASTER_KEY))
        authority = make_org(db, org_type=OrgType.EDUCATION_AUTHORITY)
        university = make_org(db, org_type=OrgType.INSTITUTION, kind="university", parent=authority)
        token = api_token(db, make_user(db, roles=(Role.INSTITUTION_HR,), org=university))
    app = create_app(
        settings=Settings(env="test", data_dir=tmp_path), sessions=factory, engine=impatient_engine
    )
    statuses: list[int] = []

    async def one(client: httpx.AsyncClient) -> None:
        answer = await client.get("/api/v1/inquiries", headers={"Authorization": f"Bearer {token}"})
        statuses.append(answer.status_code)

    async def all_at_once() -> None:
        transport = httpx.ASGITransport(app=app)
        async with (
            httpx.AsyncClient(transport=transport, base_url="https://testserver") as client,
            anyio.create_task_group() as group,
        ):
            for _ in range(CLIENTS):
                group.start_soon(one, client)

    anyio.run(all_at_once)

    # Before the limit on request transactions, on SQLite: a request holding the write lock
    # waited for a thread while 40 threads waited for its lock, and they failed with 500.
    assert statuses == [200] * CLIENTS
