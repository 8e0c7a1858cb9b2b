"""API tokens for system integration: shown once, stored as SHA-256, expiring, revocable."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from shouhu.accounts.models import ApiToken, Organisation, User, UserRole
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


# Built once (a statement's cache key is computed once per statement object): the token, its
# user, the user's organisation and roles, in one statement, one row per role.
_TOKENS: Final = cast("Table", ApiToken.__table__)
_USERS: Final = cast("Table", User.__table__)
_ORGANISATIONS: Final = cast("Table", Organisation.__table__)
_ROLES: Final = cast("Table", UserRole.__table__)
_BEARER: Final = (
    select(
        _TOKENS.c.id,
        _TOKENS.c.revoked_at,
        _TOKENS.c.expires_at,
        _TOKENS.c.last_used_at,
        _USERS.c.id.label("user_id"),
        _USERS.c.organisation_id,
        _USERS.c.active.label("user_active"),
        _USERS.c.locked_at,
        _ORGANISATIONS.c.active.label("organisation_active"),
        _ORGANISATIONS.c.type.label("org_type"),
        _ROLES.c.role,
    )
    .join(_USERS, _USERS.c.id == _TOKENS.c.user_id)
    .join(_ORGANISATIONS, _ORGANISATIONS.c.id == _USERS.c.organisation_id)
    .outerjoin(_ROLES, _ROLES.c.user_id == _USERS.c.id)
    .where(_TOKENS.c.token_hash == bindparam("digest"))
)
_TOUCH: Final = (
    update(_TOKENS).where(_TOKENS.c.id == bindparam("token")).values(last_used_at=bindparam("now"))
)


def bearer_principal(
    session: Session, secret: str, *, source_address: str | None
) -> Principal | None:
    """Who acts with a bearer token, if it is live and its user and organisation may act."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    connection = session.connection()
    rows = connection.execute(_BEARER, {"digest": token_digest(secret)}).all()
    now = utcnow()
    if not rows:
        return None
    token = rows[0]
    if token.revoked_at is not None or token.expires_at <= now:
        return None
    if not token.user_active or token.locked_at is not None or not token.organisation_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL:
        connection.execute(_TOUCH, {"token": token.id, "now": now})
    return Principal(
        user_id=token.user_id,
        organisation_id=token.organisation_id,
        org_type=token.org_type,
        roles=frozenset(row.role for row in rows if row.role is not None),
        channel="api",
        source_address=source_address,
    )
