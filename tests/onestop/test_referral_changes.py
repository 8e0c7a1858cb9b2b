"""Reassigning and withdrawing a referral by the case manager: another partner of the site or
another worker of the same one, withdrawn only from referred/accepted, reasons sealed, audited;
the worker who lost the task gets a 404; a withdrawn referral is never overdue."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from shouhu.accounts.roles import OrgType, Role
from shouhu.core.audit.models import AuditEvent
from shouhu.core.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ValidationFailedError,
)
from shouhu.core.i18n import current_language, gettext, set_language
from shouhu.onestop import support
from shouhu.onestop.deadlines import deadlines_for
from shouhu.onestop.service_models import ReferralChange
from shouhu.onestop.support_repository import readable_referrals
from tests.factories.accounts import make_org, make_user
from tests.factories.lifecycle import principal_of
from tests.factories.onestop import Cast, attach, join, open_case, refer
from tests.onestop.conftest import events_since, head
from tests.onestop.test_api import _auth

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import Organisation, User
    from shouhu.onestop.service_models import ServiceReferral

REASON = "妇联心理服务站本周无儿童心理咨询师，改由医院承接。"


def _second_partner(session: Session, cast: Cast) -> tuple[Organisation, User]:
    """Another partner attached to the cast's site, with a support worker."""
    clinic = make_org(session, org_type=OrgType.PARTNER, kind="psychological_service")
    attach(session, cast.site, clinic)
    return clinic, make_user(session, roles=(Role.SUPPORT_WORKER,), org=clinic)


def _visible(session: Session, user: User) -> set[object]:
    return {r.id for r in session.scalars(readable_referrals(principal_of(user)))}


def _reassign(session: Session, user: User, referral: ServiceReferral, **kwargs: object):
    values: dict[str, object] = {"organisation_id": None, "assigned_to_id": None, "reason": REASON}
    values.update(kwargs)
    return support.reassign(
        session,
        actor=principal_of(user),
        referral_id=referral.id,
        **values,  # type: ignore[arg-type]
    )


def _withdraw(session: Session, user: User, referral: ServiceReferral, reason: str = REASON):
    return support.withdraw(
        session, actor=principal_of(user), referral_id=referral.id, reason=reason
    )


def test_reassigning_to_another_partner_hands_the_task_over_and_the_old_worker_gets_404(
    session: Session, cast: Cast
) -> None:
    clinic, therapist = _second_partner(session, cast)
    case = open_case(session, cast.officer, cast.site)
    referral = refer(session, cast.officer, case, cast.womens_federation, assignee=cast.support)
    support.change_status(
        session, actor=principal_of(cast.support), referral_id=referral.id, status="accepted"
    )
    start = head(session)
    _reassign(session, cast.officer, referral, organisation_id=clinic.id)
    assert events_since(session, start) == [("web:onestop:referral_reassign", "service_referral")]
    # The new partner accepts it itself; the deadline from the case's receipt stays.
    assert (referral.organisation_id, referral.assigned_to_id) == (clinic.id, None)
    assert referral.status == "referred"
    assert referral.started_at is None
    assert referral.due_at == case.received_at + timedelta(hours=72)
    event = session.scalars(select(AuditEvent).where(AuditEvent.seq == start + 1)).one()
    details = json.loads(event.details)
    assert details["organisation_from"] == str(cast.womens_federation.id)
    assert details["organisation_to"] == str(clinic.id)
    assert details["assigned_from"] == str(cast.support.id)
    assert (details["status_from"], details["status_to"]) == ("accepted", "referred")
    assert REASON not in event.details
    (change,) = support.changes_of(session, referral.id)
    assert change.reason == REASON
    stored = session.scalars(
        select(ReferralChange.reason_sealed).where(ReferralChange.id == change.id)
    ).one()
    assert "心理".encode() not in stored
    # The worker who lost it no longer sees it: a 404, as for a referral that does not exist.
    assert referral.id not in _visible(session, cast.support)
    with pytest.raises(NotFoundError):
        support.read_referral(session, actor=principal_of(cast.support), referral_id=referral.id)
    with pytest.raises(NotFoundError):
        support.change_status(
            session, actor=principal_of(cast.support), referral_id=referral.id, status="in_progress"
        )
    # The new partner's worker sees it (unassigned, of their organisation) and takes it.
    assert referral.id in _visible(session, therapist)
    support.change_status(
        session, actor=principal_of(therapist), referral_id=referral.id, status="accepted"
    )
    assert referral.assigned_to_id == therapist.id


def test_reassigning_within_the_partner_needs_another_worker(session: Session, cast: Cast) -> None:
    colleague = make_user(session, roles=(Role.SUPPORT_WORKER,), org=cast.womens_federation)
    case = open_case(session, cast.officer, cast.site)
    referral = refer(session, cast.officer, case, cast.womens_federation, assignee=cast.support)

    def refused(**kwargs: object) -> str | None:
        with pytest.raises(ValidationFailedError) as caught:
            _reassign(session, cast.officer, referral, **kwargs)
        return caught.value.field

    assert refused() == "assigned_to_id"  # same partner, nobody named
    assert refused(assigned_to_id=cast.support.id) == "assigned_to_id"  # the same worker
    assert refused(assigned_to_id=cast.outside_support.id) == "assigned_to_id"  # not theirs
    assert refused(organisation_id=cast.hospital.id) == "organisation_id"  # not at the site
    assert refused(assigned_to_id=colleague.id, reason=" ") == "reason"
    start = head(session)
    _reassign(session, cast.officer, referral, assigned_to_id=colleague.id)
    assert events_since(session, start) == [("web:onestop:referral_reassign", "service_referral")]
    assert (referral.organisation_id, referral.assigned_to_id) == (
        cast.womens_federation.id,
        colleague.id,
    )
    assert referral.status == "referred"
    assert _visible(session, cast.support) == set()
    assert _visible(session, colleague) == {referral.id}


