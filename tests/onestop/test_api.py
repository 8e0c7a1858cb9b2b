"""The one-stop API: sites for the operator, intake, a team's cases, the audited identity read,
status moves and the team; problem details naming the field; a foreign case is a 404."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from shouhu.accounts.roles import OrgType, Permission, Role
from shouhu.core.audit.models import AuditEvent
from shouhu.core.database import utcnow
from shouhu.onestop import repository
from tests.factories.accounts import api_token, make_org, make_user
from tests.factories.onestop import CHILD_NAME, CHILD_NUMBER, Cast, join, make_site, open_case
from tests.onestop.conftest import events_since, head
from tests.web.onestop_page_cases import (
    foreign_case,
    foreign_case_with_member,
    own_case,
    own_case_with_member,
    some_site,
)

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import User

SITES = "/api/v1/onestop/sites"
CASES = "/api/v1/onestop/cases"


def _auth(session: Session, user: User) -> dict[str, str]:
    token = api_token(session, user)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def _body(site_id: object, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "received_at": (utcnow() - timedelta(hours=3)).isoformat(),
        "channel": "mandatory_report_hospital",
        "offence": "rape",
        "place": "某医院附近",
        "jurisdiction": "110101",
        "site_id": str(site_id),
        "children": [
            {
                "name": CHILD_NAME,
                "sex": "F",
                "id_type": "prc_id",
                "id_number": CHILD_NUMBER,
                "guardian_name": "李强",
                "guardian_relationship": "父亲",
            }
        ],
        "suspects": [{"name": "王某"}],
    }
    body.update(overrides)
    return body


# --- the matrix's rows --------------------------------------------------------------------------


def _site_body(session: Session, _user: User) -> dict[str, Any]:
    host = make_org(session, org_type=OrgType.PUBLIC_SECURITY)
    return {
        "name": f"API 取证中心 {host.id.hex[:8]}",
        "region_code": "110101",
        "host_unit_id": str(host.id),
    }


def _case_body(session: Session, _user: User) -> dict[str, Any]:
    return _body(make_site(session).id)


def _member_body(session: Session, _user: User) -> dict[str, Any]:
    prosecutor = make_user(session, roles=(Role.PROSECUTOR,))
    return {"user_id": str(prosecutor.id), "role": "prosecutor"}


def onestop_matrix_cases(case: type[Any]) -> list[Any]:
    """These routes' rows for the app-wide matrix, built with its `Case`."""
    read_sites, manage_sites = Permission.ONESTOP_SITES_READ, Permission.ONESTOP_SITES_MANAGE
    read, intake = Permission.ONESTOP_CASES_READ, Permission.ONESTOP_CASES_INTAKE
    manage, officer = Permission.ONESTOP_CASES_MANAGE, Role.CASE_OFFICER
    return [
        case("GET", SITES, read_sites),
        case("GET", SITES + "/{site_id}", read_sites, some_site),
        case("POST", SITES, manage_sites, json_build=_site_body, ok=(201,)),
        case("PATCH", SITES + "/{site_id}", manage_sites, some_site, json={"medical_room": False}),
        case("POST", CASES, intake, json_build=_case_body, ok=(201,)),
        case("GET", CASES, read),
        case(
            "GET", CASES + "/{case_id}", read, own_case, foreign=foreign_case, foreign_role=officer
        ),
        case(
            "GET",
            CASES + "/{case_id}/children/{child_id}/identity",
            read,
            own_case,
            foreign=foreign_case,
            foreign_role=officer,
        ),
        case(
            "POST",
            CASES + "/{case_id}/status",
            manage,
            own_case,
            foreign=foreign_case,
            foreign_role=officer,
            json={"status": "joint_session_scheduled"},
        ),
        case(
            "POST",
            CASES + "/{case_id}/members",
            manage,
            own_case,
            foreign=foreign_case,
            foreign_role=officer,
            json_build=_member_body,
            ok=(201,),
        ),
        case(
            "DELETE",
            CASES + "/{case_id}/members/{member_id}",
            manage,
            own_case_with_member,
            foreign=foreign_case_with_member,
            foreign_role=officer,
            ok=(204,),
        ),
    ]


# --- sites --------------------------------------------------------------------------------------


