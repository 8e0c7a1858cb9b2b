"""JSON routes of batches of inquiries under /api/v1/inquiry-batches: upload, follow, results.

Every route calls `screening.batches`, so the rules are those of the pages: consent, the
authority's approval of the whole batch, one inquiry per valid row. A batch another
organisation may not see is the 404 of one that does not exist.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Final

from fastapi import (
    APIRouter,
    BackgroundTasks,
    Body,
    Depends,
    File,
    Form,
    Query,
    Request,
    UploadFile,
)
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from shouhu.accounts.roles import Permission
from shouhu.core.errors import ValidationFailedError
from shouhu.core.principal import Principal
from shouhu.registry.policy import InquiryPurpose
from shouhu.registry.schemas import Reason
from shouhu.screening import batches
from shouhu.screening.api import PROBLEM, _errors
from shouhu.screening.models import BatchStatus, InquiryBatch
from shouhu.web.deps import ApiPermission, Db, SettingsDep

router = APIRouter(prefix="/inquiry-batches", tags=["inquiry batches"])

Submitter = Annotated[Principal, Depends(ApiPermission(Permission.INQUIRY_SUBMIT))]
Approver = Annotated[Principal, Depends(ApiPermission(Permission.INQUIRY_APPROVE))]

UPLOAD_ERRORS: Final = {
    **_errors(),
    413: {"description": "The file is larger than the limit", **PROBLEM},
}
READ_ERRORS: Final = _errors(not_found=True)
DECIDE_ERRORS: Final = _errors(
    body=True, not_found=True, conflict="The batch is not waiting for approval"
)
RESULTS_CSV_EXAMPLE: Final = (
    "row,reference,outcome,field,message,repeat,inquiry_id,certificate_code\n"
    "2,EMP-0001,no_record,,,,3c9e1a52-7d4b-4f1e-a0c2-5b8d6e7f9a10,K7QM-2XPA-91HD\n"
    "3,EMP-0002,invalid,id_number,id_number: the check character should be 7,,,\n"
)


class BatchCreatedOut(BaseModel):
    """The batch as accepted: it is answered in the background."""

    id: uuid.UUID
    status: BatchStatus = Field(description="pending_approval (a school's) or queued")
    rows_total: int | None = Field(description="Rows in the file (a workbook: once counted)")


class BatchOut(BaseModel):
    """How far a batch is, and what its rows were told so far."""

    id: uuid.UUID
    purpose: InquiryPurpose
    status: BatchStatus
    rows_total: int | None
    rows_done: int = Field(description="Rows answered so far (valid or not)")
    outcomes: dict[str, int] = Field(
        description="Rows by what the institution is told: no_record, record_found,"
        " under_review, and invalid",
        examples=[{"no_record": 9871, "record_found": 2, "under_review": 3, "invalid": 24}],
    )
    failure: str | None = Field(description="Why the batch stopped, if it failed")
    submitted_at: datetime
    completed_at: datetime | None


def batch_out(db: Session, batch: InquiryBatch) -> BatchOut:
    """The batch as its readers see it."""
    counts = batches.batch_counts(db, batch)
    return BatchOut(
        id=batch.id,
        purpose=InquiryPurpose(batch.purpose),
        status=BatchStatus(batch.status),
        rows_total=counts.total,
        rows_done=counts.done,
        outcomes=counts.outcomes,
        failure=batch.failure,
        submitted_at=batch.submitted_at,
        completed_at=batch.completed_at,
    )


def wake_runner(request: Request) -> None:
    """Tell this process's batch runner, if it runs one, that a batch is waiting."""
    runner = getattr(request.app.state, "batch_runner", None)
    if runner is not None:
        runner.wake()


def read_upload(upload: UploadFile, limit: int) -> tuple[str, bytes]:
    """The uploaded file's name and bytes, refusing one over the limit."""
    content = upload.file.read(limit + 1)
    if len(content) > limit:
        raise FileTooLargeError(
            "The file is larger than {limit} MB; split it into smaller files.",
            field="file",
            limit=limit // 1_000_000,
        )
    return upload.filename or "", content


class FileTooLargeError(ValidationFailedError):
    """The upload is over the size limit."""

    status_code = 413
    code = "file_too_large"


