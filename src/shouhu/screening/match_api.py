"""The registry reviewers' JSON routes for possible matches under /api/v1/possible-matches.

A public security bureau's case system can take the queue and send the reviewer's word; the
comparison itself (candidate beside registry person, with the engine's reasons) is read on the
page `/possible-matches/{id}`, where the person's read is audited.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Final

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from shouhu.accounts.roles import Permission
from shouhu.core.principal import Principal
from shouhu.registry.policy import InquiryPurpose
from shouhu.screening import inquiries
from shouhu.screening.api import _errors, views
from shouhu.screening.api_schemas import InquiryOut
from shouhu.screening.models import Inquiry, InquiryStatus
from shouhu.web.deps import ApiPermission, Db

router = APIRouter(prefix="/possible-matches", tags=["possible matches"])

Reviewer = Annotated[Principal, Depends(ApiPermission(Permission.INQUIRY_REVIEW))]

DECIDE_ERRORS: Final = _errors(not_found=True, conflict="The inquiry is not waiting for review")


class PossibleMatchOut(BaseModel):
    """An inquiry waiting for a reviewer: no names here (the page shows the comparison)."""

    id: uuid.UUID
    purpose: InquiryPurpose
    submitted_at: datetime
    score: float | None = Field(description="The engine's score of the best candidate")
    page: str = Field(description="Where a reviewer compares candidate and registry person")


@router.get("", response_model=list[PossibleMatchOut], responses=_errors())
def possible_matches(db: Db, principal: Reviewer) -> list[PossibleMatchOut]:
    """Inquiries whose candidate may be a registry person, the oldest first."""
    rows = db.scalars(
        inquiries.readable_inquiries(principal)
        .where(Inquiry.status == InquiryStatus.UNDER_REVIEW.value)
        .order_by(Inquiry.submitted_at)
        .limit(500)
    )
    return [
        PossibleMatchOut(
            id=row.id,
            purpose=InquiryPurpose(row.purpose),
            submitted_at=row.submitted_at,
            score=inquiries.engine_score(row),
            page=f"/possible-matches/{row.id}",
        )
        for row in rows
    ]


@router.post("/{inquiry_id}/confirm", response_model=InquiryOut, responses=DECIDE_ERRORS)
def confirm(db: Db, principal: Reviewer, inquiry_id: uuid.UUID) -> InquiryOut:
    """The candidate is the registry person: the institution is told `record_found`."""
    return views(db, [inquiries.confirm_match(db, actor=principal, inquiry_id=inquiry_id)])[0]


@router.post("/{inquiry_id}/clear", response_model=InquiryOut, responses=DECIDE_ERRORS)
def clear(db: Db, principal: Reviewer, inquiry_id: uuid.UUID) -> InquiryOut:
    """The candidate is someone else: the institution is told `no_record`."""
    return views(db, [inquiries.clear_match(db, actor=principal, inquiry_id=inquiry_id)])[0]
