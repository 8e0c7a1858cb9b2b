"""The joint session and interview pages over HTTP: scheduling from the case page, the session's
record with arrivals and the flag, the interview refusal beside its form, the prosecutor's
approval, and the counts on the case page, in both languages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from shouhu.accounts.roles import Role
from shouhu.core.database import utcnow
from shouhu.onestop import joint_sessions, repository
from tests.factories.lifecycle import principal_of
from tests.factories.onestop import join, make_cast, open_case
from tests.web.conftest import SignedInClient

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Signer = Callable[..., SignedInClient]
ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


def _local(hours_ago: float) -> str:
    return (utcnow() + timedelta(hours=8 - hours_ago)).strftime("%Y-%m-%dT%H:%M")


def test_scheduling_and_arrivals_through_the_pages_show_the_flag(
    session: Session, signed_in: Signer
) -> None:
    cast = make_cast(session)
    case = open_case(session, cast.officer, cast.site)
    forensic = join(session, case, cast.forensic, "forensic")
    session.commit()
    client, _, csrf = signed_in(user=cast.officer)
    page = client.get(f"/onestop/cases/{case.id}", headers=EN).text
    assert 'data-testid="schedule-form"' in page
    assert "No joint session is scheduled yet." in page
    # The defaults are ticked: medical (molestation), the Women's Federation (a girl).
    assert 'value="medical" checked' in page
    assert 'value="legal_aid">' in page
    answer = client.post(
        f"/onestop/cases/{case.id}/sessions",
        data={"csrf_token": csrf, "sched_for": _local(1), "required": ["guardian"]},
        headers=EN,
    )
    assert answer.status_code == 303, answer.text
    session_path = answer.headers["location"]
    (joint,) = joint_sessions.sessions_of(session, case.id)
    assert session_path == f"/onestop/cases/{case.id}/sessions/{joint.id}"
    page = client.get(session_path, headers=EN).text
    assert 'data-flagged="true"' in page
    assert "A required agency was absent" in page
    # A refused arrival names its field beside the form.
    answer = client.post(
        session_path + "/arrivals",
        data={"csrf_token": csrf, "agency": "guardian", "arrived_at": _local(0.5)},
        headers=EN,
    )
    assert answer.status_code == 422
    assert 'data-testid="error-person_name"' in answer.text
    for agency, member in (
        ("criminal_investigation", repository.membership(session, case.id, cast.officer.id)),
        ("forensics", forensic),
    ):
        assert member is not None
        answer = client.post(
            session_path + "/arrivals",
            data={
                "csrf_token": csrf,
                "agency": agency,
                "member_id": str(member.id),
                "arrived_at": _local(0.9),
            },
        )
        assert answer.status_code == 303, answer.text
    client.post(
        session_path + "/arrivals",
        data={
            "csrf_token": csrf,
            "agency": "guardian",
            "person_name": "李强",
            "arrived_at": _local(0.8),
        },
    )
    page = client.get(session_path, headers=ZH).text
    assert "李强" in page
    assert "检察" in page  # the procuratorate is still absent
    # The required agencies are listed with the Chinese enumeration comma, as Chinese is written.
    required = page.split("应到单位", 1)[1].split("</td>", 1)[0]
    assert "刑事侦查、" in required
    assert ", " not in required
    assert 'data-flagged="true"' in page
    case_page = client.get(f"/onestop/cases/{case.id}", headers=ZH).text
    assert 'data-testid="session-flag"' in case_page
    assert "有应到单位缺席" in case_page
    assert "李强" not in case_page  # the guardian's name only on the audited record


def test_the_interview_refusal_and_the_prosecutors_approval_through_the_pages(
    session: Session, signed_in: Signer
) -> None:
    cast = make_cast(session)
    case = open_case(session, cast.officer, cast.site)
    forensic = join(session, case, cast.forensic, "forensic")
    join(session, case, cast.prosecutor, "prosecutor")
    (child,) = repository.children_of(session, case.id)
    session.commit()
    officer, _, csrf = signed_in(user=cast.officer)
    form = {
        "csrf_token": csrf,
        "iv_child_id": str(child.id),
        "iv_interviewer_id": str(forensic.id),
        "iv_started_at": _local(2),
        "iv_ended_at": _local(1.5),
        "iv_recorded": "on",
    }
    answer = officer.post(f"/onestop/cases/{case.id}/interviews", data=form)
    assert answer.status_code == 303, answer.text
    refused = officer.post(f"/onestop/cases/{case.id}/interviews", data=form, headers=EN)
    assert refused.status_code == 409
    assert 'data-testid="error-iv_child_id"' in refused.text
    assert "Child A has already been interviewed in this case" in refused.text
    assert 'data-testid="approval-form"' not in refused.text  # a case officer approves nothing
    prosecutor, _, prosecutor_csrf = signed_in(user=cast.prosecutor)
    page = prosecutor.get(f"/onestop/cases/{case.id}", headers=ZH).text
    assert 'data-testid="approval-form"' in page
    assert 'data-testid="interview-form"' not in page
    empty = prosecutor.post(
        f"/onestop/cases/{case.id}/interviews/second-approvals",
        data={"csrf_token": prosecutor_csrf, "ap_child_id": str(child.id), "ap_reason": ""},
        headers=EN,
    )
    assert empty.status_code == 422
    assert 'data-testid="error-ap_reason"' in empty.text
    approved = prosecutor.post(
        f"/onestop/cases/{case.id}/interviews/second-approvals",
        data={
            "csrf_token": prosecutor_csrf,
            "ap_child_id": str(child.id),
            "ap_reason": "首次询问录像损坏，需补充询问。",
        },
    )
    assert approved.status_code == 303, approved.text
    answer = officer.post(f"/onestop/cases/{case.id}/interviews", data=form)
    assert answer.status_code == 303, answer.text
    page = officer.get(f"/onestop/cases/{case.id}", headers=ZH).text
    row = page.split('data-testid="child-interview-A"')[1].split("</tr>")[0]
    assert 'data-testid="in-case">2<' in row
    assert 'data-testid="approved-further">1' in row
    assert 'data-testid="all-cases">2' in row
    assert "首次询问录像损坏" in page
    assert "经检察官批准" in page


def test_an_outsider_gets_404_for_a_session_page(session: Session, signed_in: Signer) -> None:
    cast = make_cast(session)
    case = open_case(session, cast.officer, cast.site)
    joint = joint_sessions.schedule_session(
        session,
        actor=principal_of(cast.officer),
        case_id=case.id,
        site_id=None,
        scheduled_for=utcnow(),
    )
    session.commit()
    outsider, _, _ = signed_in(Role.CASE_OFFICER)
    assert outsider.get(f"/onestop/cases/{case.id}/sessions/{joint.id}").status_code == 404
