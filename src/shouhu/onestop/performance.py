"""One-stop site performance (issue 6, item 8): per site and nationally, aggregates only.

A site's figures are those of the cases it received (`onestop_cases.site_id`) in the period,
chosen by the case's `received_at` in whole months of Beijing time (the officers' calendar).
Every figure is an aggregate of unsealed columns (times, codes, flags); nothing is decrypted.

Definitions (docs/onestop.md, "Site performance"):

- a joint session is **held** when its time has come and at least one arrival is recorded; it
  was held at its **earliest arrival** (the scheduled time is a plan, the first arrival is when
  people met). A due session with no arrival recorded is not counted as held;
- **hours to the joint session**: from the case's receipt to the earliest arrival at any of its
  held sessions; median and 90th percentile over the cases that had one;
- **full attendance**: the share of held sessions that the session page does not flag
  (`joint_sessions.fully_attended`: every required agency arrived, all present at one moment);
- **interviews per child**: over the children interviewed at least once, the mean number of
  forensic interviews, and the share interviewed more than once (the one-stop promise is one);
- **recorded**: the share of forensic interviews recorded;
- **medical examinations on site**: the share of medical reports (evidence of kind
  `medical_report`) whose examination was done at the site;
- **hours to the first service**: from the case's receipt to the earliest `started_at` of its
  referrals; the median over the cases with a started service.

Suppression (DESIGN §4): a figure computed from fewer than SUPPRESSION_THRESHOLD units is
given as suppressed, never as its number; a site with fewer cases shows every figure
suppressed. So that the national figure cannot be set against the shown sites' to work out a
small site's (secondary suppression), a figure is withheld at one more site, the shown one with
the fewest units, whenever the sites whose figure is hidden hold 1-4 units of it between them.
"""

from __future__ import annotations

import math
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any, Final

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from shouhu.accounts.policies import require
from shouhu.accounts.roles import Permission
from shouhu.core.audit.chain import record as audit_record
from shouhu.core.database import utcnow
from shouhu.core.errors import ValidationFailedError
from shouhu.core.principal import Principal
from shouhu.onestop.evidence_models import EvidenceItem, EvidenceKind
from shouhu.onestop.joint_sessions import Arrived, fully_attended
from shouhu.onestop.models import OneStopCase, OneStopSite
from shouhu.onestop.service_models import ServiceReferral
from shouhu.onestop.session_models import (
    ForensicInterview,
    JointSession,
    SessionArrival,
    agencies_of,
)

# DESIGN §4: "analysts see aggregates only, with counts below 5 suppressed".
SUPPRESSION_THRESHOLD: Final = 5
# The default period: the current month and the eleven before it.
DEFAULT_MONTHS: Final = 12
# A period longer than this is refused (a reader's typing error, not a question).
LONGEST_MONTHS: Final = 120
# Months are counted in Beijing time (UTC+8, no summer time), as the officers' calendars are.
BEIJING: Final = timezone(timedelta(hours=8), "UTC+8")
SECONDS_PER_HOUR: Final = 3600
MONTH_PATTERN: Final = re.compile(r"^(\d{4})-(\d{2})$")
FIRST_YEAR: Final = 2000
LAST_YEAR: Final = 2999

ACTION_READ: Final = "onestop:performance_read"


# --- the period ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole months, first to last inclusive, by the case's receipt in Beijing time."""

    first: date  # the first day of the first month
    last: date  # the first day of the last month

    @property
    def start(self) -> datetime:
        """The first moment of the period."""
        return datetime(self.first.year, self.first.month, 1, tzinfo=BEIJING)

    @property
    def end(self) -> datetime:
        """The first moment after the period."""
        following = _add_months(self.last, 1)
        return datetime(following.year, following.month, 1, tzinfo=BEIJING)

    @property
    def first_text(self) -> str:
        """The first month, YYYY-MM."""
        return self.first.strftime("%Y-%m")

    @property
    def last_text(self) -> str:
        """The last month, YYYY-MM."""
        return self.last.strftime("%Y-%m")


