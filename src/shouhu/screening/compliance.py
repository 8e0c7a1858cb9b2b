"""Compliance of the staff-access inquiry, for the authorities and procuratorates that supervise it.

An education officer sees every institution below their authority in the organisation tree; a
prosecutor the institutions in their procuratorate's territory (`accounts.scope`). For each
institution, over a period (the last twelve months unless chosen): the inquiries it made, by
purpose; their answers; the hires it recorded, the hires it was refused (Minors Law art. 62: no
hire after `record_found` or without a completed inquiry; the refusal is an audit event that
outlives the refused request) and any hire without a `no_record` answer; the answers still
pending; the turnaround from submission to final answer (issue 5 item 3); and flags for the
reviewer. Only counts and institution names: no candidate appears (PIPL art. 6, minimum
necessary). The institution's own page shows its inquiries with the candidate's name masked
(王*明), as its certificates do, and never an identity number. Each read is an audited event.

Why it scales: the nation makes over 2×10⁷ inquiries, but a supervisor reads its own
institutions' only. Each measure below is one grouped query over all the institutions in scope
(never one per institution), bounded by the period on a timestamp and by `institution_id` (the
leading column of `ix_inquiries_repeat`); it returns a row per institution (and purpose or
answer), not per inquiry. Pending answers use `ix_inquiries_status`. Refused hires are read from
the audit log by action (indexed) and organisation (indexed). Only the turnaround reads one
narrow row per answer of the period, because SQLite has no percentile function and
PostgreSQL's `percentile_cont` would make two code paths: a county authority's year is
thousands of rows, a province's a few hundred thousand, streamed.
"""

from __future__ import annotations

import json
import math
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Final, get_args

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from shouhu.accounts.models import Organisation
from shouhu.accounts.policies import require
from shouhu.accounts.roles import Permission, Role
from shouhu.accounts.scope import jurisdiction_prefix, supervised_institutions
from shouhu.core.audit.chain import record as audit_record
from shouhu.core.audit.models import AuditEvent
from shouhu.core.database import utcnow
from shouhu.core.errors import NotFoundError, ValidationFailedError
from shouhu.core.principal import Channel, Principal
from shouhu.core.sql import uuid_text
from shouhu.registry.policy import InquiryPurpose
from shouhu.screening.certificates import mask_name
from shouhu.screening.inquiries import ACTION_HIRING_REFUSED
from shouhu.screening.models import HiringDecision, Inquiry, InquiryAnswer, InquiryStatus

# The default period: the last twelve months, as the yearly re-check runs (Minors Law art. 62).
DEFAULT_PERIOD_DAYS: Final = 365
# An answer waiting longer than this holds up a hiring: the supervisor should look.
STALE_PENDING_DAYS: Final = 7
# The institution's page lists at most this many of the period's inquiries, the newest first.
DETAIL_LIMIT: Final = 500
# Every staff member is re-checked each year (Minors Law art. 62): a period this long with no
# annual re-check is worth a question.
RECHECK_YEAR_DAYS: Final = 365

ACTION_VIEW: Final = "compliance:view"
ACTION_VIEW_INSTITUTION: Final = "compliance:view_institution"
# The refused hire's audit tag, on whichever channel the institution used.
HIRING_REFUSED_TAGS: Final = tuple(f"{c}:{ACTION_HIRING_REFUSED}" for c in get_args(Channel))
PENDING: Final = (InquiryStatus.PENDING_APPROVAL.value, InquiryStatus.UNDER_REVIEW.value)
# What became of an inquiry: its answer once completed, else where it stands.
OUTCOMES: Final = (
    InquiryAnswer.NO_RECORD.value,
    InquiryAnswer.RECORD_FOUND.value,
    InquiryStatus.UNDER_REVIEW.value,
    InquiryStatus.PENDING_APPROVAL.value,
    InquiryStatus.REFUSED.value,
)
SECONDS_PER_HOUR: Final = 3600
SECONDS_PER_DAY: Final = 86400


class Flag(StrEnum):
    """What a supervisor should look into, the gravest first."""

    # A hire with no `no_record` answer: forbidden (Minors Law art. 62), so never expected.
    HIRED_WITHOUT_NO_RECORD = "hired_without_no_record"
    # The institution tried to hire after `record_found` or before any answer.
    HIRES_REFUSED = "hires_refused"
    # An answer has waited more than STALE_PENDING_DAYS.
    STALE_PENDING = "stale_pending"
    # A year or more with no annual re-check inquiry (Minors Law art. 62).
    NO_ANNUAL_RECHECK = "no_annual_recheck"


FLAG_WEIGHTS: Final = {
    Flag.HIRED_WITHOUT_NO_RECORD: 100,
    Flag.HIRES_REFUSED: 10,
    Flag.STALE_PENDING: 10,
    Flag.NO_ANNUAL_RECHECK: 1,
}


