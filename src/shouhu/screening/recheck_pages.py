"""Pages of the refusal notice and re-check (复查) appeals.

The institution prints the notice for its candidate (`/inquiries/{id}/notice`); the responsible
education authority's officer enters the candidate's request (`/recheck-requests`); registry
reviewers decide it (`/rechecks`). Each page calls `screening.rechecks`, as the API does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from shouhu.accounts.models import Organisation
from shouhu.accounts.roles import Permission
from shouhu.core.errors import DomainError, NotFoundError
from shouhu.core.i18n import N_, gettext
from shouhu.identity.prc_id import latest_possible_date
from shouhu.registry.lifecycle import Scan
from shouhu.screening import rechecks
from shouhu.screening.certificates import current_certificate, display_code
from shouhu.screening.models import Certificate, Inquiry, InquiryAnswer
from shouhu.screening.pages import _labels, comparison
from shouhu.screening.recheck_models import InquiryRecheck, RecheckGround, RecheckStatus
from shouhu.web.deps import Db, PagePermission, SignedIn
from shouhu.web.templating import render

notices = APIRouter(prefix="/inquiries", include_in_schema=False)
requests = APIRouter(prefix="/recheck-requests", include_in_schema=False)
reviews = APIRouter(prefix="/rechecks", include_in_schema=False)

Asker = Annotated[SignedIn, Depends(PagePermission(Permission.INQUIRY_SUBMIT))]
Enterer = Annotated[SignedIn, Depends(PagePermission(Permission.RECHECK_ENTER))]
Decider = Annotated[SignedIn, Depends(PagePermission(Permission.RECHECK_DECIDE))]
Reader = Annotated[SignedIn, Depends(PagePermission(Permission.RECHECK_READ))]

GROUND_LABELS: Final = {
    RecheckGround.NOT_THE_SAME_PERSON: N_("Not the same person"),
    RecheckGround.RECORD_NOT_IN_SCOPE: N_(
        "The record does not count for this purpose (sealed, revoked, corrected or out of scope)"
    ),
    RecheckGround.RECORD_REVOKED_OR_CORRECTED: N_("The record was revoked or corrected"),
}


def _recheck_labels() -> dict[str, Any]:
    return {
        "ground_labels": GROUND_LABELS,
        "period_days": rechecks.RECHECK_PERIOD_DAYS,
    }


def _names(db: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = db.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids)))
    return {row[0]: row[1] for row in rows}


# --- the institution's notice -------------------------------------------------------------------


@notices.get("/{inquiry_id}/notice")
def notice_page(request: Request, db: Db, me: Asker, inquiry_id: uuid.UUID) -> Response:
    """The printable refusal notice for the candidate (the reading is audited)."""
    notice = rechecks.read_notice(db, actor=me.principal, inquiry_id=inquiry_id)
    context = {
        "notice": notice,
        "code": display_code(notice.certificate_code),
        "new_code": display_code(notice.new_certificate_code)
        if notice.new_certificate_code
        else None,
        **_labels(),
        **_recheck_labels(),
    }
    return render(request, "screening/notice.html", context)


# --- the authority's officers enter requests -------------------------------------------------


@dataclass(frozen=True)
class Contestable:
    """One row of the officer's list: an inquiry that answered record_found, its re-check."""

    inquiry: Inquiry
    institution: str
    answered_on: date | None
    deadline: date | None
    recheck: InquiryRecheck | None

    @property
    def may_enter(self) -> bool:
        """Whether a request can be entered now (the service checks the date received)."""
        pending = self.recheck is not None and self.recheck.status == RecheckStatus.PENDING
        return self.inquiry.answer == InquiryAnswer.RECORD_FOUND.value and not pending


