"""Joint sessions: scheduling, arrivals and departures, and who was there together.

MPS one-stop pilot (DESIGN §1): criminal investigation, forensics and the procuratorate attend
every session; the Women's Federation, medical staff, a psychologist, the guardian and legal aid
as the case needs. The flag of a session that lacked a required agency is computed from the
arrivals each time it is shown, never stored, so an arrival recorded late corrects it.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.orm import Session

from shouhu.accounts.policies import require
from shouhu.accounts.roles import Permission
from shouhu.core.audit.chain import record as audit_record
from shouhu.core.database import utcnow
from shouhu.core.errors import ConflictError, NotFoundError, ValidationFailedError
from shouhu.core.principal import Principal
from shouhu.onestop import cases, checks
from shouhu.onestop.labels import STATUS_LABELS, coded
from shouhu.onestop.models import (
    CaseChild,
    CaseMember,
    CaseRole,
    CaseStatus,
    OneStopCase,
    OneStopSite,
)
from shouhu.onestop.repository import children_of, get_case, get_site
from shouhu.onestop.session_models import (
    Agency,
    JointSession,
    SessionArrival,
    SessionChange,
    SessionChangeKind,
)

ACTION_SESSION_SCHEDULE: Final = "onestop:session_schedule"
ACTION_ARRIVAL: Final = "onestop:session_arrival"
ACTION_DEPARTURE: Final = "onestop:session_departure"
ACTION_SESSION_VIEW: Final = "onestop:session_view"
ACTION_SESSION_RESCHEDULE: Final = "onestop:session_reschedule"
ACTION_SESSION_CANCEL: Final = "onestop:session_cancel"
REASON_LENGTH: Final = 2000

# Always required (MPS pilot): the three agencies that fix the evidence.
CORE_AGENCIES: Final = frozenset(
    {Agency.CRIMINAL_INVESTIGATION, Agency.FORENSICS, Agency.PROCURATORATE}
)
# Offences whose evidence or harm calls for a medical examination at the session.
MEDICAL_OFFENCES: Final = frozenset(
    {
        "rape",
        "sex_with_minor_in_care",
        "forcible_indecency",
        "child_molestation",
        "minor_prostitution",
        "abuse",
        "abuse_under_care",
        "intentional_injury",
    }
)
# A case may be given a session until the procuratorate has decided.
SCHEDULABLE: Final = frozenset(
    {
        CaseStatus.RECEIVED,
        CaseStatus.JOINT_SESSION_SCHEDULED,
        CaseStatus.EVIDENCE_COLLECTED,
        CaseStatus.UNDER_INVESTIGATION,
    }
)
# Which agencies a member of each case role may arrive for; `support` workers come from the
# partner organisations and may stand for any partner agency, never for the state's three.
ROLE_AGENCIES: Final[dict[CaseRole, frozenset[Agency]]] = {
    CaseRole.LEAD_OFFICER: frozenset({Agency.CRIMINAL_INVESTIGATION}),
    CaseRole.INVESTIGATOR: frozenset({Agency.CRIMINAL_INVESTIGATION}),
    CaseRole.FORENSIC: frozenset({Agency.FORENSICS}),
    CaseRole.PROSECUTOR: frozenset({Agency.PROCURATORATE}),
    CaseRole.WOMENS_FEDERATION: frozenset({Agency.WOMENS_FEDERATION}),
    CaseRole.MEDICAL: frozenset({Agency.MEDICAL}),
    CaseRole.PSYCHOLOGIST: frozenset({Agency.PSYCHOLOGIST}),
    CaseRole.LEGAL_AID: frozenset({Agency.LEGAL_AID}),
    CaseRole.SUPPORT: frozenset(
        {Agency.WOMENS_FEDERATION, Agency.MEDICAL, Agency.PSYCHOLOGIST, Agency.LEGAL_AID}
    ),
}
NAME_LENGTH: Final = 100
# A session is arranged ahead, or entered just after it took place (a month back at most).
LATEST_PAST: Final = timedelta(days=31)


def default_agencies(case: OneStopCase, children: list[CaseChild]) -> list[Agency]:
    """The agencies a new session of this case requires unless the scheduler says otherwise.

    The core three; the guardian and a psychologist always (the child is interviewed); medical
    staff when the offence calls for an examination (MEDICAL_OFFENCES); the Women's Federation
    when a child is a girl. Legal aid is added by choice.
    """
    chosen = set(CORE_AGENCIES) | {Agency.GUARDIAN, Agency.PSYCHOLOGIST}
    if case.offence in MEDICAL_OFFENCES:
        chosen.add(Agency.MEDICAL)
    if any(child.sex == "F" for child in children):
        chosen.add(Agency.WOMENS_FEDERATION)
    return [agency for agency in Agency if agency in chosen]


def _aware(value: datetime | None, field: str) -> datetime:
    if value is None:
        raise ValidationFailedError("Give a date and time.", field=field)
    if value.tzinfo is None:
        raise ValidationFailedError("Give the time with its time zone.", field=field)
    return value


def _agencies(codes: list[str] | None, case: OneStopCase, session: Session) -> list[Agency]:
    if codes is None:
        return default_agencies(case, children_of(session, case.id))
    chosen: set[Agency] = set()
    for code in codes:
        try:
            chosen.add(Agency(code))
        except ValueError:
            raise ValidationFailedError(
                "Choose one of the listed options.", field="required"
            ) from None
    # MPS pilot: investigation, forensics and the procuratorate attend every session.
    chosen |= CORE_AGENCIES
    return [agency for agency in Agency if agency in chosen]


def _active_site(session: Session, actor: Principal, site_id: uuid.UUID) -> OneStopSite:
    """The site a session is held at: one the actor may see, and active."""
    try:
        chosen = get_site(session, actor, site_id)
    except NotFoundError:
        chosen = None
    if chosen is None or not chosen.active:
        raise ValidationFailedError("Choose an active one-stop site.", field="site_id")
    return chosen


def _session_time(scheduled_for: datetime | None) -> datetime:
    """A session's time: arranged ahead, or entered just after it took place (LATEST_PAST)."""
    when = _aware(scheduled_for, "scheduled_for")
    if when < utcnow() - LATEST_PAST:
        raise ValidationFailedError(
            "The session's time is more than a month ago.", field="scheduled_for"
        )
    return when


