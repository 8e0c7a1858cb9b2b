"""The demo's one-stop sites and cases: a case in every state, so every page has something real.

Made through the real services by the demo accounts: admin sets up the sites and attaches the
partners, case.officer receives the cases, puts the forensic examiner, the prosecutor and the
support worker on their teams and moves each case along its status path. Past the intake, each
case has its joint session with the arrivals (a few lack an agency, so the flag shows), the
child's forensic interview (one child a second, approved by the prosecutor), evidence with its
custody log, and referrals the support worker has taken along every status. Cases received over
the past months, at two busy sites and one small one, give the site-performance page figures
to show and one site whose figures are suppressed. Every child and suspect is invented; the
pseudonyms are what the pages show.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final
from unittest import mock

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shouhu.accounts.models import Organisation, User
from shouhu.core.database import transaction, utcnow
from shouhu.core.principal import Principal
from shouhu.demo_workflow import demo_actor, demo_number
from shouhu.onestop import (
    cases,
    evidence,
    interviews,
    joint_sessions,
    repository,
    sites,
    support,
    team,
)
from shouhu.onestop.blobs import BlobStore
from shouhu.onestop.models import CaseMember, CaseStatus, OneStopCase, OneStopSite
from shouhu.onestop.service_models import ReferralStatus
from shouhu.onestop.session_models import Agency

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


# The site of each case above: the third, small site has the two just received, so its
# figures are suppressed and rest on nothing that could hide another site's (performance.py).
CASE_SITES: Final = (0, 2, 2, 0, 1, 0, 0, 1, 1)
# Cases received over the past months, all worked (site index, then as CASES): with the cases
# above, the first site has eight and the second seven.
HISTORY: Final = [
    (
        0,
        CaseStatus.CLOSED,
        600,
        "police_report",
        "forcible_indecency",
        "某游泳馆",
        "郑小宇",
        "M",
        10,
        "柏某",
    ),
    (
        0,
        CaseStatus.JUDGED,
        1320,
        "mandatory_report_school",
        "child_molestation",
        "某小学",
        "冯小禾",
        "F",
        8,
        "褚某",
    ),
    (0, CaseStatus.PROSECUTED, 2280, "family", "rape", "某农家院", "何小芸", "F", 13, "卫某"),
    (
        0,
        CaseStatus.CLOSED,
        3360,
        "mandatory_report_hospital",
        "abuse",
        "某寄宿学校",
        "韩小石",
        "M",
        9,
        "蒋某",
    ),
    (
        1,
        CaseStatus.UNDER_INVESTIGATION,
        840,
        "police_report",
        "child_molestation",
        "某舞蹈班",
        "杨小桃",
        "F",
        7,
        "沈某",
    ),
    (
        1,
        CaseStatus.NOT_PROSECUTED,
        1680,
        "family",
        "forcible_indecency",
        "某网吧",
        "朱小林",
        "M",
        12,
        "秦某",
    ),
    (
        1,
        CaseStatus.CLOSED,
        2640,
        "mandatory_report_school",
        "child_molestation",
        "某课外班",
        "许小月",
        "F",
        11,
        "尤某",
    ),
    (1, CaseStatus.JUDGED, 3840, "police_report", "rape", "某出租屋", "吕小霞", "F", 14, "施某"),
]
# Hours from receipt to the joint session, by the case's number (cycled).
SESSION_HOURS: Final = (6, 14, 4, 22, 9, 30, 12, 5, 18)
# The service each case's child is referred for, and the path the support worker takes it.
REFERRAL_PATHS: Final = {
    "completed": (
        ReferralStatus.ACCEPTED,
        ReferralStatus.IN_PROGRESS,
        ReferralStatus.COMPLETED,
    ),
    "in_progress": (ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS),
    "accepted": (ReferralStatus.ACCEPTED,),
    "declined": (ReferralStatus.DECLINED,),
    "referred": (),
    "withdrawn": (),  # called off by the case officer (below), before anyone took it
}
DECLINE_REASON: Final = "监护人希望由孩子学校的心理老师跟进，暂不接受转介"
WITHDRAW_REASON: Final = "家庭已自行联系医院的儿童心理门诊，撤回本次转介"
APPROVAL_REASON: Final = "首次询问时儿童情绪不稳定，未能完整陈述，经评估需补充询问一次"
EVIDENCE_ROOM: Final = "区公安分局物证室"
# One interview in seven (by the case's number, cycled) was not recorded.
UNRECORDED: Final = 3
LAB: Final = "市公安局物证鉴定中心"


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


@dataclass(frozen=True)
class _Cast:
    """The demo accounts who work the cases."""

    officer: Principal
    prosecutor: Principal
    support: Principal
    prosecutor_id: uuid.UUID
    support_id: uuid.UUID
    forensic_id: uuid.UUID
    federation_id: uuid.UUID
    store: BlobStore | None  # where the medical reports' files go; None: metadata only


def demo_report_pdf(label: str) -> bytes:
    """A one-page PDF saying it is a synthetic demo document (no real person), for `label`."""
    text = f"Shouhu demo data - synthetic medical report {label} - no real person".encode()
    stream = b"BT /F1 12 Tf 50 780 Td (" + text + b") Tj ET"
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>"
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        page,
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@contextmanager
def _as_of(moment: datetime) -> Iterator[None]:
    """Let the services take a step of past months as if it were being taken at `moment`.

    The demo enters months of work at once, which people would have entered as it happened:
    a session more than a month back is otherwise refused (joint_sessions.LATEST_PAST), and a
    referral is stamped with the time it is made and accepted (its start, for the site
    figures). The audit chain keeps its own clock: its events say when the demo was seeded.
    """
    late = utcnow() - moment + joint_sessions.LATEST_PAST
    with (
        mock.patch.object(joint_sessions, "LATEST_PAST", late),
        mock.patch.object(support, "utcnow", return_value=moment),
    ):
        yield


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


def _member(session: Session, case: OneStopCase, role: str) -> CaseMember:
    found = session.scalar(
        select(CaseMember).where(CaseMember.case_id == case.id, CaseMember.role == role)
    )
    if found is None:
        raise LookupError(f"the demo case has no {role}")
    return found


def _held(session: Session, cast: _Cast, case: OneStopCase, number: int, when: datetime) -> None:
    """The joint session at `when`: everyone required arrives but, now and then, one agency."""
    joint = joint_sessions.schedule_session(
        session, actor=cast.officer, case_id=case.id, site_id=None, scheduled_for=when
    )
    if when > utcnow():
        return  # arranged, not yet held
    members = {
        Agency.CRIMINAL_INVESTIGATION: _member(session, case, "lead_officer"),
        Agency.FORENSICS: _member(session, case, "forensic"),
        Agency.PROCURATORATE: _member(session, case, "prosecutor"),
    }
    support_member = _member(session, case, "support")
    child = repository.children_of(session, case.id)[0]
    guardian = child.guardian_name or "监护人"
    # Every fourth case the medical staff (or, without them, the psychologist) did not come.
    absent = number % 4 == 1
    skipped = Agency.MEDICAL if Agency.MEDICAL in joint.required_agencies else Agency.PSYCHOLOGIST
    for offset, agency in enumerate(joint.required_agencies):
        if absent and agency is skipped:
            continue
        arrived = when + timedelta(minutes=5 * offset)
        joint_sessions.record_arrival(
            session,
            actor=cast.officer,
            case_id=case.id,
            session_id=joint.id,
            agency=agency.value,
            arrived_at=arrived,
            member_id=None if agency is Agency.GUARDIAN else members.get(agency, support_member).id,
            person_name=guardian if agency is Agency.GUARDIAN else None,
            departed_at=when + timedelta(hours=3),
        )
    start = when + timedelta(minutes=45)
    interviews.record_interview(
        session,
        actor=cast.officer,
        case_id=case.id,
        child_id=child.id,
        interviewer_id=members[Agency.CRIMINAL_INVESTIGATION].id,
        started_at=start,
        ended_at=start + timedelta(minutes=50),
        recorded=number % 7 != UNRECORDED,
        session_id=joint.id,
    )


def _second_interview(session: Session, cast: _Cast, case: OneStopCase, when: datetime) -> None:
    """The prosecutor approves one more interview of the child, which then takes place."""
    child = repository.children_of(session, case.id)[0]
    interviews.approve_second_interview(
        session, actor=cast.prosecutor, case_id=case.id, child_id=child.id, reason=APPROVAL_REASON
    )
    interviews.record_interview(
        session,
        actor=cast.officer,
        case_id=case.id,
        child_id=child.id,
        interviewer_id=_member(session, case, "lead_officer").id,
        started_at=when,
        ended_at=when + timedelta(minutes=30),
        recorded=True,
    )


def _evidence(
    session: Session, cast: _Cast, case: OneStopCase, site: OneStopSite, when: datetime
) -> None:
    """The medical report (on site where the site has a medical room) and the recording."""
    child = repository.children_of(session, case.id)[0]
    report = evidence.record_item(
        session,
        actor=cast.officer,
        case_id=case.id,
        item=evidence.ItemInput(
            kind="medical_report",
            description="儿童身体检查报告（含伤情记录）",
            place="一站式取证场所医学检查室" if site.medical_room else "区妇幼保健院",
            collected_at=when + timedelta(hours=2),
            holder=EVIDENCE_ROOM,
            reason="联合询问后固定身体检查结果",
            child_id=child.id,
            examined_on_site=site.medical_room,
        ),
    )
    if cast.store is not None:
        # A real file, so the demo's downloads and exports verify and stream something.
        content = demo_report_pdf(f"E-{report.number}")
        evidence.attach_file(
            session,
            actor=cast.officer,
            case_id=case.id,
            item_id=report.id,
            blob=cast.store.put_iter([content], max_bytes=len(content)),
            filename="身体检查报告.pdf",
            content_type="application/pdf",
        )
    recording = evidence.record_item(
        session,
        actor=cast.officer,
        case_id=case.id,
        item=evidence.ItemInput(
            kind="interview_recording",
            description="儿童询问同步录音录像光盘",
            place="一站式取证场所询问室",
            collected_at=when + timedelta(hours=2),
            holder=EVIDENCE_ROOM,
            reason="询问结束后固定证据",
            child_id=child.id,
        ),
    )
    evidence.append_custody(
        session,
        actor=cast.officer,
        case_id=case.id,
        item_id=recording.id,
        change=evidence.CustodyInput(
            event="transferred",
            reason="送市局物证鉴定中心做声像资料检验",
            place=EVIDENCE_ROOM,
            to_holder=LAB,
            occurred_at=when + timedelta(hours=26),
        ),
    )
    del report


def _referral(  # noqa: PLR0917 - the demo's steps read better positionally
    session: Session,
    cast: _Cast,
    case: OneStopCase,
    path: str,
    received: datetime,
    start_hours: int,
) -> None:
    """A psychological referral, taken by the support worker `start_hours` after receipt."""
    child = repository.children_of(session, case.id)[0]
    with _as_of(received + timedelta(hours=2)):
        referral = support.refer(
            session,
            actor=cast.officer,
            case_id=case.id,
            child_id=child.id,
            service="psychological",
            organisation_id=cast.federation_id,
            assigned_to_id=cast.support_id if path != "referred" else None,
        )
    for step, status in enumerate(REFERRAL_PATHS[path]):
        with _as_of(received + timedelta(hours=start_hours + 24 * step)):
            support.change_status(
                session,
                actor=cast.support,
                referral_id=referral.id,
                status=status.value,
                reason=DECLINE_REASON if status is ReferralStatus.DECLINED else None,
            )
    if path == "withdrawn":
        with _as_of(received + timedelta(hours=start_hours)):
            support.withdraw(
                session, actor=cast.officer, referral_id=referral.id, reason=WITHDRAW_REASON
            )


def _referral_path(number: int, hours: int) -> str:
    """How far the case's referral went: old ones finished, one declined, one withdrawn."""
    if number == 4:  # noqa: PLR2004 - the demo's one declined referral
        return "declined"
    if number == 9:  # noqa: PLR2004 - the demo's one withdrawn referral
        return "withdrawn"
    if hours < 100:  # noqa: PLR2004 - a recent case: accepted, not yet worked
        return "accepted" if hours > 48 else "referred"  # noqa: PLR2004
    return "completed" if hours > 1000 else "in_progress"  # noqa: PLR2004


