"""JSON routes of a case's evidence under /api/v1: items, files, custody log, alerts.

The file routes stream: `PUT …/file` takes the raw body (constant memory, SHA-256 computed as
it arrives); `GET …/file` verifies the whole file first and refuses a damaged one with a 409
problem (`evidence_integrity_failure`) after raising an alert on the case.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Final

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from shouhu.accounts.roles import Permission
from shouhu.core.principal import Principal
from shouhu.onestop import custody_log, evidence, repository
from shouhu.onestop.api_errors import PROBLEM, errors
from shouhu.onestop.blobs import BlobTooLargeError
from shouhu.onestop.evidence_models import EvidenceAlert, EvidenceItem, EvidenceKind
from shouhu.onestop.evidence_schemas import (
    CUSTODY_EXAMPLE,
    ITEM_EXAMPLE,
    AlertOut,
    BreakOut,
    CustodyEntryOut,
    CustodyIn,
    FileOut,
    ItemDetailOut,
    ItemIn,
    ItemOut,
    VerifyOut,
)
from shouhu.onestop.evidence_web import (
    StreamingApiPermission,
    export_case,
    in_transaction,
    max_bytes,
    store_for,
    upload_refused,
    verified_item_download,
)
from shouhu.onestop.streaming import InvalidUploadError, VerifiedBlobResponse, receive_body
from shouhu.web.deps import ApiPermission, Db

router = APIRouter(prefix="/onestop/cases", tags=["onestop-evidence"])

Reader = Annotated[Principal, Depends(ApiPermission(Permission.ONESTOP_CASES_READ))]
Recorder = Annotated[Principal, Depends(ApiPermission(Permission.ONESTOP_EVIDENCE_RECORD))]
StreamExporter = Annotated[
    Principal, Depends(StreamingApiPermission(Permission.ONESTOP_EVIDENCE_EXPORT))
]
# Downloads and exports verify whole files outside the request's transaction (evidence_web).
StreamReader = Annotated[Principal, Depends(StreamingApiPermission(Permission.ONESTOP_CASES_READ))]
StreamRecorder = Annotated[
    Principal, Depends(StreamingApiPermission(Permission.ONESTOP_EVIDENCE_RECORD))
]
Manager = Annotated[Principal, Depends(ApiPermission(Permission.ONESTOP_CASES_MANAGE))]

NOT_FOUND: Final = "No such case or item, or the caller is not on the case's team (the same answer)"
BLOCKED: Final = {
    "description": (
        "The stored file failed verification: nothing was sent, an alert was raised on the "
        "case (`evidence_integrity_failure`)"
    ),
    **PROBLEM,
}
FILE_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "description": "The file's bytes as the body (streamed; SHA-256 computed on arrival)",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}
CUSTODY_EXAMPLES: Final = {
    "transfer": {"summary": "Sent to the laboratory", "value": CUSTODY_EXAMPLE},
    "analysed": {
        "summary": "Analysed by its holder",
        "value": {"event": "analysed", "reason": "DNA 检验完成，出具鉴定书。", "place": "鉴定中心"},
    },
}


def item_out(db: Session, item: EvidenceItem) -> ItemOut:
    """An item as the API answers it (the caller already may see it)."""
    state = custody_log.state(db, item)
    file = None
    if item.file_sha256 is not None and item.file_uploaded_at is not None:
        file = FileOut(
            sha256=item.file_sha256,
            size=item.file_size or 0,
            filename=item.file_name or "",
            content_type=item.file_content_type or "application/octet-stream",
            uploaded_at=item.file_uploaded_at,
        )
    return ItemOut(
        id=item.id,
        case_id=item.case_id,
        number=item.number,
        kind=EvidenceKind(item.kind),
        description=item.description or "",
        place=item.place or "",
        collected_at=item.collected_at,
        collected_by_id=item.collected_by_id,
        child_id=item.child_id,
        examined_on_site=item.examined_on_site,
        holder=state.holder if state.in_custody else None,
        custody_entries=item.custody_seq,
        file=file,
    )


def item_detail(db: Session, item: EvidenceItem) -> ItemDetailOut:
    """An item with its custody log."""
    entries = [
        CustodyEntryOut(
            seq=link.entry.seq,
            event=str(link.entry.event),
            occurred_at=link.entry.occurred_at,
            actor_id=link.entry.actor_id,
            organisation_id=link.entry.organisation_id,
            place=link.entry.place,
            reason=link.entry.reason,
            from_holder=link.entry.from_holder,
            to_holder=link.entry.to_holder,
            prev_hash=link.prev_hash,
            entry_hash=link.entry_hash,
        )
        for link in evidence.custody_entries(db, item)
    ]
    return ItemDetailOut(**item_out(db, item).model_dump(), custody=entries)


def alert_out(alert: EvidenceAlert) -> AlertOut:
    """An alert as the API answers it."""
    return AlertOut.model_validate(alert, from_attributes=True)


@router.get(
    "/{case_id}/evidence", response_model=list[ItemOut], responses=errors(not_found=NOT_FOUND)
)
def list_items(db: Db, principal: Reader, case_id: uuid.UUID) -> list[ItemOut]:
    """The case's evidence items by number (the read is audited)."""
    items = evidence.list_items(db, actor=principal, case_id=case_id)
    return [item_out(db, item) for item in items]


