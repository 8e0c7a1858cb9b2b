"""Compliance of the staff-access inquiry: who sees which institutions, and every measure.

Times are fixed in 2025 and the period is that year, so each count and turnaround is exact.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shouhu.accounts.models import Organisation
from shouhu.accounts.roles import OrgType, Role
from shouhu.accounts.scope import authority_subtree, in_jurisdiction, jurisdiction_prefix
from shouhu.core.audit.models import AuditEvent
from shouhu.core.database import utcnow
from shouhu.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from shouhu.core.sql import uuid_text
from shouhu.screening import compliance, inquiries
from shouhu.screening.compliance import Flag, Period, period_of, turnaround_of
from tests.factories.accounts import make_org, make_user
from tests.factories.compliance import Tree, at, stored_inquiry, supervision_tree
from tests.factories.lifecycle import principal_of

YEAR = Period(date(2025, 1, 1), date(2025, 12, 31))
SECRET_NUMBER = "440106199001021357"


@pytest.fixture
def tree(session: Session) -> Tree:
    return supervision_tree(session)


def head(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0)


def events_since(session: Session, start: int) -> list[AuditEvent]:
    return list(
        session.scalars(select(AuditEvent).where(AuditEvent.seq > start).order_by(AuditEvent.seq))
    )


def names(report: compliance.ComplianceReport) -> list[str]:
    return [m.name for m in report.institutions]


def a_year_of_inquiries(session: Session, tree: Tree) -> None:
    """The school's year: answers after 1, 1, 2, 3, 4 and 10 hours, one waiting, one refused."""
    answered = [
        # day of March, hours to the answer, purpose, answer, hiring
        (2, 1, "school_staff", "no_record", "hired"),
        (3, 2, "school_staff", "no_record", "not_hired"),
        (4, 3, "school_staff", "record_found", None),
        (5, 4, "annual_recheck", "no_record", None),
        (2, 10, "close_contact", "no_record", None),
    ]
    for day, hours, purpose, answer, hiring in answered:
        submitted = at(f"2025-03-0{day} 08:00")
        stored_inquiry(
            session,
            tree.school,
            submitted_at=submitted,
            completed_at=submitted + timedelta(hours=hours),
            purpose=purpose,
            answer=answer,
            hiring=hiring,
            hiring_at=at("2025-03-06 09:00") if hiring else None,
            number=SECRET_NUMBER,
        )
    # Submitted in 2024, answered an hour later in 2025: its turnaround counts, not the inquiry.
    stored_inquiry(
        session,
        tree.school,
        submitted_at=at("2024-12-31 23:59:59"),
        completed_at=at("2025-01-01 00:59:59"),
    )
    stored_inquiry(
        session, tree.school, submitted_at=at("2025-06-01 10:00"), status="pending_approval"
    )
    stored_inquiry(session, tree.school, submitted_at=at("2025-07-01 10:00"), status="refused")
    # After the period: not counted.
    stored_inquiry(
        session,
        tree.school,
        submitted_at=at("2026-01-01 00:00"),
        completed_at=at("2026-01-01 01:00"),
    )
    # The kindergarten hired someone whose answer is a record (a later re-check found it).
    stored_inquiry(
        session,
        tree.kindergarten,
        submitted_at=at("2025-05-01 09:00"),
        completed_at=at("2025-05-01 09:30"),
        answer="record_found",
        hiring="hired",
        hiring_at=at("2025-05-05 09:00"),
    )
    stored_inquiry(
        session,
        tree.other_school,
        submitted_at=at("2025-05-01 09:00"),
        completed_at=at("2025-05-01 09:30"),
        hiring="hired",
        hiring_at=at("2025-05-05 09:00"),
    )


# --- scope -----------------------------------------------------------------------------------


def test_an_officer_sees_every_institution_below_their_authority_at_any_depth(session, tree):
    a_year_of_inquiries(session, tree)
    city = compliance.compliance_report(session, actor=tree.city_officer, period=YEAR)
    assert city.scope is compliance.Scope.AUTHORITY
    assert set(names(city)) == {tree.school.name, tree.kindergarten.name, tree.city_school.name}
    county = compliance.compliance_report(session, actor=tree.county_officer, period=YEAR)
    assert set(names(county)) == {tree.school.name, tree.kindergarten.name}
    other = compliance.compliance_report(session, actor=tree.other_officer, period=YEAR)
    assert names(other) == [tree.other_school.name]


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("county_prosecutor", {"school", "kindergarten"}),
        ("city_prosecutor", {"school", "kindergarten", "city_school"}),
        ("province_prosecutor", {"school", "kindergarten", "city_school", "other_school"}),
        ("other_prosecutor", {"other_school"}),
    ],
)
def test_a_prosecutor_sees_the_institutions_of_their_territory(session, tree, who, expected):
    report = compliance.compliance_report(session, actor=getattr(tree, who), period=YEAR)
    assert report.scope is compliance.Scope.TERRITORY
    assert set(names(report)) == {getattr(tree, key).name for key in expected}
    # Authorities and procuratorates are supervisors, not supervised.
    assert tree.county.name not in names(report)


