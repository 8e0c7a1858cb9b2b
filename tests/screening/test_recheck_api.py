"""Re-check (复查) appeals over the JSON API: enter, read, decide; what each party is told; the
refusals with their problem documents; and the routes' rows of the authorisation matrix."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shouhu.accounts.models import User
from shouhu.accounts.roles import OrgType, Permission, Role
from shouhu.core.audit.models import AuditEvent
from shouhu.identity.prc_id import latest_possible_date
from shouhu.screening import inquiries
from tests.factories.accounts import api_token, make_org, make_user
from tests.factories.lifecycle import principal_of
from tests.factories.registry import import_rows, prc_number, registry_row
from tests.registry.test_api import audit_head, audit_since, problem_fields
from tests.screening.test_inquiry_api import body
from tests.web.recheck_page_cases import (
    foreign_recheck,
    found_elsewhere,
    found_under_own_authority,
    own_recheck,
    received_today,
)

BORN = date(1980, 5, 17)
OFFENDER = prc_number("110101", BORN, 123)  # 王小明 of registry_row: child molestation
NAMESAKE = prc_number("310101", BORN, 457)  # 王小明 born the same day, another number
STRANGER = prc_number("110105", date(1992, 8, 8), 555)
GROUNDS = "本人从未受过处罚，身份证曾于2019年遗失。"
RECHECK_KEYS = {
    "id",
    "inquiry_id",
    "status",
    "received_on",
    "entered_at",
    "grounds",
    "document",
    "decided_at",
    "ground",
    "note",
    "answer",
    "certificate_code",
}


@dataclass
class Scene:
    """A university and a school under an authority, another authority, two reviewers."""

    session: Session
    client: TestClient
    users: dict[str, User]
    tokens: dict[str, str] = field(default_factory=dict)

    def call(self, who: str, method: str, path: str, json: Any = None, **params: Any) -> Response:
        """Call /api/v1 as one of the scene's users."""
        if who not in self.tokens:
            self.tokens[who] = api_token(self.session, self.users[who])
            self.session.commit()
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.client.request(
            method, f"/api/v1{path}", json=json, params=params or None, headers=headers
        )

    def actions(self, start: int) -> list[str]:
        """The re-check flow's audit actions since `start` (tokens' own events left out)."""
        return [a for a, _ in audit_since(self.session, start) if a.startswith("api:inquiry:")]


@pytest.fixture
def scene(
    session: Session, session_factory: sessionmaker[Session], client: TestClient, tmp_path: Path
) -> Scene:
    assert import_rows(session_factory, tmp_path / "registry.csv", [registry_row()]).complete
    authority = make_org(session, org_type=OrgType.EDUCATION_AUTHORITY)
    other_authority = make_org(session, org_type=OrgType.EDUCATION_AUTHORITY)
    university = make_org(
        session, org_type=OrgType.INSTITUTION, kind="university", parent=authority
    )
    bureau = make_org(session, org_type=OrgType.PUBLIC_SECURITY)
    cast = {
        "university_hr": (university, Role.INSTITUTION_HR),
        "officer": (authority, Role.EDUCATION_OFFICER),
        "other_officer": (other_authority, Role.EDUCATION_OFFICER),
        "reviewer": (bureau, Role.REGISTRY_REVIEWER),
        "second_reviewer": (bureau, Role.REGISTRY_REVIEWER),
    }
    users = {who: make_user(session, roles=(role,), org=org) for who, (org, role) in cast.items()}
    session.commit()
    return Scene(session, client, users)


def record_found(scene: Scene, number: str = OFFENDER) -> dict[str, Any]:
    """The university asks about the offender: record_found, with its certificate code."""
    response = scene.call("university_hr", "POST", "/inquiries", body(number))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert created["answer"] == "record_found"
    return created


def request_body(**extra: Any) -> dict[str, Any]:
    return {"grounds": GROUNDS, "received_on": received_today(), **extra}


def entered(scene: Scene, inquiry_id: str) -> dict[str, Any]:
    response = scene.call("officer", "POST", f"/inquiries/{inquiry_id}/rechecks", request_body())
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    assert set(found) == RECHECK_KEYS
    return found


