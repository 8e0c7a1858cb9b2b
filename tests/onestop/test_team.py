"""The case team: who may join, who adds and removes, and what a removed member sees."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from shouhu.accounts.roles import OrgType, Role
from shouhu.core.audit.models import AuditEvent
from shouhu.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from shouhu.onestop import repository, team
from tests.factories.accounts import make_org, make_user
from tests.factories.lifecycle import principal_of
from tests.factories.onestop import Cast, join, open_case
from tests.onestop.conftest import events_since, head

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import User


def _add(session: Session, actor: User, case_id, user: User, role: str = "investigator"):
    return team.add_member(
        session, actor=principal_of(actor), case_id=case_id, user_id=user.id, role=role
    )


def test_the_lead_adds_members_from_each_agency_and_each_add_is_audited(
    session: Session, cast: Cast
) -> None:
    case = open_case(session, cast.officer, cast.site)
    start = head(session)
    added = [
        _add(session, cast.officer, case.id, cast.prosecutor, "prosecutor"),
        _add(session, cast.officer, case.id, cast.forensic, "forensic"),
        _add(session, cast.officer, case.id, cast.support, "womens_federation"),
        # Public security of another city may join too (a case that crosses jurisdictions).
        _add(session, cast.officer, case.id, cast.other_officer, "investigator"),
    ]
    assert events_since(session, start) == [("web:onestop:member_add", "case_member")] * 4
    first = session.scalars(select(AuditEvent).where(AuditEvent.seq == start + 1)).one()
    assert first.object_id == str(added[0].id)
    assert json.loads(first.details) == {
        "case": str(case.id),
        "user": str(cast.prosecutor.id),
        "role": "prosecutor",
    }
    members = [(user.username, member.role) for member, user in repository.team(session, case.id)]
    assert members == [
        (cast.officer.username, "lead_officer"),
        (cast.prosecutor.username, "prosecutor"),
        (cast.forensic.username, "forensic"),
        (cast.support.username, "womens_federation"),
        (cast.other_officer.username, "investigator"),
    ]
    for user in (cast.prosecutor, cast.support, cast.other_officer):
        assert repository.get_case(session, principal_of(user), case.id).id == case.id


def test_a_partner_not_attached_to_the_site_may_not_join(session: Session, cast: Cast) -> None:
    case = open_case(session, cast.officer, cast.site)
    start = head(session)
    with pytest.raises(ValidationFailedError) as caught:
        _add(session, cast.officer, case.id, cast.outside_support, "medical")
    assert caught.value.field == "user_id"
    assert "partner attached to the case's site" in caught.value.message
    # Nor an institution's staff, nor an operator, nor a registry clerk (no case role).
    school = make_org(session, org_type=OrgType.INSTITUTION)
    for user in (
        make_user(session, roles=(Role.INSTITUTION_HR,), org=school),
        cast.admin,
        cast.registry_clerk,
    ):
        with pytest.raises(ValidationFailedError) as caught:
            _add(session, cast.officer, case.id, user)
        assert caught.value.field == "user_id"
    assert events_since(session, start) == []


def test_unknown_or_disabled_users_and_roles_are_refused_naming_the_field(
    session: Session, cast: Cast
) -> None:
    case = open_case(session, cast.officer, cast.site)
    cast.forensic.active = False
    session.flush()
    with pytest.raises(ValidationFailedError) as caught:
        _add(session, cast.officer, case.id, cast.forensic)
    assert caught.value.field == "user_id"
    with pytest.raises(ValidationFailedError) as caught:
        _add(session, cast.officer, case.id, cast.prosecutor, "judge")
    assert caught.value.field == "role"
    _add(session, cast.officer, case.id, cast.prosecutor, "prosecutor")
    with pytest.raises(ConflictError) as caught:
        _add(session, cast.officer, case.id, cast.prosecutor, "legal_aid")
    assert caught.value.field == "user_id"


def test_one_lead_and_the_lead_is_a_case_officer(session: Session, cast: Cast) -> None:
    case = open_case(session, cast.officer, cast.site)
    with pytest.raises(ConflictError) as caught:
        _add(session, cast.officer, case.id, cast.second_officer, "lead_officer")
    assert caught.value.field == "role"
    with pytest.raises(ValidationFailedError) as caught:
        _add(session, cast.officer, case.id, cast.prosecutor, "lead_officer")
    assert caught.value.field == "role"
    ((lead, _user),) = repository.team(session, case.id)
    with pytest.raises(ConflictError):
        team.remove_member(
            session, actor=principal_of(cast.officer), case_id=case.id, member_id=lead.id
        )


def test_only_the_lead_or_a_case_officer_member_changes_the_team(
    session: Session, cast: Cast
) -> None:
    case = open_case(session, cast.officer, cast.site)
    join(session, case, cast.prosecutor, "prosecutor")
    join(session, case, cast.second_officer, "investigator")
    start = head(session)
    with pytest.raises(ForbiddenError):
        _add(session, cast.prosecutor, case.id, cast.forensic)
    with pytest.raises(NotFoundError):  # a case officer off the team: the case is not there
        _add(session, cast.other_officer, case.id, cast.forensic)
    with pytest.raises(ForbiddenError):  # an operator never reaches a case
        _add(session, cast.admin, case.id, cast.forensic)
    assert events_since(session, start) == []
    _add(session, cast.second_officer, case.id, cast.forensic, "forensic")


def test_a_removed_member_no_longer_sees_the_case_and_the_removal_is_audited(
    session: Session, cast: Cast
) -> None:
    case = open_case(session, cast.officer, cast.site)
    member = _add(session, cast.officer, case.id, cast.support, "support")
    start = head(session)
    removed = team.remove_member(
        session, actor=principal_of(cast.officer), case_id=case.id, member_id=member.id
    )
    assert removed.removed_at is not None
    assert removed.removed_by_id == cast.officer.id
    assert events_since(session, start) == [("web:onestop:member_remove", "case_member")]
    with pytest.raises(NotFoundError):
        repository.get_case(session, principal_of(cast.support), case.id)
    with pytest.raises(NotFoundError):  # removed once, not twice
        team.remove_member(
            session, actor=principal_of(cast.officer), case_id=case.id, member_id=member.id
        )
    # Back on the team later: a new membership, the old one kept as history.
    _add(session, cast.officer, case.id, cast.support, "support")
    assert repository.get_case(session, principal_of(cast.support), case.id).id == case.id


def test_a_member_of_another_case_cannot_be_removed_through_this_one(
    session: Session, cast: Cast
) -> None:
    case = open_case(session, cast.officer, cast.site)
    other = open_case(session, cast.officer, cast.site)
    member = _add(session, cast.officer, other.id, cast.support, "support")
    with pytest.raises(NotFoundError):
        team.remove_member(
            session, actor=principal_of(cast.officer), case_id=case.id, member_id=member.id
        )
