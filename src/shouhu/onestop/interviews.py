"""The single forensic interview of a child, and the prosecutor's approval of a second one.

One-stop pilot (DESIGN §1): the child is interviewed once, by professionals, and recorded. A
further interview of the same child in the same case is refused unless a prosecutor on the case
team has approved it first with a written reason; each approval allows one interview and is
counted. Interviews per child are also counted across all the child's cases, recognised by the
blind index of the child's identity document (`CaseChild.id_index`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shouhu.accounts.policies import require
from shouhu.accounts.roles import Permission
from shouhu.core.audit.chain import record as audit_record
from shouhu.core.database import utcnow
from shouhu.core.errors import ConflictError, ForbiddenError, ValidationFailedError
from shouhu.core.principal import Principal
from shouhu.onestop import cases, checks
from shouhu.onestop.joint_sessions import get_session
from shouhu.onestop.models import CaseChild, CaseMember, CaseRole
from shouhu.onestop.repository import get_case, get_child, membership
from shouhu.onestop.session_models import ForensicInterview, SecondInterviewApproval

ACTION_INTERVIEW: Final = "onestop:interview_record"
ACTION_SECOND_APPROVE: Final = "onestop:second_interview_approve"
REASON_LENGTH: Final = 2000
# Who may conduct a forensic interview: investigators, forensic staff, psychologists.
INTERVIEWER_ROLES: Final = frozenset(
    {CaseRole.LEAD_OFFICER, CaseRole.INVESTIGATOR, CaseRole.FORENSIC, CaseRole.PSYCHOLOGIST}
)


def _interviews_in_case(session: Session, child_id: uuid.UUID) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(ForensicInterview)
            .where(ForensicInterview.child_id == child_id)
        )
        or 0
    )


def unused_approval(session: Session, child_id: uuid.UUID) -> SecondInterviewApproval | None:
    """The child's approval that no interview has used yet, if any."""
    used = select(ForensicInterview.approval_id).where(ForensicInterview.approval_id.is_not(None))
    return session.scalar(
        select(SecondInterviewApproval)
        .where(
            SecondInterviewApproval.child_id == child_id, SecondInterviewApproval.id.not_in(used)
        )
        .order_by(SecondInterviewApproval.approved_at)
        .limit(1)
    )


def _aware(value: datetime | None, field: str) -> datetime:
    if value is None:
        raise ValidationFailedError("Give a date and time.", field=field)
    if value.tzinfo is None:
        raise ValidationFailedError("Give the time with its time zone.", field=field)
    return value


def _interviewer(session: Session, case_id: uuid.UUID, member_id: uuid.UUID | None) -> CaseMember:
    member = session.get(CaseMember, member_id) if member_id else None
    if member is None or member.case_id != case_id or member.removed_at is not None:
        raise ValidationFailedError("Choose a member of the case's team.", field="interviewer_id")
    if CaseRole(member.role) not in INTERVIEWER_ROLES:
        raise ValidationFailedError(
            "A forensic interview is conducted by an investigator, a forensic examiner or a"
            " psychologist of the team.",
            field="interviewer_id",
        )
    return member


def record_interview(
    session: Session,
    *,
    actor: Principal,
    case_id: uuid.UUID,
    child_id: uuid.UUID,
    interviewer_id: uuid.UUID | None,
    started_at: datetime | None,
    ended_at: datetime | None,
    recorded: bool,
    session_id: uuid.UUID | None = None,
) -> ForensicInterview:
    """Record a child's forensic interview; a second one needs a prosecutor's approval first."""
    require(actor, Permission.ONESTOP_CASES_MANAGE)
    # The case row's lock orders two simultaneous interviews of one case; the unique
    # (child, number) constraint refuses the second "first" where a lock is not held.
    case = get_case(session, actor, case_id, lock=True)
    cases.require_manager(session, actor, case)
    child = get_child(session, case, child_id)
    joint = get_session(session, case, session_id) if session_id else None
    if joint is not None and joint.cancelled:
        raise ValidationFailedError(
            "This joint session was cancelled: choose another session, or none.",
            field="session_id",
        )
    interviewer = _interviewer(session, case.id, interviewer_id)
    started = _aware(started_at, "started_at")
    ended = _aware(ended_at, "ended_at")
    if ended <= started:
        raise ValidationFailedError("The end must be after the start.", field="ended_at")
    if ended > utcnow() + cases.CLOCK_SKEW:
        raise ValidationFailedError("The interview's end is in the future.", field="ended_at")
    held = _interviews_in_case(session, child.id)
    approval = None
    if held:
        approval = unused_approval(session, child.id)
        if approval is None:
            raise ConflictError(
                "Child {letter} has already been interviewed in this case. The child is interviewed"
                " once: a further interview needs a prosecutor on the case team to approve it"
                " with a written reason first.",
                field="child_id",
                letter=child.letter,
            )
    assert actor.user_id is not None  # noqa: S101 - a manager is a member, hence a user
    interview = ForensicInterview(
        case_id=case.id,
        child_id=child.id,
        number=held + 1,
        session_id=joint.id if joint else None,
        interviewer_id=interviewer.id,
        started_at=started,
        ended_at=ended,
        recorded=recorded,
        approval_id=approval.id if approval else None,
        recorded_by_id=actor.user_id,
        recorded_at=utcnow(),
    )
    interview.ensure_id()
    try:
        with session.begin_nested():
            session.add(interview)
            session.flush()
    except IntegrityError as exc:
        raise ConflictError(
            "Another interview of this child was recorded at the same moment; reload the case.",
            field="child_id",
        ) from exc
    audit_record(
        session,
        actor=actor,
        action=ACTION_INTERVIEW,
        object_type="forensic_interview",
        object_id=interview.id,
        details={
            "case": str(case.id),
            "child": child.letter,
            "number": interview.number,
            "recorded": recorded,
            "approval": str(approval.id) if approval else None,
            "session": str(joint.id) if joint else None,
        },
    )
    return interview


