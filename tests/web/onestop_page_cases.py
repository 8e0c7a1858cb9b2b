"""One-stop rows of the authorisation matrix (pages here; the API's in tests/onestop/test_api.py).

The matrix signs in the lowest-sorting allowed role: `admin` for the site directory (it keeps
it) and `case_officer` for cases. Builders put the signed-in user on the team of a case received
by another officer of a fresh site, so that a wrong role's request meets the route's 403, not a
builder's error; another team's case is asked for by a case officer, who must get the 404 of a
case that does not exist (`foreign_role`).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from shouhu.accounts.roles import OrgType, Permission, Role
from shouhu.core.database import utcnow
from shouhu.onestop import repository
from shouhu.onestop.models import OneStopCase
from tests.factories.accounts import make_org, make_user
from tests.factories.onestop import join, make_site, open_case

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import User


def _case(session: Session) -> OneStopCase:
    """A case received by a fresh officer at a fresh site."""
    site = make_site(session)
    officer = make_user(session, roles=(Role.CASE_OFFICER,))
    return open_case(session, officer, site)


def some_site(session: Session, _user: User) -> dict[str, Any]:
    """A site of the directory."""
    return {"site_id": make_site(session).id}


def site_with_partner(session: Session, _user: User) -> dict[str, Any]:
    """A site and the partner attached to it."""
    partner = make_org(session, org_type=OrgType.PARTNER)
    return {"site_id": make_site(session, partners=(partner,)).id, "organisation_id": partner.id}


def new_site_form(session: Session, _user: User) -> dict[str, Any]:
    """A valid site form (or body) naming a fresh bureau as host unit."""
    host = make_org(session, org_type=OrgType.PUBLIC_SECURITY)
    return {
        "name": f"一站式取证中心-{uuid.uuid4().hex[:8]}",
        "region_code": "110101",
        "host_unit_id": str(host.id),
        "interview_room": "on",
    }


def partner_form(session: Session, _user: User) -> dict[str, Any]:
    """A partner organisation to attach."""
    return {"organisation_id": str(make_org(session, org_type=OrgType.PARTNER).id)}


def own_case(session: Session, user: User) -> dict[str, Any]:
    """A case whose team the user is on (as an investigator: a case officer then manages it)."""
    case = _case(session)
    join(session, case, user, "investigator")
    (child,) = repository.children_of(session, case.id)
    return {"case_id": case.id, "child_id": child.id}


def foreign_case(session: Session, _user: User) -> dict[str, Any]:
    """A case of another team."""
    case = _case(session)
    (child,) = repository.children_of(session, case.id)
    return {"case_id": case.id, "child_id": child.id}


def _with_prosecutor(session: Session, values: dict[str, Any]) -> dict[str, Any]:
    case = session.get_one(OneStopCase, values["case_id"])
    member = join(session, case, make_user(session, roles=(Role.PROSECUTOR,)), "prosecutor")
    return {**values, "member_id": member.id}


def own_case_with_member(session: Session, user: User) -> dict[str, Any]:
    """As `own_case`, with a prosecutor on the team to remove."""
    return _with_prosecutor(session, own_case(session, user))


def foreign_case_with_member(session: Session, user: User) -> dict[str, Any]:
    """A member of another team's case."""
    return _with_prosecutor(session, foreign_case(session, user))


def intake_form(session: Session, _user: User) -> dict[str, Any]:
    """A valid intake form at a fresh site."""
    site = make_site(session)
    received = (utcnow() + timedelta(hours=8) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    return {
        "received_at": received,
        "channel": "family",
        "offence": "child_molestation",
        "place": "某小区",
        "jurisdiction": "110101",
        "site_id": str(site.id),
        "children.0.name": "李小红",
        "children.0.sex": "F",
        "children.0.age_at_intake": "9",
    }


def prosecutor_username(session: Session, _user: User) -> dict[str, Any]:
    """A prosecutor to add to the team, by username."""
    return {"username": make_user(session, roles=(Role.PROSECUTOR,)).username, "role": "prosecutor"}


def cases(case: type[Any]) -> list[Any]:
    """The one-stop pages' cases, built with the matrix's `Case`."""
    read_sites, manage_sites = Permission.ONESTOP_SITES_READ, Permission.ONESTOP_SITES_MANAGE
    read, intake = Permission.ONESTOP_CASES_READ, Permission.ONESTOP_CASES_INTAKE
    manage, officer = Permission.ONESTOP_CASES_MANAGE, Role.CASE_OFFICER
    return [
        case("GET", "/onestop/sites", read_sites),
        case("GET", "/onestop/sites/new", manage_sites),
        case("POST", "/onestop/sites", manage_sites, form_build=new_site_form, ok=(303,)),
        case("GET", "/onestop/sites/{site_id}", read_sites, some_site),
        case("GET", "/onestop/sites/{site_id}/edit", manage_sites, some_site),
        case(
            "POST",
            "/onestop/sites/{site_id}",
            manage_sites,
            some_site,
            form_build=new_site_form,
            ok=(303,),
        ),
        case(
            "POST",
            "/onestop/sites/{site_id}/partners",
            manage_sites,
            some_site,
            form_build=partner_form,
            ok=(303,),
        ),
        case(
            "POST",
            "/onestop/sites/{site_id}/partners/{organisation_id}/detach",
            manage_sites,
            site_with_partner,
            ok=(303,),
        ),
        case("GET", "/onestop/cases", read),
        case("GET", "/onestop/cases/new", intake),
        case("POST", "/onestop/cases", intake, form_build=intake_form, ok=(303,)),
        case(
            "GET",
            "/onestop/cases/{case_id}",
            read,
            own_case,
            foreign=foreign_case,
            foreign_role=officer,
        ),
        case(
            "GET",
            "/onestop/cases/{case_id}/children/{child_id}/identity",
            read,
            own_case,
            foreign=foreign_case,
            foreign_role=officer,
        ),
        case(
            "POST",
            "/onestop/cases/{case_id}/status",
            manage,
            own_case,
            foreign=foreign_case,
            foreign_role=officer,
            form={"status": "joint_session_scheduled"},
            ok=(303,),
        ),
        case(
            "POST",
            "/onestop/cases/{case_id}/members",
            manage,
            own_case,
            foreign=foreign_case,
            foreign_role=officer,
            form_build=prosecutor_username,
            ok=(303,),
        ),
        case(
            "POST",
            "/onestop/cases/{case_id}/members/{member_id}/remove",
            manage,
            own_case_with_member,
            foreign=foreign_case_with_member,
            foreign_role=officer,
            ok=(303,),
        ),
    ]
