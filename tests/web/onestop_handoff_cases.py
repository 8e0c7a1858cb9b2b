"""Authorisation-matrix rows of the hand-off to the registry, pages and API.

The matrix signs in the lowest-sorting allowed role, `case_officer`; builders put the user on the
team of a judged case received by another officer. Another team's judged case is asked for by a
case officer, who must get the 404 of a case that does not exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shouhu.accounts.roles import Permission, Role
from shouhu.onestop import repository
from shouhu.onestop.models import CaseStatus
from tests.factories.accounts import make_user
from tests.factories.onestop import join, make_site, move_to, open_case

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import User

API = "/api/v1/onestop/cases"
PAGE = "/onestop/cases"
HANDOFF = "/{case_id}/suspects/{suspect_id}/registry-handoff"
JUDGMENT = {
    "decision_authority": "北京市东城区人民法院",
    "decision_number": "(2026)京0101刑初456号",
    "decision_date": "2026-10-15",
    "sentence_months": 30,
}


def _judged(session: Session, member: User | None) -> dict[str, Any]:
    lead = make_user(session, roles=(Role.CASE_OFFICER,))
    case = open_case(session, lead, make_site(session))
    move_to(session, case, CaseStatus.JUDGED)
    if member is not None:
        join(session, case, member, "investigator")
    (suspect,) = repository.suspects_of(session, case.id)
    return {"case_id": case.id, "suspect_id": suspect.id}


def own(session: Session, user: User) -> dict[str, Any]:
    """A judged case whose team the user is on."""
    return _judged(session, user)


def foreign(session: Session, _user: User) -> dict[str, Any]:
    """Another team's judged case."""
    return _judged(session, None)


def cases(case: type[Any]) -> list[Any]:
    """The hand-off's rows (pages and API), built with the matrix's `Case`."""
    send, read, officer = (
        Permission.ONESTOP_REGISTRY_HANDOFF,
        Permission.ONESTOP_CASES_READ,
        Role.CASE_OFFICER,
    )
    return [
        case("GET", PAGE + HANDOFF, send, own, foreign=foreign, foreign_role=officer),
        case(
            "POST",
            PAGE + HANDOFF,
            send,
            own,
            foreign=foreign,
            foreign_role=officer,
            form=JUDGMENT,
            ok=(303,),
        ),
        case(
            "POST",
            API + HANDOFF,
            send,
            own,
            foreign=foreign,
            foreign_role=officer,
            json=JUDGMENT,
            ok=(201,),
        ),
        case(
            "GET",
            API + "/{case_id}/registry-handoffs",
            read,
            own,
            foreign=foreign,
            foreign_role=officer,
        ),
    ]
