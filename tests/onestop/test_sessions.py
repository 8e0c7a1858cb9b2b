"""Joint sessions and the single interview: scheduling, arrivals, the flag, the status move,
the second-interview refusal and approval, and interviews counted across the child's cases."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from shouhu.core.database import utcnow
from shouhu.core.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ValidationFailedError,
)
from shouhu.onestop import interviews, joint_sessions, repository
from shouhu.onestop.models import CaseStatus
from shouhu.onestop.session_models import Agency
from tests.factories.lifecycle import principal_of
from tests.factories.onestop import Cast, join, move_to, open_case
from tests.onestop.conftest import events_since, head

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shouhu.onestop.models import CaseMember, OneStopCase

CORE = ["criminal_investigation", "forensics", "procuratorate"]


def _team(session: Session, cast: Cast) -> tuple[OneStopCase, dict[str, CaseMember]]:
    case = open_case(session, cast.officer, cast.site)
    (lead,) = [m for m, _u in repository.team(session, case.id)]
    members = {
        "lead": lead,
        "forensic": join(session, case, cast.forensic, "forensic"),
        "prosecutor": join(session, case, cast.prosecutor, "prosecutor"),
        "support": join(session, case, cast.support, "womens_federation"),
    }
    return case, members


def _schedule(session: Session, cast: Cast, case: OneStopCase, **kwargs: object):
    values: dict[str, object] = {
        "site_id": cast.site.id,
        "scheduled_for": utcnow() - timedelta(hours=1),
        "required": None,
    }
    values.update(kwargs)
    return joint_sessions.schedule_session(
        session,
        actor=principal_of(cast.officer),
        case_id=case.id,
        **values,  # type: ignore[arg-type]
    )


def _arrive(  # noqa: PLR0917 - the tests read better positionally
    session: Session, cast: Cast, case, joint, agency: str, at: datetime, **kwargs
):
    return joint_sessions.record_arrival(
        session,
        actor=principal_of(cast.officer),
        case_id=case.id,
        session_id=joint.id,
        agency=agency,
        arrived_at=at,
        **kwargs,
    )


def _interview(session: Session, cast: Cast, case, child_id, member, **kwargs):
    start = utcnow() - timedelta(minutes=50)
    return interviews.record_interview(
        session,
        actor=principal_of(cast.officer),
        case_id=case.id,
        child_id=child_id,
        interviewer_id=member.id,
        started_at=start,
        ended_at=start + timedelta(minutes=40),
        recorded=True,
        **kwargs,
    )


def _child(session: Session, case: OneStopCase):
    (child,) = repository.children_of(session, case.id)
    return child


# --- scheduling ---------------------------------------------------------------------------------


def test_the_first_session_moves_a_received_case_and_both_steps_are_audited(
    session: Session, cast: Cast
) -> None:
    case, _ = _team(session, cast)
    start = head(session)
    joint = _schedule(session, cast, case)
    assert events_since(session, start) == [
        ("web:onestop:session_schedule", "joint_session"),
        ("web:onestop:case_status", "onestop_case"),
    ]
    assert case.status == CaseStatus.JOINT_SESSION_SCHEDULED.value
    history = repository.status_history(session, case.id)
    assert [(h.from_status, h.to_status) for h in history][-1] == (
        "received",
        "joint_session_scheduled",
    )
    # Defaults: the core three, guardian, psychologist; medical (molestation), the WF (a girl).
    assert [a.value for a in joint.required_agencies] == [
        *CORE,
        "womens_federation",
        "medical",
        "psychologist",
        "guardian",
    ]
    # A second session leaves the status where it is: one event only.
    start = head(session)
    _schedule(session, cast, case, required=["legal_aid"])
    assert events_since(session, start) == [("web:onestop:session_schedule", "joint_session")]


def test_the_core_agencies_are_always_required(session: Session, cast: Cast) -> None:
    case, _ = _team(session, cast)
    joint = _schedule(session, cast, case, required=["legal_aid"])
    assert [a.value for a in joint.required_agencies] == [*CORE, "legal_aid"]
    with pytest.raises(ValidationFailedError) as caught:
        _schedule(session, cast, case, required=["astrologer"])
    assert caught.value.field == "required"


def test_only_a_manager_on_the_team_schedules_and_a_naive_time_is_refused(
    session: Session, cast: Cast
) -> None:
    case, _ = _team(session, cast)
    with pytest.raises(ForbiddenError):
        joint_sessions.schedule_session(
            session,
            actor=principal_of(cast.forensic),
            case_id=case.id,
            site_id=None,
            scheduled_for=utcnow(),
        )
    with pytest.raises(ValidationFailedError) as caught:
        _schedule(session, cast, case, scheduled_for=datetime(2026, 11, 30, 9, 0))  # noqa: DTZ001
    assert caught.value.field == "scheduled_for"


# --- arrivals and the flag ----------------------------------------------------------------------


def test_arrivals_show_who_was_together_and_a_missing_agency_flags_the_session(
    session: Session, cast: Cast
) -> None:
    case, m = _team(session, cast)
    joint = _schedule(session, cast, case, required=[])
    t0 = utcnow() - timedelta(minutes=55)
    start = head(session)
    _arrive(session, cast, case, joint, "criminal_investigation", t0, member_id=m["lead"].id)
    forensic = _arrive(
        session,
        cast,
        case,
        joint,
        "forensics",
        t0 + timedelta(minutes=5),
        member_id=m["forensic"].id,
        departed_at=t0 + timedelta(minutes=20),
    )
    assert events_since(session, start) == [("web:onestop:session_arrival", "session_arrival")] * 2
    seen = joint_sessions.attendance(session, joint)
    assert seen.missing == [Agency.PROCURATORATE]
    assert seen.flagged
    # The prosecutor comes after the forensic examiner left: all came, never all at once.
    _arrive(
        session, cast, case, joint, "procuratorate", t0 + timedelta(minutes=30),
        member_id=m["prosecutor"].id,
    )  # fmt: skip
    seen = joint_sessions.attendance(session, joint)
    assert seen.missing == []
    assert not seen.all_together
    assert seen.flagged
    assert seen.together is not None
    assert seen.together.agencies == {Agency.CRIMINAL_INVESTIGATION, Agency.FORENSICS}
    assert seen.together.start == forensic.arrived_at
    # A second forensic examiner's arrival overlapping the prosecutor clears the flag.
    other = join(session, case, cast.second_officer, "forensic")
    _arrive(session, cast, case, joint, "forensics", t0 + timedelta(minutes=25), member_id=other.id)
    seen = joint_sessions.attendance(session, joint)
    assert seen.all_together
    assert not seen.flagged


def test_a_session_not_yet_due_is_not_flagged(session: Session, cast: Cast) -> None:
    case, _ = _team(session, cast)
    joint = _schedule(session, cast, case, scheduled_for=utcnow() + timedelta(days=1))
    seen = joint_sessions.attendance(session, joint)
    assert seen.missing
    assert not seen.flagged


def test_the_guardian_arrives_by_a_sealed_name_and_a_role_stands_only_for_its_agency(
    session: Session, cast: Cast
) -> None:
    case, m = _team(session, cast)
    joint = _schedule(session, cast, case)
    arrival = _arrive(
        session, cast, case, joint, "guardian", utcnow() - timedelta(minutes=30), person_name="李强"
    )
    assert arrival.person_name == "李强"
    assert b"\xe6\x9d\x8e" not in (arrival.person_name_sealed or b"")
    with pytest.raises(ValidationFailedError) as caught:
        _arrive(session, cast, case, joint, "guardian", utcnow(), person_name="")
    assert caught.value.field == "person_name"
    with pytest.raises(ValidationFailedError) as caught:
        _arrive(session, cast, case, joint, "procuratorate", utcnow(), member_id=m["support"].id)
    assert caught.value.field == "agency"
    with pytest.raises(ValidationFailedError) as caught:
        _arrive(session, cast, case, joint, "forensics", utcnow(), member_id=None)
    assert caught.value.field == "member_id"


def test_a_departure_is_recorded_once_and_after_the_arrival(session: Session, cast: Cast) -> None:
    case, m = _team(session, cast)
    joint = _schedule(session, cast, case)
    arrived = utcnow() - timedelta(minutes=30)
    arrival = _arrive(session, cast, case, joint, "forensics", arrived, member_id=m["forensic"].id)

    def leave(at: datetime):
        return joint_sessions.record_departure(
            session,
            actor=principal_of(cast.officer),
            case_id=case.id,
            session_id=joint.id,
            arrival_id=arrival.id,
            departed_at=at,
        )

    with pytest.raises(ValidationFailedError):
        leave(arrived - timedelta(minutes=1))
    start = head(session)
    leave(arrived + timedelta(minutes=20))
    assert events_since(session, start) == [("web:onestop:session_departure", "session_arrival")]
    with pytest.raises(ConflictError):
        leave(arrived + timedelta(minutes=25))


# --- the single interview -----------------------------------------------------------------------


def test_a_second_interview_is_refused_until_a_prosecutor_approves_it(
    session: Session, cast: Cast
) -> None:
    case, m = _team(session, cast)
    child = _child(session, case)
    joint = _schedule(session, cast, case)
    start = head(session)
    first = _interview(session, cast, case, child.id, m["forensic"], session_id=joint.id)
    assert events_since(session, start) == [("web:onestop:interview_record", "forensic_interview")]
    assert (first.number, first.session_id, first.approval_id) == (1, joint.id, None)
    with pytest.raises(ConflictError) as caught:
        _interview(session, cast, case, child.id, m["forensic"])
    assert caught.value.field == "child_id"
    assert "Child A has already been interviewed" in str(caught.value)
    assert "prosecutor" in str(caught.value)
    # Only a prosecutor on the team approves, with a reason.
    with pytest.raises(ForbiddenError):
        interviews.approve_second_interview(
            session, actor=principal_of(cast.officer), case_id=case.id, child_id=child.id,
            reason="x",
        )  # fmt: skip
    approve = principal_of(cast.prosecutor)
    with pytest.raises(ValidationFailedError) as caught_reason:
        interviews.approve_second_interview(
            session, actor=approve, case_id=case.id, child_id=child.id, reason="  "
        )
    assert caught_reason.value.field == "reason"
    start = head(session)
    approval = interviews.approve_second_interview(
        session,
        actor=approve,
        case_id=case.id,
        child_id=child.id,
        reason="首次询问录像损坏，需补充询问。",
    )
    assert events_since(session, start) == [
        ("web:onestop:second_interview_approve", "interview_approval")
    ]
    # One approval at a time.
    with pytest.raises(ConflictError):
        interviews.approve_second_interview(
            session, actor=approve, case_id=case.id, child_id=child.id, reason="再次"
        )
    second = _interview(session, cast, case, child.id, m["forensic"])
    assert (second.number, second.approval_id) == (2, approval.id)
    # The approval is used up: a third is refused again.
    with pytest.raises(ConflictError):
        _interview(session, cast, case, child.id, m["forensic"])
    (shown,) = interviews.child_interviews(session, [child])
    assert [i.number for i in shown.interviews] == [1, 2]
    assert shown.approved_further == 1
    assert not shown.pending_approval


def test_a_first_interview_needs_no_approval_and_none_is_given(
    session: Session, cast: Cast
) -> None:
    case, _ = _team(session, cast)
    with pytest.raises(ConflictError) as caught:
        interviews.approve_second_interview(
            session,
            actor=principal_of(cast.prosecutor),
            case_id=case.id,
            child_id=_child(session, case).id,
            reason="预先批准",
        )
    assert "first interview needs no approval" in str(caught.value)


def test_the_interviewer_is_a_team_member_who_interviews(session: Session, cast: Cast) -> None:
    case, m = _team(session, cast)
    with pytest.raises(ValidationFailedError) as caught:
        _interview(session, cast, case, _child(session, case).id, m["prosecutor"])
    assert caught.value.field == "interviewer_id"


def test_interviews_are_counted_across_the_childs_cases(session: Session, cast: Cast) -> None:
    first_case, m1 = _team(session, cast)
    second_case, m2 = _team(session, cast)
    _interview(session, cast, first_case, _child(session, first_case).id, m1["forensic"])
    _interview(session, cast, second_case, _child(session, second_case).id, m2["forensic"])
    (shown,) = interviews.child_interviews(session, [_child(session, second_case)])
    assert shown.recognised
    assert len(shown.interviews) == 1  # this case
    assert shown.all_cases == 2  # this case and the other


def test_a_child_without_a_document_is_counted_in_the_case_only(
    session: Session, cast: Cast
) -> None:
    from tests.factories.onestop import child as child_input  # noqa: PLC0415

    plain = child_input(id_type=None, id_number=None, age_at_intake=9)
    case_a = open_case(session, cast.officer, cast.site, children=(plain,))
    case_b = open_case(session, cast.officer, cast.site, children=(plain,))
    for case in (case_a, case_b):
        member = join(session, case, cast.forensic, "forensic")
        _interview(session, cast, case, _child(session, case).id, member)
    (shown,) = interviews.child_interviews(session, [_child(session, case_b)])
    assert not shown.recognised
    assert shown.all_cases == 1


def test_a_decided_case_gets_no_session_and_an_outsider_gets_404(
    session: Session, cast: Cast
) -> None:
    case, _ = _team(session, cast)
    move_to(session, case, CaseStatus.PROSECUTED)
    with pytest.raises(ConflictError) as caught:
        _schedule(session, cast, case)
    assert "cannot have a joint session" in str(caught.value)
    with pytest.raises(NotFoundError):
        joint_sessions.schedule_session(
            session,
            actor=principal_of(cast.second_officer),
            case_id=case.id,
            site_id=None,
            scheduled_for=utcnow(),
        )
