"""The record lifecycle end to end: entry, four-eyes review, correction, revocation, sealing,
retention and scans, each change's audit events, and what screening answers at each step."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select

from shouhu.core.database import utcnow
from shouhu.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from shouhu.core.principal import Principal, system_principal
from shouhu.core.settings import Settings
from shouhu.identity.prc_id import latest_possible_date
from shouhu.registry import lifecycle
from shouhu.registry.lifecycle import (
    RecordCorrection,
    Scan,
    SubmissionInvalidError,
    approve_record,
    discard_expired_submissions,
    read_scan,
    return_record,
    revoke_record,
    seal_record,
    send_for_review,
    submit_correction,
    submit_record,
    update_submission,
    view_record,
)
from shouhu.registry.models import (
    RegistryPerson,
    RegistryRecord,
    RegistryRecordFile,
    RegistryRecordTransition,
)
from shouhu.registry.policy import InquiryPurpose
from shouhu.registry.repository import get_record
from shouhu.registry.schemas import RecordSubmission
from shouhu.screening.queries import parse_query
from shouhu.screening.service import Matcher, screen
from tests.factories.lifecycle import (
    JUVENILE_BORN,
    JUVENILE_NUMBER,
    Cast,
    audit_details_since,
    audit_head,
    audit_since,
    juvenile_submission,
    make_cast,
    penalty_submission,
    submission,
)
from tests.factories.registry import import_rows, prc_number, registry_row

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session, sessionmaker

NUMBER = prc_number("110101", date(1980, 5, 17), 123)  # registry_row's 王小明
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
RETURN_REASON = "判决书文号与扫描件不符，请核对王小明的案号"


@pytest.fixture
def cast(session: Session) -> Cast:
    return make_cast(session)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Stated weights and default thresholds: no weights file in an empty data directory."""
    return Settings(data_dir=tmp_path)


# --- helpers ------------------------------------------------------------------------------------


def approved(session: Session, cast: Cast, data: RecordSubmission | None = None) -> RegistryRecord:
    """A court's conviction (`submission()` by default), submitted and approved."""
    record = submit_record(session, actor=cast.court_clerk, data=data or submission())
    return approve_record(session, actor=cast.reviewer, record_id=record.id)


def imported_juvenile(
    session_factory: sessionmaker[Session], session: Session, tmp_path: Path
) -> RegistryRecord:
    """李小红's conviction for what she did at 16, imported, with its offence date and sentence."""
    row = registry_row(
        external_id="J-1",
        name="李小红",
        sex="F",
        date_of_birth=JUVENILE_BORN.isoformat(),
        id_number=JUVENILE_NUMBER,
        decision_date="2022-01-10",
    )
    assert import_rows(session_factory, tmp_path / "registry.csv", [row]).complete
    record = session.scalars(
        select(RegistryRecord)
        .join(RegistryPerson, RegistryPerson.id == RegistryRecord.person_id)
        .where(RegistryPerson.external_id == "J-1")
    ).one()
    assert (record.status, record.review_organisation_id) == ("active", None)
    # The import's columns (DESIGN §6) carry no offence date or sentence: entered afterwards.
    record.offence_date = date(2021, 6, 1)
    record.sentence_months = 36
    session.flush()
    return record


def correction(record: RegistryRecord, **overrides: Any) -> RecordCorrection:
    """The record's decision as a correction; override what the correction changes."""
    values: dict[str, Any] = {
        "record_kind": record.kind,
        "offence": record.offence,
        "decision_authority": record.decision_authority,
        "decision_number": record.decision_number,
        "decision_date": record.decision_date.isoformat(),
        "offence_date": record.offence_date,
        "sentence_months": record.sentence_months,
    }
    values.update(overrides)
    return RecordCorrection(**values)


def history(session: Session, record_id: uuid.UUID) -> list[tuple[str | None, str]]:
    """The record's stored transitions as (from, to), in order."""
    rows = session.execute(
        select(RegistryRecordTransition.from_status, RegistryRecordTransition.to_status)
        .where(RegistryRecordTransition.record_id == record_id)
        .order_by(RegistryRecordTransition.seq)
    )
    return [(from_status, to_status) for from_status, to_status in rows]


def stored_status(session: Session, record_id: uuid.UUID) -> str | None:
    return session.scalar(select(RegistryRecord.status).where(RegistryRecord.id == record_id))


