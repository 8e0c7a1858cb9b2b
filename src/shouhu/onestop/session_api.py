"""JSON routes of joint sessions, arrivals, interviews and second-interview approvals.

Every route calls `onestop.joint_sessions` or `onestop.interviews`, as the pages do. A case the
caller is not on the team of is the 404 of one that does not exist.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Final

from fastapi import APIRouter, Body, Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.accounts.models import User
from shouhu.accounts.roles import Permission
from shouhu.core.principal import Principal
from shouhu.onestop import interviews, joint_sessions, repository
from shouhu.onestop.api_errors import errors
from shouhu.onestop.models import CaseChild, CaseMember
from shouhu.onestop.session_models import (
    Agency,
    ForensicInterview,
    JointSession,
    SecondInterviewApproval,
)
from shouhu.onestop.session_schemas import (
    APPROVAL_EXAMPLE,
    ARRIVAL_EXAMPLE,
    CANCEL_EXAMPLE,
    GUARDIAN_EXAMPLE,
    INTERVIEW_EXAMPLE,
    RESCHEDULE_EXAMPLE,
    SESSION_EXAMPLE,
    ApprovalIn,
    ApprovalOut,
    ArrivalIn,
    ArrivalOut,
    CancelIn,
    ChildInterviewsOut,
    DepartureIn,
    InterviewIn,
    InterviewOut,
    InterviewsOut,
    RescheduleIn,
    SessionIn,
    SessionOut,
    TogetherOut,
)
from shouhu.web.deps import ApiPermission, Db

router = APIRouter(prefix="/onestop/cases", tags=["onestop"])

Reader = Annotated[Principal, Depends(ApiPermission(Permission.ONESTOP_CASES_READ))]
Manager = Annotated[Principal, Depends(ApiPermission(Permission.ONESTOP_CASES_MANAGE))]
Approver = Annotated[Principal, Depends(ApiPermission(Permission.ONESTOP_INTERVIEW_APPROVE))]

NOT_FOUND: Final = "No such case, or the caller is not on its team (the same answer)"
SESSION_NOT_FOUND: Final = NOT_FOUND + "; or no such session in the case"


def member_usernames(db: Session, member_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The usernames of case members, by member id."""
    if not member_ids:
        return {}
    rows = db.execute(
        select(CaseMember.id, User.username)
        .join(User, User.id == CaseMember.user_id)
        .where(CaseMember.id.in_(member_ids))
    )
    return dict(rows.all())  # a Result has keys(): dict() would take it for a mapping


def session_out(db: Session, joint: JointSession, *, names: bool = False) -> SessionOut:
    """A session with its computed attendance; the guardian's name only if `names`."""
    seen = joint_sessions.attendance(db, joint)
    users = member_usernames(db, {a.member_id for a in seen.arrivals if a.member_id})
    together = None
    if seen.together is not None:
        together = TogetherOut(
            agencies=[a for a in Agency if a in seen.together.agencies],
            start=seen.together.start,
            end=seen.together.end,
        )
    return SessionOut(
        id=joint.id,
        case_id=joint.case_id,
        site_id=joint.site_id,
        scheduled_for=joint.scheduled_for,
        cancelled_at=joint.cancelled_at,
        required=joint.required_agencies,
        missing=seen.missing,
        all_together=seen.all_together,
        flagged=seen.flagged,
        together=together,
        arrivals=[
            ArrivalOut(
                id=a.id,
                agency=Agency(a.agency),
                member_id=a.member_id,
                username=users.get(a.member_id) if a.member_id else None,
                person_name=a.person_name if names else None,
                arrived_at=a.arrived_at,
                departed_at=a.departed_at,
            )
            for a in seen.arrivals
        ],
    )


def interview_out(db: Session, interview: ForensicInterview) -> InterviewOut:
    """An interview with its child's pseudonym letter."""
    child = db.get_one(CaseChild, interview.child_id)
    return InterviewOut(
        id=interview.id,
        case_id=interview.case_id,
        child_id=interview.child_id,
        letter=child.letter,
        number=interview.number,
        session_id=interview.session_id,
        interviewer_id=interview.interviewer_id,
        started_at=interview.started_at,
        ended_at=interview.ended_at,
        recorded=interview.recorded,
        approval_id=interview.approval_id,
    )


