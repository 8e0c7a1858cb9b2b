"""The compliance routes' rows of the authorisation matrix (tests/web/test_authorization_matrix.py).

The matrix signs in the lowest-sorting allowed role, an education officer; another authority's
institution is asked for by another education officer (a prosecutor's territory is tested in
tests/web/test_compliance_pages.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shouhu.accounts.roles import OrgType, Permission, Role
from tests.factories.accounts import make_org

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import User


def own_institution(session: Session, user: User) -> dict[str, Any]:
    """A school two levels below the (education officer) user's authority."""
    parent = user.organisation
    if parent.type == OrgType.EDUCATION_AUTHORITY.value:
        parent = make_org(session, org_type=OrgType.EDUCATION_AUTHORITY, parent=user.organisation)
    school = make_org(session, org_type=OrgType.INSTITUTION, parent=parent)
    return {"institution_id": school.id}


def foreign_institution(session: Session, _user: User) -> dict[str, Any]:
    """A school of another authority."""
    other = make_org(session, org_type=OrgType.EDUCATION_AUTHORITY)
    return {"institution_id": make_org(session, org_type=OrgType.INSTITUTION, parent=other).id}


def cases(case: type[Any]) -> list[Any]:
    """The compliance pages' and API's cases, built with the matrix's `Case`."""
    read = Permission.COMPLIANCE_READ
    return [
        case("GET", "/compliance", read),
        case(
            "GET",
            "/compliance/{institution_id}",
            read,
            own_institution,
            foreign=foreign_institution,
            foreign_role=Role.EDUCATION_OFFICER,
        ),
        case("GET", "/api/v1/compliance", read),
    ]
