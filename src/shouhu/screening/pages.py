"""Inquiry pages: an institution's inquiries, its authority's approvals, the reviewers' queue.

Each page calls `screening.inquiries`, as the API does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.accounts.models import Organisation
from shouhu.accounts.roles import Permission
from shouhu.core.errors import DomainError, NotFoundError
from shouhu.core.i18n import N_, current_language, gettext
from shouhu.core.principal import Principal
from shouhu.identity.documents import IdType
from shouhu.identity.prc_id import latest_possible_date
from shouhu.registry.browse import view_person
from shouhu.registry.pages import ID_TYPE_LABELS
from shouhu.registry.policy import InquiryPurpose, policy
from shouhu.screening import inquiries
from shouhu.screening.certificates import current_certificate, display_code
from shouhu.screening.inquiries import InquiryInvalidError, InquiryRequest
from shouhu.screening.models import Inquiry, InquiryStatus
from shouhu.screening.queries import ValidQuery, parse_query
from shouhu.screening.rechecks import latest_rechecks
from shouhu.web.deps import Db, PagePermission, SettingsDep, SignedIn
from shouhu.web.form_errors import rejection_text
from shouhu.web.templating import render

router = APIRouter(prefix="/inquiries", include_in_schema=False)

Asker = Annotated[SignedIn, Depends(PagePermission(Permission.INQUIRY_SUBMIT))]
Approver = Annotated[SignedIn, Depends(PagePermission(Permission.INQUIRY_APPROVE))]
Reviewer = Annotated[SignedIn, Depends(PagePermission(Permission.INQUIRY_REVIEW))]

STATUS_LABELS: Final = {
    InquiryStatus.PENDING_APPROVAL: N_("Waiting for the authority's approval"),
    InquiryStatus.UNDER_REVIEW: N_("Under review"),
    InquiryStatus.COMPLETED: N_("Answered"),
    InquiryStatus.REFUSED: N_("Refused by the authority"),
}
ANSWER_LABELS: Final = {
    "no_record": N_("No record"),
    "record_found": N_("Record found: do not hire"),
}
HIRING_LABELS: Final = {"hired": N_("Hired"), "not_hired": N_("Not hired")}
RECHECK_LABELS: Final = {
    "pending": N_("Re-check pending"),
    "upheld": N_("Re-check: answer upheld"),
    "overturned": N_("Re-check: answer overturned"),
}
SUBJECT_FIELDS: Final = inquiries.SUBJECT_FIELDS


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _purposes() -> list[tuple[str, str]]:
    chinese = current_language() == "zh_CN"
    return [
        (code.value, rule.name_zh if chinese else rule.name_en)
        for code, rule in policy().purposes.items()
    ]


def _labels() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "answer_labels": ANSWER_LABELS,
        "hiring_labels": HIRING_LABELS,
        "recheck_labels": RECHECK_LABELS,
        "purpose_names": dict(_purposes()),
    }


@router.get("")
def inquiry_list(request: Request, db: Db, me: Asker) -> Response:
    """The institution's inquiries, newest first."""
    rows = list(
        db.scalars(
            inquiries.readable_inquiries(me.principal)
            .where(Inquiry.institution_id == me.principal.organisation_id)
            .order_by(Inquiry.submitted_at.desc())
            .limit(200)
        )
    )
    rechecked = latest_rechecks(db, [row.id for row in rows])
    context = {"rows": rows, "rechecks": rechecked, **_labels()}
    return render(request, "screening/inquiries.html", context)


