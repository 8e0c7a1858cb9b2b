"""Sign-in: password, lock-out, second factor, waiver and notice, with their exact audit trail."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from shouhu.accounts import authentication, mfa, organisations, users
from shouhu.accounts.authentication import CODE_FAILED, SIGN_IN_FAILED, NextStep
from shouhu.accounts.models import SignInFailure, User, WebSession
from shouhu.accounts.roles import Role
from shouhu.accounts.sessions import load_session
from shouhu.core.audit.models import AuditEvent
from shouhu.core.crypto.blind_index import blind_index
from shouhu.core.database import transaction, utcnow
from shouhu.core.errors import AuthenticationError, ValidationFailedError
from shouhu.core.principal import system_principal
from shouhu.core.settings import Settings
from shouhu.web.app import create_app
from tests.factories.accounts import DEFAULT_PASSWORD, make_user

SETTINGS = Settings(
    env="test", lockout_failures=5, lockout_window_minutes=15, mfa_waiver_allowed=False
)
WRONG_PASSWORD = "not the right passphrase"
ADDRESS = "10.1.2.3"
FAILED_SIGN_IN = ("web:session:sign_in", "failure")


def _head(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0)


def _events(session: Session, after: int) -> list[AuditEvent]:
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq))
    )


def _trail(session: Session, after: int) -> list[tuple[str, str]]:
    return [(e.action, e.outcome) for e in _events(session, after)]


def _details(event: AuditEvent) -> dict[str, object]:
    decoded: dict[str, object] = json.loads(event.details)
    return decoded


def _password(
    session: Session, username: str, password: str, settings: Settings = SETTINGS
) -> User:
    return authentication.check_password(
        session, username=username, password=password, settings=settings, source_address=ADDRESS
    )


def _refused(session: Session, username: str, password: str) -> AuthenticationError:
    with pytest.raises(AuthenticationError) as caught:
        _password(session, username, password)
    return caught.value


def _wrong_code(secret: str) -> str:
    """A 6-digit code that no time step near now produces for this secret."""
    totp = pyotp.TOTP(secret)
    moment = time.time()
    nearby = {totp.at(moment + offset * mfa.STEP_SECONDS) for offset in range(-3, 4)}
    return next(code for code in ("000000", "123456", "999999", "314159") if code not in nearby)


def _enrolled_user(session: Session) -> tuple[User, str]:
    secret = pyotp.random_base32()
    return make_user(session, roles=(Role.INSTITUTION_HR,), mfa_secret=secret), secret


def _failures(session: Session, user: User) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(SignInFailure).where(SignInFailure.user_id == user.id)
        )
        or 0
    )


# --- the service ------------------------------------------------------------------------------


def test_password_code_and_notice_complete_a_sign_in(session: Session) -> None:
    user, secret = _enrolled_user(session)
    start = _head(session)

    checked = _password(session, user.username.upper(), DEFAULT_PASSWORD)  # case is ignored
    assert checked.id == user.id
    token, row = authentication.begin_session(
        session, user=checked, settings=SETTINGS, source_address=ADDRESS
    )
    # After the password alone the session is partial: nothing but the next step is open.
    assert (row.mfa_passed, row.notice_acknowledged) == (False, False)
    assert authentication.next_step(checked, row) is NextStep.VERIFY_MFA
    assert _trail(session, start) == []  # a sign-in is recorded once it is complete

    _new_token, new_row = authentication.verify_mfa(
        session,
        user=checked,
        row=row,
        code=pyotp.TOTP(secret).now(),
        settings=SETTINGS,
        source_address=ADDRESS,
    )
    assert new_row.mfa_passed
    assert authentication.next_step(checked, new_row) is NextStep.ACKNOWLEDGE_NOTICE
    authentication.acknowledge_notice(session, user=checked, row=new_row, source_address=ADDRESS)
    assert authentication.next_step(checked, new_row) is NextStep.DONE

    events = _events(session, start)
    assert [(e.action, e.outcome) for e in events] == [
        ("web:session:notice_acknowledge", "success"),
        ("web:session:sign_in", "success"),
    ]
    signed_in = events[-1]
    assert signed_in.actor_id == str(user.id)
    assert signed_in.object_id == str(user.id)
    assert signed_in.source_address == ADDRESS
    assert _details(signed_in) == {"mfa": "totp"}
    assert load_session(session, token=token, settings=SETTINGS) is None  # rotated away


def test_a_wrong_password_is_refused_and_recorded_with_its_reason(session: Session) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    start = _head(session)

    refusal = _refused(session, user.username, WRONG_PASSWORD)

    assert refusal.message == SIGN_IN_FAILED
    assert refusal.persist  # the failure and its event are committed although the call fails
    events = _events(session, start)
    assert [(e.action, e.outcome) for e in events] == [FAILED_SIGN_IN]
    assert events[0].object_id == str(user.id)
    assert events[0].actor_id is None  # nobody is signed in yet
    assert _details(events[0]) == {"reason": "password"}
    assert _failures(session, user) == 1


def test_an_unknown_user_gets_the_same_message_and_leaves_only_a_blind_index(
    session: Session,
) -> None:
    known = make_user(session, roles=(Role.INSTITUTION_HR,))
    wrong = _refused(session, known.username, WRONG_PASSWORD)
    start = _head(session)

    unknown = _refused(session, "Nobody.Here", DEFAULT_PASSWORD)

    # ASVS 2.2.1: the answer does not tell whether the account exists.
    assert unknown.message == wrong.message == SIGN_IN_FAILED
    events = _events(session, start)
    assert [(e.action, e.outcome) for e in events] == [FAILED_SIGN_IN]
    event = events[0]
    assert _details(event) == {
        "reason": "unknown_user",
        "username_index": blind_index("nobody.here", domain="username"),
    }
    assert (event.object_type, event.object_id) == (None, None)
    # DESIGN §4: no plaintext of what was typed anywhere in the entry.
    stored = json.dumps([str(v) for v in vars(event).values()]).lower()
    assert "nobody" not in stored


def test_five_failures_in_the_window_lock_the_account(session: Session) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    earlier_token, earlier = authentication.begin_session(
        session, user=user, settings=SETTINGS, source_address=ADDRESS
    )
    start = _head(session)
    for _ in range(4):
        _refused(session, user.username, WRONG_PASSWORD)
    assert user.locked_at is None
    assert _trail(session, start) == [FAILED_SIGN_IN] * 4

    before_fifth = _head(session)
    _refused(session, user.username, WRONG_PASSWORD)

    assert user.locked_at is not None
    events = _events(session, before_fifth)
    assert [(e.action, e.outcome) for e in events] == [FAILED_SIGN_IN, ("web:user:lock", "success")]
    assert events[1].object_id == str(user.id)
    assert _details(events[1]) == {"failures": 5, "window_minutes": 15}
    # A lock ends the sessions the account already had, at once.
    session.refresh(earlier)
    assert earlier.ended_at is not None
    assert load_session(session, token=earlier_token, settings=SETTINGS) is None

    # The right password no longer helps, and the answer does not say why.
    before_right = _head(session)
    refusal = _refused(session, user.username, DEFAULT_PASSWORD)
    assert refusal.message == SIGN_IN_FAILED
    locked_events = _events(session, before_right)
    assert [(e.action, e.outcome) for e in locked_events] == [FAILED_SIGN_IN]
    assert _details(locked_events[0]) == {"reason": "locked"}


@pytest.mark.parametrize(
    ("minutes_ago", "locks"),
    [(14, True), (16, False), (60 * 24, False)],
    ids=["inside-window", "just-outside", "a-day-old"],
)
def test_only_failures_inside_the_window_count(
    session: Session, minutes_ago: int, *, locks: bool
) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    earlier = utcnow() - timedelta(minutes=minutes_ago)
    session.add_all([SignInFailure(user_id=user.id, occurred_at=earlier) for _ in range(4)])
    session.flush()
    start = _head(session)

    _refused(session, user.username, WRONG_PASSWORD)

    assert (user.locked_at is not None) is locks
    expected = [FAILED_SIGN_IN, ("web:user:lock", "success")] if locks else [FAILED_SIGN_IN]
    assert _trail(session, start) == expected


def test_a_disabled_user_cannot_sign_in(session: Session) -> None:
    admin = make_user(session, roles=(Role.ADMIN,))
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    users.set_active(
        session, actor=users.principal_for(admin, "web"), user_id=user.id, active=False
    )
    start = _head(session)

    refusal = _refused(session, user.username, DEFAULT_PASSWORD)

    assert refusal.message == SIGN_IN_FAILED
    events = _events(session, start)
    assert [(e.action, e.outcome) for e in events] == [FAILED_SIGN_IN]
    assert _details(events[0]) == {"reason": "disabled"}


def test_a_user_of_a_disabled_organisation_cannot_sign_in(session: Session) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    organisations.set_organisation_active(
        session, actor=system_principal("cli"), org_id=user.organisation_id, active=False
    )
    start = _head(session)

    refusal = _refused(session, user.username, DEFAULT_PASSWORD)

    assert refusal.message == SIGN_IN_FAILED
    events = _events(session, start)
    assert [(e.action, e.outcome) for e in events] == [FAILED_SIGN_IN]
    assert _details(events[0]) == {"reason": "organisation_disabled"}


def test_a_replayed_code_is_refused_and_counts_as_a_failure(session: Session) -> None:
    user, secret = _enrolled_user(session)
    code = pyotp.TOTP(secret).now()
    _, first = authentication.begin_session(
        session, user=user, settings=SETTINGS, source_address=ADDRESS
    )
    authentication.verify_mfa(
        session, user=user, row=first, code=code, settings=SETTINGS, source_address=ADDRESS
    )
    _, second = authentication.begin_session(
        session, user=user, settings=SETTINGS, source_address=ADDRESS
    )
    start = _head(session)

    # ASVS 2.8.4: a code already used (even within its time window) is not accepted again.
    with pytest.raises(ValidationFailedError) as caught:
        authentication.verify_mfa(
            session, user=user, row=second, code=code, settings=SETTINGS, source_address=ADDRESS
        )

    assert (caught.value.message, caught.value.field) == (CODE_FAILED, "code")
    assert caught.value.persist
    assert not second.mfa_passed
    events = _events(session, start)
    assert [(e.action, e.outcome) for e in events] == [FAILED_SIGN_IN]
    assert _details(events[0]) == {"reason": "mfa_code"}
    assert _failures(session, user) == 1


def test_wrong_codes_count_towards_lock_out(session: Session) -> None:
    user, secret = _enrolled_user(session)
    for _ in range(3):
        _refused(session, user.username, WRONG_PASSWORD)
    _, row = authentication.begin_session(
        session, user=user, settings=SETTINGS, source_address=ADDRESS
    )
    start = _head(session)

    # The fourth failure is a wrong code: the form asks again.
    with pytest.raises(ValidationFailedError):
        authentication.verify_mfa(
            session,
            user=user,
            row=row,
            code=_wrong_code(secret),
            settings=SETTINGS,
            source_address=ADDRESS,
        )
    assert _trail(session, start) == [FAILED_SIGN_IN]

    # The fifth locks the account and ends the partial session.
    fifth = _head(session)
    with pytest.raises(AuthenticationError) as caught:
        authentication.verify_mfa(
            session,
            user=user,
            row=row,
            code=_wrong_code(secret),
            settings=SETTINGS,
            source_address=ADDRESS,
        )
    assert caught.value.message == SIGN_IN_FAILED
    assert user.locked_at is not None
    assert row.ended_at is not None
    assert _trail(session, fifth) == [FAILED_SIGN_IN, ("web:user:lock", "success")]


@pytest.mark.parametrize(
    ("settings", "waived_account", "expected"),
    [
        (Settings(env="demo", mfa_waiver_allowed=True), True, NextStep.ACKNOWLEDGE_NOTICE),
        (Settings(env="demo", mfa_waiver_allowed=False), True, NextStep.ENROL_MFA),
        (Settings(env="test", mfa_waiver_allowed=False), True, NextStep.ENROL_MFA),
        (Settings(env="demo", mfa_waiver_allowed=True), False, NextStep.ENROL_MFA),
    ],
    ids=["demo-allows", "demo-forbids", "test-forbids", "account-not-waived"],
)
def test_the_second_factor_is_waived_only_where_settings_allow(
    session: Session, settings: Settings, expected: NextStep, *, waived_account: bool
) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    user.mfa_waived = waived_account
    start = _head(session)

    checked = _password(session, user.username, DEFAULT_PASSWORD, settings)
    _token, row = authentication.begin_session(
        session, user=checked, settings=settings, source_address=ADDRESS
    )

    assert authentication.next_step(checked, row) is expected
    if expected is NextStep.ACKNOWLEDGE_NOTICE:
        authentication.acknowledge_notice(session, user=checked, row=row, source_address=ADDRESS)
        events = _events(session, start)
        assert [(e.action, e.outcome) for e in events] == [
            ("web:session:notice_acknowledge", "success"),
            ("web:session:sign_in", "success"),
        ]
        # The trail says the second factor was waived, so an auditor can find such sign-ins.
        assert _details(events[-1]) == {"mfa": "waived"}


def test_production_never_waives_the_second_factor(session: Session) -> None:
    with pytest.raises(ValidationError, match="SHOUHU_MFA_WAIVER_ALLOWED must not be true"):
        Settings(
            env="production",
            master_key="k" * 44,
            database_url="postgresql://db.example/shouhu",
            mfa_waiver_allowed=True,
        )
    # Even settings built around the validator do not waive it in production.
    forced = Settings.model_construct(env="production", mfa_waiver_allowed=True)
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    user.mfa_waived = True
    _token, row = authentication.begin_session(
        session, user=user, settings=forced, source_address=ADDRESS
    )
    assert not authentication.mfa_waived(user, forced)
    assert authentication.next_step(user, row) is NextStep.ENROL_MFA


def test_the_lock_is_committed_survives_the_window_and_only_unlock_lifts_it(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as db:
        user_id = make_user(db, roles=(Role.INSTITUTION_HR,)).id
        username = db.get_one(User, user_id).username
    # Each refusal raises; the unit of work still commits the failure (persist=True).
    for _ in range(5):
        with pytest.raises(AuthenticationError), transaction(session_factory) as db:
            _password(db, username, WRONG_PASSWORD)

    with transaction(session_factory) as db:
        user = db.get_one(User, user_id)
        assert user.locked_at is not None
        assert _failures(db, user) == 5
        # A day later the failures are outside the window, but the lock stays (ASVS 2.2.1).
        day_ago = utcnow() - timedelta(days=1)
        user.locked_at = day_ago
        for failure in db.scalars(select(SignInFailure).where(SignInFailure.user_id == user_id)):
            failure.occurred_at = day_ago
    with pytest.raises(AuthenticationError), transaction(session_factory) as db:
        _password(db, username, DEFAULT_PASSWORD)

    with transaction(session_factory) as db:
        admin = make_user(db, roles=(Role.ADMIN,))
        start = _head(db)
        users.unlock(db, actor=users.principal_for(admin, "web"), user_id=user_id)
        events = _events(db, start)
        assert [(e.action, e.outcome) for e in events] == [("web:user:unlock", "success")]
        assert (events[0].actor_id, events[0].object_id) == (str(admin.id), str(user_id))
    with transaction(session_factory) as db:
        assert _failures(db, db.get_one(User, user_id)) == 0  # a fresh start after unlock
        assert _password(db, username, DEFAULT_PASSWORD).id == user_id


# --- the pages --------------------------------------------------------------------------------


@pytest.fixture
def web(
    session_factory: sessionmaker[Session], migrated_engine: Engine, tmp_path: Path
) -> Iterator[TestClient]:
    """An anonymous HTTPS client of an app joined to the test's transaction."""
    settings = Settings(env="test", data_dir=tmp_path, secure_cookies=True)
    app = create_app(settings=settings, sessions=session_factory, engine=migrated_engine)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        yield client


