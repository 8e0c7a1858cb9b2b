"""Evidence items of a case, their files and custody log, and the alerts a damaged file raises.

Issue 6, item 5. Only the case team sees evidence (`repository.get_case`: anyone else gets the
404 of a case that does not exist). Investigators, forensic examiners and the lead record items
and custody events; each file is verified in full before any byte is sent, and a file that
fails raises an alert that is committed even though the download is refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shouhu.accounts.policies import require
from shouhu.accounts.roles import Permission
from shouhu.core.audit.chain import record as audit_record
from shouhu.core.database import utcnow
from shouhu.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from shouhu.core.i18n import N_
from shouhu.core.principal import Principal
from shouhu.onestop import custody, custody_log
from shouhu.onestop.blobs import BlobStore, StoredBlob, TamperedBlobError, VerifiedBlob
from shouhu.onestop.evidence_models import AlertKind, EvidenceAlert, EvidenceItem, EvidenceKind
from shouhu.onestop.labels import field_label
from shouhu.onestop.models import CaseRole, OneStopCase
from shouhu.onestop.repository import get_case, get_child, membership

if TYPE_CHECKING:
    from collections.abc import Sequence

DESCRIPTION_LENGTH: Final = 2000
PLACE_LENGTH: Final = 300
HOLDER_LENGTH: Final = 200
REASON_LENGTH: Final = 2000
FILE_NAME_LENGTH: Final = 255
# A computer clock a few minutes fast is not an event from the future.
CLOCK_SKEW: Final = timedelta(minutes=5)
CONTENT_TYPE_LENGTH: Final = 120
# Items that are things, not files: kept in an evidence room, never uploaded.
PHYSICAL_KINDS: Final = frozenset({EvidenceKind.BIOLOGICAL_SAMPLE, EvidenceKind.CLOTHING})
# Who on the team handles evidence (MPS one-stop pilot: investigation and forensics).
HANDLERS: Final = frozenset({CaseRole.LEAD_OFFICER, CaseRole.INVESTIGATOR, CaseRole.FORENSIC})

ACTION_ADD: Final = "onestop:evidence_add"
ACTION_VIEW: Final = "onestop:evidence_view"
ACTION_UPLOAD: Final = "onestop:evidence_upload"
ACTION_DOWNLOAD: Final = "onestop:evidence_download"
ACTION_ALERT: Final = "onestop:evidence_alert"
ACTION_ALERT_ACK: Final = "onestop:alert_acknowledge"
ACTION_CUSTODY: Final = "onestop:custody_append"
ACTION_CUSTODY_VERIFY: Final = "onestop:custody_verify"

BLOCKED_MESSAGE: Final = N_(
    "The file failed its integrity check: it is not the file that was stored. The download "
    "was blocked and an alert was raised on the case. Do not use any copy of this file; call "
    "the case's lead officer and the site's evidence custodian, who hold the original."
)


class EvidenceBlockedError(ConflictError):
    """A download refused because the stored file failed verification (the alert is kept)."""

    code = "evidence_integrity_failure"


@dataclass(frozen=True)
class ItemInput:
    """An evidence item as the collecting officer enters it."""

    kind: str
    description: str
    place: str
    collected_at: datetime | None
    holder: str  # who keeps it from now: the unit or room, e.g. 区公安分局物证室
    reason: str  # why it was collected: the custody log's first reason
    child_id: uuid.UUID | None = None
    # A medical report says whether the child was examined at the site; other kinds say nothing.
    examined_on_site: bool | None = None


@dataclass(frozen=True)
class CustodyInput:
    """A custody event as the handler enters it."""

    event: str
    reason: str
    place: str
    to_holder: str | None = None
    occurred_at: datetime | None = None


def _text(value: str | None, field: str, limit: int, *, required: bool = True) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailedError("Fill in {name}.", field=field, name=field_label(field))
    if len(text) > limit:
        raise ValidationFailedError(
            "{name} is longer than {limit} characters.",
            field=field,
            name=field_label(field),
            limit=limit,
        )
    return text


def _require_handler(session: Session, actor: Principal, case: OneStopCase) -> None:
    member = membership(session, case.id, actor.user_id)
    if member is None or CaseRole(member.role) not in HANDLERS:
        raise ForbiddenError(
            "Only the lead officer, investigators and forensic examiners of the case "
            "handle its evidence."
        )


def _moment(value: datetime | None, field: str) -> datetime:
    now = utcnow()
    if value is None:
        return now
    if value.tzinfo is None:
        raise ValidationFailedError("Give the time with its time zone.", field=field)
    if value > now + CLOCK_SKEW:
        raise ValidationFailedError("The time is in the future.", field=field)
    return value


def items_of(session: Session, case_id: uuid.UUID) -> list[EvidenceItem]:
    """A case's items by number (the caller already may see the case)."""
    return list(
        session.scalars(
            select(EvidenceItem)
            .where(EvidenceItem.case_id == case_id)
            .order_by(EvidenceItem.number)
        )
    )


