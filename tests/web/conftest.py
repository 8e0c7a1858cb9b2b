"""An app bound to the test's rolled-back transaction, and signed-in clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shouhu.accounts.models import User
from shouhu.accounts.roles import Role
from shouhu.core.settings import Settings
from shouhu.web.app import create_app
from shouhu.web.deps import session_cookie_name
from tests.factories.accounts import complete_session_token, make_user


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Test settings: secure cookies as in production (TestClient speaks https)."""
    return Settings(env="test", data_dir=tmp_path, secure_cookies=True)


@pytest.fixture
def app(
    settings: Settings, session_factory: sessionmaker[Session], migrated_engine: Engine
) -> FastAPI:
    """The application, its requests joined to the test's transaction."""
    return create_app(settings=settings, sessions=session_factory, engine=migrated_engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An anonymous HTTPS client that does not follow redirects."""
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as c:
        yield c


SignedInClient = tuple[TestClient, User, str]


@pytest.fixture
def signed_in(
    app: FastAPI, session: Session, settings: Settings
) -> Iterator[Callable[..., SignedInClient]]:
    """Make clients signed in as new users with the given roles: (client, user, csrf)."""
    clients: list[TestClient] = []

    def factory(*roles: Role, user: User | None = None) -> SignedInClient:
        subject = user or make_user(session, roles=roles or (Role.ADMIN,))
        token, csrf = complete_session_token(session, subject)
        session.commit()
        c = TestClient(app, base_url="https://testserver", follow_redirects=False)
        c.cookies.set(session_cookie_name(settings), token)
        clients.append(c)
        return c, subject, csrf

    yield factory
    for c in clients:
        c.close()
