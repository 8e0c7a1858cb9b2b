"""Staff-access inquiries over the JSON API: the whole flow, the institution's narrow view, the
refusals, the repeats, the list, and every route's rows of the authorisation matrix."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shouhu.accounts.models import Organisation, User
from shouhu.accounts.roles import OrgType, Permission, Role
from shouhu.core.audit.models import AuditEvent
from shouhu.identity.prc_id import latest_possible_date
from shouhu.screening import inquiries
from shouhu.screening.models import Inquiry
from tests.factories.accounts import api_token, make_org, make_user
from tests.factories.lifecycle import principal_of
from tests.factories.registry import import_rows, prc_number, registry_row
from tests.registry.test_api import audit_head, audit_since, problem_fields

API = "/api/v1/inquiries"
BORN = date(1980, 5, 17)
OFFENDER = prc_number("110101", BORN, 123)  # 王小明 of registry_row: child molestation
NAMESAKE = prc_number("310101", BORN, 457)  # 王小明 born the same day, another number
STRANGER = prc_number("110105", date(1992, 8, 8), 555)
# The institution's view: these keys and no other (never the engine's outcome or the person).
VIEW_KEYS = {
    "id",
    "reference",
    "purpose",
    "position",
    "status",
    "answer",
    "policy_version",
    "submitted_at",
    "completed_at",
    "hiring",
    "recheck",  # the status of a re-check the candidate asked for, never its grounds
    "certificate_code",  # the code of the certificate in force, to verify it anywhere
}


def body(number: str, *, name: str = "王小明", **extra: Any) -> dict[str, Any]:
    """An inquiry about a candidate, with consent signed last week."""
    signed = latest_possible_date() - timedelta(days=7)
    return {
        "purpose": "school_staff",
        "subject": {"name": name, "id_type": "prc_id", "id_number": number},
        "consent": {"reference": "同意书-2026-001", "signed_on": signed.isoformat()},
        "position": "语文教师",
        "reference": "HR-0042",
        **extra,
    }


@dataclass
class Scene:
    """An authority with a school and a university, another authority's school, public security."""

    session: Session
    client: TestClient
    users: dict[str, User]
    tokens: dict[str, str] = field(default_factory=dict)

    def call(self, who: str, method: str, path: str, json: Any = None, **params: Any) -> Response:
        """Call the API as one of the scene's users."""
        if who not in self.tokens:
            self.tokens[who] = api_token(self.session, self.users[who])
            self.session.commit()
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.client.request(
            method, f"{API}{path}", json=json, params=params or None, headers=headers
        )


@pytest.fixture
def scene(
    session: Session, session_factory: sessionmaker[Session], client: TestClient, tmp_path: Path
) -> Scene:
    assert import_rows(session_factory, tmp_path / "registry.csv", [registry_row()]).complete
    authority = make_org(session, org_type=OrgType.EDUCATION_AUTHORITY)
    other_authority = make_org(session, org_type=OrgType.EDUCATION_AUTHORITY)
    orgs = {
        "school": make_org(session, org_type=OrgType.INSTITUTION, parent=authority),
        "university": make_org(
            session, org_type=OrgType.INSTITUTION, kind="university", parent=authority
        ),
        "other_school": make_org(
            session, org_type=OrgType.INSTITUTION, kind="kindergarten", parent=other_authority
        ),
        "authority": authority,
        "other_authority": other_authority,
        "bureau": make_org(session, org_type=OrgType.PUBLIC_SECURITY),
    }
    cast = {
        "school_hr": ("school", Role.INSTITUTION_HR),
        "university_hr": ("university", Role.INSTITUTION_HR),
        "other_school_hr": ("other_school", Role.INSTITUTION_HR),
        "officer": ("authority", Role.EDUCATION_OFFICER),
        "other_officer": ("other_authority", Role.EDUCATION_OFFICER),
        "reviewer": ("bureau", Role.REGISTRY_REVIEWER),
    }
    users = {
        who: make_user(session, roles=(role,), org=orgs[org]) for who, (org, role) in cast.items()
    }
    session.commit()
    return Scene(session, client, users)


def submitted(scene: Scene, who: str, payload: dict[str, Any]) -> dict[str, Any]:
    response = scene.call(who, "POST", "", payload)
    assert response.status_code == 201, response.text
    found: dict[str, Any] = response.json()
    assert set(found) == {"id", "status", "answer", "certificate_code"}
    # Every final answer, and only a final answer, has a signed certificate.
    assert (found["certificate_code"] is not None) == (found["status"] == "completed")
    return found