def get_item(
    session: Session,
    actor: Principal,
    case_id: uuid.UUID,
    item_id: uuid.UUID,
    *,
    lock: bool = False,
) -> EvidenceItem:
    """An item of a case the actor may see, or NotFoundError (as for a case not on their team)."""
    case = get_case(session, actor, case_id)
    statement = select(EvidenceItem).where(
        EvidenceItem.case_id == case.id, EvidenceItem.id == item_id
    )
    if lock:
        statement = statement.with_for_update()
    item = session.scalar(statement)
    if item is None:
        raise NotFoundError(N_("Evidence item not found."))
    return item


def list_items(session: Session, *, actor: Principal, case_id: uuid.UUID) -> list[EvidenceItem]:
    """The case's items, for its team (descriptions included: the read is audited)."""
    require(actor, Permission.ONESTOP_CASES_READ)
    case = get_case(session, actor, case_id)
    found = items_of(session, case.id)
    audit_record(
        session,
        actor=actor,
        action=ACTION_VIEW,
        object_type="onestop_case",
        object_id=case.id,
        details={"items": len(found)},
    )
    return found


def read_item(
    session: Session, *, actor: Principal, case_id: uuid.UUID, item_id: uuid.UUID
) -> EvidenceItem:
    """One item with its sealed description and place; the read is audited."""
    require(actor, Permission.ONESTOP_CASES_READ)
    item = get_item(session, actor, case_id, item_id)
    audit_record(
        session, actor=actor, action=ACTION_VIEW, object_type="evidence_item", object_id=item.id
    )
    return item


def record_item(
    session: Session, *, actor: Principal, case_id: uuid.UUID, item: ItemInput
) -> EvidenceItem:
    """Record an item and, in the same transaction, its custody log's `collected` entry."""
    require(actor, Permission.ONESTOP_EVIDENCE_RECORD)
    case = get_case(session, actor, case_id, lock=True)  # the lock orders the item numbers
    _require_handler(session, actor, case)
    try:
        kind = EvidenceKind(item.kind)
    except ValueError:
        raise ValidationFailedError("Choose a kind of evidence.", field="kind") from None
    description = _text(item.description, "description", DESCRIPTION_LENGTH)
    place = _text(item.place, "place", PLACE_LENGTH)
    holder = _text(item.holder, "holder", HOLDER_LENGTH)
    reason = _text(item.reason, "reason", REASON_LENGTH)
    collected_at = _moment(item.collected_at, "collected_at")
    if kind is EvidenceKind.MEDICAL_REPORT and item.examined_on_site is None:
        raise ValidationFailedError(
            "Say whether the examination was done at the site.", field="examined_on_site"
        )
    if kind is not EvidenceKind.MEDICAL_REPORT and item.examined_on_site is not None:
        raise ValidationFailedError(
            "Only a medical report says where the examination was done.",
            field="examined_on_site",
        )
    if item.child_id is not None:
        try:
            get_child(session, case, item.child_id)
        except NotFoundError:
            raise ValidationFailedError(
                "The child is not a child of this case.", field="child_id"
            ) from None
    number = (
        session.scalar(
            select(func.coalesce(func.max(EvidenceItem.number), 0)).where(
                EvidenceItem.case_id == case.id
            )
        )
        or 0
    ) + 1
    row = EvidenceItem(
        case_id=case.id,
        number=number,
        kind=kind.value,
        collected_at=collected_at,
        collected_by_id=actor.user_id,
        child_id=item.child_id,
        examined_on_site=item.examined_on_site,
        custody_seq=0,
        custody_head=custody.GENESIS_HASH,
    )
    row.ensure_id()
    row.description = description
    row.place = place
    session.add(row)
    session.flush()
    _append(
        session,
        actor,
        row,
        custody.CustodyEvent.COLLECTED,
        reason=reason,
        place=place,
        to_holder=holder,
        occurred_at=collected_at,
    )
    audit_record(
        session,
        actor=actor,
        action=ACTION_ADD,
        object_type="evidence_item",
        object_id=row.id,
        details={
            "case_id": str(case.id),
            "kind": kind.value,
            "number": number,
            "examined_on_site": item.examined_on_site,
        },
    )
    return row