def schedule_session(
    session: Session,
    *,
    actor: Principal,
    case_id: uuid.UUID,
    site_id: uuid.UUID | None,
    scheduled_for: datetime | None,
    required: list[str] | None = None,
) -> JointSession:
    """Arrange a joint session of a case; the first moves a received case on its path."""
    require(actor, Permission.ONESTOP_CASES_MANAGE)
    case = get_case(session, actor, case_id, lock=True)
    cases.require_manager(session, actor, case)
    if CaseStatus(case.status) not in SCHEDULABLE:
        raise ConflictError(
            "A case in status {current} cannot have a joint session.",
            current=coded(STATUS_LABELS, case.status),
        )
    chosen_site = _active_site(session, actor, site_id or case.site_id)
    when = _session_time(scheduled_for)
    agencies = _agencies(required, case, session)
    assert actor.user_id is not None  # noqa: S101 - a manager is a member, hence a user
    joint = JointSession(
        case_id=case.id,
        site_id=chosen_site.id,
        scheduled_for=when,
        required=",".join(agency.value for agency in agencies),
        scheduled_by_id=actor.user_id,
        scheduled_at=utcnow(),
    )
    joint.ensure_id()
    session.add(joint)
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_SESSION_SCHEDULE,
        object_type="joint_session",
        object_id=joint.id,
        details={
            "case": str(case.id),
            "site": str(chosen_site.id),
            "scheduled_for": when.isoformat(),
            "required": joint.required,
        },
    )
    if case.status == CaseStatus.RECEIVED.value:
        # One path for status moves, so the history and the audit trail stay one.
        cases.change_status(
            session,
            actor=actor,
            case_id=case.id,
            status=CaseStatus.JOINT_SESSION_SCHEDULED.value,
        )
    return joint


def get_session(session: Session, case: OneStopCase, session_id: uuid.UUID) -> JointSession:
    """A joint session of a case the caller already may see, or NotFoundError."""
    joint = session.get(JointSession, session_id)
    if joint is None or joint.case_id != case.id:
        raise NotFoundError("Joint session not found.")
    return joint


def _require_not_cancelled(joint: JointSession) -> None:
    if joint.cancelled:
        raise ConflictError(
            "This joint session was cancelled. Schedule a new session for the case instead.",
            field="session_id",
        )


def _has_arrivals(session: Session, joint: JointSession) -> bool:
    return (
        session.scalar(
            select(SessionArrival.id).where(SessionArrival.session_id == joint.id).limit(1)
        )
        is not None
    )