def _add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def _month(text: str | None, field: str) -> date | None:
    if text is None or not text.strip():
        return None
    found = MONTH_PATTERN.match(text.strip())
    if found is None or not 1 <= int(found.group(2)) <= 12:  # noqa: PLR2004 - months of a year
        raise ValidationFailedError("Enter a month written YYYY-MM.", field=field)
    year = int(found.group(1))
    # No one-stop case predates the scheme; a year past 2999 is a typing error (and would
    # overflow the period's end).
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationFailedError("Enter a month written YYYY-MM.", field=field)
    return date(year, int(found.group(2)), 1)


def period_of(first: str | None, last: str | None, *, now: datetime | None = None) -> Period:
    """The period between two months given as YYYY-MM; by default the last twelve months."""
    this_month = (now or utcnow()).astimezone(BEIJING).date().replace(day=1)
    last_month = _month(last, "to") or this_month
    first_month = _month(first, "from") or _add_months(last_month, 1 - DEFAULT_MONTHS)
    if first_month > last_month:
        raise ValidationFailedError("The first month is after the last.", field="from")
    span = (last_month.year - first_month.year) * 12 + last_month.month - first_month.month
    if span >= LONGEST_MONTHS:
        raise ValidationFailedError(
            "Choose a period of at most {months} months.", field="from", months=LONGEST_MONTHS
        )
    return Period(first_month, last_month)


# --- figures ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One figure, or suppressed: computed from too few units to be shown (DESIGN §4).

    `withheld`: suppressed although it rests on enough units, so that a smaller site's hidden
    figure cannot be worked out from the national one (`_protect`); a reader must not be told
    it rests on fewer than 5.
    """

    value: float | None
    suppressed: bool
    withheld: bool = False


SUPPRESSED: Final = Figure(None, suppressed=True)
WITHHELD: Final = Figure(None, suppressed=True, withheld=True)


def _shown(value: float | None, units: int) -> Figure:
    """The figure if it rests on enough units, else suppressed (whatever the value)."""
    if units < SUPPRESSION_THRESHOLD or value is None:
        return SUPPRESSED
    return Figure(value, suppressed=False)


def _percentile(ordered: list[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks (PostgreSQL's percentile_cont)."""
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _quantile(hours: Iterable[float], fraction: float) -> Figure:
    ordered = sorted(hours)
    if not ordered:
        return SUPPRESSED
    return _shown(_percentile(ordered, fraction), len(ordered))


def _share(hits: int, units: int) -> Figure:
    return _shown(hits / units if units else None, units)


@dataclass(frozen=True)
class Measures:
    """The figures of a site, or of the nation."""

    cases: Figure
    session_median_hours: Figure
    session_p90_hours: Figure
    full_attendance_share: Figure
    interviews_per_child: Figure
    reinterviewed_share: Figure
    recorded_share: Figure
    medical_on_site_share: Figure
    service_median_hours: Figure


MEASURES: Final = tuple(Measures.__dataclass_fields__)


@dataclass(frozen=True)
class SitePerformance:
    """A site's name and figures."""

    site_id: uuid.UUID
    name: str
    measures: Measures


@dataclass(frozen=True)
class PerformanceReport:
    """The period's figures: the nation's, and one entry per site (by name)."""

    period: Period
    computed_at: datetime
    national: Measures
    sites: list[SitePerformance]


@dataclass
class _Tally:
    """What is counted for one site (or the nation) before suppression."""

    cases: int = 0
    session_hours: list[float] = field(default_factory=list)
    held_sessions: int = 0
    full_sessions: int = 0
    interviews_by_child: dict[uuid.UUID, int] = field(default_factory=lambda: defaultdict(int))
    interviews: int = 0
    recorded: int = 0
    examinations: int = 0
    on_site: int = 0
    service_hours: list[float] = field(default_factory=list)

    def units(self, measure: str) -> int:
        """How many units a measure rests on (what the threshold is applied to)."""
        return {
            "cases": self.cases,
            "session_median_hours": len(self.session_hours),
            "session_p90_hours": len(self.session_hours),
            "full_attendance_share": self.held_sessions,
            "interviews_per_child": len(self.interviews_by_child),
            "reinterviewed_share": len(self.interviews_by_child),
            "recorded_share": self.interviews,
            "medical_on_site_share": self.examinations,
            "service_median_hours": len(self.service_hours),
        }[measure]

    def measures(self) -> Measures:
        """The figures, each suppressed below the threshold; all of them for a small site."""
        if self.cases < SUPPRESSION_THRESHOLD:
            return Measures(*(SUPPRESSED for _ in MEASURES))
        children = list(self.interviews_by_child.values())
        interviewed = len(children)
        return Measures(
            cases=Figure(self.cases, suppressed=False),
            session_median_hours=_quantile(self.session_hours, 0.5),
            session_p90_hours=_quantile(self.session_hours, 0.9),
            full_attendance_share=_share(self.full_sessions, self.held_sessions),
            interviews_per_child=_shown(
                sum(children) / interviewed if interviewed else None, interviewed
            ),
            reinterviewed_share=_share(sum(1 for n in children if n > 1), interviewed),
            recorded_share=_share(self.recorded, self.interviews),
            medical_on_site_share=_share(self.on_site, self.examinations),
            service_median_hours=_quantile(self.service_hours, 0.5),
        )


