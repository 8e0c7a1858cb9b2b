"""JSON routes of the staff-access inquiry under /api/v1: submit, approve or refuse, read, hire.

Every route calls `screening.inquiries`, so consent, the authority's approval, the 30-day
repeat, the refused hire and their audit events are those of the pages and the command line.
Reads go through `readable_inquiries`, so another institution's inquiry is the 404 of one that
does not exist (DESIGN §2), and ids are random UUIDs that cannot be guessed. The institution is
told the status and the answer, never the engine's outcome, explanation or matched person.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Body, Depends, Query
from fastapi.exceptions import RequestValidationError
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from shouhu.accounts.roles import Permission
from shouhu.core.errors import NotFoundError, ValidationFailedError
from shouhu.core.principal import Principal
from shouhu.registry.schemas import Reason
from shouhu.screening import inquiries
from shouhu.screening.api_schemas import (
    DecisionIn,
    InquiryCreatedOut,
    InquiryIn,
    InquiryOut,
    created_out,
    inquiry_out,
)
from shouhu.screening.certificates import current_code, display_code
from shouhu.screening.inquiries import InquiryInvalidError
from shouhu.screening.models import Certificate, Inquiry, InquiryStatus
from shouhu.screening.recheck_models import InquiryRecheck
from shouhu.screening.rechecks import latest_rechecks
from shouhu.web.deps import ApiPermission, Db, SettingsDep

router = APIRouter(prefix="/inquiries", tags=["inquiries"])

# The institution's routes. Education officers hold `inquiry:submit` too (an authority queries
# directly), and then act as their own authority's institution; the two reads also show an
# officer the inquiries of the schools their authority approves (`readable_inquiries`).
Submitter = Annotated[Principal, Depends(ApiPermission(Permission.INQUIRY_SUBMIT))]
# The supervising education authority's officers (MoE notice 2023: the authority reviews).
Approver = Annotated[Principal, Depends(ApiPermission(Permission.INQUIRY_APPROVE))]

Limit = Annotated[int, Query(ge=1, le=500, description="At most this many inquiries")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Skip this many inquiries first")]

PROBLEM = {"content": {"application/problem+json": {"schema": {"type": "object"}}}}
UNREADABLE: Final = {"description": "The body is not readable JSON", **PROBLEM}
UNAUTHENTICATED: Final = {"description": "No valid bearer token", **PROBLEM}
FORBIDDEN: Final = {"description": "The token's user lacks the permission", **PROBLEM}
INVALID: Final = {"description": "Invalid input; `errors` names each field", **PROBLEM}
NOT_FOUND: Final = {
    "description": "No such inquiry, or another organisation's (the same answer)",
    **PROBLEM,
}


def _errors(*, body: bool = False, not_found: bool = False, conflict: str | None = None) -> Any:
    found: dict[int | str, dict[str, Any]] = {
        401: UNAUTHENTICATED,
        403: FORBIDDEN,
        422: INVALID,
    }
    if body:
        found[400] = UNREADABLE
    if not_found:
        found[404] = NOT_FOUND
    if conflict:
        found[409] = {"description": conflict, **PROBLEM}
    return found


SUBMIT_ERRORS: Final = _errors(body=True)
LIST_ERRORS: Final = _errors()
READ_ERRORS: Final = _errors(not_found=True)
DECIDE_ERRORS: Final = _errors(
    body=True, not_found=True, conflict="The inquiry is not waiting for approval"
)
HIRING_ERRORS: Final = _errors(
    body=True,
    not_found=True,
    conflict="Hiring refused: a record was found, or there is no answer yet (the refusal is"
    " recorded and shown to the supervising authority)",
)

# The service names its own fields; the API names them where the body has them.
SERVICE_FIELDS: Final = {
    "consent_reference": "consent.reference",
    "consent_signed_on": "consent.signed_on",
}

SUBMIT_EXAMPLES: Final = {
    "school": {
        "summary": "A primary school asks about a teacher it means to hire",
        "value": {
            "purpose": "school_staff",
            "subject": {
                "name": "王小明",
                "id_type": "prc_id",
                "id_number": "110101198005171233",
                "date_of_birth": "1980-05-17",
                "sex": "M",
                "nationality": "CHN",
            },
            "consent": {"reference": "同意书-2026-001", "signed_on": "2026-03-02"},
            "position": "语文教师",
            "reference": "HR-2026-0042",
        },
    },
    "foreign": {
        "summary": "A training body asks again about a foreign tutor (a new look-up)",
        "value": {
            "purpose": "close_contact",
            "subject": {
                "name": "Olga Ivanova",
                "id_type": "passport",
                "id_number": "751234567",
                "date_of_birth": "1979-01-02",
                "sex": "F",
                "nationality": "RUS",
            },
            "consent": {"reference": "C-2026-17", "signed_on": "2026-02-20"},
            "position": "外语辅导",
            "reference": "",
            "new_lookup": True,
        },
    },
}
REFUSE_EXAMPLES: Final = {
    "not_an_applicant": {
        "summary": "The person is not an applicant (the 2023 notice forbids such queries)",
        "value": {"reason": "被查询人不是应聘人员，不得查询。"},
    },
}
DECISION_EXAMPLES: Final = {
    "hired": {"summary": "Hired after a no_record answer", "value": {"decision": "hired"}},
    "not_hired": {"summary": "Not hired", "value": {"decision": "not_hired"}},
}


@contextmanager
def _fields_of_the_body() -> Iterator[None]:
    """Name the field at fault as the body spells it: `subject.id_number`, `consent.signed_on`."""
    try:
        yield
    except InquiryInvalidError as exc:
        raise RequestValidationError(
            [
                {"loc": ("body", "subject", field), "msg": message, "type": "value_error"}
                for field, message in exc.problems.items()
            ]
        ) from exc
    except ValidationFailedError as exc:
        if exc.field in SERVICE_FIELDS:
            exc.field = SERVICE_FIELDS[exc.field]
        raise


def _ours(principal: Principal) -> ColumnElement[bool]:
    """The caller's organisation's inquiries, and those it supervises as their authority."""
    org = principal.organisation_id
    return or_(Inquiry.institution_id == org, Inquiry.authority_id == org)


def _recheck_status(recheck: InquiryRecheck | None) -> str | None:
    return recheck.status if recheck else None


def views(db: Session, found: list[Inquiry]) -> list[InquiryOut]:
    """The inquiries as the API shows them, with their re-checks and certificates (bulk reads)."""
    ids = [inquiry.id for inquiry in found]
    latest = latest_rechecks(db, ids)
    codes = dict(
        db.execute(
            select(Certificate.inquiry_id, Certificate.code).where(
                Certificate.inquiry_id.in_(ids), Certificate.superseded_at.is_(None)
            )
        ).all()
    )
    return [
        inquiry_out(
            inquiry,
            _recheck_status(latest.get(inquiry.id)),
            display_code(codes[inquiry.id]) if inquiry.id in codes else None,
        )
        for inquiry in found
    ]


def _utc(value: datetime) -> datetime:
    """A time as UTC; a time without an offset is taken as UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00+01:00 lies before the first UTC year
        raise ValidationFailedError(
            "The time {name} is out of range.", field="since", name="since"
        ) from exc