class Scope(StrEnum):
    """How the reader's institutions were chosen."""

    AUTHORITY = "authority"  # below the officer's authority in the organisation tree
    TERRITORY = "territory"  # in the procuratorate's territory, by region code


@dataclass(frozen=True)
class Period:
    """Whole days, `since` to `until` inclusive, in UTC as every time Shouhu keeps."""

    since: date
    until: date

    @property
    def start(self) -> datetime:
        """The first moment of the period."""
        return datetime.combine(self.since, time(), UTC)

    @property
    def end(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.until + timedelta(days=1), time(), UTC)

    @property
    def days(self) -> int:
        """How many days the period holds."""
        return (self.until - self.since).days + 1


def period_of(since: date | None, until: date | None, *, today: date | None = None) -> Period:
    """The period asked for; the last twelve months up to today where a bound is left out."""
    last = until or today or utcnow().date()
    if since is not None:
        first = since
    elif last > date.min + timedelta(days=DEFAULT_PERIOD_DAYS):
        first = last - timedelta(days=DEFAULT_PERIOD_DAYS)
    else:
        first = date.min
    if last >= date.max - timedelta(days=1):
        raise ValidationFailedError("Choose an end date before the year 9999.", field="until")
    if first > last:
        raise ValidationFailedError("The period must not start after it ends.", field="since")
    return Period(first, last)


@dataclass(frozen=True)
class Turnaround:
    """From submission to final answer, over the answers given in the period."""

    answered: int
    median_hours: float | None
    p90_hours: float | None


@dataclass
class InstitutionMeasures:
    """One institution's compliance over the period: counts, never a candidate."""

    id: uuid.UUID
    name: str
    kind: str | None
    region_code: str
    active: bool
    inquiries: int = 0
    by_purpose: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    hires: int = 0
    hires_refused: int = 0
    hires_without_no_record: int = 0
    pending: int = 0  # as of now, whenever submitted
    oldest_pending_days: float | None = None
    turnaround: Turnaround = field(default_factory=lambda: Turnaround(0, None, None))
    flags: list[Flag] = field(default_factory=list)

    @property
    def weight(self) -> int:
        """How grave the flags are together: the table lists the gravest first."""
        return sum(FLAG_WEIGHTS[f] for f in self.flags)


@dataclass(frozen=True)
class ComplianceReport:
    """The reader's institutions over a period."""

    scope: Scope
    period: Period
    generated_at: datetime
    institutions: list[InstitutionMeasures]
    territory: str | None = None  # a prosecutor's region code


@dataclass(frozen=True)
class InquiryLine:
    """One inquiry as the supervisor sees it: the candidate's name masked, nothing else of them."""

    id: uuid.UUID
    submitted_at: datetime
    purpose: str
    position: str | None
    status: str
    answer: str | None
    hiring: str | None
    completed_at: datetime | None
    candidate: str  # masked: 王*明

    @property
    def turnaround_hours(self) -> float | None:
        """Hours from submission to final answer, once answered."""
        if self.completed_at is None:
            return None
        return (self.completed_at - self.submitted_at).total_seconds() / SECONDS_PER_HOUR


@dataclass(frozen=True)
class RefusedHire:
    """A hire the system refused, as its audit event recorded it."""

    occurred_at: datetime
    inquiry_id: uuid.UUID | None
    candidate: str  # masked
    status: str | None  # the inquiry's status when the hire was tried
    answer: str | None


@dataclass(frozen=True)
class InstitutionDetail:
    """One institution's measures, its inquiries of the period and its refused hires."""

    period: Period
    measures: InstitutionMeasures
    inquiries: list[InquiryLine]
    truncated: bool  # more inquiries than DETAIL_LIMIT in the period
    refused_hires: list[RefusedHire]


# --- scope ---------------------------------------------------------------------------------------


def _scope(session: Session, actor: Principal) -> tuple[Scope, str | None, Select[Any]]:
    """The kind of reader, a prosecutor's territory, and the ids of their institutions."""
    region = session.scalar(
        select(Organisation.region_code).where(Organisation.id == actor.organisation_id)
    )
    ids = supervised_institutions(actor, region)
    if actor.has_role(Role.PROSECUTOR) and region:
        return Scope.TERRITORY, region, ids
    return Scope.AUTHORITY, None, ids


def readable_institutions(session: Session, actor: Principal) -> Select[Any]:
    """The ids of the institutions whose compliance the actor may read."""
    return _scope(session, actor)[2]


# --- the measures --------------------------------------------------------------------------------