def _changeable(
    session: Session, actor: Principal, case_id: uuid.UUID, session_id: uuid.UUID
) -> tuple[OneStopCase, JointSession]:
    """The case (locked) and its session, if the actor manages it and nobody has arrived yet."""
    case = get_case(session, actor, case_id, lock=True)
    cases.require_manager(session, actor, case)
    joint = get_session(session, case, session_id)
    _require_not_cancelled(joint)
    if _has_arrivals(session, joint):
        # Once someone came, the session happened (even in part): its record must stay as it
        # was, so the attendance and the flag keep what really took place.
        raise ConflictError(
            "Arrivals are already recorded for this joint session, so it took place and can no"
            " longer be moved or cancelled. Record the departures instead, and schedule a new"
            " session if the agencies must meet again.",
            field="session_id",
        )
    return case, joint


def reschedule_session(
    session: Session,
    *,
    actor: Principal,
    case_id: uuid.UUID,
    session_id: uuid.UUID,
    scheduled_for: datetime | None,
    reason: str | None,
    site_id: uuid.UUID | None = None,
) -> JointSession:
    """Move a session nobody has arrived at yet to another time (or site), with a reason."""
    require(actor, Permission.ONESTOP_CASES_MANAGE)
    case, joint = _changeable(session, actor, case_id, session_id)
    chosen_site = _active_site(session, actor, site_id or joint.site_id)
    when = _session_time(scheduled_for)
    if when == joint.scheduled_for and chosen_site.id == joint.site_id:
        raise ValidationFailedError(
            "Give a time or a site other than the session's present ones.", field="scheduled_for"
        )
    why = checks.text(reason, field="reason", limit=REASON_LENGTH)
    assert actor.user_id is not None  # noqa: S101 - a manager is a member, hence a user
    change = SessionChange(
        session_id=joint.id,
        kind=SessionChangeKind.RESCHEDULE.value,
        previous_time=joint.scheduled_for,
        new_time=when,
        previous_site_id=joint.site_id,
        new_site_id=chosen_site.id,
        changed_by_id=actor.user_id,
        changed_at=utcnow(),
    )
    change.ensure_id()
    change.reason = why
    session.add(change)
    previous = joint.scheduled_for
    previous_site = joint.site_id
    joint.scheduled_for = when
    joint.site_id = chosen_site.id
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_SESSION_RESCHEDULE,
        object_type="joint_session",
        object_id=joint.id,
        # The reason is sealed in the change row: it may speak of the child or the family.
        details={
            "case": str(case.id),
            "from": previous.isoformat(),
            "to": when.isoformat(),
            "site_from": str(previous_site),
            "site_to": str(chosen_site.id),
        },
    )
    return joint


def cancel_session(
    session: Session,
    *,
    actor: Principal,
    case_id: uuid.UUID,
    session_id: uuid.UUID,
    reason: str | None,
) -> JointSession:
    """Call off a session nobody has arrived at yet, with a reason; it is kept as cancelled."""
    require(actor, Permission.ONESTOP_CASES_MANAGE)
    case, joint = _changeable(session, actor, case_id, session_id)
    why = checks.text(reason, field="reason", limit=REASON_LENGTH)
    assert actor.user_id is not None  # noqa: S101 - a manager is a member, hence a user
    now = utcnow()
    change = SessionChange(
        session_id=joint.id,
        kind=SessionChangeKind.CANCEL.value,
        previous_time=joint.scheduled_for,
        new_time=None,
        previous_site_id=joint.site_id,
        new_site_id=None,
        changed_by_id=actor.user_id,
        changed_at=now,
    )
    change.ensure_id()
    change.reason = why
    session.add(change)
    joint.cancelled_at = now
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_SESSION_CANCEL,
        object_type="joint_session",
        object_id=joint.id,
        details={"case": str(case.id), "scheduled_for": joint.scheduled_for.isoformat()},
    )
    return joint


def changes_of(session: Session, joint_id: uuid.UUID) -> list[SessionChange]:
    """A session's reschedulings and cancellation, the earliest first."""
    return list(
        session.scalars(
            select(SessionChange)
            .where(SessionChange.session_id == joint_id)
            .order_by(SessionChange.changed_at, SessionChange.id)
        )
    )


