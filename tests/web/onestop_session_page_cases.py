"""Authorisation-matrix rows of joint sessions and interviews: pages here, the API's builders too.

Builders put the signed-in user on a fresh case's team (as `own_case` does) and add what a route
needs: a session, an arrival, a first interview. Form and body builders see only the user, so
they find the user's latest case; a user on no team (a foreign or a wrong role) gets ids of
nothing, and the route's 404 or 403 comes before them.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from shouhu.accounts.roles import Permission, Role
from shouhu.core.database import utcnow
from shouhu.onestop import repository
from shouhu.onestop.models import CaseMember, OneStopCase
from shouhu.onestop.session_models import ForensicInterview, JointSession, SessionArrival
from tests.factories.onestop import join
from tests.web.onestop_page_cases import _case, foreign_case, own_case

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import User

BEIJING_HOURS = 8


def add_session(session: Session, case_id: uuid.UUID) -> JointSession:
    """A joint session of the case an hour ago, the core agencies required."""
    case = session.get_one(OneStopCase, case_id)
    joint = JointSession(
        case_id=case.id,
        site_id=case.site_id,
        scheduled_for=utcnow() - timedelta(hours=1),
        required="criminal_investigation,forensics,procuratorate",
        scheduled_by_id=case.opened_by_id,
    )
    joint.ensure_id()
    session.add(joint)
    session.flush()
    return joint


def add_interview(session: Session, case_id: uuid.UUID, child_id: uuid.UUID) -> ForensicInterview:
    """A first recorded interview of the child, by the case's lead."""
    lead = session.scalars(
        select(CaseMember).where(CaseMember.case_id == case_id, CaseMember.role == "lead_officer")
    ).one()
    start = utcnow() - timedelta(hours=2)
    interview = ForensicInterview(
        case_id=case_id,
        child_id=child_id,
        number=1,
        interviewer_id=lead.id,
        started_at=start,
        ended_at=start + timedelta(minutes=30),
        recorded=True,
        recorded_by_id=lead.user_id,
    )
    session.add(interview)
    session.flush()
    return interview


