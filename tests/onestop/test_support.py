"""Services: referrals to a site's partners, refusals naming the field, the status path, sealed
notes, and the support worker who sees only their own tasks (others get a 404)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from shouhu.accounts.roles import Role
from shouhu.core.audit.models import AuditEvent
from shouhu.core.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ValidationFailedError,
)
from shouhu.onestop import repository, support
from shouhu.onestop.service_models import ReferralNote, ServiceReferral
from shouhu.onestop.support_repository import notes_of, readable_referrals
from tests.factories.accounts import make_user
from tests.factories.lifecycle import principal_of
from tests.factories.onestop import Cast, join, open_case, refer
from tests.onestop.conftest import events_since, head

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import User


def _visible(session: Session, user: User) -> list[ServiceReferral]:
    return list(session.scalars(readable_referrals(principal_of(user))))


def _move(session: Session, user: User, referral: ServiceReferral, status: str, reason: str = ""):
    return support.change_status(
        session, actor=principal_of(user), referral_id=referral.id, status=status, reason=reason
    )


def test_a_referral_is_due_72_hours_after_receipt_and_is_audited(
    session: Session, cast: Cast
) -> None:
    case = open_case(session, cast.officer, cast.site)
    start = head(session)
    referral = refer(session, cast.officer, case, cast.womens_federation, assignee=cast.support)
    assert referral.status == "referred"
    assert referral.due_at == case.received_at + timedelta(hours=72)
    assert referral.assigned_to_id == cast.support.id
    assert events_since(session, start) == [("web:onestop:referral_create", "service_referral")]
    event = session.scalars(select(AuditEvent).where(AuditEvent.seq == start + 1)).one()
    details = json.loads(event.details)
    assert details["child"] == "A"
    assert details["service"] == "psychological"
    assert details["organisation"] == str(cast.womens_federation.id)


def test_refusals_name_the_field(session: Session, cast: Cast) -> None:
    case = open_case(session, cast.officer, cast.site)
    other_case = open_case(session, cast.officer, cast.site)
    (foreign_child,) = repository.children_of(session, other_case.id)
    (child,) = repository.children_of(session, case.id)
    actor = principal_of(cast.officer)

    def attempt(**overrides: object) -> str | None:
        values: dict[str, object] = {
            "case_id": case.id,
            "child_id": child.id,
            "service": "rehabilitation",
            "organisation_id": cast.womens_federation.id,
        }
        values.update(overrides)
        with pytest.raises((ValidationFailedError, ConflictError)) as caught:
            support.refer(session, actor=actor, **values)  # type: ignore[arg-type]
        return caught.value.field

    # The hospital is a partner body, but not attached to this site.
    assert attempt(organisation_id=cast.hospital.id) == "organisation_id"
    assert attempt(organisation_id=None) == "organisation_id"
    assert attempt(child_id=foreign_child.id) == "child_id"
    assert attempt(service="astrology") == "service"
    # The named worker must be a support worker of the chosen partner.
    assert attempt(assigned_to_id=cast.outside_support.id) == "assigned_to_id"
    assert attempt(assigned_to_id=cast.second_officer.id) == "assigned_to_id"
    support.refer(
        session,
        actor=actor,
        case_id=case.id,
        child_id=child.id,
        service="rehabilitation",
        organisation_id=cast.womens_federation.id,
    )
    assert attempt() == "service"  # an open referral of the child for the same service


def test_only_a_case_manager_on_the_team_refers(session: Session, cast: Cast) -> None:
    case = open_case(session, cast.officer, cast.site)
    join(session, case, cast.prosecutor, "prosecutor")
    with pytest.raises(NotFoundError):  # a case officer of another team: the case is not there
        refer(session, cast.second_officer, case, cast.womens_federation)
    with pytest.raises(ForbiddenError):  # a prosecutor on the team lacks the permission
        refer(session, cast.prosecutor, case, cast.womens_federation)
    join(session, case, cast.second_officer, "investigator")
    assert refer(session, cast.second_officer, case, cast.womens_federation).status == "referred"


def test_the_status_path_with_its_refusals(session: Session, cast: Cast) -> None:
    case = open_case(session, cast.officer, cast.site)
    referral = refer(session, cast.officer, case, cast.womens_federation, assignee=cast.support)
    with pytest.raises(ConflictError) as caught:
        _move(session, cast.support, referral, "completed")
    assert caught.value.field == "status"
    with pytest.raises(ValidationFailedError) as invalid:
        _move(session, cast.support, referral, "paused")
    assert invalid.value.field == "status"
    start = head(session)
    _move(session, cast.support, referral, "accepted")
    assert referral.started_at is not None
    _move(session, cast.support, referral, "in_progress")
    _move(session, cast.support, referral, "completed")
    assert events_since(session, start) == [("web:onestop:referral_status", "service_referral")] * 3
    with pytest.raises(ConflictError):
        _move(session, cast.support, referral, "declined", "太晚了")
    # A case officer does not work a partner's task.
    with pytest.raises(ForbiddenError):
        _move(session, cast.officer, referral, "accepted")


def test_declining_needs_a_reason_which_is_sealed(session: Session, cast: Cast) -> None:
    case = open_case(session, cast.officer, cast.site)
    referral = refer(session, cast.officer, case, cast.womens_federation, assignee=cast.support)
    with pytest.raises(ValidationFailedError) as caught:
        _move(session, cast.support, referral, "declined")
    assert caught.value.field == "reason"
    _move(session, cast.support, referral, "declined", "监护人拒绝心理评估。")
    assert referral.decline_reason == "监护人拒绝心理评估。"
    stored = session.scalar(
        select(ServiceReferral.decline_reason_sealed).where(ServiceReferral.id == referral.id)
    )
    assert stored is not None
    assert "监护人".encode() not in bytes(stored)
    # Declined, the child may be referred again for the same service.
    assert refer(session, cast.officer, case, cast.womens_federation).status == "referred"


def test_notes_are_appended_with_author_and_time_and_sealed(session: Session, cast: Cast) -> None:
    case = open_case(session, cast.officer, cast.site)
    referral = refer(session, cast.officer, case, cast.womens_federation, assignee=cast.support)
    start = head(session)
    first = support.add_note(
        session, actor=principal_of(cast.support), referral_id=referral.id, body="首次评估已预约。"
    )
    second = support.add_note(
        session, actor=principal_of(cast.officer), referral_id=referral.id, body="家长已知悉。"
    )
    assert events_since(session, start) == [("web:onestop:referral_note", "referral_note")] * 2
    notes = notes_of(session, referral.id)
    assert [(n.author_id, n.body) for n in notes] == [
        (cast.support.id, "首次评估已预约。"),
        (cast.officer.id, "家长已知悉。"),
    ]
    assert first.written_at <= second.written_at
    stored = session.scalar(select(ReferralNote.body_sealed).where(ReferralNote.id == first.id))
    assert stored is not None
    assert "评估".encode() not in bytes(stored)
    with pytest.raises(ValidationFailedError) as caught:
        support.add_note(
            session, actor=principal_of(cast.support), referral_id=referral.id, body=" "
        )
    assert caught.value.field == "body"


def test_a_support_worker_sees_only_their_own_tasks(session: Session, cast: Cast) -> None:
    case = open_case(session, cast.officer, cast.site)
    colleague = make_user(session, roles=(Role.SUPPORT_WORKER,), org=cast.womens_federation)
    mine = refer(session, cast.officer, case, cast.womens_federation, assignee=cast.support)
    theirs = refer(
        session,
        cast.officer,
        case,
        cast.womens_federation,
        service="family_counselling",
        assignee=colleague,
    )
    open_to_all = refer(
        session, cast.officer, case, cast.womens_federation, service="legal_assistance"
    )
    assert {r.id for r in _visible(session, cast.support)} == {mine.id, open_to_all.id}
    assert {r.id for r in _visible(session, colleague)} == {theirs.id, open_to_all.id}
    assert _visible(session, cast.outside_support) == []
    for user, referral in ((cast.support, theirs), (cast.outside_support, mine)):
        with pytest.raises(NotFoundError):
            support.read_referral(session, actor=principal_of(user), referral_id=referral.id)
        with pytest.raises(NotFoundError):
            _move(session, user, referral, "accepted")
        with pytest.raises(NotFoundError):
            support.add_note(session, actor=principal_of(user), referral_id=referral.id, body="x")
    # Accepting an unassigned task makes it the accepter's: the colleague no longer sees it.
    start = head(session)
    _move(session, colleague, open_to_all, "accepted")
    assert events_since(session, start) == [("web:onestop:referral_status", "service_referral")]
    assert open_to_all.assigned_to_id == colleague.id
    assert {r.id for r in _visible(session, cast.support)} == {mine.id}
    # On the case's team, a support worker still sees only their own tasks.
    join(session, case, cast.support, "womens_federation")
    assert {r.id for r in _visible(session, cast.support)} == {mine.id}
    # The rest of the team sees every referral of the case; an outsider none.
    assert len(_visible(session, cast.officer)) == 3
    assert _visible(session, cast.second_officer) == []
    with pytest.raises(NotFoundError):
        support.read_referral(session, actor=principal_of(cast.second_officer), referral_id=mine.id)


def test_reading_a_referral_is_audited(session: Session, cast: Cast) -> None:
    case = open_case(session, cast.officer, cast.site)
    referral = refer(session, cast.officer, case, cast.womens_federation, assignee=cast.support)
    start = head(session)
    support.read_referral(session, actor=principal_of(cast.support), referral_id=referral.id)
    assert events_since(session, start) == [("web:onestop:referral_view", "service_referral")]
