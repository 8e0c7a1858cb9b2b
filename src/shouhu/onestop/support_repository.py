"""Every query of referrals and their notes, each filtered by what the acting principal may see.

`readable_referrals` answers "who may see this referral" in one place. A support worker sees
only their own tasks: those assigned to them, and the unassigned ones of their organisation
(someone there must pick up a referral made to the organisation without a named worker, and the
deadline runs from the case's receipt, not from when a colleague notices it). Every other role
sees the referrals of the cases whose team they are on. Anyone else gets the 404 of a referral
that does not exist (DESIGN §2).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, exists, false, or_, select
from sqlalchemy.orm import Session

from shouhu.accounts.models import Organisation, User
from shouhu.accounts.policies import allows
from shouhu.accounts.roles import Permission, Role
from shouhu.core.i18n import N_
from shouhu.core.principal import Principal
from shouhu.core.readable import one_readable
from shouhu.onestop.models import CaseChild, CaseMember, OneStopCase, OneStopSite
from shouhu.onestop.service_models import ReferralNote, ServiceReferral


def is_support_worker(principal: Principal) -> bool:
    """Whether the principal works tasks for a partner (and so sees only their own)."""
    return principal.has_role(Role.SUPPORT_WORKER.value)


def own_tasks(principal: Principal) -> Select[ServiceReferral]:
    """A support worker's tasks: assigned to them, or unassigned ones of their organisation."""
    return select(ServiceReferral).where(
        or_(
            ServiceReferral.assigned_to_id == principal.user_id,
            and_(
                ServiceReferral.assigned_to_id.is_(None),
                ServiceReferral.organisation_id == principal.organisation_id,
            ),
        )
    )


def readable_referrals(principal: Principal) -> Select[ServiceReferral]:
    """Referrals the principal may see: a support worker's own tasks, or their teams' cases'."""
    if principal.user_id is None or not allows(principal, Permission.ONESTOP_SERVICES_READ):
        return select(ServiceReferral).where(false())
    if is_support_worker(principal):
        # Even on a case's team a support worker sees only their own tasks (issue 6, item 6).
        return own_tasks(principal)
    on_team = exists().where(
        CaseMember.case_id == ServiceReferral.case_id,
        CaseMember.user_id == principal.user_id,
        CaseMember.removed_at.is_(None),
    )
    return select(ServiceReferral).where(on_team)


def get_referral(
    session: Session, principal: Principal, referral_id: uuid.UUID, *, lock: bool = False
) -> ServiceReferral:
    """One referral the principal may see, or NotFoundError (as one that does not exist)."""
    statement = readable_referrals(principal).where(ServiceReferral.id == referral_id)
    return one_readable(session, statement, N_("Referral not found."), lock=lock)


def notes_of(session: Session, referral_id: uuid.UUID) -> list[ReferralNote]:
    """A referral's notes, the first written first."""
    return list(
        session.scalars(
            select(ReferralNote)
            .where(ReferralNote.referral_id == referral_id)
            .order_by(ReferralNote.written_at, ReferralNote.id)
        )
    )


@dataclass(frozen=True)
class ReferralRow:
    """A referral with what a page or a task list shows beside it: never the child's identity."""

    referral: ServiceReferral
    letter: str  # the child's pseudonym letter
    site_id: uuid.UUID
    site_name: str
    organisation_name: str
    assignee: str | None  # username
    received_at: datetime


def rows(session: Session, statement: Select[ServiceReferral]) -> list[ReferralRow]:
    """The statement's referrals with pseudonym, site, partner and assignee, by deadline."""
    assignee = select(User.username).where(User.id == ServiceReferral.assigned_to_id)
    query = (
        select(
            ServiceReferral,
            CaseChild.letter,
            OneStopSite.id,
            OneStopSite.name,
            Organisation.name,
            assignee.scalar_subquery(),
            OneStopCase.received_at,
        )
        .join(CaseChild, CaseChild.id == ServiceReferral.child_id)
        .join(OneStopCase, OneStopCase.id == ServiceReferral.case_id)
        .join(OneStopSite, OneStopSite.id == OneStopCase.site_id)
        .join(Organisation, Organisation.id == ServiceReferral.organisation_id)
        .where(ServiceReferral.id.in_(statement.with_only_columns(ServiceReferral.id)))
        .order_by(ServiceReferral.due_at, ServiceReferral.referred_at, ServiceReferral.id)
    )
    return [
        ReferralRow(
            referral=referral,
            letter=letter,
            site_id=site_id,
            site_name=site_name,
            organisation_name=org_name,
            assignee=username,
            received_at=received,
        )
        for referral, letter, site_id, site_name, org_name, username, received in session.execute(
            query
        )
    ]
