"""The sessions and interviews API: scheduling, arrivals, the flag, the single interview's 409
naming the field and what to do, the prosecutor's approval, counts across cases; matrix rows."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from shouhu.accounts.roles import Permission, Role
from shouhu.core.database import utcnow
from shouhu.onestop import repository
from tests.factories.onestop import Cast, join, open_case
from tests.onestop.conftest import events_since, head
from tests.onestop.test_api import _auth
from tests.web.onestop_page_cases import foreign_case, own_case
from tests.web.onestop_session_page_cases import (
    foreign_case_interviewed,
    foreign_case_with_empty_session,
    foreign_case_with_session,
    latest,
    own_case_with_empty_session,
    own_case_with_session,
    prosecutor_case_interviewed,
)

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import User

CASES = "/api/v1/onestop/cases"


def _ago(minutes: float) -> str:
    return (utcnow() - timedelta(minutes=minutes)).isoformat()


# --- the matrix's rows --------------------------------------------------------------------------


def _interview_body(session: Session, user: User) -> dict[str, Any]:
    _case_id, member_id, child_id = latest(session, user)
    return {
        "child_id": str(child_id),
        "interviewer_id": str(member_id),
        "started_at": _ago(90),
        "ended_at": _ago(60),
        "recorded": True,
    }


def _approval_body(session: Session, user: User) -> dict[str, Any]:
    _case_id, _member_id, child_id = latest(session, user)
    return {"child_id": str(child_id), "reason": "首次询问录像损坏。"}


def session_matrix_cases(case: type[Any]) -> list[Any]:
    """These routes' rows for the app-wide matrix, built with its `Case`."""
    read, manage = Permission.ONESTOP_CASES_READ, Permission.ONESTOP_CASES_MANAGE
    approve = Permission.ONESTOP_INTERVIEW_APPROVE
    officer, prosecutor = Role.CASE_OFFICER, Role.PROSECUTOR
    base = CASES + "/{case_id}"
    mine = {"foreign": foreign_case, "foreign_role": officer}
    with_session = {"foreign": foreign_case_with_session, "foreign_role": officer}
    empty = {"foreign": foreign_case_with_empty_session, "foreign_role": officer}
    return [
        case("GET", base + "/sessions", read, own_case, **mine),
        case(
            "POST",
            base + "/sessions",
            manage,
            own_case,
            json={"scheduled_for": (utcnow() + timedelta(days=1)).isoformat()},
            ok=(201,),
            **mine,
        ),
        case("GET", base + "/sessions/{session_id}", read, own_case_with_session, **with_session),
        case(
            "POST",
            base + "/sessions/{session_id}/reschedule",
            manage,
            own_case_with_empty_session,
            json={
                "scheduled_for": (utcnow() + timedelta(days=2)).isoformat(),
                "reason": "监护人因病无法到场。",
            },
            **empty,
        ),
        case(
            "POST",
            base + "/sessions/{session_id}/cancel",
            manage,
            own_case_with_empty_session,
            json={"reason": "被害人已转院，另行安排。"},
            **empty,
        ),
        case(
            "POST",
            base + "/sessions/{session_id}/arrivals",
            manage,
            own_case_with_session,
            json={"agency": "guardian", "person_name": "李强", "arrived_at": _ago(30)},
            ok=(201,),
            **with_session,
        ),
        case(
            "POST",
            base + "/sessions/{session_id}/arrivals/{arrival_id}/departure",
            manage,
            own_case_with_session,
            json={"departed_at": _ago(10)},
            **with_session,
        ),
        case("GET", base + "/interviews", read, own_case, **mine),
        case(
            "POST",
            base + "/interviews",
            manage,
            own_case,
            json_build=_interview_body,
            ok=(201,),
            **mine,
        ),
        case(
            "POST",
            base + "/interviews/second-approvals",
            approve,
            prosecutor_case_interviewed,
            foreign=foreign_case_interviewed,
            foreign_role=prosecutor,
            json_build=_approval_body,
            ok=(201,),
        ),
    ]


# --- the flows ----------------------------------------------------------------------------------


