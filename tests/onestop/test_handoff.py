"""The hand-off of a convicted suspect to the registry: who may send, when, once, checked by the
registry's own rules; the draft then follows the registry's clerk → reviewer path (four eyes)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from shouhu.accounts.roles import Role
from shouhu.core.audit.models import AuditEvent
from shouhu.core.database import utcnow
from shouhu.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from shouhu.onestop import handoff, repository
from shouhu.onestop.handoff_models import CaseRegistryHandoff
from shouhu.onestop.models import CaseStatus, CaseSuspect, OneStopCase
from shouhu.registry import lifecycle
from shouhu.registry import repository as registry_repository
from shouhu.registry.lifecycle import SubmissionInvalidError
from shouhu.registry.models import RecordSource, RecordStatus, RegistryRecord
from shouhu.registry.schemas import RecordSubmission
from tests.factories.accounts import api_token, make_user
from tests.factories.lifecycle import principal_of
from tests.factories.onestop import SUSPECT_NUMBER, Cast, join, move_to, open_case
from tests.onestop.conftest import events_since, head

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import User

JUDGMENT_NUMBER = "(2026)京0101刑初456号"
CASES = "/api/v1/onestop/cases"


def judgment(**overrides: Any) -> handoff.Judgment:
    """The district court's conviction: two and a half years, for the case's offence."""
    values: dict[str, Any] = {
        "decision_authority": "北京市东城区人民法院",
        "decision_number": JUDGMENT_NUMBER,
        "decision_date": "2026-10-15",
        "offence_date": date(2026, 3, 2),
        "sentence_months": 30,
    }
    values.update(overrides)
    return handoff.Judgment(**values)


def judged_case(session: Session, officer: User, cast: Cast, **overrides: Any) -> OneStopCase:
    """A case received by the officer and judged."""
    return move_to(session, open_case(session, officer, cast.site, **overrides), CaseStatus.JUDGED)


def the_suspect(session: Session, case: OneStopCase) -> CaseSuspect:
    (suspect,) = repository.suspects_of(session, case.id)
    return suspect


def send(session: Session, user: User, case: OneStopCase, **overrides: Any) -> RegistryRecord:
    """Hand the case's suspect off as the user; the draft record it made."""
    made = handoff.hand_off(
        session,
        actor=principal_of(user),
        case_id=case.id,
        suspect_id=the_suspect(session, case).id,
        judgment=judgment(**overrides),
    )
    assert made.registry_record_id is not None
    return session.get_one(RegistryRecord, made.registry_record_id)


def reviewer_of(session: Session, cast: Cast) -> User:
    return make_user(session, roles=(Role.REGISTRY_REVIEWER,), org=cast.bureau)


# --- the draft ----------------------------------------------------------------------------------


def test_a_judged_cases_suspect_becomes_a_draft_of_the_officers_bureau(
    session: Session, cast: Cast
) -> None:
    case = judged_case(session, cast.officer, cast)
    start = head(session)
    record = send(session, cast.officer, case)
    assert events_since(session, start) == [
        ("web:registry:record_draft", "registry_record"),
        ("web:onestop:registry_handoff", "case_suspect"),
    ]
    assert record.status == RecordStatus.DRAFT.value
    assert record.source == RecordSource.ONESTOP_CASE.value == "onestop_case"
    assert record.kind == "conviction"
    assert record.offence == "child_molestation"  # the case's offence by default
    assert record.submitting_organisation_id == cast.bureau.id
    assert record.review_organisation_id == cast.bureau.id
    assert record.submitted_by_id == cast.officer.id
    assert record.decision_number == JUDGMENT_NUMBER
    assert (record.sentence_months, record.offence_date) == (30, date(2026, 3, 2))
    # The suspect's name and document from the case; sex, birth date and nationality read from
    # the 18-digit resident ID number.
    assert record.subject == {
        "name": "王某",
        "former_names": "",
        "sex": "M",
        "date_of_birth": "1980-05-17",
        "nationality": "CHN",
        "id_type": "prc_id",
        "id_number": SUSPECT_NUMBER,
    }
    stored = session.scalars(select(CaseRegistryHandoff)).one()
    assert (stored.case_id, stored.suspect_id, stored.sent_by_id) == (
        case.id,
        the_suspect(session, case).id,
        cast.officer.id,
    )
    # Sealed as the registry seals every draft, and nothing personal in the audit trail.
    raw = session.execute(
        select(RegistryRecord.subject_sealed, RegistryRecord.decision_number_sealed).where(
            RegistryRecord.id == record.id
        )
    ).one()
    assert all("王某".encode() not in column for column in raw)
    assert all(SUSPECT_NUMBER.encode() not in column for column in raw)
    details = " ".join(session.scalars(select(AuditEvent.details).where(AuditEvent.seq > start)))
    for secret in ("王某", SUSPECT_NUMBER, JUDGMENT_NUMBER, "1980-05-17"):
        assert secret not in details


