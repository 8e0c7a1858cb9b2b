"""Pages of joint sessions and interviews: the session's record, and the case page's forms.

Each form calls `onestop.joint_sessions` or `onestop.interviews`, as the API does. A refused
form shows its page again with the field at fault; the case page's forms carry prefixed field
names (`sched_`, `iv_`, `ap_`) so that an error is shown beside the form that caused it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.accounts.models import User
from shouhu.accounts.policies import allows
from shouhu.accounts.roles import Permission
from shouhu.core.errors import DomainError, ForbiddenError, NotFoundError, ValidationFailedError
from shouhu.core.i18n import gettext
from shouhu.onestop import cases, interviews, joint_sessions, pages, repository
from shouhu.onestop.labels import CASE_ROLE_LABELS
from shouhu.onestop.models import OneStopSite
from shouhu.onestop.session_api import member_usernames
from shouhu.onestop.session_views import AGENCY_LABELS
from shouhu.web.deps import Db, PagePermission, SignedIn
from shouhu.web.templating import render

router = APIRouter(prefix="/onestop/cases", include_in_schema=False)

Reader = pages.Reader
Manager = pages.Manager
Approver = Annotated[SignedIn, Depends(PagePermission(Permission.ONESTOP_INTERVIEW_APPROVE))]

SCHEDULE_FIELDS: Final = {
    "site_id": "sched_site_id",
    "scheduled_for": "sched_for",
    "required": "required",
}
INTERVIEW_FIELDS: Final = {
    "child_id": "iv_child_id",
    "interviewer_id": "iv_interviewer_id",
    "session_id": "iv_session_id",
    "started_at": "iv_started_at",
    "ended_at": "iv_ended_at",
}
APPROVAL_FIELDS: Final = {"child_id": "ap_child_id", "reason": "ap_reason"}
# The session page's two change forms: an error is shown beside the form that caused it; a
# refusal of the session itself (arrivals recorded, already cancelled) at the top.
RESCHEDULE_FIELDS: Final = {
    "scheduled_for": "rs_for",
    "site_id": "rs_site_id",
    "reason": "rs_reason",
    "session_id": "",
}
CANCEL_FIELDS: Final = {"reason": "cx_reason", "session_id": ""}


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _moment(text: str, field: str, *, required: bool = True) -> datetime | None:
    """A form's local date and time, read as Beijing time (pages.BEIJING)."""
    text = text.strip()
    if not text:
        if required:
            raise ValidationFailedError("Give a date and time.", field=field)
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailedError(
            "Enter a date and time written YYYY-MM-DD HH:MM.", field=field
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=pages.BEIJING)


def _uuid(text: str, field: str, *, required: bool = True) -> uuid.UUID | None:
    text = text.strip()
    if not text:
        if required:
            raise ValidationFailedError("Choose one of the listed options.", field=field)
        return None
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ValidationFailedError("Choose one of the listed options.", field=field) from None


def _case_refused(  # noqa: PLR0917 - what the case page needs again
    request: Request,
    db: Session,
    me: SignedIn,
    case_id: uuid.UUID,
    exc: DomainError,
    fields: dict[str, str],
    shown: dict[str, str],
) -> Response:
    """The case page again, the error beside the form field that caused it."""
    db.rollback()
    if isinstance(exc, NotFoundError | ForbiddenError):
        raise exc
    field = fields.get(exc.field or "", exc.field or "")
    errors = {field: gettext(exc.message, **exc.params)}
    return pages._case_page(  # noqa: SLF001 - the case page is one page, drawn in one place
        request, db, me, case_id, values=shown, errors=errors, status=exc.status_code
    )


# --- scheduling ---------------------------------------------------------------------------------


@router.post("/{case_id}/sessions")
def session_schedule(  # noqa: PLR0917 - FastAPI passes each value by name
    request: Request,
    db: Db,
    me: Manager,
    case_id: uuid.UUID,
    sched_site_id: Annotated[str, Form()] = "",
    sched_for: Annotated[str, Form()] = "",
    required: Annotated[list[str] | None, Form()] = None,
) -> Response:
    """Arrange a joint session with the agencies ticked (the core three always)."""
    try:
        joint = joint_sessions.schedule_session(
            db,
            actor=me.principal,
            case_id=case_id,
            site_id=_uuid(sched_site_id, "site_id", required=False),
            scheduled_for=_moment(sched_for, "scheduled_for"),
            required=list(required or []),
        )
    except DomainError as exc:
        shown = {"sched_site_id": sched_site_id, "sched_for": sched_for}
        return _case_refused(request, db, me, case_id, exc, SCHEDULE_FIELDS, shown)
    return _redirect(f"/onestop/cases/{case_id}/sessions/{joint.id}")


# --- a session's record -------------------------------------------------------------------------