# --- the institution ----------------------------------------------------------------------------


@router.post("", response_model=InquiryCreatedOut, status_code=201, responses=SUBMIT_ERRORS)
def submit_inquiry(
    db: Db,
    principal: Submitter,
    settings: SettingsDep,
    body: Annotated[InquiryIn, Body(openapi_examples=SUBMIT_EXAMPLES)],
) -> InquiryCreatedOut:
    """Ask whether a candidate has a disqualifying record, with the candidate's consent.

    A school's or kindergarten's inquiry waits for its supervising education authority
    (`pending_approval`) where the authority requires approval; other inquiries are looked up
    at once. `status` is `pending_approval`, `under_review` (a possible match, waiting for a
    registry reviewer) or `completed`; `answer` is null until completed, then `no_record` or
    `record_found`. The same candidate for the same purpose within 30 days returns the earlier
    inquiry (its id, status and answer, still with 201) unless `new_lookup` is true.
    `certificate_code` is the verification code of the signed certificate of a final answer
    (null until then): `GET /api/v1/certificates/{code}` checks it.
    """
    with _fields_of_the_body():
        inquiry = inquiries.submit_inquiry(
            db, actor=principal, request=body.request(), settings=settings
        )
    code = current_code(db, inquiry.id)
    return created_out(inquiry, display_code(code) if code else None)


