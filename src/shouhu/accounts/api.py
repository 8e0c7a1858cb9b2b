"""JSON routes for accounts under /api/v1: the caller, organisations, users and tokens."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import ValidationError

from shouhu.accounts import organisations, repository, tokens, users
from shouhu.accounts.models import ApiToken, Organisation, User
from shouhu.accounts.organisations import OrganisationCreate
from shouhu.accounts.roles import Permission
from shouhu.accounts.schemas import (
    MeOut,
    OrganisationCreateIn,
    OrganisationOut,
    RolesIn,
    TokenCreatedOut,
    TokenCreateIn,
    TokenOut,
    UserCreateIn,
    UserOut,
    user_out,
)
from shouhu.accounts.users import UserCreate
from shouhu.core.errors import ValidationFailedError
from shouhu.core.principal import Principal
from shouhu.web.deps import ApiPermission, Db
from shouhu.web.validation_messages import field_message

router = APIRouter()

Self = Annotated[Principal, Depends(ApiPermission(Permission.ACCOUNT_SELF))]
OrgsRead = Annotated[Principal, Depends(ApiPermission(Permission.ORGS_READ))]
OrgsManage = Annotated[Principal, Depends(ApiPermission(Permission.ORGS_MANAGE))]
UsersRead = Annotated[Principal, Depends(ApiPermission(Permission.USERS_READ))]
UsersManage = Annotated[Principal, Depends(ApiPermission(Permission.USERS_MANAGE))]

PROBLEM = {"content": {"application/problem+json": {"schema": {"type": "object"}}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not readable JSON", **PROBLEM},
    401: {"description": "No valid bearer token", **PROBLEM},
    403: {"description": "The token's user lacks the permission", **PROBLEM},
    404: {"description": "Not found, or not visible to the caller", **PROBLEM},
    409: {"description": "Conflicts with what is stored", **PROBLEM},
    422: {"description": "Invalid input; `errors` names each field", **PROBLEM},
}


def _user(db: Db, principal: Principal) -> User:
    return repository.get_user(db, principal, principal.user_id)  # type: ignore[arg-type]


@router.get("/me", response_model=MeOut, tags=["account"], responses=ERRORS)
def me(db: Db, principal: Self) -> MeOut:
    """The user and organisation the token acts for."""
    user = _user(db, principal)
    return MeOut(
        user=user_out(user), organisation=OrganisationOut.model_validate(user.organisation)
    )


@router.get("/tokens", response_model=list[TokenOut], tags=["account"], responses=ERRORS)
def my_tokens(db: Db, principal: Self) -> list[ApiToken]:
    """The caller's own API tokens (metadata only)."""
    assert principal.user_id is not None  # noqa: S101 - bearer principals have a user
    return list(db.scalars(repository.readable_tokens(principal, principal.user_id)))


# Kept so integrations that call it hear why, in a problem document, rather than a bare 405.
TOKEN_CREATE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    403: {"description": "Always: an API token cannot create tokens", **PROBLEM},
}


@router.post(
    "/tokens",
    response_model=TokenCreatedOut,
    status_code=201,
    tags=["account"],
    responses=TOKEN_CREATE_ERRORS,
)
def create_my_token(db: Db, principal: Self, body: TokenCreateIn) -> TokenCreatedOut:
    """Refused with 403: a token cannot create tokens (use the account page or the CLI)."""
    assert principal.user_id is not None  # noqa: S101 - bearer principals have a user
    issued = tokens.create_token(
        db, actor=principal, user_id=principal.user_id, name=body.name, days=body.days
    )
    return TokenCreatedOut(**TokenOut.model_validate(issued.row).model_dump(), token=issued.secret)


@router.delete("/tokens/{token_id}", status_code=204, tags=["account"], responses=ERRORS)
def revoke_my_token(db: Db, principal: Self, token_id: uuid.UUID) -> Response:
    """Revoke one of the caller's tokens."""
    tokens.revoke_token(db, actor=principal, token_id=token_id)
    return Response(status_code=204)