def _contestable(
    db: Session, me: SignedIn, inquiry_id: uuid.UUID | None = None
) -> list[Contestable]:
    statement = rechecks.contestable_inquiries(me.principal)
    if inquiry_id is not None:
        statement = statement.where(Inquiry.id == inquiry_id)
    rows = list(db.scalars(statement.order_by(Inquiry.completed_at.desc(), Inquiry.id).limit(300)))
    latest = rechecks.latest_rechecks(db, [row.id for row in rows])
    names = _names(db, {row.institution_id for row in rows})
    found = []
    for row in rows:
        recheck = latest.get(row.id)
        answered = _answered_on(db, row, recheck)
        found.append(
            Contestable(
                inquiry=row,
                institution=names.get(row.institution_id, ""),
                answered_on=answered,
                deadline=rechecks.deadline(answered) if answered else None,
                recheck=recheck,
            )
        )
    return found


def _answered_on(db: Session, inquiry: Inquiry, recheck: InquiryRecheck | None) -> date | None:
    """The date of the record_found answer (its certificate's), overturned since or not."""
    if recheck is not None and recheck.status == RecheckStatus.OVERTURNED:
        certificate = db.get(Certificate, recheck.certificate_id)
    else:
        certificate = current_certificate(db, inquiry.id)
    return rechecks.answered_on(certificate) if certificate else None


@requests.get("")
def request_list(request: Request, db: Db, me: Enterer) -> Response:
    """The authority's institutions' record_found answers, and their re-checks."""
    context = {"rows": _contestable(db, me), **_labels(), **_recheck_labels()}
    return render(request, "screening/recheck_requests.html", context)


