"""Browser sessions: fresh ids, rotation, idle and absolute limits, ending, cookies and CSRF."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from shouhu.accounts import authentication, users
from shouhu.accounts.models import User, WebSession
from shouhu.accounts.roles import Role
from shouhu.accounts.sessions import load_session, token_digest
from shouhu.core.audit.models import AuditEvent
from shouhu.core.principal import Principal
from shouhu.core.settings import Settings
from shouhu.web.app import create_app
from tests.factories.accounts import DEFAULT_PASSWORD, complete_session_token, make_user

SETTINGS = Settings(env="test", session_idle_minutes=30, session_absolute_hours=12)
ADDRESS = "10.4.5.6"
SESSION_COOKIE = "__Host-shouhu_session"
PRE_SESSION_COOKIE = "__Host-shouhu_presession"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def _begin(session: Session, user: User) -> tuple[str, WebSession]:
    return authentication.begin_session(
        session, user=user, settings=SETTINGS, source_address=ADDRESS
    )


def _alive(session: Session, token: str, now: datetime | None = None) -> bool:
    return load_session(session, token=token, settings=SETTINGS, now=now) is not None


def _admin(session: Session) -> Principal:
    return users.principal_for(make_user(session, roles=(Role.ADMIN,)), "web", ADDRESS)


# --- ids and rotation ---------------------------------------------------------------------------


def test_each_sign_in_gets_a_new_random_id_stored_only_as_its_hash(session: Session) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    first_token, first = _begin(session, user)
    second_token, second = _begin(session, user)

    assert first_token != second_token
    assert len(first_token) >= 43  # 256 bits, URL-safe base64
    # The database holds the SHA-256 of the cookie value, never the value itself.
    assert (first.id, second.id) == (token_digest(first_token), token_digest(second_token))
    assert first_token not in {first.id, first.csrf_token}
    assert first.csrf_token != second.csrf_token
    assert _alive(session, first_token)
    assert _alive(session, second_token)


def test_passing_the_second_factor_rotates_the_session_id(session: Session) -> None:
    secret = pyotp.random_base32()
    user = make_user(session, roles=(Role.INSTITUTION_HR,), mfa_secret=secret)
    old_token, old_row = _begin(session, user)

    new_token, new_row = authentication.verify_mfa(
        session,
        user=user,
        row=old_row,
        code=pyotp.TOTP(secret).now(),
        settings=SETTINGS,
        source_address=ADDRESS,
    )

    assert new_token != old_token
    assert new_row.id == token_digest(new_token) != old_row.id
    assert new_row.csrf_token != old_row.csrf_token  # a token seen before MFA is useless after
    assert old_row.ended_at is not None
    assert not _alive(session, old_token)  # a fixated pre-MFA id is worthless
    active = load_session(session, token=new_token, settings=SETTINGS)
    assert active is not None
    assert active.record.mfa_passed
    # The absolute limit runs from the first sign-in, not from the rotation.
    assert new_row.created_at == old_row.created_at


# --- limits -------------------------------------------------------------------------------------


def test_a_session_idle_for_more_than_30_minutes_expires(session: Session) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    token, row = _begin(session, user)
    start = row.last_seen_at

    # Activity moves the idle limit: each use within 30 minutes keeps the session alive.
    assert _alive(session, token, now=start + timedelta(minutes=20))
    assert _alive(session, token, now=start + timedelta(minutes=49))
    assert row.last_seen_at == start + timedelta(minutes=49)
    assert _alive(session, token, now=start + timedelta(minutes=79))  # exactly 30 idle
    assert not _alive(session, token, now=start + timedelta(minutes=109, seconds=1))
    assert row.ended_at is not None
    # Once ended it stays ended, even for a request that claims an earlier time.
    assert not _alive(session, token, now=start + timedelta(minutes=80))


def test_a_session_older_than_12_hours_expires_however_active(session: Session) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    token, row = _begin(session, user)
    created = row.created_at

    moment = created
    while moment < created + timedelta(hours=12):
        moment += timedelta(minutes=20)
        assert _alive(session, token, now=min(moment, created + timedelta(hours=12)))
    assert not _alive(session, token, now=created + timedelta(hours=12, minutes=1))
    assert row.ended_at is not None


# --- ending -------------------------------------------------------------------------------------


def test_signing_out_ends_the_session(session: Session) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    token, row = _begin(session, user)
    other_token, _other = _begin(session, user)

    authentication.sign_out(session, user=user, row=row, source_address=ADDRESS)

    assert not _alive(session, token)
    assert _alive(session, other_token)  # signing out on one device leaves the others
    event = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert event is not None
    assert (event.action, event.object_id) == ("web:session:sign_out", str(user.id))


@pytest.mark.parametrize(
    "change",
    ["disable", "role_change", "password_reset", "mfa_reset"],
)
def test_an_administrators_change_ends_every_session_of_the_user(
    session: Session, change: str
) -> None:
    admin = _admin(session)
    user = make_user(session, roles=(Role.REGISTRY_CLERK,))
    tokens = [_begin(session, user)[0], complete_session_token(session, user)[0]]
    bystander = make_user(session, roles=(Role.REGISTRY_CLERK,))
    bystander_token = _begin(session, bystander)[0]

    if change == "disable":
        users.set_active(session, actor=admin, user_id=user.id, active=False)
    elif change == "role_change":
        users.set_roles(session, actor=admin, user_id=user.id, roles=[Role.REGISTRY_REVIEWER])
    elif change == "password_reset":
        users.reset_password(
            session, actor=admin, user_id=user.id, new_password="a new temporary passphrase"
        )
    else:
        users.reset_mfa(session, actor=admin, user_id=user.id)
    session.expire_all()

    # Ended at once in the database (read before loading, which would end them lazily too).
    ended = session.scalars(select(WebSession.ended_at).where(WebSession.user_id == user.id))
    assert None not in set(ended)
    assert [_alive(session, token) for token in tokens] == [False, False]
    assert _alive(session, bystander_token)


def test_changing_ones_own_password_keeps_this_session_and_ends_the_others(
    session: Session,
) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    this_token = complete_session_token(session, user)[0]
    other_token = complete_session_token(session, user)[0]

    users.change_own_password(
        session,
        actor=users.principal_for(user, "web"),
        current_password=DEFAULT_PASSWORD,
        new_password="my own new passphrase",
        settings=SETTINGS,
        keep_session_id=token_digest(this_token),
    )
    session.expire_all()

    assert _alive(session, this_token)
    assert not _alive(session, other_token)


# --- over HTTP ----------------------------------------------------------------------------------


@pytest.fixture
def web(
    session_factory: sessionmaker[Session], migrated_engine: Engine, tmp_path: Path
) -> Iterator[TestClient]:
    """An anonymous HTTPS client of an app with production cookie settings."""
    settings = Settings(env="test", data_dir=tmp_path, secure_cookies=True)
    app = create_app(settings=settings, sessions=session_factory, engine=migrated_engine)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        yield client


def _form_token(client: TestClient, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = CSRF_FIELD.search(page.text)
    assert found is not None
    return found.group(1)


def _set_cookies(headers: list[str]) -> dict[str, str]:
    """Each Set-Cookie header by cookie name, as sent."""
    found = {}
    for header in headers:
        name = next(iter(SimpleCookie(header)))
        found[name] = header
    return found


def test_the_session_cookie_is_host_only_secure_httponly_and_strict(
    web: TestClient, session: Session
) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    session.commit()

    response = web.post(
        "/sign-in",
        data={
            "username": user.username,
            "password": DEFAULT_PASSWORD,
            "csrf_token": _form_token(web, "/sign-in"),
        },
    )

    assert response.status_code == 303
    sent = _set_cookies(response.headers.get_list("set-cookie"))
    assert SESSION_COOKIE in sent
    # ASVS 3.4.1-3.4.5: the __Host- prefix binds the cookie to this host and path /.
    attributes = {
        part.strip().split("=")[0].lower(): part for part in sent[SESSION_COOKIE].split(";")
    }
    assert {"secure", "httponly", "samesite", "path"} <= attributes.keys()
    assert attributes["samesite"].strip().lower() == "samesite=strict"
    assert attributes["path"].strip() == "Path=/"
    assert "domain" not in attributes  # a __Host- cookie must not name a domain
    # No lifetime: the browser forgets it on close; the server enforces the limits.
    assert "max-age" not in attributes
    assert "expires" not in attributes
    token = SimpleCookie(sent[SESSION_COOKIE])[SESSION_COOKIE].value
    assert session.get(WebSession, token_digest(token)) is not None


def test_sign_in_ignores_a_session_id_planted_before_it(web: TestClient, session: Session) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    session.commit()
    planted = "attacker-chosen-session-id-value-0123456789abcdef"
    form_token = _form_token(web, "/sign-in")
    web.cookies.set(SESSION_COOKIE, planted)

    response = web.post(
        "/sign-in",
        data={"username": user.username, "password": DEFAULT_PASSWORD, "csrf_token": form_token},
    )

    assert response.status_code == 303
    issued = SimpleCookie(_set_cookies(response.headers.get_list("set-cookie"))[SESSION_COOKIE])
    assert issued[SESSION_COOKIE].value != planted
    assert session.get(WebSession, token_digest(planted)) is None


def test_signing_out_over_http_ends_the_session_and_clears_the_cookie(
    web: TestClient, session: Session
) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    token, csrf = complete_session_token(session, user)
    session.commit()
    web.cookies.set(SESSION_COOKIE, token)
    assert web.get("/account").status_code == 200

    response = web.post("/sign-out", data={"csrf_token": csrf})

    assert (response.status_code, response.headers["location"]) == (303, "/sign-in")
    cleared = _set_cookies(response.headers.get_list("set-cookie"))[SESSION_COOKIE]
    assert "max-age=0" in cleared.lower()
    # The server forgot it too: the old cookie value opens nothing.
    web.cookies.set(SESSION_COOKIE, token)
    assert web.get("/account").status_code == 401
    session.expire_all()
    assert session.get_one(WebSession, token_digest(token)).ended_at is not None


def test_the_sign_in_form_needs_its_pre_session_token(web: TestClient, session: Session) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    session.commit()
    form = web.get("/sign-in")
    found = CSRF_FIELD.search(form.text)
    assert found is not None
    # The form's token is the one in the pre-session cookie (double submit, SameSite=Strict).
    assert web.cookies.get(PRE_SESSION_COOKIE) == found.group(1)
    credentials = {"username": user.username, "password": DEFAULT_PASSWORD}

    assert web.post("/sign-in", data=credentials).status_code == 403
    assert web.post("/sign-in", data={**credentials, "csrf_token": "forged"}).status_code == 403
    assert web.post("/sign-in", data={**credentials, "csrf_token": ""}).status_code == 403
    assert session.scalars(select(WebSession).where(WebSession.user_id == user.id)).all() == []
    assert (
        web.post("/sign-in", data={**credentials, "csrf_token": found.group(1)}).status_code == 303
    )


def test_a_pre_session_token_from_another_browser_is_refused(
    web: TestClient, session: Session
) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    session.commit()
    attacker_token = _form_token(web, "/sign-in")
    web.cookies.clear()
    web.get("/sign-in")  # the victim's browser gets its own pre-session cookie

    response = web.post(
        "/sign-in",
        data={
            "username": user.username,
            "password": DEFAULT_PASSWORD,
            "csrf_token": attacker_token,
        },
    )

    assert response.status_code == 403


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/sign-in/mfa", {"code": "123456"}),
        ("/sign-in/notice", {}),
        ("/sign-out", {}),
        ("/language", {"lang": "en", "next": "/"}),
    ],
)
def test_every_form_of_a_partial_session_needs_the_sessions_token(
    web: TestClient, session: Session, path: str, form: dict[str, str]
) -> None:
    secret = pyotp.random_base32()
    user = make_user(session, roles=(Role.INSTITUTION_HR,), mfa_secret=secret)
    token, row = _begin(session, user)
    if path == "/sign-in/notice":
        row.mfa_passed = True
    session.commit()
    web.cookies.set(SESSION_COOKIE, token)

    assert web.post(path, data=form).status_code == 403
    assert web.post(path, data={**form, "csrf_token": "forged"}).status_code == 403
    # The htmx header form of the token is honoured like the field.
    assert web.post(path, data=form, headers={"x-csrf-token": row.csrf_token}).status_code in {
        303,
        422,
    }
