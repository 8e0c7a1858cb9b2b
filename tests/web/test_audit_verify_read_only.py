"""The verification page walks the chain without holding the database's write lock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from shouhu.accounts.roles import Role
from shouhu.core import migrate
from shouhu.core.audit import pages as audit_pages
from shouhu.core.audit.chain import record
from shouhu.core.audit.models import AuditEvent
from shouhu.core.audit.verify import VerifyResult, verify_chain
from shouhu.core.crypto.keyring import current_keyring, install_keyring, load_keyring
from shouhu.core.database import READ_ONLY, make_engine, make_session_factory, transaction
from shouhu.core.principal import system_principal
from shouhu.core.settings import Settings
from shouhu.web.app import create_app
from shouhu.web.deps import session_cookie_name
from tests.conftest import TEST_MASTER_KEY, drop_postgres_database, fresh_database_url
from tests.factories.accounts import complete_session_token, make_user


@pytest.fixture
def committed_engine(backend: str, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database whose writes are committed, as in production."""
    try:
        previous = current_keyring()
    except Exception:  # noqa: BLE001 - no keyring installed yet in this process
        previous = None
    url = fresh_database_url(backend, tmp_path, "verifypage")
    engine = make_engine(url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()
    install_keyring(previous)
    if backend == "postgresql":
        drop_postgres_database(url)


def _impatient(engine: Engine) -> Engine:
    """A second engine on the same database whose writers give up after 0.2 s, not 10 s."""
    other = make_engine(engine.url.render_as_string(hide_password=False))
    if other.dialect.name == "sqlite":

        def short_wait(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("PRAGMA busy_timeout=200")

        event.listen(other, "connect", short_wait)
    return other


def test_others_can_write_while_the_page_walks_the_chain(
    committed_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    factory = make_session_factory(committed_engine)
    with transaction(factory) as db:
        install_keyring(load_keyring(db, TEST_MASTER_KEY))
        auditor = make_user(db, roles=(Role.AUDITOR,))
        token, csrf = complete_session_token(db, auditor)
        for i in range(3):
            record(db, actor=system_principal("cli"), action="test:event", object_id=i)
    other = _impatient(committed_engine)
    seen: dict[str, object] = {}

    def walk_while_another_writes(session: Session, **kwargs: Any) -> VerifyResult:
        seen["read_only"] = session.connection().get_execution_options().get(READ_ONLY)
        # Another process appends to the trail meanwhile: on SQLite this fails ("database is
        # locked") if the request still held its BEGIN IMMEDIATE transaction.
        with transaction(make_session_factory(other)) as writer:
            record(writer, actor=system_principal("cli"), action="test:during", object_id=9)
        return verify_chain(session, **kwargs)

    monkeypatch.setattr(audit_pages, "verify_chain", walk_while_another_writes)
    settings = Settings(env="test", data_dir=tmp_path, secure_cookies=True)
    app = create_app(settings=settings, sessions=factory, engine=committed_engine)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        client.cookies.set(session_cookie_name(settings), token)
        page = client.post("/audit/verify", data={"csrf_token": csrf})
    other.dispose()

    assert page.status_code == 200
    assert 'data-outcome="intact"' in page.text
    assert seen == {"read_only": True}
    with Session(committed_engine) as db:
        actions = list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
    assert actions[-2:] == ["cli:test:during", "web:audit:verify"]
