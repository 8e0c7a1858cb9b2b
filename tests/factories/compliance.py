"""Supervisors and their institutions for compliance tests, and inquiries stored with fixed times.

The tree: a city bureau (广州, 440100) above a county bureau (天河, 440106) above a primary
school and a kindergarten; a secondary school directly under the city bureau; another city's
bureau (深圳, 440300) with its own school (440304). Procuratorates at county, city and
province level, and another city's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from shouhu.accounts.roles import OrgType, Role
from shouhu.identity.prc_id import latest_possible_date
from shouhu.screening.models import Inquiry
from tests.factories.accounts import make_org, make_user
from tests.factories.lifecycle import principal_of
from tests.factories.registry import prc_number

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import Organisation, User
    from shouhu.core.principal import Principal


def at(text: str) -> datetime:
    """A UTC time written `YYYY-MM-DD HH:MM[:SS]`."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def stored_inquiry(
    session: Session,
    institution: Organisation,
    *,
    submitted_at: datetime,
    purpose: str = "school_staff",
    status: str = "completed",
    answer: str | None = "no_record",
    completed_at: datetime | None = None,
    hiring: str | None = None,
    hiring_at: datetime | None = None,
    name: str = "王小明",
    number: str | None = None,
    authority: Organisation | None = None,
) -> Inquiry:
    """An inquiry of the institution as the service leaves it, with the times given."""
    hr = make_user(session, roles=(Role.INSTITUTION_HR,), org=institution)
    inquiry = Inquiry(
        institution_id=institution.id,
        authority_id=authority.id if authority else institution.parent_id,
        submitted_by_id=hr.id,
        purpose=purpose,
        position="语文教师",
        subject_index=uuid.uuid4().hex,
        consent_reference="同意书-1",
        consent_signed_on=latest_possible_date(),
        status=status,
        answer=answer if status == "completed" else None,
        submitted_at=submitted_at,
        completed_at=completed_at,
        hiring=hiring,
        hiring_at=hiring_at,
    )
    inquiry.ensure_id()
    inquiry.subject = {
        "name": name,
        "id_type": "prc_id",
        "id_number": number or prc_number("440106", date(1990, 1, 2), 135),
    }
    session.add(inquiry)
    session.flush()
    return inquiry


@dataclass(frozen=True)
class Tree:
    """The organisations of a compliance scene, and a user of each supervising one."""

    city: Organisation
    county: Organisation
    school: Organisation
    kindergarten: Organisation
    city_school: Organisation
    other_city: Organisation
    other_school: Organisation
    city_officer: Principal
    county_officer: Principal
    other_officer: Principal
    county_prosecutor: Principal
    city_prosecutor: Principal
    province_prosecutor: Principal
    other_prosecutor: Principal
    school_hr: Principal
    users: dict[str, User]


def supervision_tree(session: Session) -> Tree:
    """Two cities' bureaus, a county bureau, four institutions, and supervisors of each."""
    tag = uuid.uuid4().hex[:6]

    def org(
        kind: str | None, name: str, region: str, parent: Organisation | None = None
    ) -> Organisation:
        org_type = OrgType.INSTITUTION if kind else OrgType.EDUCATION_AUTHORITY
        return make_org(
            session,
            org_type=org_type,
            kind=kind,
            name=f"{name} {tag}",
            parent=parent,
            region_code=region,
        )

    city = org(None, "广州市教育局", "440100")
    county = org(None, "天河区教育局", "440106", city)
    school = org("primary_school", "天河区第一小学", "440106", county)
    kindergarten = org("kindergarten", "天河区幼儿园", "440106", county)
    city_school = org("secondary_school", "广州市第二中学", "440103", city)
    other_city = org(None, "深圳市教育局", "440300")
    other_school = org("primary_school", "福田区小学", "440304", other_city)

    users: dict[str, User] = {}

    def user(key: str, organisation: Organisation, role: Role) -> Principal:
        users[key] = make_user(session, roles=(role,), org=organisation)
        return principal_of(users[key])

    def procuratorate(name: str, region: str) -> Organisation:
        return make_org(
            session, org_type=OrgType.PROCURATORATE, name=f"{name} {tag}", region_code=region
        )

    return Tree(
        city=city,
        county=county,
        school=school,
        kindergarten=kindergarten,
        city_school=city_school,
        other_city=other_city,
        other_school=other_school,
        city_officer=user("city_officer", city, Role.EDUCATION_OFFICER),
        county_officer=user("county_officer", county, Role.EDUCATION_OFFICER),
        other_officer=user("other_officer", other_city, Role.EDUCATION_OFFICER),
        county_prosecutor=user(
            "county_prosecutor", procuratorate("天河区人民检察院", "440106"), Role.PROSECUTOR
        ),
        city_prosecutor=user(
            "city_prosecutor", procuratorate("广州市人民检察院", "440100"), Role.PROSECUTOR
        ),
        province_prosecutor=user(
            "province_prosecutor", procuratorate("广东省人民检察院", "440000"), Role.PROSECUTOR
        ),
        other_prosecutor=user(
            "other_prosecutor", procuratorate("深圳市人民检察院", "440300"), Role.PROSECUTOR
        ),
        school_hr=user("school_hr", school, Role.INSTITUTION_HR),
        users=users,
    )
