"""Pages of one-stop services: a case's referrals, a referral, and a support worker's My tasks.

Each page calls `onestop.support`, as the API does. The case page loads its referrals section
from here (htmx; a plain link without JavaScript), so the case page and this module stay apart.
A support worker sees the child's pseudonym, the service, the deadline, the site and the notes:
never the child's identity, and not the case unless they are on its team.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.accounts.models import Organisation, User
from shouhu.accounts.policies import allows
from shouhu.accounts.roles import Permission, Role
from shouhu.core.database import utcnow
from shouhu.core.errors import DomainError, ForbiddenError, NotFoundError
from shouhu.core.i18n import N_, gettext
from shouhu.onestop import cases, repository, support
from shouhu.onestop.deadlines import DUE_SOON_HOURS
from shouhu.onestop.labels import REFERRAL_STATUS_LABELS, labels
from shouhu.onestop.pages import beijing
from shouhu.onestop.service_models import ReferralStatus, ServiceKind, ServiceReferral
from shouhu.onestop.support_repository import (
    is_support_worker,
    notes_of,
    own_tasks,
    readable_referrals,
    rows,
)
from shouhu.web.deps import Db, PagePermission, SignedIn
from shouhu.web.templating import render

router = APIRouter(prefix="/onestop", include_in_schema=False)

Referrer = Annotated[SignedIn, Depends(PagePermission(Permission.ONESTOP_SERVICES_REFER))]
Reader = Annotated[SignedIn, Depends(PagePermission(Permission.ONESTOP_SERVICES_READ))]
Noter = Annotated[SignedIn, Depends(PagePermission(Permission.ONESTOP_SERVICES_NOTE))]
Worker = Annotated[SignedIn, Depends(PagePermission(Permission.ONESTOP_SERVICES_WORK))]

SERVICE_LABELS: Final = {
    ServiceKind.PSYCHOLOGICAL: N_("Psychological assessment and treatment"),
    ServiceKind.REHABILITATION: N_("Physical rehabilitation"),
    ServiceKind.FAMILY_COUNSELLING: N_("Family counselling"),
    ServiceKind.LEGAL_ASSISTANCE: N_("Legal assistance"),
    ServiceKind.JUDICIAL_ASSISTANCE: N_("Judicial assistance (financial aid)"),
}
# The case manager's forms on a referral page carry prefixed field names, so that an error
# is shown beside the form that caused it.
REASSIGN_FIELDS: Final = {
    "organisation_id": "ra_organisation_id",
    "assigned_to_id": "ra_assigned_to_id",
    "reason": "ra_reason",
}
WITHDRAW_FIELDS: Final = {"reason": "wd_reason"}


def support_labels() -> dict[str, object]:
    """The labels a services page (or the home page) needs."""
    return {
        "service_labels": SERVICE_LABELS,
        "referral_status_labels": REFERRAL_STATUS_LABELS,
        "due_soon_hours": DUE_SOON_HOURS,
        "beijing": beijing,
        **labels(),
    }


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


# --- a case's referrals -------------------------------------------------------------------------


def _support_workers(db: Session, organisation_ids: list[uuid.UUID]) -> list[User]:
    if not organisation_ids:
        return []
    users = db.scalars(
        select(User)
        .where(User.organisation_id.in_(organisation_ids), User.active.is_(True))
        .order_by(User.username)
        .limit(500)
    )
    return [u for u in users if Role.SUPPORT_WORKER.value in u.role_names]


def _case_referrals(
    request: Request,
    db: Session,
    me: SignedIn,
    case_id: uuid.UUID,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    case = repository.get_case(db, me.principal, case_id)
    member = repository.membership(db, case.id, me.principal.user_id)
    may_refer = allows(me.principal, Permission.ONESTOP_SERVICES_REFER) and cases.may_manage(
        member, me.principal
    )
    partners = repository.site_partners(db, case.site_id) if may_refer else []
    statement = readable_referrals(me.principal).where(ServiceReferral.case_id == case.id)
    context = {
        **support_labels(),
        "case": case,
        "rows": rows(db, statement),
        "now": utcnow(),
        "may_refer": may_refer,
        "children": repository.children_of(db, case.id) if may_refer else [],
        "partners": partners,
        "workers": _support_workers(db, [p.id for p in partners]),
        "services": list(ServiceKind),
        "values": values or {},
        "errors": errors or {},
    }
    fragment = request.headers.get("HX-Request") == "true"
    template = (
        "onestop/support/referrals_section.html"
        if fragment
        else "onestop/support/case_referrals.html"
    )
    return render(request, template, context, status=status)


@router.get("/cases/{case_id}/referrals")
def case_referrals(request: Request, db: Db, me: Reader, case_id: uuid.UUID) -> Response:
    """The case's services: its referrals the reader may see, and the form to refer a child."""
    return _case_referrals(request, db, me, case_id)


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text) if text else None
    except ValueError:
        return None


