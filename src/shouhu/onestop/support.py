"""Support services of a one-stop case: referring a child to a partner, working the task, notes.

A case manager (the lead officer, or a case officer on the team) refers a child of the case to a
partner organisation attached to the case's site, for one service, optionally naming a support
worker of that organisation. The start deadline is counted from the case's receipt
(SHOUHU_ONESTOP_SERVICE_START_HOURS; MPS one-stop pilot: help starts at once). The partner's
support worker moves the referral along its path (ALLOWED_MOVES); anyone who may see it appends
follow-up notes, sealed because they are about a child. Each action appends its audit event in
the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.accounts.models import User
from shouhu.accounts.policies import require
from shouhu.accounts.roles import Permission, Role
from shouhu.core.audit.chain import record as audit_record
from shouhu.core.database import utcnow
from shouhu.core.errors import ConflictError, ValidationFailedError
from shouhu.core.principal import Principal
from shouhu.core.settings import Settings, get_settings
from shouhu.onestop import checks
from shouhu.onestop.cases import require_manager
from shouhu.onestop.labels import REFERRAL_STATUS_LABELS, coded
from shouhu.onestop.models import CaseChild, OneStopCase
from shouhu.onestop.repository import get_case, is_site_partner
from shouhu.onestop.service_models import (
    ReferralChange,
    ReferralChangeKind,
    ReferralNote,
    ReferralStatus,
    ServiceKind,
    ServiceReferral,
)
from shouhu.onestop.support_repository import get_referral

NOTE_LENGTH: Final = 4000
REASON_LENGTH: Final = 2000

ACTION_REFERRAL_CREATE: Final = "onestop:referral_create"
ACTION_REFERRAL_VIEW: Final = "onestop:referral_view"
ACTION_REFERRAL_STATUS: Final = "onestop:referral_status"
ACTION_REFERRAL_NOTE: Final = "onestop:referral_note"
ACTION_REFERRAL_REASSIGN: Final = "onestop:referral_reassign"
ACTION_REFERRAL_WITHDRAW: Final = "onestop:referral_withdraw"

# The path of a referral (docs/onestop.md): the partner accepts it or declines it (with a
# reason), starts the service and completes it. It may still decline after accepting (the
# child's guardian refused, say); a service under way is completed, not declined.
ALLOWED_MOVES: Final[dict[ReferralStatus, frozenset[ReferralStatus]]] = {
    ReferralStatus.REFERRED: frozenset({ReferralStatus.ACCEPTED, ReferralStatus.DECLINED}),
    ReferralStatus.ACCEPTED: frozenset({ReferralStatus.IN_PROGRESS, ReferralStatus.DECLINED}),
    ReferralStatus.IN_PROGRESS: frozenset({ReferralStatus.COMPLETED}),
    ReferralStatus.COMPLETED: frozenset(),
    ReferralStatus.DECLINED: frozenset(),
    ReferralStatus.WITHDRAWN: frozenset(),
}
# What a case manager may still reassign or withdraw: a task nobody has started working on.
# A service under way is completed by the partner who started it (the child keeps the
# professional they have met); a declined one is referred again instead.
CHANGEABLE: Final = frozenset({ReferralStatus.REFERRED, ReferralStatus.ACCEPTED})
# A referral still waiting for its service: a second one of the child for the same service
# would be a duplicate.
OPEN_STATUSES: Final = frozenset(
    {ReferralStatus.REFERRED, ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS}
)


def next_statuses(status: str) -> list[ReferralStatus]:
    """The statuses a referral in this status may move to, in path order."""
    allowed = ALLOWED_MOVES.get(ReferralStatus(status), frozenset())
    return [s for s in ReferralStatus if s in allowed]


def _service(value: str) -> ServiceKind:
    try:
        return ServiceKind(value)
    except ValueError:
        raise ValidationFailedError("Choose one of the listed options.", field="service") from None


def _assignee(session: Session, organisation_id: uuid.UUID, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if (
        user is None
        or not user.active
        or user.organisation_id != organisation_id
        or Role.SUPPORT_WORKER.value not in user.role_names
    ):
        raise ValidationFailedError(
            "Choose an active support worker of the partner organisation.",
            field="assigned_to_id",
        )
    return user


def refer(
    session: Session,
    *,
    actor: Principal,
    case_id: uuid.UUID,
    child_id: uuid.UUID | None,
    service: str,
    organisation_id: uuid.UUID | None,
    assigned_to_id: uuid.UUID | None = None,
    settings: Settings | None = None,
) -> ServiceReferral:
    """Refer a child of the case to a partner of the case's site for a service."""
    require(actor, Permission.ONESTOP_SERVICES_REFER)
    case = get_case(session, actor, case_id, lock=True)
    require_manager(session, actor, case)
    child = session.get(CaseChild, child_id) if child_id is not None else None
    if child is None or child.case_id != case.id:
        raise ValidationFailedError("Choose a child of this case.", field="child_id")
    kind = _service(service)
    # MPS one-stop pilot: the services come from the partners attached to the site.
    if organisation_id is None or not is_site_partner(session, case.site_id, organisation_id):
        raise ValidationFailedError(
            "Choose a partner organisation attached to the case's site.", field="organisation_id"
        )
    if assigned_to_id is not None:
        _assignee(session, organisation_id, assigned_to_id)
    duplicate = session.scalar(
        select(ServiceReferral.id).where(
            ServiceReferral.child_id == child.id,
            ServiceReferral.service == kind.value,
            ServiceReferral.status.in_([s.value for s in OPEN_STATUSES]),
        )
    )
    if duplicate is not None:
        raise ConflictError(
            "This child already has an open referral for this service.", field="service"
        )
    hours = (settings or get_settings()).onestop_service_start_hours
    assert actor.user_id is not None  # noqa: S101 - a manager is a member, hence a user
    now = utcnow()
    referral = ServiceReferral(
        case_id=case.id,
        child_id=child.id,
        service=kind.value,
        organisation_id=organisation_id,
        assigned_to_id=assigned_to_id,
        status=ReferralStatus.REFERRED.value,
        due_at=case.received_at + timedelta(hours=hours),
        referred_by_id=actor.user_id,
        referred_at=now,
        status_changed_at=now,
    )
    referral.ensure_id()
    session.add(referral)
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_REFERRAL_CREATE,
        object_type="service_referral",
        object_id=referral.id,
        details={
            "case": str(case.id),
            "child": child.letter,
            "service": kind.value,
            "organisation": str(organisation_id),
            "assigned_to": str(assigned_to_id) if assigned_to_id else None,
            "due_at": referral.due_at.isoformat(),
        },
    )
    return referral