@router.get("", response_model=list[InquiryOut], responses=LIST_ERRORS)
def list_inquiries(
    db: Db,
    principal: Submitter,
    status: Annotated[
        InquiryStatus | None, Query(description="Only inquiries in this status")
    ] = None,
    since: Annotated[
        datetime | None,
        Query(description="Only inquiries submitted at or after this time (UTC if no offset)"),
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[InquiryOut]:
    """The caller's organisation's inquiries, the newest first.

    For an education officer, also those of the schools their authority approves.
    """
    statement = inquiries.readable_inquiries(principal).where(_ours(principal))
    if status is not None:
        statement = statement.where(Inquiry.status == status.value)
    if since is not None:
        statement = statement.where(Inquiry.submitted_at >= _utc(since))
    statement = statement.order_by(Inquiry.submitted_at.desc(), Inquiry.id.desc())
    return views(db, list(db.scalars(statement.limit(limit).offset(offset))))


@router.get("/{inquiry_id}", response_model=InquiryOut, responses=READ_ERRORS)
def read_inquiry(db: Db, principal: Submitter, inquiry_id: uuid.UUID) -> InquiryOut:
    """One of the caller's organisation's inquiries: its status and answer, nothing more.

    An education officer may also read those of the schools their authority approves; any
    other inquiry is the 404 of one that does not exist. `recheck` says whether the candidate
    asked for a re-check of a `record_found` answer, and how it was decided; never why.
    """
    inquiry = inquiries.get_inquiry(db, principal, inquiry_id)
    if principal.organisation_id not in {inquiry.institution_id, inquiry.authority_id}:
        raise NotFoundError("Inquiry not found.")
    return views(db, [inquiry])[0]


@router.post("/{inquiry_id}/decision", response_model=InquiryOut, responses=HIRING_ERRORS)
def record_decision(
    db: Db,
    principal: Submitter,
    inquiry_id: uuid.UUID,
    body: Annotated[DecisionIn, Body(openapi_examples=DECISION_EXAMPLES)],
) -> InquiryOut:
    """Record whether the candidate was hired.

    Hiring after `record_found`, or before the answer is `no_record`, is refused (409; Minors
    Law art. 62) and the refusal is recorded for the supervising authority to see. A decision
    may change: `not_hired` to `hired` while the answer is `no_record` (also after an overturned
    re-check), `hired` to `not_hired` (the person left, or the offer was withdrawn). Sending the
    decision already recorded changes nothing.
    """
    inquiry = inquiries.record_hiring(
        db, actor=principal, inquiry_id=inquiry_id, decision=body.decision.value
    )
    return views(db, [inquiry])[0]


# --- the supervising education authority --------------------------------------------------------


@router.post("/{inquiry_id}/approve", response_model=InquiryOut, responses=DECIDE_ERRORS)
def approve_inquiry(
    db: Db, principal: Approver, inquiry_id: uuid.UUID, settings: SettingsDep
) -> InquiryOut:
    """Approve an inquiry waiting for the caller's authority: the look-up runs now.

    Only the institution's supervising authority may approve it; any other's officer gets 404.
    """
    inquiry = inquiries.approve_inquiry(
        db, actor=principal, inquiry_id=inquiry_id, settings=settings
    )
    return views(db, [inquiry])[0]


@router.post("/{inquiry_id}/refuse", response_model=InquiryOut, responses=DECIDE_ERRORS)
def refuse_inquiry(
    db: Db,
    principal: Approver,
    inquiry_id: uuid.UUID,
    body: Annotated[Reason, Body(openapi_examples=REFUSE_EXAMPLES)],
) -> InquiryOut:
    """Refuse to run an inquiry waiting for the caller's authority, with the reason."""
    inquiry = inquiries.refuse_inquiry(
        db, actor=principal, inquiry_id=inquiry_id, reason=body.reason
    )
    return views(db, [inquiry])[0]