def _percentile(ordered: list[float], fraction: float) -> float:
    """Linear interpolation between the closest ranks (PostgreSQL's percentile_cont)."""
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def turnaround_of(seconds: Iterable[float]) -> Turnaround:
    """Median and 90th percentile, in hours, of the given turnarounds in seconds."""
    ordered = sorted(seconds)
    if not ordered:
        return Turnaround(0, None, None)
    hours = [s / SECONDS_PER_HOUR for s in ordered]
    return Turnaround(len(hours), _percentile(hours, 0.5), _percentile(hours, 0.9))


def _measure(
    session: Session,
    scope: Select[Any],
    period: Period,
    now: datetime,
) -> list[InstitutionMeasures]:
    """Every measure for every institution in scope: one grouped query each."""
    found = {
        row.id: InstitutionMeasures(
            id=row.id,
            name=row.name,
            kind=row.kind,
            region_code=row.region_code,
            active=row.active,
        )
        for row in session.execute(
            select(
                Organisation.id,
                Organisation.name,
                Organisation.kind,
                Organisation.region_code,
                Organisation.active,
            ).where(Organisation.id.in_(scope))
        )
    }
    if not found:
        return []
    in_scope = Inquiry.institution_id.in_(scope)

    # Inquiries made in the period, by purpose, and what became of them.
    made = session.execute(
        select(
            Inquiry.institution_id,
            Inquiry.purpose,
            Inquiry.status,
            Inquiry.answer,
            func.count(),
        )
        .where(in_scope, Inquiry.submitted_at >= period.start, Inquiry.submitted_at < period.end)
        .group_by(Inquiry.institution_id, Inquiry.purpose, Inquiry.status, Inquiry.answer)
    )
    for institution_id, purpose, status, answer, count in made:
        measures = found[institution_id]
        measures.inquiries += count
        measures.by_purpose[purpose] = measures.by_purpose.get(purpose, 0) + count
        outcome = answer if status == InquiryStatus.COMPLETED.value and answer else status
        measures.outcomes[outcome] = measures.outcomes.get(outcome, 0) + count

    # Hires recorded in the period, and those without a `no_record` answer behind them (a
    # re-check that later found a record shows here too: that person must not stay).
    not_cleared = or_(Inquiry.answer.is_(None), Inquiry.answer != InquiryAnswer.NO_RECORD.value)
    hires = session.execute(
        select(
            Inquiry.institution_id,
            func.count(),
            func.sum(case((not_cleared, 1), else_=0)),
        )
        .where(
            in_scope,
            Inquiry.hiring == HiringDecision.HIRED.value,
            Inquiry.hiring_at >= period.start,
            Inquiry.hiring_at < period.end,
        )
        .group_by(Inquiry.institution_id)
    )
    for institution_id, count, uncleared in hires:
        found[institution_id].hires = count
        found[institution_id].hires_without_no_record = int(uncleared or 0)

    # Hires refused in the period. Only the institution's own users may record its hiring
    # (`record_hiring` answers anyone else 404), so the event's organisation is the institution.
    refused = session.execute(
        select(AuditEvent.organisation_id, func.count())
        .where(
            AuditEvent.action.in_(HIRING_REFUSED_TAGS),
            AuditEvent.occurred_at >= period.start,
            AuditEvent.occurred_at < period.end,
            AuditEvent.organisation_id.in_(scope.with_only_columns(uuid_text(Organisation.id))),
        )
        .group_by(AuditEvent.organisation_id)
    )
    for organisation_id, count in refused:
        found[uuid.UUID(organisation_id)].hires_refused = count

    # Answers pending now, whenever asked: an old one is what a supervisor chases.
    pending = session.execute(
        select(Inquiry.institution_id, func.count(), func.min(Inquiry.submitted_at))
        .where(in_scope, Inquiry.status.in_(PENDING))
        .group_by(Inquiry.institution_id)
    )
    for institution_id, count, oldest in pending:
        found[institution_id].pending = count
        found[institution_id].oldest_pending_days = (now - oldest).total_seconds() / SECONDS_PER_DAY

    # Turnaround of the answers given in the period (issue 5 item 3: submission to answer).
    seconds: dict[uuid.UUID, list[float]] = defaultdict(list)
    answered = session.execute(
        select(Inquiry.institution_id, Inquiry.submitted_at, Inquiry.completed_at)
        .where(
            in_scope,
            Inquiry.status == InquiryStatus.COMPLETED.value,
            Inquiry.completed_at >= period.start,
            Inquiry.completed_at < period.end,
        )
        .execution_options(yield_per=5000)
    )
    for institution_id, submitted_at, completed_at in answered:
        if completed_at is not None:  # always, for a completed inquiry
            seconds[institution_id].append((completed_at - submitted_at).total_seconds())
    for institution_id, values in seconds.items():
        found[institution_id].turnaround = turnaround_of(values)

    for measures in found.values():
        measures.flags = _flags(measures, period)
    return sorted(found.values(), key=lambda m: (-m.weight, m.name))


