"""Creating users and changing their roles, status, password and second factor."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from pydantic import BaseModel, Field
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from shouhu.accounts import sessions, tokens
from shouhu.accounts.models import Organisation, SignInFailure, User, UserRole
from shouhu.accounts.passwords import (
    PasswordPolicyError,
    check_password_policy,
    hash_password,
    verify_password,
)
from shouhu.accounts.policies import require
from shouhu.accounts.roles import OrgType, Permission, Role, role_allowed_in
from shouhu.core.audit.chain import record
from shouhu.core.database import utcnow
from shouhu.core.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    ValidationFailedError,
)
from shouhu.core.principal import Principal
from shouhu.core.settings import Settings
from shouhu.core.text import clean_line

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")

# ASVS 2.2.1 / 3.2: one message for every failure, so it never tells whether the account
# exists, is disabled or is locked; it says what to do next.
SIGN_IN_FAILED = (
    "Sign-in failed. Check your username and password. After repeated failures an account "
    "is locked until an administrator unlocks it."
)

PASSWORD_MESSAGES = {
    "too_short": "The password must have at least 8 characters.",
    "too_long": "The password must have at most 128 characters.",
    "too_common": "This password is among the most common ones; choose another.",
}


class UserCreate(BaseModel):
    """What an operator gives to create a user."""

    organisation_id: uuid.UUID
    username: str = Field(min_length=3, max_length=64)
    display_name: str | None = Field(default=None, max_length=100)
    roles: list[Role] = Field(min_length=1)
    password: str


def principal_for(user: User, channel: str, source_address: str | None = None) -> Principal:
    """The principal a signed-in user acts as."""
    return Principal(
        user_id=user.id,
        organisation_id=user.organisation_id,
        org_type=user.organisation.type,
        roles=frozenset(user.role_names),
        channel=channel,  # type: ignore[arg-type]
        source_address=source_address,
    )


def record_sign_in_failure(
    session: Session,
    *,
    user: User,
    settings: Settings,
    actor: Principal,
    reason: str,
    action: str = "session:sign_in",
) -> None:
    """Record a failed proof of identity; enough of them in the window lock the account.

    ASVS 2.2.1: every guess at a secret of the account counts, wherever it is made (the
    sign-in form, the second factor, the current password when changing it).
    """
    now = utcnow()
    session.add(SignInFailure(user_id=user.id, occurred_at=now))
    session.flush()
    record(
        session,
        actor=actor,
        action=action,
        outcome="failure",
        object_type="user",
        object_id=user.id,
        details={"reason": reason},
    )
    window_start = now - timedelta(minutes=settings.lockout_window_minutes)
    recent = session.scalar(
        select(func.count())
        .select_from(SignInFailure)
        .where(SignInFailure.user_id == user.id, SignInFailure.occurred_at >= window_start)
    )
    if user.locked_at is None and (recent or 0) >= settings.lockout_failures:
        user.locked_at = now
        sessions.end_user_sessions(session, user.id)
        record(
            session,
            actor=actor,
            action="user:lock",
            object_type="user",
            object_id=user.id,
            details={"failures": recent, "window_minutes": settings.lockout_window_minutes},
        )


def checked_password_hash(password: str, field: str = "password") -> str:
    """Apply the password policy (ASVS 2.1) and hash with argon2id."""
    try:
        check_password_policy(password)
    except PasswordPolicyError as exc:
        raise ValidationFailedError(PASSWORD_MESSAGES[exc.reason], field=field) from exc
    return hash_password(password)


def _check_roles(organisation: Organisation, roles: list[Role]) -> list[Role]:
    unique_roles = sorted(set(roles))
    for role in unique_roles:
        if not role_allowed_in(role, OrgType(organisation.type)):
            raise ValidationFailedError(
                "The role {role} does not exist in organisations of type {type}.",
                field="roles",
                role=role.value,
                type=organisation.type,
            )
    return unique_roles


def create_user(session: Session, *, actor: Principal, data: UserCreate) -> User:
    """Create a user with roles valid for their organisation's type."""
    require(actor, Permission.USERS_MANAGE)
    username = data.username.strip().lower()
    if not USERNAME_PATTERN.match(username):
        raise ValidationFailedError(
            "A username has 3 to 64 characters: letters, digits, dot, dash or underscore.",
            field="username",
        )
    organisation = session.get(Organisation, data.organisation_id)
    if organisation is None or not organisation.active:
        raise ValidationFailedError("The organisation does not exist.", field="organisation_id")
    roles = _check_roles(organisation, data.roles)
    if session.scalar(select(User.id).where(User.username == username)):
        raise ConflictError("This username is taken.", field="username")
    user = User(
        organisation_id=organisation.id,
        username=username,
        password_hash=checked_password_hash(data.password),
        must_change_password=actor.user_id is not None,
        active=True,
    )
    user.ensure_id()
    display_name = clean_line(data.display_name or "", field="display_name")
    user.display_name = display_name or None
    user.roles = [UserRole(role=r.value) for r in roles]
    session.add(user)
    session.flush()
    record(
        session,
        actor=actor,
        action="user:create",
        object_type="user",
        object_id=user.id,
        details={"organisation_id": str(organisation.id), "roles": [r.value for r in roles]},
    )
    return user