def _form_page(
    request: Request, values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    context = {
        "values": values,
        "errors": errors,
        "purposes": _purposes(),
        "id_types": [(t.value, ID_TYPE_LABELS[t]) for t in IdType],
    }
    return render(request, "screening/inquiry_form.html", context, status=status)


@router.get("/new")
def inquiry_new(request: Request, me: Asker) -> Response:
    """The form for a new inquiry."""
    return _form_page(
        request, {"purpose": InquiryPurpose.SCHOOL_STAFF.value, "id_type": "prc_id"}, {}
    )


@router.post("")
def inquiry_create(
    request: Request,
    db: Db,
    me: Asker,
    settings: SettingsDep,
    purpose: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    id_type: Annotated[str, Form()] = "",
    id_number: Annotated[str, Form()] = "",
    date_of_birth: Annotated[str, Form()] = "",
    sex: Annotated[str, Form()] = "",
    nationality: Annotated[str, Form()] = "",
    position: Annotated[str, Form()] = "",
    consent_reference: Annotated[str, Form()] = "",
    consent_signed_on: Annotated[str, Form()] = "",
    new_lookup: Annotated[str, Form()] = "",
) -> Response:
    """Submit an inquiry (with the candidate's consent), or show the form again with the errors."""
    subject = {
        "name": name,
        "id_type": id_type,
        "id_number": id_number,
        "date_of_birth": date_of_birth,
        "sex": sex,
        "nationality": nationality,
    }
    values = {
        **subject,
        "purpose": purpose,
        "position": position,
        "consent_reference": consent_reference,
        "consent_signed_on": consent_signed_on,
    }
    try:
        signed = date.fromisoformat(consent_signed_on) if consent_signed_on else None
    except ValueError:
        return _form_page(
            request,
            values,
            {"consent_signed_on": gettext("Enter a date written YYYY-MM-DD.")},
            status=422,
        )
    try:
        inquiry = inquiries.submit_inquiry(
            db,
            actor=me.principal,
            request=InquiryRequest(
                purpose=purpose,
                subject=subject,
                consent_reference=consent_reference,
                consent_signed_on=signed,
                position=position,
                new_lookup=new_lookup == "on",
            ),
            settings=settings,
        )
    except InquiryInvalidError as exc:
        db.rollback()
        errors = {field: rejection_text("", message) for field, message in exc.problems.items()}
        return _form_page(request, values, errors, status=422)
    except DomainError as exc:
        db.rollback()
        return _form_page(
            request, values, {exc.field or "": gettext(exc.message, **exc.params)}, exc.status_code
        )
    return _redirect(f"/inquiries/{inquiry.id}")


def _inquiry_page(
    request: Request,
    db: Session,
    me: SignedIn,
    inquiry: Inquiry,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    institution = db.get(Organisation, inquiry.institution_id)
    certificate = current_certificate(db, inquiry.id)
    context = {
        "certificate": certificate,
        "certificate_code": display_code(certificate.code) if certificate else None,
        "certificate_document": json.loads(certificate.document) if certificate else None,
        "inquiry": inquiry,
        "institution": institution.name if institution else "",
        "own": inquiry.institution_id == me.principal.organisation_id,
        "subject": inquiry.subject or {},
        "error": error,
        # The candidate's re-check, as the institution sees it: its status and date only.
        "recheck": latest_rechecks(db, [inquiry.id]).get(inquiry.id),
        **_labels(),
    }
    return render(request, "screening/inquiry.html", context, status=status)


@router.get("/{inquiry_id}")
def inquiry_detail(request: Request, db: Db, me: Asker, inquiry_id: uuid.UUID) -> Response:
    """One inquiry as its institution sees it: status and answer, never registry content."""
    inquiry = inquiries.get_inquiry(db, me.principal, inquiry_id)
    return _inquiry_page(request, db, me, inquiry)


def _act(
    request: Request,
    db: Session,
    me: SignedIn,
    inquiry_id: uuid.UUID,
    action: Callable[[], object],
    back: str,
) -> Response:
    try:
        action()
    except DomainError as exc:
        if not exc.persist:
            db.rollback()
        else:
            db.commit()  # a refused hire is recorded (its audit event), as the service asks
        inquiry = inquiries.get_inquiry(db, me.principal, inquiry_id)
        return _inquiry_page(
            request,
            db,
            me,
            inquiry,
            error=gettext(exc.message, **exc.params),
            status=exc.status_code,
        )
    return _redirect(back)


@router.post("/{inquiry_id}/decision")
def inquiry_decision(
    request: Request,
    db: Db,
    me: Asker,
    inquiry_id: uuid.UUID,
    decision: Annotated[str, Form()] = "",
) -> Response:
    """Record hired or not hired (a hire after a record is refused, and the refusal kept)."""
    return _act(
        request,
        db,
        me,
        inquiry_id,
        lambda: inquiries.record_hiring(
            db, actor=me.principal, inquiry_id=inquiry_id, decision=decision
        ),
        f"/inquiries/{inquiry_id}",
    )


# --- the authority --------------------------------------------------------------------------------


approvals = APIRouter(prefix="/approvals", include_in_schema=False)


def _approval_page(
    request: Request, db: Session, me: SignedIn, *, error: str | None = None, status: int = 200
) -> Response:
    rows = list(
        db.scalars(
            select(Inquiry)
            .where(
                Inquiry.authority_id == me.principal.organisation_id,
                Inquiry.status == InquiryStatus.PENDING_APPROVAL.value,
            )
            .order_by(Inquiry.submitted_at)
            .limit(500)
        )
    )
    names = {
        row[0]: row[1]
        for row in db.execute(
            select(Organisation.id, Organisation.name).where(
                Organisation.id.in_({r.institution_id for r in rows})
            )
        )
    }
    context = {"rows": rows, "institutions": names, "error": error, **_labels()}
    return render(request, "screening/approvals.html", context, status=status)


@approvals.get("")
def approval_queue(request: Request, db: Db, me: Approver) -> Response:
    """Inquiries of the authority's schools waiting for approval, oldest first."""
    return _approval_page(request, db, me)


def _approval_action(
    request: Request, db: Session, me: SignedIn, action: Callable[[], object]
) -> Response:
    try:
        action()
    except DomainError as exc:
        db.rollback()
        if isinstance(exc, NotFoundError):
            raise
        return _approval_page(
            request, db, me, error=gettext(exc.message, **exc.params), status=exc.status_code
        )
    return _redirect("/approvals")


@approvals.post("/{inquiry_id}/approve")
def approval_approve(
    request: Request, db: Db, me: Approver, settings: SettingsDep, inquiry_id: uuid.UUID
) -> Response:
    """Approve an inquiry: the look-up runs now."""
    return _approval_action(
        request,
        db,
        me,
        lambda: inquiries.approve_inquiry(
            db, actor=me.principal, inquiry_id=inquiry_id, settings=settings
        ),
    )


@approvals.post("/{inquiry_id}/refuse")
def approval_refuse(
    request: Request,
    db: Db,
    me: Approver,
    inquiry_id: uuid.UUID,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Refuse an inquiry, with the reason."""
    return _approval_action(
        request,
        db,
        me,
        lambda: inquiries.refuse_inquiry(
            db, actor=me.principal, inquiry_id=inquiry_id, reason=reason
        ),
    )


# --- the registry reviewers -----------------------------------------------------------------------


matches = APIRouter(prefix="/possible-matches", include_in_schema=False)


@matches.get("")
def match_queue(request: Request, db: Db, me: Reviewer) -> Response:
    """Inquiries whose candidate may be a registry person, oldest first."""
    rows = list(
        db.scalars(
            inquiries.readable_inquiries(me.principal)
            .where(Inquiry.status == InquiryStatus.UNDER_REVIEW.value)
            .order_by(Inquiry.submitted_at)
            .limit(500)
        )
    )
    return render(request, "screening/matches.html", {"rows": rows, **_labels()})


def comparison(db: Session, principal: Principal, inquiry: Inquiry) -> dict[str, Any]:
    """The candidate beside the matched registry person (the read audited), with the reasons."""
    person = (
        view_person(db, actor=principal, person_id=inquiry.matched_person_id)
        if inquiry.matched_person_id
        else None
    )
    explanation = json.loads(inquiry.explanation) if inquiry.explanation else {}
    subject = inquiry.subject or {}
    # What the engine compared: a birth date and sex left to the document are read from it, so
    # the reviewer sees them beside the registry person's rather than a dash.
    query = parse_query(1, {"reference": "inquiry", **subject}, today=latest_possible_date())
    profile = query.profile if isinstance(query, ValidQuery) else None
    return {
        "inquiry": inquiry,
        "subject": subject,
        "candidate_born": profile.date_of_birth if profile else subject.get("date_of_birth"),
        "candidate_sex": profile.sex if profile else subject.get("sex"),
        "person": person,
        "explanation": explanation,
        "id_type_labels": ID_TYPE_LABELS,
        **_labels(),
    }


@matches.get("/{inquiry_id}")
def match_detail(request: Request, db: Db, me: Reviewer, inquiry_id: uuid.UUID) -> Response:
    """The candidate and the registry person side by side, with the engine's reasons."""
    inquiry = inquiries.get_inquiry(db, me.principal, inquiry_id)
    return render(request, "screening/match.html", comparison(db, me.principal, inquiry))


def _match_action(db: Session, action: Callable[[], object], inquiry_id: uuid.UUID) -> Response:
    action()
    return _redirect(f"/possible-matches/{inquiry_id}")


@matches.post("/{inquiry_id}/confirm")
def match_confirm(db: Db, me: Reviewer, inquiry_id: uuid.UUID) -> Response:
    """The candidate is the registry person: `record_found`."""
    return _match_action(
        db,
        lambda: inquiries.confirm_match(db, actor=me.principal, inquiry_id=inquiry_id),
        inquiry_id,
    )


@matches.post("/{inquiry_id}/clear")
def match_clear(db: Db, me: Reviewer, inquiry_id: uuid.UUID) -> Response:
    """The candidate is someone else: `no_record`."""
    return _match_action(
        db,
        lambda: inquiries.clear_match(db, actor=me.principal, inquiry_id=inquiry_id),
        inquiry_id,
    )
