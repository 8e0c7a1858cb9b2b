"""The inquiry pages' rows of the authorisation matrix (tests/web/test_authorization_matrix.py).

The matrix signs in the lowest-sorting allowed role: `education_officer` for submitting and
approving, `registry_reviewer` for possible matches. Builders make, for that user, an object
they may act on, and act through users of their own where the given user could not (the wrong
role's request must meet the route's 403, not a builder's error).
"""

from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shouhu.accounts.roles import OrgType, Permission, Role
from shouhu.core.settings import Settings
from shouhu.identity.prc_id import latest_possible_date
from shouhu.screening.inquiries import InquiryRequest, submit_inquiry
from tests.factories.accounts import make_org, make_user
from tests.factories.lifecycle import principal_of
from tests.factories.registry import prc_number, registry_row

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import Organisation, User

_sequence = [201]


def _number() -> str:
    _sequence[0] = _sequence[0] + 2 if _sequence[0] < 997 else 203
    return prc_number("440106", date(1988, 3, 3), _sequence[0])


def request_for(number: str, name: str = "李明") -> InquiryRequest:
    """An inquiry about a candidate, with consent signed yesterday."""
    return InquiryRequest(
        purpose="school_staff",
        subject={"name": name, "id_type": "prc_id", "id_number": number},
        consent_reference="同意书-1",
        consent_signed_on=latest_possible_date() - timedelta(days=1),
    )


def _authority(session: Session, user: User) -> Organisation:
    if user.organisation.type == OrgType.EDUCATION_AUTHORITY.value:
        return user.organisation
    return make_org(session, org_type=OrgType.EDUCATION_AUTHORITY)


_DATA_DIR = Path(tempfile.mkdtemp(prefix="shouhu-inquiry-cases-"))


def _settings() -> Settings:
    # An empty data directory: the stated matching weights, whatever a developer's ./var holds.
    return Settings(data_dir=_DATA_DIR)


def own_inquiry(session: Session, user: User) -> dict[str, Any]:
    """An answered inquiry of the (education officer) user's organisation, or another's."""
    asker = user if user.organisation.type == OrgType.EDUCATION_AUTHORITY.value else None
    if asker is None:
        asker = make_user(
            session,
            roles=(Role.EDUCATION_OFFICER,),
            org=make_org(session, org_type=OrgType.EDUCATION_AUTHORITY),
        )
    inquiry = submit_inquiry(
        session, actor=principal_of(asker), request=request_for(_number()), settings=_settings()
    )
    return {"inquiry_id": inquiry.id}


def pending_for(session: Session, user: User) -> dict[str, Any]:
    """A school's inquiry waiting for the (education officer) user's authority."""
    school = make_org(
        session,
        org_type=OrgType.INSTITUTION,
        kind="primary_school",
        parent=_authority(session, user),
    )
    hr = make_user(session, roles=(Role.INSTITUTION_HR,), org=school)
    inquiry = submit_inquiry(
        session, actor=principal_of(hr), request=request_for(_number()), settings=_settings()
    )
    return {"inquiry_id": inquiry.id}


def possible_match(session: Session, _user: User) -> dict[str, Any]:
    """A university's inquiry about a namesake of a registry person: under review."""
    from tests.web.registry_page_cases import person_of  # noqa: PLC0415

    person_of(session, _user)  # 王小明, born 1980-05-17, under a number of his own
    university = make_org(session, org_type=OrgType.INSTITUTION, kind="university")
    hr = make_user(session, roles=(Role.INSTITUTION_HR,), org=university)
    row = registry_row()
    other = prc_number("310101", date(1980, 5, 17), 457)
    inquiry = submit_inquiry(
        session,
        actor=principal_of(hr),
        request=request_for(other, name=row["name"]),
        settings=_settings(),
    )
    assert inquiry.status == "under_review", inquiry.status
    return {"inquiry_id": inquiry.id}


def new_inquiry_form(_session: Session, _user: User) -> dict[str, Any]:
    """The fields of a valid inquiry."""
    return {
        "purpose": "school_staff",
        "name": "李明",
        "id_type": "prc_id",
        "id_number": _number(),
        "consent_reference": "同意书-2",
        "consent_signed_on": (latest_possible_date() - timedelta(days=1)).isoformat(),
    }


def cases(case: type[Any]) -> list[Any]:
    """The inquiry pages' cases, built with the matrix's `Case`."""
    ask, approve = Permission.INQUIRY_SUBMIT, Permission.INQUIRY_APPROVE
    review = Permission.INQUIRY_REVIEW
    return [
        case("GET", "/inquiries", ask),
        case("GET", "/inquiries/new", ask),
        case("POST", "/inquiries", ask, form_build=new_inquiry_form, ok=(303,)),
        case("GET", "/inquiries/{inquiry_id}", ask, own_inquiry),
        case(
            "POST",
            "/inquiries/{inquiry_id}/decision",
            ask,
            own_inquiry,
            form={"decision": "hired"},
            ok=(303,),
        ),
        case("GET", "/approvals", approve),
        case("POST", "/approvals/{inquiry_id}/approve", approve, pending_for, ok=(303,)),
        case(
            "POST",
            "/approvals/{inquiry_id}/refuse",
            approve,
            pending_for,
            form={"reason": "Not an applicant."},
            ok=(303,),
        ),
        case("GET", "/possible-matches", review),
        case("GET", "/possible-matches/{inquiry_id}", review, possible_match),
        case("POST", "/possible-matches/{inquiry_id}/confirm", review, possible_match, ok=(303,)),
        case("POST", "/possible-matches/{inquiry_id}/clear", review, possible_match, ok=(303,)),
    ]