def test_the_form_may_name_another_offence_and_the_identity_the_document_lacks(
    session: Session, cast: Cast
) -> None:
    case = judged_case(session, cast.officer, cast)
    suspect = the_suspect(session, case)
    suspect.id_type, suspect.id_number, suspect.id_index = None, None, None
    session.flush()
    record = send(
        session,
        cast.officer,
        case,
        offence="forcible_indecency",
        id_type="passport",
        id_number="E12345678",
        sex="M",
        date_of_birth="1979-01-02",
        nationality="CHN",
    )
    assert record.offence == "forcible_indecency"
    assert record.subject is not None
    assert (record.subject["id_type"], record.subject["id_number"]) == ("passport", "E12345678")
    assert record.subject["date_of_birth"] == "1979-01-02"


# --- who may send, and when ---------------------------------------------------------------------


def test_only_a_case_officer_on_the_team_hands_off_and_others_get_not_found(
    session: Session, cast: Cast
) -> None:
    case = judged_case(session, cast.officer, cast)
    suspect = the_suspect(session, case)

    def attempt(user: User) -> None:
        handoff.hand_off(
            session,
            actor=principal_of(user),
            case_id=case.id,
            suspect_id=suspect.id,
            judgment=judgment(),
        )

    # Not on the team: the 404 of a case that does not exist.
    with pytest.raises(NotFoundError):
        attempt(cast.second_officer)
    # On the team without the permission (forensics, the prosecutor), or without a case role.
    join(session, case, cast.forensic, "forensic")
    join(session, case, cast.prosecutor, "prosecutor")
    for member in (cast.forensic, cast.prosecutor, cast.registry_clerk):
        with pytest.raises(ForbiddenError):
            attempt(member)
    # A suspect of another case is not found through this one.
    other = judged_case(session, cast.officer, cast)
    with pytest.raises(NotFoundError):
        handoff.hand_off(
            session,
            actor=principal_of(cast.officer),
            case_id=case.id,
            suspect_id=the_suspect(session, other).id,
            judgment=judgment(),
        )
    # A case officer on the team who is not the lead may send.
    join(session, case, cast.second_officer, "investigator")
    attempt(cast.second_officer)
    assert session.scalars(select(CaseRegistryHandoff.suspect_id)).all() == [suspect.id]


@pytest.mark.parametrize("status", [s for s in CaseStatus if s is not CaseStatus.JUDGED])
def test_a_case_not_judged_is_refused_with_a_conflict(
    session: Session, cast: Cast, status: CaseStatus
) -> None:
    case = move_to(session, open_case(session, cast.officer, cast.site), status)
    start = head(session)
    with pytest.raises(ConflictError, match="not judged"):
        send(session, cast.officer, case)
    assert events_since(session, start) == []
    assert session.scalars(select(RegistryRecord)).all() == []


def test_a_suspect_is_sent_only_once(session: Session, cast: Cast) -> None:
    case = judged_case(session, cast.officer, cast)
    send(session, cast.officer, case)
    start = head(session)
    with pytest.raises(ConflictError, match="only once") as refused:
        send(session, cast.officer, case, decision_number="(2026)京0101刑初999号")
    assert utcnow().date().isoformat() in str(refused.value)
    assert events_since(session, start) == []
    assert len(session.scalars(select(RegistryRecord)).all()) == 1


def test_a_draft_the_registry_discarded_may_be_sent_again(session: Session, cast: Cast) -> None:
    case = judged_case(session, cast.officer, cast)
    send(session, cast.officer, case)
    discarded = lifecycle.discard_expired_submissions(
        session, actor=principal_of(cast.registry_clerk), now=utcnow() + timedelta(days=3650)
    )
    assert discarded == 1
    session.expire_all()
    (state,) = handoff.handoffs_of(session, case).values()
    assert state.record_status is None
    again = send(session, cast.officer, case)
    assert again.status == RecordStatus.DRAFT.value
    (state,) = handoff.handoffs_of(session, case).values()
    assert state.record_status is RecordStatus.DRAFT


# --- the registry's rules -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"decision_number": ""}, "decision_number"),
        ({"decision_authority": ""}, "decision_authority"),
        ({"decision_date": "2026-13-40"}, "decision_date"),
        ({"offence": "no_such_offence"}, "offence"),
        ({"sex": "F"}, "sex"),  # the identity number says M
        ({"date_of_birth": "1981-01-01"}, "date_of_birth"),
        ({"nationality": "ZZZ"}, "nationality"),  # no ISO 3166 alpha-3 code
        ({"offence_date": date(2026, 11, 1)}, "offence_date"),  # after the judgment
        ({"sentence_months": 5000}, "sentence_months"),
        ({"decision_authority": "院" * 300}, "decision_authority"),
    ],
)
def test_the_registrys_submission_rules_name_the_field(
    session: Session, cast: Cast, overrides: dict[str, Any], field: str
) -> None:
    case = judged_case(session, cast.officer, cast)
    start = head(session)
    with pytest.raises(SubmissionInvalidError) as refused:
        send(session, cast.officer, case, **overrides)
    assert field in refused.value.problems
    assert events_since(session, start) == []
    assert session.scalars(select(CaseRegistryHandoff)).all() == []


