"""Deadlines: the joint session 24 hours and services 72 hours after receipt, by the clock the
test passes in; each user sees what they answer for."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from shouhu.accounts.roles import Role
from shouhu.core.settings import Settings
from shouhu.onestop import support
from shouhu.onestop.deadlines import DeadlineKind, deadlines_for
from shouhu.onestop.models import CaseStatus
from tests.factories.accounts import make_user
from tests.factories.lifecycle import principal_of
from tests.factories.onestop import Cast, join, move_to, open_case, refer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import User

JOINT, SERVICE = DeadlineKind.JOINT_SESSION, DeadlineKind.SERVICE_START


def _kinds(session: Session, user: User, now, **kwargs) -> tuple[list, list]:
    found = deadlines_for(session, principal_of(user), now=now, **kwargs)
    return (
        [(i.kind, i.referral_id or i.case_id) for i in found.overdue],
        [(i.kind, i.referral_id or i.case_id) for i in found.due_soon],
    )


def test_a_case_still_received_is_due_soon_then_overdue(session: Session, cast: Cast) -> None:
    case = open_case(session, cast.officer, cast.site)
    received = case.received_at
    assert _kinds(session, cast.officer, received + timedelta(hours=1)) == ([], [])
    assert _kinds(session, cast.officer, received + timedelta(hours=13)) == ([], [(JOINT, case.id)])
    assert _kinds(session, cast.officer, received + timedelta(hours=25)) == ([(JOINT, case.id)], [])
    # Not on the team: not theirs. A prosecutor on the team does not answer for it.
    join(session, case, cast.prosecutor, "prosecutor")
    later = received + timedelta(hours=25)
    assert _kinds(session, cast.second_officer, later) == ([], [])
    assert _kinds(session, cast.prosecutor, later) == ([], [])
    # A joint session arranged: no longer waiting.
    move_to(session, case, CaseStatus.JOINT_SESSION_SCHEDULED)
    assert _kinds(session, cast.officer, later) == ([], [])


def test_the_settings_move_the_deadlines(session: Session, cast: Cast) -> None:
    case = open_case(session, cast.officer, cast.site)
    at = case.received_at + timedelta(hours=7)
    six = Settings(onestop_joint_session_hours=6, onestop_service_start_hours=6)
    assert _kinds(session, cast.officer, at, settings=six) == ([(JOINT, case.id)], [])
    referral = support.refer(
        session,
        actor=principal_of(cast.officer),
        case_id=case.id,
        child_id=case_child(session, case),
        service="psychological",
        organisation_id=cast.womens_federation.id,
        settings=six,
    )
    assert referral.due_at == case.received_at + timedelta(hours=6)


def case_child(session: Session, case) -> object:
    from shouhu.onestop import repository  # noqa: PLC0415

    return repository.children_of(session, case.id)[0].id


def test_referrals_not_started_are_overdue_for_the_manager_and_the_worker(
    session: Session, cast: Cast
) -> None:
    case = open_case(session, cast.officer, cast.site)
    move_to(session, case, CaseStatus.JOINT_SESSION_SCHEDULED)
    mine = refer(session, cast.officer, case, cast.womens_federation, assignee=cast.support)
    unassigned = refer(
        session, cast.officer, case, cast.womens_federation, service="rehabilitation"
    )
    colleague = make_user(session, roles=(Role.SUPPORT_WORKER,), org=cast.womens_federation)
    theirs = refer(
        session,
        cast.officer,
        case,
        cast.womens_federation,
        service="family_counselling",
        assignee=colleague,
    )
    soon = case.received_at + timedelta(hours=61)
    late = case.received_at + timedelta(hours=73)
    expected_officer = sorted([(SERVICE, r.id) for r in (mine, unassigned, theirs)], key=str)
    overdue, due_soon = _kinds(session, cast.officer, soon)
    assert overdue == []
    assert sorted(due_soon, key=str) == expected_officer
    overdue, due_soon = _kinds(session, cast.officer, late)
    assert sorted(overdue, key=str) == expected_officer
    assert due_soon == []
    worker_overdue, _ = _kinds(session, cast.support, late)
    assert sorted(worker_overdue, key=str) == sorted(
        [(SERVICE, mine.id), (SERVICE, unassigned.id)], key=str
    )
    assert _kinds(session, cast.outside_support, late) == ([], [])
    # The worker's item shows no case (they may not open it): pseudonym, service, site.
    item = deadlines_for(session, principal_of(cast.support), now=late).overdue[0]
    assert item.case_id is None
    assert item.letter == "A"
    assert item.site_name == cast.site.name
    # Accepted: started, on nobody's list.
    support.change_status(
        session, actor=principal_of(cast.support), referral_id=mine.id, status="accepted"
    )
    assert (SERVICE, mine.id) not in _kinds(session, cast.officer, late)[0]
    assert (SERVICE, mine.id) not in _kinds(session, cast.support, late)[0]
    # Declined: off the worker's list, still the manager's until the child is referred again.
    support.change_status(
        session,
        actor=principal_of(colleague),
        referral_id=theirs.id,
        status="declined",
        reason="本机构暂无家庭辅导师。",
    )
    assert _kinds(session, colleague, late)[0] == [(SERVICE, unassigned.id)]
    assert (SERVICE, theirs.id) in _kinds(session, cast.officer, late)[0]
    again = refer(session, cast.officer, case, cast.womens_federation, service="family_counselling")
    overdue = _kinds(session, cast.officer, late)[0]
    assert (SERVICE, theirs.id) not in overdue
    assert (SERVICE, again.id) in overdue


def test_other_roles_have_no_deadlines(session: Session, cast: Cast) -> None:
    open_case(session, cast.officer, cast.site)
    for user in (cast.admin, cast.auditor, cast.registry_clerk):
        found = deadlines_for(session, principal_of(user))
        assert found.overdue == []
        assert found.due_soon == []
