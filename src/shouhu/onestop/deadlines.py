"""The one-stop deadlines a user answers for: what is overdue, and what falls due soon.

Two deadlines, both counted from a case's receipt (settings; docs/operations.md): the joint
session within SHOUHU_ONESTOP_JOINT_SESSION_HOURS, and each service started within
SHOUHU_ONESTOP_SERVICE_START_HOURS (MPS one-stop pilot: the agencies attend at once, help starts
at once). A case manager answers for the cases of their teams still `received` (no joint session
arranged) and for their referrals not yet started; a support worker for their own tasks not yet
accepted. Every function takes `now`, so tests control the clock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session, aliased

from shouhu.accounts.policies import allows
from shouhu.accounts.roles import Permission, Role
from shouhu.core.database import utcnow
from shouhu.core.principal import Principal
from shouhu.core.settings import Settings, get_settings
from shouhu.onestop.joint_sessions import all_sessions_cancelled
from shouhu.onestop.models import CaseMember, CaseStatus, OneStopCase
from shouhu.onestop.service_models import ReferralStatus, ServiceReferral
from shouhu.onestop.support_repository import own_tasks, readable_referrals, rows

# How far ahead "due soon" looks: a shift, so the next one is warned in time. The home page
# says it in words ("Due within {hours} hours"), from this one number.
DUE_SOON_HOURS: Final = 12
DUE_SOON: Final = timedelta(hours=DUE_SOON_HOURS)
# A home page lists this many of each; the counts are exact.
LISTED: Final = 50


class DeadlineKind(StrEnum):
    """Which deadline an item is late for."""

    JOINT_SESSION = "joint_session"
    SERVICE_START = "service_start"


@dataclass(frozen=True)
class DeadlineItem:
    """One case or referral and the deadline it is late for (or nearing)."""

    kind: DeadlineKind
    due_at: datetime
    case_id: uuid.UUID | None  # None when the reader may not open the case (a support worker)
    referral_id: uuid.UUID | None = None
    service: str | None = None
    letter: str | None = None  # the child's pseudonym letter
    site_name: str | None = None


@dataclass(frozen=True)
class Deadlines:
    """A user's overdue and due-soon items, each list the earliest deadline first."""

    overdue: list[DeadlineItem] = field(default_factory=list)
    due_soon: list[DeadlineItem] = field(default_factory=list)

    def count(self, kind: DeadlineKind | str, *, overdue: bool = True) -> int:
        """How many items of this kind are overdue (or due soon)."""
        return sum(1 for item in (self.overdue if overdue else self.due_soon) if item.kind == kind)


def _is_case_manager(principal: Principal) -> bool:
    return principal.user_id is not None and allows(principal, Permission.ONESTOP_CASES_MANAGE)


def _cases_awaiting_session(
    session: Session, principal: Principal, now: datetime, hours: int
) -> tuple[list[DeadlineItem], list[DeadlineItem]]:
    """The manager's teams' cases still `received`: past the deadline, and nearing it."""
    # received_at + hours < now  ⇔  received_at < now - hours: no date arithmetic in SQL.
    late_before = now - timedelta(hours=hours)
    soon_before = late_before + DUE_SOON
    on_team = exists().where(
        CaseMember.case_id == OneStopCase.id,
        CaseMember.user_id == principal.user_id,
        CaseMember.removed_at.is_(None),
    )
    found = session.scalars(
        select(OneStopCase)
        .where(
            on_team,
            or_(
                OneStopCase.status == CaseStatus.RECEIVED.value,
                # Every session of the case was cancelled: none is arranged any more.
                and_(
                    OneStopCase.status == CaseStatus.JOINT_SESSION_SCHEDULED.value,
                    all_sessions_cancelled(),
                ),
            ),
            OneStopCase.received_at < soon_before,
        )
        .order_by(OneStopCase.received_at, OneStopCase.id)
    )
    overdue: list[DeadlineItem] = []
    soon: list[DeadlineItem] = []
    for case in found:
        item = DeadlineItem(
            kind=DeadlineKind.JOINT_SESSION,
            due_at=case.received_at + timedelta(hours=hours),
            case_id=case.id,
        )
        (overdue if case.received_at < late_before else soon).append(item)
    return overdue, soon


def _not_started() -> ColumnElement[bool]:
    """Referrals whose service has not started: referred, or declined and not referred again.

    A declined referral leaves the child without the service until the manager refers the
    child again (to another partner, say): until then it stays on the manager's list.
    """
    later = aliased(ServiceReferral)
    referred_again = exists().where(
        later.child_id == ServiceReferral.child_id,
        later.service == ServiceReferral.service,
        later.referred_at > ServiceReferral.referred_at,
    )
    return or_(
        ServiceReferral.status == ReferralStatus.REFERRED.value,
        and_(ServiceReferral.status == ReferralStatus.DECLINED.value, ~referred_again),
    )


def _referral_items(
    session: Session, principal: Principal, now: datetime, *, support_worker: bool
) -> tuple[list[DeadlineItem], list[DeadlineItem]]:
    if support_worker:
        # A support worker's own tasks not yet accepted (declined ones left their hands).
        statement = own_tasks(principal).where(
            ServiceReferral.status == ReferralStatus.REFERRED.value
        )
    else:
        statement = readable_referrals(principal).where(_not_started())
    statement = statement.where(ServiceReferral.due_at < now + DUE_SOON)
    overdue: list[DeadlineItem] = []
    soon: list[DeadlineItem] = []
    for row in rows(session, statement):
        item = DeadlineItem(
            kind=DeadlineKind.SERVICE_START,
            due_at=row.referral.due_at,
            case_id=None if support_worker else row.referral.case_id,
            referral_id=row.referral.id,
            service=row.referral.service,
            letter=row.letter,
            site_name=row.site_name,
        )
        (overdue if row.referral.due_at < now else soon).append(item)
    return overdue, soon


def deadlines_for(
    session: Session,
    principal: Principal,
    *,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> Deadlines:
    """The principal's overdue and due-soon one-stop items (empty for those who have none)."""
    now = now or utcnow()
    settings = settings or get_settings()
    overdue: list[DeadlineItem] = []
    soon: list[DeadlineItem] = []
    if principal.has_role(Role.SUPPORT_WORKER.value) and principal.user_id is not None:
        late, near = _referral_items(session, principal, now, support_worker=True)
        overdue += late
        soon += near
    elif _is_case_manager(principal):
        late, near = _cases_awaiting_session(
            session, principal, now, settings.onestop_joint_session_hours
        )
        overdue += late
        soon += near
        late, near = _referral_items(session, principal, now, support_worker=False)
        overdue += late
        soon += near
    overdue.sort(key=lambda item: item.due_at)
    soon.sort(key=lambda item: item.due_at)
    return Deadlines(overdue=overdue, due_soon=soon)
