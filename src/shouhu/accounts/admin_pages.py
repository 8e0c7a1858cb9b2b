"""The operator's pages: organisations and users (create, disable, unlock, reset MFA, roles)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from shouhu.accounts import organisations, repository, sessions, users
from shouhu.accounts.models import Organisation, User
from shouhu.accounts.organisations import OrganisationCreate
from shouhu.accounts.roles import (
    KINDS_BY_TYPE,
    ROLES_BY_ORG_TYPE,
    OrgType,
    Permission,
    Role,
)
from shouhu.accounts.users import UserCreate
from shouhu.core.errors import DomainError
from shouhu.core.i18n import gettext
from shouhu.web.deps import Db, PagePermission, SignedIn
from shouhu.web.form_errors import pydantic_errors
from shouhu.web.templating import render

router = APIRouter(prefix="/admin", include_in_schema=False)

OrgsRead = Annotated[SignedIn, Depends(PagePermission(Permission.ORGS_READ))]
OrgsManage = Annotated[SignedIn, Depends(PagePermission(Permission.ORGS_MANAGE))]
UsersRead = Annotated[SignedIn, Depends(PagePermission(Permission.USERS_READ))]
UsersManage = Annotated[SignedIn, Depends(PagePermission(Permission.USERS_MANAGE))]


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _form_errors(exc: ValidationError) -> dict[str, str]:
    return pydantic_errors(exc)


def _org_form_context(db: Db, values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    return {
        "org_types": list(OrgType),
        "kinds_by_type": {t.value: sorted(k) for t, k in KINDS_BY_TYPE.items()},
        "all_kinds": sorted({k for kinds in KINDS_BY_TYPE.values() for k in kinds}),
        "parents": list(db.scalars(select(Organisation).order_by(Organisation.name))),
        "values": values,
        "errors": errors,
    }


@router.get("/organisations")
def organisation_list(request: Request, db: Db, me: OrgsRead, q: str = "") -> Response:
    """Every organisation, with a filter by name."""
    statement = repository.readable_organisations(me.principal)
    if q:
        statement = statement.where(Organisation.name.contains(q.strip()))
    orgs = list(db.scalars(statement.limit(500)))
    return render(request, "admin/organisations.html", {"orgs": orgs, "q": q})


@router.get("/organisations/new")
def organisation_new(request: Request, db: Db, me: OrgsManage) -> Response:
    """The form to create an organisation."""
    return render(request, "admin/organisation_new.html", _org_form_context(db, {}, {}))


@router.post("/organisations")
def organisation_create(
    request: Request,
    db: Db,
    me: OrgsManage,
    name: Annotated[str, Form()],
    org_type: Annotated[str, Form(alias="type")],
    region_code: Annotated[str, Form()],
    kind: Annotated[str, Form()] = "",
    parent_id: Annotated[str, Form()] = "",
    credit_code: Annotated[str, Form()] = "",
) -> Response:
    """Create an organisation, or show the form again with what was wrong."""
    values = {
        "name": name,
        "type": org_type,
        "region_code": region_code,
        "kind": kind,
        "parent_id": parent_id,
        "credit_code": credit_code,
    }
    try:
        data = OrganisationCreate.model_validate(
            {
                "name": name,
                "type": org_type,
                "region_code": region_code.strip(),
                "kind": kind or None,
                "parent_id": parent_id or None,
                "credit_code": credit_code.strip() or None,
            }
        )
        org = organisations.create_organisation(db, actor=me.principal, data=data)
    except ValidationError as exc:
        return render(
            request,
            "admin/organisation_new.html",
            _org_form_context(db, values, _form_errors(exc)),
            status=422,
        )
    except DomainError as exc:
        db.rollback()
        errors = {exc.field or "": gettext(exc.message, **exc.params)}
        return render(
            request,
            "admin/organisation_new.html",
            _org_form_context(db, values, errors),
            status=422,
        )
    return _redirect(f"/admin/organisations/{org.id}")


@router.get("/organisations/{org_id}")
def organisation_detail(request: Request, db: Db, me: OrgsRead, org_id: uuid.UUID) -> Response:
    """One organisation, its children and its users."""
    org = repository.get_organisation(db, me.principal, org_id)
    children = list(
        db.scalars(
            select(Organisation).where(Organisation.parent_id == org.id).order_by(Organisation.name)
        )
    )
    members = list(
        db.scalars(select(User).where(User.organisation_id == org.id).order_by(User.username))
    )
    return render(
        request,
        "admin/organisation_detail.html",
        {"org": org, "children": children, "members": members},
    )


@router.post("/organisations/{org_id}/active")
def organisation_set_active(
    db: Db, me: OrgsManage, org_id: uuid.UUID, active: Annotated[bool, Form()]
) -> Response:
    """Enable or disable an organisation."""
    organisations.set_organisation_active(db, actor=me.principal, org_id=org_id, active=active)
    return _redirect(f"/admin/organisations/{org_id}")


@router.get("/users")
def user_list(request: Request, db: Db, me: UsersRead, q: str = "") -> Response:
    """Every user, with a filter by username."""
    statement = repository.readable_users(me.principal)
    if q:
        statement = statement.where(User.username.contains(q.strip().lower()))
    return render(
        request, "admin/users.html", {"users": list(db.scalars(statement.limit(500))), "q": q}
    )


def _user_form_context(db: Db, values: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    return {
        "orgs": list(
            db.scalars(
                select(Organisation)
                .where(Organisation.active.is_(True))
                .order_by(Organisation.name)
            )
        ),
        "roles_by_type": {
            t.value: sorted(r.value for r in roles) for t, roles in ROLES_BY_ORG_TYPE.items()
        },
        "values": values,
        "errors": errors,
    }


@router.get("/users/new")
def user_new(request: Request, db: Db, me: UsersManage, org: str = "") -> Response:
    """The form to create a user."""
    return render(
        request,
        "admin/user_new.html",
        _user_form_context(db, {"organisation_id": org, "roles": []}, {}),
    )


@router.post("/users")
def user_create(
    request: Request,
    db: Db,
    me: UsersManage,
    organisation_id: Annotated[str, Form()],
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    display_name: Annotated[str, Form()] = "",
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Create a user, or show the form again with what was wrong."""
    values: dict[str, Any] = {
        "organisation_id": organisation_id,
        "username": username,
        "display_name": display_name,
        "roles": roles or [],
    }
    try:
        data = UserCreate.model_validate(
            {**values, "password": password, "display_name": display_name.strip() or None}
        )
        user = users.create_user(db, actor=me.principal, data=data)
    except ValidationError as exc:
        return render(
            request,
            "admin/user_new.html",
            _user_form_context(db, values, _form_errors(exc)),
            status=422,
        )
    except DomainError as exc:
        db.rollback()
        errors = {exc.field or "": gettext(exc.message, **exc.params)}
        return render(
            request, "admin/user_new.html", _user_form_context(db, values, errors), status=422
        )
    return _redirect(f"/admin/users/{user.id}")


