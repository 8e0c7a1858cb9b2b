"""Guessing the current password on the change-password form counts toward lock-out."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shouhu.accounts import authentication, users
from shouhu.accounts.models import SignInFailure, User
from shouhu.accounts.roles import Role
from shouhu.accounts.sessions import load_session
from shouhu.accounts.users import SIGN_IN_FAILED
from shouhu.core.audit.models import AuditEvent
from shouhu.core.errors import AuthenticationError, ValidationFailedError
from shouhu.core.settings import Settings
from tests.factories.accounts import complete_session_token, make_user

SETTINGS = Settings(env="test", lockout_failures=5, lockout_window_minutes=15)
WRONG = "not the current passphrase"
NEW_PASSWORD = "a brand new passphrase"
FAILED_CHANGE = ("web:user:password_change", "failure")


def _head(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0)


def _trail(session: Session, after: int) -> list[tuple[str, str]]:
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.seq > after).order_by(AuditEvent.seq)
    )
    return [(e.action, e.outcome) for e in events]


def _failures(session: Session, user: User) -> int:
    count = select(func.count()).select_from(SignInFailure).where(SignInFailure.user_id == user.id)
    return int(session.scalar(count) or 0)


def _change(session: Session, user: User, current: str) -> None:
    users.change_own_password(
        session,
        actor=users.principal_for(user, "web"),
        current_password=current,
        new_password=NEW_PASSWORD,
        settings=SETTINGS,
    )


def test_a_wrong_current_password_is_a_recorded_failure(session: Session) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    start = _head(session)

    with pytest.raises(ValidationFailedError) as caught:
        _change(session, user, WRONG)

    assert (caught.value.field, caught.value.persist) == ("current_password", True)
    assert _failures(session, user) == 1
    event = session.scalars(select(AuditEvent).where(AuditEvent.seq > start)).one()
    assert (event.action, event.outcome, json.loads(event.details)) == (
        *FAILED_CHANGE,
        {"reason": "current_password"},
    )


def test_the_fifth_wrong_guess_locks_the_account_and_ends_its_sessions(session: Session) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    session_token, _csrf = complete_session_token(session, user)
    start = _head(session)

    for _ in range(SETTINGS.lockout_failures - 1):
        with pytest.raises(ValidationFailedError):
            _change(session, user, WRONG)
    assert user.locked_at is None
    with pytest.raises(AuthenticationError) as locked:
        _change(session, user, WRONG)

    assert (locked.value.message, locked.value.persist) == (SIGN_IN_FAILED, True)
    assert user.locked_at is not None
    assert _trail(session, start) == [FAILED_CHANGE] * 5 + [("web:user:lock", "success")]
    assert load_session(session, token=session_token, settings=SETTINGS) is None
    # Locked now: even the right password no longer changes anything.
    with pytest.raises(AuthenticationError):
        _change(session, user, "correct horse battery staple")


def test_sign_in_failures_and_wrong_current_passwords_add_up(session: Session) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    for _ in range(3):
        with pytest.raises(AuthenticationError):
            authentication.check_password(
                session, username=user.username, password=WRONG, settings=SETTINGS
            )
    with pytest.raises(ValidationFailedError):
        _change(session, user, WRONG)
    with pytest.raises(AuthenticationError):
        _change(session, user, WRONG)
    assert user.locked_at is not None