def test_scheduling_arrivals_and_the_flag_over_the_api(
    session: Session, cast: Cast, client: TestClient
) -> None:
    case = open_case(session, cast.officer, cast.site)
    forensic = join(session, case, cast.forensic, "forensic")
    officer = _auth(session, cast.officer)
    answer = client.post(
        f"{CASES}/{case.id}/sessions",
        json={"scheduled_for": _ago(60), "required": ["legal_aid"]},
        headers=officer,
    )
    assert answer.status_code == 201, answer.text
    joint = answer.json()
    assert joint["required"] == [
        "criminal_investigation",
        "forensics",
        "procuratorate",
        "legal_aid",
    ]
    assert joint["flagged"] is True
    assert joint["missing"] == joint["required"]
    case_read = client.get(f"{CASES}/{case.id}", headers=officer).json()
    assert case_read["status"] == "joint_session_scheduled"
    path = f"{CASES}/{case.id}/sessions/{joint['id']}"
    answer = client.post(
        path + "/arrivals",
        json={"agency": "forensics", "member_id": str(forensic.id), "arrived_at": _ago(55)},
        headers=officer,
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["missing"] == ["criminal_investigation", "procuratorate", "legal_aid"]
    assert answer.json()["arrivals"][0]["username"] == cast.forensic.username
    # A problem naming the field.
    answer = client.post(
        path + "/arrivals",
        json={"agency": "guardian", "person_name": " ", "arrived_at": _ago(50)},
        headers=officer,
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "person_name" in answer.text
    client.post(
        path + "/arrivals",
        json={"agency": "guardian", "person_name": "李强", "arrived_at": _ago(50)},
        headers=officer,
    )
    # The list leaves out the guardian's name; the audited read shows it.
    listed = client.get(f"{CASES}/{case.id}/sessions", headers=officer).json()
    assert [a["person_name"] for a in listed[0]["arrivals"]] == [None, None]
    start = head(session)
    read = client.get(path, headers=officer).json()
    assert [a["person_name"] for a in read["arrivals"]] == [None, "李强"]
    assert ("api:onestop:session_view", "joint_session") in events_since(session, start)


def test_the_second_interview_is_a_409_until_the_prosecutor_approves(
    session: Session, cast: Cast, client: TestClient
) -> None:
    case = open_case(session, cast.officer, cast.site)
    forensic = join(session, case, cast.forensic, "forensic")
    join(session, case, cast.prosecutor, "prosecutor")
    (child,) = repository.children_of(session, case.id)
    officer, prosecutor = _auth(session, cast.officer), _auth(session, cast.prosecutor)
    body = {
        "child_id": str(child.id),
        "interviewer_id": str(forensic.id),
        "started_at": _ago(120),
        "ended_at": _ago(90),
        "recorded": True,
    }
    first = client.post(f"{CASES}/{case.id}/interviews", json=body, headers=officer)
    assert first.status_code == 201, first.text
    assert (first.json()["number"], first.json()["letter"]) == (1, "A")
    refused = client.post(
        f"{CASES}/{case.id}/interviews", json=body, headers={**officer, "Accept-Language": "en"}
    )
    assert refused.status_code == 409
    problem = refused.json()
    assert "Child A has already been interviewed" in problem["detail"]
    assert "prosecutor" in problem["detail"]
    assert "child_id" in refused.text
    chinese = client.post(f"{CASES}/{case.id}/interviews", json=body, headers=officer).json()
    assert "儿童 A 在本案中已接受过询问" in chinese["detail"]
    # A case officer holds no approval permission: 403 at the route.
    approval = {"child_id": str(child.id), "reason": "录像损坏"}
    url = f"{CASES}/{case.id}/interviews/second-approvals"
    assert client.post(url, json=approval, headers=officer).status_code == 403
    approved = client.post(url, json=approval, headers=prosecutor)
    assert approved.status_code == 201, approved.text
    second = client.post(f"{CASES}/{case.id}/interviews", json=body, headers=officer)
    assert second.status_code == 201
    assert second.json()["approval_id"] == approved.json()["id"]
    listed = client.get(f"{CASES}/{case.id}/interviews", headers=officer).json()
    (counts,) = listed["children"]
    assert counts == {
        "child_id": str(child.id),
        "letter": "A",
        "in_case": 2,
        "approved_further": 1,
        "pending_approval": False,
        "in_all_cases": 2,
        "recognised": True,
    }


def test_an_outsider_gets_404_for_sessions_and_interviews(
    session: Session, cast: Cast, client: TestClient
) -> None:
    case = open_case(session, cast.officer, cast.site)
    outsider = _auth(session, cast.second_officer)
    for path in ("/sessions", "/interviews"):
        assert client.get(f"{CASES}/{case.id}{path}", headers=outsider).status_code == 404