def _actions(scene: Scene, start: int) -> list[str]:
    # Tokens are made as users first call: only the inquiries' events are asserted.
    return [a for a, _ in audit_since(scene.session, start) if a.startswith("api:inquiry:")]


# --- the flows ----------------------------------------------------------------------------------


def test_a_schools_inquiry_is_approved_answered_and_the_hire_refused(scene: Scene) -> None:
    start = audit_head(scene.session)
    created = submitted(scene, "school_hr", body(OFFENDER))
    assert (created["status"], created["answer"]) == ("pending_approval", None)
    path = f"/{created['id']}"
    waiting = scene.call("school_hr", "GET", path).json()
    assert (waiting["status"], waiting["answer"], waiting["policy_version"]) == (
        "pending_approval",
        None,
        None,
    )
    # The school cannot approve its own inquiry: that is the authority's (maker-checker).
    assert scene.call("school_hr", "POST", f"{path}/approve").status_code == 403
    approved = scene.call("officer", "POST", f"{path}/approve")
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["answer"]) == ("completed", "record_found")
    assert scene.call("officer", "POST", f"{path}/approve").status_code == 409

    answered = scene.call("school_hr", "GET", path)
    assert answered.status_code == 200
    view = answered.json()
    assert set(view) == VIEW_KEYS
    assert (view["status"], view["answer"], view["purpose"]) == (
        "completed",
        "record_found",
        "school_staff",
    )
    assert (view["reference"], view["position"], view["policy_version"]) == (
        "HR-0042",
        "语文教师",
        2,
    )
    assert view["completed_at"] is not None
    for secret in ("王小明", OFFENDER, "child_molestation", "hit", "explanation", "score"):
        assert secret not in answered.text

    refused = scene.call("school_hr", "POST", f"{path}/decision", {"decision": "hired"})
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    not_hired = scene.call("school_hr", "POST", f"{path}/decision", {"decision": "not_hired"})
    assert not_hired.status_code == 200, not_hired.text
    assert not_hired.json()["hiring"] == "not_hired"
    assert _actions(scene, start) == [
        "api:inquiry:submit",
        "api:inquiry:approve",
        "api:inquiry:lookup",
        "api:inquiry:hiring_refused",  # kept although the request was refused
        "api:inquiry:hiring",
    ]


def test_the_whole_flow_over_the_api(scene: Scene) -> None:
    """Submit → approve → possible match → reviewer confirms → certificate verifies → no hire."""
    start = audit_head(scene.session)
    created = submitted(scene, "school_hr", body(NAMESAKE))
    assert created["status"] == "pending_approval"
    path = f"/{created['id']}"
    approved = scene.call("officer", "POST", f"{path}/approve").json()
    assert (approved["status"], approved["answer"], approved["certificate_code"]) == (
        "under_review",
        None,
        None,
    )
    queue = scene.client.get(
        "/api/v1/possible-matches", headers={"Authorization": f"Bearer {token(scene, 'reviewer')}"}
    )
    assert queue.status_code == 200
    [waiting] = queue.json()
    assert (waiting["id"], waiting["purpose"]) == (created["id"], "school_staff")
    assert waiting["score"] is not None
    for secret in ("王小明", NAMESAKE, OFFENDER):
        assert secret not in queue.text
    # Neither the school nor its authority may decide a possible match: the registry's reviewers do.
    for who in ("school_hr", "officer"):
        refused = scene.client.post(
            f"/api/v1/possible-matches{path}/confirm",
            headers={"Authorization": f"Bearer {token(scene, who)}"},
        )
        assert refused.status_code == 403
    confirmed = scene.client.post(
        f"/api/v1/possible-matches{path}/confirm",
        headers={"Authorization": f"Bearer {token(scene, 'reviewer')}"},
    )
    assert confirmed.status_code == 200, confirmed.text
    assert (confirmed.json()["status"], confirmed.json()["answer"]) == (
        "completed",
        "record_found",
    )
    again = scene.client.post(
        f"/api/v1/possible-matches{path}/clear",
        headers={"Authorization": f"Bearer {token(scene, 'reviewer')}"},
    )
    assert again.status_code == 409
    answer = scene.call("school_hr", "GET", path).json()
    assert (answer["status"], answer["answer"]) == ("completed", "record_found")
    code = answer["certificate_code"]
    verified = scene.client.get(f"/api/v1/certificates/{code}")  # anyone, no token
    assert verified.status_code == 200
    assert (verified.json()["genuine"], verified.json()["current"]) == (True, True)
    hire = scene.call("school_hr", "POST", f"{path}/decision", {"decision": "hired"})
    assert hire.status_code == 409
    assert hire.headers["content-type"] == "application/problem+json"
    assert scene.call("school_hr", "GET", path).json()["hiring"] is None
    actions = [a for a, _ in audit_since(scene.session, start) if ":inquiry:" in a]
    assert actions == [
        "api:inquiry:submit",
        "api:inquiry:approve",
        "api:inquiry:lookup",
        "api:inquiry:confirm",
        "api:inquiry:hiring_refused",
    ]


