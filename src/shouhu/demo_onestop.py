"""The demo's one-stop sites and cases: a case in every state, so every page has something real.

Made through the real services by the demo accounts: admin sets up the sites and attaches the
partners, case.officer receives the cases, puts the prosecutor and the support worker on their
teams and moves each case along its status path. Every child and suspect is invented; the
pseudonyms are what the pages show.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shouhu.accounts.models import Organisation, User
from shouhu.core.database import transaction, utcnow
from shouhu.demo_workflow import demo_actor, demo_number
from shouhu.onestop import cases, sites, team
from shouhu.onestop.models import CaseStatus, OneStopSite

# (name, region, interview room, medical room, waiting room, phone, address)
SITES: Final = [
    (
        "北京市东城区一站式询问救助中心",
        "110101",
        True,
        True,
        True,
        "010-65000001",
        "东城区示范路1号",
    ),
    (
        "北京市海淀区一站式取证办案中心",
        "110108",
        True,
        False,
        True,
        "010-62000002",
        "海淀区育新路8号",
    ),
    (
        "北京市朝阳区妇幼一站式工作站",
        "110105",
        True,
        True,
        False,
        "010-85000003",
        "朝阳区康乐街6号",
    ),
]
PARTNERS: Final = ("北京市妇女联合会", "北京市人民检察院")

# The path a case walks to reach each state, and why where a reason is due.
PATH: Final = [
    CaseStatus.JOINT_SESSION_SCHEDULED,
    CaseStatus.EVIDENCE_COLLECTED,
    CaseStatus.UNDER_INVESTIGATION,
    CaseStatus.PROSECUTED,
    CaseStatus.JUDGED,
    CaseStatus.CLOSED,
]
REASONS: Final = {
    CaseStatus.NOT_PROSECUTED: "证据不足，经审查决定不起诉",
    CaseStatus.CLOSED: "案件办结，救助服务已转交属地跟进",
}

# (target state, hours since receipt, channel, offence, place, child, sex, age, suspect)
CASES: Final = [
    (
        CaseStatus.RECEIVED,
        30,
        "mandatory_report_school",
        "child_molestation",
        "某小学课外辅导教室",
        "林小雨",
        "F",
        9,
        "贾某",
    ),
    (
        CaseStatus.RECEIVED,
        3,
        "family",
        "forcible_indecency",
        "某小区地下车库",
        "陈小东",
        "M",
        11,
        "易某",
    ),
    (
        CaseStatus.JOINT_SESSION_SCHEDULED,
        20,
        "police_report",
        "child_molestation",
        "某培训机构",
        "张小禾",
        "F",
        8,
        "孔某",
    ),
    (
        CaseStatus.EVIDENCE_COLLECTED,
        72,
        "mandatory_report_hospital",
        "rape",
        "某出租屋",
        "刘小溪",
        "F",
        13,
        "常某",
    ),
    (
        CaseStatus.UNDER_INVESTIGATION,
        240,
        "mandatory_report_school",
        "forcible_indecency",
        "某中学宿舍",
        "王小川",
        "M",
        12,
        "汪某",
    ),
    (
        CaseStatus.PROSECUTED,
        900,
        "police_report",
        "child_molestation",
        "某少儿体育馆",
        "赵小晴",
        "F",
        10,
        "霍某",
    ),
    (
        CaseStatus.NOT_PROSECUTED,
        1500,
        "family",
        "forcible_indecency",
        "某公园",
        "孙小阳",
        "M",
        7,
        "闫某",
    ),
    (
        CaseStatus.JUDGED,
        2200,
        "mandatory_report_other",
        "rape",
        "某托管班",
        "周小月",
        "F",
        12,
        "庞某",
    ),
    (
        CaseStatus.CLOSED,
        3000,
        "police_report",
        "child_molestation",
        "某图书馆",
        "吴小星",
        "F",
        9,
        "阎某",
    ),
]


@dataclass(frozen=True)
class DemoOneStop:
    """What the seed left for the one-stop pages."""

    sites: int
    cases: int


def _path_to(target: CaseStatus) -> list[CaseStatus]:
    """The moves from `received` to `target`."""
    if target is CaseStatus.RECEIVED:
        return []
    if target is CaseStatus.NOT_PROSECUTED:
        return [*PATH[:3], CaseStatus.NOT_PROSECUTED]
    return PATH[: PATH.index(target) + 1]


def _user_id(session: Session, username: str) -> uuid.UUID:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise LookupError(f"the demo account {username} is missing")
    return user.id


def _make_sites(session: Session) -> list[OneStopSite]:
    admin = demo_actor(session, "admin")
    police = session.scalar(select(Organisation).where(Organisation.name == "北京市公安局"))
    if police is None:
        raise LookupError("the demo public security bureau is missing")
    made = []
    for name, region, interview, medical, waiting, phone, address in SITES:
        site = sites.create_site(
            session,
            actor=admin,
            data=sites.SiteInput(
                name=name,
                region_code=region,
                host_unit_id=police.id,
                interview_room=interview,
                medical_room=medical,
                waiting_room=waiting,
                phone=phone,
                address=address,
            ),
        )
        for partner_name in PARTNERS:
            partner = session.scalar(select(Organisation).where(Organisation.name == partner_name))
            if partner is not None:
                sites.attach_partner(
                    session, actor=admin, site_id=site.id, organisation_id=partner.id
                )
        made.append(site)
    return made


def seed_onestop(factory: sessionmaker[Session]) -> DemoOneStop:
    """Sites with their partners, and a case in every state with its team."""
    with transaction(factory) as session:
        made = _make_sites(session)
        officer = demo_actor(session, "case.officer")
        prosecutor = _user_id(session, "prosecutor")
        support = _user_id(session, "support.worker")
        now = utcnow()
        for number, row in enumerate(CASES):
            target, hours, channel, offence, place, child, sex, age, suspect = row
            born = date(now.year - age, 1 + number % 12, 1 + number)
            case = cases.open_case(
                session,
                actor=officer,
                intake=cases.CaseIntake(
                    received_at=now - timedelta(hours=hours),
                    channel=channel,
                    offence=offence,
                    place=place,
                    jurisdiction=made[number % len(made)].region_code,
                    site_id=made[number % len(made)].id,
                    children=(
                        cases.ChildInput(
                            name=child,
                            sex=sex,
                            date_of_birth=born,
                            id_type="prc_id",
                            id_number=demo_number("110101", born, 300 + 2 * number + (sex == "M")),
                            guardian_name=child[0] + "女士",
                            guardian_relationship="母亲",
                        ),
                    ),
                    suspects=(cases.SuspectInput(name=suspect),),
                ),
            )
            team.add_member(
                session, actor=officer, case_id=case.id, user_id=prosecutor, role="prosecutor"
            )
            team.add_member(
                session, actor=officer, case_id=case.id, user_id=support, role="support"
            )
            for status in _path_to(target):
                cases.change_status(
                    session,
                    actor=officer,
                    case_id=case.id,
                    status=status.value,
                    reason=REASONS.get(status),
                )
    return DemoOneStop(len(SITES), len(CASES))