def test_the_territory_rule_by_level():
    assert [jurisdiction_prefix(c) for c in ("440106", "440100", "440000")] == [
        "440106",
        "4401",
        "44",
    ]


def test_a_prefecture_covers_its_own_counties_only(session, tree):
    # A prefix LIKE: 4401 covers 440100, 440103 and 440106, never 440300 or 440000.
    codes = set(
        session.scalars(
            select(Organisation.region_code).where(
                in_jurisdiction(Organisation.region_code, "440100"),
                Organisation.name.contains(tree.school.name.split()[-1]),
            )
        )
    )
    assert codes == {"440100", "440106", "440103"}


def test_the_tree_walk_ends_on_a_cycle(session):
    first = make_org(session, org_type=OrgType.EDUCATION_AUTHORITY)
    second = make_org(session, org_type=OrgType.EDUCATION_AUTHORITY, parent=first)
    first.parent_id = second.id  # an operator's mistake
    session.flush()
    walk = authority_subtree(first.id)
    assert set(session.scalars(select(walk.c.id))) == {first.id, second.id}


def test_uuid_text_is_the_audit_logs_form_of_an_id(session, tree):
    found = session.scalar(
        select(uuid_text(Organisation.id)).where(Organisation.id == tree.school.id)
    )
    assert found == str(tree.school.id)


def test_other_roles_have_no_compliance_view(session, tree):
    with pytest.raises(ForbiddenError):
        compliance.compliance_report(session, actor=tree.school_hr, period=YEAR)
    with pytest.raises(ForbiddenError):
        compliance.institution_compliance(
            session, actor=tree.school_hr, institution_id=tree.school.id, period=YEAR
        )


# --- the measures ------------------------------------------------------------------------------


def test_the_measures_of_a_year(session, tree):
    a_year_of_inquiries(session, tree)
    report = compliance.compliance_report(session, actor=tree.city_officer, period=YEAR)
    by_name = {m.name: m for m in report.institutions}
    school = by_name[tree.school.name]
    assert school.inquiries == 7
    assert school.by_purpose == {"school_staff": 5, "annual_recheck": 1, "close_contact": 1}
    assert school.outcomes == {
        "no_record": 4,
        "record_found": 1,
        "under_review": 0,
        "pending_approval": 1,
        "refused": 1,
    }
    assert (school.hires, school.hires_without_no_record, school.hires_refused) == (1, 0, 0)
    assert school.pending == 1
    assert school.oldest_pending_days is not None
    assert school.oldest_pending_days > 180
    # Answers after 1, 1, 2, 3, 4 and 10 hours: median 2.5, 90th percentile 4 + 0.5 × 6 = 7.
    assert school.turnaround.answered == 6
    assert school.turnaround.median_hours == pytest.approx(2.5)
    assert school.turnaround.p90_hours == pytest.approx(7.0)
    assert school.flags == [Flag.STALE_PENDING]

    kindergarten = by_name[tree.kindergarten.name]
    assert (kindergarten.hires, kindergarten.hires_without_no_record) == (1, 1)
    assert kindergarten.flags == [Flag.HIRED_WITHOUT_NO_RECORD, Flag.NO_ANNUAL_RECHECK]
    quiet = by_name[tree.city_school.name]
    assert (quiet.inquiries, quiet.pending, quiet.turnaround.answered) == (0, 0, 0)
    assert quiet.turnaround.median_hours is None
    assert quiet.flags == [Flag.NO_ANNUAL_RECHECK]
    # The gravest first.
    assert names(report) == [tree.kindergarten.name, tree.school.name, tree.city_school.name]


def test_a_short_period_raises_no_recheck_flag_and_counts_only_its_days(session, tree):
    a_year_of_inquiries(session, tree)
    march = Period(date(2025, 3, 1), date(2025, 3, 3))
    report = compliance.compliance_report(session, actor=tree.county_officer, period=march)
    school = next(m for m in report.institutions if m.name == tree.school.name)
    # Submitted on 2 March (twice) and 3 March.
    assert school.inquiries == 3
    assert Flag.NO_ANNUAL_RECHECK not in school.flags
    # Pending counts whenever it was asked.
    assert school.pending == 1