def token(scene: Scene, who: str) -> str:
    """The user's bearer token (made on first use)."""
    if who not in scene.tokens:
        scene.tokens[who] = api_token(scene.session, scene.users[who])
        scene.session.commit()
    return scene.tokens[who]


def test_a_possible_match_is_under_review_and_shows_nothing_else(scene: Scene) -> None:
    created = submitted(scene, "university_hr", body(NAMESAKE))
    assert (created["status"], created["answer"]) == ("under_review", None)
    shown = scene.call("university_hr", "GET", f"/{created['id']}")
    assert set(shown.json()) == VIEW_KEYS
    assert (shown.json()["status"], shown.json()["answer"]) == ("under_review", None)
    for secret in ("possible_match", "王小明", NAMESAKE, "reasons", "person"):
        assert secret not in shown.text
    # Hiring before the answer is refused as well.
    early = scene.call("university_hr", "POST", f"/{created['id']}/decision", {"decision": "hired"})
    assert early.status_code == 409
    inquiries.confirm_match(
        scene.session,
        actor=principal_of(scene.users["reviewer"]),
        inquiry_id=uuid.UUID(created["id"]),
    )
    scene.session.commit()
    confirmed = scene.call("university_hr", "GET", f"/{created['id']}").json()
    assert (confirmed["status"], confirmed["answer"]) == ("completed", "record_found")


def test_a_university_queries_directly_and_a_repeat_returns_the_earlier_inquiry(
    scene: Scene,
) -> None:
    first = submitted(scene, "university_hr", body(STRANGER, name="李四"))
    assert (first["status"], first["answer"]) == ("completed", "no_record")
    again = submitted(scene, "university_hr", body(STRANGER, name="李四"))
    assert again == first
    fresh = submitted(scene, "university_hr", body(STRANGER, name="李四", new_lookup=True))
    assert fresh["id"] != first["id"]
    hired = scene.call("university_hr", "POST", f"/{first['id']}/decision", {"decision": "hired"})
    assert (hired.status_code, hired.json()["hiring"]) == (200, "hired")


def test_the_authority_refuses_with_a_reason(scene: Scene) -> None:
    created = submitted(scene, "school_hr", body(STRANGER, name="李四"))
    path = f"/{created['id']}/refuse"
    assert scene.call("officer", "POST", path, {"reason": ""}).status_code == 422
    refused = scene.call("officer", "POST", path, {"reason": "被查询人不是应聘人员。"})
    assert refused.status_code == 200, refused.text
    assert (refused.json()["status"], refused.json()["answer"]) == ("refused", None)
    assert "不是应聘人员" not in refused.text
    assert scene.call("officer", "POST", f"/{created['id']}/approve").status_code == 409


def test_a_hiring_decision_changes_only_as_the_rule_allows(scene: Scene) -> None:
    clean = submitted(scene, "university_hr", body(STRANGER, name="李四"))
    found = submitted(scene, "university_hr", body(OFFENDER))
    start = audit_head(scene.session)

    def decide(inquiry: dict[str, Any], decision: str) -> Response:
        return scene.call(
            "university_hr", "POST", f"/{inquiry['id']}/decision", {"decision": decision}
        )

    for decision in ("hired", "hired", "not_hired", "hired"):
        answer = decide(clean, decision)
        assert (answer.status_code, answer.json()["hiring"]) == (200, decision)
    assert decide(found, "not_hired").status_code == 200
    # Not hired after a record stays not hired: a later hire is refused, and the refusal kept.
    refused = decide(found, "hired")
    assert (refused.status_code, refused.headers["content-type"]) == (
        409,
        "application/problem+json",
    )
    assert scene.call("university_hr", "GET", f"/{found['id']}").json()["hiring"] == "not_hired"
    assert _actions(scene, start) == [
        "api:inquiry:hiring",
        "api:inquiry:hiring",  # the repeated "hired" changed nothing and recorded nothing
        "api:inquiry:hiring",
        "api:inquiry:hiring",
        "api:inquiry:hiring_refused",
    ]