def approve_second_interview(
    session: Session,
    *,
    actor: Principal,
    case_id: uuid.UUID,
    child_id: uuid.UUID,
    reason: str | None,
) -> SecondInterviewApproval:
    """A prosecutor on the team allows one more interview of a child, with a written reason."""
    require(actor, Permission.ONESTOP_INTERVIEW_APPROVE)
    case = get_case(session, actor, case_id, lock=True)
    member = membership(session, case.id, actor.user_id)
    if member is None or member.role != CaseRole.PROSECUTOR.value:
        raise ForbiddenError("Only a prosecutor on the case team may approve a second interview.")
    child = get_child(session, case, child_id)
    if not _interviews_in_case(session, child.id):
        raise ConflictError(
            "This child has not been interviewed in this case yet: the first interview needs no"
            " approval.",
            field="child_id",
        )
    if unused_approval(session, child.id) is not None:
        raise ConflictError(
            "An approved further interview of this child has not taken place yet.",
            field="child_id",
        )
    why = checks.text(reason, field="reason", limit=REASON_LENGTH)
    assert actor.user_id is not None  # noqa: S101 - members are users
    approval = SecondInterviewApproval(
        case_id=case.id, child_id=child.id, approved_by_id=actor.user_id, approved_at=utcnow()
    )
    approval.ensure_id()
    approval.reason = why
    session.add(approval)
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_SECOND_APPROVE,
        object_type="interview_approval",
        object_id=approval.id,
        # The reason is sealed in the row.
        details={"case": str(case.id), "child": child.letter},
    )
    return approval


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChildInterviews:
    """A child's interviews: in this case, and across every case of the same child."""

    child: CaseChild
    interviews: list[ForensicInterview]
    approvals: list[SecondInterviewApproval]
    all_cases: int  # interviews of this child in every case (this one included)
    recognised: bool  # False: no identity document, so counted in this case only
    pending_approval: bool  # an approval waits for its interview

    @property
    def approved_further(self) -> int:
        """How many further interviews a prosecutor approved (the count reported)."""
        return len(self.approvals)


def interviews_across_cases(session: Session, child: CaseChild) -> int:
    """The child's interviews in every case, recognised by the document's blind index.

    Only a number leaves this function: nothing of the other cases is read or shown.
    """
    if child.id_index is None:
        return _interviews_in_case(session, child.id)
    return int(
        session.scalar(
            select(func.count())
            .select_from(ForensicInterview)
            .join(CaseChild, CaseChild.id == ForensicInterview.child_id)
            .where(CaseChild.id_index == child.id_index)
        )
        or 0
    )


def child_interviews(session: Session, children: list[CaseChild]) -> list[ChildInterviews]:
    """Each child's interviews and approvals, for a case page the reader already may see."""
    found = []
    for child in children:
        interviews = list(
            session.scalars(
                select(ForensicInterview)
                .where(ForensicInterview.child_id == child.id)
                .order_by(ForensicInterview.number)
            )
        )
        approvals = list(
            session.scalars(
                select(SecondInterviewApproval)
                .where(SecondInterviewApproval.child_id == child.id)
                .order_by(SecondInterviewApproval.approved_at)
            )
        )
        found.append(
            ChildInterviews(
                child=child,
                interviews=interviews,
                approvals=approvals,
                all_cases=interviews_across_cases(session, child),
                recognised=child.id_index is not None,
                pending_approval=unused_approval(session, child.id) is not None,
            )
        )
    return found
