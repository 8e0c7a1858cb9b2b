"""The demo seed: every printed account signs in (second factor waived only in demo mode)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shouhu import demo
from shouhu.core.settings import Settings
from shouhu.web.app import create_app


def test_each_demo_account_signs_in(
    session: Session,
    session_factory: sessionmaker[Session],
    migrated_engine: Engine,
    tmp_path: Path,
) -> None:
    accounts = demo.seed(session)
    session.commit()
    assert demo.is_seeded(session)
    assert {a.username for a in accounts} >= {"admin", "school.hr", "auditor", "prosecutor"}
    settings = Settings(env="demo", data_dir=tmp_path, mfa_waiver_allowed=True)
    app = create_app(settings=settings, sessions=session_factory, engine=migrated_engine)
    for account in accounts:
        with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
            form = client.get("/sign-in").text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert csrf is not None
            answer = client.post(
                "/sign-in",
                data={
                    "username": account.username,
                    "password": account.password,
                    "csrf_token": csrf.group(1),
                },
            )
            assert answer.status_code == 303, account.username
            assert answer.headers["location"] == "/sign-in/notice", account.username
