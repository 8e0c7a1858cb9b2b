"""Authorisation-matrix rows of one-stop services, pages and API (test_authorization_matrix).

The matrix signs in the lowest-sorting allowed role: `case_officer` for referring, reading and
noting (builders put them on the team of a case received by another officer), `support_worker`
for working tasks (builders refer a child to the user's own organisation, unassigned: a support
worker sees those). Foreign objects: a case officer of another team, a support worker of another
partner; each must get the 404 of a referral that does not exist.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from shouhu.accounts.roles import OrgType, Permission, Role
from shouhu.onestop import repository, support
from shouhu.onestop.models import CaseMember, OneStopCase, OneStopSite
from shouhu.onestop.service_models import ServiceReferral
from tests.factories.accounts import make_org, make_user
from tests.factories.lifecycle import principal_of
from tests.factories.onestop import attach, join, make_site, open_case

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import Organisation, User

API = "/api/v1/onestop"


def _referral(session: Session, partner: Organisation, member: User | None) -> dict[str, Any]:
    """A case at a site with this partner, referred to it (unassigned) by its lead."""
    site = make_site(session)
    attach(session, site, partner)
    lead = make_user(session, roles=(Role.CASE_OFFICER,))
    case = open_case(session, lead, site)
    if member is not None:
        join(session, case, member, "investigator")
    (child,) = repository.children_of(session, case.id)
    referral = support.refer(
        session,
        actor=principal_of(lead),
        case_id=case.id,
        child_id=child.id,
        service="psychological",
        organisation_id=partner.id,
    )
    return {"case_id": case.id, "referral_id": referral.id}


def own(session: Session, user: User) -> dict[str, Any]:
    """A referral of a case whose team the user is on."""
    return _referral(session, make_org(session, org_type=OrgType.PARTNER), user)


def foreign(session: Session, _user: User) -> dict[str, Any]:
    """A referral of another team's case."""
    return _referral(session, make_org(session, org_type=OrgType.PARTNER), None)


def own_task(session: Session, user: User) -> dict[str, Any]:
    """An unassigned referral to the user's own organisation (a support worker's task)."""
    return _referral(session, user.organisation, None)


def own_with_two_partners(session: Session, user: User) -> dict[str, Any]:
    """As `own`, the case's site with a second partner to reassign the referral to."""
    values = own(session, user)
    case = session.get_one(OneStopCase, values["case_id"])
    site = session.get_one(OneStopSite, case.site_id)
    attach(session, site, make_org(session, org_type=OrgType.PARTNER))
    return values


def reassign_form(session: Session, user: User) -> dict[str, Any]:
    """The user's latest case's referral, to the site's other partner, with a reason."""
    member = session.scalars(
        select(CaseMember)
        .where(CaseMember.user_id == user.id)
        .order_by(CaseMember.added_at.desc())
        .limit(1)
    ).first()
    if member is None:  # not on any team: the route answers 404 before reading the form
        return {"organisation_id": str(uuid.uuid4()), "reason": "改派。"}
    case = session.get_one(OneStopCase, member.case_id)
    referral = session.scalars(
        select(ServiceReferral).where(ServiceReferral.case_id == case.id)
    ).one()
    (other,) = [
        p
        for p in repository.site_partners(session, case.site_id)
        if p.id != referral.organisation_id
    ]
    return {"organisation_id": str(other.id), "reason": "原单位本周无心理咨询师。"}


def reassign_page_form(session: Session, user: User) -> dict[str, Any]:
    """The reassign form's fields (prefixed) for the user's latest case's referral."""
    found = reassign_form(session, user)
    return {"ra_organisation_id": found["organisation_id"], "ra_reason": found["reason"]}


