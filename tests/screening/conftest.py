"""Fixtures of the screening tests: the inquiry scene (an authority, its school, a university,
reviewers, a small registry) for modules that do not build their own, and the application."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shouhu.core.settings import Settings
from shouhu.web.app import create_app
from tests.screening.test_inquiries import scene, settings

__all__ = ["app", "client", "scene", "settings"]


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
