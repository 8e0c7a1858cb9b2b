"""A case's team: who is on it, who may join it, and who adds and removes members.

Only the team sees the case (`repository.readable_cases`). Members come from the agencies that
attend a one-stop session (MPS pilot; DESIGN §1): public security and the procuratorate anywhere
in the scheme, and the partner organisations attached to the case's site. The lead officer, or
any case officer on the team, adds and removes members.
"""

from __future__ import annotations

import uuid
from typing import Final

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shouhu.accounts.models import User
from shouhu.accounts.policies import require
from shouhu.accounts.roles import OrgType, Permission, Role, roles_with
from shouhu.core.audit.chain import record as audit_record
from shouhu.core.database import utcnow
from shouhu.core.errors import ConflictError, NotFoundError, ValidationFailedError
from shouhu.core.principal import Principal
from shouhu.onestop.cases import ACTION_MEMBER_ADD, require_manager
from shouhu.onestop.models import CaseMember, CaseRole, OneStopCase
from shouhu.onestop.repository import get_case, is_site_partner, membership

ACTION_MEMBER_REMOVE: Final = "onestop:member_remove"
# Agencies whose staff may join any case's team; partners only those of the case's site.
TEAM_ORG_TYPES: Final = frozenset({OrgType.PUBLIC_SECURITY.value, OrgType.PROCURATORATE.value})


def _may_join(session: Session, case: OneStopCase, user: User) -> bool:
    """Whether the user's organisation may send members to this case's team."""
    organisation = user.organisation
    if organisation.type in TEAM_ORG_TYPES:
        return True
    return is_site_partner(session, case.site_id, organisation.id)


def _candidate(session: Session, case: OneStopCase, user_id: uuid.UUID, role: CaseRole) -> User:
    """The user to add, checked against the team rules; errors name `user_id` or `role`."""
    user = session.get(User, user_id)
    if user is None or not user.active or not user.organisation.active:
        raise ValidationFailedError("No active user has this id.", field="user_id")
    if not _may_join(session, case, user):
        raise ValidationFailedError(
            "This user's organisation is not public security, a procuratorate, or a partner"
            " attached to the case's site.",
            field="user_id",
        )
    # A member who could not open the case would be on the team in name only.
    if not set(user.role_names) & roles_with(Permission.ONESTOP_CASES_READ):
        raise ValidationFailedError(
            "This user holds no role that works one-stop cases.", field="user_id"
        )
    if role is CaseRole.LEAD_OFFICER and Role.CASE_OFFICER.value not in user.role_names:
        raise ValidationFailedError("The lead officer must be a case officer.", field="role")
    if membership(session, case.id, user.id) is not None:
        raise ConflictError("This user is already on the team.", field="user_id")
    return user


def _has_lead(session: Session, case_id: uuid.UUID) -> bool:
    return (
        session.scalar(
            select(CaseMember.id).where(
                CaseMember.case_id == case_id,
                CaseMember.role == CaseRole.LEAD_OFFICER.value,
                CaseMember.removed_at.is_(None),
            )
        )
        is not None
    )


def add_member(
    session: Session, *, actor: Principal, case_id: uuid.UUID, user_id: uuid.UUID, role: str
) -> CaseMember:
    """Put a user on a case's team in a role."""
    require(actor, Permission.ONESTOP_CASES_MANAGE)
    case = get_case(session, actor, case_id, lock=True)
    require_manager(session, actor, case)
    try:
        chosen = CaseRole(role)
    except ValueError:
        raise ValidationFailedError("Choose one of the listed options.", field="role") from None
    user = _candidate(session, case, user_id, chosen)
    if chosen is CaseRole.LEAD_OFFICER and _has_lead(session, case.id):
        raise ConflictError("The case already has a lead officer.", field="role")
    assert actor.user_id is not None  # noqa: S101 - a manager is a member, hence a user
    member = CaseMember(
        case_id=case.id,
        user_id=user.id,
        role=chosen.value,
        added_by_id=actor.user_id,
        added_at=utcnow(),
    )
    member.ensure_id()
    try:
        with session.begin_nested():
            session.add(member)
            session.flush()
    except IntegrityError as exc:
        # Someone added the same user a moment ago (the partial unique index).
        raise ConflictError("This user is already on the team.", field="user_id") from exc
    audit_record(
        session,
        actor=actor,
        action=ACTION_MEMBER_ADD,
        object_type="case_member",
        object_id=member.id,
        details={"case": str(case.id), "user": str(user.id), "role": member.role},
    )
    return member


def remove_member(
    session: Session, *, actor: Principal, case_id: uuid.UUID, member_id: uuid.UUID
) -> CaseMember:
    """Take a member off a case's team; from then on the case is a 404 to them."""
    require(actor, Permission.ONESTOP_CASES_MANAGE)
    case = get_case(session, actor, case_id, lock=True)
    require_manager(session, actor, case)
    member = session.get(CaseMember, member_id)
    if member is None or member.case_id != case.id or member.removed_at is not None:
        raise NotFoundError("Member not found.")
    if member.role == CaseRole.LEAD_OFFICER.value:
        # A case always has someone answerable for it.
        raise ConflictError("The lead officer cannot be removed from the team.", field="member_id")
    assert actor.user_id is not None  # noqa: S101 - a manager is a member, hence a user
    member.removed_at = utcnow()
    member.removed_by_id = actor.user_id
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_MEMBER_REMOVE,
        object_type="case_member",
        object_id=member.id,
        details={"case": str(case.id), "user": str(member.user_id), "role": member.role},
    )
    return member