ERROR_TEXT = re.compile(r'data-testid="sign-in-error">([^<]*)</p>')
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(client: TestClient, path: str) -> str:
    page = client.get(path, headers={"accept-language": "en"})
    assert page.status_code == 200, page.text
    found = CSRF_FIELD.search(page.text)
    assert found is not None
    return found.group(1)


def _post_password(client: TestClient, username: str, password: str) -> tuple[int, str | None]:
    response = client.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf_token": _csrf(client, "/sign-in")},
        headers={"accept-language": "en"},
    )
    found = ERROR_TEXT.search(response.text)
    return response.status_code, found.group(1) if found else None


def test_the_pages_take_a_user_through_password_code_and_notice(
    web: TestClient, session: Session
) -> None:
    user, secret = _enrolled_user(session)
    session.commit()
    start = _head(session)

    response = web.post(
        "/sign-in",
        data={
            "username": user.username,
            "password": DEFAULT_PASSWORD,
            "csrf_token": _csrf(web, "/sign-in"),
            "next": "/account",
        },
    )
    assert (response.status_code, response.headers["location"]) == (303, "/sign-in/mfa")
    # A partial session opens nothing but the next step.
    assert web.get("/account").status_code == 401

    response = web.post(
        "/sign-in/mfa",
        data={"code": pyotp.TOTP(secret).now(), "csrf_token": _csrf(web, "/sign-in/mfa")},
    )
    assert (response.status_code, response.headers["location"]) == (303, "/sign-in/notice")
    response = web.post("/sign-in/notice", data={"csrf_token": _csrf(web, "/sign-in/notice")})
    assert (response.status_code, response.headers["location"]) == (303, "/account")
    assert web.get("/account").status_code == 200

    assert _trail(session, start) == [
        ("web:session:notice_acknowledge", "success"),
        ("web:session:sign_in", "success"),
    ]
    live = session.scalars(
        select(WebSession).where(WebSession.user_id == user.id, WebSession.ended_at.is_(None))
    ).all()
    assert len(live) == 1  # the pre-MFA session was ended when the id rotated
    assert live[0].mfa_passed
    assert live[0].notice_acknowledged


