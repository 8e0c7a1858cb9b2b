"""Re-check rows of the authorisation matrix (pages here, the API's in test_recheck_api.py).

The matrix signs in the lowest-sorting allowed role: `education_officer` for the notice (an
authority asking about its own hire is the institution then), for entering and for reading
re-checks; `registry_reviewer` for deciding. Builders store what each route needs directly
(a `record_found` answer with its certificate, a re-check entered through the service by an
officer of their own), so that a wrong role's request meets the route's 403, not a builder's
error. Another organisation's object is asked for by an institution's HR for the notice and
by another authority's officer for the officers' routes (`foreign_role`).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from shouhu.accounts.roles import OrgType, Permission, Role
from shouhu.core.database import utcnow
from shouhu.identity.prc_id import latest_possible_date
from shouhu.registry.lifecycle import Scan
from shouhu.screening import rechecks
from shouhu.screening.certificates import issue_certificate
from shouhu.screening.models import Inquiry
from tests.factories.accounts import make_org, make_user
from tests.factories.lifecycle import principal_of

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import Organisation, User

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def received_today() -> str:
    """A date received that every answer given today accepts."""
    return (latest_possible_date() - timedelta(days=1)).isoformat()


def found_inquiry(session: Session, institution: Organisation) -> Inquiry:
    """A `record_found` answer of the institution, signed, as the service leaves it."""
    hr = make_user(session, roles=(Role.INSTITUTION_HR,), org=institution)
    answered = utcnow() - timedelta(days=2)
    inquiry = Inquiry(
        institution_id=institution.id,
        authority_id=institution.parent_id,
        submitted_by_id=hr.id,
        purpose="school_staff",
        position="体育教师",
        subject_index=uuid.uuid4().hex,
        consent_reference="同意书-1",
        consent_signed_on=latest_possible_date() - timedelta(days=2),
        status="completed",
        answer="record_found",
        policy_version=2,
        completed_at=answered,
    )
    inquiry.ensure_id()
    inquiry.subject = {"name": "韩立军", "id_type": "prc_id", "id_number": "110105198001010011"}
    session.add(inquiry)
    session.flush()
    issue_certificate(session, inquiry).issued_at = answered
    session.flush()
    return inquiry


def _authority_of(session: Session, user: User) -> Organisation:
    if user.organisation.type == OrgType.EDUCATION_AUTHORITY.value:
        return user.organisation
    return make_org(session, org_type=OrgType.EDUCATION_AUTHORITY)


def _school_under(session: Session, authority: Organisation) -> Organisation:
    return make_org(session, org_type=OrgType.INSTITUTION, kind="primary_school", parent=authority)


def own_found(session: Session, user: User) -> dict[str, Any]:
    """A record_found answer of the user's own organisation (or of a school, for other roles)."""
    org = (
        user.organisation
        if user.organisation.type in {OrgType.EDUCATION_AUTHORITY.value, OrgType.INSTITUTION.value}
        else _school_under(session, make_org(session, org_type=OrgType.EDUCATION_AUTHORITY))
    )
    return {"inquiry_id": found_inquiry(session, org).id}


def foreign_found(session: Session, _user: User) -> dict[str, Any]:
    """A record_found answer of another institution."""
    other = _school_under(session, make_org(session, org_type=OrgType.EDUCATION_AUTHORITY))
    return {"inquiry_id": found_inquiry(session, other).id}


def found_under_own_authority(session: Session, user: User) -> dict[str, Any]:
    """A record_found answer of a school under the (officer) user's authority."""
    school = _school_under(session, _authority_of(session, user))
    return {"inquiry_id": found_inquiry(session, school).id}


def found_elsewhere(session: Session, _user: User) -> dict[str, Any]:
    """A record_found answer of a school under another authority."""
    return foreign_found(session, _user)


def _recheck(session: Session, authority: Organisation, *, document: bool = False) -> uuid.UUID:
    inquiry = found_inquiry(session, _school_under(session, authority))
    officer = make_user(session, roles=(Role.EDUCATION_OFFICER,), org=authority)
    recheck = rechecks.enter_recheck(
        session,
        actor=principal_of(officer),
        inquiry_id=inquiry.id,
        request=rechecks.RecheckRequest(
            grounds="本人不是该记录所涉人员。",
            received_on=latest_possible_date() - timedelta(days=1),
            document=Scan("证明.png", "image/png", PNG) if document else None,
        ),
    )
    return recheck.id


def own_recheck(session: Session, user: User) -> dict[str, Any]:
    """A pending re-check entered by the (officer) user's authority (any, for a reviewer)."""
    return {"recheck_id": _recheck(session, _authority_of(session, user))}


def own_recheck_with_document(session: Session, user: User) -> dict[str, Any]:
    """As `own_recheck`, with a supporting document."""
    return {"recheck_id": _recheck(session, _authority_of(session, user), document=True)}


def foreign_recheck(session: Session, _user: User) -> dict[str, Any]:
    """A re-check entered by another authority."""
    other = make_org(session, org_type=OrgType.EDUCATION_AUTHORITY)
    return {"recheck_id": _recheck(session, other, document=True)}


def cases(case: type[Any]) -> list[Any]:
    """The re-check pages' cases, built with the matrix's `Case`."""
    ask, enter = Permission.INQUIRY_SUBMIT, Permission.RECHECK_ENTER
    decide, read = Permission.RECHECK_DECIDE, Permission.RECHECK_READ
    officer = Role.EDUCATION_OFFICER
    request = {"grounds": "本人不是该记录所涉人员。", "received_on": received_today()}
    decision = {"outcome": "overturned", "ground": "not_the_same_person", "note": "另一人。"}
    return [
        case("GET", "/inquiries/{inquiry_id}/notice", ask, own_found, foreign=foreign_found),
        case("GET", "/recheck-requests", enter),
        case(
            "GET",
            "/recheck-requests/{inquiry_id}/new",
            enter,
            found_under_own_authority,
            foreign=found_elsewhere,
            foreign_role=officer,
        ),
        case(
            "POST",
            "/recheck-requests/{inquiry_id}",
            enter,
            found_under_own_authority,
            foreign=found_elsewhere,
            foreign_role=officer,
            form=request,
            ok=(303,),
        ),
        case("GET", "/rechecks", decide),
        case("GET", "/rechecks/{recheck_id}", decide, own_recheck),
        case(
            "POST", "/rechecks/{recheck_id}/decision", decide, own_recheck, form=decision, ok=(303,)
        ),
        case(
            "GET",
            "/rechecks/{recheck_id}/document",
            read,
            own_recheck_with_document,
            foreign=foreign_recheck,
            foreign_role=officer,
        ),
    ]
