"""Receiving a case, who sees it, the status path, and the audited reading of a child's identity."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from shouhu.core.audit.models import AuditEvent
from shouhu.core.crypto.fields import DecryptionError
from shouhu.core.database import utcnow
from shouhu.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from shouhu.onestop import cases, repository
from shouhu.onestop.models import (
    CaseChild,
    CaseMember,
    CaseStatus,
    CaseStatusChange,
    CaseSuspect,
    OneStopCase,
)
from shouhu.registry.indexes import document_number_index
from tests.factories.lifecycle import principal_of
from tests.factories.onestop import (
    BORN,
    CHILD_NAME,
    CHILD_NUMBER,
    SUSPECT_NUMBER,
    Cast,
    child,
    intake,
    join,
    make_site,
    move_to,
    open_case,
)
from tests.onestop.conftest import events_since, head

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def _age_today() -> int:
    today = utcnow().date()
    return today.year - BORN.year - ((today.month, today.day) < (BORN.month, BORN.day))


# --- intake -------------------------------------------------------------------------------------


def test_intake_stores_the_case_seals_the_child_and_makes_the_officer_lead(
    session: Session, cast: Cast
) -> None:
    start = head(session)
    case = open_case(session, cast.officer, cast.site)
    assert events_since(session, start) == [
        ("web:onestop:case_open", "onestop_case"),
        ("web:onestop:member_add", "case_member"),
    ]
    assert case.status == CaseStatus.RECEIVED.value
    assert case.place == "某小学教师办公室"
    (stored,) = repository.children_of(session, case.id)
    assert stored.letter == "A"
    assert stored.name == CHILD_NAME
    assert stored.date_of_birth == BORN.isoformat()  # read from the identity number
    assert stored.age_at_intake == _age_today()
    assert stored.sex == "F"
    (suspect,) = repository.suspects_of(session, case.id)
    # The registry's own index of the number: a later link is one equality look-up.
    assert suspect.id_index == document_number_index(SUSPECT_NUMBER)
    assert suspect.registry_person_id is None
    ((member, user),) = repository.team(session, case.id)
    assert (user.id, member.role) == (cast.officer.id, "lead_officer")
    (history,) = repository.status_history(session, case.id)
    assert (history.from_status, history.to_status) == (None, "received")
    # The audit details hold codes and counts, never the child, the place or the suspect.
    details = " ".join(session.scalars(select(AuditEvent.details).where(AuditEvent.seq > start)))
    for secret in (CHILD_NAME, CHILD_NUMBER, SUSPECT_NUMBER, "王某", "小学", "李强"):
        assert secret not in details
    opened = json.loads(
        session.scalars(select(AuditEvent.details).where(AuditEvent.seq == start + 1)).one()
    )
    assert opened == {
        "channel": "mandatory_report_school",
        "offence": "child_molestation",
        "jurisdiction": "110101",
        "site": str(cast.site.id),
        "children": 1,
        "suspects": 1,
    }


def test_sealed_fields_are_not_stored_in_plaintext_and_are_bound_to_their_row(
    session: Session, cast: Cast
) -> None:
    case = open_case(session, cast.officer, cast.site)
    (stored,) = repository.children_of(session, case.id)
    raw = session.execute(
        select(
            CaseChild.name_sealed,
            CaseChild.id_number_sealed,
            CaseChild.guardian_name_sealed,
            CaseChild.special_needs_sealed,
        ).where(CaseChild.id == stored.id)
    ).one()
    for value, secret in zip(raw, (CHILD_NAME, CHILD_NUMBER, "李强", "听力障碍"), strict=True):
        assert secret.encode() not in bytes(value)
    place = session.scalar(select(OneStopCase.place_sealed).where(OneStopCase.id == case.id))
    assert "小学".encode() not in bytes(place or b"")
    # A sealed value copied to another child no longer opens (the row is in its associated data).
    second = open_case(session, cast.officer, cast.site)
    (other,) = repository.children_of(session, second.id)
    other.name_sealed = stored.name_sealed
    with pytest.raises(DecryptionError):
        _ = other.name


def test_children_get_letters_in_order_not_derived_from_their_names(
    session: Session, cast: Cast
) -> None:
    children = tuple(
        child(name=name, id_number=None, id_type=None, age_at_intake=9, date_of_birth=None)
        for name in ("张三", "Adam", "赵六")
    )
    case = open_case(session, cast.officer, cast.site, children=children)
    assert [c.letter for c in repository.children_of(session, case.id)] == ["A", "B", "C"]
    assert [cases.pseudonym_letter(i) for i in (0, 25, 26, 27, 51, 52)] == [
        "A",
        "Z",
        "AA",
        "AB",
        "AZ",
        "BA",
    ]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"received_at": None}, "received_at"),
        ({"received_at": utcnow() + timedelta(hours=1)}, "received_at"),
        ({"channel": "rumour"}, "channel"),
        ({"offence": "jaywalking"}, "offence"),
        ({"place": " "}, "place"),
        ({"jurisdiction": "999999"}, "jurisdiction"),
        ({"children": ()}, "children"),
        ({"children": (child(name=""),)}, "children.0.name"),
        ({"children": (child(sex="X"),)}, "children.0.sex"),
        (
            {
                "children": (
                    child(),
                    child(id_number="110101201604020045"),
                )
            },
            "children.1.id_number",
        ),
        ({"children": (child(date_of_birth=date(2015, 1, 1)),)}, "children.0.date_of_birth"),
        ({"children": (child(sex="M"),)}, "children.0.sex"),
        ({"children": (child(age_at_intake=3),)}, "children.0.age_at_intake"),
        (
            {"children": (child(id_number=None, id_type=None, age_at_intake=None),)},
            "children.0.age_at_intake",
        ),
        (
            {"children": (child(id_number=None, id_type=None, age_at_intake=18),)},
            "children.0.age_at_intake",
        ),
        ({"children": (child(special_needs="a\x00b"),)}, "children.0.special_needs"),
        ({"suspects": (cases.SuspectInput(name="王某", id_number="123"),)}, "suspects.0.id_number"),
        ({"suspects": (cases.SuspectInput(name=""),)}, "suspects.0.name"),
    ],
)
def test_intake_errors_name_the_field(
    session: Session, cast: Cast, overrides: dict[str, object], field: str
) -> None:
    start = head(session)
    with pytest.raises(ValidationFailedError) as caught:
        open_case(session, cast.officer, cast.site, **overrides)
    assert caught.value.field == field
    assert events_since(session, start) == []


def test_an_inactive_or_unknown_site_is_the_site_fields_error(session: Session, cast: Cast) -> None:
    closed = make_site(session, host=cast.bureau, active=False)
    for site_id in (closed.id, None):
        with pytest.raises(ValidationFailedError) as caught:
            cases.open_case(
                session,
                actor=principal_of(cast.officer),
                intake=intake(cast.site, site_id=site_id),
            )
        assert caught.value.field == "site_id"


def test_only_a_case_officer_receives_a_case(session: Session, cast: Cast) -> None:
    for user in (cast.prosecutor, cast.support, cast.forensic, cast.admin):
        with pytest.raises(ForbiddenError):
            open_case(session, user, cast.site)


# --- who sees a case ----------------------------------------------------------------------------


def test_only_active_members_see_a_case_and_everyone_else_gets_not_found(
    session: Session, cast: Cast
) -> None:
    case = open_case(session, cast.officer, cast.site)
    prosecutor = join(session, case, cast.prosecutor, "prosecutor")
    for user in (cast.officer, cast.prosecutor):
        assert repository.get_case(session, principal_of(user), case.id).id == case.id
    outsiders = (
        cast.second_officer,  # same bureau, not on the team
        cast.other_officer,
        cast.support,
        cast.admin,
        cast.auditor,
        cast.registry_clerk,
    )
    for user in outsiders:
        with pytest.raises(NotFoundError):
            repository.get_case(session, principal_of(user), case.id)
        assert session.scalars(repository.readable_cases(principal_of(user))).all() == []
    prosecutor.removed_at = utcnow()
    session.flush()
    with pytest.raises(NotFoundError):
        repository.get_case(session, principal_of(cast.prosecutor), case.id)


def test_reading_a_case_is_audited_and_a_foreign_case_writes_nothing(
    session: Session, cast: Cast
) -> None:
    case = open_case(session, cast.officer, cast.site)
    start = head(session)
    cases.read_case(session, actor=principal_of(cast.officer), case_id=case.id)
    assert events_since(session, start) == [("web:onestop:case_view", "onestop_case")]
    start = head(session)
    with pytest.raises(NotFoundError):
        cases.read_case(session, actor=principal_of(cast.second_officer), case_id=case.id)
    with pytest.raises(ForbiddenError):
        cases.read_case(session, actor=principal_of(cast.admin), case_id=case.id)
    assert events_since(session, start) == []


def test_a_childs_identity_is_for_the_team_and_every_read_is_audited(
    session: Session, cast: Cast
) -> None:
    case = open_case(session, cast.officer, cast.site)
    join(session, case, cast.support, "support")
    (stored,) = repository.children_of(session, case.id)
    start = head(session)
    for user in (cast.officer, cast.support):
        shown = cases.read_child_identity(
            session, actor=principal_of(user), case_id=case.id, child_id=stored.id
        )
        assert shown.name == CHILD_NAME
        assert shown.guardian_name == "李强"
    assert events_since(session, start) == [
        ("web:onestop:child_identity_read", "case_child"),
        ("web:onestop:child_identity_read", "case_child"),
    ]
    event = session.scalars(select(AuditEvent).where(AuditEvent.seq == start + 1)).one()
    assert event.object_id == str(stored.id)
    assert json.loads(event.details) == {"case": str(case.id), "letter": "A"}
    start = head(session)
    other = open_case(session, cast.second_officer, cast.site)
    (foreign_child,) = repository.children_of(session, other.id)
    after_open = head(session)
    for user, case_id, child_id in (
        (cast.second_officer, case.id, stored.id),  # not on the team
        (cast.officer, case.id, foreign_child.id),  # a child of another case
        (cast.officer, other.id, foreign_child.id),  # a case not theirs
    ):
        with pytest.raises(NotFoundError):
            cases.read_child_identity(
                session, actor=principal_of(user), case_id=case_id, child_id=child_id
            )
    assert head(session) == after_open


# --- the status path ----------------------------------------------------------------------------

PATH = [
    (CaseStatus.JOINT_SESSION_SCHEDULED, None),
    (CaseStatus.EVIDENCE_COLLECTED, None),
    (CaseStatus.UNDER_INVESTIGATION, None),
    (CaseStatus.PROSECUTED, None),
    (CaseStatus.JUDGED, None),
    (CaseStatus.CLOSED, "判决已生效，结案。"),
]


def test_a_case_walks_its_path_to_closure_each_move_audited(session: Session, cast: Cast) -> None:
    case = open_case(session, cast.officer, cast.site)
    actor = principal_of(cast.officer)
    start = head(session)
    for target, reason in PATH:
        assert cases.next_statuses(case.status) == [
            s for s in CaseStatus if s in cases.ALLOWED_MOVES[CaseStatus(case.status)]
        ]
        cases.change_status(
            session, actor=actor, case_id=case.id, status=target.value, reason=reason
        )
        assert case.status == target.value
    assert events_since(session, start) == [("web:onestop:case_status", "onestop_case")] * 6
    history = repository.status_history(session, case.id)
    assert [(h.from_status, h.to_status) for h in history] == [
        (None, "received"),
        ("received", "joint_session_scheduled"),
        ("joint_session_scheduled", "evidence_collected"),
        ("evidence_collected", "under_investigation"),
        ("under_investigation", "prosecuted"),
        ("prosecuted", "judged"),
        ("judged", "closed"),
    ]
    assert history[-1].reason == "判决已生效，结案。"
    last = json.loads(
        session.scalars(select(AuditEvent.details).order_by(AuditEvent.seq.desc())).first() or ""
    )
    assert (last["from"], last["to"]) == ("judged", "closed")
    assert "判决" not in json.dumps(last, ensure_ascii=False)  # the reason stays sealed
    assert cases.next_statuses(case.status) == []


def test_not_prosecuted_then_closed_each_need_a_reason(session: Session, cast: Cast) -> None:
    case = move_to(
        session, open_case(session, cast.officer, cast.site), CaseStatus.UNDER_INVESTIGATION
    )
    actor = principal_of(cast.officer)
    for target in (CaseStatus.NOT_PROSECUTED, CaseStatus.CLOSED):
        start = head(session)
        for missing in (None, "  "):
            with pytest.raises(ValidationFailedError) as caught:
                cases.change_status(
                    session, actor=actor, case_id=case.id, status=target.value, reason=missing
                )
            assert caught.value.field == "reason"
        assert events_since(session, start) == []
        cases.change_status(
            session, actor=actor, case_id=case.id, status=target.value, reason="证据不足。"
        )
    assert case.status == "closed"


ALL_MOVES = [(a, b) for a in CaseStatus for b in CaseStatus]


@pytest.mark.parametrize(("current", "target"), ALL_MOVES, ids=lambda s: s.value)
def test_every_move_outside_the_table_is_refused(
    session: Session, cast: Cast, current: CaseStatus, target: CaseStatus
) -> None:
    case = move_to(session, open_case(session, cast.officer, cast.site), current)
    start = head(session)
    allowed = target in cases.ALLOWED_MOVES[current]
    if allowed:
        cases.change_status(
            session,
            actor=principal_of(cast.officer),
            case_id=case.id,
            status=target.value,
            reason="理由。",
        )
        assert case.status == target.value
        assert events_since(session, start) == [("web:onestop:case_status", "onestop_case")]
        return
    with pytest.raises(ConflictError) as caught:
        cases.change_status(
            session,
            actor=principal_of(cast.officer),
            case_id=case.id,
            status=target.value,
            reason="理由。",
        )
    assert caught.value.field == "status"
    assert case.status == current.value
    assert events_since(session, start) == []


def test_the_table_is_the_path_of_the_issue() -> None:
    moves = {(a.value, b.value) for a, targets in cases.ALLOWED_MOVES.items() for b in targets}
    assert moves == {
        ("received", "joint_session_scheduled"),
        ("joint_session_scheduled", "evidence_collected"),
        ("evidence_collected", "under_investigation"),
        ("under_investigation", "prosecuted"),
        ("under_investigation", "not_prosecuted"),
        ("prosecuted", "judged"),  # judged only after a prosecution
        ("judged", "closed"),
        ("not_prosecuted", "closed"),
    }


def test_only_the_lead_or_a_case_officer_member_changes_the_status(
    session: Session, cast: Cast
) -> None:
    case = open_case(session, cast.officer, cast.site)
    join(session, case, cast.prosecutor, "prosecutor")
    join(session, case, cast.second_officer, "investigator")
    start = head(session)
    with pytest.raises(ForbiddenError):  # a prosecutor on the team: the permission is missing
        cases.change_status(
            session,
            actor=principal_of(cast.prosecutor),
            case_id=case.id,
            status="joint_session_scheduled",
        )
    with pytest.raises(NotFoundError):  # a case officer off the team
        cases.change_status(
            session,
            actor=principal_of(cast.other_officer),
            case_id=case.id,
            status="joint_session_scheduled",
        )
    assert events_since(session, start) == []
    cases.change_status(
        session,
        actor=principal_of(cast.second_officer),
        case_id=case.id,
        status="joint_session_scheduled",
    )
    assert case.status == "joint_session_scheduled"


def test_the_models_hang_off_the_case_and_the_child() -> None:
    # Later parts of issue 6 refer to these two keys.
    assert OneStopCase.__tablename__ == "onestop_cases"
    assert CaseChild.__tablename__ == "case_children"
    for model in (CaseChild, CaseSuspect, CaseMember, CaseStatusChange):
        assert any(
            fk.column.table.name == "onestop_cases"
            for fk in model.__table__.c.case_id.foreign_keys  # type: ignore[attr-defined]
        )
