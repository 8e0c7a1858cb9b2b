"""API tokens: bearer authentication, SHA-256 storage, expiry, revocation and their audit trail."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from shouhu.accounts import organisations, tokens, users
from shouhu.accounts.models import ApiToken, User
from shouhu.accounts.roles import Role
from shouhu.core.audit.models import AuditEvent
from shouhu.core.database import utcnow
from shouhu.core.errors import NotFoundError, ValidationFailedError
from shouhu.core.principal import system_principal
from shouhu.core.settings import Settings
from shouhu.web.app import create_app
from tests.factories.accounts import make_user


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


def _events(session: Session, after: int) -> list[AuditEvent]:
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq))
    )


def _issue(session: Session, user: User, days: int = 30) -> tokens.IssuedToken:
    issued = tokens.create_token(
        session, actor=system_principal("cli"), user_id=user.id, name="HR system", days=days
    )
    session.commit()
    return issued


def _me(client: TestClient, secret: str) -> Response:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})


def _assert_unauthenticated(response: Response) -> None:
    # RFC 6750 §3: a refused bearer token is a 401 that names the scheme; RFC 9457 body.
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 401
    assert body["type"].endswith("/unauthenticated")
    assert body["detail"]


def test_a_new_token_authenticates_as_its_user(web: TestClient, session: Session) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    issued = _issue(session, user)

    response = _me(web, issued.secret)

    assert response.status_code == 200
    assert response.json()["user"]["username"] == user.username
    assert response.json()["organisation"]["id"] == str(user.organisation_id)
    assert issued.secret.startswith("shh_")
    session.expire_all()
    assert session.get_one(ApiToken, issued.row.id).last_used_at is not None


def test_a_token_is_stored_only_as_its_sha256(session: Session) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    issued = _issue(session, user)

    row = session.get_one(ApiToken, issued.row.id)
    assert row.token_hash == hashlib.sha256(issued.secret.encode()).hexdigest()
    assert row.prefix == issued.secret[:12]  # enough to tell tokens apart, not to use one
    # Read the raw table: no column of any row holds the secret (or its unguessable part).
    secret_part = issued.secret.removeprefix("shh_")[8:]
    for raw in session.execute(text("SELECT * FROM api_tokens")).all():
        for value in raw:
            assert secret_part not in str(value)


def _expire(session: Session, user: User, issued: tokens.IssuedToken) -> None:
    session.get_one(ApiToken, issued.row.id).expires_at = utcnow() - timedelta(seconds=1)


def _revoke(session: Session, user: User, issued: tokens.IssuedToken) -> None:
    tokens.revoke_token(session, actor=system_principal("cli"), token_id=issued.row.id)


def _disable_user(session: Session, user: User, issued: tokens.IssuedToken) -> None:
    users.set_active(session, actor=system_principal("cli"), user_id=user.id, active=False)


def _lock_user(session: Session, user: User, issued: tokens.IssuedToken) -> None:
    session.get_one(User, user.id).locked_at = utcnow()


def _disable_organisation(session: Session, user: User, issued: tokens.IssuedToken) -> None:
    organisations.set_organisation_active(
        session, actor=system_principal("cli"), org_id=user.organisation_id, active=False
    )


@pytest.mark.parametrize(
    "spoil",
    [_expire, _revoke, _disable_user, _lock_user, _disable_organisation],
    ids=["expired", "revoked", "user-disabled", "user-locked", "organisation-disabled"],
)
def test_a_token_that_may_no_longer_act_is_refused(
    web: TestClient,
    session: Session,
    spoil: Callable[[Session, User, tokens.IssuedToken], None],
) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    issued = _issue(session, user)
    assert _me(web, issued.secret).status_code == 200

    spoil(session, user, issued)
    session.commit()

    _assert_unauthenticated(_me(web, issued.secret))


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer ",
        "Bearer shh_not-a-token-anyone-was-given",
        "Bearer not-even-shaped-like-one",
        "Basic dXNlcjpwYXNz",
    ],
    ids=["missing", "scheme-only", "empty", "unknown", "wrong-shape", "basic"],
)
def test_anything_but_a_live_bearer_token_is_401(web: TestClient, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    _assert_unauthenticated(web.get("/api/v1/me", headers=headers))


def test_a_token_given_under_another_scheme_is_refused(web: TestClient, session: Session) -> None:
    issued = _issue(session, make_user(session, roles=(Role.INSTITUTION_HR,)))
    response = web.get("/api/v1/me", headers={"Authorization": f"Token {issued.secret}"})
    _assert_unauthenticated(response)


def test_revoking_over_the_api_is_audited_and_creating_there_is_refused(
    web: TestClient, session: Session
) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    caller = _issue(session, user)
    spare = _issue(session, user)
    auth = {"Authorization": f"Bearer {caller.secret}"}
    start = _head(session)

    # A token cannot mint tokens: one stolen would otherwise outlive its own revocation.
    created = web.post("/api/v1/tokens", json={"name": "HR system", "days": 7}, headers=auth)
    assert created.status_code == 403
    assert created.headers["content-type"] == "application/problem+json"
    assert created.json()["detail"].startswith("API 令牌不能创建令牌")  # zh_CN by default
    listed = web.get("/api/v1/tokens", headers=auth).json()
    assert {t["id"] for t in listed} == {str(caller.row.id), str(spare.row.id)}
    assert all("token" not in t for t in listed)  # the secret is shown once, at creation

    assert web.delete(f"/api/v1/tokens/{spare.row.id}", headers=auth).status_code == 204
    assert web.delete(f"/api/v1/tokens/{spare.row.id}", headers=auth).status_code == 204
    _assert_unauthenticated(_me(web, spare.secret))

    events = _events(session, start)
    assert [(e.action, e.outcome) for e in events] == [
        ("api:token:revoke", "success"),  # once: revoking again changes nothing
    ]
    assert (events[0].actor_id, events[0].object_type, events[0].object_id) == (
        str(user.id),
        "api_token",
        str(spare.row.id),
    )


def test_a_user_cannot_revoke_someone_elses_token(session: Session) -> None:
    owner = make_user(session, roles=(Role.INSTITUTION_HR,))
    other = make_user(session, roles=(Role.INSTITUTION_HR,))
    issued = _issue(session, owner)
    start = _head(session)

    with pytest.raises(NotFoundError):
        tokens.revoke_token(
            session, actor=users.principal_for(other, "api"), token_id=issued.row.id
        )
    with pytest.raises(NotFoundError):
        tokens.create_token(
            session, actor=users.principal_for(other, "api"), user_id=owner.id, name="x", days=1
        )

    assert session.get_one(ApiToken, issued.row.id).revoked_at is None
    assert _events(session, start) == []


def test_an_operator_may_issue_and_revoke_tokens_for_a_user(session: Session) -> None:
    admin = users.principal_for(make_user(session, roles=(Role.ADMIN,)), "web")
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    start = _head(session)

    issued = tokens.create_token(session, actor=admin, user_id=user.id, name="HR", days=30)
    tokens.revoke_token(session, actor=admin, token_id=issued.row.id)

    assert [(e.action, e.actor_id) for e in _events(session, start)] == [
        ("web:token:create", str(admin.user_id)),
        ("web:token:revoke", str(admin.user_id)),
    ]
    assert issued.row.created_by_id == admin.user_id


@pytest.mark.parametrize("days", [0, -1, 367])
def test_a_token_lasts_between_1_and_366_days(session: Session, days: int) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    with pytest.raises(ValidationFailedError) as caught:
        tokens.create_token(
            session, actor=system_principal("cli"), user_id=user.id, name="x", days=days
        )
    assert caught.value.field == "days"
    assert session.scalar(select(func.count()).where(ApiToken.user_id == user.id)) == 0