def all_sessions_cancelled() -> ColumnElement[bool]:
    """Whether the case (`OneStopCase`) had joint sessions and every one was cancelled."""
    return and_(
        exists().where(JointSession.case_id == OneStopCase.id),
        ~exists().where(
            JointSession.case_id == OneStopCase.id, JointSession.cancelled_at.is_(None)
        ),
    )


def record_arrival(
    session: Session,
    *,
    actor: Principal,
    case_id: uuid.UUID,
    session_id: uuid.UUID,
    agency: str,
    arrived_at: datetime | None,
    member_id: uuid.UUID | None = None,
    person_name: str | None = None,
    departed_at: datetime | None = None,
) -> SessionArrival:
    """Record who arrived for which agency, and when (a member, or the guardian by name)."""
    require(actor, Permission.ONESTOP_CASES_MANAGE)
    case = get_case(session, actor, case_id, lock=True)
    cases.require_manager(session, actor, case)
    joint = get_session(session, case, session_id)
    _require_not_cancelled(joint)
    try:
        chosen = Agency(agency)
    except ValueError:
        raise ValidationFailedError("Choose one of the listed options.", field="agency") from None
    name = None
    if chosen is Agency.GUARDIAN:
        # The guardian is no user: named, and the name sealed like everything about the child.
        name = checks.line(person_name, field="person_name", limit=NAME_LENGTH)
        member_id = None
    else:
        member = session.get(CaseMember, member_id) if member_id else None
        if member is None or member.case_id != case.id or member.removed_at is not None:
            raise ValidationFailedError("Choose a member of the case's team.", field="member_id")
        if chosen not in ROLE_AGENCIES[CaseRole(member.role)]:
            raise ValidationFailedError(
                "This member's role in the case does not attend for this agency.",
                field="agency",
            )
    arrived = _aware(arrived_at, "arrived_at")
    if arrived > utcnow() + cases.CLOCK_SKEW:
        raise ValidationFailedError("The arrival time is in the future.", field="arrived_at")
    departed = None
    if departed_at is not None:
        departed = _aware(departed_at, "departed_at")
        if departed <= arrived:
            raise ValidationFailedError(
                "The departure must be after the arrival.", field="departed_at"
            )
    assert actor.user_id is not None  # noqa: S101 - a manager is a member, hence a user
    arrival = SessionArrival(
        session_id=joint.id,
        agency=chosen.value,
        member_id=member_id,
        arrived_at=arrived,
        departed_at=departed,
        recorded_by_id=actor.user_id,
        recorded_at=utcnow(),
    )
    arrival.ensure_id()
    arrival.person_name = name
    session.add(arrival)
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_ARRIVAL,
        object_type="session_arrival",
        object_id=arrival.id,
        # The guardian's name is sealed in the row; the event says only that one came.
        details={
            "case": str(case.id),
            "session": str(joint.id),
            "agency": chosen.value,
            "member": str(member_id) if member_id else None,
        },
    )
    return arrival


def record_departure(
    session: Session,
    *,
    actor: Principal,
    case_id: uuid.UUID,
    session_id: uuid.UUID,
    arrival_id: uuid.UUID,
    departed_at: datetime | None,
) -> SessionArrival:
    """Record when someone who arrived left the session."""
    require(actor, Permission.ONESTOP_CASES_MANAGE)
    case = get_case(session, actor, case_id, lock=True)
    cases.require_manager(session, actor, case)
    joint = get_session(session, case, session_id)
    arrival = session.get(SessionArrival, arrival_id)
    if arrival is None or arrival.session_id != joint.id:
        raise NotFoundError("Arrival not found.")
    if arrival.departed_at is not None:
        raise ConflictError("This departure is already recorded.", field="departed_at")
    departed = _aware(departed_at, "departed_at")
    if departed <= arrival.arrived_at:
        raise ValidationFailedError("The departure must be after the arrival.", field="departed_at")
    if departed > utcnow() + cases.CLOCK_SKEW:
        raise ValidationFailedError("The departure time is in the future.", field="departed_at")
    arrival.departed_at = departed
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_DEPARTURE,
        object_type="session_arrival",
        object_id=arrival.id,
        details={"case": str(case.id), "session": str(joint.id), "agency": arrival.agency},
    )
    return arrival


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Together:
    """The longest stretch in which the most agencies were present at once."""

    agencies: frozenset[Agency]
    start: datetime
    end: datetime | None  # None: nobody has left yet


