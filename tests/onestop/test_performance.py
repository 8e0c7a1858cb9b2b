"""Site performance: exact figures on a known data set, suppression at 4 and 5, the period,
who may read it, and its audit event."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from shouhu.accounts.roles import Role
from shouhu.core.audit.models import AuditEvent
from shouhu.core.errors import ForbiddenError, ValidationFailedError
from shouhu.onestop import performance, repository
from shouhu.onestop.evidence_models import EvidenceItem
from shouhu.onestop.service_models import ServiceReferral
from shouhu.onestop.session_models import ForensicInterview, JointSession, SessionArrival
from tests.factories.accounts import make_user
from tests.factories.lifecycle import principal_of
from tests.factories.onestop import Cast, make_site, open_case
from tests.onestop.conftest import events_since, head

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shouhu.onestop.models import OneStopCase, OneStopSite

CORE = "criminal_investigation,forensics,procuratorate"
# 'Now' for the figures: the end of November 2026 (Beijing time); cases are in October.
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
OCTOBER = performance.period_of("2026-10", "2026-10", now=NOW)


def _case(session: Session, cast: Cast, site: OneStopSite, received: datetime) -> OneStopCase:
    case = open_case(session, cast.officer, site)
    case.received_at = received  # the intake took it as 'two hours ago'; set the known time
    session.flush()
    return case


def _held(  # noqa: PLR0917 - a known data set reads better positionally
    session: Session,
    case: OneStopCase,
    at: datetime,
    agencies: tuple[str, ...] = ("criminal_investigation", "forensics", "procuratorate"),
    required: str = CORE,
    scheduled: datetime | None = None,
) -> JointSession:
    """A session of the case whose agencies all arrived at `at` (and stayed)."""
    joint = JointSession(
        case_id=case.id,
        site_id=case.site_id,
        scheduled_for=scheduled or at,
        required=required,
        scheduled_by_id=case.opened_by_id,
    )
    joint.ensure_id()
    session.add(joint)
    session.flush()
    for agency in agencies:
        arrival = SessionArrival(
            session_id=joint.id, agency=agency, arrived_at=at, recorded_by_id=case.opened_by_id
        )
        arrival.ensure_id()
        session.add(arrival)
    session.flush()
    return joint


def _interview(session: Session, case: OneStopCase, number: int, *, recorded: bool) -> None:
    (lead,) = [m for m, _u in repository.team(session, case.id)]
    child = repository.children_of(session, case.id)[0]
    start = case.received_at + timedelta(hours=5 + number)
    row = ForensicInterview(
        case_id=case.id,
        child_id=child.id,
        number=number,
        interviewer_id=lead.id,
        started_at=start,
        ended_at=start + timedelta(minutes=40),
        recorded=recorded,
        recorded_by_id=case.opened_by_id,
    )
    row.ensure_id()
    session.add(row)
    session.flush()


def _item(session: Session, case: OneStopCase, kind: str, on_site: bool | None) -> None:
    count = session.scalar(
        select(func.count()).select_from(EvidenceItem).where(EvidenceItem.case_id == case.id)
    )
    row = EvidenceItem(
        case_id=case.id,
        number=(count or 0) + 1,
        kind=kind,
        collected_at=case.received_at + timedelta(hours=6),
        collected_by_id=case.opened_by_id,
        examined_on_site=on_site,
        custody_seq=0,
        custody_head="0" * 64,
    )
    row.ensure_id()
    row.description = "体检报告"
    row.place = "检查室"
    session.add(row)
    session.flush()


def _referral(session: Session, cast: Cast, case: OneStopCase, started: datetime | None) -> None:
    child = repository.children_of(session, case.id)[0]
    row = ServiceReferral(
        case_id=case.id,
        child_id=child.id,
        service="psychological",
        organisation_id=cast.womens_federation.id,
        status="accepted" if started else "referred",
        due_at=case.received_at + timedelta(hours=72),
        referred_by_id=case.opened_by_id,
        started_at=started,
    )
    row.ensure_id()
    session.add(row)
    session.flush()


def _october(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, tzinfo=UTC)


def _known_site(session: Session, cast: Cast) -> list[OneStopCase]:
    """Five October cases at the cast's site with everything measured (expected values below)."""
    made = []
    for index in range(5):
        case = _case(session, cast, cast.site, _october(3 + index))
        received = case.received_at
        # Hours to the first held session: 2, 4, 6, 8, 10.
        hours = 2 + 2 * index
        if index == 4:
            # The procuratorate never came: the session is flagged.
            _held(
                session,
                case,
                received + timedelta(hours=hours),
                agencies=("criminal_investigation", "forensics"),
            )
        else:
            _held(session, case, received + timedelta(hours=hours))
        # Interviews: one each, a second for the first child; one of six not recorded.
        _interview(session, case, 1, recorded=index != 3)
        # Medical reports: three of five examined at the site.
        _item(session, case, "medical_report", on_site=index < 3)
        # Services: the first started 1, 3, 5, 7, 9 hours after receipt.
        _referral(session, cast, case, received + timedelta(hours=1 + 2 * index))
        made.append(case)
    first = made[0]
    _interview(session, first, 2, recorded=True)
    # Not counted: a later held session (the first one counts), a session not yet due, a due
    # session nobody was recorded at, a report of another kind, a report from before the
    # column (null), a referral that has not started, a later start of the same case.
    _held(session, first, first.received_at + timedelta(hours=30))
    _held(session, first, NOW + timedelta(days=2), scheduled=NOW + timedelta(days=2))
    _held(session, made[1], made[1].received_at + timedelta(hours=1), agencies=())
    _item(session, first, "clothing", on_site=None)
    _item(session, made[1], "medical_report", on_site=None)
    _referral(session, cast, made[2], None)
    _referral(session, cast, first, first.received_at + timedelta(hours=50))
    return made