def test_refused_hires_are_counted_and_flagged(session, tree, tmp_path):
    found = stored_inquiry(session, tree.school, submitted_at=utcnow(), answer="record_found")
    found.completed_at = utcnow()
    waiting = stored_inquiry(session, tree.school, submitted_at=utcnow(), status="under_review")
    for inquiry in (found, waiting):
        with pytest.raises(ConflictError):
            inquiries.record_hiring(
                session, actor=tree.school_hr, inquiry_id=inquiry.id, decision="hired"
            )
    report = compliance.compliance_report(
        session, actor=tree.county_prosecutor, period=period_of(None, None)
    )
    school = next(m for m in report.institutions if m.name == tree.school.name)
    assert school.hires_refused == 2
    assert school.hires == 0
    assert school.flags[0] is Flag.HIRES_REFUSED
    assert names(report)[0] == tree.school.name
    # Outside the period, not counted.
    before = compliance.compliance_report(session, actor=tree.county_prosecutor, period=YEAR)
    assert all(m.hires_refused == 0 for m in before.institutions)

    detail = compliance.institution_compliance(
        session,
        actor=tree.county_officer,
        institution_id=tree.school.id,
        period=period_of(None, None),
    )
    assert [(r.inquiry_id, r.status, r.answer) for r in detail.refused_hires] == [
        (waiting.id, "under_review", None),
        (found.id, "completed", "record_found"),
    ]
    assert {r.candidate for r in detail.refused_hires} == {"王*明"}


def test_turnaround_percentiles():
    assert turnaround_of([]) == compliance.Turnaround(0, None, None)
    one = turnaround_of([7200])
    assert (one.median_hours, one.p90_hours) == (2.0, 2.0)
    ten = turnaround_of([3600 * h for h in range(1, 11)])
    assert ten.median_hours == pytest.approx(5.5)
    assert ten.p90_hours == pytest.approx(9.1)


def test_the_period():
    today = date(2026, 3, 10)
    assert period_of(None, None, today=today) == Period(date(2025, 3, 10), today)
    assert period_of(date(2026, 1, 1), None, today=today).days == 69
    with pytest.raises(ValidationFailedError) as caught:
        period_of(date(2026, 3, 11), date(2026, 3, 10))
    assert caught.value.field == "since"
    with pytest.raises(ValidationFailedError) as caught:
        period_of(None, date.max)
    assert caught.value.field == "until"
    assert period_of(None, date(1, 6, 1)).since == date.min


# --- an institution's page ---------------------------------------------------------------------


def test_an_institutions_inquiries_show_the_masked_name_only(session, tree):
    a_year_of_inquiries(session, tree)
    detail = compliance.institution_compliance(
        session, actor=tree.city_prosecutor, institution_id=tree.school.id, period=YEAR
    )
    assert detail.measures.inquiries == 7
    assert len(detail.inquiries) == 7
    assert not detail.truncated
    assert {line.candidate for line in detail.inquiries} == {"王*明"}
    newest = detail.inquiries[0]
    assert (newest.status, newest.submitted_at) == ("refused", at("2025-07-01 10:00"))
    timed = [line.turnaround_hours for line in detail.inquiries if line.turnaround_hours]
    assert sorted(timed) == [1, 2, 3, 4, 10]
    assert SECRET_NUMBER not in repr(detail)
    assert "王小明" not in repr(detail)


@pytest.mark.parametrize(
    ("who", "institution"),
    [
        ("other_officer", "school"),
        ("county_officer", "city_school"),  # above the county, not below it
        ("county_officer", "county"),  # an authority is not an institution
        ("county_prosecutor", "city_school"),
        ("other_prosecutor", "kindergarten"),
    ],
)
def test_another_scopes_institution_is_not_found(session, tree, who, institution):
    start = head(session)
    with pytest.raises(NotFoundError):
        compliance.institution_compliance(
            session,
            actor=getattr(tree, who),
            institution_id=getattr(tree, institution).id,
            period=YEAR,
        )
    assert events_since(session, start) == []


# --- audit -------------------------------------------------------------------------------------


def test_reading_compliance_is_audited_without_personal_data(session, tree):
    a_year_of_inquiries(session, tree)
    start = head(session)
    compliance.compliance_report(session, actor=tree.city_prosecutor, period=YEAR)
    compliance.institution_compliance(
        session, actor=tree.city_officer, institution_id=tree.school.id, period=YEAR
    )
    events = events_since(session, start)
    assert [e.action for e in events] == [
        "web:compliance:view",
        "web:compliance:view_institution",
    ]
    view, detail = events
    assert view.organisation_id == str(tree.city_prosecutor.organisation_id)
    assert json.loads(view.details) == {
        "scope": "territory",
        "territory": "4401",
        "since": "2025-01-01",
        "until": "2025-12-31",
        "institutions": 3,
    }
    assert (detail.object_type, detail.object_id) == ("organisation", str(tree.school.id))
    assert json.loads(detail.details) == {
        "since": "2025-01-01",
        "until": "2025-12-31",
        "inquiries_shown": 7,
        "refused_hires_shown": 0,
    }
    for event in events:
        for secret in ("王", SECRET_NUMBER, tree.school.name):
            assert secret not in event.details


def test_a_supervisor_with_no_institutions_sees_an_empty_table(session, tree):
    a_year_of_inquiries(session, tree)
    lone = make_org(session, org_type=OrgType.EDUCATION_AUTHORITY)
    officer = principal_of(make_user(session, roles=(Role.EDUCATION_OFFICER,), org=lone))
    report = compliance.compliance_report(session, actor=officer, period=YEAR)
    assert report.institutions == []
