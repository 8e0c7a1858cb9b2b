"""JSON routes of the hand-off of a convicted suspect to the registry, under /api/v1.

Every route calls `onestop.handoff`, as the pages do. A case the caller is not on the team of is
the 404 of one that does not exist.
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
from shouhu.onestop import handoff
from shouhu.onestop.api_errors import errors
from shouhu.onestop.handoff_schemas import HANDOFF_EXAMPLE, HandoffIn, HandoffOut
from shouhu.onestop.models import OneStopCase
from shouhu.onestop.repository import get_case
from shouhu.registry.api import every_field_named
from shouhu.web.deps import ApiPermission, Db

router = APIRouter(prefix="/onestop/cases", tags=["onestop"])

Reader = Annotated[Principal, Depends(ApiPermission(Permission.ONESTOP_CASES_READ))]
Sender = Annotated[Principal, Depends(ApiPermission(Permission.ONESTOP_REGISTRY_HANDOFF))]

NOT_FOUND: Final = "No such case, or the caller is not on its team (the same answer)"
EXAMPLES: Final = {"conviction": {"summary": "A court's conviction", "value": HANDOFF_EXAMPLE}}


def handoffs_out(db: Session, case: OneStopCase) -> list[HandoffOut]:
    """The case's hand-offs as the API shows them, in the order they were sent."""
    states = sorted(handoff.handoffs_of(db, case).values(), key=lambda s: s.sent_at)
    senders = {s.sent_by_id for s in states}
    names = dict(db.execute(select(User.id, User.username).where(User.id.in_(senders))).all())
    return [
        HandoffOut(
            suspect_id=state.suspect_id,
            sent_at=state.sent_at,
            sent_by=names.get(state.sent_by_id, ""),
            record_status=state.record_status,
        )
        for state in states
    ]


@router.post(
    "/{case_id}/suspects/{suspect_id}/registry-handoff",
    response_model=HandoffOut,
    status_code=201,
    responses=errors(
        body=True,
        not_found=NOT_FOUND + "; or no such suspect in the case",
        conflict="The case is not judged, or the suspect was already sent to the registry",
    ),
)
def hand_off(
    db: Db,
    principal: Sender,
    case_id: uuid.UUID,
    suspect_id: uuid.UUID,
    body: Annotated[HandoffIn, Body(openapi_examples=EXAMPLES)],
) -> HandoffOut:
    """Send a convicted suspect of a judged case to the registry as a draft record, once.

    A case officer on the team only. The registry's clerks check the draft against the
    judgment and send it for review; a reviewer who wrote none of it approves it.
    """
    judgment = handoff.Judgment(**body.model_dump())
    # A refused hand-off is a 422 naming each field at fault, as a registry submission is.
    with every_field_named():
        made = handoff.hand_off(
            db, actor=principal, case_id=case_id, suspect_id=suspect_id, judgment=judgment
        )
    case = db.get_one(OneStopCase, made.case_id)
    return next(h for h in handoffs_out(db, case) if h.suspect_id == made.suspect_id)


@router.get(
    "/{case_id}/registry-handoffs",
    response_model=list[HandoffOut],
    responses=errors(not_found=NOT_FOUND),
)
def list_handoffs(db: Db, principal: Reader, case_id: uuid.UUID) -> list[HandoffOut]:
    """The case's suspects sent to the registry: when, by whom, and their record's status."""
    return handoffs_out(db, get_case(db, principal, case_id))