def _flags(measures: InstitutionMeasures, period: Period) -> list[Flag]:
    flags = []
    if measures.hires_without_no_record:
        flags.append(Flag.HIRED_WITHOUT_NO_RECORD)
    if measures.hires_refused:
        flags.append(Flag.HIRES_REFUSED)
    if (measures.oldest_pending_days or 0) > STALE_PENDING_DAYS:
        flags.append(Flag.STALE_PENDING)
    recheck = measures.by_purpose.get(InquiryPurpose.ANNUAL_RECHECK.value, 0)
    if period.days >= RECHECK_YEAR_DAYS and not recheck:
        flags.append(Flag.NO_ANNUAL_RECHECK)
    return flags


# --- the services --------------------------------------------------------------------------------


def compliance_report(session: Session, *, actor: Principal, period: Period) -> ComplianceReport:
    """Every institution the actor supervises, measured over the period; the read is audited."""
    require(actor, Permission.COMPLIANCE_READ)
    scope, region, ids = _scope(session, actor)
    now = utcnow()
    institutions = _measure(session, ids, period, now)
    audit_record(
        session,
        actor=actor,
        action=ACTION_VIEW,
        object_type="compliance",
        details={
            "scope": scope.value,
            "territory": jurisdiction_prefix(region) if region else None,
            "since": period.since.isoformat(),
            "until": period.until.isoformat(),
            "institutions": len(institutions),
        },
    )
    return ComplianceReport(scope, period, now, institutions, region)


def _masked(inquiry: Inquiry) -> str:
    return mask_name((inquiry.subject or {}).get("name", ""))


def _refused_hires(
    session: Session, institution_id: uuid.UUID, period: Period
) -> list[RefusedHire]:
    events = list(
        session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.action.in_(HIRING_REFUSED_TAGS),
                AuditEvent.organisation_id == str(institution_id),
                AuditEvent.occurred_at >= period.start,
                AuditEvent.occurred_at < period.end,
            )
            .order_by(AuditEvent.seq.desc())
            .limit(DETAIL_LIMIT)
        )
    )
    ids = {uuid.UUID(e.object_id) for e in events if e.object_id}
    inquiries = {
        i.id: i
        for i in session.scalars(
            select(Inquiry).where(Inquiry.id.in_(ids), Inquiry.institution_id == institution_id)
        )
    }
    found = []
    for event in events:
        inquiry = inquiries.get(uuid.UUID(event.object_id)) if event.object_id else None
        details = _details(event.details)
        found.append(
            RefusedHire(
                occurred_at=event.occurred_at,
                inquiry_id=inquiry.id if inquiry else None,
                candidate=_masked(inquiry) if inquiry else "",
                status=details.get("status"),
                answer=details.get("answer"),
            )
        )
    return found


def _details(text: str) -> dict[str, str | None]:
    parsed = json.loads(text or "{}")
    return {k: (str(v) if v is not None else None) for k, v in parsed.items()}


def institution_compliance(
    session: Session, *, actor: Principal, institution_id: uuid.UUID, period: Period
) -> InstitutionDetail:
    """One supervised institution: its measures, inquiries (names masked) and refused hires.

    Another authority's or another territory's institution is the 404 of one that does not
    exist. Reading it is audited, with the period and how many inquiries were shown.
    """
    require(actor, Permission.COMPLIANCE_READ)
    ids = readable_institutions(session, actor)
    if session.scalar(ids.where(Organisation.id == institution_id)) is None:
        raise NotFoundError("Institution not found.")
    only = select(Organisation.id).where(Organisation.id == institution_id)
    [measures] = _measure(session, only, period, utcnow())
    rows = list(
        session.scalars(
            select(Inquiry)
            .where(
                Inquiry.institution_id == institution_id,
                Inquiry.submitted_at >= period.start,
                Inquiry.submitted_at < period.end,
            )
            .order_by(Inquiry.submitted_at.desc(), Inquiry.id.desc())
            .limit(DETAIL_LIMIT + 1)
        )
    )
    lines = [
        InquiryLine(
            id=i.id,
            submitted_at=i.submitted_at,
            purpose=i.purpose,
            position=i.position,
            status=i.status,
            answer=i.answer,
            hiring=i.hiring,
            completed_at=i.completed_at,
            candidate=_masked(i),
        )
        for i in rows[:DETAIL_LIMIT]
    ]
    refused = _refused_hires(session, institution_id, period)
    audit_record(
        session,
        actor=actor,
        action=ACTION_VIEW_INSTITUTION,
        object_type="organisation",
        object_id=institution_id,
        details={
            "since": period.since.isoformat(),
            "until": period.until.isoformat(),
            "inquiries_shown": len(lines),
            "refused_hires_shown": len(refused),
        },
    )
    return InstitutionDetail(period, measures, lines, len(rows) > DETAIL_LIMIT, refused)
