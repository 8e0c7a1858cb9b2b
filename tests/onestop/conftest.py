"""Fixtures of the one-stop tests: a district's cast and the audit trail's head."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from shouhu.core.audit.models import AuditEvent
from shouhu.core.settings import Settings
from shouhu.web.app import create_app
from tests.factories.onestop import Cast, make_cast


@pytest.fixture
def cast(session: Session) -> Cast:
    """A district's bureau, procuratorate, partners and their site, and everyone's users."""
    return make_cast(session)


def head(session: Session) -> int:
    """The audit chain's last sequence number."""
    return int(session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0)


def events_since(session: Session, start: int) -> list[tuple[str, str | None]]:
    """(action, object type) of every event after `start`, in order."""
    rows = session.execute(
        select(AuditEvent.action, AuditEvent.object_type)
        .where(AuditEvent.seq > start)
        .order_by(AuditEvent.seq)
    )
    return [(action, kind) for action, kind in rows]


@pytest.fixture
def app(session_factory: sessionmaker[Session], migrated_engine: Engine, tmp_path: Path) -> FastAPI:
    """The application as tests/web/conftest.py builds it, joined to the test's transaction."""
    chosen = Settings(env="test", data_dir=tmp_path, secure_cookies=True)
    return create_app(settings=chosen, sessions=session_factory, engine=migrated_engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTPS client that does not follow redirects."""
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as c:
        yield c