def test_the_operator_keeps_the_directory_and_officers_read_it(
    session: Session, cast: Cast, client: TestClient
) -> None:
    admin = _auth(session, cast.admin)
    body = {
        "name": "西城区一站式取证中心",
        "region_code": "110102",
        "host_unit_id": str(cast.bureau.id),
        "interview_room": True,
        "phone": "010-6600 1234",
    }
    created = client.post(SITES, json=body, headers=admin)
    assert created.status_code == 201, created.text
    site = created.json()
    assert (site["region_name"], site["host_unit_name"]) == ("西城区", cast.bureau.name)
    patched = client.patch(
        f"{SITES}/{site['id']}", json={"active": False, "phone": None}, headers=admin
    )
    assert patched.status_code == 200
    assert (patched.json()["active"], patched.json()["phone"]) == (False, None)
    clash = client.post(SITES, json={**body, "name": cast.site.name}, headers=admin)
    assert clash.status_code == 409
    assert clash.json()["errors"] == [{"field": "name", "message": clash.json()["detail"]}]
    wrong_host = client.post(
        SITES,
        json={**body, "name": "新中心", "host_unit_id": str(cast.procuratorate.id)},
        headers=admin,
    )
    assert wrong_host.status_code == 422
    assert wrong_host.json()["errors"][0]["field"] == "host_unit_id"
    officer = _auth(session, cast.officer)
    listed = client.get(SITES, params={"region": "110100", "active": "true"}, headers=officer)
    names = [s["name"] for s in listed.json()]
    assert cast.site.name in names
    assert "西城区一站式取证中心" not in names  # inactive now
    assert [
        p["name"] for p in client.get(f"{SITES}/{cast.site.id}", headers=officer).json()["partners"]
    ] == [cast.womens_federation.name]
    assert client.post(SITES, json=body, headers=officer).status_code == 403


# --- cases --------------------------------------------------------------------------------------


def test_intake_answers_201_with_pseudonyms_and_no_identity(
    session: Session, cast: Cast, client: TestClient
) -> None:
    headers = _auth(session, cast.officer)
    start = head(session)
    response = client.post(
        CASES, json=_body(cast.site.id), headers={**headers, "Accept-Language": "en"}
    )
    assert response.status_code == 201, response.text
    case = response.json()
    assert case["status"] == "received"
    assert case["children"] == ["Child A"]
    assert case["child_victims"][0]["pseudonym"] == "Child A"
    assert case["team"][0]["role"] == "lead_officer"
    assert case["next_statuses"] == ["joint_session_scheduled"]
    for secret in (CHILD_NAME, CHILD_NUMBER, "李强"):
        assert secret not in response.text
    assert events_since(session, start) == [
        ("api:onestop:case_open", "onestop_case"),
        ("api:onestop:member_add", "case_member"),
    ]
    chinese = client.get(f"{CASES}/{case['id']}", headers={**headers, "Accept-Language": "zh-CN"})
    assert chinese.json()["children"] == ["儿童 A"]