def _managed_user(session: Session, actor: Principal, user_id: uuid.UUID) -> User:
    require(actor, Permission.USERS_MANAGE)
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError("User not found.")
    return user


def set_roles(session: Session, *, actor: Principal, user_id: uuid.UUID, roles: list[Role]) -> User:
    """Replace a user's roles; the change is audited with old and new values."""
    user = _managed_user(session, actor, user_id)
    if not roles:
        raise ValidationFailedError("A user needs at least one role.", field="roles")
    new_roles = [r.value for r in _check_roles(user.organisation, roles)]
    old_roles = user.role_names
    if new_roles == old_roles:
        return user
    if actor.user_id == user.id and Role.ADMIN.value in old_roles and Role.ADMIN not in roles:
        raise ValidationFailedError("You cannot remove your own admin role.", field="roles")
    user.roles = [UserRole(role=r) for r in new_roles]
    session.flush()
    # Roles change what a session may do: end them so the user signs in again.
    sessions.end_user_sessions(session, user.id)
    record(
        session,
        actor=actor,
        action="user:role_change",
        object_type="user",
        object_id=user.id,
        details={"old": old_roles, "new": new_roles},
    )
    return user


def set_active(session: Session, *, actor: Principal, user_id: uuid.UUID, active: bool) -> User:
    """Enable or disable a user; disabling ends every session at once."""
    user = _managed_user(session, actor, user_id)
    if actor.user_id == user.id and not active:
        raise ValidationFailedError("You cannot disable your own account.", field="active")
    if user.active == active:
        return user
    user.active = active
    if not active:
        sessions.end_user_sessions(session, user.id)
    record(
        session,
        actor=actor,
        action="user:enable" if active else "user:disable",
        object_type="user",
        object_id=user.id,
    )
    return user


def unlock(session: Session, *, actor: Principal, user_id: uuid.UUID) -> User:
    """Lift a lock-out and forget the failures that caused it."""
    user = _managed_user(session, actor, user_id)
    if user.locked_at is None:
        raise ConflictError("This account is not locked.")
    user.locked_at = None
    session.execute(delete(SignInFailure).where(SignInFailure.user_id == user.id))
    record(session, actor=actor, action="user:unlock", object_type="user", object_id=user.id)
    return user


def reset_mfa(session: Session, *, actor: Principal, user_id: uuid.UUID) -> User:
    """Remove a user's second factor; they must enrol again at next sign-in."""
    user = _managed_user(session, actor, user_id)
    user.mfa_secret = None
    user.mfa_enabled_at = None
    user.mfa_last_step = None
    sessions.end_user_sessions(session, user.id)
    record(session, actor=actor, action="user:mfa_reset", object_type="user", object_id=user.id)
    return user


def reset_password(
    session: Session, *, actor: Principal, user_id: uuid.UUID, new_password: str
) -> User:
    """Set a temporary password that the user must change at next sign-in."""
    user = _managed_user(session, actor, user_id)
    user.password_hash = checked_password_hash(new_password)
    user.password_changed_at = utcnow()
    user.must_change_password = True
    sessions.end_user_sessions(session, user.id)
    record(
        session, actor=actor, action="user:password_reset", object_type="user", object_id=user.id
    )
    # A reset answers a suspected compromise: tokens the old holder may have made go too.
    tokens.revoke_user_tokens(session, actor=actor, user_id=user.id, reason="password_reset")
    return user


def change_own_password(
    session: Session,
    *,
    actor: Principal,
    current_password: str,
    new_password: str,
    settings: Settings,
    keep_session_id: str | None = None,
) -> User:
    """Change one's own password after proving the current one; other sessions and tokens end.

    A wrong current password counts toward lock-out like a failed sign-in; the failure that
    locks the account raises `AuthenticationError` (the session has then ended).
    """
    require(actor, Permission.ACCOUNT_SELF)
    user = session.get(User, actor.user_id)
    if user is None:
        raise NotFoundError("User not found.")
    if user.locked_at is not None:
        # Locked by guesses made in a request still running: no further guess is checked.
        raise AuthenticationError(SIGN_IN_FAILED)
    if not verify_password(user.password_hash, current_password):
        # Otherwise a stolen session could guess the password here without limit.
        record_sign_in_failure(
            session,
            user=user,
            settings=settings,
            actor=actor,
            reason="current_password",
            action="user:password_change",
        )
        if user.locked_at is not None:
            raise AuthenticationError(SIGN_IN_FAILED, persist=True)
        raise ValidationFailedError(
            "The current password is not correct.", field="current_password", persist=True
        )
    if current_password == new_password:
        raise ValidationFailedError(
            "The new password must differ from the current one.", field="new_password"
        )
    user.password_hash = checked_password_hash(new_password, field="new_password")
    user.password_changed_at = utcnow()
    user.must_change_password = False
    sessions.end_user_sessions(session, user.id, except_id=keep_session_id)
    record(
        session, actor=actor, action="user:password_change", object_type="user", object_id=user.id
    )
    tokens.revoke_user_tokens(session, actor=actor, user_id=user.id, reason="password_change")
    return user
