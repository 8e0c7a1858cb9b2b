"""Batch pages: upload a file of candidates, watch its progress, download the answers.

Each page calls `screening.batches`, as the API does. The progress section polls itself (htmx)
while the batch runs and stops once it is done.
"""

from __future__ import annotations

import io
import uuid
from datetime import date
from typing import Annotated, Any, Final

from fastapi import APIRouter, BackgroundTasks, Depends, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from openpyxl import Workbook  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.accounts.models import Organisation
from shouhu.accounts.policies import allows
from shouhu.accounts.roles import OrgType, Permission
from shouhu.accounts.scope import authority_subtree
from shouhu.core.errors import DomainError, NotFoundError
from shouhu.core.i18n import N_, gettext
from shouhu.registry.policy import InquiryPurpose
from shouhu.screening import batches
from shouhu.screening.batch_api import read_upload, results_csv, wake_runner
from shouhu.screening.models import BatchStatus, InquiryBatch
from shouhu.screening.pages import _purposes
from shouhu.web.deps import Db, PagePermission, SettingsDep, SignedIn
from shouhu.web.templating import render

router = APIRouter(prefix="/inquiry-batches", include_in_schema=False)

Asker = Annotated[SignedIn, Depends(PagePermission(Permission.INQUIRY_SUBMIT))]
Approver = Annotated[SignedIn, Depends(PagePermission(Permission.INQUIRY_APPROVE))]

STATUS_LABELS: Final = {
    BatchStatus.PENDING_APPROVAL: N_("Waiting for the authority's approval"),
    BatchStatus.QUEUED: N_("Waiting to start"),
    BatchStatus.RUNNING: N_("Being answered"),
    BatchStatus.COMPLETED: N_("Answered"),
    BatchStatus.REFUSED: N_("Refused by the authority"),
    BatchStatus.FAILED: N_("Stopped: the file could not be read to the end"),
}
OUTCOME_LABELS: Final = {
    "no_record": N_("No record"),
    "record_found": N_("Record found: do not hire"),
    "under_review": N_("Under review"),
    "pending_approval": N_("Waiting for the authority's approval"),
    "invalid": N_("Invalid row"),
}
RUNNING: Final = frozenset({BatchStatus.QUEUED.value, BatchStatus.RUNNING.value})


def _labels() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "outcome_labels": OUTCOME_LABELS,
        "purpose_names": dict(_purposes()),
    }


def _supervised(db: Session, me: SignedIn) -> list[tuple[str, str]]:
    """The institutions an officer's authority may run batches for (its whole subtree)."""
    org = me.principal.organisation_id
    if org is None or not allows(me.principal, Permission.INQUIRY_APPROVE):
        return []
    tree = authority_subtree(org)
    rows = db.execute(
        select(Organisation.id, Organisation.name)
        .where(
            Organisation.id.in_(select(tree.c.id)),
            Organisation.type == OrgType.INSTITUTION.value,
            Organisation.active.is_(True),
        )
        .order_by(Organisation.name)
    )
    return [(str(oid), name) for oid, name in rows]


def _institution_names(db: Session, rows: list[InquiryBatch]) -> dict[uuid.UUID, str]:
    ids = {row.institution_id for row in rows}
    found = db.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids)))
    return dict(found.all())


@router.get("")
def batch_list(request: Request, db: Db, me: Asker) -> Response:
    """The organisation's batches, and those waiting for its authority's approval."""
    rows = list(
        db.scalars(
            batches.readable_batches(me.principal)
            .order_by(InquiryBatch.submitted_at.desc())
            .limit(200)
        )
    )
    context = {"rows": rows, "institutions": _institution_names(db, rows), **_labels()}
    return render(request, "screening/batches.html", context)


def _form_page(
    request: Request,
    db: Session,
    me: SignedIn,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    status: int = 200,
) -> Response:
    context = {
        "values": values,
        "errors": errors,
        "purposes": _purposes(),
        "institutions": _supervised(db, me),
    }
    return render(request, "screening/batch_form.html", context, status=status)


@router.get("/new")
def batch_new(request: Request, db: Db, me: Asker) -> Response:
    """The upload form."""
    return _form_page(request, db, me, {"purpose": InquiryPurpose.ANNUAL_RECHECK.value}, {})