def _work(  # noqa: PLR0917 - the demo's steps read better positionally
    session: Session,
    cast: _Cast,
    case: OneStopCase,
    site: OneStopSite,
    number: int,
    target: CaseStatus,
) -> None:
    """Everything a case past its intake has: session, interview, evidence, referral, status."""
    received = case.received_at
    hours_ago = (utcnow() - received).total_seconds() / 3600
    if target is not CaseStatus.RECEIVED:
        if target is CaseStatus.JOINT_SESSION_SCHEDULED:
            when = utcnow() + timedelta(hours=4)  # arranged for later today
        else:
            when = received + timedelta(hours=SESSION_HOURS[number % len(SESSION_HOURS)])
        with _as_of(when):
            _held(session, cast, case, number, when)
        if when > utcnow():
            # Referred at once, to the Women's Federation rather than a named worker.
            _referral(session, cast, case, "referred", received, 0)
        else:
            _evidence(session, cast, case, site, when)
            if number == 4:  # noqa: PLR2004 - the demo's one child interviewed twice
                _second_interview(session, cast, case, when + timedelta(days=3))
            _referral(
                session, cast, case, _referral_path(number, int(hours_ago)), received, 3 + number
            )
    for status in _path_to(target)[1:] if target is not CaseStatus.RECEIVED else []:
        cases.change_status(
            session,
            actor=cast.officer,
            case_id=case.id,
            status=status.value,
            reason=REASONS.get(status),
        )


