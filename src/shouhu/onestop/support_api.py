"""JSON routes of one-stop services under /api/v1: referrals, notes, My tasks, overdue items.

Every route calls `onestop.support` or `onestop.deadlines`, as the pages do. A referral the
caller may not see (not their task, not their team's case) is the 404 of one that does not
exist.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Final

from fastapi import APIRouter, Body, Depends
from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.accounts.models import User
from shouhu.accounts.roles import Permission
from shouhu.core.database import utcnow
from shouhu.core.principal import Principal
from shouhu.onestop import support
from shouhu.onestop.api_errors import errors
from shouhu.onestop.deadlines import DeadlineItem, deadlines_for
from shouhu.onestop.repository import get_case
from shouhu.onestop.service_models import ReferralStatus, ServiceKind, ServiceReferral
from shouhu.onestop.support_repository import (
    ReferralRow,
    is_support_worker,
    notes_of,
    own_tasks,
    readable_referrals,
    rows,
)
from shouhu.onestop.support_schemas import (
    REASSIGN_EXAMPLE,
    REFERRAL_EXAMPLE,
    DeadlineItemOut,
    NoteIn,
    NoteOut,
    OverdueOut,
    ReassignIn,
    ReferralIn,
    ReferralOut,
    ReferralStatusIn,
    WithdrawIn,
)
from shouhu.web.deps import ApiPermission, Db

router = APIRouter(prefix="/onestop", tags=["onestop"])

Referrer = Annotated[Principal, Depends(ApiPermission(Permission.ONESTOP_SERVICES_REFER))]
Reader = Annotated[Principal, Depends(ApiPermission(Permission.ONESTOP_SERVICES_READ))]
Noter = Annotated[Principal, Depends(ApiPermission(Permission.ONESTOP_SERVICES_NOTE))]
Worker = Annotated[Principal, Depends(ApiPermission(Permission.ONESTOP_SERVICES_WORK))]
Anyone = Annotated[Principal, Depends(ApiPermission(Permission.ACCOUNT_SELF))]

CASE_NOT_FOUND: Final = "No such case, or the caller is not on its team (the same answer)"
NOT_FOUND: Final = "No such referral, or not the caller's task or team's (the same answer)"
STATUS_EXAMPLES: Final = {
    "accept": {"summary": "The partner accepts the task", "value": {"status": "accepted"}},
    "decline": {
        "summary": "The partner declines, with a reason (sealed)",
        "value": {"status": "declined", "reason": "本机构暂无儿童心理咨询师。"},
    },
}


def _one(db: Session, referral_id: uuid.UUID) -> ReferralRow:
    (row,) = rows(db, select(ServiceReferral).where(ServiceReferral.id == referral_id))
    return row


def referral_out(
    db: Session, principal: Principal, row: ReferralRow, *, notes: bool = False, now: datetime
) -> ReferralOut:
    """A referral's API shape; the case's id only for those who may open the case."""
    referral = row.referral
    shown_notes = None
    if notes:
        found = notes_of(db, referral.id)
        authors = dict(
            db.execute(
                select(User.id, User.username).where(User.id.in_({n.author_id for n in found}))
            ).all()
        )
        shown_notes = [
            NoteOut(
                id=n.id,
                author=authors.get(n.author_id, ""),
                written_at=n.written_at,
                body=n.body or "",
            )
            for n in found
        ]
    return ReferralOut(
        id=referral.id,
        case_id=None if is_support_worker(principal) else referral.case_id,
        child=row.letter,
        service=ServiceKind(referral.service),
        organisation_id=referral.organisation_id,
        organisation=row.organisation_name,
        assigned_to=row.assignee,
        site=row.site_name,
        status=ReferralStatus(referral.status),
        due_at=referral.due_at,
        overdue=support.is_overdue(referral, now),
        referred_at=referral.referred_at,
        started_at=referral.started_at,
        decline_reason=referral.decline_reason,
        notes=shown_notes,
    )


@router.post(
    "/cases/{case_id}/referrals",
    response_model=ReferralOut,
    status_code=201,
    responses=errors(
        body=True,
        not_found=CASE_NOT_FOUND,
        conflict="The child already has an open referral for this service",
    ),
)
def create_referral(
    db: Db,
    principal: Referrer,
    case_id: uuid.UUID,
    body: Annotated[
        ReferralIn,
        Body(
            openapi_examples={
                "psychological": {"summary": "Psychological help", "value": REFERRAL_EXAMPLE}
            }
        ),
    ],
) -> ReferralOut:
    """Refer a child of the case to a partner of its site (the lead or a case officer on the team).

    The start deadline is the case's receipt plus SHOUHU_ONESTOP_SERVICE_START_HOURS. A partner
    not attached to the site is refused with `organisation_id` named.
    """
    referral = support.refer(
        db,
        actor=principal,
        case_id=case_id,
        child_id=body.child_id,
        service=body.service.value,
        organisation_id=body.organisation_id,
        assigned_to_id=body.assigned_to_id,
    )
    return referral_out(db, principal, _one(db, referral.id), now=utcnow())


@router.get(
    "/cases/{case_id}/referrals",
    response_model=list[ReferralOut],
    responses=errors(not_found=CASE_NOT_FOUND),
)
def list_case_referrals(db: Db, principal: Reader, case_id: uuid.UUID) -> list[ReferralOut]:
    """The case's referrals the caller may see, the earliest deadline first."""
    case = get_case(db, principal, case_id)
    statement = readable_referrals(principal).where(ServiceReferral.case_id == case.id)
    now = utcnow()
    return [referral_out(db, principal, row, now=now) for row in rows(db, statement)]