def _report(
    session: Session, period: performance.Period = OCTOBER
) -> performance.PerformanceReport:
    analyst = make_user(session, roles=(Role.ANALYST,))
    return performance.site_performance(
        session, actor=principal_of(analyst), period=period, now=NOW
    )


def _site_of(report: performance.PerformanceReport, site: OneStopSite) -> performance.Measures:
    (found,) = [s for s in report.sites if s.site_id == site.id]
    return found.measures


def _values(measures: performance.Measures) -> dict[str, float | None]:
    return {
        name: None if getattr(measures, name).suppressed else getattr(measures, name).value
        for name in performance.MEASURES
    }


def test_figures_on_a_known_data_set(session: Session, cast: Cast) -> None:
    _known_site(session, cast)
    report = _report(session)
    expected = {
        "cases": 5,
        "session_median_hours": 6.0,
        "session_p90_hours": pytest.approx(9.2),
        # Six held sessions (the five first and a later one); the fifth case's is flagged.
        "full_attendance_share": pytest.approx(5 / 6),
        "interviews_per_child": pytest.approx(6 / 5),
        "reinterviewed_share": pytest.approx(1 / 5),
        "recorded_share": pytest.approx(5 / 6),
        "medical_on_site_share": pytest.approx(3 / 5),
        "service_median_hours": 5.0,
    }
    assert _values(_site_of(report, cast.site)) == expected
    # One site with cases: the nation's figures are the same.
    assert _values(report.national) == expected


def _plain_cases(session: Session, cast: Cast, site: OneStopSite, count: int) -> None:
    for index in range(count):
        _case(session, cast, site, _october(10 + index))


@pytest.mark.parametrize(("count", "shown"), [(4, False), (5, True)])
def test_a_site_with_fewer_than_5_cases_shows_no_figure(
    session: Session, cast: Cast, count: int, *, shown: bool
) -> None:
    for case in _known_site(session, cast)[count:]:
        case.received_at = _october(1) - timedelta(days=40)  # out of the period
    session.flush()
    measures = _site_of(_report(session), cast.site)
    values = _values(measures)
    if shown:
        assert values["cases"] == 5
        assert values["session_median_hours"] == 6.0
    else:
        # Every figure suppressed, even those resting on enough units elsewhere: never a number.
        assert values == dict.fromkeys(performance.MEASURES)
        assert all(getattr(measures, name).suppressed for name in performance.MEASURES)


@pytest.mark.parametrize(("interviews", "shown"), [(4, False), (5, True)])
def test_a_figure_on_fewer_than_5_units_is_suppressed(
    session: Session, cast: Cast, interviews: int, *, shown: bool
) -> None:
    made = [_case(session, cast, cast.site, _october(3 + i)) for i in range(6)]
    for case in made[:interviews]:
        _interview(session, case, 1, recorded=True)
    figure = _site_of(_report(session), cast.site).recorded_share
    assert figure == (
        performance.Figure(1.0, suppressed=False) if shown else performance.SUPPRESSED
    )
    assert figure.suppressed is not shown
    # The site itself has six cases: its count is shown either way.
    assert _site_of(_report(session), cast.site).cases.value == 6


def test_the_national_count_cannot_reveal_a_small_sites_count(session: Session, cast: Cast) -> None:
    small = make_site(session, name="一站式取证中心-小")
    large = make_site(session, name="一站式取证中心-大")
    _plain_cases(session, cast, cast.site, 5)
    _plain_cases(session, cast, large, 7)
    _plain_cases(session, cast, small, 3)
    report = _report(session)
    # 15 nationally; shown 5 and 7 would give the small site's 3 away, so the smaller of the
    # two large sites' counts is hidden too.
    assert report.national.cases.value == 15
    assert _site_of(report, small).cases == performance.SUPPRESSED
    # Withheld, not "fewer than 5": it rests on 5, and the reader must not be told otherwise.
    assert _site_of(report, cast.site).cases == performance.WITHHELD
    assert _site_of(report, large).cases.value == 7