def _append(
    session: Session,
    actor: Principal,
    item: EvidenceItem,
    event: custody.CustodyEvent,
    *,
    reason: str,
    place: str,
    to_holder: str | None,
    occurred_at: datetime,
) -> custody.CustodyState:
    before = custody_log.state(session, item)
    from_holder = before.holder if before.in_custody else None
    entry = custody.CustodyEntry(
        item_id=str(item.id),
        seq=0,  # assigned by custody.append
        event=event,
        occurred_at=occurred_at,
        actor_id=str(actor.user_id),
        organisation_id=str(actor.organisation_id),
        place=place,
        reason=reason,
        from_holder=from_holder,
        to_holder=to_holder or None,
    )
    try:
        custody_log.append(session, item, entry)
    except custody.CustodyError as exc:
        raise ConflictError(
            "This custody event cannot follow the log: {problem}", field="event", problem=str(exc)
        ) from None
    return custody_log.state(session, item)


def append_custody(
    session: Session,
    *,
    actor: Principal,
    case_id: uuid.UUID,
    item_id: uuid.UUID,
    change: CustodyInput,
) -> EvidenceItem:
    """Append one custody event with its mandatory reason; from-holder is the current one."""
    require(actor, Permission.ONESTOP_EVIDENCE_RECORD)
    item = get_item(session, actor, case_id, item_id, lock=True)
    _require_handler(session, actor, session.get_one(OneStopCase, item.case_id))
    try:
        event = custody.CustodyEvent(change.event)
    except ValueError:
        raise ValidationFailedError("Choose a custody event.", field="event") from None
    # Issue 6: every custody event carries a reason; whitespace is not one.
    reason = _text(change.reason, "reason", REASON_LENGTH)
    place = _text(change.place, "place", PLACE_LENGTH)
    to_holder = _text(change.to_holder, "to_holder", HOLDER_LENGTH, required=False)
    if (
        event
        in {
            custody.CustodyEvent.TRANSFERRED,
            custody.CustodyEvent.RETURNED,
            custody.CustodyEvent.COLLECTED,
        }
        and not to_holder
    ):
        raise ValidationFailedError("Name who receives the item.", field="to_holder")
    occurred_at = _moment(change.occurred_at, "occurred_at")
    _append(
        session,
        actor,
        item,
        event,
        reason=reason,
        place=place,
        to_holder=to_holder,
        occurred_at=occurred_at,
    )
    audit_record(
        session,
        actor=actor,
        action=ACTION_CUSTODY,
        object_type="evidence_item",
        object_id=item.id,
        details={"event": event.value, "seq": item.custody_seq},
    )
    return item


def custody_entries(session: Session, item: EvidenceItem) -> list[custody.ChainedEntry]:
    """The item's custody log as stored (the caller already may see the item)."""
    return [custody_log.chained(row) for row in custody_log.records(session, item)]