@router.post("/cases/{case_id}/referrals")
def referral_create(
    request: Request,
    db: Db,
    me: Referrer,
    case_id: uuid.UUID,
    child_id: Annotated[str, Form()] = "",
    service: Annotated[str, Form()] = "",
    organisation_id: Annotated[str, Form()] = "",
    assigned_to_id: Annotated[str, Form()] = "",
) -> Response:
    """Refer a child, or show the form again with the field at fault."""
    shown = {
        "child_id": child_id,
        "service": service,
        "organisation_id": organisation_id,
        "assigned_to_id": assigned_to_id,
    }
    try:
        support.refer(
            db,
            actor=me.principal,
            case_id=case_id,
            child_id=_uuid(child_id),
            service=service,
            organisation_id=_uuid(organisation_id),
            assigned_to_id=_uuid(assigned_to_id),
        )
    except DomainError as exc:
        db.rollback()
        if isinstance(exc, NotFoundError | ForbiddenError):
            raise
        errors = {exc.field or "": gettext(exc.message, **exc.params)}
        return _case_referrals(
            request, db, me, case_id, values=shown, errors=errors, status=exc.status_code
        )
    return _redirect(f"/onestop/cases/{case_id}/referrals")


# --- a referral ---------------------------------------------------------------------------------


def _referral_page(
    request: Request,
    db: Session,
    me: SignedIn,
    referral_id: uuid.UUID,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    referral = support.read_referral(db, actor=me.principal, referral_id=referral_id)
    (row,) = rows(db, select(ServiceReferral).where(ServiceReferral.id == referral.id))
    notes = notes_of(db, referral.id)
    authors = dict(
        db.execute(
            select(User.id, User.username).where(User.id.in_({n.author_id for n in notes}))
        ).all()
    )
    worker = allows(me.principal, Permission.ONESTOP_SERVICES_WORK)
    may_change = False
    partners: list[Organisation] = []
    if allows(me.principal, Permission.ONESTOP_SERVICES_REFER):
        case = repository.get_case(db, me.principal, referral.case_id)
        member = repository.membership(db, case.id, me.principal.user_id)
        may_change = cases.may_manage(member, me.principal) and (
            ReferralStatus(referral.status) in support.CHANGEABLE
        )
        if may_change:
            partners = repository.site_partners(db, case.site_id)
    changes = support.changes_of(db, referral.id)
    names = dict(
        db.execute(
            select(User.id, User.username).where(
                User.id.in_(
                    {c.changed_by_id for c in changes}
                    | {c.previous_assignee_id for c in changes if c.previous_assignee_id}
                    | {c.new_assignee_id for c in changes if c.new_assignee_id}
                )
            )
        ).all()
    )
    org_names = dict(
        db.execute(
            select(Organisation.id, Organisation.name).where(
                Organisation.id.in_(
                    {c.previous_organisation_id for c in changes}
                    | {c.new_organisation_id for c in changes if c.new_organisation_id}
                )
            )
        ).all()
    )
    context = {
        **support_labels(),
        "row": row,
        "referral": referral,
        "now": utcnow(),
        "notes": notes,
        "authors": authors,
        # A support worker opens the case only if they are on its team (the case page says).
        "show_case": not is_support_worker(me.principal),
        "next_statuses": support.next_statuses(referral.status) if worker else [],
        "may_note": allows(me.principal, Permission.ONESTOP_SERVICES_NOTE),
        "may_change": may_change,
        "partners": partners,
        "workers": _support_workers(db, [p.id for p in partners]),
        "changes": changes,
        "change_users": names,
        "change_orgs": org_names,
        "values": values or {},
        "errors": errors or {},
    }
    response = render(request, "onestop/support/referral.html", context, status=status)
    response.headers["Cache-Control"] = "no-store"  # notes about a child: not kept in a cache
    return response


@router.get("/referrals/{referral_id}")
def referral_detail(request: Request, db: Db, me: Reader, referral_id: uuid.UUID) -> Response:
    """A referral: the child's pseudonym, the service, the deadline, the site, notes (audited)."""
    return _referral_page(request, db, me, referral_id)


def _refused(
    request: Request,
    db: Session,
    me: SignedIn,
    referral_id: uuid.UUID,
    exc: DomainError,
    fields: dict[str, str] | None = None,
    **shown: str,
) -> Response:
    db.rollback()
    if isinstance(exc, NotFoundError | ForbiddenError):
        raise exc
    field = exc.field or ""
    errors = {(fields or {}).get(field, field): gettext(exc.message, **exc.params)}
    return _referral_page(
        request, db, me, referral_id, values=shown, errors=errors, status=exc.status_code
    )


@router.post("/referrals/{referral_id}/status")
def referral_status(
    request: Request,
    db: Db,
    me: Worker,
    referral_id: uuid.UUID,
    status: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Move one's task along its path."""
    try:
        support.change_status(
            db, actor=me.principal, referral_id=referral_id, status=status, reason=reason
        )
    except DomainError as exc:
        return _refused(request, db, me, referral_id, exc, status=status, reason=reason)
    return _redirect(f"/onestop/referrals/{referral_id}")


@router.post("/referrals/{referral_id}/reassign")
def referral_reassign(
    request: Request,
    db: Db,
    me: Referrer,
    referral_id: uuid.UUID,
    ra_organisation_id: Annotated[str, Form()] = "",
    ra_assigned_to_id: Annotated[str, Form()] = "",
    ra_reason: Annotated[str, Form()] = "",
) -> Response:
    """Give the referral to another partner of the site or another of its workers."""
    try:
        support.reassign(
            db,
            actor=me.principal,
            referral_id=referral_id,
            organisation_id=_uuid(ra_organisation_id),
            assigned_to_id=_uuid(ra_assigned_to_id),
            reason=ra_reason,
        )
    except DomainError as exc:
        return _refused(
            request,
            db,
            me,
            referral_id,
            exc,
            REASSIGN_FIELDS,
            ra_organisation_id=ra_organisation_id,
            ra_assigned_to_id=ra_assigned_to_id,
            ra_reason=ra_reason,
        )
    return _redirect(f"/onestop/referrals/{referral_id}")


@router.post("/referrals/{referral_id}/withdraw")
def referral_withdraw(
    request: Request,
    db: Db,
    me: Referrer,
    referral_id: uuid.UUID,
    wd_reason: Annotated[str, Form()] = "",
) -> Response:
    """Withdraw the referral, with a reason."""
    try:
        support.withdraw(db, actor=me.principal, referral_id=referral_id, reason=wd_reason)
    except DomainError as exc:
        return _refused(request, db, me, referral_id, exc, WITHDRAW_FIELDS, wd_reason=wd_reason)
    return _redirect(f"/onestop/referrals/{referral_id}")


@router.post("/referrals/{referral_id}/notes")
def referral_note(
    request: Request, db: Db, me: Noter, referral_id: uuid.UUID, body: Annotated[str, Form()] = ""
) -> Response:
    """Append a follow-up note."""
    try:
        support.add_note(db, actor=me.principal, referral_id=referral_id, body=body)
    except DomainError as exc:
        return _refused(request, db, me, referral_id, exc, body=body)
    return _redirect(f"/onestop/referrals/{referral_id}")


# --- My tasks -----------------------------------------------------------------------------------


@router.get("/my-tasks")
def my_tasks(request: Request, db: Db, me: Worker) -> Response:
    """The support worker's tasks, the earliest deadline first."""
    context: dict[str, Any] = {
        **support_labels(),
        "rows": rows(db, own_tasks(me.principal)),
        "now": utcnow(),
    }
    return render(request, "onestop/support/my_tasks.html", context)
