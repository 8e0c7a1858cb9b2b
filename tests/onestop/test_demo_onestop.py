"""The demo's one-stop data: sites with partners, cases in every state with their teams, and
the work the one-stop pages show (sessions, interviews, evidence, referrals, site figures)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from shouhu import demo
from shouhu.accounts.models import User
from shouhu.accounts.users import principal_for
from shouhu.demo_onestop import demo_report_pdf, seed_onestop
from shouhu.onestop import joint_sessions, performance
from shouhu.onestop.blobs import BlobStore
from shouhu.onestop.evidence_models import CustodyRecord, EvidenceItem
from shouhu.onestop.models import CaseMember, CaseStatus, OneStopCase, OneStopSite, SitePartner
from shouhu.onestop.repository import readable_cases
from shouhu.onestop.service_models import ReferralStatus, ServiceReferral
from shouhu.onestop.session_models import (
    ForensicInterview,
    JointSession,
    SecondInterviewApproval,
)

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session, sessionmaker


def _principal(session: Session, username: str):
    user = session.scalar(select(User).where(User.username == username))
    assert user is not None
    return principal_for(user, "web")


def test_the_demo_leaves_sites_and_a_case_in_every_state(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    demo.seed(session)
    session.commit()
    seeded = seed_onestop(session_factory)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(OneStopSite)) == seeded.sites == 3
    assert session.scalar(select(func.count()).select_from(SitePartner)) == 2 * seeded.sites
    statuses = Counter(session.scalars(select(OneStopCase.status)))
    assert set(statuses) == {status.value for status in CaseStatus}
    assert statuses[CaseStatus.RECEIVED.value] == 2  # one of them past the joint-session deadline
    assert sum(statuses.values()) == seeded.cases == 17
    roles = Counter(session.scalars(select(CaseMember.role).where(CaseMember.removed_at.is_(None))))
    assert roles == dict.fromkeys(("lead_officer", "forensic", "prosecutor", "support"), 17)
    # The demo accounts on the teams see every case; another case officer would see none.
    for username in ("case.officer", "forensic.examiner", "prosecutor", "support.worker"):
        seen = session.scalars(readable_cases(_principal(session, username))).all()
        assert len(seen) == seeded.cases, username


def test_the_demo_cases_have_their_sessions_interviews_evidence_and_referrals(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    demo.seed(session)
    session.commit()
    seed_onestop(session_factory)
    session.expire_all()
    # Every case past its intake has a session; the one just arranged is not yet held.
    joints = session.scalars(select(JointSession)).all()
    assert len(joints) == 15
    flags = [joint_sessions.attendance(session, j) for j in joints]
    assert sum(not a.due for a in flags) == 1
    assert sum(a.flagged for a in flags) == 3  # an agency missing: the flag shows
    # One interview per child of a held session, and one child's second, approved.
    numbers = Counter(session.scalars(select(ForensicInterview.number)))
    assert numbers == {1: 14, 2: 1}
    assert session.scalar(select(func.count()).select_from(SecondInterviewApproval)) == 1
    assert not all(session.scalars(select(ForensicInterview.recorded)))
    # A medical report and a recording per held session; the recording went to the lab.
    kinds = Counter(session.scalars(select(EvidenceItem.kind)))
    assert kinds == {"medical_report": 14, "interview_recording": 14}
    on_site = Counter(
        session.scalars(
            select(EvidenceItem.examined_on_site).where(EvidenceItem.kind == "medical_report")
        )
    )
    assert set(on_site) == {True, False}
    custody = Counter(session.scalars(select(CustodyRecord.event)))
    assert custody == {"collected": 28, "transferred": 14}
    # Referrals in every status, started where accepted.
    referrals = session.scalars(select(ServiceReferral)).all()
    assert {r.status for r in referrals} == {s.value for s in ReferralStatus}
    for referral in referrals:
        started = referral.status in {"accepted", "in_progress", "completed"}
        assert (referral.started_at is not None) is started, referral.status
        if started:
            assert referral.started_at is not None
            case = session.get_one(OneStopCase, referral.case_id)
            assert referral.started_at > case.received_at


def test_the_demo_gives_the_performance_page_figures_and_one_suppressed_site(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    demo.seed(session)
    session.commit()
    seed_onestop(session_factory)
    session.expire_all()
    report = performance.site_performance(
        session,
        actor=_principal(session, "analyst"),
        period=performance.period_of(None, None),
    )
    shown = [s for s in report.sites if not s.measures.session_median_hours.suppressed]
    hidden = [s for s in report.sites if s.measures.session_median_hours.suppressed]
    assert len(shown) == 2
    assert len(hidden) == 1
    for site in shown:
        for name in performance.MEASURES:
            if name != "cases":  # one big site's count is hidden too (secondary suppression)
                assert not getattr(site.measures, name).suppressed, (site.name, name)
    assert all(getattr(hidden[0].measures, name).suppressed for name in performance.MEASURES)
    assert report.national.cases.value == 17


def test_with_a_store_each_medical_report_has_a_file_that_verifies(
    session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    demo.seed(session)
    session.commit()
    store = BlobStore(tmp_path / "evidence")
    seed_onestop(session_factory, store)
    session.expire_all()
    reports = session.scalars(select(EvidenceItem).where(EvidenceItem.kind == "medical_report"))
    for item in reports:
        assert item.file_sha256 is not None
        assert item.file_content_type == "application/pdf"
        with store.open_verified(item.file_sha256) as opened:
            content = b"".join(opened.chunks())
        assert content == demo_report_pdf(f"E-{item.number}")
    # The recordings stay metadata only (a recording is not made up).
    recordings = session.scalars(
        select(EvidenceItem.file_sha256).where(EvidenceItem.kind == "interview_recording")
    )
    assert set(recordings) == {None}


def test_the_demo_report_is_a_well_formed_pdf() -> None:
    pdf = demo_report_pdf("E-1")
    assert pdf.startswith(b"%PDF-1.4\n")
    assert pdf.endswith(b"%%EOF\n")
    # Each cross-reference entry points at its object, and startxref at the table.
    start = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    assert pdf[start:].startswith(b"xref\n")
    entries = pdf[start:].split(b"\n")[3:8]
    for number, entry in enumerate(entries, start=1):
        offset = int(entry.split(b" ", 1)[0])
        assert pdf[offset:].startswith(b"%d 0 obj\n" % number)
    body = pdf.split(b"stream\n", 1)[1].split(b"\nendstream", 1)[0]
    assert b"/Length %d " % len(body) in pdf