# --- refusals -----------------------------------------------------------------------------------


def test_no_consent_no_inquiry_and_the_field_is_named(scene: Scene) -> None:
    missing = body(OFFENDER)
    del missing["consent"]
    response = scene.call("university_hr", "POST", "", missing)
    assert response.status_code == 422
    assert problem_fields(response) == {"consent"}
    blank = body(OFFENDER, consent={"reference": " ", "signed_on": "2026-01-01"})
    assert "consent.reference" in problem_fields(scene.call("university_hr", "POST", "", blank))
    stale = (latest_possible_date() - timedelta(days=400)).isoformat()
    old = body(OFFENDER, consent={"reference": "同意书-1", "signed_on": stale})
    assert problem_fields(scene.call("university_hr", "POST", "", old)) == {"consent.signed_on"}
    count = scene.session.scalar(select(Inquiry.id).limit(1))
    assert count is None


def test_an_invalid_identity_number_names_the_field(scene: Scene) -> None:
    wrong = OFFENDER[:-1] + ("0" if OFFENDER[-1] != "0" else "1")
    response = scene.call("university_hr", "POST", "", body(wrong))
    assert response.status_code == 422
    assert problem_fields(response) == {"subject.id_number"}
    for bad in ({"purpose": "curiosity"}, {"position": ""}, {"status": "completed"}):
        refused = scene.call("university_hr", "POST", "", body(OFFENDER, **bad))
        assert refused.status_code == 422
        assert problem_fields(refused) == set(bad)


def test_another_institutions_inquiry_is_404_and_another_authority_cannot_approve(
    scene: Scene,
) -> None:
    created = submitted(scene, "school_hr", body(STRANGER, name="李四"))
    path = f"/{created['id']}"
    assert scene.call("other_school_hr", "GET", path).status_code == 404
    assert scene.call("university_hr", "GET", path).status_code == 404  # same authority, too
    decision = {"decision": "not_hired"}
    assert scene.call("other_school_hr", "POST", f"{path}/decision", decision).status_code == 404
    assert scene.call("other_officer", "POST", f"{path}/approve").status_code == 404
    refuse = {"reason": "不是应聘人员"}
    assert scene.call("other_officer", "POST", f"{path}/refuse", refuse).status_code == 404
    # An id that was never issued answers exactly as another institution's does.
    unknown = scene.call("other_school_hr", "GET", f"/{uuid.uuid4()}")
    assert (unknown.status_code, unknown.json()["title"]) == (
        404,
        scene.call("other_school_hr", "GET", path).json()["title"],
    )
    assert scene.call("school_hr", "GET", path).json()["status"] == "pending_approval"


def test_the_list_is_the_callers_own_newest_first_and_filtered(scene: Scene) -> None:
    pending = submitted(scene, "school_hr", body(OFFENDER))
    done = submitted(scene, "school_hr", body(STRANGER, name="李四", purpose="close_contact"))
    assert scene.call("officer", "POST", f"/{done['id']}/approve").status_code == 200
    submitted(scene, "other_school_hr", body(STRANGER, name="李四"))
    everything = scene.call("school_hr", "GET", "")
    assert everything.status_code == 200
    assert [i["id"] for i in everything.json()] == [done["id"], pending["id"]]
    assert all(set(i) == VIEW_KEYS for i in everything.json())
    waiting = scene.call("school_hr", "GET", "", status="pending_approval").json()
    assert [i["id"] for i in waiting] == [pending["id"]]
    completed = scene.call("school_hr", "GET", "", status="completed").json()
    assert [(i["id"], i["answer"]) for i in completed] == [(done["id"], "no_record")]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert scene.call("school_hr", "GET", "", since=later).json() == []
    earlier = (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None).isoformat()
    assert len(scene.call("school_hr", "GET", "", since=earlier).json()) == 2
    assert [i["id"] for i in scene.call("school_hr", "GET", "", limit=1, offset=1).json()] == [
        pending["id"]
    ]
    misspelt = scene.call("school_hr", "GET", "", sinse=earlier)
    assert (misspelt.status_code, problem_fields(misspelt)) == (422, {"sinse"})
    assert scene.call("school_hr", "GET", "", status="maybe").status_code == 422
    assert scene.call("school_hr", "GET", "", since="0001-01-01T00:00:00+01:00").status_code == 422
    assert scene.call("other_school_hr", "GET", "").json()[0]["id"] not in {
        pending["id"],
        done["id"],
    }