def test_withdrawing_only_from_referred_or_accepted_with_a_reason(
    session: Session, cast: Cast
) -> None:
    case = open_case(session, cast.officer, cast.site)
    referral = refer(session, cast.officer, case, cast.womens_federation, assignee=cast.support)
    with pytest.raises(ValidationFailedError) as caught:
        _withdraw(session, cast.officer, referral, reason="")
    assert caught.value.field == "reason"
    start = head(session)
    _withdraw(session, cast.officer, referral)
    assert events_since(session, start) == [("web:onestop:referral_withdraw", "service_referral")]
    assert referral.status == "withdrawn"
    (change,) = support.changes_of(session, referral.id)
    assert (change.kind, change.reason) == ("withdraw", REASON)
    # Withdrawn is final: the partner cannot move it, the manager cannot withdraw it again.
    with pytest.raises(ConflictError):
        support.change_status(
            session, actor=principal_of(cast.support), referral_id=referral.id, status="accepted"
        )
    with pytest.raises(ConflictError):
        _withdraw(session, cast.officer, referral)
    # A service under way is completed by the partner, not withdrawn.
    running = refer(
        session, cast.officer, case, cast.womens_federation, service="family_counselling"
    )
    for status in ("accepted", "in_progress"):
        support.change_status(
            session, actor=principal_of(cast.support), referral_id=running.id, status=status
        )
    with pytest.raises(ConflictError) as conflict:
        _withdraw(session, cast.officer, running)
    assert conflict.value.field == "status"
    # The refusal names the status by its label in the reader's language, not by its code.
    before = current_language()
    set_language("zh_CN")
    try:
        shown = gettext(conflict.value.message, **conflict.value.params)
    finally:
        set_language(before)
    assert shown.startswith("状态为“进行中”的转介不能再改派或撤回")
    assert "in_progress" not in shown
    with pytest.raises(ConflictError):
        _reassign(session, cast.officer, running, organisation_id=cast.womens_federation.id)
    # Withdrawn, the child may be referred again for the same service.
    assert refer(session, cast.officer, case, cast.womens_federation).status == "referred"


def test_only_a_case_manager_on_the_team_reassigns_or_withdraws(
    session: Session, cast: Cast
) -> None:
    case = open_case(session, cast.officer, cast.site)
    join(session, case, cast.prosecutor, "prosecutor")
    referral = refer(session, cast.officer, case, cast.womens_federation, assignee=cast.support)
    with pytest.raises(NotFoundError):  # another team's officer: the referral is not there
        _withdraw(session, cast.second_officer, referral)
    with pytest.raises(ForbiddenError):  # a prosecutor on the team lacks the permission
        _withdraw(session, cast.prosecutor, referral)
    with pytest.raises(ForbiddenError):  # the partner's worker cannot give its task away
        _withdraw(session, cast.support, referral)
    assert referral.status == "referred"


def test_a_withdrawn_referral_is_never_overdue(session: Session, cast: Cast) -> None:
    case = open_case(session, cast.officer, cast.site)
    referral = refer(session, cast.officer, case, cast.womens_federation, assignee=cast.support)
    late = referral.due_at + timedelta(hours=1)

    def overdue(user: User) -> list[object]:
        found = deadlines_for(session, principal_of(user), now=late)
        return [i.referral_id for i in found.overdue if i.referral_id]

    assert overdue(cast.officer) == [referral.id]
    assert overdue(cast.support) == [referral.id]
    _withdraw(session, cast.officer, referral)
    assert overdue(cast.officer) == []
    assert overdue(cast.support) == []
    assert not support.is_overdue(referral, late)


def test_the_api_reassigns_and_withdraws(session: Session, cast: Cast, client: TestClient) -> None:
    clinic, _therapist = _second_partner(session, cast)
    case = open_case(session, cast.officer, cast.site)
    referral = refer(session, cast.officer, case, cast.womens_federation, assignee=cast.support)
    officer = _auth(session, cast.officer)
    worker = _auth(session, cast.support)
    base = f"/api/v1/onestop/referrals/{referral.id}"
    assert client.get(base, headers=worker).status_code == 200
    answer = client.post(
        f"{base}/reassign",
        json={"organisation_id": str(clinic.id), "reason": REASON},
        headers=officer,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["organisation_id"] == str(clinic.id)
    assert answer.json()["assigned_to"] is None
    assert client.get(base, headers=worker).status_code == 404
    answer = client.post(f"{base}/withdraw", json={"reason": REASON}, headers=officer)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "withdrawn"
    assert answer.json()["overdue"] is False
    answer = client.post(f"{base}/withdraw", json={"reason": REASON}, headers=officer)
    assert answer.status_code == 409
