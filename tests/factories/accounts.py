"""Organisations, users, sessions and tokens for tests, built directly on the models."""

from __future__ import annotations

import uuid
from functools import cache

from sqlalchemy.orm import Session

from shouhu.accounts import sessions as session_service
from shouhu.accounts import tokens as token_service
from shouhu.accounts.models import Organisation, User, UserRole
from shouhu.accounts.passwords import hash_password
from shouhu.accounts.roles import ROLES_BY_ORG_TYPE, OrgType, Role
from shouhu.core.principal import system_principal

DEFAULT_PASSWORD = "correct horse battery staple"


@cache
def default_password_hash() -> str:
    """Hash the default password once per process (argon2id is slow on purpose)."""
    return hash_password(DEFAULT_PASSWORD)


def org_type_for(role: Role) -> OrgType:
    """The organisation type that holds a role."""
    return next(t for t, roles in ROLES_BY_ORG_TYPE.items() if role in roles)


def make_org(
    session: Session,
    *,
    org_type: OrgType = OrgType.OPERATOR,
    name: str | None = None,
    kind: str | None = None,
    parent: Organisation | None = None,
    region_code: str = "110101",
) -> Organisation:
    """An organisation of the given type."""
    if kind is None and org_type is OrgType.INSTITUTION:
        kind = "primary_school"
    if kind is None and org_type is OrgType.PARTNER:
        kind = "womens_federation"
    org = Organisation(
        name=name or f"org-{org_type.value}-{uuid.uuid4().hex[:8]}",
        type=org_type.value,
        kind=kind,
        region_code=region_code,
        parent_id=parent.id if parent else None,
        active=True,
    )
    org.ensure_id()
    session.add(org)
    session.flush()
    return org


def make_user(
    session: Session,
    *,
    roles: tuple[Role, ...] = (Role.ADMIN,),
    org: Organisation | None = None,
    username: str | None = None,
    password_hash: str | None = None,
    mfa_secret: str | None = None,
) -> User:
    """A user holding the roles, in a matching organisation unless one is given."""
    organisation = org or make_org(session, org_type=org_type_for(roles[0]))
    user = User(
        organisation_id=organisation.id,
        username=username or f"user-{uuid.uuid4().hex[:10]}",
        password_hash=password_hash or default_password_hash(),
        active=True,
    )
    user.ensure_id()
    user.display_name = "测试用户"
    user.roles = [UserRole(role=r.value) for r in roles]
    if mfa_secret:
        from shouhu.core.database import utcnow  # noqa: PLC0415

        user.mfa_secret = mfa_secret
        user.mfa_enabled_at = utcnow()
    session.add(user)
    session.flush()
    session.refresh(user)
    return user


def complete_session_token(session: Session, user: User) -> tuple[str, str]:
    """A fully signed-in browser session for the user: (cookie token, CSRF token)."""
    token, row = session_service.create_session(
        session, user=user, source_address="127.0.0.1", mfa_passed=True
    )
    row.notice_acknowledged = True
    session.flush()
    return token, row.csrf_token


def api_token(session: Session, user: User, days: int = 30) -> str:
    """A bearer token for the user."""
    return token_service.create_token(
        session, actor=system_principal("cli"), user_id=user.id, name="test", days=days
    ).secret
