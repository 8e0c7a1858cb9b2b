"""JSON routes of re-check (复查) appeals under /api/v1: enter, list, read, decide.

Every route calls `screening.rechecks`, as the pages do. An authority's officer enters requests
on its institutions' `record_found` inquiries and reads its own; registry reviewers read all and
decide. Another authority's re-check, or inquiry, is the 404 of one that does not exist.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Final

from fastapi import APIRouter, Body, Depends, Query
from sqlalchemy.orm import Session

from shouhu.accounts.roles import Permission
from shouhu.core.principal import Principal
from shouhu.screening import rechecks
from shouhu.screening.certificates import current_certificate, display_code
from shouhu.screening.models import Inquiry
from shouhu.screening.recheck_models import InquiryRecheck, RecheckStatus
from shouhu.screening.recheck_schemas import (
    RecheckDecisionIn,
    RecheckIn,
    RecheckOut,
    recheck_out,
)
from shouhu.web.deps import ApiPermission, Db

router = APIRouter(tags=["rechecks"])

Enterer = Annotated[Principal, Depends(ApiPermission(Permission.RECHECK_ENTER))]
Reader = Annotated[Principal, Depends(ApiPermission(Permission.RECHECK_READ))]
Decider = Annotated[Principal, Depends(ApiPermission(Permission.RECHECK_DECIDE))]

Limit = Annotated[int, Query(ge=1, le=500, description="At most this many re-checks")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Skip this many re-checks first")]

PROBLEM = {"content": {"application/problem+json": {"schema": {"type": "object"}}}}


def _errors(
    *, body: bool = False, not_found: str | None = None, conflict: str | None = None
) -> Any:
    found: dict[int | str, dict[str, Any]] = {
        401: {"description": "No valid bearer token", **PROBLEM},
        403: {"description": "The token's user lacks the permission", **PROBLEM},
        422: {"description": "Invalid input; `errors` names each field", **PROBLEM},
    }
    if body:
        found[400] = {"description": "The body is not readable JSON", **PROBLEM}
    if not_found:
        found[404] = {"description": not_found, **PROBLEM}
    if conflict:
        found[409] = {"description": conflict, **PROBLEM}
    return found


ENTER_ERRORS: Final = _errors(
    body=True,
    not_found="No such inquiry, or not one of the caller's authority's institutions (the same"
    " answer)",
    conflict="The answer is not record_found, or a re-check of it is already open",
)
READ_ERRORS: Final = _errors(not_found="No such re-check, or another authority's (the same answer)")
DECIDE_ERRORS: Final = _errors(
    body=True,
    not_found="No such re-check",
    conflict="The re-check has already been decided",
)

ENTER_EXAMPLES: Final = {
    "not_me": {
        "summary": "The candidate says the record is someone else's",
        "value": {
            "grounds": "本人从未受过任何处罚，身份证曾于2019年遗失，请求复查。",
            "received_on": "2026-03-12",
        },
    },
}
DECISION_EXAMPLES: Final = {
    "overturned": {
        "summary": "Another person of the same name and birth date: the answer becomes no_record",
        "value": {
            "outcome": "overturned",
            "ground": "not_the_same_person",
            "note": "出生地与户籍信息不同，系同名同生日的另一人。",
        },
    },
    "upheld": {
        "summary": "The match and the record stand: the answer stays record_found",
        "value": {"outcome": "upheld", "note": "身份证号码一致，记录有效，维持原查询结果。"},
    },
}


def _view(db: Session, principal: Principal, recheck: InquiryRecheck, *, full: bool) -> RecheckOut:
    inquiry = db.get_one(Inquiry, recheck.inquiry_id)
    certificate = current_certificate(db, inquiry.id)
    return recheck_out(
        recheck,
        principal=principal,
        document=rechecks.document_of(db, recheck.id),
        answer=inquiry.answer,
        certificate_code=display_code(certificate.code) if certificate else None,
        full=full,
    )


@router.post(
    "/inquiries/{inquiry_id}/rechecks",
    response_model=RecheckOut,
    status_code=201,
    responses=ENTER_ERRORS,
)
def enter_recheck(
    db: Db,
    principal: Enterer,
    inquiry_id: uuid.UUID,
    body: Annotated[RecheckIn, Body(openapi_examples=ENTER_EXAMPLES)],
) -> RecheckOut:
    """Enter a candidate's re-check request of a `record_found` answer (MoE notice 2023).

    For an education officer of the authority responsible for the inquiry's institution. The
    request must have been received within 30 days of the answer; one re-check per inquiry may
    be open at a time (409). A supporting document is attached on the request page.
    """
    recheck = rechecks.enter_recheck(
        db,
        actor=principal,
        inquiry_id=inquiry_id,
        request=rechecks.RecheckRequest(grounds=body.grounds, received_on=body.received_on),
    )
    return _view(db, principal, recheck, full=True)


@router.get("/rechecks", response_model=list[RecheckOut], responses=_errors())
def list_rechecks(
    db: Db,
    principal: Reader,
    status: Annotated[
        RecheckStatus | None, Query(description="Only re-checks in this status")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[RecheckOut]:
    """Re-checks, the oldest first: an officer's authority's, or (registry reviewers) all.

    `status=pending` is the reviewers' queue. Grounds are left out of lists.
    """
    statement = rechecks.readable_rechecks(principal)
    if status is not None:
        statement = statement.where(InquiryRecheck.status == status.value)
    statement = statement.order_by(InquiryRecheck.entered_at, InquiryRecheck.id)
    found = db.scalars(statement.limit(limit).offset(offset)).all()
    return [_view(db, principal, recheck, full=False) for recheck in found]


@router.get("/rechecks/{recheck_id}", response_model=RecheckOut, responses=READ_ERRORS)
def read_recheck(db: Db, principal: Reader, recheck_id: uuid.UUID) -> RecheckOut:
    """One re-check with the candidate's grounds (the read is audited)."""
    recheck = rechecks.read_recheck(db, actor=principal, recheck_id=recheck_id)
    return _view(db, principal, recheck, full=True)


@router.post("/rechecks/{recheck_id}/decision", response_model=RecheckOut, responses=DECIDE_ERRORS)
def decide_recheck(
    db: Db,
    principal: Decider,
    recheck_id: uuid.UUID,
    body: Annotated[RecheckDecisionIn, Body(openapi_examples=DECISION_EXAMPLES)],
) -> RecheckOut:
    """Uphold the answer, or overturn it: the inquiry then answers `no_record`, signed anew.

    The reviewer who confirmed the possible match the answer rests on may not decide (403;
    four eyes). An overturn needs a `ground`; every decision needs a `note`.
    """
    recheck = rechecks.decide_recheck(
        db,
        actor=principal,
        recheck_id=recheck_id,
        outcome=body.outcome.value,
        ground=body.ground.value if body.ground else None,
        note=body.note,
    )
    return _view(db, principal, recheck, full=True)