def test_a_share_is_hidden_where_the_national_share_would_give_a_small_sites_away(
    session: Session, cast: Cast
) -> None:
    small = make_site(session, name="一站式取证中心-小")
    large = make_site(session, name="一站式取证中心-大")
    busy = [_case(session, cast, cast.site, _october(3 + i)) for i in range(6)]
    bigger = [_case(session, cast, large, _october(3 + i)) for i in range(8)]
    few = [_case(session, cast, small, _october(3 + i)) for i in range(2)]
    for index, case in enumerate(busy):
        _interview(session, case, 1, recorded=index != 0)
    for case in bigger:
        _interview(session, case, 1, recorded=True)
    for case in few:
        _interview(session, case, 1, recorded=False)
    report = _report(session)
    # 13 of 16 nationally; with 5 of 6 and 8 of 8 shown, the small site's 0 of 2 would follow.
    assert report.national.recorded_share.value == pytest.approx(13 / 16)
    assert _site_of(report, small).recorded_share == performance.SUPPRESSED
    assert _site_of(report, cast.site).recorded_share == performance.WITHHELD  # fewest interviews
    assert _site_of(report, large).recorded_share.value == 1.0
    # Measure by measure: the same for the children interviewed and the cases (2 elsewhere).
    assert _site_of(report, cast.site).interviews_per_child.suppressed
    assert _site_of(report, cast.site).cases.suppressed
    assert _site_of(report, large).cases.value == 8
    assert _site_of(report, large).interviews_per_child.value == 1.0


def test_no_secondary_suppression_when_the_hidden_sites_hold_none(
    session: Session, cast: Cast
) -> None:
    empty = make_site(session, name="一站式取证中心-新")
    _plain_cases(session, cast, cast.site, 5)
    report = _report(session)
    assert _site_of(report, empty).cases.suppressed
    assert _site_of(report, cast.site).cases.value == 5
    assert report.national.cases.value == 5


def test_the_period_counts_whole_months_of_beijing_time(session: Session, cast: Cast) -> None:
    # 2026-10-01 01:00 in Beijing is 2026-09-30 17:00 UTC: October's.
    for received in (
        datetime(2026, 9, 30, 17, 0, tzinfo=UTC),
        _october(2),
        _october(15),
        _october(31, 15),  # 23:00 in Beijing, still October
        _october(20),
    ):
        _case(session, cast, cast.site, received)
    _case(session, cast, cast.site, datetime(2026, 9, 30, 15, 59, tzinfo=UTC))  # September
    _case(session, cast, cast.site, datetime(2026, 10, 31, 16, 0, tzinfo=UTC))  # November
    assert _site_of(_report(session), cast.site).cases.value == 5
    autumn = performance.period_of("2026-09", "2026-11", now=NOW)
    assert _site_of(_report(session, autumn), cast.site).cases.value == 7
    november = performance.period_of("2026-11", None, now=NOW)
    assert _site_of(_report(session, november), cast.site).cases.suppressed


def test_the_default_period_is_the_last_twelve_months() -> None:
    period = performance.period_of(None, None, now=NOW)
    assert (period.first_text, period.last_text) == ("2025-12", "2026-11")
    assert period.start == datetime(2025, 11, 30, 16, 0, tzinfo=UTC)
    assert period.end == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert performance.period_of(None, "2026-03", now=NOW).first_text == "2025-04"


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        ("2026-13", None, "from"),
        ("2026-1", None, "from"),
        (None, "26-10", "to"),
        ("2026-10", "2026-09", "from"),
        ("2010-01", "2026-10", "from"),
        ("1999-12", "2000-01", "from"),
        ("9999-01", "9999-12", "to"),
    ],
)
def test_a_bad_period_is_refused_naming_the_field(
    first: str | None, last: str | None, field: str
) -> None:
    with pytest.raises(ValidationFailedError) as refused:
        performance.period_of(first, last, now=NOW)
    assert refused.value.field == field


@pytest.mark.parametrize("role", [Role.ANALYST, Role.CASE_OFFICER, Role.PROSECUTOR])
def test_analysts_and_those_who_steer_sites_read_it(session: Session, role: Role) -> None:
    reader = make_user(session, roles=(role,))
    report = performance.site_performance(
        session, actor=principal_of(reader), period=OCTOBER, now=NOW
    )
    assert report.national.cases.suppressed


@pytest.mark.parametrize(
    "role", [Role.SUPPORT_WORKER, Role.INSTITUTION_HR, Role.ADMIN, Role.AUDITOR]
)
def test_other_roles_may_not_read_it(session: Session, role: Role) -> None:
    outsider = make_user(session, roles=(role,))
    start = head(session)
    with pytest.raises(ForbiddenError):
        performance.site_performance(session, actor=principal_of(outsider), period=OCTOBER, now=NOW)
    assert events_since(session, start) == []


def test_reading_is_audited_with_the_period_only(session: Session, cast: Cast) -> None:
    _known_site(session, cast)
    start = head(session)
    _report(session)
    assert events_since(session, start) == [("web:onestop:performance_read", "onestop_performance")]
    event = session.scalars(select(AuditEvent).where(AuditEvent.seq > start)).one()
    assert json.loads(event.details) == {"from": "2026-10", "to": "2026-10", "sites": 1}