@router.get(
    "/organisations",
    response_model=list[OrganisationOut],
    tags=["administration"],
    responses=ERRORS,
)
def list_organisations(
    db: Db,
    principal: OrgsRead,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[Organisation]:
    """Organisations, by name."""
    statement = repository.readable_organisations(principal).limit(limit).offset(offset)
    return list(db.scalars(statement))


@router.post(
    "/organisations",
    response_model=OrganisationOut,
    status_code=201,
    tags=["administration"],
    responses=ERRORS,
)
def create_organisation(db: Db, principal: OrgsManage, body: OrganisationCreateIn) -> Organisation:
    """Create an organisation (type, kind, region code, parent and credit code are checked)."""
    try:
        data = OrganisationCreate.model_validate(body.model_dump())
    except ValidationError as exc:
        first = exc.errors()[0]
        reason = field_message(dict(first))
        raise ValidationFailedError(
            "Invalid value: {reason}.", field=str(first["loc"][0]), reason=reason
        ) from exc
    return organisations.create_organisation(db, actor=principal, data=data)


@router.get(
    "/organisations/{org_id}",
    response_model=OrganisationOut,
    tags=["administration"],
    responses=ERRORS,
)
def get_organisation(db: Db, principal: OrgsRead, org_id: uuid.UUID) -> Organisation:
    """One organisation."""
    return repository.get_organisation(db, principal, org_id)


@router.get("/users", response_model=list[UserOut], tags=["administration"], responses=ERRORS)
def list_users(
    db: Db,
    principal: UsersRead,
    organisation_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[UserOut]:
    """Users, by username; optionally of one organisation."""
    statement = repository.readable_users(principal)
    if organisation_id is not None:
        statement = statement.where(User.organisation_id == organisation_id)
    return [user_out(u) for u in db.scalars(statement.limit(limit).offset(offset))]


@router.post(
    "/users", response_model=UserOut, status_code=201, tags=["administration"], responses=ERRORS
)
def create_user(db: Db, principal: UsersManage, body: UserCreateIn) -> UserOut:
    """Create a user with roles valid for the organisation's type."""
    data = UserCreate.model_validate(body.model_dump())
    return user_out(users.create_user(db, actor=principal, data=data))


@router.get("/users/{user_id}", response_model=UserOut, tags=["administration"], responses=ERRORS)
def get_user(db: Db, principal: UsersRead, user_id: uuid.UUID) -> UserOut:
    """One user."""
    return user_out(repository.get_user(db, principal, user_id))


@router.put(
    "/users/{user_id}/roles", response_model=UserOut, tags=["administration"], responses=ERRORS
)
def set_user_roles(db: Db, principal: UsersManage, user_id: uuid.UUID, body: RolesIn) -> UserOut:
    """Replace a user's roles."""
    return user_out(users.set_roles(db, actor=principal, user_id=user_id, roles=body.roles))


@router.post(
    "/users/{user_id}/disable", response_model=UserOut, tags=["administration"], responses=ERRORS
)
def disable_user(db: Db, principal: UsersManage, user_id: uuid.UUID) -> UserOut:
    """Disable a user; their sessions end and their tokens stop working."""
    return user_out(users.set_active(db, actor=principal, user_id=user_id, active=False))


@router.post(
    "/users/{user_id}/enable", response_model=UserOut, tags=["administration"], responses=ERRORS
)
def enable_user(db: Db, principal: UsersManage, user_id: uuid.UUID) -> UserOut:
    """Enable a disabled user."""
    return user_out(users.set_active(db, actor=principal, user_id=user_id, active=True))


@router.post(
    "/users/{user_id}/unlock", response_model=UserOut, tags=["administration"], responses=ERRORS
)
def unlock_user(db: Db, principal: UsersManage, user_id: uuid.UUID) -> UserOut:
    """Lift a lock-out."""
    return user_out(users.unlock(db, actor=principal, user_id=user_id))


@router.post(
    "/users/{user_id}/reset-mfa", response_model=UserOut, tags=["administration"], responses=ERRORS
)
def reset_user_mfa(db: Db, principal: UsersManage, user_id: uuid.UUID) -> UserOut:
    """Remove a user's second factor; they enrol again at next sign-in."""
    return user_out(users.reset_mfa(db, actor=principal, user_id=user_id))
