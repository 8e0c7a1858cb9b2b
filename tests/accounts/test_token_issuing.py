"""Who may issue API tokens, and which password changes take a user's tokens away."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from shouhu.accounts import tokens, users
from shouhu.accounts.models import ApiToken, User
from shouhu.accounts.roles import Role
from shouhu.core.audit.models import AuditEvent
from shouhu.core.database import utcnow
from shouhu.core.errors import ForbiddenError, ValidationFailedError
from shouhu.core.principal import Principal, system_principal
from shouhu.core.settings import Settings
from shouhu.web.app import create_app
from tests.factories.accounts import DEFAULT_PASSWORD, make_user

SETTINGS = Settings(env="test", lockout_failures=5, lockout_window_minutes=15)
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def web(
    session_factory: sessionmaker[Session], migrated_engine: Engine, tmp_path: Path
) -> Iterator[TestClient]:
    """An HTTPS client of an app joined to the test's transaction."""
    settings = Settings(env="test", data_dir=tmp_path, secure_cookies=True)
    app = create_app(settings=settings, sessions=session_factory, engine=migrated_engine)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        yield client


def _head(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0)


def _trail(session: Session, after: int) -> list[tuple[str, str | None, dict[str, str]]]:
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq)
    )
    return [(e.action, e.object_id, json.loads(e.details)) for e in events]


def _issue(session: Session, user: User, name: str = "HR system") -> tokens.IssuedToken:
    return tokens.create_token(
        session, actor=system_principal("cli"), user_id=user.id, name=name, days=30
    )


def _token_count(session: Session, user: User) -> int:
    return int(session.scalar(select(func.count()).where(ApiToken.user_id == user.id)) or 0)


def test_a_principal_acting_through_a_token_cannot_issue_tokens(session: Session) -> None:
    user = make_user(session, roles=(Role.ADMIN,))
    other = make_user(session, roles=(Role.INSTITUTION_HR,))
    start = _head(session)

    for target in (user, other):  # neither for oneself nor, as an operator, for another
        with pytest.raises(ForbiddenError) as refused:
            tokens.create_token(
                session,
                actor=users.principal_for(user, "api"),
                user_id=target.id,
                name="x",
                days=1,
            )
        assert "cannot create tokens" in refused.value.message

    assert (_token_count(session, user), _token_count(session, other)) == (0, 0)
    assert _trail(session, start) == []


@pytest.mark.parametrize(
    "actor",
    [lambda u: users.principal_for(u, "web"), lambda _u: system_principal("cli")],
    ids=["web-session", "cli"],
)
def test_a_web_session_or_the_shell_may_issue_tokens(
    session: Session, actor: Callable[[User], Principal]
) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    issued = tokens.create_token(session, actor=actor(user), user_id=user.id, name="x", days=1)
    assert issued.secret.startswith(tokens.TOKEN_PREFIX)


def test_the_api_refuses_a_token_minting_a_second_token(web: TestClient, session: Session) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    caller = _issue(session, user)
    session.commit()
    auth = {"Authorization": f"Bearer {caller.secret}", "Accept-Language": "en"}

    response = web.post("/api/v1/tokens", json={"name": "spare", "days": 30}, headers=auth)

    assert response.status_code == 403
    body = response.json()
    assert (body["status"], body["type"].rsplit("/", 1)[1]) == (403, "forbidden")
    assert body["detail"] == (
        "An API token cannot create tokens. Create one on your account page, "
        "or ask an administrator."
    )
    assert "token" not in body
    assert _token_count(session, user) == 1


def test_an_administrators_password_reset_revokes_the_users_tokens(
    session: Session, web: TestClient
) -> None:
    admin = users.principal_for(make_user(session, roles=(Role.ADMIN,)), "web")
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    first, second = _issue(session, user, "a"), _issue(session, user, "b")
    already = _issue(session, user, "c")
    tokens.revoke_token(session, actor=system_principal("cli"), token_id=already.row.id)
    bystander = _issue(session, make_user(session, roles=(Role.INSTITUTION_HR,)))
    start = _head(session)

    users.reset_password(session, actor=admin, user_id=user.id, new_password=NEW_PASSWORD)
    session.commit()

    # The reset and the revocations are one unit of work, in this order.
    assert _trail(session, start) == [
        ("web:user:password_reset", str(user.id), {}),
        *(
            (
                "web:token:revoke",
                str(t.row.id),
                {"reason": "password_reset", "user_id": str(user.id)},
            )
            for t in (first, second)
        ),
    ]
    bearer = {"Authorization": f"Bearer {first.secret}"}
    assert web.get("/api/v1/me", headers=bearer).status_code == 401
    other = {"Authorization": f"Bearer {bystander.secret}"}
    assert web.get("/api/v1/me", headers=other).status_code == 200


def test_changing_ones_own_password_revokes_ones_tokens(session: Session) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    live = _issue(session, user)
    expired = _issue(session, user, "old")
    expired.row.expires_at = utcnow()
    start = _head(session)

    users.change_own_password(
        session,
        actor=users.principal_for(user, "web"),
        current_password=DEFAULT_PASSWORD,
        new_password=NEW_PASSWORD,
        settings=SETTINGS,
    )

    assert _trail(session, start) == [
        ("web:user:password_change", str(user.id), {}),
        (
            "web:token:revoke",
            str(live.row.id),
            {"reason": "password_change", "user_id": str(user.id)},
        ),
    ]
    assert live.row.revoked_at is not None
    assert expired.row.revoked_at is None  # already dead: nothing to record


def test_a_wrong_current_password_revokes_nothing(session: Session) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    live = _issue(session, user)

    with pytest.raises(ValidationFailedError, match="current password"):
        users.change_own_password(
            session,
            actor=users.principal_for(user, "web"),
            current_password="not my password",
            new_password=NEW_PASSWORD,
            settings=SETTINGS,
        )

    assert live.row.revoked_at is None