def _form(
    request: Request,
    db: Session,
    me: SignedIn,
    inquiry_id: uuid.UUID,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    row = next(iter(_contestable(db, me, inquiry_id)), None)
    if row is None:
        raise NotFoundError("Inquiry not found.")
    context = {
        "row": row,
        "subject": row.inquiry.subject or {},
        "values": values,
        "errors": errors,
        "max_mib": rechecks.MAX_DOCUMENT_BYTES >> 20,
        **_labels(),
        **_recheck_labels(),
    }
    return render(request, "screening/recheck_form.html", context, status=status)


@requests.get("/{inquiry_id}/new")
def request_new(request: Request, db: Db, me: Enterer, inquiry_id: uuid.UUID) -> Response:
    """The form for a candidate's re-check request."""
    today = latest_possible_date().isoformat()
    return _form(request, db, me, inquiry_id, values={"received_on": today}, errors={})


@dataclass(frozen=True)
class RequestForm:
    """The request form as sent: its text fields and the document, if one was attached."""

    grounds: str
    received_on: str
    document: Scan | None


async def request_form(request: Request) -> RequestForm:
    """Read the (multipart) request form once; the route itself stays synchronous."""
    form = await request.form()
    grounds, received = form.get("grounds"), form.get("received_on")
    document: Scan | None = None
    upload = form.get("document")
    if isinstance(upload, UploadFile) and upload.filename:
        # One byte over the limit is enough to refuse; the rest is never read.
        content = await upload.read(rechecks.MAX_DOCUMENT_BYTES + 1)
        document = Scan(upload.filename, upload.content_type or "", content)
    return RequestForm(
        grounds=grounds if isinstance(grounds, str) else "",
        received_on=received if isinstance(received, str) else "",
        document=document,
    )


@requests.post("/{inquiry_id}")
def request_enter(
    request: Request,
    db: Db,
    me: Enterer,
    inquiry_id: uuid.UUID,
    form: Annotated[RequestForm, Depends(request_form)],
) -> Response:
    """Enter the request: a registry reviewer re-examines the answer."""
    values = {"grounds": form.grounds, "received_on": form.received_on}
    try:
        received = date.fromisoformat(form.received_on) if form.received_on else None
    except ValueError:
        errors = {"received_on": gettext("Enter a date written YYYY-MM-DD.")}
        return _form(request, db, me, inquiry_id, values=values, errors=errors, status=422)
    try:
        rechecks.enter_recheck(
            db,
            actor=me.principal,
            inquiry_id=inquiry_id,
            request=rechecks.RecheckRequest(
                grounds=form.grounds, received_on=received, document=form.document
            ),
        )
    except DomainError as exc:
        db.rollback()
        if isinstance(exc, NotFoundError):
            raise
        errors = {exc.field or "": gettext(exc.message, **exc.params)}
        try:
            return _form(
                request, db, me, inquiry_id, values=values, errors=errors, status=exc.status_code
            )
        except NotFoundError:
            raise exc from None  # no form to show again (no record to re-check): the refusal
    return RedirectResponse("/recheck-requests", status_code=303)


# --- the registry reviewers decide ---------------------------------------------------------------


@reviews.get("")
def recheck_queue(request: Request, db: Db, me: Decider) -> Response:
    """Open re-checks, the oldest first."""
    rows = list(
        db.scalars(
            rechecks.readable_rechecks(me.principal)
            .where(InquiryRecheck.status == RecheckStatus.PENDING.value)
            .order_by(InquiryRecheck.entered_at, InquiryRecheck.id)
            .limit(500)
        )
    )
    inquiries = {
        row.id: row
        for row in db.scalars(select(Inquiry).where(Inquiry.id.in_({r.inquiry_id for r in rows})))
    }
    context = {
        "rows": rows,
        "inquiries": inquiries,
        "authorities": _names(db, {r.authority_id for r in rows}),
        "me": me.principal.user_id,
        **_labels(),
        **_recheck_labels(),
    }
    return render(request, "screening/rechecks.html", context)


def _decision_page(
    request: Request,
    db: Session,
    me: SignedIn,
    recheck: InquiryRecheck,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    inquiry = db.get_one(Inquiry, recheck.inquiry_id)
    authority = db.get(Organisation, recheck.authority_id)
    institution = db.get(Organisation, inquiry.institution_id)
    context = {
        **comparison(db, me.principal, inquiry),
        **_recheck_labels(),
        "recheck": recheck,
        "document": rechecks.document_of(db, recheck.id),
        "authority": authority.name if authority else "",
        "institution": institution.name if institution else "",
        # Four eyes: the reviewer who confirmed the match does not decide the appeal against it.
        "confirmed_it": inquiry.reviewed_by_id is not None
        and inquiry.reviewed_by_id == me.principal.user_id,
        "values": values or {},
        "errors": errors or {},
        "grounds_of_overturn": [(g.value, GROUND_LABELS[g]) for g in RecheckGround],
    }
    return render(request, "screening/recheck.html", context, status=status)


@reviews.get("/{recheck_id}")
def recheck_detail(request: Request, db: Db, me: Decider, recheck_id: uuid.UUID) -> Response:
    """The candidate's grounds, the candidate and the registry person side by side (audited)."""
    recheck = rechecks.read_recheck(db, actor=me.principal, recheck_id=recheck_id)
    return _decision_page(request, db, me, recheck)


@reviews.post("/{recheck_id}/decision")
def recheck_decide(  # noqa: PLR0917 - FastAPI passes a form's fields as parameters
    request: Request,
    db: Db,
    me: Decider,
    recheck_id: uuid.UUID,
    outcome: Annotated[str, Form()] = "",
    ground: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    """Uphold or overturn the answer."""
    try:
        rechecks.decide_recheck(
            db,
            actor=me.principal,
            recheck_id=recheck_id,
            outcome=outcome,
            ground=ground or None,
            note=note,
        )
    except DomainError as exc:
        db.rollback()
        if isinstance(exc, NotFoundError):
            raise
        # The page shows the grounds again: a read like any other, audited.
        recheck = rechecks.read_recheck(db, actor=me.principal, recheck_id=recheck_id)
        values = {"outcome": outcome, "ground": ground, "note": note}
        errors = {exc.field or "": gettext(exc.message, **exc.params)}
        return _decision_page(
            request, db, me, recheck, values=values, errors=errors, status=exc.status_code
        )
    return RedirectResponse(f"/rechecks/{recheck_id}", status_code=303)


@reviews.get("/{recheck_id}/document")
def recheck_document(db: Db, me: Reader, recheck_id: uuid.UUID) -> Response:
    """Download the supporting document (checked against its SHA-256; audited)."""
    stored = rechecks.read_document(db, actor=me.principal, recheck_id=recheck_id)
    return Response(
        stored.content or b"",
        media_type=stored.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="recheck-{stored.sha256[:12]}"',
            "Cache-Control": "no-store",
        },
    )
