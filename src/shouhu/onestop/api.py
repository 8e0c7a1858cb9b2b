"""JSON routes of one-stop cases under /api/v1: intake, cases, a child's identity, status, team.

Every route calls `onestop.cases` or `onestop.team`, as the pages do. A case the caller is not on
the team of is the 404 of one that does not exist.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Final

from fastapi import APIRouter, Body, Depends, Query, Response

from shouhu.accounts.roles import Permission
from shouhu.core.principal import Principal
from shouhu.onestop import cases, repository, team
from shouhu.onestop.api_errors import errors
from shouhu.onestop.models import CaseStatus, OneStopCase
from shouhu.onestop.schemas import (
    CASE_EXAMPLE,
    CaseIn,
    CaseOut,
    CaseSummaryOut,
    ChildIdentityOut,
    MemberIn,
    MemberOut,
    StatusIn,
)
from shouhu.onestop.views import case_out, case_summaries, child_identity_out, members_out
from shouhu.web.deps import ApiPermission, Db

router = APIRouter(prefix="/onestop/cases", tags=["onestop"])

Reader = Annotated[Principal, Depends(ApiPermission(Permission.ONESTOP_CASES_READ))]
Intake = Annotated[Principal, Depends(ApiPermission(Permission.ONESTOP_CASES_INTAKE))]
Manager = Annotated[Principal, Depends(ApiPermission(Permission.ONESTOP_CASES_MANAGE))]

NOT_FOUND: Final = "No such case, or the caller is not on its team (the same answer)"
INTAKE_EXAMPLES: Final = {
    "school_report": {
        "summary": "A school's mandatory report of a ten-year-old girl",
        "value": CASE_EXAMPLE,
    }
}
STATUS_EXAMPLES: Final = {
    "scheduled": {
        "summary": "The joint session is arranged",
        "value": {"status": "joint_session_scheduled"},
    },
    "not_prosecuted": {
        "summary": "The procuratorate decided not to prosecute (a reason is required)",
        "value": {"status": "not_prosecuted", "reason": "证据不足，检察院决定不起诉。"},
    },
}


def _intake(body: CaseIn) -> cases.CaseIntake:
    return cases.CaseIntake(
        received_at=body.received_at,
        channel=body.channel.value,
        offence=body.offence,
        place=body.place,
        jurisdiction=body.jurisdiction,
        site_id=body.site_id,
        children=tuple(
            cases.ChildInput(
                name=child.name,
                sex=child.sex.value,
                age_at_intake=child.age_at_intake,
                date_of_birth=child.date_of_birth,
                id_type=child.id_type.value if child.id_type else None,
                id_number=child.id_number,
                guardian_name=child.guardian_name,
                guardian_relationship=child.guardian_relationship,
                special_needs=child.special_needs,
            )
            for child in body.children
        ),
        suspects=tuple(
            cases.SuspectInput(
                name=suspect.name,
                id_type=suspect.id_type.value if suspect.id_type else None,
                id_number=suspect.id_number,
            )
            for suspect in body.suspects
        ),
    )


@router.post(
    "",
    response_model=CaseOut,
    status_code=201,
    responses=errors(body=True),
)
def open_case(
    db: Db, principal: Intake, body: Annotated[CaseIn, Body(openapi_examples=INTAKE_EXAMPLES)]
) -> CaseOut:
    """Receive a case: the calling case officer becomes its lead officer.

    Field errors name the field as the body spells it (`children.0.date_of_birth`).
    """
    case = cases.open_case(db, actor=principal, intake=_intake(body))
    return case_out(db, case)


@router.get("", response_model=list[CaseSummaryOut], responses=errors())
def list_cases(
    db: Db,
    principal: Reader,
    status: Annotated[CaseStatus | None, Query(description="Only cases in this status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[CaseSummaryOut]:
    """The cases the caller is on the team of, the latest received first."""
    statement = repository.readable_cases(principal)
    if status is not None:
        statement = statement.where(OneStopCase.status == status.value)
    statement = statement.order_by(OneStopCase.received_at.desc(), OneStopCase.id)
    return case_summaries(db, list(db.scalars(statement.limit(limit).offset(offset))))


@router.get("/{case_id}", response_model=CaseOut, responses=errors(not_found=NOT_FOUND))
def read_case(db: Db, principal: Reader, case_id: uuid.UUID) -> CaseOut:
    """One case: children by pseudonym (no identity), suspects, team (the read is audited)."""
    return case_out(db, cases.read_case(db, actor=principal, case_id=case_id))


@router.get(
    "/{case_id}/children/{child_id}/identity",
    response_model=ChildIdentityOut,
    responses=errors(not_found=NOT_FOUND + "; or no such child in the case"),
)
def read_child_identity(
    db: Db, principal: Reader, case_id: uuid.UUID, child_id: uuid.UUID
) -> ChildIdentityOut:
    """A child's real identity, for the case team only; every read is audited."""
    child = cases.read_child_identity(db, actor=principal, case_id=case_id, child_id=child_id)
    return child_identity_out(child)


@router.post(
    "/{case_id}/status",
    response_model=CaseOut,
    responses=errors(
        body=True,
        not_found=NOT_FOUND,
        conflict="The case cannot move from its status to the one asked for",
    ),
)
def change_status(
    db: Db,
    principal: Manager,
    case_id: uuid.UUID,
    body: Annotated[StatusIn, Body(openapi_examples=STATUS_EXAMPLES)],
) -> CaseOut:
    """Move the case one step along its path (lead officer or a case officer on the team).

    received → joint_session_scheduled → evidence_collected → under_investigation →
    prosecuted (→ judged) or not_prosecuted → closed; not_prosecuted and closed need a reason.
    """
    case = cases.change_status(
        db, actor=principal, case_id=case_id, status=body.status.value, reason=body.reason
    )
    return case_out(db, case)


@router.post(
    "/{case_id}/members",
    response_model=list[MemberOut],
    status_code=201,
    responses=errors(body=True, not_found=NOT_FOUND, conflict="The user is already on the team"),
)
def add_member(db: Db, principal: Manager, case_id: uuid.UUID, body: MemberIn) -> list[MemberOut]:
    """Put a user on the team: staff of public security, a procuratorate, or a site partner.

    Answers with the whole team as it now is.
    """
    member = team.add_member(
        db, actor=principal, case_id=case_id, user_id=body.user_id, role=body.role.value
    )
    return members_out(db, db.get_one(OneStopCase, member.case_id))


@router.delete(
    "/{case_id}/members/{member_id}",
    status_code=204,
    response_class=Response,
    responses=errors(
        not_found=NOT_FOUND + "; or no such active member",
        conflict="The lead officer cannot be removed",
    ),
)
def remove_member(db: Db, principal: Manager, case_id: uuid.UUID, member_id: uuid.UUID) -> Response:
    """Take a member off the team: the case is a 404 to them from then on."""
    team.remove_member(db, actor=principal, case_id=case_id, member_id=member_id)
    return Response(status_code=204)