@router.get(
    "/{case_id}/evidence/export",
    response_class=StreamingResponse,
    status_code=200,
    responses={
        200: {
            "description": (
                "A ZIP streamed as it is written: `files/E-<n>-<sha256 prefix>.<ext>`, "
                "`manifest.json`, `manifest.json.sig` (raw Ed25519 over the manifest's bytes, "
                "the key of GET /api/v1/certificates/public-key), `signing-key.pem`, "
                "`README.txt` (docs/evidence-storage.md)"
            ),
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        },
        **errors(not_found=NOT_FOUND),
        409: {
            "description": (
                "A file or a custody log failed its check: nothing was sent, an alert was "
                "raised on the case, and the message names the item "
                "(`evidence_integrity_failure`)"
            ),
            **PROBLEM,
        },
    },
)
async def export_evidence(
    request: Request, principal: StreamExporter, case_id: uuid.UUID
) -> Response:
    """The case's evidence as one signed ZIP, for the procuratorate and the court.

    Only the case's lead officer and its prosecutor export. Every custody log and every file
    is verified in full before the first byte is sent; the export is audited with each item's
    number and hashes and the signed manifest's SHA-256.
    """
    return await export_case(request, principal, case_id)


@router.post(
    "/{case_id}/evidence",
    response_model=ItemDetailOut,
    status_code=201,
    responses=errors(body=True, not_found=NOT_FOUND),
)
def record_item(
    db: Db,
    principal: Recorder,
    case_id: uuid.UUID,
    body: Annotated[
        ItemIn,
        Body(openapi_examples={"recording": {"summary": "A recording", "value": ITEM_EXAMPLE}}),
    ],
) -> ItemDetailOut:
    """Record an item; its custody log starts with `collected` (to `holder`, for `reason`).

    Only the lead officer, investigators and forensic examiners of the team record evidence.
    """
    item = evidence.record_item(
        db,
        actor=principal,
        case_id=case_id,
        item=evidence.ItemInput(
            kind=body.kind.value,
            description=body.description,
            place=body.place,
            collected_at=body.collected_at,
            holder=body.holder,
            reason=body.reason,
            child_id=body.child_id,
            examined_on_site=body.examined_on_site,
        ),
    )
    return item_detail(db, item)


@router.get(
    "/{case_id}/evidence/{item_id}",
    response_model=ItemDetailOut,
    responses=errors(not_found=NOT_FOUND),
)
def read_item(db: Db, principal: Reader, case_id: uuid.UUID, item_id: uuid.UUID) -> ItemDetailOut:
    """One item with its custody log (the read is audited)."""
    item = evidence.read_item(db, actor=principal, case_id=case_id, item_id=item_id)
    return item_detail(db, item)