def test_a_request_is_entered_overturned_and_the_institution_sees_the_new_answer(
    scene: Scene,
) -> None:
    start = audit_head(scene.session)
    inquiry = record_found(scene)
    path = f"/inquiries/{inquiry['id']}"
    assert scene.call("university_hr", "GET", path).json()["recheck"] is None

    recheck = entered(scene, inquiry["id"])
    assert (recheck["status"], recheck["grounds"], recheck["answer"]) == (
        "pending",
        GROUNDS,
        "record_found",
    )
    assert recheck["certificate_code"] == inquiry["certificate_code"]
    # The institution: "re-check pending" in a field of its own; the status stays documented.
    view = scene.call("university_hr", "GET", path).json()
    assert (view["status"], view["answer"], view["recheck"]) == (
        "completed",
        "record_found",
        "pending",
    )
    listed = scene.call("university_hr", "GET", "/inquiries").json()
    assert [(i["id"], i["recheck"]) for i in listed] == [(inquiry["id"], "pending")]
    # ... and nothing of the re-check itself.
    assert scene.call("university_hr", "GET", "/rechecks").status_code == 403
    assert scene.call("university_hr", "GET", f"/rechecks/{recheck['id']}").status_code == 403

    # Lists leave the grounds out; the officer's own authority's, the reviewers' queue.
    queue = scene.call("reviewer", "GET", "/rechecks", status="pending").json()
    assert [(r["id"], r["grounds"]) for r in queue] == [(recheck["id"], None)]
    assert [r["id"] for r in scene.call("officer", "GET", "/rechecks").json()] == [recheck["id"]]
    assert scene.call("other_officer", "GET", "/rechecks").json() == []
    read = scene.call("reviewer", "GET", f"/rechecks/{recheck['id']}").json()
    assert read["grounds"] == GROUNDS

    decided = scene.call(
        "reviewer",
        "POST",
        f"/rechecks/{recheck['id']}/decision",
        {"outcome": "overturned", "ground": "not_the_same_person", "note": "系另一人。"},
    )
    assert decided.status_code == 200, decided.text
    result = decided.json()
    assert (result["status"], result["ground"], result["note"], result["answer"]) == (
        "overturned",
        "not_the_same_person",
        "系另一人。",
        "no_record",
    )
    assert result["certificate_code"] not in {None, inquiry["certificate_code"]}
    # /verify of the old code: genuine, no longer current; the new one is current.
    old = scene.client.get(f"/api/v1/certificates/{inquiry['certificate_code']}").json()
    new = scene.client.get(f"/api/v1/certificates/{result['certificate_code']}").json()
    assert (old["current"], new["current"]) == (False, True)
    page = scene.client.get(f"/verify/{inquiry['certificate_code']}")
    assert 'data-verdict="superseded"' in page.text

    view = scene.call("university_hr", "GET", path).json()
    assert (view["answer"], view["recheck"]) == ("no_record", "overturned")
    # The authority is told the outcome, not the registry's reasons.
    told = scene.call("officer", "GET", f"/rechecks/{recheck['id']}").json()
    assert (told["status"], told["ground"], told["note"]) == ("overturned", None, None)
    # After an overturn the institution may hire.
    hired = scene.call("university_hr", "POST", f"{path}/decision", {"decision": "hired"})
    assert (hired.status_code, hired.json()["hiring"], hired.json()["recheck"]) == (
        200,
        "hired",
        "overturned",
    )
    assert scene.actions(start) == [
        "api:inquiry:submit",
        "api:inquiry:lookup",
        "api:inquiry:recheck_enter",
        "api:inquiry:recheck_view",
        "api:inquiry:recheck_overturn",
        "api:inquiry:recheck_view",
        "api:inquiry:hiring",
    ]
    details = " ".join(
        d or ""
        for d in scene.session.scalars(select(AuditEvent.details).where(AuditEvent.seq > start))
    )
    for secret in ("遗失", "另一人", "王小明", OFFENDER):
        assert secret not in details


def test_an_upheld_answer_keeps_its_certificate_current(scene: Scene) -> None:
    inquiry = record_found(scene)
    recheck = entered(scene, inquiry["id"])
    decided = scene.call(
        "reviewer",
        "POST",
        f"/rechecks/{recheck['id']}/decision",
        {"outcome": "upheld", "note": "身份证号码一致，记录有效。"},
    )
    assert decided.status_code == 200, decided.text
    assert (decided.json()["status"], decided.json()["answer"]) == ("upheld", "record_found")
    assert decided.json()["certificate_code"] == inquiry["certificate_code"]
    checked = scene.client.get(f"/api/v1/certificates/{inquiry['certificate_code']}").json()
    assert checked["current"] is True
    view = scene.call("university_hr", "GET", f"/inquiries/{inquiry['id']}").json()
    assert (view["answer"], view["recheck"]) == ("record_found", "upheld")
    refused = scene.call(
        "university_hr", "POST", f"/inquiries/{inquiry['id']}/decision", {"decision": "hired"}
    )
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"


