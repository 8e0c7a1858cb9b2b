"""API tokens for system integration: shown once, stored as SHA-256, expiring, revocable."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.accounts.models import ApiToken, User
from shouhu.accounts.policies import allows
from shouhu.accounts.roles import Permission
from shouhu.accounts.sessions import TOUCH_INTERVAL, token_digest
from shouhu.core.audit.chain import record
from shouhu.core.database import utcnow
from shouhu.core.errors import ForbiddenError, NotFoundError, ValidationFailedError
from shouhu.core.principal import Principal
from shouhu.core.text import clean_line

TOKEN_PREFIX = "shh_"  # noqa: S105 - marks Shouhu tokens (secret scanners), not a secret
MAX_DAYS = 366


@dataclass(frozen=True)
class IssuedToken:
    """A new token: the secret (shown once) and its stored row."""

    secret: str
    row: ApiToken


def _may_manage_tokens_of(actor: Principal, user_id: uuid.UUID) -> bool:
    return actor.user_id == user_id or allows(actor, Permission.USERS_MANAGE)


def create_token(
    session: Session, *, actor: Principal, user_id: uuid.UUID, name: str, days: int
) -> IssuedToken:
    """Issue a token for a user (oneself, or any user for an operator); never over the API."""
    user = session.get(User, user_id)
    if user is None or not _may_manage_tokens_of(actor, user_id):
        raise NotFoundError("User not found.")
    if actor.channel == "api":
        # A bearer token is one factor: were it able to mint tokens, a stolen one would
        # outlive its own revocation. New tokens need a web session (password and second
        # factor) or the operator's shell.
        raise ForbiddenError(
            "An API token cannot create tokens. Create one on your account page, "
            "or ask an administrator."
        )
    if not 1 <= days <= MAX_DAYS:
        raise ValidationFailedError(
            "A token lasts from 1 to {max} days.", field="days", max=MAX_DAYS
        )
    label = clean_line(name, field="name") or "api"
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id,
        name=label[:100],
        token_hash=token_digest(secret),
        prefix=secret[:12],
        expires_at=utcnow() + timedelta(days=days),
        created_by_id=actor.user_id,
    )
    row.ensure_id()
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="token:create",
        object_type="api_token",
        object_id=row.id,
        details={"user_id": str(user.id), "days": days},
    )
    return IssuedToken(secret=secret, row=row)


def revoke_token(session: Session, *, actor: Principal, token_id: uuid.UUID) -> ApiToken:
    """Revoke a token at once."""
    row = session.get(ApiToken, token_id)
    if row is None or not _may_manage_tokens_of(actor, row.user_id):
        raise NotFoundError("Token not found.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        record(
            session,
            actor=actor,
            action="token:revoke",
            object_type="api_token",
            object_id=row.id,
            details={"user_id": str(row.user_id)},
        )
    return row


def revoke_user_tokens(
    session: Session, *, actor: Principal, user_id: uuid.UUID, reason: str
) -> list[ApiToken]:
    """Revoke every live token of a user at once, each with its audit event; return them."""
    now = utcnow()
    live = list(
        session.scalars(
            select(ApiToken)
            .where(
                ApiToken.user_id == user_id,
                ApiToken.revoked_at.is_(None),
                ApiToken.expires_at > now,
            )
            .order_by(ApiToken.created_at, ApiToken.id)
        )
    )
    for row in live:
        row.revoked_at = now
        record(
            session,
            actor=actor,
            action="token:revoke",
            object_type="api_token",
            object_id=row.id,
            details={"user_id": str(user_id), "reason": reason},
        )
    return live


def authenticate_bearer(session: Session, secret: str) -> tuple[User, ApiToken] | None:
    """The user behind a bearer token, if it is live and the user may act."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(secret)))
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active or user.locked_at is not None:
        return None
    if not user.organisation.active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_INTERVAL:
        row.last_used_at = now
    return user, row