@router.post("", response_model=BatchCreatedOut, status_code=202, responses=UPLOAD_ERRORS)
def upload_batch(  # noqa: PLR0917 - a multipart form's fields
    request: Request,
    background: BackgroundTasks,
    db: Db,
    principal: Submitter,
    settings: SettingsDep,
    file: Annotated[
        UploadFile, File(description="CSV or XLSX: the screening columns and position")
    ],
    purpose: Annotated[InquiryPurpose, Form()],
    consent_reference: Annotated[
        str, Form(max_length=64, description="The consent that covers the rows (a reference)")
    ],
    consent_signed_on: Annotated[date, Form(description="When that consent was signed")],
    institution: Annotated[
        uuid.UUID | None,
        Form(description="An education officer's batch: the supervised institution it is for"),
    ] = None,
    new_lookup: Annotated[
        bool, Form(description="Look up again candidates answered in the last 30 days")
    ] = False,
) -> BatchCreatedOut:
    """Upload a file of candidates; each valid row becomes an inquiry, answered in the background.

    Columns (UTF-8 CSV with a header row, or the first sheet of an .xlsx workbook):
    `reference, name, id_type, id_number, date_of_birth, sex, nationality, position`, and
    optionally a row's own `consent_reference, consent_signed_on`. Only `name`, `id_type` and
    `id_number` are required. A school's batch waits for its authority (`pending_approval`).
    Follow it with `GET /api/v1/inquiry-batches/{id}`; an invalid row is answered `invalid`
    naming its field.
    """
    name, content = read_upload(file, settings.batch_max_bytes)
    batch = batches.upload_batch(
        db,
        actor=principal,
        upload=batches.BatchUpload(
            purpose=purpose.value,
            consent_reference=consent_reference,
            consent_signed_on=consent_signed_on,
            file_name=name,
            content=content,
            institution_id=institution,
            new_lookup=new_lookup,
        ),
        settings=settings,
    )
    background.add_task(wake_runner, request)  # after the response, so after the commit
    return BatchCreatedOut(
        id=batch.id, status=BatchStatus(batch.status), rows_total=batch.rows_total
    )


@router.get("", response_model=list[BatchOut], responses=_errors())
def list_batches(
    db: Db,
    principal: Submitter,
    status: Annotated[BatchStatus | None, Query(description="Only batches in this status")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="At most this many")] = 20,
) -> list[BatchOut]:
    """The batches of the caller's organisation and of the institutions its authority runs."""
    statement = batches.readable_batches(principal)
    if status is not None:
        statement = statement.where(InquiryBatch.status == status.value)
    statement = statement.order_by(InquiryBatch.submitted_at.desc()).limit(limit)
    return [batch_out(db, batch) for batch in db.scalars(statement)]


@router.get("/{batch_id}", response_model=BatchOut, responses=READ_ERRORS)
def read_batch(db: Db, principal: Submitter, batch_id: uuid.UUID) -> BatchOut:
    """A batch's status and counts (poll it to follow the progress)."""
    return batch_out(db, batches.get_batch(db, principal, batch_id))


@router.get(
    "/{batch_id}/results",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {"example": RESULTS_CSV_EXAMPLE}}},
        **READ_ERRORS,
    },
)
def batch_results(db: Db, principal: Submitter, batch_id: uuid.UUID) -> Response:
    """The answers so far, one CSV row per file row in file order (reading them is audited).

    `outcome` is what the institution is told: `no_record`, `record_found`, `under_review`,
    `pending_approval`, or `invalid` with the `field` at fault and a `message`; `repeat` is
    `yes` where an answer given in the last 30 days was reused.
    """
    batch = batches.get_batch(db, principal, batch_id)
    return Response(
        results_csv(batches.result_rows(db, actor=principal, batch=batch, via="api")),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="batch-{batch.id}.csv"'},
    )


def results_csv(lines: Any) -> str:
    """The result rows as CSV text with the header."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(batches.RESULT_COLUMNS)
    writer.writerows(lines)
    return out.getvalue()


# --- the supervising education authority --------------------------------------------------------


@router.post("/{batch_id}/approve", response_model=BatchOut, responses=DECIDE_ERRORS)
def approve_batch(
    request: Request, background: BackgroundTasks, db: Db, principal: Approver, batch_id: uuid.UUID
) -> BatchOut:
    """Approve a school's batch waiting for the caller's authority: every row is looked up."""
    batch = batches.approve_batch(db, actor=principal, batch_id=batch_id)
    background.add_task(wake_runner, request)
    return batch_out(db, batch)


@router.post("/{batch_id}/refuse", response_model=BatchOut, responses=DECIDE_ERRORS)
def refuse_batch(
    db: Db,
    principal: Approver,
    batch_id: uuid.UUID,
    body: Annotated[
        Reason,
        Body(
            openapi_examples={
                "not_applicants": {
                    "summary": "Not a list of applicants or staff",
                    "value": {"reason": "名单中包含非应聘人员，不得批量查询。"},
                }
            }
        ),
    ],
) -> BatchOut:
    """Refuse to run a batch waiting for the caller's authority, with the reason."""
    return batch_out(
        db, batches.refuse_batch(db, actor=principal, batch_id=batch_id, reason=body.reason)
    )