def _with_session(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    joint = add_session(session, values["case_id"])
    case = session.get_one(OneStopCase, values["case_id"])
    arrival = SessionArrival(
        session_id=joint.id,
        agency="criminal_investigation",
        member_id=session.scalars(
            select(CaseMember.id).where(
                CaseMember.case_id == case.id, CaseMember.role == "lead_officer"
            )
        ).one(),
        arrived_at=utcnow() - timedelta(minutes=50),
        recorded_by_id=case.opened_by_id,
    )
    arrival.ensure_id()
    session.add(arrival)
    session.flush()
    return {**values, "session_id": joint.id, "arrival_id": arrival.id}


def own_case_with_empty_session(session: Session, user: User) -> dict[str, Any]:
    """As `own_case`, with a session tomorrow that nobody has arrived at."""
    values = own_case(session, user)
    joint = add_session(session, values["case_id"])
    joint.scheduled_for = utcnow() + timedelta(days=1)
    session.flush()
    return {**values, "session_id": joint.id}


def foreign_case_with_empty_session(session: Session, user: User) -> dict[str, Any]:
    """Another team's case with a session nobody has arrived at."""
    values = foreign_case(session, user)
    joint = add_session(session, values["case_id"])
    return {**values, "session_id": joint.id}


def own_case_with_session(session: Session, user: User) -> dict[str, Any]:
    """As `own_case`, with a session and an arrival that has not left."""
    return _with_session(session, own_case(session, user))


def foreign_case_with_session(session: Session, user: User) -> dict[str, Any]:
    """Another team's case with a session and an arrival."""
    return _with_session(session, foreign_case(session, user))


def prosecutor_case_interviewed(session: Session, user: User) -> dict[str, Any]:
    """A case with the user on its team as prosecutor, its child once interviewed."""
    case = _case(session)
    join(session, case, user, "prosecutor")
    (child,) = repository.children_of(session, case.id)
    add_interview(session, case.id, child.id)
    return {"case_id": case.id, "child_id": child.id}


def foreign_case_interviewed(session: Session, user: User) -> dict[str, Any]:
    """Another team's case, its child once interviewed."""
    values = foreign_case(session, user)
    add_interview(session, values["case_id"], values["child_id"])
    return values


def latest(session: Session, user: User) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """(case, member, child) ids of the user's latest case, or ids of nothing."""
    member = session.scalars(
        select(CaseMember)
        .where(CaseMember.user_id == user.id, CaseMember.removed_at.is_(None))
        .order_by(CaseMember.added_at.desc())
        .limit(1)
    ).first()
    if member is None:
        return uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    (child,) = repository.children_of(session, member.case_id)
    return member.case_id, member.id, child.id


def local(moment_hours_ago: float) -> str:
    """A form's local (UTC+8) time, some hours ago."""
    moment = utcnow() + timedelta(hours=BEIJING_HOURS) - timedelta(hours=moment_hours_ago)
    return moment.strftime("%Y-%m-%dT%H:%M")


def schedule_form(_session: Session, _user: User) -> dict[str, Any]:
    """Tomorrow, with the case's defaults."""
    return {"sched_for": local(-24), "required": ["medical", "guardian"]}


def arrival_form(_session: Session, _user: User) -> dict[str, Any]:
    """The guardian arrives."""
    return {"agency": "guardian", "person_name": "李强", "arrived_at": local(0.5)}


def interview_form(session: Session, user: User) -> dict[str, Any]:
    """The user interviews the child of their latest case."""
    _case_id, member_id, child_id = latest(session, user)
    return {
        "iv_child_id": str(child_id),
        "iv_interviewer_id": str(member_id),
        "iv_started_at": local(2),
        "iv_ended_at": local(1.5),
        "iv_recorded": "on",
    }


def approval_form(session: Session, user: User) -> dict[str, Any]:
    """An approval for the child of the user's latest case."""
    _case_id, _member_id, child_id = latest(session, user)
    return {"ap_child_id": str(child_id), "ap_reason": "首次询问录像损坏，需补充询问。"}


def cases(case: type[Any]) -> list[Any]:
    """The session and interview pages' cases, built with the matrix's `Case`."""
    read, manage = Permission.ONESTOP_CASES_READ, Permission.ONESTOP_CASES_MANAGE
    approve = Permission.ONESTOP_INTERVIEW_APPROVE
    officer, prosecutor = Role.CASE_OFFICER, Role.PROSECUTOR
    base = "/onestop/cases/{case_id}"
    return [
        case(
            "POST",
            base + "/sessions",
            manage,
            own_case,
            foreign=foreign_case,
            foreign_role=officer,
            form_build=schedule_form,
            ok=(303,),
        ),
        case(
            "GET",
            base + "/sessions/{session_id}",
            read,
            own_case_with_session,
            foreign=foreign_case_with_session,
            foreign_role=officer,
        ),
        case(
            "POST",
            base + "/sessions/{session_id}/reschedule",
            manage,
            own_case_with_empty_session,
            foreign=foreign_case_with_empty_session,
            foreign_role=officer,
            form={"rs_for": local(-48), "rs_reason": "监护人因病无法到场。"},
            ok=(303,),
        ),
        case(
            "POST",
            base + "/sessions/{session_id}/cancel",
            manage,
            own_case_with_empty_session,
            foreign=foreign_case_with_empty_session,
            foreign_role=officer,
            form={"cx_reason": "被害人已转院，另行安排。"},
            ok=(303,),
        ),
        case(
            "POST",
            base + "/sessions/{session_id}/arrivals",
            manage,
            own_case_with_session,
            foreign=foreign_case_with_session,
            foreign_role=officer,
            form_build=arrival_form,
            ok=(303,),
        ),
        case(
            "POST",
            base + "/sessions/{session_id}/arrivals/{arrival_id}/departure",
            manage,
            own_case_with_session,
            foreign=foreign_case_with_session,
            foreign_role=officer,
            form={"departed_at": local(0.2)},
            ok=(303,),
        ),
        case(
            "POST",
            base + "/interviews",
            manage,
            own_case,
            foreign=foreign_case,
            foreign_role=officer,
            form_build=interview_form,
            ok=(303,),
        ),
        case(
            "POST",
            base + "/interviews/second-approvals",
            approve,
            prosecutor_case_interviewed,
            foreign=foreign_case_interviewed,
            foreign_role=prosecutor,
            form_build=approval_form,
            ok=(303,),
        ),
    ]