def test_requests_are_refused_with_problems_naming_the_field(scene: Scene) -> None:
    inquiry = record_found(scene)
    path = f"/inquiries/{inquiry['id']}/rechecks"
    assert scene.call("university_hr", "POST", path, request_body()).status_code == 403
    assert scene.call("reviewer", "POST", path, request_body()).status_code == 403
    assert scene.call("other_officer", "POST", path, request_body()).status_code == 404
    unknown = scene.call("officer", "POST", f"/inquiries/{uuid.uuid4()}/rechecks", request_body())
    assert unknown.status_code == 404
    for bad, named in (
        ({"grounds": ""}, "grounds"),
        ({"grounds": "a\x00b"}, "grounds"),
        ({"received_on": "yesterday"}, "received_on"),
        ({"status": "overturned"}, "status"),
    ):
        refused = scene.call("officer", "POST", path, request_body(**bad))
        assert (refused.status_code, problem_fields(refused)) == (422, {named}), bad
    future = (latest_possible_date() + timedelta(days=3)).isoformat()
    late = scene.call("officer", "POST", path, request_body(received_on=future))
    assert (late.status_code, problem_fields(late)) == (422, {"received_on"})
    entered(scene, inquiry["id"])
    again = scene.call("officer", "POST", path, request_body())
    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    clean = scene.call("university_hr", "POST", "/inquiries", body(STRANGER, name="李四")).json()
    assert clean["answer"] == "no_record"
    not_found = scene.call("officer", "POST", f"/inquiries/{clean['id']}/rechecks", request_body())
    assert not_found.status_code == 409


def test_decisions_are_refused_with_problems_and_four_eyes_hold(scene: Scene) -> None:
    created = scene.call("university_hr", "POST", "/inquiries", body(NAMESAKE)).json()
    assert created["status"] == "under_review"
    inquiries.confirm_match(
        scene.session,
        actor=principal_of(scene.users["reviewer"]),
        inquiry_id=uuid.UUID(created["id"]),
    )
    scene.session.commit()
    recheck = entered(scene, created["id"])
    path = f"/rechecks/{recheck['id']}/decision"
    overturn = {"outcome": "overturned", "ground": "not_the_same_person", "note": "另一人。"}
    assert scene.call("officer", "POST", path, overturn).status_code == 403
    # The reviewer who confirmed the match does not decide the appeal against it.
    mine = scene.call("reviewer", "POST", path, overturn)
    assert (mine.status_code, mine.headers["content-type"]) == (403, "application/problem+json")
    for bad, named in (
        ({"outcome": "overturned", "note": "x"}, "ground"),
        ({"outcome": "upheld", "ground": "not_the_same_person", "note": "x"}, "ground"),
        ({"outcome": "maybe", "note": "x"}, "outcome"),
        ({"outcome": "upheld", "note": ""}, "note"),
        ({"outcome": "upheld"}, "note"),
    ):
        refused = scene.call("second_reviewer", "POST", path, bad)
        assert (refused.status_code, problem_fields(refused)) == (422, {named}), bad
    assert scene.call("second_reviewer", "POST", path, overturn).status_code == 200
    assert scene.call("second_reviewer", "POST", path, overturn).status_code == 409
    missing = scene.call("second_reviewer", "POST", f"/rechecks/{uuid.uuid4()}/decision", overturn)
    assert missing.status_code == 404
    assert scene.call("other_officer", "GET", f"/rechecks/{recheck['id']}").status_code == 404


# --- the authorisation matrix's rows ------------------------------------------------------------


def recheck_matrix_cases(case: type[Any]) -> list[Any]:
    """These routes' rows for the app-wide matrix, built with its `Case`.

    The matrix signs in `education_officer` for entering and reading (their authority's) and
    `registry_reviewer` for deciding; another authority's officer meets the 404.
    """
    enter, read = Permission.RECHECK_ENTER, Permission.RECHECK_READ
    decide, officer = Permission.RECHECK_DECIDE, Role.EDUCATION_OFFICER
    request = {"grounds": "本人不是该记录所涉人员。", "received_on": received_today()}
    return [
        case(
            "POST",
            "/api/v1/inquiries/{inquiry_id}/rechecks",
            enter,
            found_under_own_authority,
            foreign=found_elsewhere,
            foreign_role=officer,
            json=request,
            ok=(201,),
        ),
        case("GET", "/api/v1/rechecks", read),
        case(
            "GET",
            "/api/v1/rechecks/{recheck_id}",
            read,
            own_recheck,
            foreign=foreign_recheck,
            foreign_role=officer,
        ),
        case(
            "POST",
            "/api/v1/rechecks/{recheck_id}/decision",
            decide,
            own_recheck,
            json={"outcome": "upheld", "note": "记录有效。"},
        ),
    ]