def test_the_page_says_the_same_for_a_wrong_password_an_unknown_user_and_a_lock(
    web: TestClient, session: Session
) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    session.commit()
    start = _head(session)

    answers = [_post_password(web, user.username, WRONG_PASSWORD) for _ in range(5)]
    answers.append(_post_password(web, user.username, DEFAULT_PASSWORD))  # locked by now
    answers.append(_post_password(web, "no-such-user", DEFAULT_PASSWORD))

    assert set(answers) == {(401, SIGN_IN_FAILED)}
    assert "__Host-shouhu_session" not in web.cookies
    assert _trail(session, start) == [
        *[FAILED_SIGN_IN] * 5,
        ("web:user:lock", "success"),
        FAILED_SIGN_IN,
        FAILED_SIGN_IN,
    ]
    session.expire_all()
    assert session.get_one(User, user.id).locked_at is not None
    # No session was started by any of these attempts.
    assert session.scalar(select(func.count()).where(WebSession.user_id == user.id)) == 0


def test_a_wrong_code_on_the_page_asks_again_and_is_recorded(
    web: TestClient, session: Session
) -> None:
    user, secret = _enrolled_user(session)
    session.commit()
    assert _post_password(web, user.username, DEFAULT_PASSWORD) == (303, None)
    start = _head(session)

    response = web.post(
        "/sign-in/mfa",
        data={"code": _wrong_code(secret), "csrf_token": _csrf(web, "/sign-in/mfa")},
        headers={"accept-language": "en"},
    )

    assert response.status_code == 422
    assert CODE_FAILED in response.text
    session.expire_all()
    assert _trail(session, start) == [FAILED_SIGN_IN]
    assert _failures(session, session.get_one(User, user.id)) == 1
