"""Rescheduling and cancelling a joint session: only before anyone arrives, with a sealed reason,
audited; a cancelled session is shown as such, never flagged, and blocks nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from shouhu.core.audit.models import AuditEvent
from shouhu.core.database import utcnow
from shouhu.core.errors import ConflictError, ForbiddenError, ValidationFailedError
from shouhu.onestop import joint_sessions, repository
from shouhu.onestop.deadlines import DeadlineKind, deadlines_for
from shouhu.onestop.models import CaseStatus
from shouhu.onestop.session_models import SessionChange
from tests.factories.lifecycle import principal_of
from tests.factories.onestop import Cast, join, open_case
from tests.onestop.conftest import events_since, head
from tests.onestop.test_api import _auth

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session

    from shouhu.onestop.models import OneStopCase
    from shouhu.onestop.session_models import JointSession

REASON = "监护人李强因病住院，无法按时到场。"


def _schedule(session: Session, cast: Cast, case: OneStopCase, hours: float = 24) -> JointSession:
    return joint_sessions.schedule_session(
        session,
        actor=principal_of(cast.officer),
        case_id=case.id,
        site_id=None,
        scheduled_for=utcnow() + timedelta(hours=hours),
    )


def _reschedule(session: Session, cast: Cast, joint: JointSession, **kwargs: object):
    values: dict[str, object] = {
        "scheduled_for": joint.scheduled_for + timedelta(hours=4),
        "reason": REASON,
    }
    values.update(kwargs)
    return joint_sessions.reschedule_session(
        session,
        actor=principal_of(cast.officer),
        case_id=joint.case_id,
        session_id=joint.id,
        **values,  # type: ignore[arg-type]
    )


def _cancel(session: Session, cast: Cast, joint: JointSession, reason: str | None = REASON):
    return joint_sessions.cancel_session(
        session,
        actor=principal_of(cast.officer),
        case_id=joint.case_id,
        session_id=joint.id,
        reason=reason,
    )


def test_a_reschedule_moves_the_session_keeps_the_reason_sealed_and_is_audited(
    session: Session, cast: Cast
) -> None:
    case = open_case(session, cast.officer, cast.site)
    joint = _schedule(session, cast, case)
    before = joint.scheduled_for
    start = head(session)
    _reschedule(session, cast, joint)
    assert events_since(session, start) == [("web:onestop:session_reschedule", "joint_session")]
    assert joint.scheduled_for == before + timedelta(hours=4)
    (change,) = joint_sessions.changes_of(session, joint.id)
    assert (change.kind, change.previous_time, change.new_time) == (
        "reschedule",
        before,
        joint.scheduled_for,
    )
    assert change.reason == REASON
    # The reason names the guardian: sealed in the row, absent from the audit trail.
    raw = session.scalars(
        select(SessionChange.reason_sealed).where(SessionChange.id == change.id)
    ).one()
    assert REASON.encode() not in raw
    event = session.scalars(select(AuditEvent).where(AuditEvent.seq == start + 1)).one()
    details = json.loads(event.details)
    assert details["from"] == before.isoformat()
    assert details["to"] == joint.scheduled_for.isoformat()
    assert REASON not in event.details


def test_a_cancelled_session_is_kept_not_flagged_and_blocks_no_new_one(
    session: Session, cast: Cast
) -> None:
    case = open_case(session, cast.officer, cast.site)
    joint = _schedule(session, cast, case, hours=-1)  # an hour ago: due, nobody came
    assert joint_sessions.attendance(session, joint).flagged
    start = head(session)
    _cancel(session, cast, joint)
    assert events_since(session, start) == [("web:onestop:session_cancel", "joint_session")]
    seen = joint_sessions.attendance(session, joint)
    assert seen.cancelled
    assert not seen.flagged
    assert [c.kind for c in session.scalars(select(SessionChange))] == ["cancel"]
    # Nothing more happens to it: no arrival, no second cancellation, no move.
    (lead,) = [m for m, _u in repository.team(session, case.id)]
    with pytest.raises(ConflictError) as caught:
        joint_sessions.record_arrival(
            session,
            actor=principal_of(cast.officer),
            case_id=case.id,
            session_id=joint.id,
            agency="criminal_investigation",
            member_id=lead.id,
            arrived_at=utcnow(),
        )
    assert caught.value.field == "session_id"
    with pytest.raises(ConflictError):
        _cancel(session, cast, joint)
    with pytest.raises(ConflictError):
        _reschedule(session, cast, joint)
    # A new session can be scheduled at once; the case's status stays where it was.
    fresh = _schedule(session, cast, case)
    assert not fresh.cancelled
    assert case.status == CaseStatus.JOINT_SESSION_SCHEDULED.value
    assert [s.id for s in joint_sessions.sessions_of(session, case.id)] == [joint.id, fresh.id]


def test_after_an_arrival_a_session_cannot_be_cancelled_and_the_refusal_says_what_to_do(
    session: Session, cast: Cast
) -> None:
    case = open_case(session, cast.officer, cast.site)
    joint = _schedule(session, cast, case, hours=-1)
    (lead,) = [m for m, _u in repository.team(session, case.id)]
    joint_sessions.record_arrival(
        session,
        actor=principal_of(cast.officer),
        case_id=case.id,
        session_id=joint.id,
        agency="criminal_investigation",
        member_id=lead.id,
        arrived_at=utcnow() - timedelta(minutes=30),
    )
    start = head(session)
    with pytest.raises(ConflictError) as caught:
        _cancel(session, cast, joint)
    assert caught.value.status_code == 409
    assert "Record the departures instead" in caught.value.message
    assert "schedule a new session" in caught.value.message
    with pytest.raises(ConflictError):
        _reschedule(session, cast, joint)
    assert events_since(session, start) == []
    assert not joint.cancelled


def test_a_reason_is_required_and_only_a_manager_on_the_team_changes_a_session(
    session: Session, cast: Cast
) -> None:
    case = open_case(session, cast.officer, cast.site)
    join(session, case, cast.forensic, "forensic")
    joint = _schedule(session, cast, case)
    with pytest.raises(ValidationFailedError) as caught:
        _cancel(session, cast, joint, reason="  ")
    assert caught.value.field == "reason"
    with pytest.raises(ValidationFailedError) as caught:
        _reschedule(session, cast, joint, reason="")
    assert caught.value.field == "reason"
    with pytest.raises(ValidationFailedError) as caught:
        _reschedule(session, cast, joint, scheduled_for=joint.scheduled_for)
    assert caught.value.field == "scheduled_for"
    with pytest.raises(ForbiddenError):
        joint_sessions.cancel_session(
            session,
            actor=principal_of(cast.forensic),
            case_id=case.id,
            session_id=joint.id,
            reason=REASON,
        )
    assert not joint.cancelled


def test_a_case_whose_every_session_was_cancelled_is_awaiting_a_session_again(
    session: Session, cast: Cast
) -> None:
    case = open_case(session, cast.officer, cast.site)
    joint = _schedule(session, cast, case)
    later = case.received_at + timedelta(hours=25)

    def late() -> list[object]:
        found = deadlines_for(session, principal_of(cast.officer), now=later)
        return [i.case_id for i in found.overdue if i.kind == DeadlineKind.JOINT_SESSION]

    assert late() == []
    _cancel(session, cast, joint)
    assert late() == [case.id]
    _schedule(session, cast, case, hours=48)
    assert late() == []


def test_the_api_reschedules_cancels_and_refuses_with_409_after_an_arrival(
    session: Session, cast: Cast, client: TestClient
) -> None:
    case = open_case(session, cast.officer, cast.site)
    officer = _auth(session, cast.officer)
    base = f"/api/v1/onestop/cases/{case.id}/sessions"
    joint = client.post(
        base, json={"scheduled_for": (utcnow() + timedelta(days=1)).isoformat()}, headers=officer
    ).json()
    moved_to = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    answer = client.post(
        f"{base}/{joint['id']}/reschedule",
        json={"scheduled_for": moved_to.isoformat(), "reason": REASON},
        headers=officer,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["scheduled_for"].startswith(moved_to.strftime("%Y-%m-%dT%H:%M:%S"))
    answer = client.post(f"{base}/{joint['id']}/cancel", json={"reason": ""}, headers=officer)
    assert answer.status_code == 422
    answer = client.post(f"{base}/{joint['id']}/cancel", json={"reason": REASON}, headers=officer)
    assert answer.status_code == 200, answer.text
    assert answer.json()["cancelled_at"] is not None
    assert answer.json()["flagged"] is False
    # Another session, someone arrives: the cancellation is refused with what to do instead.
    held = client.post(
        base, json={"scheduled_for": (utcnow() - timedelta(hours=1)).isoformat()}, headers=officer
    ).json()
    (lead,) = [m for m, _u in repository.team(session, case.id)]
    arrived = client.post(
        f"{base}/{held['id']}/arrivals",
        json={
            "agency": "criminal_investigation",
            "member_id": str(lead.id),
            "arrived_at": (utcnow() - timedelta(minutes=20)).isoformat(),
        },
        headers=officer,
    )
    assert arrived.status_code == 201, arrived.text
    answer = client.post(f"{base}/{held['id']}/cancel", json={"reason": REASON}, headers=officer)
    assert answer.status_code == 409
    problem = answer.json()
    assert problem["errors"][0]["field"] == "session_id"
    assert "请改为登记离场" in problem["detail"]  # in the reader's language (zh_CN by default)
