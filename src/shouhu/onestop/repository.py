"""Every one-stop query, each filtered by what the acting principal may see.

`readable_cases` is the one place that answers "who may see this case": the active members of
its team, and nobody else (not the operator, not oversight, not another case officer). A case
anyone else asks for is the 404 of one that does not exist (DESIGN §2).
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, exists, false, func, select
from sqlalchemy.orm import Session

from shouhu.accounts.models import Organisation, User
from shouhu.accounts.policies import allows
from shouhu.accounts.roles import Permission
from shouhu.core.i18n import N_
from shouhu.core.principal import Principal
from shouhu.core.readable import one_readable
from shouhu.onestop.models import (
    CaseChild,
    CaseMember,
    CaseStatusChange,
    CaseSuspect,
    OneStopCase,
    OneStopSite,
    SitePartner,
)

# --- sites --------------------------------------------------------------------------------------


def readable_sites(principal: Principal) -> Select[OneStopSite]:
    """Sites the principal may see: the whole directory, for those who read it."""
    if not allows(principal, Permission.ONESTOP_SITES_READ):
        return select(OneStopSite).where(false())
    return select(OneStopSite)


def get_site(
    session: Session, principal: Principal, site_id: uuid.UUID, *, lock: bool = False
) -> OneStopSite:
    """One site the principal may see, or NotFoundError."""
    statement = readable_sites(principal).where(OneStopSite.id == site_id)
    return one_readable(session, statement, N_("Site not found."), lock=lock)


def site_partners(session: Session, site_id: uuid.UUID) -> list[Organisation]:
    """The partner organisations attached to a site, by name."""
    return list(
        session.scalars(
            select(Organisation)
            .join(SitePartner, SitePartner.organisation_id == Organisation.id)
            .where(SitePartner.site_id == site_id)
            .order_by(Organisation.name)
        )
    )


def is_site_partner(session: Session, site_id: uuid.UUID, organisation_id: uuid.UUID) -> bool:
    """Whether the organisation is attached to the site as a partner."""
    return (
        session.scalar(
            select(SitePartner.id).where(
                SitePartner.site_id == site_id, SitePartner.organisation_id == organisation_id
            )
        )
        is not None
    )


# --- cases --------------------------------------------------------------------------------------


def readable_cases(principal: Principal) -> Select[OneStopCase]:
    """Cases the principal may see: those whose team they are an active member of."""
    if principal.user_id is None or not allows(principal, Permission.ONESTOP_CASES_READ):
        return select(OneStopCase).where(false())
    on_team = exists().where(
        CaseMember.case_id == OneStopCase.id,
        CaseMember.user_id == principal.user_id,
        CaseMember.removed_at.is_(None),
    )
    return select(OneStopCase).where(on_team)


def get_case(
    session: Session, principal: Principal, case_id: uuid.UUID, *, lock: bool = False
) -> OneStopCase:
    """One case the principal may see, or NotFoundError (as one that does not exist)."""
    statement = readable_cases(principal).where(OneStopCase.id == case_id)
    return one_readable(session, statement, N_("Case not found."), lock=lock)


def membership(
    session: Session, case_id: uuid.UUID, user_id: uuid.UUID | None
) -> CaseMember | None:
    """The user's active membership of the case's team, if any."""
    if user_id is None:
        return None
    return session.scalar(
        select(CaseMember).where(
            CaseMember.case_id == case_id,
            CaseMember.user_id == user_id,
            CaseMember.removed_at.is_(None),
        )
    )


def team(session: Session, case_id: uuid.UUID) -> list[tuple[CaseMember, User]]:
    """The case's active members with their users, in the order they joined."""
    rows = session.execute(
        select(CaseMember, User)
        .join(User, User.id == CaseMember.user_id)
        .where(CaseMember.case_id == case_id, CaseMember.removed_at.is_(None))
        .order_by(CaseMember.added_at, CaseMember.id)
    )
    return [(member, user) for member, user in rows]


def children_of(session: Session, case_id: uuid.UUID) -> list[CaseChild]:
    """The case's children, in the order of their pseudonyms."""
    return list(
        session.scalars(
            select(CaseChild)
            .where(CaseChild.case_id == case_id)
            .order_by(func.length(CaseChild.letter), CaseChild.letter)
        )
    )


def get_child(session: Session, case: OneStopCase, child_id: uuid.UUID) -> CaseChild:
    """A child of a case the caller already may see, or NotFoundError."""
    statement = select(CaseChild).where(CaseChild.case_id == case.id, CaseChild.id == child_id)
    return one_readable(session, statement, N_("Child not found."))


def suspects_of(session: Session, case_id: uuid.UUID) -> list[CaseSuspect]:
    """The case's suspects, in the order they were entered."""
    return list(
        session.scalars(
            select(CaseSuspect)
            .where(CaseSuspect.case_id == case_id)
            .order_by(CaseSuspect.added_at, CaseSuspect.id)
        )
    )


def status_history(session: Session, case_id: uuid.UUID) -> list[CaseStatusChange]:
    """The case's moves along its status path, the intake first."""
    return list(
        session.scalars(
            select(CaseStatusChange)
            .where(CaseStatusChange.case_id == case_id)
            .order_by(CaseStatusChange.changed_at, CaseStatusChange.id)
        )
    )


def pseudonym_letters(session: Session, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """Each case's children's pseudonym letters (what the Cases list shows)."""
    found: dict[uuid.UUID, list[str]] = {case_id: [] for case_id in case_ids}
    if not case_ids:
        return found
    rows = session.execute(
        select(CaseChild.case_id, CaseChild.letter)
        .where(CaseChild.case_id.in_(case_ids))
        .order_by(func.length(CaseChild.letter), CaseChild.letter)
    )
    for case_id, letter in rows:
        found[case_id].append(letter)
    return found