@router.put(
    "/{case_id}/evidence/{item_id}/file",
    response_model=ItemOut,
    responses={
        **errors(
            not_found=NOT_FOUND,
            conflict="The item is a physical object, or already has its file",
        ),
        413: {"description": "The file is over SHOUHU_EVIDENCE_MAX_BYTES", **PROBLEM},
    },
    openapi_extra=FILE_BODY,
)
async def upload_file(
    request: Request,
    principal: StreamRecorder,
    case_id: uuid.UUID,
    item_id: uuid.UUID,
    filename: Annotated[
        str | None, Query(max_length=255, description="The file's original name (kept sealed)")
    ] = None,
) -> ItemOut:
    """Upload the item's file as the raw body, streamed in constant memory.

    The SHA-256 is computed as the bytes arrive and kept with the item; every download is
    checked against it. A file is fixed once stored: a second upload is refused (409).
    """

    def check(db: Session) -> None:
        evidence.check_upload(db, actor=principal, case_id=case_id, item_id=item_id)

    await in_transaction(request, check)
    try:
        blob = await receive_body(store_for(request), request, max_bytes=max_bytes(request))
    except (BlobTooLargeError, InvalidUploadError) as exc:
        raise upload_refused(exc) from None
    content_type = request.headers.get("content-type")

    def attach(db: Session) -> ItemOut:
        item = evidence.attach_file(
            db,
            actor=principal,
            case_id=case_id,
            item_id=item_id,
            blob=blob,
            filename=filename,
            content_type=content_type,
        )
        return item_out(db, item)

    return await in_transaction(request, attach)


@router.get(
    "/{case_id}/evidence/{item_id}/file",
    response_class=VerifiedBlobResponse,
    status_code=200,  # VerifiedBlobResponse.__init__ takes no status_code for FastAPI to read
    responses={
        200: {
            "description": "The verified file (Repr-Digest: its SHA-256)",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        },
        **errors(not_found=NOT_FOUND + "; or the item has no file"),
        409: BLOCKED,
    },
)
async def download_file(
    request: Request, principal: StreamReader, case_id: uuid.UUID, item_id: uuid.UUID
) -> VerifiedBlobResponse:
    """The item's file, verified in full before the first byte is sent; audited.

    A file that fails verification is not sent: 409 `evidence_integrity_failure`, and an alert
    is raised on the case for its team (`GET …/alerts`).
    """
    return await verified_item_download(request, principal, case_id, item_id)


@router.post(
    "/{case_id}/evidence/{item_id}/custody",
    response_model=ItemDetailOut,
    status_code=201,
    responses=errors(
        body=True, not_found=NOT_FOUND, conflict="The event cannot follow the log as it stands"
    ),
)
def append_custody(
    db: Db,
    principal: Recorder,
    case_id: uuid.UUID,
    item_id: uuid.UUID,
    body: Annotated[CustodyIn, Body(openapi_examples=CUSTODY_EXAMPLES)],
) -> ItemDetailOut:
    """Append a custody event; the reason is mandatory; it comes from the current holder."""
    item = evidence.append_custody(
        db,
        actor=principal,
        case_id=case_id,
        item_id=item_id,
        change=evidence.CustodyInput(
            event=body.event.value,
            reason=body.reason,
            place=body.place,
            to_holder=body.to_holder,
            occurred_at=body.occurred_at,
        ),
    )
    return item_detail(db, item)


@router.post(
    "/{case_id}/evidence/{item_id}/custody/verify",
    response_model=VerifyOut,
    responses=errors(not_found=NOT_FOUND),
)
def verify_custody(db: Db, principal: Reader, case_id: uuid.UUID, item_id: uuid.UUID) -> VerifyOut:
    """Check the stored custody log: every hash, every link, and the head the item keeps."""
    breaks = evidence.verify_custody(db, actor=principal, case_id=case_id, item_id=item_id)
    item = evidence.get_item(db, principal, case_id, item_id)
    return VerifyOut(
        intact=not breaks,
        entries=item.custody_seq,
        breaks=[BreakOut(seq=b.seq, reason=b.reason.value, message=b.message) for b in breaks],
    )


@router.get(
    "/{case_id}/alerts", response_model=list[AlertOut], responses=errors(not_found=NOT_FOUND)
)
def list_alerts(db: Db, principal: Reader, case_id: uuid.UUID) -> list[AlertOut]:
    """The case's integrity alerts, open ones first."""
    case = repository.get_case(db, principal, case_id)
    return [alert_out(alert) for alert in evidence.alerts_of(db, case.id)]


@router.post(
    "/{case_id}/alerts/{alert_id}/acknowledge",
    response_model=AlertOut,
    responses=errors(not_found=NOT_FOUND, conflict="The alert was already acknowledged"),
)
def acknowledge_alert(
    db: Db, principal: Manager, case_id: uuid.UUID, alert_id: uuid.UUID
) -> AlertOut:
    """The lead officer acknowledges an alert (it stays on record)."""
    alert = evidence.acknowledge_alert(db, actor=principal, case_id=case_id, alert_id=alert_id)
    return alert_out(alert)