def read_referral(session: Session, *, actor: Principal, referral_id: uuid.UUID) -> ServiceReferral:
    """A referral the actor may see, with its sealed notes to show: audited."""
    require(actor, Permission.ONESTOP_SERVICES_READ)
    referral = get_referral(session, actor, referral_id)
    audit_record(
        session,
        actor=actor,
        action=ACTION_REFERRAL_VIEW,
        object_type="service_referral",
        object_id=referral.id,
        details={"status": referral.status},
    )
    return referral


def change_status(
    session: Session,
    *,
    actor: Principal,
    referral_id: uuid.UUID,
    status: str,
    reason: str | None = None,
) -> ServiceReferral:
    """Move one's task along its path; an unassigned task becomes the mover's own."""
    require(actor, Permission.ONESTOP_SERVICES_WORK)
    referral = get_referral(session, actor, referral_id, lock=True)
    try:
        target = ReferralStatus(status)
    except ValueError:
        raise ValidationFailedError("Choose one of the listed options.", field="status") from None
    current = ReferralStatus(referral.status)
    if target not in ALLOWED_MOVES[current]:
        raise ConflictError(
            "A referral in status {current} cannot move to {target}.",
            field="status",
            current=coded(REFERRAL_STATUS_LABELS, current),
            target=coded(REFERRAL_STATUS_LABELS, target),
        )
    why = checks.text(
        reason, field="reason", limit=REASON_LENGTH, required=target is ReferralStatus.DECLINED
    )
    assert actor.user_id is not None  # noqa: S101 - a support worker is a user
    now = utcnow()
    taken = referral.assigned_to_id is None
    if taken:
        # Whoever answers a referral made to the organisation answers for it from then on.
        referral.assigned_to_id = actor.user_id
    if target is ReferralStatus.ACCEPTED and referral.started_at is None:
        referral.started_at = now
    if target is ReferralStatus.DECLINED:
        referral.decline_reason = why
    referral.status = target.value
    referral.status_changed_at = now
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_REFERRAL_STATUS,
        object_type="service_referral",
        object_id=referral.id,
        # A decline's reason is sealed on the referral: it may speak of the child.
        details={"from": current.value, "to": target.value, "taken": taken},
    )
    return referral


def _managed(
    session: Session, actor: Principal, referral_id: uuid.UUID
) -> tuple[ServiceReferral, OneStopCase, ReferralStatus]:
    """A referral of a case the actor manages, locked, still reassignable or withdrawable."""
    # The case's lock first, as `refer` takes it: two managers' changes queue on it.
    found = get_referral(session, actor, referral_id)
    case = get_case(session, actor, found.case_id, lock=True)
    referral = get_referral(session, actor, referral_id, lock=True)
    require_manager(session, actor, case)
    current = ReferralStatus(referral.status)
    if current not in CHANGEABLE:
        raise ConflictError(
            "A referral in status {current} can no longer be reassigned or withdrawn: only a"
            " referred or accepted one can. Refer the child again if the service is still needed.",
            field="status",
            current=coded(REFERRAL_STATUS_LABELS, current),
        )
    return referral, case, current


