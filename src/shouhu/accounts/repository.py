"""Every accounts query, each filtered by what the acting principal may see."""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from shouhu.accounts.models import ApiToken, Organisation, User
from shouhu.accounts.policies import allows
from shouhu.accounts.roles import Permission
from shouhu.core.errors import NotFoundError
from shouhu.core.principal import Principal


def readable_organisations(principal: Principal) -> Select[Organisation]:
    """Organisations the principal may see: all for operators, else their own."""
    statement = select(Organisation).order_by(Organisation.name)
    if allows(principal, Permission.ORGS_READ):
        return statement
    return statement.where(Organisation.id == principal.organisation_id)


def readable_users(principal: Principal) -> Select[User]:
    """Users the principal may see: all for operators, else only themselves."""
    statement = select(User).order_by(User.username)
    if allows(principal, Permission.USERS_READ):
        return statement
    return statement.where(User.id == principal.user_id)


def get_organisation(session: Session, principal: Principal, org_id: uuid.UUID) -> Organisation:
    """One organisation the principal may see, or NotFoundError."""
    found = session.scalar(readable_organisations(principal).where(Organisation.id == org_id))
    if found is None:
        raise NotFoundError("Organisation not found.")
    return found


def get_user(session: Session, principal: Principal, user_id: uuid.UUID) -> User:
    """One user the principal may see, or NotFoundError."""
    found = session.scalar(readable_users(principal).where(User.id == user_id))
    if found is None:
        raise NotFoundError("User not found.")
    return found


def find_organisation_by_ref(session: Session, ref: str) -> Organisation | None:
    """An organisation by id or by its unique name (for the CLI)."""
    try:
        return session.get(Organisation, uuid.UUID(ref))
    except ValueError:
        return session.scalar(select(Organisation).where(Organisation.name == ref))


def find_user_by_username(session: Session, username: str) -> User | None:
    """A user by username, ignoring case."""
    return session.scalar(select(User).where(User.username == username.strip().lower()))


def readable_tokens(principal: Principal, user_id: uuid.UUID) -> Select[ApiToken]:
    """A user's API tokens, if the principal is that user or manages users."""
    statement = (
        select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.created_at.desc())
    )
    if user_id == principal.user_id or allows(principal, Permission.USERS_MANAGE):
        return statement
    return statement.where(ApiToken.id.is_(None))