def test_a_suspect_without_a_document_needs_one(session: Session, cast: Cast) -> None:
    case = judged_case(session, cast.officer, cast)
    suspect = the_suspect(session, case)
    suspect.id_type, suspect.id_number, suspect.id_index = None, None, None
    session.flush()
    with pytest.raises(SubmissionInvalidError) as refused:
        send(session, cast.officer, case)
    assert {"id_type", "id_number"} & refused.value.problems.keys()


def test_the_registry_entry_point_refuses_anyone_but_a_case_officer_of_public_security(
    session: Session, cast: Cast
) -> None:
    data = RecordSubmission(
        name="王某",
        id_type="prc_id",
        id_number=SUSPECT_NUMBER,
        record_kind="conviction",
        offence="child_molestation",
        decision_authority="北京市东城区人民法院",
        decision_number=JUDGMENT_NUMBER,
        decision_date="2026-10-15",
    )
    with pytest.raises(ForbiddenError):
        lifecycle.draft_from_case(session, actor=principal_of(cast.registry_clerk), data=data)
    penalty = data.model_copy(update={"record_kind": "administrative_penalty"})
    with pytest.raises(SubmissionInvalidError):  # the catalogue: not a penalty's offence
        lifecycle.draft_from_case(session, actor=principal_of(cast.officer), data=penalty)


# --- the registry's path, unchanged ---------------------------------------------------------


def test_the_clerk_sees_the_draft_sends_it_and_another_reviewer_approves_it(
    session: Session, cast: Cast
) -> None:
    case = judged_case(session, cast.officer, cast)
    record = send(session, cast.officer, case)
    clerk = principal_of(cast.registry_clerk)
    drafts = session.scalars(registry_repository.own_submissions(clerk)).all()
    assert [r.id for r in drafts] == [record.id]
    start = head(session)
    lifecycle.send_for_review(session, actor=clerk, record_id=record.id)
    (state,) = handoff.handoffs_of(session, case).values()
    assert state.record_status is RecordStatus.PENDING_REVIEW
    reviewer = principal_of(reviewer_of(session, cast))
    lifecycle.approve_record(session, actor=reviewer, record_id=record.id)
    assert [action for action, _ in events_since(session, start)] == [
        "web:registry:record_submit",
        "web:registry:record_approve",
    ]
    assert record.status == RecordStatus.ACTIVE.value
    session.expire_all()
    (state,) = handoff.handoffs_of(session, case).values()
    assert state.record_status is RecordStatus.ACTIVE
    # The case's suspect is now linked to the registry person the approval resolved.
    assert the_suspect(session, case).registry_person_id == record.person_id is not None


def test_the_case_officer_can_never_approve_what_they_handed_off(
    session: Session, cast: Cast
) -> None:
    # One user who works cases and also reviews records: four eyes still apply.
    both = make_user(session, roles=(Role.CASE_OFFICER, Role.REGISTRY_REVIEWER), org=cast.bureau)
    case = judged_case(session, both, cast)
    record = send(session, both, case)
    lifecycle.send_for_review(session, actor=principal_of(cast.registry_clerk), record_id=record.id)
    with pytest.raises(ForbiddenError, match="another reviewer"):
        lifecycle.approve_record(session, actor=principal_of(both), record_id=record.id)
    assert record.status == RecordStatus.PENDING_REVIEW.value
    # A plain case officer holds no review permission at all.
    with pytest.raises(ForbiddenError):
        lifecycle.approve_record(session, actor=principal_of(cast.officer), record_id=record.id)


def test_a_clerks_correction_keeps_the_source_and_the_kind(session: Session, cast: Cast) -> None:
    case = judged_case(session, cast.officer, cast)
    record = send(session, cast.officer, case)
    clerk = principal_of(cast.registry_clerk)
    values = {**(record.subject or {})}
    corrected = RecordSubmission(
        **values,
        record_kind="conviction",
        offence="child_molestation",
        decision_authority="北京市东城区人民法院",
        decision_number="(2026)京0101刑初457号",
        decision_date="2026-10-16",
        sentence_months=36,
    )
    lifecycle.update_submission(session, actor=clerk, record_id=record.id, data=corrected)
    assert record.source == RecordSource.ONESTOP_CASE.value
    assert record.status == RecordStatus.PENDING_REVIEW.value
    assert record.decision_number == "(2026)京0101刑初457号"
    # A hand-off is a conviction: the clerk cannot turn it into another kind.
    other = judged_case(session, cast.officer, cast)
    second = send(session, cast.officer, other, decision_number="(2026)京0101刑初777号")
    penalty = corrected.model_copy(
        update={"record_kind": "administrative_penalty", "offence": "indecency_administrative"}
    )
    with pytest.raises(ValidationFailedError, match="only for a conviction"):
        lifecycle.update_submission(session, actor=clerk, record_id=second.id, data=penalty)