def referral_form(session: Session, user: User) -> dict[str, Any]:
    """A referral of the child of the user's latest case to its site's partner."""
    member = session.scalars(
        select(CaseMember)
        .where(CaseMember.user_id == user.id)
        .order_by(CaseMember.added_at.desc())
        .limit(1)
    ).first()
    if member is None:  # not on any team: the route answers 404 before reading the form
        return {
            "child_id": str(uuid.uuid4()),
            "service": "psychological",
            "organisation_id": str(uuid.uuid4()),
        }
    case = session.get_one(OneStopCase, member.case_id)
    (child,) = repository.children_of(session, case.id)
    (partner,) = repository.site_partners(session, case.site_id)
    return {
        "child_id": str(child.id),
        "service": "rehabilitation",
        "organisation_id": str(partner.id),
    }


def cases(case: type[Any]) -> list[Any]:
    """The services' rows (pages and API), built with the matrix's `Case`."""
    refer, read = Permission.ONESTOP_SERVICES_REFER, Permission.ONESTOP_SERVICES_READ
    note, work = Permission.ONESTOP_SERVICES_NOTE, Permission.ONESTOP_SERVICES_WORK
    officer, worker = Role.CASE_OFFICER, Role.SUPPORT_WORKER
    return [
        # Pages.
        case(
            "GET",
            "/onestop/cases/{case_id}/referrals",
            read,
            own,
            foreign=foreign,
            foreign_role=officer,
        ),
        case(
            "POST",
            "/onestop/cases/{case_id}/referrals",
            refer,
            own,
            foreign=foreign,
            foreign_role=officer,
            form_build=referral_form,
            ok=(303,),
        ),
        case(
            "GET",
            "/onestop/referrals/{referral_id}",
            read,
            own,
            foreign=foreign,
            foreign_role=officer,
        ),
        case(
            "POST",
            "/onestop/referrals/{referral_id}/notes",
            note,
            own,
            foreign=foreign,
            foreign_role=officer,
            form={"body": "已电话联系监护人。"},
            ok=(303,),
        ),
        case(
            "POST",
            "/onestop/referrals/{referral_id}/status",
            work,
            own_task,
            foreign=foreign,
            foreign_role=worker,
            form={"status": "accepted"},
            ok=(303,),
        ),
        case(
            "POST",
            "/onestop/referrals/{referral_id}/reassign",
            refer,
            own_with_two_partners,
            foreign=foreign,
            foreign_role=officer,
            form_build=reassign_page_form,
            ok=(303,),
        ),
        case(
            "POST",
            "/onestop/referrals/{referral_id}/withdraw",
            refer,
            own,
            foreign=foreign,
            foreign_role=officer,
            form={"wd_reason": "监护人已自行安排心理治疗。"},
            ok=(303,),
        ),
        case("GET", "/onestop/my-tasks", work),
        # API.
        case(
            "POST",
            API + "/cases/{case_id}/referrals",
            refer,
            own,
            foreign=foreign,
            foreign_role=officer,
            json_build=referral_form,
            ok=(201,),
        ),
        case(
            "GET",
            API + "/cases/{case_id}/referrals",
            read,
            own,
            foreign=foreign,
            foreign_role=officer,
        ),
        case(
            "GET",
            API + "/referrals/{referral_id}",
            read,
            own,
            foreign=foreign,
            foreign_role=officer,
        ),
        case(
            "POST",
            API + "/referrals/{referral_id}/notes",
            note,
            own,
            foreign=foreign,
            foreign_role=officer,
            json={"body": "已电话联系监护人。"},
            ok=(201,),
        ),
        case(
            "POST",
            API + "/referrals/{referral_id}/status",
            work,
            own_task,
            foreign=foreign,
            foreign_role=worker,
            json={"status": "accepted"},
        ),
        case(
            "POST",
            API + "/referrals/{referral_id}/reassign",
            refer,
            own_with_two_partners,
            foreign=foreign,
            foreign_role=officer,
            json_build=reassign_form,
        ),
        case(
            "POST",
            API + "/referrals/{referral_id}/withdraw",
            refer,
            own,
            foreign=foreign,
            foreign_role=officer,
            json={"reason": "监护人已自行安排心理治疗。"},
        ),
        case("GET", API + "/my-tasks", work),
        case("GET", API + "/overdue", Permission.ACCOUNT_SELF),
    ]
