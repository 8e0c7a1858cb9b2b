"""Pages of a case's evidence: the list on the case page, an item, its file and custody log.

Each page calls `onestop.evidence`, as the API does. The file form is read as it streams in
(`streaming.receive_multipart`), never spooled by Starlette; its CSRF token, a field of the
form, is checked before the stored file is attached to anything.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.accounts.models import User
from shouhu.accounts.policies import allows
from shouhu.accounts.roles import Permission
from shouhu.core.errors import DomainError, ForbiddenError, NotFoundError, ValidationFailedError
from shouhu.core.i18n import N_, gettext
from shouhu.onestop import custody, custody_log, evidence, repository
from shouhu.onestop.blobs import BlobTooLargeError
from shouhu.onestop.custody import CustodyEvent
from shouhu.onestop.evidence_export import EXPORTERS
from shouhu.onestop.evidence_models import EvidenceItem, EvidenceKind
from shouhu.onestop.evidence_web import (
    StreamingPagePermission,
    export_case,
    in_transaction,
    max_bytes,
    store_for,
    upload_refused,
    verified_item_download,
)
from shouhu.onestop.labels import labels
from shouhu.onestop.models import CaseRole, OneStopCase
from shouhu.onestop.streaming import InvalidUploadError, receive_multipart
from shouhu.web.deps import Db, PagePermission, SignedIn, _check_csrf
from shouhu.web.templating import render

router = APIRouter(prefix="/onestop/cases", include_in_schema=False)

Reader = Annotated[SignedIn, Depends(PagePermission(Permission.ONESTOP_CASES_READ))]
Recorder = Annotated[SignedIn, Depends(PagePermission(Permission.ONESTOP_EVIDENCE_RECORD))]
StreamRecorder = Annotated[
    SignedIn, Depends(StreamingPagePermission(Permission.ONESTOP_EVIDENCE_RECORD))
]
Manager = Annotated[SignedIn, Depends(PagePermission(Permission.ONESTOP_CASES_MANAGE))]
StreamExporter = Annotated[
    SignedIn, Depends(StreamingPagePermission(Permission.ONESTOP_EVIDENCE_EXPORT))
]
# A download verifies the whole file outside the request's transaction (evidence_web).
StreamReader = Annotated[SignedIn, Depends(StreamingPagePermission(Permission.ONESTOP_CASES_READ))]

KIND_LABELS: Final = {
    EvidenceKind.BIOLOGICAL_SAMPLE: N_("Biological sample"),
    EvidenceKind.CLOTHING: N_("Clothing"),
    EvidenceKind.MEDICAL_REPORT: N_("Medical report"),
    EvidenceKind.INTERVIEW_RECORDING: N_("Interview recording"),
    EvidenceKind.DIGITAL_MEDIA: N_("Digital media"),
    EvidenceKind.DOCUMENT: N_("Document"),
}
EVENT_LABELS: Final = {
    CustodyEvent.COLLECTED: N_("Collected"),
    CustodyEvent.TRANSFERRED: N_("Transferred"),
    CustodyEvent.ANALYSED: N_("Analysed"),
    CustodyEvent.RETURNED: N_("Returned"),
    CustodyEvent.DESTROYED: N_("Destroyed"),
}
DAMAGE_LABELS: Final = {
    "missing": N_("the file is missing from the store"),
    "not_a_blob": N_("the stored file is unreadable"),
    "wrong_address": N_("another file was put in its place"),
    "key_unavailable": N_("its key is not available"),
    "key_wrap": N_("its key record was altered"),
    "segment": N_("part of the file was altered"),
    "truncated": N_("the file was cut short"),
    "appended": N_("bytes were added to the file"),
    "hash_mismatch": N_("its content differs from what was stored"),
}
# What a custody check found at an entry, for the reader (custody.Break.message is the
# English diagnostic, kept for the API and the logs).
BREAK_LABELS: Final = {
    custody.Reason.WRONG_ITEM: N_("it belongs to another item's log"),
    custody.Reason.SEQUENCE: N_(
        "the numbering is out of step: an entry was deleted, inserted or moved"
    ),
    custody.Reason.HASH_MISMATCH: N_("it was changed after it was written"),
    custody.Reason.BROKEN_LINK: N_("it does not follow on from the entry before it"),
    custody.Reason.INVALID_TRANSITION: N_("the custody rules do not allow this event here"),
    custody.Reason.TRUNCATED: N_("entries the log should hold are missing"),
    custody.Reason.BEYOND_HEAD: N_("entries were added behind the recorder's back"),
    custody.Reason.HEAD_MISMATCH: N_("the last entry is not the one the item remembers"),
}

# As on the case pages (pages.py, which imports this module): officers type Beijing time.
BEIJING: Final = timezone(timedelta(hours=8), "UTC+8")


def beijing(moment: datetime) -> str:
    """A stored time as the officers read it: Beijing time, to the minute."""
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _context(**values: Any) -> dict[str, Any]:
    return {
        "beijing": beijing,
        "kind_labels": KIND_LABELS,
        "event_labels": EVENT_LABELS,
        "damage_labels": DAMAGE_LABELS,
        "break_labels": BREAK_LABELS,
        **labels(),
        **values,
    }


def case_section(db: Session, principal: Any, case: OneStopCase) -> dict[str, Any]:
    """What the case page shows of its evidence: items (no sealed field) and alerts."""
    member = repository.membership(db, case.id, principal.user_id)
    items = evidence.items_of(db, case.id)
    holders = {item.id: custody_log.state(db, item).holder for item in items}
    return {
        "evidence_items": items,
        "evidence_holders": holders,
        "evidence_alerts": evidence.alerts_of(db, case.id),
        "kind_labels": KIND_LABELS,
        "damage_labels": DAMAGE_LABELS,
        "may_record_evidence": allows(principal, Permission.ONESTOP_EVIDENCE_RECORD)
        and member is not None
        and CaseRole(member.role) in evidence.HANDLERS,
        "may_export_evidence": allows(principal, Permission.ONESTOP_EVIDENCE_EXPORT)
        and member is not None
        and CaseRole(member.role) in EXPORTERS,
        "may_acknowledge": allows(principal, Permission.ONESTOP_CASES_MANAGE)
        and member is not None
        and member.role == CaseRole.LEAD_OFFICER.value,
    }


# --- a new item ---------------------------------------------------------------------------------


def _new_page(
    request: Request,
    db: Session,
    me: SignedIn,
    case_id: uuid.UUID,
    *,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    case = repository.get_case(db, me.principal, case_id)
    context = _context(
        case=case,
        children=repository.children_of(db, case.id),
        kinds=list(EvidenceKind),
        values=values,
        errors=errors,
    )
    return render(request, "onestop/evidence/item_form.html", context, status=status)


@router.get("/{case_id}/evidence/new")
def item_new(request: Request, db: Db, me: Recorder, case_id: uuid.UUID) -> Response:
    """The form for a new evidence item."""
    now = datetime.now(BEIJING).strftime("%Y-%m-%dT%H:%M")
    return _new_page(request, db, me, case_id, values={"collected_at": now}, errors={})


@router.get("/{case_id}/evidence/export")
async def evidence_export(request: Request, me: StreamExporter, case_id: uuid.UUID) -> Response:
    """The case's evidence as one signed ZIP; a damaged file or log stops it, with an alert."""
    return await export_case(request, me.principal, case_id)