def seed_onestop(factory: sessionmaker[Session], store: BlobStore | None = None) -> DemoOneStop:
    """Sites with their partners, and cases in every state with their teams and their work.

    With a `store`, each medical report gets its (synthetic) file there.
    """
    rows = [(site, *row) for site, row in zip(CASE_SITES, CASES, strict=True)] + HISTORY
    with transaction(factory) as session:
        made = _make_sites(session)
        federation = session.scalar(select(Organisation).where(Organisation.name == PARTNERS[0]))
        if federation is None:
            raise LookupError("the demo Women's Federation is missing")
        cast = _Cast(
            officer=demo_actor(session, "case.officer"),
            prosecutor=demo_actor(session, "prosecutor"),
            support=demo_actor(session, "support.worker"),
            prosecutor_id=_user_id(session, "prosecutor"),
            support_id=_user_id(session, "support.worker"),
            forensic_id=_user_id(session, "forensic.examiner"),
            federation_id=federation.id,
            store=store,
        )
        now = utcnow()
        for number, row in enumerate(rows):
            site_index, target, hours, channel, offence, place, child, sex, age, suspect = row
            site = made[site_index]
            born = date(now.year - age, 1 + number % 12, 1 + number)
            case = cases.open_case(
                session,
                actor=cast.officer,
                intake=cases.CaseIntake(
                    received_at=now - timedelta(hours=hours),
                    channel=channel,
                    offence=offence,
                    place=place,
                    jurisdiction=site.region_code,
                    site_id=site.id,
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
            for user_id, role in (
                (cast.forensic_id, "forensic"),
                (cast.prosecutor_id, "prosecutor"),
                (cast.support_id, "support"),
            ):
                team.add_member(
                    session, actor=cast.officer, case_id=case.id, user_id=user_id, role=role
                )
            _work(session, cast, case, site, number, target)
    return DemoOneStop(len(SITES), len(rows))