def _user_page(
    request: Request, db: Db, me: SignedIn, user: User, error: str | None = None, status: int = 200
) -> Response:
    return render(
        request,
        "admin/user_detail.html",
        {
            "subject": user,
            "allowed_roles": sorted(
                r.value for r in ROLES_BY_ORG_TYPE[OrgType(user.organisation.type)]
            ),
            "live_sessions": sessions.live_session_count(db, user.id),
            "error": error,
        },
        status=status,
    )


@router.get("/users/{user_id}")
def user_detail(request: Request, db: Db, me: UsersRead, user_id: uuid.UUID) -> Response:
    """One user: status, roles and the actions on them."""
    return _user_page(request, db, me, repository.get_user(db, me.principal, user_id))


def _user_action(
    request: Request, db: Db, me: SignedIn, user_id: uuid.UUID, action: Callable[[], object]
) -> Response:
    """Run one action on a user; back to their page, with the refusal shown if any."""
    try:
        action()
    except DomainError as exc:
        db.rollback()
        user = repository.get_user(db, me.principal, user_id)
        return _user_page(
            request, db, me, user, gettext(exc.message, **exc.params), status=exc.status_code
        )
    return _redirect(f"/admin/users/{user_id}")


@router.post("/users/{user_id}/roles")
def user_roles(
    request: Request,
    db: Db,
    me: UsersManage,
    user_id: uuid.UUID,
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Replace the user's roles."""
    chosen = [Role(r) for r in roles or [] if r in {role.value for role in Role}]
    return _user_action(
        request,
        db,
        me,
        user_id,
        lambda: users.set_roles(db, actor=me.principal, user_id=user_id, roles=chosen),
    )


@router.post("/users/{user_id}/active")
def user_active(
    request: Request,
    db: Db,
    me: UsersManage,
    user_id: uuid.UUID,
    active: Annotated[bool, Form()],
) -> Response:
    """Disable or enable the user."""
    return _user_action(
        request,
        db,
        me,
        user_id,
        lambda: users.set_active(db, actor=me.principal, user_id=user_id, active=active),
    )


@router.post("/users/{user_id}/unlock")
def user_unlock(request: Request, db: Db, me: UsersManage, user_id: uuid.UUID) -> Response:
    """Lift the user's lock-out."""
    return _user_action(
        request, db, me, user_id, lambda: users.unlock(db, actor=me.principal, user_id=user_id)
    )


@router.post("/users/{user_id}/reset-mfa")
def user_reset_mfa(request: Request, db: Db, me: UsersManage, user_id: uuid.UUID) -> Response:
    """Remove the user's second factor."""
    return _user_action(
        request, db, me, user_id, lambda: users.reset_mfa(db, actor=me.principal, user_id=user_id)
    )


@router.post("/users/{user_id}/reset-password")
def user_reset_password(
    request: Request,
    db: Db,
    me: UsersManage,
    user_id: uuid.UUID,
    password: Annotated[str, Form()],
) -> Response:
    """Set a temporary password."""
    return _user_action(
        request,
        db,
        me,
        user_id,
        lambda: users.reset_password(
            db, actor=me.principal, user_id=user_id, new_password=password
        ),
    )
