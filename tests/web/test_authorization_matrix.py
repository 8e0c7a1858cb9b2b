"""Every route: anonymous 401, wrong role 403, someone else's object 404, allowed 2xx/303."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from shouhu.accounts.models import User
from shouhu.accounts.roles import PERMISSIONS, OrgType, Permission, Role
from shouhu.web.permission_matrix import app_routes, route_rules
from tests.factories.accounts import DEFAULT_PASSWORD, api_token, make_org, make_user
from tests.onestop.test_api import onestop_matrix_cases
from tests.onestop.test_session_api import session_matrix_cases
from tests.registry.test_api import web_matrix_cases
from tests.registry.test_api_persons import web_matrix_cases as person_matrix_cases
from tests.screening.test_batch_api import batch_matrix_cases
from tests.screening.test_inquiry_api import inquiry_matrix_cases
from tests.screening.test_recheck_api import recheck_matrix_cases
from tests.web import (
    batch_page_cases,
    compliance_cases,
    evidence_page_cases,
    inquiry_page_cases,
    onestop_handoff_cases,
    onestop_page_cases,
    onestop_performance_cases,
    onestop_session_page_cases,
    onestop_support_cases,
    recheck_page_cases,
    registry_page_cases,
)
from tests.web.conftest import SignedInClient

Builder = Callable[[Session, User], dict[str, Any]]


def _nothing(_session: Session, _user: User) -> dict[str, Any]:
    return {}


def _own_token(session: Session, user: User) -> dict[str, Any]:
    from sqlalchemy import select  # noqa: PLC0415

    from shouhu.accounts.models import ApiToken  # noqa: PLC0415

    api_token(session, user)
    token = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).first()
    assert token is not None
    return {"token_id": token.id}


def _foreign_token(session: Session, _user: User) -> dict[str, Any]:
    return _own_token(session, make_user(session, roles=(Role.INSTITUTION_HR,)))


def _some_org(session: Session, _user: User) -> dict[str, Any]:
    return {"org_id": make_org(session).id}


def _some_user(session: Session, _user: User) -> dict[str, Any]:
    return {"user_id": make_user(session, roles=(Role.INSTITUTION_HR,)).id}


def _locked_user(session: Session, _user: User) -> dict[str, Any]:
    from shouhu.core.database import utcnow  # noqa: PLC0415

    target = make_user(session, roles=(Role.INSTITUTION_HR,))
    target.locked_at = utcnow()
    session.flush()
    return {"user_id": target.id}


def _new_user_form(session: Session, _user: User) -> dict[str, Any]:
    org = make_org(session, org_type=OrgType.INSTITUTION)
    return {
        "organisation_id": str(org.id),
        "username": f"hr{org.id.hex[:8]}",
        "roles": "institution_hr",
        "password": "a fresh temporary passphrase",
    }


@dataclass(frozen=True)
class Case:
    """How to call one route, and what it needs."""

    method: str
    path: str
    permission: Permission
    build: Builder = _nothing
    foreign: Builder | None = None  # path values naming another user's/organisation's object
    foreign_role: Role = Role.INSTITUTION_HR  # who asks for that object (and must get 404)
    form: dict[str, Any] = field(default_factory=dict)
    form_build: Builder | None = None  # a form that needs objects from the database
    json: Any = None
    json_build: Builder | None = None  # a body that needs objects from the database
    files: dict[str, Any] | None = None  # a multipart upload (with `form` as its fields)
    ok: tuple[int, ...] = (200,)


PAGE_CASES = [
    Case("GET", "/", Permission.ACCOUNT_SELF),
    Case("GET", "/account", Permission.ACCOUNT_SELF),
    Case("POST", "/account/tokens", Permission.ACCOUNT_SELF, form={"name": "hr", "days": "30"}),
    Case(
        "POST",
        "/account/tokens/{token_id}/revoke",
        Permission.ACCOUNT_SELF,
        _own_token,
        foreign=_foreign_token,
        ok=(303,),
    ),
    Case("GET", "/account/password", Permission.ACCOUNT_SELF),
    Case(
        "POST",
        "/account/password",
        Permission.ACCOUNT_SELF,
        form={
            "current_password": DEFAULT_PASSWORD,
            "new_password": "another long passphrase",
            "confirm_password": "another long passphrase",
        },
    ),
    Case("GET", "/admin/organisations", Permission.ORGS_READ),
    Case("GET", "/admin/organisations/new", Permission.ORGS_MANAGE),
    Case(
        "POST",
        "/admin/organisations",
        Permission.ORGS_MANAGE,
        form={"name": "测试运营单位", "type": "operator", "region_code": "110101"},
        ok=(303,),
    ),
    Case("GET", "/admin/organisations/{org_id}", Permission.ORGS_READ, _some_org),
    Case(
        "POST",
        "/admin/organisations/{org_id}/active",
        Permission.ORGS_MANAGE,
        _some_org,
        form={"active": "false"},
        ok=(303,),
    ),
    Case("GET", "/admin/users", Permission.USERS_READ),
    Case("GET", "/admin/users/new", Permission.USERS_MANAGE),
    Case(
        "POST",
        "/admin/users",
        Permission.USERS_MANAGE,
        form_build=_new_user_form,
        ok=(303,),
    ),
    Case("GET", "/admin/users/{user_id}", Permission.USERS_READ, _some_user),
    Case(
        "POST",
        "/admin/users/{user_id}/roles",
        Permission.USERS_MANAGE,
        _some_user,
        form={"roles": "institution_hr"},
        ok=(303,),
    ),
    Case(
        "POST",
        "/admin/users/{user_id}/active",
        Permission.USERS_MANAGE,
        _some_user,
        form={"active": "false"},
        ok=(303,),
    ),
    Case("POST", "/admin/users/{user_id}/unlock", Permission.USERS_MANAGE, _locked_user, ok=(303,)),
    Case(
        "POST", "/admin/users/{user_id}/reset-mfa", Permission.USERS_MANAGE, _some_user, ok=(303,)
    ),
    Case(
        "POST",
        "/admin/users/{user_id}/reset-password",
        Permission.USERS_MANAGE,
        _some_user,
        form={"password": "a fresh temporary passphrase"},
        ok=(303,),
    ),
]

PAGE_CASES += registry_page_cases.cases(Case)
PAGE_CASES += inquiry_page_cases.cases(Case)
PAGE_CASES += batch_page_cases.cases(Case)
PAGE_CASES += [c for c in compliance_cases.cases(Case) if not c.path.startswith("/api/")]
PAGE_CASES += recheck_page_cases.cases(Case)
PAGE_CASES += onestop_page_cases.cases(Case)
PAGE_CASES += onestop_session_page_cases.cases(Case)
PAGE_CASES += evidence_page_cases.cases(Case)
PAGE_CASES += [c for c in onestop_support_cases.cases(Case) if not c.path.startswith("/api/")]
PAGE_CASES += [c for c in onestop_handoff_cases.cases(Case) if not c.path.startswith("/api/")]
PAGE_CASES += [c for c in onestop_performance_cases.cases(Case) if not c.path.startswith("/api/")]

PAGE_CASES += [
    Case("GET", "/audit", Permission.AUDIT_VERIFY),
    Case("POST", "/audit/verify", Permission.AUDIT_VERIFY),
    Case("GET", "/audit/events", Permission.AUDIT_READ),
]

API_CASES = [
    Case("GET", "/api/v1/me", Permission.ACCOUNT_SELF),
    Case("GET", "/api/v1/tokens", Permission.ACCOUNT_SELF),
    # Every caller reaches the service, which refuses: a bearer token cannot create tokens
    # (they are made on the account page or with `shouhu tokens create`).
    Case(
        "POST",
        "/api/v1/tokens",
        Permission.ACCOUNT_SELF,
        json={"name": "hr", "days": 10},
        ok=(403,),
    ),
    Case(
        "DELETE",
        "/api/v1/tokens/{token_id}",
        Permission.ACCOUNT_SELF,
        _own_token,
        foreign=_foreign_token,
        ok=(204,),
    ),
    Case("GET", "/api/v1/organisations", Permission.ORGS_READ),
    Case(
        "POST",
        "/api/v1/organisations",
        Permission.ORGS_MANAGE,
        json={"name": "测试运营单位", "type": "operator", "region_code": "110101"},
        ok=(201,),
    ),
    Case("GET", "/api/v1/organisations/{org_id}", Permission.ORGS_READ, _some_org),
    Case("GET", "/api/v1/users", Permission.USERS_READ),
    Case("POST", "/api/v1/users", Permission.USERS_MANAGE, ok=(201,)),
    Case("GET", "/api/v1/users/{user_id}", Permission.USERS_READ, _some_user),
    Case(
        "PUT",
        "/api/v1/users/{user_id}/roles",
        Permission.USERS_MANAGE,
        _some_user,
        json={"roles": ["institution_hr"]},
    ),
    Case("POST", "/api/v1/users/{user_id}/disable", Permission.USERS_MANAGE, _some_user),
    Case("POST", "/api/v1/users/{user_id}/enable", Permission.USERS_MANAGE, _some_user),
    Case("POST", "/api/v1/users/{user_id}/unlock", Permission.USERS_MANAGE, _locked_user),
    Case("POST", "/api/v1/users/{user_id}/reset-mfa", Permission.USERS_MANAGE, _some_user),
]

API_CASES += web_matrix_cases(Case)
API_CASES += person_matrix_cases(Case)
API_CASES += inquiry_matrix_cases(Case)
API_CASES += batch_matrix_cases(Case)
API_CASES += [c for c in compliance_cases.cases(Case) if c.path.startswith("/api/")]
API_CASES += recheck_matrix_cases(Case)
API_CASES += onestop_matrix_cases(Case)
API_CASES += session_matrix_cases(Case)
API_CASES += evidence_page_cases.cases(Case, prefix="/api/v1")
API_CASES += [c for c in onestop_support_cases.cases(Case) if c.path.startswith("/api/")]
API_CASES += [c for c in onestop_handoff_cases.cases(Case) if c.path.startswith("/api/")]
API_CASES += [c for c in onestop_performance_cases.cases(Case) if c.path.startswith("/api/")]

# Routes outside the matrix, with the reason: the sign-in steps and health probes are open by
# design and have their own tests.
OPEN_ROUTES = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/sign-in"),
    ("POST", "/sign-in"),
    ("GET", "/sign-in/mfa"),
    ("POST", "/sign-in/mfa"),
    ("GET", "/sign-in/enrol"),
    ("POST", "/sign-in/enrol"),
    ("GET", "/sign-in/notice"),
    ("POST", "/sign-in/notice"),
    ("POST", "/sign-out"),
    ("POST", "/language"),
    # Anyone may check a certificate (tests/screening/test_certificates.py).
    ("GET", "/verify/{code}"),
    ("GET", "/api/v1/certificates/public-key"),
    ("GET", "/api/v1/certificates/{code}"),
}
ALL_CASES = PAGE_CASES + API_CASES


def _allowed_role(permission: Permission) -> Role:
    return min(PERMISSIONS[permission])


def _wrong_role(permission: Permission) -> Role | None:
    outside = sorted(set(Role) - PERMISSIONS[permission])
    return outside[0] if outside else None


def test_every_route_is_in_the_matrix_or_declared_open(app: FastAPI) -> None:
    routes = {(m, r.path) for r in app_routes(app) if r.dependant for m in r.methods}
    covered = {(c.method, c.path) for c in ALL_CASES} | OPEN_ROUTES
    assert routes == covered


def test_every_route_has_exactly_one_authorisation(app: FastAPI) -> None:
    # route_rules raises LookupError naming a route with none (or with two).
    rules = route_rules(app)
    assert len(rules) == len(ALL_CASES) + len(OPEN_ROUTES)
    plain = {r.path for r in app_routes(app) if r.dependant is None}
    # Only the static files and the OpenAPI document are served outside FastAPI's dependencies.
    assert plain == {"/static", "/api/v1/openapi.json"}


def test_a_route_without_authorisation_is_caught(app: FastAPI) -> None:
    @app.get("/unguarded")
    def unguarded() -> dict[str, str]:
        return {}

    with pytest.raises(LookupError, match="/unguarded"):
        route_rules(app)


def test_every_case_names_the_routes_declared_permission(app: FastAPI) -> None:
    declared = {(rule.methods, rule.path): rule.permission for rule in route_rules(app)}
    for case in ALL_CASES:
        assert declared[(case.method, case.path)] == case.permission, case.path


def _call(  # noqa: PLR0917 - the matrix tests pass what each call needs
    client: TestClient,
    case: Case,
    values: dict[str, Any],
    csrf: str | None,
    headers: dict[str, str] | None = None,
    session: Session | None = None,
    user: User | None = None,
) -> int:
    path = case.path.format(**values)
    if case.path.startswith("/api/"):
        body = case.json
        if body is None and case.method == "POST" and case.path == "/api/v1/users":
            assert session is not None
            org = make_org(session)
            session.commit()
            body = {
                "organisation_id": str(org.id),
                "username": f"u{org.id.hex[:8]}",
                "roles": ["admin"],
                "password": "a fresh temporary passphrase",
            }
        if case.json_build is not None and session is not None and user is not None:
            body = case.json_build(session, user)
            session.commit()
        if case.files is not None:
            return client.request(
                case.method, path, data=case.form, files=case.files, headers=headers
            ).status_code
        return client.request(case.method, path, json=body, headers=headers).status_code
    data = dict(case.form)
    if case.form_build is not None and session is not None and user is not None:
        data.update(case.form_build(session, user))
        session.commit()
    if csrf is not None and case.method != "GET":
        data["csrf_token"] = csrf
    if case.method == "GET":
        return client.get(path).status_code
    return client.post(path, data=data, files=case.files).status_code


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: f"{c.method} {c.path}")
def test_anonymous_is_401(case: Case, client: TestClient, session: Session) -> None:
    user = make_user(session, roles=(_allowed_role(case.permission),))
    values = case.build(session, user)
    session.commit()
    assert _call(client, case, values, csrf=None, session=session) == 401


@pytest.mark.parametrize(
    "case",
    [c for c in ALL_CASES if _wrong_role(c.permission)],
    ids=lambda c: f"{c.method} {c.path}",
)
def test_wrong_role_is_403(
    case: Case, session: Session, signed_in: Callable[..., SignedInClient], client: TestClient
) -> None:
    role = _wrong_role(case.permission)
    assert role is not None
    web_client, user, csrf = signed_in(role)
    values = case.build(session, user)
    session.commit()
    if case.path.startswith("/api/"):
        token = api_token(session, user)
        session.commit()
        status = _call(client, case, values, None, {"Authorization": f"Bearer {token}"}, session)
    else:
        status = _call(web_client, case, values, csrf, session=session, user=user)
    assert status == 403


@pytest.mark.parametrize(
    "case", [c for c in ALL_CASES if c.foreign], ids=lambda c: f"{c.method} {c.path}"
)
def test_someone_elses_object_is_404(
    case: Case, session: Session, client: TestClient, signed_in: Callable[..., SignedInClient]
) -> None:
    assert case.foreign is not None
    web_client, user, csrf = signed_in(case.foreign_role)
    values = case.foreign(session, user)
    session.commit()
    if case.path.startswith("/api/"):
        token = api_token(session, user)
        session.commit()
        status = _call(
            client, case, values, None, {"Authorization": f"Bearer {token}"}, session, user
        )
    else:
        status = _call(web_client, case, values, csrf, session=session, user=user)
    assert status == 404


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: f"{c.method} {c.path}")
def test_allowed_role_succeeds(
    case: Case, session: Session, client: TestClient, signed_in: Callable[..., SignedInClient]
) -> None:
    web_client, user, csrf = signed_in(_allowed_role(case.permission))
    values = case.build(session, user)
    session.commit()
    if case.path.startswith("/api/"):
        token = api_token(session, user)
        session.commit()
        status = _call(
            client, case, values, None, {"Authorization": f"Bearer {token}"}, session, user
        )
    else:
        status = _call(web_client, case, values, csrf, session=session, user=user)
    assert status in case.ok


@pytest.mark.parametrize(
    "case", [c for c in PAGE_CASES if c.method == "POST"], ids=lambda c: f"{c.method} {c.path}"
)
def test_form_without_csrf_token_is_refused(
    case: Case, session: Session, signed_in: Callable[..., SignedInClient]
) -> None:
    web_client, user, _csrf = signed_in(_allowed_role(case.permission))
    values = case.build(session, user)
    session.commit()
    assert _call(web_client, case, values, "forged-token", session=session, user=user) == 403