def verify_custody(
    session: Session, *, actor: Principal, case_id: uuid.UUID, item_id: uuid.UUID
) -> list[custody.Break]:
    """Check the item's stored log against its head; the check and its result are audited."""
    require(actor, Permission.ONESTOP_CASES_READ)
    item = get_item(session, actor, case_id, item_id)
    breaks = custody_log.verify(session, item)
    audit_record(
        session,
        actor=actor,
        action=ACTION_CUSTODY_VERIFY,
        outcome="success" if not breaks else "failure",
        object_type="evidence_item",
        object_id=item.id,
        details={"entries": item.custody_seq, "breaks": [b.reason.value for b in breaks]},
    )
    return breaks


# --- files --------------------------------------------------------------------------------------


def check_upload(
    session: Session, *, actor: Principal, case_id: uuid.UUID, item_id: uuid.UUID
) -> EvidenceItem:
    """Refuse an upload before its bytes are read: no such item, not a handler, a file already."""
    require(actor, Permission.ONESTOP_EVIDENCE_RECORD)
    item = get_item(session, actor, case_id, item_id)
    _require_handler(session, actor, session.get_one(OneStopCase, item.case_id))
    if EvidenceKind(item.kind) in PHYSICAL_KINDS:
        raise ConflictError("This item is a physical object: it has no file.", field="file")
    if item.file_sha256 is not None:
        # Evidence is fixed once stored: a second file is a new item, so both stay on record.
        raise ConflictError("This item already has its file.", field="file")
    return item


def attach_file(
    session: Session,
    *,
    actor: Principal,
    case_id: uuid.UUID,
    item_id: uuid.UUID,
    blob: StoredBlob,
    filename: str | None,
    content_type: str | None,
) -> EvidenceItem:
    """Attach a stored file to its item (SHA-256 and size as computed while it streamed in)."""
    check_upload(session, actor=actor, case_id=case_id, item_id=item_id)
    item = get_item(session, actor, case_id, item_id, lock=True)
    item.file_sha256 = blob.sha256
    item.file_size = blob.size
    item.file_name = (filename or "").strip()[:FILE_NAME_LENGTH] or f"evidence-{item.number}"
    item.file_content_type = (content_type or "application/octet-stream")[:CONTENT_TYPE_LENGTH]
    item.file_uploaded_at = utcnow()
    item.file_uploaded_by_id = actor.user_id
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_UPLOAD,
        object_type="evidence_item",
        object_id=item.id,
        details={"sha256": blob.sha256, "size": blob.size, "outcome": blob.outcome},
    )
    if blob.outcome == "repaired" and isinstance(blob.damage, TamperedBlobError):
        # The stored copy of this content had been damaged; it is in quarantine now.
        raise_alert(session, actor=actor, item=item, error=blob.damage)
    return item


def raise_alert(
    session: Session, *, actor: Principal, item: EvidenceItem, error: TamperedBlobError
) -> EvidenceAlert:
    """Record an integrity alert on the item's case, with its audit event."""
    alert = EvidenceAlert(
        case_id=item.case_id,
        item_id=item.id,
        kind=AlertKind.FILE_INTEGRITY.value,
        details=error.alert_details(),
        raised_at=utcnow(),
        raised_by_id=actor.user_id,
    )
    alert.ensure_id()
    session.add(alert)
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_ALERT,
        outcome="failure",
        object_type="evidence_item",
        object_id=item.id,
        details={"alert_id": str(alert.id), **error.alert_details()},
    )
    return alert


@dataclass(frozen=True)
class DownloadTicket:
    """What a download needs once access is checked: read in a short transaction, no ORM rows."""

    item_id: uuid.UUID
    number: int
    sha256: str
    size: int
    filename: str


def check_download(
    session: Session, *, actor: Principal, case_id: uuid.UUID, item_id: uuid.UUID
) -> DownloadTicket:
    """Check that the actor may download the item's file and read what the download needs."""
    require(actor, Permission.ONESTOP_CASES_READ)
    item = get_item(session, actor, case_id, item_id)
    if item.file_sha256 is None:
        raise NotFoundError(N_("This item has no file."))
    return DownloadTicket(
        item_id=item.id,
        number=item.number,
        sha256=item.file_sha256,
        size=item.file_size or 0,
        filename=item.file_name or f"evidence-{item.number}",
    )