def _hours(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / SECONDS_PER_HOUR


Received = dict[uuid.UUID, tuple[uuid.UUID, datetime]]  # case: (its site, its receipt)
Tallies = dict[uuid.UUID, "_Tally"]


def _count_sessions(
    session: Session,
    in_period: Select[Any],
    received: Received,
    tallies: Tallies,
    now: datetime,
) -> None:
    """Held sessions, full attendance, and each case's first held session."""
    # The due sessions' columns and their arrivals', read at once (no query per session) and
    # as plain rows: a national year is 10^5 arrivals, and ORM objects cost seconds there.
    due = select(JointSession.id, JointSession.case_id, JointSession.required).where(
        JointSession.case_id.in_(in_period),
        JointSession.scheduled_for <= now,
        JointSession.cancelled_at.is_(None),  # called off: never held
    )
    arrivals: dict[uuid.UUID, list[Arrived]] = defaultdict(list)
    # A subquery, not a list of ids: a national year's sessions would pass SQLite's limit.
    # Through the connection: plain Core rows, without the ORM's per-row loading.
    rows = session.connection()
    for arrival in rows.execute(
        select(
            SessionArrival.session_id,
            SessionArrival.agency,
            SessionArrival.arrived_at,
            SessionArrival.departed_at,
        )
        .where(SessionArrival.session_id.in_(due.with_only_columns(JointSession.id)))
        .order_by(SessionArrival.arrived_at, SessionArrival.id)
    ):
        arrivals[arrival.session_id].append(arrival)
    first_held: dict[uuid.UUID, datetime] = {}
    for joint_id, case_id, required in rows.execute(due):
        came = arrivals.get(joint_id)
        if not came:
            continue  # due, but no arrival recorded: not held (yet)
        tally = tallies[received[case_id][0]]
        tally.held_sessions += 1
        # The session page's own flag, unflagged: every required agency came, all at once.
        if fully_attended(agencies_of(required), came):
            tally.full_sessions += 1
        earliest = came[0].arrived_at
        if case_id not in first_held or earliest < first_held[case_id]:
            first_held[case_id] = earliest
    for case_id, held_at in first_held.items():
        site_id, at = received[case_id]
        tallies[site_id].session_hours.append(_hours(held_at, at))


def _count_interviews(
    session: Session, in_period: Select[Any], received: Received, tallies: Tallies
) -> None:
    for case_id, child_id, recorded in session.connection().execute(
        select(
            ForensicInterview.case_id, ForensicInterview.child_id, ForensicInterview.recorded
        ).where(ForensicInterview.case_id.in_(in_period))
    ):
        tally = tallies[received[case_id][0]]
        tally.interviews_by_child[child_id] += 1
        tally.interviews += 1
        tally.recorded += bool(recorded)


def _count_examinations(
    session: Session, in_period: Select[Any], received: Received, tallies: Tallies
) -> None:
    for case_id, on_site in session.connection().execute(
        select(EvidenceItem.case_id, EvidenceItem.examined_on_site).where(
            EvidenceItem.case_id.in_(in_period),
            EvidenceItem.kind == EvidenceKind.MEDICAL_REPORT.value,
            EvidenceItem.examined_on_site.is_not(None),
        )
    ):
        tally = tallies[received[case_id][0]]
        tally.examinations += 1
        tally.on_site += bool(on_site)


def _count_services(
    session: Session, in_period: Select[Any], received: Received, tallies: Tallies
) -> None:
    for case_id, started in session.connection().execute(
        select(ServiceReferral.case_id, func.min(ServiceReferral.started_at))
        .where(ServiceReferral.case_id.in_(in_period), ServiceReferral.started_at.is_not(None))
        .group_by(ServiceReferral.case_id)
    ):
        if started is not None:
            site_id, at = received[case_id]
            tallies[site_id].service_hours.append(_hours(started, at))


def _tally(session: Session, period: Period, now: datetime) -> Tallies:
    """Count everything of the period's cases, by the site that received them."""
    in_period = select(OneStopCase.id).where(
        OneStopCase.received_at >= period.start, OneStopCase.received_at < period.end
    )
    received: Received = {
        case_id: (site_id, at)
        for case_id, site_id, at in session.connection().execute(
            select(OneStopCase.id, OneStopCase.site_id, OneStopCase.received_at).where(
                OneStopCase.received_at >= period.start, OneStopCase.received_at < period.end
            )
        )
    }
    tallies: Tallies = defaultdict(_Tally)
    for site_id, _at in received.values():
        tallies[site_id].cases += 1
    _count_sessions(session, in_period, received, tallies, now)
    _count_interviews(session, in_period, received, tallies)
    _count_examinations(session, in_period, received, tallies)
    _count_services(session, in_period, received, tallies)
    return tallies


def _national(tallies: Iterable[_Tally]) -> _Tally:
    nation = _Tally()
    for tally in tallies:
        nation.cases += tally.cases
        nation.session_hours.extend(tally.session_hours)
        nation.held_sessions += tally.held_sessions
        nation.full_sessions += tally.full_sessions
        nation.interviews_by_child.update(tally.interviews_by_child)
        nation.interviews += tally.interviews
        nation.recorded += tally.recorded
        nation.examinations += tally.examinations
        nation.on_site += tally.on_site
        nation.service_hours.extend(tally.service_hours)
    return nation


def _protect(sites: list[SitePerformance], tallies: Tallies) -> None:
    """Secondary suppression, measure by measure (DESIGN §4: no count below 5, even derived).

    The national figure is made of every site's units. Where the sites whose figure is hidden
    hold 1-4 units of it between them, the national figure and the shown ones would give
    theirs away (a count by subtraction, a share by weighing the shares), so the same figure
    is hidden at the shown site resting on the fewest units too.
    """
    for name in MEASURES:
        units = {
            s.site_id: tallies[s.site_id].units(name) if s.site_id in tallies else 0 for s in sites
        }
        hidden = sum(units[s.site_id] for s in sites if getattr(s.measures, name).suppressed)
        shown = [s for s in sites if not getattr(s.measures, name).suppressed]
        if not 0 < hidden < SUPPRESSION_THRESHOLD or not shown:
            continue
        smallest = min(shown, key=lambda s: (units[s.site_id], s.name))
        index = sites.index(smallest)
        sites[index] = SitePerformance(
            smallest.site_id,
            smallest.name,
            replace(smallest.measures, **{name: WITHHELD}),
        )


# --- the service --------------------------------------------------------------------------------


def site_performance(
    session: Session, *, actor: Principal, period: Period, now: datetime | None = None
) -> PerformanceReport:
    """Every site's figures and the nation's over the period; the read is audited."""
    require(actor, Permission.ONESTOP_PERFORMANCE_READ)
    moment = now or utcnow()
    tallies = _tally(session, period, moment)
    listed = session.execute(
        select(OneStopSite.id, OneStopSite.name)
        .where(OneStopSite.active.is_(True) | OneStopSite.id.in_(list(tallies)))
        .order_by(OneStopSite.name)
    ).all()
    sites = [
        SitePerformance(site_id, name, tallies.get(site_id, _Tally()).measures())
        for site_id, name in listed
    ]
    _protect(sites, tallies)
    national = _national(tallies.values()).measures()
    audit_record(
        session,
        actor=actor,
        action=ACTION_READ,
        object_type="onestop_performance",
        # The period and how many sites were listed: no figure, no case.
        details={"from": period.first_text, "to": period.last_text, "sites": len(sites)},
    )
    return PerformanceReport(period, moment, national, sites)