@router.post("")
def batch_create(  # noqa: PLR0917 - a form's fields
    request: Request,
    background: BackgroundTasks,
    db: Db,
    me: Asker,
    settings: SettingsDep,
    file: Annotated[UploadFile | None, File()] = None,
    purpose: Annotated[str, Form()] = "",
    consent_reference: Annotated[str, Form()] = "",
    consent_signed_on: Annotated[str, Form()] = "",
    institution: Annotated[str, Form()] = "",
    new_lookup: Annotated[str, Form()] = "",
) -> Response:
    """Upload the file, or show the form again naming what is wrong."""
    values = {
        "purpose": purpose,
        "consent_reference": consent_reference,
        "consent_signed_on": consent_signed_on,
        "institution": institution,
    }
    errors: dict[str, str] = {}
    try:
        signed = date.fromisoformat(consent_signed_on) if consent_signed_on else None
    except ValueError:
        errors["consent_signed_on"] = gettext("Enter a date written YYYY-MM-DD.")
    try:
        chosen = uuid.UUID(institution) if institution else None
    except ValueError:
        errors["institution"] = gettext("Choose an institution that your authority supervises.")
    if file is None or not file.filename:
        errors["file"] = gettext("Attach the file of candidates.")
    if errors:
        return _form_page(request, db, me, values, errors, status=422)
    assert file is not None  # noqa: S101 - checked above
    try:
        name, content = read_upload(file, settings.batch_max_bytes)
        batch = batches.upload_batch(
            db,
            actor=me.principal,
            upload=batches.BatchUpload(
                purpose=purpose,
                consent_reference=consent_reference,
                consent_signed_on=signed,
                file_name=name,
                content=content,
                institution_id=chosen,
                new_lookup=new_lookup == "on",
            ),
            settings=settings,
        )
    except DomainError as exc:
        db.rollback()
        errors = {exc.field or "file": gettext(exc.message, **exc.params)}
        return _form_page(request, db, me, values, errors, status=exc.status_code)
    background.add_task(wake_runner, request)
    return RedirectResponse(f"/inquiry-batches/{batch.id}", status_code=303)


def _batch_context(db: Session, me: SignedIn, batch: InquiryBatch) -> dict[str, Any]:
    counts = batches.batch_counts(db, batch)
    total = counts.total
    return {
        "batch": batch,
        "counts": counts,
        "percent": int(100 * counts.done / total) if total else 0,
        "running": batch.status in RUNNING,
        "institution": _institution_names(db, [batch]).get(batch.institution_id, ""),
        "can_decide": batch.status == BatchStatus.PENDING_APPROVAL.value
        and batch.authority_id == me.principal.organisation_id
        and allows(me.principal, Permission.INQUIRY_APPROVE),
        **_labels(),
    }


def _batch_page(
    request: Request,
    db: Session,
    me: SignedIn,
    batch: InquiryBatch,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    context = {**_batch_context(db, me, batch), "error": error}
    return render(request, "screening/batch.html", context, status=status)


@router.get("/{batch_id}")
def batch_detail(request: Request, db: Db, me: Asker, batch_id: uuid.UUID) -> Response:
    """A batch: its progress, its counts, its answers to download; the authority's decision."""
    return _batch_page(request, db, me, batches.get_batch(db, me.principal, batch_id))


@router.get("/{batch_id}/progress")
def batch_progress(request: Request, db: Db, me: Asker, batch_id: uuid.UUID) -> Response:
    """The progress section alone (polled while the batch runs)."""
    batch = batches.get_batch(db, me.principal, batch_id)
    return render(request, "screening/batch_progress.html", _batch_context(db, me, batch))


@router.get("/{batch_id}/results.csv")
def batch_results_csv(db: Db, me: Asker, batch_id: uuid.UUID) -> Response:
    """The answers as CSV, one row per file row, in file order."""
    batch = batches.get_batch(db, me.principal, batch_id)
    lines = batches.result_rows(db, actor=me.principal, batch=batch, via="web")
    return Response(
        # A byte-order mark, so that Excel opens the UTF-8 names as UTF-8.
        "\ufeff" + results_csv(lines),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="batch-{batch.id}.csv"'},
    )


@router.get("/{batch_id}/results.xlsx")
def batch_results_xlsx(db: Db, me: Asker, batch_id: uuid.UUID) -> Response:
    """The answers as an Excel workbook."""
    batch = batches.get_batch(db, me.principal, batch_id)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("results")
    sheet.append(list(batches.RESULT_COLUMNS))
    for line in batches.result_rows(db, actor=me.principal, batch=batch, via="web"):
        sheet.append(line)
    out = io.BytesIO()
    book.save(out)
    return Response(
        out.getvalue(),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="batch-{batch.id}.xlsx"'},
    )


def _decide(
    request: Request, db: Session, me: SignedIn, batch_id: uuid.UUID, refuse: str | None
) -> Response:
    try:
        if refuse is None:
            batches.approve_batch(db, actor=me.principal, batch_id=batch_id)
        else:
            batches.refuse_batch(db, actor=me.principal, batch_id=batch_id, reason=refuse)
    except DomainError as exc:
        db.rollback()
        if isinstance(exc, NotFoundError):
            raise
        batch = batches.get_batch(db, me.principal, batch_id)
        return _batch_page(
            request, db, me, batch, error=gettext(exc.message, **exc.params), status=exc.status_code
        )
    return RedirectResponse(f"/inquiry-batches/{batch_id}", status_code=303)


@router.post("/{batch_id}/approve")
def batch_approve(
    request: Request, background: BackgroundTasks, db: Db, me: Approver, batch_id: uuid.UUID
) -> Response:
    """Approve a school's batch: every row is looked up."""
    response = _decide(request, db, me, batch_id, None)
    background.add_task(wake_runner, request)
    return response


@router.post("/{batch_id}/refuse")
def batch_refuse(
    request: Request,
    db: Db,
    me: Approver,
    batch_id: uuid.UUID,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Refuse a school's batch, with the reason."""
    return _decide(request, db, me, batch_id, reason)
