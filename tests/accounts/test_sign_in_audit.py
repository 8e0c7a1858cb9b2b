"""The audit events of sign-in, lock-out, unlock, roles and tokens, as exact ordered lists."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shouhu.accounts import authentication, tokens, users
from shouhu.accounts.models import SignInFailure, User
from shouhu.accounts.roles import Role
from shouhu.accounts.sessions import load_session
from shouhu.core.audit.models import AuditEvent
from shouhu.core.database import utcnow
from shouhu.core.errors import AuthenticationError, ValidationFailedError
from shouhu.core.principal import system_principal
from shouhu.core.settings import Settings
from tests.factories.accounts import DEFAULT_PASSWORD, make_user

SETTINGS = Settings(env="test")


def _head(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0


def _since(session: Session, seq: int) -> list[tuple[str, str]]:
    return [
        (e.action, e.outcome)
        for e in session.scalars(
            select(AuditEvent).where(AuditEvent.seq > seq).order_by(AuditEvent.seq)
        )
    ]


def _password(session: Session, username: str, password: str) -> User:
    return authentication.check_password(
        session, username=username, password=password, settings=SETTINGS, source_address="10.0.0.1"
    )


def test_a_full_sign_in_with_totp(session: Session) -> None:
    secret = pyotp.random_base32()
    user = make_user(session, roles=(Role.INSTITUTION_HR,), mfa_secret=secret)
    start = _head(session)
    checked = _password(session, user.username, DEFAULT_PASSWORD)
    token, row = authentication.begin_session(
        session, user=checked, settings=SETTINGS, source_address="10.0.0.1"
    )
    assert authentication.next_step(checked, row) is authentication.NextStep.VERIFY_MFA
    new_token, new_row = authentication.verify_mfa(
        session,
        user=checked,
        row=row,
        code=pyotp.TOTP(secret).now(),
        settings=SETTINGS,
        source_address="10.0.0.1",
    )
    assert new_token != token  # a new session id once the second factor passed
    assert load_session(session, token=token, settings=SETTINGS) is None
    authentication.acknowledge_notice(session, user=checked, row=new_row, source_address="10.0.0.1")
    assert authentication.next_step(checked, new_row) is authentication.NextStep.DONE
    assert _since(session, start) == [
        ("web:session:notice_acknowledge", "success"),
        ("web:session:sign_in", "success"),
    ]


def test_a_replayed_code_is_refused_and_counts_as_a_failure(session: Session) -> None:
    secret = pyotp.random_base32()
    user = make_user(session, roles=(Role.INSTITUTION_HR,), mfa_secret=secret)
    code = pyotp.TOTP(secret).now()
    for attempt in range(2):
        _, row = authentication.begin_session(
            session, user=user, settings=SETTINGS, source_address=None
        )
        start = _head(session)
        if attempt == 0:
            authentication.verify_mfa(
                session, user=user, row=row, code=code, settings=SETTINGS, source_address=None
            )
            continue
        with pytest.raises(ValidationFailedError):
            authentication.verify_mfa(
                session, user=user, row=row, code=code, settings=SETTINGS, source_address=None
            )
        assert _since(session, start) == [("web:session:sign_in", "failure")]


def test_five_failures_lock_then_unlock(session: Session) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    start = _head(session)
    messages = set()
    for _ in range(5):
        with pytest.raises(AuthenticationError) as failure:
            _password(session, user.username, "wrong password here")
        messages.add(str(failure.value))
    with pytest.raises(AuthenticationError) as locked:
        _password(session, user.username, DEFAULT_PASSWORD)
    with pytest.raises(AuthenticationError) as unknown:
        _password(session, "nobody-by-this-name", DEFAULT_PASSWORD)
    # One message whether the password was wrong, the account locked, or absent.
    assert messages == {str(locked.value)} == {str(unknown.value)}
    users.unlock(session, actor=system_principal("cli"), user_id=user.id)
    assert _password(session, user.username, DEFAULT_PASSWORD).id == user.id
    assert _since(session, start) == [
        ("web:session:sign_in", "failure"),
        ("web:session:sign_in", "failure"),
        ("web:session:sign_in", "failure"),
        ("web:session:sign_in", "failure"),
        ("web:session:sign_in", "failure"),
        ("web:user:lock", "success"),
        ("web:session:sign_in", "failure"),
        ("web:session:sign_in", "failure"),
        ("cli:user:unlock", "success"),
    ]
    details = session.scalars(
        select(AuditEvent.details).where(AuditEvent.seq > start).order_by(AuditEvent.seq)
    ).all()
    assert "nobody-by-this-name" not in "".join(details)  # only a blind index of it


def test_failures_outside_the_window_do_not_lock(session: Session) -> None:
    user = make_user(session, roles=(Role.INSTITUTION_HR,))
    old = utcnow() - timedelta(minutes=SETTINGS.lockout_window_minutes + 1)
    session.add_all([SignInFailure(user_id=user.id, occurred_at=old) for _ in range(4)])
    session.flush()
    with pytest.raises(AuthenticationError):
        _password(session, user.username, "wrong password here")
    session.refresh(user)
    assert user.locked_at is None


def test_role_change_and_tokens_are_audited_with_old_and_new(session: Session) -> None:
    admin = make_user(session, roles=(Role.ADMIN,))
    target = make_user(session, roles=(Role.REGISTRY_CLERK,))
    actor = users.principal_for(admin, "api")
    start = _head(session)
    users.set_roles(
        session, actor=actor, user_id=target.id, roles=[Role.REGISTRY_CLERK, Role.REGISTRY_REVIEWER]
    )
    issued = tokens.create_token(session, actor=actor, user_id=target.id, name="hr", days=7)
    tokens.revoke_token(session, actor=actor, token_id=issued.row.id)
    assert _since(session, start) == [
        ("api:user:role_change", "success"),
        ("api:token:create", "success"),
        ("api:token:revoke", "success"),
    ]
    change = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "api:user:role_change")
        .order_by(AuditEvent.seq.desc())
    ).first()
    assert change is not None
    assert change.details == (
        '{"new":["registry_clerk","registry_reviewer"],"old":["registry_clerk"]}'
    )
