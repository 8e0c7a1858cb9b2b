"""One-stop sites, cases and teams for tests: a district's cast, sites built on the models, and
cases received through the service (so every case has its lead and its audit events)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from shouhu.accounts.roles import OrgType, Role
from shouhu.core.database import utcnow
from shouhu.onestop import cases
from shouhu.onestop.models import CaseMember, CaseStatus, OneStopCase, OneStopSite, SitePartner
from tests.factories.accounts import make_org, make_user
from tests.factories.lifecycle import principal_of
from tests.factories.registry import prc_number

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import Organisation, User
    from shouhu.core.principal import Principal

CHILD_NAME = "李小红"
BORN = date(2016, 4, 2)
CHILD_NUMBER = prc_number("110101", BORN, 4)  # a girl (even sequence)
SUSPECT_NUMBER = prc_number("110101", date(1980, 5, 17), 123)  # 王小明 of the registry factory


def make_site(
    session: Session,
    *,
    host: Organisation | None = None,
    name: str | None = None,
    region_code: str = "110101",
    active: bool = True,
    partners: tuple[Organisation, ...] = (),
) -> OneStopSite:
    """A site with every facility, hosted by a public security bureau, with these partners."""
    host = host or make_org(session, org_type=OrgType.PUBLIC_SECURITY, region_code=region_code)
    site = OneStopSite(
        name=name or f"一站式取证中心-{uuid.uuid4().hex[:8]}",
        region_code=region_code,
        host_unit_id=host.id,
        interview_room=True,
        medical_room=True,
        waiting_room=True,
        phone="010-6512 3456",
        address="东城区东四北大街 100 号",
        active=active,
    )
    site.ensure_id()
    session.add(site)
    session.flush()
    for partner in partners:
        attach(session, site, partner)
    return site


def attach(session: Session, site: OneStopSite, organisation: Organisation) -> SitePartner:
    """Attach a partner organisation to a site, directly."""
    partner = SitePartner(site_id=site.id, organisation_id=organisation.id)
    session.add(partner)
    session.flush()
    return partner


def child(**overrides: Any) -> cases.ChildInput:
    """A ten-year-old girl with her identity number and her father as guardian."""
    values: dict[str, Any] = {
        "name": CHILD_NAME,
        "sex": "F",
        "id_type": "prc_id",
        "id_number": CHILD_NUMBER,
        "guardian_name": "李强",
        "guardian_relationship": "父亲",
        "special_needs": "听力障碍，需要手语翻译。",
    }
    values.update(overrides)
    return cases.ChildInput(**values)


def intake(site: OneStopSite, **overrides: Any) -> cases.CaseIntake:
    """A school's mandatory report received two hours ago, one child, one suspect."""
    values: dict[str, Any] = {
        "received_at": utcnow() - timedelta(hours=2),
        "channel": "mandatory_report_school",
        "offence": "child_molestation",
        "place": "某小学教师办公室",
        "jurisdiction": "110101",
        "site_id": site.id,
        "children": (child(),),
        "suspects": (cases.SuspectInput(name="王某", id_type="prc_id", id_number=SUSPECT_NUMBER),),
    }
    values.update(overrides)
    return cases.CaseIntake(**values)


def open_case(
    session: Session, officer: User | Principal, site: OneStopSite, **overrides: Any
) -> OneStopCase:
    """A case received by the officer (its lead) through the service."""
    actor = officer if not hasattr(officer, "username") else principal_of(officer)  # type: ignore[arg-type]
    return cases.open_case(session, actor=actor, intake=intake(site, **overrides))


def join(session: Session, case: OneStopCase, user: User, role: str = "investigator") -> CaseMember:
    """Put a user on a case's team directly (no rule checked)."""
    member = CaseMember(case_id=case.id, user_id=user.id, role=role, added_by_id=case.opened_by_id)
    member.ensure_id()
    session.add(member)
    session.flush()
    return member


def move_to(session: Session, case: OneStopCase, status: CaseStatus) -> OneStopCase:
    """Set a case's status directly (to test a move from there)."""
    case.status = status.value
    session.flush()
    return case


@dataclass(frozen=True)
class Cast:
    """Everyone a case meets in one district, and some who must not see it."""

    bureau: Organisation
    procuratorate: Organisation
    womens_federation: Organisation  # attached to the site
    hospital: Organisation  # a partner body not attached to the site
    site: OneStopSite
    officer: User  # case officer of the bureau: receives the cases
    second_officer: User  # another case officer of the same bureau
    other_officer: User  # a case officer of another city's bureau
    forensic: User
    prosecutor: User
    support: User  # of the attached Women's Federation
    outside_support: User  # of the hospital, not attached
    registry_clerk: User  # public security, but no one-stop role
    admin: User
    auditor: User


def make_cast(session: Session) -> Cast:
    """A Beijing district's bureau, procuratorate and partners, their site, and their staff."""
    bureau = make_org(session, org_type=OrgType.PUBLIC_SECURITY, region_code="110101")
    other_bureau = make_org(session, org_type=OrgType.PUBLIC_SECURITY, region_code="310101")
    procuratorate = make_org(session, org_type=OrgType.PROCURATORATE, region_code="110101")
    federation = make_org(session, org_type=OrgType.PARTNER, kind="womens_federation")
    hospital = make_org(session, org_type=OrgType.PARTNER, kind="hospital")
    site = make_site(session, host=bureau, partners=(federation,))

    def user(org: Organisation, role: Role) -> User:
        return make_user(session, roles=(role,), org=org)

    return Cast(
        bureau=bureau,
        procuratorate=procuratorate,
        womens_federation=federation,
        hospital=hospital,
        site=site,
        officer=user(bureau, Role.CASE_OFFICER),
        second_officer=user(bureau, Role.CASE_OFFICER),
        other_officer=user(other_bureau, Role.CASE_OFFICER),
        forensic=user(bureau, Role.FORENSIC_EXAMINER),
        prosecutor=user(procuratorate, Role.PROSECUTOR),
        support=user(federation, Role.SUPPORT_WORKER),
        outside_support=user(hospital, Role.SUPPORT_WORKER),
        registry_clerk=user(bureau, Role.REGISTRY_CLERK),
        admin=make_user(session, roles=(Role.ADMIN,)),
        auditor=make_user(session, roles=(Role.AUDITOR,)),
    )


def refer(
    session: Session,
    officer: User,
    case: OneStopCase,
    organisation: Organisation,
    *,
    service: str = "psychological",
    assignee: User | None = None,
) -> Any:
    """A referral of the case's first child, made by the officer through the service."""
    from shouhu.onestop import repository, support  # noqa: PLC0415 - keep the header small

    child = repository.children_of(session, case.id)[0]
    return support.refer(
        session,
        actor=principal_of(officer),
        case_id=case.id,
        child_id=child.id,
        service=service,
        organisation_id=organisation.id,
        assigned_to_id=assignee.id if assignee else None,
    )