def record_download(
    session: Session, *, actor: Principal, case_id: uuid.UUID, ticket: DownloadTicket
) -> None:
    """Audit a download whose file has been verified (access is checked again: it may be gone)."""
    require(actor, Permission.ONESTOP_CASES_READ)
    item = get_item(session, actor, case_id, ticket.item_id)
    audit_record(
        session,
        actor=actor,
        action=ACTION_DOWNLOAD,
        object_type="evidence_item",
        object_id=item.id,
        details={"sha256": ticket.sha256, "size": ticket.size},
    )


def block_download(
    session: Session,
    *,
    actor: Principal,
    case_id: uuid.UUID,
    ticket: DownloadTicket,
    error: TamperedBlobError,
) -> EvidenceBlockedError:
    """Raise the alert and record the blocked download; return the error that commits them."""
    item = get_item(session, actor, case_id, ticket.item_id)
    alert = raise_alert(session, actor=actor, item=item, error=error)
    audit_record(
        session,
        actor=actor,
        action=ACTION_DOWNLOAD,
        outcome="blocked",
        object_type="evidence_item",
        object_id=item.id,
        details={"sha256": ticket.sha256, "alert_id": str(alert.id)},
    )
    return EvidenceBlockedError(BLOCKED_MESSAGE, field="file", persist=True)


def open_download(
    session: Session,
    *,
    actor: Principal,
    case_id: uuid.UUID,
    item_id: uuid.UUID,
    store: BlobStore,
) -> tuple[DownloadTicket, VerifiedBlob]:
    """Check, verify and audit a download in one transaction (the CLI and tests' shortcut).

    The web routes run the same three steps with the verification outside any transaction
    (evidence_web.verified_item_download): a GB-sized file takes seconds to verify. A file
    that fails is not sent: an alert is raised and the download recorded as blocked, and
    EvidenceBlockedError asks the unit of work to commit them (issue 6).
    """
    ticket = check_download(session, actor=actor, case_id=case_id, item_id=item_id)
    try:
        blob = store.open_verified(ticket.sha256)
    except TamperedBlobError as error:
        raise block_download(
            session, actor=actor, case_id=case_id, ticket=ticket, error=error
        ) from None
    try:
        record_download(session, actor=actor, case_id=case_id, ticket=ticket)
    except BaseException:
        blob.close()
        raise
    return ticket, blob


# --- alerts -------------------------------------------------------------------------------------


def alerts_of(session: Session, case_id: uuid.UUID) -> Sequence[EvidenceAlert]:
    """A case's alerts, the open ones first, the latest first (the caller may see the case)."""
    return list(
        session.scalars(
            select(EvidenceAlert)
            .where(EvidenceAlert.case_id == case_id)
            .order_by(EvidenceAlert.acknowledged_at.is_not(None), EvidenceAlert.raised_at.desc())
        )
    )


def acknowledge_alert(
    session: Session, *, actor: Principal, case_id: uuid.UUID, alert_id: uuid.UUID
) -> EvidenceAlert:
    """The lead officer acknowledges an alert: it stays on record, marked as seen."""
    require(actor, Permission.ONESTOP_CASES_MANAGE)
    case = get_case(session, actor, case_id)
    alert = session.scalar(
        select(EvidenceAlert)
        .where(EvidenceAlert.case_id == case.id, EvidenceAlert.id == alert_id)
        .with_for_update()
    )
    if alert is None:
        raise NotFoundError(N_("Alert not found."))
    member = membership(session, case.id, actor.user_id)
    if member is None or member.role != CaseRole.LEAD_OFFICER.value:
        raise ForbiddenError("Only the case's lead officer acknowledges an alert.")
    if alert.acknowledged_at is not None:
        raise ConflictError("The alert was already acknowledged.")
    alert.acknowledged_at = utcnow()
    alert.acknowledged_by_id = actor.user_id
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_ALERT_ACK,
        object_type="onestop_alert",
        object_id=alert.id,
        details={"case_id": str(case.id)},
    )
    return alert