def test_the_audit_details_carry_no_personal_data(scene: Scene) -> None:
    start = audit_head(scene.session)
    submitted(scene, "university_hr", body(OFFENDER))
    details = " ".join(
        d or ""
        for d in scene.session.scalars(select(AuditEvent.details).where(AuditEvent.seq > start))
    )
    for secret in ("王小明", OFFENDER):
        assert secret not in details


# --- the authorisation matrix's rows ------------------------------------------------------------


def _inquiry(
    session: Session, institution: Organisation, *, status: str, answer: str | None = None
) -> Inquiry:
    """An inquiry of the institution, stored as the service leaves it."""
    hr = make_user(session, roles=(Role.INSTITUTION_HR,), org=institution)
    inquiry = Inquiry(
        institution_id=institution.id,
        authority_id=institution.parent_id,
        submitted_by_id=hr.id,
        purpose="school_staff",
        subject_index=uuid.uuid4().hex,
        consent_reference="同意书-1",
        consent_signed_on=latest_possible_date(),
        status=status,
        answer=answer,
    )
    inquiry.ensure_id()
    inquiry.subject = {"name": "李四", "id_type": "prc_id", "id_number": STRANGER}
    session.add(inquiry)
    session.flush()
    return inquiry


def own_answered(session: Session, user: User) -> dict[str, Any]:
    """A `no_record` inquiry of the user's own organisation."""
    org = session.get_one(Organisation, user.organisation_id)
    return {"inquiry_id": _inquiry(session, org, status="completed", answer="no_record").id}


def foreign_answered(session: Session, _user: User) -> dict[str, Any]:
    """A `no_record` inquiry of another institution."""
    org = make_org(session, org_type=OrgType.INSTITUTION, kind="university")
    return {"inquiry_id": _inquiry(session, org, status="completed", answer="no_record").id}


def awaiting_own_authority(session: Session, user: User) -> dict[str, Any]:
    """A school's inquiry waiting for the user's authority."""
    authority = session.get_one(Organisation, user.organisation_id)
    school = make_org(session, org_type=OrgType.INSTITUTION, parent=authority)
    return {"inquiry_id": _inquiry(session, school, status="pending_approval").id}


def inquiry_matrix_cases(case: type[Any]) -> list[Any]:
    """These routes' rows for the app-wide matrix, built with its `Case`.

    That matrix signs in the lowest-sorting allowed role: an education officer, who holds
    `inquiry:submit` as its authority's own institution and `inquiry:approve` for its schools.
    Another organisation's inquiry is tested there as an institution's HR on the institution's
    routes; another authority's officer meets the 404 of approval in the tests above.
    """
    from tests.web.inquiry_page_cases import possible_match  # noqa: PLC0415 - a cycle otherwise

    submit, approve = Permission.INQUIRY_SUBMIT, Permission.INQUIRY_APPROVE
    review, matches = Permission.INQUIRY_REVIEW, "/api/v1/possible-matches"
    return [
        case("GET", matches, review),
        case("POST", f"{matches}/{{inquiry_id}}/confirm", review, possible_match),
        case("POST", f"{matches}/{{inquiry_id}}/clear", review, possible_match),
        case("POST", API, submit, json=body(STRANGER, name="李四"), ok=(201,)),
        case("GET", API, submit),
        case("GET", f"{API}/{{inquiry_id}}", submit, own_answered, foreign=foreign_answered),
        case(
            "POST",
            f"{API}/{{inquiry_id}}/decision",
            submit,
            own_answered,
            foreign=foreign_answered,
            json={"decision": "hired"},
        ),
        case("POST", f"{API}/{{inquiry_id}}/approve", approve, awaiting_own_authority),
        case(
            "POST",
            f"{API}/{{inquiry_id}}/refuse",
            approve,
            awaiting_own_authority,
            json={"reason": "被查询人不是应聘人员。"},
        ),
    ]