def approval_out(approval: SecondInterviewApproval) -> ApprovalOut:
    """An approval, with its (unsealed) reason for the team."""
    return ApprovalOut(
        id=approval.id,
        case_id=approval.case_id,
        child_id=approval.child_id,
        reason=approval.reason or "",
        approved_by_id=approval.approved_by_id,
        approved_at=approval.approved_at,
    )


# --- sessions -----------------------------------------------------------------------------------


@router.get(
    "/{case_id}/sessions", response_model=list[SessionOut], responses=errors(not_found=NOT_FOUND)
)
def list_sessions(db: Db, principal: Reader, case_id: uuid.UUID) -> list[SessionOut]:
    """The case's joint sessions, the earliest first, each with its attendance and flag."""
    case = repository.get_case(db, principal, case_id)
    return [session_out(db, joint) for joint in joint_sessions.sessions_of(db, case.id)]


@router.post(
    "/{case_id}/sessions",
    response_model=SessionOut,
    status_code=201,
    responses=errors(
        body=True, not_found=NOT_FOUND, conflict="The case's status allows no further session"
    ),
)
def schedule_session(
    db: Db,
    principal: Manager,
    case_id: uuid.UUID,
    body: Annotated[
        SessionIn,
        Body(openapi_examples={"girl": {"summary": "A girl's session", "value": SESSION_EXAMPLE}}),
    ],
) -> SessionOut:
    """Arrange a joint session (lead officer or a case officer on the team).

    The first session of a received case moves it to `joint_session_scheduled`.
    """
    joint = joint_sessions.schedule_session(
        db,
        actor=principal,
        case_id=case_id,
        site_id=body.site_id,
        scheduled_for=body.scheduled_for,
        required=[a.value for a in body.required] if body.required is not None else None,
    )
    return session_out(db, joint)


@router.get(
    "/{case_id}/sessions/{session_id}",
    response_model=SessionOut,
    responses=errors(not_found=SESSION_NOT_FOUND),
)
def read_session(
    db: Db, principal: Reader, case_id: uuid.UUID, session_id: uuid.UUID
) -> SessionOut:
    """One session with its arrivals, the guardian named (the read is audited)."""
    joint = joint_sessions.read_session(db, actor=principal, case_id=case_id, session_id=session_id)
    return session_out(db, joint, names=True)


ARRIVED: Final = (
    "Someone has already arrived (the session took place), or the session is already cancelled"
)


@router.post(
    "/{case_id}/sessions/{session_id}/reschedule",
    response_model=SessionOut,
    responses=errors(body=True, not_found=SESSION_NOT_FOUND, conflict=ARRIVED),
)
def reschedule_session(
    db: Db,
    principal: Manager,
    case_id: uuid.UUID,
    session_id: uuid.UUID,
    body: Annotated[
        RescheduleIn,
        Body(openapi_examples={"later": {"summary": "Moved", "value": RESCHEDULE_EXAMPLE}}),
    ],
) -> SessionOut:
    """Move a session nobody has arrived at yet to another time or site (a reason, sealed)."""
    joint = joint_sessions.reschedule_session(
        db,
        actor=principal,
        case_id=case_id,
        session_id=session_id,
        scheduled_for=body.scheduled_for,
        site_id=body.site_id,
        reason=body.reason,
    )
    return session_out(db, joint)


@router.post(
    "/{case_id}/sessions/{session_id}/cancel",
    response_model=SessionOut,
    responses=errors(body=True, not_found=SESSION_NOT_FOUND, conflict=ARRIVED),
)
def cancel_session(
    db: Db,
    principal: Manager,
    case_id: uuid.UUID,
    session_id: uuid.UUID,
    body: Annotated[
        CancelIn,
        Body(openapi_examples={"off": {"summary": "Called off", "value": CANCEL_EXAMPLE}}),
    ],
) -> SessionOut:
    """Call off a session nobody has arrived at yet (a reason, sealed); it stays, cancelled."""
    joint = joint_sessions.cancel_session(
        db, actor=principal, case_id=case_id, session_id=session_id, reason=body.reason
    )
    return session_out(db, joint)