def _session_page(
    request: Request,
    db: Session,
    me: SignedIn,
    case_id: uuid.UUID,
    session_id: uuid.UUID,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    joint = joint_sessions.read_session(
        db, actor=me.principal, case_id=case_id, session_id=session_id
    )
    seen = joint_sessions.attendance(db, joint)
    member = repository.membership(db, case_id, me.principal.user_id)
    changes = joint_sessions.changes_of(db, joint.id)
    context: dict[str, Any] = {
        "beijing": pages.beijing,
        "case_id": case_id,
        "joint": joint,
        "seen": seen,
        "site": db.get(OneStopSite, joint.site_id),
        "agency_labels": AGENCY_LABELS,
        "agencies": list(AGENCY_LABELS),
        "usernames": member_usernames(db, {a.member_id for a in seen.arrivals if a.member_id}),
        "team": repository.team(db, case_id),
        "case_role_labels": CASE_ROLE_LABELS,
        "may_manage": allows(me.principal, Permission.ONESTOP_CASES_MANAGE)
        and cases.may_manage(member, me.principal),
        "changes": changes,
        "change_sites": dict(
            db.execute(
                select(OneStopSite.id, OneStopSite.name).where(
                    OneStopSite.id.in_(
                        {c.previous_site_id for c in changes}
                        | {c.new_site_id for c in changes if c.new_site_id}
                    )
                )
            ).all()
        ),
        "change_users": dict(
            db.execute(
                select(User.id, User.username).where(
                    User.id.in_({c.changed_by_id for c in changes})
                )
            ).all()
        ),
        "values": values or {},
        "errors": errors or {},
    }
    response = render(request, "onestop/sessions/session.html", context, status=status)
    response.headers["Cache-Control"] = "no-store"  # the guardian's name is on it
    return response


@router.get("/{case_id}/sessions/{session_id}")
def session_detail(
    request: Request, db: Db, me: Reader, case_id: uuid.UUID, session_id: uuid.UUID
) -> Response:
    """A session: who was required, who came when, who was there together (audited)."""
    return _session_page(request, db, me, case_id, session_id)


def _session_refused(  # noqa: PLR0917 - what the session page needs again
    request: Request,
    db: Session,
    me: SignedIn,
    case_id: uuid.UUID,
    session_id: uuid.UUID,
    exc: DomainError,
    shown: dict[str, str],
    fields: dict[str, str] | None = None,
) -> Response:
    db.rollback()
    if isinstance(exc, NotFoundError | ForbiddenError):
        raise exc
    field = fields.get(exc.field or "", exc.field or "") if fields else exc.field or ""
    errors = {field: gettext(exc.message, **exc.params)}
    return _session_page(
        request, db, me, case_id, session_id, values=shown, errors=errors, status=exc.status_code
    )


@router.post("/{case_id}/sessions/{session_id}/arrivals")
def arrival_record(  # noqa: PLR0917 - FastAPI passes each value by name
    request: Request,
    db: Db,
    me: Manager,
    case_id: uuid.UUID,
    session_id: uuid.UUID,
    agency: Annotated[str, Form()] = "",
    member_id: Annotated[str, Form()] = "",
    person_name: Annotated[str, Form()] = "",
    arrived_at: Annotated[str, Form()] = "",
    departed_at: Annotated[str, Form()] = "",
) -> Response:
    """Record an arrival (a member for an agency, or the guardian by name)."""
    try:
        joint_sessions.record_arrival(
            db,
            actor=me.principal,
            case_id=case_id,
            session_id=session_id,
            agency=agency,
            arrived_at=_moment(arrived_at, "arrived_at"),
            member_id=_uuid(member_id, "member_id", required=False),
            person_name=person_name,
            departed_at=_moment(departed_at, "departed_at", required=False),
        )
    except DomainError as exc:
        shown = {
            "agency": agency,
            "member_id": member_id,
            "person_name": person_name,
            "arrived_at": arrived_at,
            "departed_at": departed_at,
        }
        return _session_refused(request, db, me, case_id, session_id, exc, shown)
    return _redirect(f"/onestop/cases/{case_id}/sessions/{session_id}")


@router.post("/{case_id}/sessions/{session_id}/reschedule")
def session_reschedule(  # noqa: PLR0917 - FastAPI passes each value by name
    request: Request,
    db: Db,
    me: Manager,
    case_id: uuid.UUID,
    session_id: uuid.UUID,
    rs_for: Annotated[str, Form()] = "",
    rs_site_id: Annotated[str, Form()] = "",
    rs_reason: Annotated[str, Form()] = "",
) -> Response:
    """Move a session nobody has arrived at yet, with a reason."""
    try:
        joint_sessions.reschedule_session(
            db,
            actor=me.principal,
            case_id=case_id,
            session_id=session_id,
            scheduled_for=_moment(rs_for, "scheduled_for"),
            site_id=_uuid(rs_site_id, "site_id", required=False),
            reason=rs_reason,
        )
    except DomainError as exc:
        shown = {"rs_for": rs_for, "rs_site_id": rs_site_id, "rs_reason": rs_reason}
        return _session_refused(request, db, me, case_id, session_id, exc, shown, RESCHEDULE_FIELDS)
    return _redirect(f"/onestop/cases/{case_id}/sessions/{session_id}")


@router.post("/{case_id}/sessions/{session_id}/cancel")
def session_cancel(  # noqa: PLR0917 - FastAPI passes each value by name
    request: Request,
    db: Db,
    me: Manager,
    case_id: uuid.UUID,
    session_id: uuid.UUID,
    cx_reason: Annotated[str, Form()] = "",
) -> Response:
    """Call off a session nobody has arrived at yet, with a reason."""
    try:
        joint_sessions.cancel_session(
            db, actor=me.principal, case_id=case_id, session_id=session_id, reason=cx_reason
        )
    except DomainError as exc:
        shown = {"cx_reason": cx_reason}
        return _session_refused(request, db, me, case_id, session_id, exc, shown, CANCEL_FIELDS)
    return _redirect(f"/onestop/cases/{case_id}/sessions/{session_id}")


@router.post("/{case_id}/sessions/{session_id}/arrivals/{arrival_id}/departure")
def departure_record(  # noqa: PLR0917 - FastAPI passes each value by name
    request: Request,
    db: Db,
    me: Manager,
    case_id: uuid.UUID,
    session_id: uuid.UUID,
    arrival_id: uuid.UUID,
    departed_at: Annotated[str, Form()] = "",
) -> Response:
    """Record when someone left the session."""
    try:
        joint_sessions.record_departure(
            db,
            actor=me.principal,
            case_id=case_id,
            session_id=session_id,
            arrival_id=arrival_id,
            departed_at=_moment(departed_at, "departed_at"),
        )
    except DomainError as exc:
        return _session_refused(request, db, me, case_id, session_id, exc, {})
    return _redirect(f"/onestop/cases/{case_id}/sessions/{session_id}")


# --- interviews ---------------------------------------------------------------------------------


@router.post("/{case_id}/interviews")
def interview_record(  # noqa: PLR0917 - FastAPI passes each value by name
    request: Request,
    db: Db,
    me: Manager,
    case_id: uuid.UUID,
    iv_child_id: Annotated[str, Form()] = "",
    iv_interviewer_id: Annotated[str, Form()] = "",
    iv_session_id: Annotated[str, Form()] = "",
    iv_started_at: Annotated[str, Form()] = "",
    iv_ended_at: Annotated[str, Form()] = "",
    iv_recorded: Annotated[str, Form()] = "",
) -> Response:
    """Record a child's forensic interview; a second is refused without an approval."""
    try:
        interviews.record_interview(
            db,
            actor=me.principal,
            case_id=case_id,
            child_id=_uuid(iv_child_id, "child_id"),  # type: ignore[arg-type]
            interviewer_id=_uuid(iv_interviewer_id, "interviewer_id"),
            session_id=_uuid(iv_session_id, "session_id", required=False),
            started_at=_moment(iv_started_at, "started_at"),
            ended_at=_moment(iv_ended_at, "ended_at"),
            recorded=bool(iv_recorded),
        )
    except DomainError as exc:
        shown = {
            "iv_child_id": iv_child_id,
            "iv_interviewer_id": iv_interviewer_id,
            "iv_session_id": iv_session_id,
            "iv_started_at": iv_started_at,
            "iv_ended_at": iv_ended_at,
            "iv_recorded": iv_recorded,
        }
        return _case_refused(request, db, me, case_id, exc, INTERVIEW_FIELDS, shown)
    return _redirect(f"/onestop/cases/{case_id}#interviews")


@router.post("/{case_id}/interviews/second-approvals")
def second_interview_approve(  # noqa: PLR0917 - FastAPI passes each value by name
    request: Request,
    db: Db,
    me: Approver,
    case_id: uuid.UUID,
    ap_child_id: Annotated[str, Form()] = "",
    ap_reason: Annotated[str, Form()] = "",
) -> Response:
    """A prosecutor on the team approves one further interview of a child, with a reason."""
    try:
        interviews.approve_second_interview(
            db,
            actor=me.principal,
            case_id=case_id,
            child_id=_uuid(ap_child_id, "child_id"),  # type: ignore[arg-type]
            reason=ap_reason,
        )
    except DomainError as exc:
        shown = {"ap_child_id": ap_child_id, "ap_reason": ap_reason}
        return _case_refused(request, db, me, case_id, exc, APPROVAL_FIELDS, shown)
    return _redirect(f"/onestop/cases/{case_id}#interviews")
