"""Sign-in: password, lock-out, second factor, enrolment and the system-use notice."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import or_, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from shouhu.accounts import mfa, sessions
from shouhu.accounts.models import User, WebSession
from shouhu.accounts.passwords import hash_password, needs_rehash, verify_dummy, verify_password
from shouhu.accounts.repository import find_user_by_username
from shouhu.accounts.users import SIGN_IN_FAILED, principal_for, record_sign_in_failure
from shouhu.core.audit.chain import record
from shouhu.core.crypto.blind_index import blind_index
from shouhu.core.database import utcnow
from shouhu.core.errors import AuthenticationError, ValidationFailedError
from shouhu.core.principal import Channel, Principal
from shouhu.core.settings import Settings
from shouhu.core.text import has_control_characters

CODE_FAILED = "The code is not correct. Enter the current 6-digit code from your app."


class NextStep(StrEnum):
    """What a partly signed-in user must do next."""

    VERIFY_MFA = "verify_mfa"
    ENROL_MFA = "enrol_mfa"
    ACKNOWLEDGE_NOTICE = "acknowledge_notice"
    CHANGE_PASSWORD = "change_password"  # noqa: S105 - a step name, not a password
    DONE = "done"


def _anonymous(channel: Channel, source_address: str | None) -> Principal:
    return Principal(
        user_id=None,
        organisation_id=None,
        org_type=None,
        channel=channel,
        source_address=source_address,
    )


def check_password(
    session: Session,
    *,
    username: str,
    password: str,
    settings: Settings,
    channel: Channel = "web",
    source_address: str | None = None,
) -> User:
    """The first factor: the user if the password is right and the account may sign in.

    Every failure is recorded (and committed, via `persist`) before the one generic error.
    """
    actor = _anonymous(channel, source_address)
    # A username with control characters cannot exist (and PostgreSQL refuses NUL bytes).
    user = None if has_control_characters(username) else find_user_by_username(session, username)
    if user is None:
        verify_dummy(password)  # spend the same time as a real check
        record(
            session,
            actor=actor,
            action="session:sign_in",
            outcome="failure",
            details={
                "reason": "unknown_user",
                "username_index": blind_index(username.strip().lower(), domain="username"),
            },
        )
        raise AuthenticationError(SIGN_IN_FAILED, persist=True)
    password_ok = verify_password(user.password_hash, password)
    if not password_ok:
        record_sign_in_failure(
            session, user=user, settings=settings, actor=actor, reason="password"
        )
        raise AuthenticationError(SIGN_IN_FAILED, persist=True)
    refusal = None
    if user.locked_at is not None:
        refusal = "locked"
    elif not user.active:
        refusal = "disabled"
    elif not user.organisation.active:
        refusal = "organisation_disabled"
    if refusal:
        record(
            session,
            actor=actor,
            action="session:sign_in",
            outcome="failure",
            object_type="user",
            object_id=user.id,
            details={"reason": refusal},
        )
        raise AuthenticationError(SIGN_IN_FAILED, persist=True)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def mfa_waived(user: User, settings: Settings) -> bool:
    """Whether this user may skip the second factor (demo accounts, demo settings only)."""
    return user.mfa_waived and settings.mfa_waiver_allowed and not settings.is_production


def begin_session(
    session: Session,
    *,
    user: User,
    settings: Settings,
    source_address: str | None,
) -> tuple[str, WebSession]:
    """Start a partial session after the password; MFA and the notice come next."""
    token, row = sessions.create_session(
        session, user=user, source_address=source_address, mfa_passed=mfa_waived(user, settings)
    )
    return token, row


def next_step(user: User, row: WebSession) -> NextStep:
    """What the user must do before the session is complete."""
    if not row.mfa_passed:
        return NextStep.VERIFY_MFA if user.mfa_enabled_at else NextStep.ENROL_MFA
    if not row.notice_acknowledged:
        return NextStep.ACKNOWLEDGE_NOTICE
    if user.must_change_password:
        return NextStep.CHANGE_PASSWORD
    return NextStep.DONE


def _accept_code(session: Session, user: User, code: str) -> bool:
    secret = user.mfa_secret
    if secret is None:
        return False
    step = mfa.matching_step(secret, code)
    # Refuse a code whose step is not newer than the last one used: no replay (ASVS 2.8.4).
    if step is None or (user.mfa_last_step is not None and step <= user.mfa_last_step):
        return False
    # The check above read this session's copy; two sign-ins racing with one code both pass
    # it. The database decides: only one conditional update can move the step forward
    # (PostgreSQL re-checks the condition after the other's row lock is released).
    moved = session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.mfa_last_step.is_(None), User.mfa_last_step < step),
        )
        .values(mfa_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return False
    # Recorded as already stored: the object must not write the step again at flush.
    set_committed_value(user, "mfa_last_step", step)
    return True


def verify_mfa(
    session: Session,
    *,
    user: User,
    row: WebSession,
    code: str,
    settings: Settings,
    source_address: str | None,
) -> tuple[str, WebSession]:
    """Check the TOTP code; on success rotate to a new session id with MFA passed."""
    actor = _anonymous("web", source_address)
    if not user.mfa_enabled_at or not _accept_code(session, user, code):
        record_sign_in_failure(
            session, user=user, settings=settings, actor=actor, reason="mfa_code"
        )
        if user.locked_at is not None:
            sessions.end_session(session, row)
            raise AuthenticationError(SIGN_IN_FAILED, persist=True)
        raise ValidationFailedError(CODE_FAILED, field="code", persist=True)
    row.mfa_passed = True
    token, new_row = sessions.rotate_session(session, current=row, source_address=source_address)
    return token, new_row


def start_enrolment(user: User) -> str:
    """Give the user a new (not yet confirmed) TOTP secret and return it."""
    secret = mfa.new_secret()
    user.mfa_secret = secret
    user.mfa_enabled_at = None
    user.mfa_last_step = None
    return secret


def confirm_enrolment(
    session: Session,
    *,
    user: User,
    row: WebSession,
    code: str,
    source_address: str | None,
) -> tuple[str, WebSession]:
    """Confirm enrolment with a first valid code; the session becomes MFA-passed."""
    if user.mfa_secret is None or not _accept_code(session, user, code):
        raise ValidationFailedError(CODE_FAILED, field="code")
    user.mfa_enabled_at = utcnow()
    row.mfa_passed = True
    record(
        session,
        actor=principal_for(user, "web", source_address),
        action="user:mfa_enrol",
        object_type="user",
        object_id=user.id,
    )
    return sessions.rotate_session(session, current=row, source_address=source_address)


def acknowledge_notice(
    session: Session, *, user: User, row: WebSession, source_address: str | None
) -> None:
    """Record that the user accepted the system-use notice; the sign-in is then complete."""
    row.notice_acknowledged = True
    actor = principal_for(user, "web", source_address)
    record(
        session,
        actor=actor,
        action="session:notice_acknowledge",
        object_type="user",
        object_id=user.id,
    )
    record(
        session,
        actor=actor,
        action="session:sign_in",
        object_type="user",
        object_id=user.id,
        details={"mfa": "waived" if user.mfa_enabled_at is None else "totp"},
    )


def sign_out(session: Session, *, user: User, row: WebSession, source_address: str | None) -> None:
    """End the session and record it."""
    sessions.end_session(session, row)
    record(
        session,
        actor=principal_for(user, "web", source_address),
        action="session:sign_out",
        object_type="user",
        object_id=user.id,
    )