def test_a_returned_record_shows_as_returned_to_the_team(session: Session, cast: Cast) -> None:
    case = judged_case(session, cast.officer, cast)
    record = send(session, cast.officer, case)
    lifecycle.send_for_review(session, actor=principal_of(cast.registry_clerk), record_id=record.id)
    lifecycle.return_record(
        session,
        actor=principal_of(reviewer_of(session, cast)),
        record_id=record.id,
        reason="判决书编号与法院系统不一致。",
    )
    (state,) = handoff.handoffs_of(session, case).values()
    assert state.record_status is RecordStatus.RETURNED


# --- the API ------------------------------------------------------------------------------------


def _auth(session: Session, user: User) -> dict[str, str]:
    token = api_token(session, user)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "decision_authority": "北京市东城区人民法院",
        "decision_number": JUDGMENT_NUMBER,
        "decision_date": "2026-10-15",
        "offence_date": "2026-03-02",
        "sentence_months": 30,
    }
    body.update(overrides)
    return body


def test_the_api_hands_off_once_and_lists_the_status(
    session: Session, cast: Cast, client: TestClient
) -> None:
    case = judged_case(session, cast.officer, cast)
    suspect = the_suspect(session, case)
    headers = _auth(session, cast.officer)
    path = f"{CASES}/{case.id}/suspects/{suspect.id}/registry-handoff"
    start = head(session)
    sent = client.post(path, json=_body(), headers=headers)
    assert sent.status_code == 201, sent.text
    assert sent.json()["record_status"] == "draft"
    assert sent.json()["suspect_id"] == str(suspect.id)
    assert sent.json()["sent_by"] == cast.officer.username
    assert events_since(session, start) == [
        ("api:registry:record_draft", "registry_record"),
        ("api:onestop:registry_handoff", "case_suspect"),
    ]
    again = client.post(path, json=_body(), headers=headers)
    assert again.status_code == 409
    assert "每名嫌疑人只能移送一次" in again.json()["detail"]
    listed = client.get(f"{CASES}/{case.id}/registry-handoffs", headers=headers)
    assert listed.status_code == 200
    assert [(h["suspect_id"], h["record_status"]) for h in listed.json()] == [
        (str(suspect.id), "draft")
    ]


def test_the_api_names_every_field_at_fault_and_refuses_a_case_not_judged(
    session: Session, cast: Cast, client: TestClient
) -> None:
    case = judged_case(session, cast.officer, cast)
    suspect = the_suspect(session, case)
    headers = _auth(session, cast.officer)
    path = f"{CASES}/{case.id}/suspects/{suspect.id}/registry-handoff"
    bad = client.post(path, json=_body(decision_number="", sex="F"), headers=headers)
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} >= {"decision_number"}
    # In the reader's language: the registry's rule, by its reason code (Chinese by default).
    future = client.post(path, json=_body(decision_date="2999-01-01"), headers=headers)
    assert future.status_code == 422
    (problem,) = future.json()["errors"]
    assert (problem["field"], problem["message"]) == ("decision_date", "日期晚于今天。")
    english = client.post(
        path, json=_body(decision_date="2999-01-01"), headers={**headers, "Accept-Language": "en"}
    )
    assert "future" in english.json()["errors"][0]["message"]
    too_long = client.post(path, json=_body(sentence_months=99999), headers=headers)
    assert too_long.status_code == 422
    assert [e["field"] for e in too_long.json()["errors"]] == ["sentence_months"]
    move_to(session, case, CaseStatus.PROSECUTED)
    session.commit()
    early = client.post(path, json=_body(), headers=headers)
    assert early.status_code == 409
    assert "本案件尚未判决" in early.json()["detail"]


def test_the_api_answers_not_found_off_the_team(
    session: Session, cast: Cast, client: TestClient
) -> None:
    case = judged_case(session, cast.officer, cast)
    suspect = the_suspect(session, case)
    headers = _auth(session, cast.second_officer)
    path = f"{CASES}/{case.id}/suspects/{suspect.id}/registry-handoff"
    assert client.post(path, json=_body(), headers=headers).status_code == 404
    assert client.get(f"{CASES}/{case.id}/registry-handoffs", headers=headers).status_code == 404