def count(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def refused(session: Session, error: type[Exception], action: Callable[[], object]) -> Any:
    """Run a refused action as a request would: its error raised, its transaction rolled back."""
    with pytest.raises(error) as caught, session.begin_nested():
        action()
    session.expire_all()
    return caught.value


def assert_unchanged(
    session: Session, record_id: uuid.UUID, status: str, transitions: int, since: int
) -> None:
    """A refusal leaves the record's status, its history and the audit chain as they were."""
    assert stored_status(session, record_id) == status
    assert len(history(session, record_id)) == transitions
    assert audit_since(session, since) == []


def outcome(
    session: Session,
    settings: Settings,
    *,
    purpose: InquiryPurpose = InquiryPurpose.CLOSE_CONTACT,
    name: str = "王小明",
    number: str = NUMBER,
) -> str:
    """What the CLI's screening answers for this person and purpose, as of now."""
    query = parse_query(
        1,
        {"reference": "q", "name": name, "id_type": "prc_id", "id_number": number},
        today=latest_possible_date(),
    )
    results = screen(
        session,
        actor=system_principal("cli"),
        queries=[query],
        matcher=Matcher.from_settings(settings, purpose=purpose),
        via="file",
    )
    return results[0].outcome


def web(action: str) -> str:
    return f"web:{action}"


# --- 1. every transition ------------------------------------------------------------------------


def test_a_draft_is_sent_for_review_and_approved_onto_a_new_registry_person(session, cast):
    start = audit_head(session)
    draft = submit_record(session, actor=cast.court_clerk, data=submission(), send=False)
    assert (draft.status, draft.version, draft.source) == ("draft", 1, "court")
    assert draft.person_id is None
    assert draft.submitted_at is None
    assert draft.review_organisation_id == cast.bureau.id  # the bureau nearest the court
    assert audit_since(session, start) == [(web(lifecycle.ACTION_DRAFT), str(draft.id))]

    start = audit_head(session)
    sent = send_for_review(session, actor=cast.court_clerk, record_id=draft.id)
    assert sent.status == "pending_review"
    assert sent.submitted_at is not None
    assert audit_since(session, start) == [(web(lifecycle.ACTION_SUBMIT), str(draft.id))]

    persons = count(session, RegistryPerson)
    start = audit_head(session)
    live = approve_record(session, actor=cast.reviewer, record_id=draft.id)
    assert live.status == "active"
    assert live.approved_by_id == cast.reviewer.user_id
    assert count(session, RegistryPerson) == persons + 1
    person = session.get_one(RegistryPerson, live.person_id)
    assert person.name == "王小明"
    assert [d.number for d in person.documents] == [NUMBER]
    # As the import registers one: what the number implies (a resident card: CHN, born 1980).
    assert (person.nationality, person.sex, str(person.date_of_birth)) == ("CHN", "M", "1980-05-17")
    assert audit_since(session, start) == [(web(lifecycle.ACTION_APPROVE), str(draft.id))]
    assert history(session, draft.id) == [
        (None, "draft"),
        ("draft", "pending_review"),
        ("pending_review", "active"),
    ]
    actors = [t.actor_id for t in live.transitions]
    assert actors == [cast.court_clerk.user_id, cast.court_clerk.user_id, cast.reviewer.user_id]


def test_a_returned_record_keeps_its_reason_sealed_and_is_edited_sent_again_and_approved(
    session, cast
):
    record = submit_record(
        session, actor=cast.court_clerk, data=submission(decision_number="(2019)京0101刑初12号")
    )
    start = audit_head(session)
    returned = return_record(
        session, actor=cast.reviewer, record_id=record.id, reason=f"  {RETURN_REASON}  "
    )
    assert returned.status == "returned"
    assert audit_since(session, start) == [(web(lifecycle.ACTION_RETURN), str(record.id))]
    session.expire_all()
    last = session.scalars(
        select(RegistryRecordTransition)
        .where(RegistryRecordTransition.record_id == record.id)
        .order_by(RegistryRecordTransition.seq.desc())
    ).first()
    assert last is not None
    assert (last.from_status, last.to_status) == ("pending_review", "returned")
    assert last.reason == RETURN_REASON
    assert last.reason_sealed is not None
    assert RETURN_REASON.encode() not in last.reason_sealed

    start = audit_head(session)
    fixed = submission(decision_number="(2019)京0101刑初123号")
    edited = update_submission(session, actor=cast.court_clerk, record_id=record.id, data=fixed)
    assert edited.status == "pending_review"
    assert edited.decision_number == "(2019)京0101刑初123号"
    assert audit_since(session, start) == [
        (web(lifecycle.ACTION_UPDATE), str(record.id)),
        (web(lifecycle.ACTION_SUBMIT), str(record.id)),
    ]
    live = approve_record(session, actor=cast.reviewer, record_id=record.id)
    assert live.status == "active"
    assert history(session, record.id) == [
        (None, "pending_review"),
        ("pending_review", "returned"),
        ("returned", "pending_review"),
        ("pending_review", "active"),
    ]
    session.expire_all()
    assert session.get_one(RegistryRecord, record.id).decision_number == "(2019)京0101刑初123号"


def test_an_approved_correction_replaces_the_old_version_which_is_kept_and_linked(session, cast):
    old = approved(session, cast)
    start = audit_head(session)
    new = submit_correction(
        session,
        actor=cast.court_clerk,
        record_id=old.id,
        data=correction(old, decision_date="2019-11-06"),
    )
    assert (new.status, new.version, new.supersedes_id) == ("pending_review", 2, old.id)
    assert new.person_id == old.person_id
    assert old.status == "active"  # until the correction is approved
    assert audit_since(session, start) == [(web(lifecycle.ACTION_SUBMIT), str(new.id))]

    start = audit_head(session)
    approve_record(session, actor=cast.reviewer, record_id=new.id)
    assert audit_since(session, start) == [
        (web(lifecycle.ACTION_SUPERSEDE), str(old.id)),
        (web(lifecycle.ACTION_APPROVE), str(new.id)),
    ]
    session.expire_all()
    kept = session.get_one(RegistryRecord, old.id)
    current = session.get_one(RegistryRecord, new.id)
    assert (kept.status, kept.version) == ("corrected", 1)
    assert (current.status, current.version, current.supersedes_id) == ("active", 2, old.id)
    assert current.decision_date == date(2019, 11, 6)
    assert history(session, old.id)[-1] == ("active", "corrected")
    records = session.scalars(
        select(RegistryRecord.status).where(RegistryRecord.person_id == old.person_id)
    )
    assert sorted(records) == ["active", "corrected"]


def test_an_active_record_is_revoked_with_its_reason(session, cast):
    record = approved(session, cast)
    start = audit_head(session)
    revoked = revoke_record(
        session, actor=cast.reviewer, record_id=record.id, reason="二审改判无罪"
    )
    assert revoked.status == "revoked"
    assert audit_since(session, start) == [(web(lifecycle.ACTION_REVOKE), str(record.id))]
    assert history(session, record.id)[-1] == ("active", "revoked")
    assert revoked.transitions[-1].reason == "二审改判无罪"


def test_an_eligible_imported_record_is_sealed_and_a_sealed_record_revoked(
    session_factory, session, cast, tmp_path
):
    record = imported_juvenile(session_factory, session, tmp_path)
    start = audit_head(session)
    sealed = seal_record(
        session, actor=cast.reviewer, record_id=record.id, reason="未成年人犯罪记录封存"
    )
    assert sealed.status == "sealed"
    assert audit_since(session, start) == [(web(lifecycle.ACTION_SEAL), str(record.id))]
    assert sealed.transitions[-1].reason == "未成年人犯罪记录封存"

    start = audit_head(session)
    revoked = revoke_record(session, actor=cast.reviewer, record_id=record.id, reason="再审撤销")
    assert revoked.status == "revoked"
    assert audit_since(session, start) == [(web(lifecycle.ACTION_REVOKE), str(record.id))]
    assert history(session, record.id) == [("active", "sealed"), ("sealed", "revoked")]


def test_approving_an_eligible_juvenile_record_seals_it_at_once(session, cast):
    record = submit_record(session, actor=cast.court_clerk, data=juvenile_submission())
    start = audit_head(session)
    sealed = approve_record(session, actor=cast.reviewer, record_id=record.id)
    assert sealed.status == "sealed"
    assert history(session, record.id) == [(None, "pending_review"), ("pending_review", "sealed")]
    assert sealed.transitions[-1].reason is None  # the rule sealed it, not a person
    assert audit_since(session, start) == [(web(lifecycle.ACTION_APPROVE), str(record.id))]
    # A non-prosecution decision for such a minor is sealed as well (no sentence to weigh).
    procuratorate = submit_record(
        session,
        actor=cast.prosecutor,
        data=juvenile_submission(
            record_kind="non_prosecution",
            offence="forcible_indecency",
            decision_authority="北京市东城区人民检察院",
            decision_number="京东检未不诉〔2022〕3号",
            sentence_months=None,
        ),
    )
    assert procuratorate.source == "procuratorate"
    assert approve_record(session, actor=cast.reviewer, record_id=procuratorate.id).status == (
        "sealed"
    )


def test_an_adult_record_or_a_long_sentence_is_approved_active_not_sealed(session, cast):
    adult = approved(session, cast, submission(offence_date=date(2019, 3, 1), sentence_months=24))
    assert adult.status == "active"
    long = submit_record(
        session, actor=cast.court_clerk, data=juvenile_submission(sentence_months=61)
    )
    assert approve_record(session, actor=cast.reviewer, record_id=long.id).status == "active"


# --- 2. every refusal ---------------------------------------------------------------------------


def test_a_submitter_holding_both_roles_cannot_approve_their_own_record(session, cast):
    record = submit_record(session, actor=cast.clerk_and_reviewer, data=penalty_submission())
    assert record.source == "public_security"
    start = audit_head(session)
    refused(
        session,
        ForbiddenError,
        lambda: approve_record(session, actor=cast.clerk_and_reviewer, record_id=record.id),
    )
    assert_unchanged(session, record.id, "pending_review", 1, start)
    # Another reviewer of the bureau may.
    assert approve_record(session, actor=cast.reviewer, record_id=record.id).status == "active"


def test_a_reviewer_who_edited_and_sent_a_returned_record_cannot_approve_it(session, cast):
    record = submit_record(session, actor=cast.registry_clerk, data=penalty_submission())
    return_record(session, actor=cast.reviewer, record_id=record.id, reason="文号有误")
    fixed = penalty_submission(decision_number="京公东行罚决字〔2023〕102号")
    update_submission(session, actor=cast.clerk_and_reviewer, record_id=record.id, data=fixed)
    start = audit_head(session)
    refused(
        session,
        ForbiddenError,
        lambda: approve_record(session, actor=cast.clerk_and_reviewer, record_id=record.id),
    )
    assert_unchanged(session, record.id, "pending_review", 3, start)
    assert approve_record(session, actor=cast.reviewer, record_id=record.id).status == "active"


def test_who_changed_a_draft_without_sending_it_cannot_approve_it(session, cast):
    # Saving a draft moves no status, so only the audit trail knows who wrote it.
    record = submit_record(session, actor=cast.registry_clerk, data=penalty_submission())
    return_record(session, actor=cast.reviewer, record_id=record.id, reason="文号有误")
    fixed = penalty_submission(decision_number="京公东行罚决字〔2023〕103号")
    update_submission(
        session, actor=cast.clerk_and_reviewer, record_id=record.id, data=fixed, send=False
    )
    send_for_review(session, actor=cast.registry_clerk, record_id=record.id)
    refused(
        session,
        ForbiddenError,
        lambda: approve_record(session, actor=cast.clerk_and_reviewer, record_id=record.id),
    )
    assert approve_record(session, actor=cast.reviewer, record_id=record.id).status == "active"


def test_a_return_or_a_revocation_needs_a_reason(session, cast):
    pending = submit_record(session, actor=cast.court_clerk, data=submission())
    live = approved(session, cast, submission(decision_number="(2020)京0101刑初9号"))
    start = audit_head(session)
    for action in (
        lambda: return_record(session, actor=cast.reviewer, record_id=pending.id, reason="  "),
        lambda: revoke_record(session, actor=cast.reviewer, record_id=live.id, reason=""),
        lambda: seal_record(session, actor=cast.reviewer, record_id=live.id, reason=""),
    ):
        assert refused(session, ValidationFailedError, action).field == "reason"
    assert_unchanged(session, pending.id, "pending_review", 1, start)
    assert_unchanged(session, live.id, "active", 2, start)


def test_only_a_reviewer_of_the_reviewing_bureau_decides(session, cast):
    record = submit_record(session, actor=cast.court_clerk, data=submission())
    start = audit_head(session)
    refused(
        session,
        NotFoundError,
        lambda: approve_record(session, actor=cast.other_reviewer, record_id=record.id),
    )
    refused(
        session,
        NotFoundError,
        lambda: return_record(session, actor=cast.other_reviewer, record_id=record.id, reason="x"),
    )
    refused(
        session,
        ForbiddenError,
        lambda: approve_record(session, actor=cast.court_clerk, record_id=record.id),
    )
    refused(
        session,
        ForbiddenError,
        lambda: approve_record(session, actor=cast.registry_clerk, record_id=record.id),
    )
    assert_unchanged(session, record.id, "pending_review", 1, start)


def test_an_approved_record_is_never_edited_in_place_nor_approved_twice(session, cast):
    record = approved(session, cast)
    start = audit_head(session)
    error = refused(
        session,
        ConflictError,
        lambda: update_submission(
            session,
            actor=cast.court_clerk,
            record_id=record.id,
            data=submission(offence="intentional_injury"),
        ),
    )
    assert "correction" in str(error)
    refused(
        session,
        ConflictError,
        lambda: approve_record(session, actor=cast.second_reviewer, record_id=record.id),
    )
    refused(
        session,
        ConflictError,
        lambda: send_for_review(session, actor=cast.court_clerk, record_id=record.id),
    )
    assert_unchanged(session, record.id, "active", 2, start)
    assert session.get_one(RegistryRecord, record.id).offence == "child_molestation"


def test_a_record_waiting_for_review_cannot_be_changed_by_its_submitter(session, cast):
    record = submit_record(session, actor=cast.court_clerk, data=submission())
    start = audit_head(session)
    refused(
        session,
        ConflictError,
        lambda: update_submission(
            session, actor=cast.court_clerk, record_id=record.id, data=submission()
        ),
    )
    assert_unchanged(session, record.id, "pending_review", 1, start)


@pytest.mark.parametrize(
    ("who", "overrides", "field"),
    [
        # 2020 Opinions art. 2: a court sends convictions, a procuratorate non-prosecutions.
        ("court_clerk", {"record_kind": "non_prosecution"}, "record_kind"),
        ("prosecutor", {}, "record_kind"),
        ("registry_clerk", {}, "received_on_paper"),
    ],
)
def test_a_source_enters_only_the_kinds_it_decides(session, cast, who, overrides, field):
    records = count(session, RegistryRecord)
    start = audit_head(session)
    actor: Principal = getattr(cast, who)
    error = refused(
        session,
        ValidationFailedError,
        lambda: submit_record(session, actor=actor, data=submission(**overrides)),
    )
    assert error.field == field
    assert count(session, RegistryRecord) == records
    assert audit_since(session, start) == []


def test_a_registry_clerk_enters_a_conviction_received_on_paper(session, cast):
    record = submit_record(
        session, actor=cast.registry_clerk, data=submission(received_on_paper=True)
    )
    assert (record.source, record.review_organisation_id) == ("paper", cast.bureau.id)
    assert approve_record(session, actor=cast.reviewer, record_id=record.id).status == "active"


def test_an_adult_record_or_a_long_sentence_cannot_be_sealed(session, cast):
    adult = approved(session, cast, submission(offence_date=date(2019, 3, 1), sentence_months=24))
    long = approved(session, cast, juvenile_submission(sentence_months=72))
    assert long.status == "active"
    start = audit_head(session)
    error = refused(
        session,
        ConflictError,
        lambda: seal_record(session, actor=cast.reviewer, record_id=adult.id, reason="封存"),
    )
    assert "18" in str(error)
    error = refused(
        session,
        ConflictError,
        lambda: seal_record(session, actor=cast.reviewer, record_id=long.id, reason="封存"),
    )
    assert "60 months" in str(error)
    assert_unchanged(session, adult.id, "active", 2, start)
    assert_unchanged(session, long.id, "active", 2, start)


def test_a_second_correction_waits_for_the_first(session, cast):
    old = approved(session, cast)
    first = submit_correction(
        session, actor=cast.court_clerk, record_id=old.id, data=correction(old)
    )
    start = audit_head(session)
    for data in (correction(old, decision_date="2019-11-07"), correction(old)):
        refused(
            session,
            ConflictError,
            lambda data=data: submit_correction(
                session, actor=cast.court_clerk, record_id=old.id, data=data
            ),
        )
    assert audit_since(session, start) == []
    # Returned, the first is still under way; approved, it is the record to correct.
    return_record(session, actor=cast.reviewer, record_id=first.id, reason="补充扫描件")
    refused(
        session,
        ConflictError,
        lambda: submit_correction(
            session, actor=cast.court_clerk, record_id=old.id, data=correction(old)
        ),
    )
    assert count(session, RegistryRecord) == 2


def test_an_invalid_identity_number_names_the_field_and_writes_nothing(session, cast):
    records = count(session, RegistryRecord)
    start = audit_head(session)
    bad = NUMBER[:-1] + ("0" if NUMBER[-1] != "0" else "1")
    error = refused(
        session,
        SubmissionInvalidError,
        lambda: submit_record(session, actor=cast.court_clerk, data=submission(id_number=bad)),
    )
    assert "id_number" in error.problems
    assert error.field == next(iter(error.problems))
    assert count(session, RegistryRecord) == records
    assert audit_since(session, start) == []


def test_a_decision_already_live_for_the_person_is_refused_at_approval(session, cast):
    approved(session, cast)
    persons = count(session, RegistryPerson)
    again = submit_record(session, actor=cast.court_clerk, data=submission(name="王晓明"))
    start = audit_head(session)
    refused(
        session,
        ConflictError,
        lambda: approve_record(session, actor=cast.reviewer, record_id=again.id),
    )
    assert_unchanged(session, again.id, "pending_review", 1, start)
    assert session.get_one(RegistryRecord, again.id).person_id is None
    assert count(session, RegistryPerson) == persons
    # The reviewer returns it instead.
    returned = return_record(session, actor=cast.reviewer, record_id=again.id, reason="重复报送")
    assert returned.status == "returned"


@pytest.mark.parametrize(
    ("scan", "problem"),
    [
        (Scan("judgment.docx", "application/msword", b"PK\x03\x04word"), "PDF, JPEG, PNG"),
        (Scan("judgment.html", "text/html", b"<html></html>"), "PDF, JPEG, PNG"),
        (Scan("judgment.pdf", "application/pdf", b""), "empty"),
        # A browser names the type from the file's extension: a renamed file is no scan.
        (Scan("judgment.pdf", "application/pdf", b"PK\x03\x04word"), "PDF, JPEG, PNG"),
        (Scan("photo.png", "image/png", b"\xff\xd8\xff\xe0JFIF"), "PDF, JPEG, PNG"),
    ],
)
def test_a_scan_must_be_a_pdf_or_an_image_and_not_empty(session, cast, scan, problem):
    records = count(session, RegistryRecord)
    files = count(session, RegistryRecordFile)
    error = refused(
        session,
        ValidationFailedError,
        lambda: submit_record(session, actor=cast.court_clerk, data=submission(), scan=scan),
    )
    assert error.field == "scan"
    assert problem in str(error)
    assert (count(session, RegistryRecord), count(session, RegistryRecordFile)) == (records, files)


@pytest.mark.parametrize(
    ("content_type", "content"),
    [
        ("application/pdf", PDF),
        ("image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF"),
        ("image/png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        ("image/tiff", b"II*\x00\x08\x00\x00\x00"),
        ("image/tiff", b"MM\x00*\x00\x00\x00\x08"),
    ],
)
def test_each_accepted_scan_type_is_stored(session, cast, content_type, content):
    scan = Scan("scan", content_type, content)
    record = submit_record(session, actor=cast.court_clerk, data=submission(), scan=scan)
    assert [f.content_type for f in record.files] == [content_type]


def test_a_draft_is_seen_by_its_own_organisation_only(session, cast):
    draft = submit_record(session, actor=cast.court_clerk, data=submission(), send=False)
    assert get_record(session, cast.court_clerk, draft.id).id == draft.id
    for outsider in (
        cast.other_court_clerk,
        cast.prosecutor,
        cast.registry_clerk,
        cast.reviewer,
        cast.other_reviewer,
    ):
        with pytest.raises(NotFoundError):
            get_record(session, outsider, draft.id)
        refused(
            session,
            NotFoundError,
            lambda outsider=outsider: view_record(session, actor=outsider, record_id=draft.id),
        )
    with pytest.raises(NotFoundError):
        send_for_review(session, actor=cast.other_court_clerk, record_id=draft.id)
    # Sent, the reviewing bureau's reviewers see it; another bureau's still do not.
    send_for_review(session, actor=cast.court_clerk, record_id=draft.id)
    assert get_record(session, cast.reviewer, draft.id).id == draft.id
    with pytest.raises(NotFoundError):
        get_record(session, cast.other_reviewer, draft.id)


# --- 3. the audit trail holds no personal data --------------------------------------------------


def test_no_audit_event_of_the_lifecycle_holds_plaintext_personal_data(session, cast):
    start = audit_head(session)
    record = submit_record(
        session,
        actor=cast.court_clerk,
        data=submission(former_names="王明"),
        scan=Scan("王小明判决书.pdf", "application/pdf", PDF),
        send=False,
    )
    send_for_review(session, actor=cast.court_clerk, record_id=record.id)
    return_record(session, actor=cast.reviewer, record_id=record.id, reason=RETURN_REASON)
    update_submission(session, actor=cast.court_clerk, record_id=record.id, data=submission())
    approve_record(session, actor=cast.reviewer, record_id=record.id)
    view_record(session, actor=cast.reviewer, record_id=record.id)
    read_scan(session, actor=cast.reviewer, record_id=record.id, file_id=record.files[0].id)
    new = submit_correction(
        session,
        actor=cast.court_clerk,
        record_id=record.id,
        data=correction(record, decision_number="(2019)京0101刑初124号"),
    )
    approve_record(session, actor=cast.reviewer, record_id=new.id)
    revoke_record(session, actor=cast.reviewer, record_id=new.id, reason="王小明二审改判无罪")

    assert [action for action, _ in audit_since(session, start)] == [
        web(lifecycle.ACTION_DRAFT),
        web(lifecycle.ACTION_SUBMIT),
        web(lifecycle.ACTION_RETURN),
        web(lifecycle.ACTION_UPDATE),
        web(lifecycle.ACTION_SUBMIT),
        web(lifecycle.ACTION_APPROVE),
        web(lifecycle.ACTION_VIEW),
        web(lifecycle.ACTION_FILE_READ),
        web(lifecycle.ACTION_SUBMIT),
        web(lifecycle.ACTION_SUPERSEDE),
        web(lifecycle.ACTION_APPROVE),
        web(lifecycle.ACTION_REVOKE),
    ]
    details = audit_details_since(session, start)
    text = " ".join(details)
    for secret in (
        "王小明",
        "王明",
        "Wang",
        NUMBER,
        NUMBER[6:14],
        "1980-05-17",
        RETURN_REASON,
        "二审改判",
        "刑初123号",
        "判决书",
    ):
        assert secret not in text, secret
    assert json.loads(details[0])["scan_sha256"] == [record.files[0].sha256]


# --- 4. what screening answers ------------------------------------------------------------------


def test_an_active_record_is_a_hit_and_after_revocation_the_next_inquiry_finds_nothing(
    session, cast, settings
):
    record = approved(session, cast)
    for purpose in InquiryPurpose:
        assert outcome(session, settings, purpose=purpose) == "hit", purpose
    revoke_record(session, actor=cast.reviewer, record_id=record.id, reason="二审改判无罪")
    for purpose in InquiryPurpose:
        assert outcome(session, settings, purpose=purpose) == "no_record", purpose


def test_a_sealed_record_is_never_disclosed_to_an_employer(session, cast, settings):
    record = submit_record(session, actor=cast.court_clerk, data=juvenile_submission())
    approve_record(session, actor=cast.reviewer, record_id=record.id)
    for purpose in InquiryPurpose:
        found = outcome(session, settings, purpose=purpose, name="李小红", number=JUVENILE_NUMBER)
        assert found == "no_record", purpose


def test_a_record_sealed_after_approval_stops_being_a_hit(
    session_factory, session, cast, settings, tmp_path
):
    record = imported_juvenile(session_factory, session, tmp_path)
    check = {"name": "李小红", "number": JUVENILE_NUMBER}
    for purpose in InquiryPurpose:
        assert outcome(session, settings, purpose=purpose, **check) == "hit", purpose
    seal_record(session, actor=cast.reviewer, record_id=record.id, reason="未成年人犯罪记录封存")
    for purpose in InquiryPurpose:
        assert outcome(session, settings, purpose=purpose, **check) == "no_record", purpose


def test_a_correction_that_makes_a_record_eligible_seals_it(session, cast, settings):
    # No sentence recorded: approved active, a hit; corrected with the sentence, sealed.
    old = approved(session, cast, juvenile_submission(sentence_months=None))
    assert old.status == "active"
    check = {"name": "李小红", "number": JUVENILE_NUMBER}
    assert outcome(session, settings, **check) == "hit"
    new = submit_correction(
        session, actor=cast.court_clerk, record_id=old.id, data=correction(old, sentence_months=12)
    )
    assert approve_record(session, actor=cast.reviewer, record_id=new.id).status == "sealed"
    assert stored_status(session, old.id) == "corrected"
    for purpose in InquiryPurpose:
        assert outcome(session, settings, purpose=purpose, **check) == "no_record", purpose


def test_an_unapproved_submission_is_never_a_hit(session, cast, settings):
    record = submit_record(session, actor=cast.court_clerk, data=submission(), send=False)
    assert outcome(session, settings) == "no_record"
    send_for_review(session, actor=cast.court_clerk, record_id=record.id)
    assert outcome(session, settings) == "no_record"
    return_record(session, actor=cast.reviewer, record_id=record.id, reason="补充材料")
    assert outcome(session, settings) == "no_record"
    send_for_review(session, actor=cast.court_clerk, record_id=record.id)
    approve_record(session, actor=cast.reviewer, record_id=record.id)
    assert outcome(session, settings) == "hit"


def test_an_unapproved_correction_of_a_known_person_is_never_a_hit(session, cast, settings):
    # The person is in the registry for a violent offence: a school's inquiry finds nothing.
    old = approved(session, cast, submission(offence="intentional_injury"))
    school = InquiryPurpose.SCHOOL_STAFF
    assert outcome(session, settings, purpose=school) == "no_record"
    assert outcome(session, settings) == "hit"  # close contact: violence counts
    # A correction to a sexual offence counts only once approved, whatever its state before.
    sexual = correction(old, offence="child_molestation")
    new = submit_correction(
        session, actor=cast.court_clerk, record_id=old.id, data=sexual, send=False
    )
    assert new.person_id == old.person_id
    assert outcome(session, settings, purpose=school) == "no_record"
    send_for_review(session, actor=cast.court_clerk, record_id=new.id)
    assert outcome(session, settings, purpose=school) == "no_record"
    return_record(session, actor=cast.reviewer, record_id=new.id, reason="补充材料")
    assert outcome(session, settings, purpose=school) == "no_record"
    update_submission(session, actor=cast.court_clerk, record_id=new.id, data=sexual)
    approve_record(session, actor=cast.reviewer, record_id=new.id)
    assert outcome(session, settings, purpose=school) == "hit"


def test_a_corrected_record_is_a_hit_under_its_new_details(session, cast, settings):
    old = approved(session, cast)
    school = InquiryPurpose.SCHOOL_STAFF
    assert outcome(session, settings, purpose=school) == "hit"
    new = submit_correction(
        session,
        actor=cast.court_clerk,
        record_id=old.id,
        data=correction(old, offence="intentional_injury"),
    )
    assert outcome(session, settings, purpose=school) == "hit"  # the old version still counts
    approve_record(session, actor=cast.reviewer, record_id=new.id)
    assert outcome(session, settings, purpose=school) == "no_record"
    assert outcome(session, settings, purpose=InquiryPurpose.CLOSE_CONTACT) == "hit"


# --- 5. retention -------------------------------------------------------------------------------


def test_an_unfinished_submission_is_discarded_after_90_days_and_a_decided_one_never(session, cast):
    live = approved(session, cast)
    returned = submit_record(
        session,
        actor=cast.court_clerk,
        data=submission(decision_number="(2020)京0101刑初9号"),
        scan=Scan("scan.pdf", "application/pdf", PDF),
    )
    return_record(session, actor=cast.reviewer, record_id=returned.id, reason="补充材料")
    pending = submit_record(
        session, actor=cast.court_clerk, data=submission(decision_number="(2021)京0101刑初1号")
    )
    draft = submit_record(
        session,
        actor=cast.prosecutor,
        data=submission(
            record_kind="non_prosecution",
            decision_authority="北京市东城区人民检察院",
            decision_number="京东检未不诉〔2022〕3号",
        ),
        send=False,
    )
    files = count(session, RegistryRecordFile)
    operator = system_principal("cli")

    start = audit_head(session)
    assert discard_expired_submissions(session, actor=operator, now=utcnow() + timedelta(89)) == 0
    assert audit_since(session, start) == []

    discarded = discard_expired_submissions(session, actor=operator, now=utcnow() + timedelta(91))
    assert discarded == 2
    assert sorted(audit_since(session, start)) == sorted(
        ("cli:registry:record_discard", str(record.id)) for record in (returned, draft)
    )
    session.expire_all()
    for gone in (returned.id, draft.id):
        assert stored_status(session, gone) is None
        assert history(session, gone) == []
    assert count(session, RegistryRecordFile) == files - 1
    with pytest.raises(NotFoundError):
        get_record(session, cast.court_clerk, returned.id)
    # Pending review is not unfinished: the reviewers have it. Decided records are history.
    later = utcnow() + timedelta(days=3650)
    assert discard_expired_submissions(session, actor=operator, now=later) == 0
    assert stored_status(session, live.id) == "active"
    assert stored_status(session, pending.id) == "pending_review"


# --- 6. scans -----------------------------------------------------------------------------------


def test_a_scan_is_read_back_checked_and_a_tampered_one_refused(session, cast):
    record = submit_record(
        session,
        actor=cast.court_clerk,
        data=submission(),
        scan=Scan("判决书.pdf", "application/pdf", PDF),
    )
    stored = record.files[0]
    assert PDF not in stored.content_sealed  # sealed at rest
    start = audit_head(session)
    read = read_scan(session, actor=cast.reviewer, record_id=record.id, file_id=stored.id)
    assert (read.content, read.filename, read.size) == (PDF, "判决书.pdf", len(PDF))
    assert audit_since(session, start) == [(web(lifecycle.ACTION_FILE_READ), str(stored.id))]
    with pytest.raises(NotFoundError):
        read_scan(session, actor=cast.other_reviewer, record_id=record.id, file_id=stored.id)
    with pytest.raises(NotFoundError):
        read_scan(session, actor=cast.reviewer, record_id=record.id, file_id=uuid.uuid4())

    # Someone with the key writes another (validly sealed) document in its place.
    stored.content = PDF.replace(b"Catalog", b"Forgery")
    session.flush()
    session.expire_all()
    start = audit_head(session)
    refused(
        session,
        ConflictError,
        lambda: read_scan(session, actor=cast.reviewer, record_id=record.id, file_id=stored.id),
    )
    assert audit_since(session, start) == []


def test_a_mistaken_revocation_is_reinstated_by_another_reviewer(session, cast, settings):
    record = approved(session, cast)
    revoke_record(session, actor=cast.reviewer, record_id=record.id, reason="误撤")
    assert outcome(session, settings) == "no_record"
    start = audit_head(session)
    refused(
        session,
        ForbiddenError,
        lambda: lifecycle.reinstate_record(
            session, actor=cast.reviewer, record_id=record.id, reason="撤回"
        ),
    )
    assert_unchanged(session, record.id, "revoked", 3, start)
    lifecycle.reinstate_record(
        session, actor=cast.second_reviewer, record_id=record.id, reason="再审维持原判，撤销有误"
    )
    assert audit_since(session, start) == [(web("registry:record_reinstate"), str(record.id))]
    assert stored_status(session, record.id) == "active"
    assert outcome(session, settings) == "hit"
    with pytest.raises(ConflictError):
        lifecycle.reinstate_record(
            session, actor=cast.second_reviewer, record_id=record.id, reason="again"
        )