def reassign(
    session: Session,
    *,
    actor: Principal,
    referral_id: uuid.UUID,
    organisation_id: uuid.UUID | None,
    assigned_to_id: uuid.UUID | None,
    reason: str | None,
) -> ServiceReferral:
    """Give a referral to another partner of the site, or another worker of the same partner."""
    require(actor, Permission.ONESTOP_SERVICES_REFER)
    referral, case, current = _managed(session, actor, referral_id)
    target_org = organisation_id or referral.organisation_id
    if not is_site_partner(session, case.site_id, target_org):
        raise ValidationFailedError(
            "Choose a partner organisation attached to the case's site.", field="organisation_id"
        )
    same_org = target_org == referral.organisation_id
    if same_org and assigned_to_id is None:
        raise ValidationFailedError(
            "Choose another support worker of the partner, or another partner organisation.",
            field="assigned_to_id",
        )
    if assigned_to_id is not None:
        _assignee(session, target_org, assigned_to_id)
    if same_org and assigned_to_id == referral.assigned_to_id:
        raise ValidationFailedError(
            "The task is already this support worker's: choose another.", field="assigned_to_id"
        )
    why = checks.text(reason, field="reason", limit=REASON_LENGTH)
    assert actor.user_id is not None  # noqa: S101 - a manager is a member, hence a user
    now = utcnow()
    change = ReferralChange(
        referral_id=referral.id,
        kind=ReferralChangeKind.REASSIGN.value,
        previous_organisation_id=referral.organisation_id,
        new_organisation_id=target_org,
        previous_assignee_id=referral.assigned_to_id,
        new_assignee_id=assigned_to_id,
        changed_by_id=actor.user_id,
        changed_at=now,
    )
    change.ensure_id()
    change.reason = why
    session.add(change)
    previous_org, previous_assignee = referral.organisation_id, referral.assigned_to_id
    referral.organisation_id = target_org
    referral.assigned_to_id = assigned_to_id
    if not same_org:
        # Another partner starts afresh: it has to accept the task itself. The deadline stays
        # (it runs from the case's receipt), so the child does not wait longer for the move.
        referral.status = ReferralStatus.REFERRED.value
        referral.started_at = None
        referral.status_changed_at = now
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_REFERRAL_REASSIGN,
        object_type="service_referral",
        object_id=referral.id,
        # The reason is sealed in the change row.
        details={
            "organisation_from": str(previous_org),
            "organisation_to": str(target_org),
            "assigned_from": str(previous_assignee) if previous_assignee else None,
            "assigned_to": str(assigned_to_id) if assigned_to_id else None,
            "status_from": current.value,
            "status_to": referral.status,
        },
    )
    return referral


def withdraw(
    session: Session, *, actor: Principal, referral_id: uuid.UUID, reason: str | None
) -> ServiceReferral:
    """Call a referral off (referred or accepted only), with a reason; it is kept as withdrawn."""
    require(actor, Permission.ONESTOP_SERVICES_REFER)
    referral, _case, current = _managed(session, actor, referral_id)
    why = checks.text(reason, field="reason", limit=REASON_LENGTH)
    assert actor.user_id is not None  # noqa: S101 - a manager is a member, hence a user
    now = utcnow()
    change = ReferralChange(
        referral_id=referral.id,
        kind=ReferralChangeKind.WITHDRAW.value,
        previous_organisation_id=referral.organisation_id,
        new_organisation_id=None,
        previous_assignee_id=referral.assigned_to_id,
        new_assignee_id=None,
        changed_by_id=actor.user_id,
        changed_at=now,
    )
    change.ensure_id()
    change.reason = why
    session.add(change)
    referral.status = ReferralStatus.WITHDRAWN.value
    referral.status_changed_at = now
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_REFERRAL_WITHDRAW,
        object_type="service_referral",
        object_id=referral.id,
        details={"from": current.value, "to": ReferralStatus.WITHDRAWN.value},
    )
    return referral


def changes_of(session: Session, referral_id: uuid.UUID) -> list[ReferralChange]:
    """A referral's reassignments and withdrawal, the earliest first."""
    return list(
        session.scalars(
            select(ReferralChange)
            .where(ReferralChange.referral_id == referral_id)
            .order_by(ReferralChange.changed_at, ReferralChange.id)
        )
    )


def add_note(
    session: Session, *, actor: Principal, referral_id: uuid.UUID, body: str
) -> ReferralNote:
    """Append a follow-up note to a referral the actor may see; notes are never changed."""
    require(actor, Permission.ONESTOP_SERVICES_NOTE)
    referral = get_referral(session, actor, referral_id)
    text = checks.text(body, field="body", limit=NOTE_LENGTH)
    assert actor.user_id is not None  # noqa: S101 - readers of referrals are users
    note = ReferralNote(referral_id=referral.id, author_id=actor.user_id, written_at=utcnow())
    note.ensure_id()
    note.body = text
    session.add(note)
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_REFERRAL_NOTE,
        object_type="referral_note",
        object_id=note.id,
        details={"referral": str(referral.id)},  # the note itself is sealed
    )
    return note


def is_overdue(referral: ServiceReferral, now: datetime) -> bool:
    """Whether the referral's service has not started by its deadline."""
    return referral.status == ReferralStatus.REFERRED.value and referral.due_at < now