@router.post(
    "/{case_id}/sessions/{session_id}/arrivals",
    response_model=SessionOut,
    status_code=201,
    responses=errors(body=True, not_found=SESSION_NOT_FOUND, conflict="The session was cancelled"),
)
def record_arrival(
    db: Db,
    principal: Manager,
    case_id: uuid.UUID,
    session_id: uuid.UUID,
    body: Annotated[
        ArrivalIn,
        Body(
            openapi_examples={
                "member": {"summary": "A forensic examiner arrives", "value": ARRIVAL_EXAMPLE},
                "guardian": {"summary": "The child's father arrives", "value": GUARDIAN_EXAMPLE},
            }
        ),
    ],
) -> SessionOut:
    """Record an arrival; answers with the session's attendance as it now is."""
    joint_sessions.record_arrival(
        db,
        actor=principal,
        case_id=case_id,
        session_id=session_id,
        agency=body.agency.value,
        arrived_at=body.arrived_at,
        member_id=body.member_id,
        person_name=body.person_name,
        departed_at=body.departed_at,
    )
    return session_out(db, db.get_one(JointSession, session_id), names=True)


@router.post(
    "/{case_id}/sessions/{session_id}/arrivals/{arrival_id}/departure",
    response_model=SessionOut,
    responses=errors(
        body=True,
        not_found=SESSION_NOT_FOUND + "; or no such arrival",
        conflict="The departure is already recorded",
    ),
)
def record_departure(  # noqa: PLR0917 - FastAPI passes path values by name
    db: Db,
    principal: Manager,
    case_id: uuid.UUID,
    session_id: uuid.UUID,
    arrival_id: uuid.UUID,
    body: DepartureIn,
) -> SessionOut:
    """Record when someone left; answers with the session's attendance as it now is."""
    joint_sessions.record_departure(
        db,
        actor=principal,
        case_id=case_id,
        session_id=session_id,
        arrival_id=arrival_id,
        departed_at=body.departed_at,
    )
    return session_out(db, db.get_one(JointSession, session_id), names=True)


# --- interviews ---------------------------------------------------------------------------------


@router.get(
    "/{case_id}/interviews", response_model=InterviewsOut, responses=errors(not_found=NOT_FOUND)
)
def list_interviews(db: Db, principal: Reader, case_id: uuid.UUID) -> InterviewsOut:
    """The case's interviews, and each child's counts (in this case and in all their cases)."""
    case = repository.get_case(db, principal, case_id)
    shown = interviews.child_interviews(db, repository.children_of(db, case.id))
    return InterviewsOut(
        children=[
            ChildInterviewsOut(
                child_id=c.child.id,
                letter=c.child.letter,
                in_case=len(c.interviews),
                approved_further=c.approved_further,
                pending_approval=c.pending_approval,
                in_all_cases=c.all_cases,
                recognised=c.recognised,
            )
            for c in shown
        ],
        interviews=[interview_out(db, i) for c in shown for i in c.interviews],
    )


@router.post(
    "/{case_id}/interviews",
    response_model=InterviewOut,
    status_code=201,
    responses=errors(
        body=True,
        not_found=NOT_FOUND + "; or no such child or session in the case",
        conflict="The child was already interviewed in this case and no prosecutor's approval"
        " of a further interview waits",
    ),
)
def record_interview(
    db: Db,
    principal: Manager,
    case_id: uuid.UUID,
    body: Annotated[
        InterviewIn,
        Body(
            openapi_examples={
                "first": {"summary": "The first interview", "value": INTERVIEW_EXAMPLE}
            }
        ),
    ],
) -> InterviewOut:
    """Record a child's forensic interview; a second one needs a prosecutor's approval first."""
    interview = interviews.record_interview(
        db,
        actor=principal,
        case_id=case_id,
        child_id=body.child_id,
        interviewer_id=body.interviewer_id,
        started_at=body.started_at,
        ended_at=body.ended_at,
        recorded=body.recorded,
        session_id=body.session_id,
    )
    return interview_out(db, interview)


@router.post(
    "/{case_id}/interviews/second-approvals",
    response_model=ApprovalOut,
    status_code=201,
    responses=errors(
        body=True,
        not_found=NOT_FOUND + "; or no such child in the case",
        conflict="The child has no interview yet, or an approval already waits",
    ),
)
def approve_second_interview(
    db: Db,
    principal: Approver,
    case_id: uuid.UUID,
    body: Annotated[
        ApprovalIn,
        Body(
            openapi_examples={"broken": {"summary": "A lost recording", "value": APPROVAL_EXAMPLE}}
        ),
    ],
) -> ApprovalOut:
    """A prosecutor on the team approves one further interview of a child, with a reason."""
    approval = interviews.approve_second_interview(
        db, actor=principal, case_id=case_id, child_id=body.child_id, reason=body.reason
    )
    return approval_out(approval)