@dataclass(frozen=True)
class Attendance:
    """What a session's arrivals show: who came, who was there together, what was lacking."""

    session: JointSession
    arrivals: list[SessionArrival]
    missing: list[Agency]  # required agencies nobody arrived for
    together: Together | None  # the largest set present at once
    all_together: bool  # every required agency present at one moment
    due: bool  # the session's time has come: a lacking agency is then flagged

    @property
    def cancelled(self) -> bool:
        """Whether the session was called off (never held, never flagged)."""
        return self.session.cancelled

    @property
    def flagged(self) -> bool:
        """Whether the session is flagged: due, and a required agency lacked (or never at once).

        A cancelled session was never held: it is not flagged.
        """
        return not self.cancelled and self.due and (bool(self.missing) or not self.all_together)


def read_session(
    session: Session, *, actor: Principal, case_id: uuid.UUID, session_id: uuid.UUID
) -> JointSession:
    """A session of the actor's team with its arrivals to show (the guardian's name): audited."""
    require(actor, Permission.ONESTOP_CASES_READ)
    case = get_case(session, actor, case_id)
    joint = get_session(session, case, session_id)
    audit_record(
        session,
        actor=actor,
        action=ACTION_SESSION_VIEW,
        object_type="joint_session",
        object_id=joint.id,
        details={"case": str(case.id)},
    )
    return joint


def arrivals_of(session: Session, joint_id: uuid.UUID) -> list[SessionArrival]:
    """A session's arrivals, the earliest first."""
    return list(
        session.scalars(
            select(SessionArrival)
            .where(SessionArrival.session_id == joint_id)
            .order_by(SessionArrival.arrived_at, SessionArrival.id)
        )
    )


class Arrived(Protocol):
    """What attendance reads of an arrival: a row object, or a Core row of these columns."""

    @property
    def agency(self) -> str:
        """The agency's code (an Agency)."""
        ...

    @property
    def arrived_at(self) -> datetime:
        """When they arrived."""
        ...

    @property
    def departed_at(self) -> datetime | None:
        """When they left; None while they are still there."""
        ...


def present_together(arrivals: Sequence[Arrived]) -> Together | None:
    """The largest set of agencies present at one moment, and the first stretch it held.

    One sweep over the arrival and departure times in order, counting who is in the room:
    someone who has not left is present from their arrival on, and a departure at a moment
    counts before it (present means arrived at or before it and not yet left). Ties keep the
    earlier stretch. The site figures call this for every session of a year, hence the sweep.
    """
    changes: dict[datetime, list[tuple[str, int]]] = defaultdict(list)
    for a in arrivals:
        changes[a.arrived_at].append((a.agency, 1))
        if a.departed_at is not None:
            changes[a.departed_at].append((a.agency, -1))
    moments = sorted(changes)
    in_room: Counter[str] = Counter()
    best: list[str] = []
    best_index = -1
    for index, moment in enumerate(moments):
        for agency, step in changes[moment]:
            in_room[agency] += step
        present = [agency for agency, count in in_room.items() if count > 0]
        if len(present) > len(best):
            best, best_index = present, index
    if not best:
        return None
    end = moments[best_index + 1] if best_index + 1 < len(moments) else None
    return Together(agencies=frozenset(Agency(a) for a in best), start=moments[best_index], end=end)


def fully_attended(required: Sequence[Agency], arrivals: Sequence[Arrived]) -> bool:
    """Whether every required agency came and all were present at one moment."""
    together = present_together(arrivals)
    return together is not None and set(required) <= together.agencies


def attendance(session: Session, joint: JointSession, *, now: datetime | None = None) -> Attendance:
    """A session's attendance, computed from its arrivals."""
    arrivals = arrivals_of(session, joint.id)
    required = joint.required_agencies
    came = {Agency(a.agency) for a in arrivals}
    together = present_together(arrivals)
    return Attendance(
        session=joint,
        arrivals=arrivals,
        missing=[agency for agency in required if agency not in came],
        together=together,
        all_together=together is not None and set(required) <= together.agencies,
        due=(now or utcnow()) >= joint.scheduled_for,
    )


def sessions_of(session: Session, case_id: uuid.UUID) -> list[JointSession]:
    """A case's joint sessions, the earliest first."""
    return list(
        session.scalars(
            select(JointSession)
            .where(JointSession.case_id == case_id)
            .order_by(JointSession.scheduled_for, JointSession.id)
        )
    )