@router.get(
    "/referrals/{referral_id}", response_model=ReferralOut, responses=errors(not_found=NOT_FOUND)
)
def read_referral(db: Db, principal: Reader, referral_id: uuid.UUID) -> ReferralOut:
    """One referral with its notes (the read is audited)."""
    referral = support.read_referral(db, actor=principal, referral_id=referral_id)
    row = _one(db, referral.id)
    return referral_out(db, principal, row, notes=True, now=utcnow())


@router.post(
    "/referrals/{referral_id}/status",
    response_model=ReferralOut,
    responses=errors(
        body=True,
        not_found=NOT_FOUND,
        conflict="The referral cannot move from its status to the one asked for",
    ),
)
def change_referral_status(
    db: Db,
    principal: Worker,
    referral_id: uuid.UUID,
    body: Annotated[ReferralStatusIn, Body(openapi_examples=STATUS_EXAMPLES)],
) -> ReferralOut:
    """Move one's task: referred → accepted → in_progress → completed, or declined (reason).

    An unassigned task of the caller's organisation becomes the caller's.
    """
    referral = support.change_status(
        db, actor=principal, referral_id=referral_id, status=body.status.value, reason=body.reason
    )
    return referral_out(db, principal, _one(db, referral.id), now=utcnow())


CHANGE_CONFLICT: Final = "The referral is no longer referred or accepted"


@router.post(
    "/referrals/{referral_id}/reassign",
    response_model=ReferralOut,
    responses=errors(body=True, not_found=NOT_FOUND, conflict=CHANGE_CONFLICT),
)
def reassign_referral(
    db: Db,
    principal: Referrer,
    referral_id: uuid.UUID,
    body: Annotated[
        ReassignIn,
        Body(
            openapi_examples={"partner": {"summary": "Another partner", "value": REASSIGN_EXAMPLE}}
        ),
    ],
) -> ReferralOut:
    """Give a referral to another partner of the site, or another of its workers (case manager).

    Another partner gets it as `referred` (it accepts it itself); the deadline stays. The
    worker who had it no longer sees it.
    """
    referral = support.reassign(
        db,
        actor=principal,
        referral_id=referral_id,
        organisation_id=body.organisation_id,
        assigned_to_id=body.assigned_to_id,
        reason=body.reason,
    )
    return referral_out(db, principal, _one(db, referral.id), now=utcnow())


@router.post(
    "/referrals/{referral_id}/withdraw",
    response_model=ReferralOut,
    responses=errors(body=True, not_found=NOT_FOUND, conflict=CHANGE_CONFLICT),
)
def withdraw_referral(
    db: Db, principal: Referrer, referral_id: uuid.UUID, body: WithdrawIn
) -> ReferralOut:
    """Withdraw a referred or accepted referral, with a reason (case manager); never overdue."""
    referral = support.withdraw(db, actor=principal, referral_id=referral_id, reason=body.reason)
    return referral_out(db, principal, _one(db, referral.id), now=utcnow())


@router.post(
    "/referrals/{referral_id}/notes",
    response_model=NoteOut,
    status_code=201,
    responses=errors(body=True, not_found=NOT_FOUND),
)
def add_note(db: Db, principal: Noter, referral_id: uuid.UUID, body: NoteIn) -> NoteOut:
    """Append a follow-up note (sealed; never changed afterwards)."""
    note = support.add_note(db, actor=principal, referral_id=referral_id, body=body.body)
    author = db.get_one(User, note.author_id)
    return NoteOut(
        id=note.id, author=author.username, written_at=note.written_at, body=note.body or ""
    )


@router.get("/my-tasks", response_model=list[ReferralOut], responses=errors())
def my_tasks(db: Db, principal: Worker) -> list[ReferralOut]:
    """The calling support worker's tasks: assigned to them, or unassigned of their organisation."""
    now = utcnow()
    return [referral_out(db, principal, row, now=now) for row in rows(db, own_tasks(principal))]


def _item(item: DeadlineItem) -> DeadlineItemOut:
    return DeadlineItemOut(
        kind=item.kind,
        due_at=item.due_at,
        case_id=item.case_id,
        referral_id=item.referral_id,
        service=ServiceKind(item.service) if item.service else None,
        child=item.letter,
        site=item.site_name,
    )


@router.get("/overdue", response_model=OverdueOut, responses=errors())
def overdue(db: Db, principal: Anyone) -> OverdueOut:
    """The caller's overdue and due-soon one-stop items (empty for those who answer for none)."""
    found = deadlines_for(db, principal)
    return OverdueOut(
        overdue=[_item(i) for i in found.overdue], due_soon=[_item(i) for i in found.due_soon]
    )
