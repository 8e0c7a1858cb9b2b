"""Batches of inquiries: upload checks, approval, answers row by row, repeats, invalid rows,
results, visibility, and a runner that dies halfway and another that resumes exactly once."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import uuid
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest
from openpyxl import Workbook  # type: ignore[import-untyped]
from sqlalchemy import func, select, update

from shouhu.accounts.roles import OrgType, Role
from shouhu.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from shouhu.core.principal import Principal
from shouhu.core.settings import Settings
from shouhu.identity.prc_id import latest_possible_date
from shouhu.registry.policy import InquiryPurpose
from shouhu.screening import batches
from shouhu.screening.batch_runner import HOST, BatchRunner
from shouhu.screening.batches import BatchUpload, approve_batch, refuse_batch, upload_batch
from shouhu.screening.certificates import verify_code
from shouhu.screening.inquiries import submit_inquiry
from shouhu.screening.models import BatchStatus, Inquiry, InquiryBatch, InquiryBatchRow
from shouhu.screening.service import Matcher
from tests.factories.accounts import make_org, make_user
from tests.factories.lifecycle import principal_of
from tests.factories.registry import prc_number
from tests.screening.test_inquiries import (
    OFFENDER,
    STRANGER,
    Scene,
    actions_since,
    ask,
    head,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

HEADER = ["reference", "name", "id_type", "id_number", "date_of_birth", "sex", "position"]


def strangers(count: int, *, start: int = 0) -> list[list[str]]:
    """Rows of candidates nobody has registered, each with a distinct valid number."""
    rows = []
    for i in range(start, start + count):
        born = date(1970, 1, 1) + timedelta(days=i // 900)
        number = prc_number("110105", born, 100 + i % 900)
        rows.append([f"EMP-{i:06d}", "李四", "prc_id", number, "", "", "保安"])
    return rows


def csv_bytes(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def xlsx_bytes(rows: list[list[str]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def upload(content: bytes, *, name: str = "staff.csv", **extra: object) -> BatchUpload:
    return BatchUpload(
        purpose=str(extra.pop("purpose", "annual_recheck")),
        consent_reference="年度复查同意书-2026",
        consent_signed_on=latest_possible_date() - timedelta(days=30),
        file_name=name,
        content=content,
        **extra,  # type: ignore[arg-type]
    )


def run_all(factory: sessionmaker[Session], settings: Settings, *, chunk: int = 4) -> BatchRunner:
    runner = BatchRunner(factory, settings.model_copy(update={"batch_chunk_rows": chunk}))
    runner.run_pending()
    return runner


def results(session: Session, actor: Principal, batch: InquiryBatch) -> list[list[str]]:
    return list(batches.result_rows(session, actor=actor, batch=batch, via="test"))


MIXED = [
    ["A1", "王小明", "prc_id", OFFENDER, "", "", "语文教师"],  # the registered offender
    ["A2", "李四", "prc_id", STRANGER, "", "", "保安"],  # nobody
    ["A3", "李四", "prc_id", "110105199208080000", "", "", "保安"],  # a wrong check digit
    ["A4", "李四", "prc_id", STRANGER, "", "", "保安"],  # the same candidate again
    ["A5", "", "prc_id", STRANGER, "", "", ""],  # no name
]


def test_a_university_batch_answers_every_row_in_order_with_certificates(
    session: Session, session_factory: sessionmaker[Session], scene: Scene, settings: Settings
) -> None:
    start = head(session)
    batch = upload_batch(
        session, actor=scene.university_hr, upload=upload(csv_bytes(MIXED)), settings=settings
    )
    assert (batch.status, batch.rows_total, batch.rows_done) == ("queued", 5, 0)
    run_all(session_factory, settings, chunk=2)
    session.refresh(batch)
    assert (batch.status, batch.rows_done, batch.rows_invalid) == ("completed", 5, 2)
    assert batch.file_sealed is None  # the file is dropped once answered
    lines = results(session, scene.university_hr, batch)
    assert [(line[0], line[1], line[2], line[3], line[5]) for line in lines] == [
        ("2", "A1", "record_found", "", ""),
        ("3", "A2", "no_record", "", ""),
        ("4", "A3", "invalid", "id_number", ""),
        ("5", "A4", "no_record", "", "yes"),
        ("6", "A5", "invalid", "name", ""),
    ]
    assert "id_number" in lines[2][4]  # the message names the field
    assert lines[3][6] == lines[1][6]  # the repeat is the earlier row's inquiry
    for line in (lines[0], lines[1]):
        verified = verify_code(session, line[7])
        assert verified is not None
        assert verified.current
    inquiry = session.get_one(Inquiry, uuid.UUID(lines[0][6]))
    assert (inquiry.position, inquiry.consent_reference) == ("语文教师", "年度复查同意书-2026")
    assert inquiry.subject == {
        "name": "王小明",
        "id_type": "prc_id",
        "id_number": OFFENDER,
        "date_of_birth": "",
        "sex": "",
        "nationality": "",
    }
    counts = batches.batch_counts(session, batch)
    assert counts.outcomes == {"record_found": 1, "no_record": 2, "invalid": 2}
    assert actions_since(session, start) == [
        "web:inquiry_batch:upload",
        "system:inquiry_batch:answer",
        "system:inquiry_batch:answer",
        "system:inquiry_batch:answer",
        "web:inquiry_batch:results",
    ]


def test_a_batch_reuses_an_answer_given_within_30_days_unless_a_new_lookup_is_asked(
    session: Session, session_factory: sessionmaker[Session], scene: Scene, settings: Settings
) -> None:
    earlier = submit_inquiry(
        session,
        actor=scene.university_hr,
        request=ask(STRANGER, name="李四", purpose="annual_recheck"),
        settings=settings,
    )
    rows = [["B1", "李四", "prc_id", STRANGER, "", "", "保安"]]
    reuse = upload_batch(
        session, actor=scene.university_hr, upload=upload(csv_bytes(rows)), settings=settings
    )
    fresh = upload_batch(
        session,
        actor=scene.university_hr,
        upload=upload(csv_bytes(rows), new_lookup=True),
        settings=settings,
    )
    run_all(session_factory, settings)
    [reused] = results(session, scene.university_hr, reuse)
    [asked] = results(session, scene.university_hr, fresh)
    assert (reused[5], reused[6]) == ("yes", str(earlier.id))
    assert asked[5] == ""
    assert asked[6] != str(earlier.id)


def test_an_xlsx_batch_is_answered_like_a_csv_one(
    session: Session, session_factory: sessionmaker[Session], scene: Scene, settings: Settings
) -> None:
    batch = upload_batch(
        session,
        actor=scene.university_hr,
        upload=upload(xlsx_bytes(MIXED[:3]), name="staff.xlsx"),
        settings=settings,
    )
    assert batch.rows_total is None  # a workbook is counted by the runner
    run_all(session_factory, settings)
    session.refresh(batch)
    assert (batch.status, batch.rows_total) == ("completed", 3)
    outcomes = [line[2] for line in results(session, scene.university_hr, batch)]
    assert outcomes == ["record_found", "no_record", "invalid"]


@pytest.mark.parametrize(
    ("name", "content", "field", "words"),
    [
        ("staff.pdf", b"%PDF-1.7", "file", "csv or .xlsx"),
        ("staff.xlsx", b"reference,name\n", "file", "does not match"),
        ("staff.csv", b"", "file", "empty"),
        ("staff.csv", b"reference,name,id_type\n", "file", "id_number"),  # required column
        ("staff.csv", b"name,id_type,id_number,salary\nx,prc_id,1\n", "file", "salary"),
        ("staff.csv", b"name,id_type,id_number\n", "file", "no candidates"),
        ("staff.csv", "name,id_type,id_number\n王,prc_id,1\n".encode("gb18030"), "file", "UTF-8"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_at_upload_naming_the_problem(  # noqa: PLR0917 - parametrised
    session: Session,
    scene: Scene,
    settings: Settings,
    name: str,
    content: bytes,
    field: str,
    words: str,
) -> None:
    with pytest.raises(ValidationFailedError) as caught:
        upload_batch(
            session,
            actor=scene.university_hr,
            upload=upload(content, name=name),
            settings=settings,
        )
    assert caught.value.field == field
    assert words in str(caught.value)
    assert session.scalar(select(func.count()).select_from(InquiryBatch)) == 0


def test_no_consent_no_batch_and_limits_are_enforced(
    session: Session, scene: Scene, settings: Settings
) -> None:
    content = csv_bytes(strangers(3))
    with pytest.raises(ValidationFailedError) as caught:
        upload_batch(
            session,
            actor=scene.university_hr,
            upload=BatchUpload("annual_recheck", "", None, "staff.csv", content),
            settings=settings,
        )
    assert caught.value.field == "consent_reference"
    small = settings.model_copy(update={"batch_max_rows": 2})
    with pytest.raises(ValidationFailedError, match="more than 2 rows"):
        upload_batch(session, actor=scene.university_hr, upload=upload(content), settings=small)
    with pytest.raises(ValidationFailedError) as caught:
        upload_batch(
            session,
            actor=scene.university_hr,
            upload=upload(content, purpose="curiosity"),
            settings=settings,
        )
    assert caught.value.field == "purpose"


def test_a_row_with_its_own_consent_uses_it_and_a_bad_one_is_an_invalid_row(
    session: Session, session_factory: sessionmaker[Session], scene: Scene, settings: Settings
) -> None:
    header = [*HEADER, "consent_reference", "consent_signed_on"]
    signed = (latest_possible_date() - timedelta(days=3)).isoformat()
    stale = (latest_possible_date() - timedelta(days=800)).isoformat()
    rows = [
        [*strangers(1)[0], "个人同意书-77", signed],
        [*strangers(1, start=1)[0], "个人同意书-78", stale],
        [*strangers(1, start=2)[0], "", ""],
    ]
    batch = upload_batch(
        session,
        actor=scene.university_hr,
        upload=upload(csv_bytes(rows, header)),
        settings=settings,
    )
    run_all(session_factory, settings)
    lines = results(session, scene.university_hr, batch)
    assert [line[2] for line in lines] == ["no_record", "invalid", "no_record"]
    assert lines[1][3] == "consent_signed_on"
    own = session.get_one(Inquiry, uuid.UUID(lines[0][6]))
    default = session.get_one(Inquiry, uuid.UUID(lines[2][6]))
    assert own.consent_reference == "个人同意书-77"
    assert default.consent_reference == "年度复查同意书-2026"


def test_a_schools_batch_waits_for_its_authority_which_approves_or_refuses(
    session: Session, session_factory: sessionmaker[Session], scene: Scene, settings: Settings
) -> None:
    waiting = upload_batch(
        session, actor=scene.school_hr, upload=upload(csv_bytes(MIXED[:2])), settings=settings
    )
    refused = upload_batch(
        session, actor=scene.school_hr, upload=upload(csv_bytes(MIXED[:2])), settings=settings
    )
    assert waiting.status == refused.status == "pending_approval"
    run_all(session_factory, settings)
    assert session.scalar(select(func.count()).select_from(InquiryBatchRow)) == 0
    with pytest.raises(NotFoundError):
        approve_batch(session, actor=scene.other_officer, batch_id=waiting.id)
    with pytest.raises(ForbiddenError):
        approve_batch(session, actor=scene.school_hr, batch_id=waiting.id)
    start = head(session)
    approve_batch(session, actor=scene.officer, batch_id=waiting.id)
    refuse_batch(session, actor=scene.officer, batch_id=refused.id, reason="不是应聘人员名单")
    with pytest.raises(ConflictError):
        approve_batch(session, actor=scene.officer, batch_id=refused.id)
    run_all(session_factory, settings)
    session.refresh(waiting)
    session.refresh(refused)
    assert (waiting.status, refused.status) == ("completed", "refused")
    assert refused.file_sealed is None
    assert refused.reason == "不是应聘人员名单"
    found = session.get_one(Inquiry, uuid.UUID(results(session, scene.school_hr, waiting)[0][6]))
    assert found.decided_by_id == scene.officer.user_id  # approved through the batch
    assert actions_since(session, start) == [
        "web:inquiry_batch:approve",
        "web:inquiry_batch:refuse",
        "system:inquiry_batch:answer",
        "web:inquiry_batch:results",
    ]


def test_an_officer_runs_a_batch_for_a_supervised_school_and_only_for_one(
    session: Session, session_factory: sessionmaker[Session], scene: Scene, settings: Settings
) -> None:
    school_id = scene.school_hr.organisation_id
    batch = upload_batch(
        session,
        actor=scene.officer,
        upload=upload(csv_bytes(MIXED[:2]), institution_id=school_id),
        settings=settings,
    )
    assert (batch.status, batch.institution_id) == ("queued", school_id)
    run_all(session_factory, settings)
    # The school sees its answers; the officer's authority ran them.
    assert [line[2] for line in results(session, scene.school_hr, batch)] == [
        "record_found",
        "no_record",
    ]
    other_school = scene.other_school_hr.organisation_id
    with pytest.raises(ValidationFailedError) as caught:
        upload_batch(
            session,
            actor=scene.officer,
            upload=upload(csv_bytes(MIXED[:2]), institution_id=other_school),
            settings=settings,
        )
    assert caught.value.field == "institution"
    with pytest.raises(ValidationFailedError):  # an HR user cannot name another institution
        upload_batch(
            session,
            actor=scene.university_hr,
            upload=upload(csv_bytes(MIXED[:2]), institution_id=school_id),
            settings=settings,
        )


def test_another_institution_or_authority_cannot_see_a_batch(
    session: Session, scene: Scene, settings: Settings
) -> None:
    batch = upload_batch(
        session, actor=scene.school_hr, upload=upload(csv_bytes(MIXED[:2])), settings=settings
    )
    assert batches.get_batch(session, scene.officer, batch.id).id == batch.id
    for outsider in (scene.other_school_hr, scene.other_officer, scene.university_hr):
        with pytest.raises(NotFoundError):
            batches.get_batch(session, outsider, batch.id)
    reviewer_org = make_org(session, org_type=OrgType.PUBLIC_SECURITY)
    reviewer = principal_of(make_user(session, roles=(Role.REGISTRY_REVIEWER,), org=reviewer_org))
    with pytest.raises(NotFoundError):
        batches.get_batch(session, reviewer, batch.id)


def test_a_runner_that_dies_halfway_is_resumed_and_every_row_is_answered_once(
    session: Session, session_factory: sessionmaker[Session], scene: Scene, settings: Settings
) -> None:
    rows = strangers(23)
    rows[7] = ["X", "王小明", "prc_id", OFFENDER, "", "", ""]
    batch = upload_batch(
        session, actor=scene.university_hr, upload=upload(csv_bytes(rows)), settings=settings
    )
    short = settings.model_copy(update={"batch_chunk_rows": 5, "batch_lease_seconds": 2})

    class DiedError(Exception):
        pass

    def die_after_two(_batch: uuid.UUID, done: int, _total: int | None) -> None:
        if done >= 10:
            raise DiedError

    first = BatchRunner(session_factory, short, on_chunk=die_after_two)
    with pytest.raises(DiedError):
        first.run_pending()
    session.refresh(batch)
    assert (batch.status, batch.rows_done) == ("running", 10)
    # Its lease was given back when it failed; had it died outright, the lease runs out.
    second = BatchRunner(session_factory, short)
    second.run_pending()
    session.refresh(batch)
    assert (batch.status, batch.rows_done) == ("completed", 23)
    numbers = list(
        session.scalars(
            select(InquiryBatchRow.row_number)
            .where(InquiryBatchRow.batch_id == batch.id)
            .order_by(InquiryBatchRow.row_number)
        )
    )
    assert numbers == list(range(2, 25))
    inquiries = session.scalar(
        select(func.count(func.distinct(InquiryBatchRow.inquiry_id))).where(
            InquiryBatchRow.batch_id == batch.id
        )
    )
    assert inquiries == 23
    assert [line[2] for line in results(session, scene.university_hr, batch)].count(
        "record_found"
    ) == 1


def test_a_runner_whose_lease_was_taken_over_writes_nothing(
    session: Session, session_factory: sessionmaker[Session], scene: Scene, settings: Settings
) -> None:
    batch = upload_batch(
        session,
        actor=scene.university_hr,
        upload=upload(csv_bytes(strangers(4))),
        settings=settings,
    )
    assert batches.claim_batch(session, owner="gone", lease_seconds=60) == batch.id
    # A second runner cannot take a batch whose lease is alive…
    assert batches.claim_batch(session, owner="other", lease_seconds=60) is None
    session.flush()
    matcher_settings = settings.model_copy(update={"batch_chunk_rows": 2})
    runner = BatchRunner(session_factory, matcher_settings, owner="other")
    assert runner.run_pending() == 0
    # …and an answer from a runner that does not hold it changes nothing.
    matcher = Matcher.from_settings(settings, purpose=InquiryPurpose.ANNUAL_RECHECK)
    chunk = batches.match_chunk(
        session, start=0, rows=[(2, {"name": "李四"}, False)], matcher=matcher
    )
    wrote = batches.answer_chunk(
        session,
        batch_id=batch.id,
        owner="other",
        chunk=chunk,
        last=False,
        matcher=matcher,
        lease_seconds=60,
    )
    assert wrote is False
    assert session.scalar(select(func.count()).select_from(InquiryBatchRow)) == 0
    session.refresh(batch)
    assert (batch.status, batch.lease_owner, batch.rows_done) == (BatchStatus.RUNNING, "gone", 0)


def test_a_batch_whose_runner_process_died_on_this_host_is_taken_back_at_once(
    session: Session, scene: Scene, settings: Settings
) -> None:
    finished = subprocess.Popen(["true"])  # noqa: S607 - a process that has ended
    finished.wait()
    orphan = upload_batch(
        session,
        actor=scene.university_hr,
        upload=upload(csv_bytes(strangers(2))),
        settings=settings,
    )
    alive = upload_batch(
        session,
        actor=scene.university_hr,
        upload=upload(csv_bytes(strangers(2))),
        settings=settings,
    )
    elsewhere = upload_batch(
        session,
        actor=scene.university_hr,
        upload=upload(csv_bytes(strangers(2))),
        settings=settings,
    )
    owners = {
        orphan.id: f"{HOST}:{finished.pid}:abc",
        alive.id: f"{HOST}:{os.getpid()}:def",
        elsewhere.id: f"another-host:{finished.pid}:ghi",
    }
    for owner in owners.values():
        assert batches.claim_batch(session, owner=owner, lease_seconds=600) is not None
    session.execute(
        update(InquiryBatch).values(status="running").where(InquiryBatch.id.in_(owners))
    )
    assert batches.reclaim_orphans(session, host=HOST) == 1
    for batch in (orphan, alive, elsewhere):
        session.refresh(batch)
    assert orphan.lease_owner is None
    assert alive.lease_owner == owners[alive.id]
    assert elsewhere.lease_owner == owners[elsewhere.id]