def test_intake_errors_are_problems_naming_the_field_as_the_body_spells_it(
    session: Session, cast: Cast, client: TestClient
) -> None:
    headers = _auth(session, cast.officer)
    child = _body(cast.site.id)["children"][0]
    for body, field in (
        (
            _body(cast.site.id, children=[{**child, "date_of_birth": "2015-01-01"}]),
            "children.0.date_of_birth",
        ),
        (_body(cast.site.id, children=[{**child, "sex": "X"}]), "children.0.sex"),
        (_body(cast.site.id, offence="speeding"), "offence"),
        (_body(cast.site.id, received_at="2026-01-01T08:00:00"), "received_at"),
        (_body(cast.site.id, children=[]), "children"),
        (_body(cast.bureau.id), "site_id"),
        (_body(cast.site.id, status="closed"), "status"),  # unknown keys are refused
    ):
        response = client.post(CASES, json=body, headers=headers)
        assert response.status_code == 422, (field, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"] == field


def test_a_team_member_lists_and_reads_the_case_and_an_outsider_gets_404(
    session: Session, cast: Cast, client: TestClient
) -> None:
    case = open_case(session, cast.officer, cast.site)
    join(session, case, cast.prosecutor, "prosecutor")
    session.commit()
    prosecutor = _auth(session, cast.prosecutor)
    assert [c["id"] for c in client.get(CASES, headers=prosecutor).json()] == [str(case.id)]
    detail = client.get(f"{CASES}/{case.id}", headers=prosecutor)
    assert detail.status_code == 200
    assert detail.json()["place"] == "某小学教师办公室"
    assert detail.json()["suspects"][0] == {
        "id": detail.json()["suspects"][0]["id"],
        "name": "王某",
        "id_type": "prc_id",
        "has_document": True,
        "registry_person_id": None,
    }
    outsider = _auth(session, cast.second_officer)
    assert client.get(CASES, headers=outsider).json() == []
    missing = client.get(f"{CASES}/{case.id}", headers=outsider)
    made_up = client.get(f"{CASES}/{case.site_id}", headers=outsider)
    assert missing.status_code == made_up.status_code == 404
    assert missing.json() == made_up.json()  # exactly like a case that does not exist
    # The operator and oversight never reach a case, whatever its id.
    for user in (cast.admin, cast.auditor):
        headers = _auth(session, user)
        assert client.get(f"{CASES}/{case.id}", headers=headers).status_code == 403
        assert client.get(f"{CASES}/{case.site_id}", headers=headers).status_code == 403


def test_the_identity_route_answers_the_team_and_audits_each_read(
    session: Session, cast: Cast, client: TestClient
) -> None:
    case = open_case(session, cast.officer, cast.site)
    (stored,) = repository.children_of(session, case.id)
    session.commit()
    path = f"{CASES}/{case.id}/children/{stored.id}/identity"
    officer, outsider = _auth(session, cast.officer), _auth(session, cast.second_officer)
    start = head(session)
    response = client.get(path, headers=officer)
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["id_number"]) == (CHILD_NAME, CHILD_NUMBER)
    assert events_since(session, start) == [("api:onestop:child_identity_read", "case_child")]
    start = head(session)
    assert client.get(path, headers=outsider).status_code == 404
    assert events_since(session, start) == []


def test_status_moves_and_refusals_over_the_api(
    session: Session, cast: Cast, client: TestClient
) -> None:
    case = open_case(session, cast.officer, cast.site)
    join(session, case, cast.prosecutor, "prosecutor")
    session.commit()
    headers = _auth(session, cast.officer)
    path = f"{CASES}/{case.id}/status"
    moved = client.post(path, json={"status": "joint_session_scheduled"}, headers=headers)
    assert moved.status_code == 200
    assert moved.json()["next_statuses"] == ["evidence_collected"]
    refused = client.post(path, json={"status": "judged"}, headers=headers)
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["field"] == "status"
    prosecutor = _auth(session, cast.prosecutor)
    assert (
        client.post(path, json={"status": "evidence_collected"}, headers=prosecutor).status_code
        == 403
    )


def test_members_are_added_and_removed_over_the_api(
    session: Session, cast: Cast, client: TestClient
) -> None:
    case = open_case(session, cast.officer, cast.site)
    session.commit()
    headers = _auth(session, cast.officer)
    path = f"{CASES}/{case.id}/members"
    added = client.post(
        path, json={"user_id": str(cast.support.id), "role": "support"}, headers=headers
    )
    assert added.status_code == 201
    member = next(m for m in added.json() if m["user_id"] == str(cast.support.id))
    outside = client.post(
        path, json={"user_id": str(cast.outside_support.id), "role": "medical"}, headers=headers
    )
    assert outside.status_code == 422
    assert outside.json()["errors"][0]["field"] == "user_id"
    assert client.delete(f"{path}/{member['id']}", headers=headers).status_code == 204
    support = _auth(session, cast.support)
    assert client.get(f"{CASES}/{case.id}", headers=support).status_code == 404
    lead = client.get(f"{CASES}/{case.id}", headers=headers).json()["team"][0]
    assert client.delete(f"{path}/{lead['id']}", headers=headers).status_code == 409
    session.expire_all()
    actions = session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_id == member["id"])
        .order_by(AuditEvent.seq)
    ).all()
    assert actions == ["api:onestop:member_add", "api:onestop:member_remove"]