def _local_time(text: str, field: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailedError(
            "Enter a date and time written YYYY-MM-DD HH:MM.", field=field
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=BEIJING)


@router.post("/{case_id}/evidence")
def item_create(  # noqa: PLR0917 - a form's fields
    request: Request,
    db: Db,
    me: Recorder,
    case_id: uuid.UUID,
    kind: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    place: Annotated[str, Form()] = "",
    collected_at: Annotated[str, Form()] = "",
    holder: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    child_id: Annotated[str, Form()] = "",
    examined_on_site: Annotated[str, Form(max_length=3)] = "",
) -> Response:
    """Record the item (and its `collected` custody entry), or show the form with the fault."""
    shown = {
        "kind": kind,
        "description": description,
        "place": place,
        "collected_at": collected_at,
        "holder": holder,
        "reason": reason,
        "child_id": child_id,
        "examined_on_site": examined_on_site,
    }
    try:
        try:
            child = uuid.UUID(child_id) if child_id else None
        except ValueError:
            raise ValidationFailedError(
                "The child is not a child of this case.", field="child_id"
            ) from None
        item = evidence.record_item(
            db,
            actor=me.principal,
            case_id=case_id,
            item=evidence.ItemInput(
                kind=kind,
                description=description,
                place=place,
                collected_at=_local_time(collected_at, "collected_at"),
                holder=holder,
                reason=reason,
                child_id=child,
                # The form asks only about a medical report; for other kinds the answer is moot.
                examined_on_site=(
                    {"yes": True, "no": False}.get(examined_on_site)
                    if kind == EvidenceKind.MEDICAL_REPORT.value
                    else None
                ),
            ),
        )
    except DomainError as exc:
        db.rollback()
        if isinstance(exc, NotFoundError | ForbiddenError):
            raise
        errors = {exc.field or "": gettext(exc.message, **exc.params)}
        return _new_page(
            request, db, me, case_id, values=shown, errors=errors, status=exc.status_code
        )
    return _redirect(f"/onestop/cases/{case_id}/evidence/{item.id}")


# --- an item ------------------------------------------------------------------------------------


def _item_page(
    request: Request,
    db: Session,
    me: SignedIn,
    item: EvidenceItem,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    breaks: list[custody.Break] | None = None,
    status: int = 200,
) -> Response:
    case = db.get_one(OneStopCase, item.case_id)
    entries = evidence.custody_entries(db, item)
    state = custody.replay(entries)
    users = {item.collected_by_id} | {uuid.UUID(e.entry.actor_id) for e in entries}
    names = dict(db.execute(select(User.id, User.username).where(User.id.in_(users))).all())
    child = repository.get_child(db, case, item.child_id) if item.child_id else None
    section = case_section(db, me.principal, case)
    context = _context(
        case=case,
        item=item,
        child=child,
        entries=entries,
        state=state,
        names={str(k): v for k, v in names.items()},
        events=[e for e in CustodyEvent if not state.closed],
        physical=EvidenceKind(item.kind) in evidence.PHYSICAL_KINDS,
        may_record=section["may_record_evidence"],
        max_bytes=max_bytes(request),
        breaks=breaks,
        values=values or {},
        errors=errors or {},
    )
    response = render(request, "onestop/evidence/item.html", context, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/{case_id}/evidence/{item_id}")
def item_detail(
    request: Request, db: Db, me: Reader, case_id: uuid.UUID, item_id: uuid.UUID
) -> Response:
    """An item: what it is, its file, its custody log (the read is audited)."""
    item = evidence.read_item(db, actor=me.principal, case_id=case_id, item_id=item_id)
    return _item_page(request, db, me, item)


@router.post("/{case_id}/evidence/{item_id}/custody")
def custody_append(  # noqa: PLR0917 - a form's fields
    request: Request,
    db: Db,
    me: Recorder,
    case_id: uuid.UUID,
    item_id: uuid.UUID,
    event: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
    place: Annotated[str, Form()] = "",
    to_holder: Annotated[str, Form()] = "",
) -> Response:
    """Append a custody event, or show the item again with the field at fault."""
    shown = {"event": event, "reason": reason, "place": place, "to_holder": to_holder}
    try:
        evidence.append_custody(
            db,
            actor=me.principal,
            case_id=case_id,
            item_id=item_id,
            change=evidence.CustodyInput(
                event=event, reason=reason, place=place, to_holder=to_holder or None
            ),
        )
    except DomainError as exc:
        db.rollback()
        if isinstance(exc, NotFoundError | ForbiddenError):
            raise
        item = evidence.get_item(db, me.principal, case_id, item_id)
        errors = {exc.field or "": gettext(exc.message, **exc.params)}
        return _item_page(
            request, db, me, item, values=shown, errors=errors, status=exc.status_code
        )
    return _redirect(f"/onestop/cases/{case_id}/evidence/{item_id}#custody")


@router.post("/{case_id}/evidence/{item_id}/custody/verify")
def custody_verify(
    request: Request, db: Db, me: Reader, case_id: uuid.UUID, item_id: uuid.UUID
) -> Response:
    """Check the custody log and show the item with the result (the check is audited)."""
    breaks = evidence.verify_custody(db, actor=me.principal, case_id=case_id, item_id=item_id)
    item = evidence.get_item(db, me.principal, case_id, item_id)
    return _item_page(request, db, me, item, breaks=breaks)


@router.get("/{case_id}/evidence/{item_id}/file")
async def file_download(
    request: Request, me: StreamReader, case_id: uuid.UUID, item_id: uuid.UUID
) -> Response:
    """The file, verified in full first; a damaged file is refused and an alert raised."""
    return await verified_item_download(request, me.principal, case_id, item_id)


@router.post("/{case_id}/evidence/{item_id}/file")
async def file_upload(
    request: Request, me: StreamRecorder, case_id: uuid.UUID, item_id: uuid.UUID
) -> Response:
    """Store the form's file as it streams in, then attach it to the item."""

    def check(db: Session) -> None:
        evidence.check_upload(db, actor=me.principal, case_id=case_id, item_id=item_id)

    await in_transaction(request, check)
    try:
        upload = await receive_multipart(store_for(request), request, max_bytes=max_bytes(request))
    except (BlobTooLargeError, InvalidUploadError) as exc:
        raise upload_refused(exc) from None
    try:
        _check_csrf(request, upload.fields.get("csrf_token"), me.session_row.csrf_token)
    except DomainError:
        # A forged form stored nothing anyone refers to: a file new to the store goes again.
        if upload.blob.outcome == "created":
            store_for(request).remove(upload.blob.sha256)
        raise

    def attach(db: Session) -> None:
        evidence.attach_file(
            db,
            actor=me.principal,
            case_id=case_id,
            item_id=item_id,
            blob=upload.blob,
            filename=upload.filename,
            content_type=upload.content_type,
        )

    await in_transaction(request, attach)
    return _redirect(f"/onestop/cases/{case_id}/evidence/{item_id}")


@router.post("/{case_id}/alerts/{alert_id}/acknowledge")
def alert_acknowledge(db: Db, me: Manager, case_id: uuid.UUID, alert_id: uuid.UUID) -> Response:
    """The lead officer acknowledges an alert."""
    evidence.acknowledge_alert(db, actor=me.principal, case_id=case_id, alert_id=alert_id)
    return _redirect(f"/onestop/cases/{case_id}#evidence")
