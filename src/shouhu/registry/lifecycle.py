"""The record lifecycle: entry by source, four-eyes review, correction, revocation and sealing.

    draft ──send──▶ pending_review ──approve──▶ active ──correct──▶ corrected (a new version)
      ▲                  │                       │  └──revoke──▶ revoked
      └──edit── returned ◀┘ return               └────seal────▶ sealed ──revoke──▶ revoked

A record goes live only when a registry reviewer of its reviewing organisation, who is not its
submitter, approves it (2020 Opinions art. 4: public security builds the database from what
courts and procuratorates send). An approved record is never edited: a correction is a new
version, reviewed the same way, and approving it retires the old one. Every change appends a
transition (who, when, from, to, why) and an audit event in the same transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final, get_args

from pydantic import ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from shouhu.accounts.models import Organisation
from shouhu.accounts.policies import require
from shouhu.accounts.roles import OrgType, Permission, Role
from shouhu.core.audit.chain import record as audit_record
from shouhu.core.audit.models import AuditEvent
from shouhu.core.database import utcnow
from shouhu.core.errors import (
    ConflictError,
    FieldsInvalidError,
    ForbiddenError,
    NotFoundError,
    ValidationFailedError,
)
from shouhu.core.principal import Channel, Principal
from shouhu.identity.prc_id import latest_possible_date
from shouhu.identity.rows import Rejection
from shouhu.onestop.handoff_models import CaseRegistryHandoff
from shouhu.onestop.models import CaseSuspect
from shouhu.registry.importer import ValidRow, merge_identity, merge_person, validate_row
from shouhu.registry.models import (
    LIVE_STATUSES,
    RecordKind,
    RecordSource,
    RecordStatus,
    RegistryPerson,
    RegistryRecord,
    RegistryRecordFile,
    RegistryRecordTransition,
)
from shouhu.registry.policy import DisclosurePolicy, policy
from shouhu.registry.repository import get_record, holder_statement
from shouhu.registry.schemas import SUBJECT_COLUMNS, Reason, RecordSubmission

MAX_SCAN_BYTES: Final = 20 * 1024 * 1024
# The types a scan may have, each with the signatures its content starts with: a browser names
# the type from the file's extension, so a renamed document would otherwise pass as a scan.
SCAN_SIGNATURES: Final[dict[str, tuple[bytes, ...]]] = {
    "application/pdf": (b"%PDF-",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/tiff": (b"II*\x00", b"MM\x00*"),
}
SCAN_TYPES: Final = frozenset(SCAN_SIGNATURES)

# The kinds each source enters (2020 Opinions art. 2); a registry clerk also enters any kind
# received on paper.
KINDS_BY_ORG_TYPE: Final = {
    OrgType.COURT.value: frozenset({RecordKind.CONVICTION}),
    OrgType.PROCURATORATE.value: frozenset({RecordKind.NON_PROSECUTION}),
    OrgType.PUBLIC_SECURITY.value: frozenset({RecordKind.ADMINISTRATIVE_PENALTY}),
}
SOURCE_BY_ORG_TYPE: Final = {
    OrgType.COURT.value: RecordSource.COURT,
    OrgType.PROCURATORATE.value: RecordSource.PROCURATORATE,
    OrgType.PUBLIC_SECURITY.value: RecordSource.PUBLIC_SECURITY,
}

ACTION_DRAFT: Final = "registry:record_draft"
ACTION_UPDATE: Final = "registry:record_update"
ACTION_SUBMIT: Final = "registry:record_submit"
ACTION_APPROVE: Final = "registry:record_approve"
ACTION_RETURN: Final = "registry:record_return"
ACTION_SUPERSEDE: Final = "registry:record_supersede"
ACTION_REVOKE: Final = "registry:record_revoke"
ACTION_SEAL: Final = "registry:record_seal"
ACTION_REINSTATE: Final = "registry:record_reinstate"
ACTION_DISCARD: Final = "registry:record_discard"
ACTION_VIEW: Final = "registry:record_view"
ACTION_FILE_READ: Final = "registry:record_file_read"
# The actions that write a record's content: four eyes keeps their actors from approving it.
_WRITES: Final = (ACTION_DRAFT, ACTION_UPDATE, ACTION_SUBMIT)
CHANNELS: Final = get_args(Channel)


class SubmissionInvalidError(FieldsInvalidError):
    """A submission broke the import's rules; `problems` maps each field to what is wrong.

    `reasons` maps each field to the rejection's stable code, for pages to translate.
    """

    def __init__(self, problems: dict[str, str], reasons: dict[str, str] | None = None) -> None:
        super().__init__(problems)
        self.reasons = reasons or {}


@dataclass(frozen=True, slots=True)
class Scan:
    """An uploaded scan of the decision document."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True, slots=True)
class RecordCorrection:
    """The decision's fields a correction may change; the subject stays the record's person."""

    record_kind: str
    offence: str
    decision_authority: str
    decision_number: str
    decision_date: str
    offence_date: date | None = None
    sentence_months: int | None = None


# --- checking what is submitted -----------------------------------------------------------------


def _invalid(rejections: list[Rejection]) -> SubmissionInvalidError:
    problems: dict[str, str] = {}
    reasons: dict[str, str] = {}
    for rejection in rejections:
        problems.setdefault(rejection.field, rejection.message)
        reasons.setdefault(rejection.field, rejection.reason)
    return SubmissionInvalidError(problems, reasons)


def _checked(columns: dict[str, str], offence_date: date | None) -> ValidRow:
    """The import's validation of one row, and the offence date against it."""
    outcome = validate_row(1, columns, today=latest_possible_date())
    if isinstance(outcome, list):
        raise _invalid(outcome)
    if offence_date is not None:
        if offence_date > outcome.record.decision_date:
            raise SubmissionInvalidError(
                {"offence_date": "after the decision date"}, {"offence_date": "after_decision"}
            )
        if outcome.date_of_birth is not None and offence_date < outcome.date_of_birth:
            raise SubmissionInvalidError(
                {"offence_date": "before the birth date"}, {"offence_date": "before_birth"}
            )
    return outcome


def _source(actor: Principal, kind: RecordKind, on_paper: bool) -> RecordSource:
    """Where the record comes from; refuses a kind the actor's organisation does not decide."""
    org_type = actor.org_type or ""
    if kind in KINDS_BY_ORG_TYPE.get(org_type, frozenset()):
        return SOURCE_BY_ORG_TYPE[org_type]
    if on_paper and actor.has_role(Role.REGISTRY_CLERK.value):
        return RecordSource.PAPER
    if actor.has_role(Role.REGISTRY_CLERK.value):
        raise ValidationFailedError(
            "A court's or procuratorate's decision entered by public security must be marked"
            " as received on paper.",
            field="received_on_paper",
        )
    raise ValidationFailedError(
        "Your organisation does not submit records of this kind.", field="record_kind"
    )


def _common_prefix(first: str, second: str) -> int:
    length = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        length += 1
    return length


def review_organisations(session: Session) -> list[Organisation]:
    """The public security organisations that may review records, by name."""
    return list(
        session.scalars(
            select(Organisation)
            .where(
                Organisation.type == OrgType.PUBLIC_SECURITY.value,
                Organisation.active.is_(True),
            )
            .order_by(Organisation.name)
        )
    )


def _reviewing(session: Session, actor: Principal, requested: uuid.UUID | None) -> Organisation:
    """The organisation whose reviewers decide a submission."""
    if actor.org_type == OrgType.PUBLIC_SECURITY.value and actor.organisation_id is not None:
        own = session.get(Organisation, actor.organisation_id)
        if own is None or (requested is not None and requested != own.id):
            raise ValidationFailedError(
                "Your own organisation reviews what you submit.", field="review_organisation_id"
            )
        return own
    choices = review_organisations(session)
    if requested is not None:
        chosen = next((org for org in choices if org.id == requested), None)
        if chosen is None:
            raise ValidationFailedError(
                "Choose an active public security organisation to review the record.",
                field="review_organisation_id",
            )
        return chosen
    if not choices:
        raise ValidationFailedError(
            "No public security organisation can review records yet; ask the operator to"
            " create one.",
            field="review_organisation_id",
        )
    region = ""
    if actor.organisation_id is not None:
        submitter = session.get(Organisation, actor.organisation_id)
        region = submitter.region_code if submitter else ""
    # The nearest in the administrative division tree: the longest shared code prefix.
    return max(choices, key=lambda org: _common_prefix(org.region_code, region))


def _scan_file(record: RegistryRecord, scan: Scan, actor: Principal) -> RegistryRecordFile:
    if not scan.content:
        raise ValidationFailedError("The scan is empty.", field="scan")
    if len(scan.content) > MAX_SCAN_BYTES:
        raise ValidationFailedError(
            "The scan is larger than {limit} MiB.", field="scan", limit=MAX_SCAN_BYTES >> 20
        )
    if not scan.content.startswith(SCAN_SIGNATURES.get(scan.content_type, ())):
        raise ValidationFailedError("Upload the scan as PDF, JPEG, PNG or TIFF.", field="scan")
    stored = RegistryRecordFile(
        record_id=record.id,
        content_type=scan.content_type,
        size=len(scan.content),
        sha256=hashlib.sha256(scan.content).hexdigest(),
        uploaded_by_id=actor.user_id,
    )
    stored.ensure_id()
    stored.filename = scan.filename[-200:] or "scan"
    stored.content = scan.content
    return stored


# --- transitions --------------------------------------------------------------------------------


def _move(
    session: Session,
    record: RegistryRecord,
    *,
    actor: Principal,
    to: RecordStatus,
    action: str,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
    created: bool = False,
) -> None:
    """Change the status, append the transition and write its audit event."""
    # A record's first transition comes from nothing only when it creates the record: an
    # imported record has no transitions yet is active when it is first sealed or revoked.
    from_status = None if created else record.status
    transition = RegistryRecordTransition(
        record_id=record.id,
        seq=len(record.transitions) + 1,
        from_status=from_status,
        to_status=to.value,
        actor_id=actor.user_id,
        organisation_id=actor.organisation_id,
    )
    transition.ensure_id()
    if reason:
        transition.reason = reason
    record.transitions.append(transition)
    record.status = to.value
    record.updated_at = utcnow()
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=action,
        object_type="registry_record",
        object_id=record.id,
        details={
            "from": from_status,
            "to": to.value,
            "kind": record.kind,
            "offence": record.offence,
            "version": record.version,
            "transition": str(transition.id),
            **(details or {}),
        },
    )


def _fill(record: RegistryRecord, row: ValidRow, data: RecordSubmission | RecordCorrection) -> None:
    record.kind = row.record.kind.value
    record.offence = row.record.offence
    record.decision_authority = row.record.authority
    record.decision_number = row.record.number
    record.decision_date = row.record.decision_date
    record.fingerprint = row.record.fingerprint
    record.offence_date = data.offence_date
    record.sentence_months = data.sentence_months


def _subject(row: ValidRow) -> dict[str, str]:
    """The subject's identity in canonical form, as the record keeps it until approval."""
    return {
        "name": row.name,
        "former_names": ";".join(row.former_names),
        "sex": row.sex or "",
        "date_of_birth": row.date_of_birth.isoformat() if row.date_of_birth else "",
        "nationality": row.nationality_given or "",
        "id_type": row.document.id_type.value,
        "id_number": row.document.number,
    }


def _send(session: Session, record: RegistryRecord, actor: Principal) -> None:
    record.submitted_at = utcnow()
    _move(session, record, actor=actor, to=RecordStatus.PENDING_REVIEW, action=ACTION_SUBMIT)


def _enter(
    session: Session,
    *,
    actor: Principal,
    row: ValidRow,
    data: RecordSubmission | RecordCorrection,
    source: RecordSource,
    subject: dict[str, str],
    review_organisation_id: uuid.UUID | None,
    scan: Scan | None,
    send: bool,
    supersedes: RegistryRecord | None = None,
) -> RegistryRecord:
    """A new record (a submission, or a correction of `supersedes`): a draft, or sent."""
    record = RegistryRecord(
        person_id=supersedes.person_id if supersedes else None,
        source=source.value,
        version=supersedes.version + 1 if supersedes else 1,
        supersedes_id=supersedes.id if supersedes else None,
        submitted_by_id=actor.user_id,
        submitting_organisation_id=actor.organisation_id,
        review_organisation_id=review_organisation_id,
        status=RecordStatus.DRAFT.value,
        transitions=[],
        files=[],
    )
    record.ensure_id()
    _fill(record, row, data)
    record.subject = subject
    session.add(record)
    if scan is not None:
        record.files.append(_scan_file(record, scan, actor))
    session.flush()
    if send:
        record.submitted_at = utcnow()
    details: dict[str, Any] = {"source": source.value}
    if supersedes is not None:
        details["supersedes"] = str(supersedes.id)
    details["scan_sha256"] = _scan_digests(record)
    _move(
        session,
        record,
        actor=actor,
        to=RecordStatus.PENDING_REVIEW if send else RecordStatus.DRAFT,
        action=ACTION_SUBMIT if send else ACTION_DRAFT,
        created=True,
        details=details,
    )
    return record


def submit_record(
    session: Session,
    *,
    actor: Principal,
    data: RecordSubmission,
    scan: Scan | None = None,
    send: bool = True,
) -> RegistryRecord:
    """Enter a decision: sent for review at once, or kept as a draft (`send=False`)."""
    require(actor, Permission.REGISTRY_SUBMIT)
    if actor.organisation_id is None or actor.user_id is None:
        raise ForbiddenError("Records are submitted by an organisation's user.")
    row = _checked(data.import_columns(), data.offence_date)
    source = _source(actor, row.record.kind, data.received_on_paper)
    reviewing = _reviewing(session, actor, data.review_organisation_id)
    return _enter(
        session,
        actor=actor,
        row=row,
        data=data,
        source=source,
        subject=_subject(row),
        review_organisation_id=reviewing.id,
        scan=scan,
        send=send,
    )


def draft_from_case(
    session: Session, *, actor: Principal, data: RecordSubmission
) -> RegistryRecord:
    """A conviction handed off from a one-stop case: a draft for the registry's clerks.

    The case officer holds no `registry:submit`, and public security does not decide
    convictions (`_source`): this is the one door a case officer has into the registry. It
    makes a draft only, of the officer's own organisation (the registry owner), whose clerks
    check it against the court's judgment and send it on; the officer is its author, so four
    eyes keep them from approving it. `onestop.handoff` checks the case and its team first.
    """
    require(actor, Permission.ONESTOP_REGISTRY_HANDOFF)
    if (
        actor.organisation_id is None
        or actor.user_id is None
        or actor.org_type != OrgType.PUBLIC_SECURITY.value
    ):
        raise ForbiddenError("Only public security hands a case's conviction to the registry.")
    row = _checked(data.import_columns(), data.offence_date)
    if row.record.kind is not RecordKind.CONVICTION:
        raise ValidationFailedError(
            "A case is handed to the registry only for a conviction.", field="record_kind"
        )
    reviewing = _reviewing(session, actor, None)
    return _enter(
        session,
        actor=actor,
        row=row,
        data=data,
        source=RecordSource.ONESTOP_CASE,
        subject=_subject(row),
        review_organisation_id=reviewing.id,
        scan=None,
        send=False,
    )


def _scan_digests(record: RegistryRecord) -> list[str]:
    return [stored.sha256 for stored in record.files]


def editable_record(session: Session, actor: Principal, record_id: uuid.UUID) -> RegistryRecord:
    """A draft or returned record of the actor's own organisation."""
    require(actor, Permission.REGISTRY_SUBMIT)
    record = get_record(session, actor, record_id, lock=True)
    if record.submitting_organisation_id != actor.organisation_id:
        raise NotFoundError("Record not found.")
    if record.status not in {RecordStatus.DRAFT.value, RecordStatus.RETURNED.value}:
        if record.status == RecordStatus.PENDING_REVIEW.value:
            raise ConflictError("The record is waiting for review and cannot be changed now.")
        raise ConflictError("An approved record is never edited; submit a correction instead.")
    return record


def update_submission(
    session: Session,
    *,
    actor: Principal,
    record_id: uuid.UUID,
    data: RecordSubmission | RecordCorrection,
    scan: Scan | None = None,
    send: bool = True,
) -> RegistryRecord:
    """Change a draft or a returned record, and send it for review unless `send=False`."""
    record = editable_record(session, actor, record_id)
    if isinstance(data, RecordSubmission):
        if record.supersedes_id is not None:
            raise ConflictError("A correction keeps its person; change only the decision.")
        row = _checked(data.import_columns(), data.offence_date)
        if record.source == RecordSource.ONESTOP_CASE.value:
            # A one-stop hand-off stays one whatever the clerk corrects: its source says where
            # it came from, and it is a conviction (onestop.handoff).
            if row.record.kind is not RecordKind.CONVICTION:
                raise ValidationFailedError(
                    "A case is handed to the registry only for a conviction.",
                    field="record_kind",
                )
        else:
            record.source = _source(actor, row.record.kind, data.received_on_paper).value
        record.review_organisation_id = _reviewing(session, actor, data.review_organisation_id).id
        record.subject = _subject(row)
    else:
        row = _checked(_correction_columns(record.subject or {}, data), data.offence_date)
    _fill(record, row, data)
    if scan is not None:
        record.files.append(_scan_file(record, scan, actor))
    record.updated_at = utcnow()
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_UPDATE,
        object_type="registry_record",
        object_id=record.id,
        details={"status": record.status, "scan_sha256": _scan_digests(record)},
    )
    if send:
        _send(session, record, actor)
    return record


def send_for_review(session: Session, *, actor: Principal, record_id: uuid.UUID) -> RegistryRecord:
    """Send a draft or returned record to its reviewers."""
    record = editable_record(session, actor, record_id)
    _send(session, record, actor)
    return record


def _correction_columns(subject: dict[str, str], data: RecordCorrection) -> dict[str, str]:
    columns = {"external_id": "correction", **{c: subject.get(c, "") for c in SUBJECT_COLUMNS}}
    columns.update(
        record_kind=data.record_kind,
        offence=data.offence,
        decision_authority=data.decision_authority,
        decision_number=data.decision_number,
        decision_date=data.decision_date,
    )
    return columns


def subject_of_person(person: RegistryPerson) -> dict[str, str]:
    """A stored person as subject columns (for a record imported without a submitted subject)."""
    primary = person.name or ""
    document = person.documents[0] if person.documents else None
    return {
        "name": primary,
        "former_names": ";".join(
            n.name or "" for n in person.names if n.kind != "primary" and n.name
        ),
        "sex": person.sex or "",
        "date_of_birth": person.date_of_birth.isoformat() if person.date_of_birth else "",
        "nationality": person.nationality or "",
        "id_type": document.id_type if document else "",
        "id_number": (document.number or "") if document else "",
    }


def submit_correction(
    session: Session,
    *,
    actor: Principal,
    record_id: uuid.UUID,
    data: RecordCorrection,
    scan: Scan | None = None,
    send: bool = True,
) -> RegistryRecord:
    """Submit a new version of an active record; it replaces the old one when approved."""
    require(actor, Permission.REGISTRY_SUBMIT)
    if actor.organisation_id is None or actor.user_id is None:
        raise ForbiddenError("Records are submitted by an organisation's user.")
    old = get_record(session, actor, record_id, lock=True)
    if old.status != RecordStatus.ACTIVE.value:
        raise ConflictError(
            "Only an active record can be corrected; this one is {status}.", status=old.status
        )
    pending = session.scalar(
        select(RegistryRecord.id).where(
            RegistryRecord.supersedes_id == old.id,
            RegistryRecord.status.in_(
                [
                    RecordStatus.DRAFT.value,
                    RecordStatus.PENDING_REVIEW.value,
                    RecordStatus.RETURNED.value,
                ]
            ),
        )
    )
    if pending is not None:
        raise ConflictError("A correction of this record is already under way.")
    person = session.get(RegistryPerson, old.person_id) if old.person_id else None
    subject = old.subject or (subject_of_person(person) if person else {})
    row = _checked(_correction_columns(subject, data), data.offence_date)
    source = _source(actor, row.record.kind, on_paper=actor.has_role(Role.REGISTRY_CLERK.value))
    reviewing = old.review_organisation_id or _reviewing(session, actor, None).id
    return _enter(
        session,
        actor=actor,
        row=row,
        data=data,
        source=source,
        subject=subject,
        review_organisation_id=reviewing,
        scan=scan,
        send=send,
        supersedes=old,
    )


# --- review -------------------------------------------------------------------------------------


def _pending_for(session: Session, actor: Principal, record_id: uuid.UUID) -> RegistryRecord:
    """A record waiting for the actor's organisation's review (404 for any other reviewer)."""
    require(actor, Permission.REGISTRY_REVIEW)
    record = get_record(session, actor, record_id, lock=True)
    if record.review_organisation_id != actor.organisation_id:
        raise NotFoundError("Record not found.")
    if record.status != RecordStatus.PENDING_REVIEW.value:
        raise ConflictError(
            "Only a record waiting for review can be decided; this one is {status}.",
            status=record.status,
        )
    return record


def _row_of(record: RegistryRecord) -> ValidRow:
    subject = record.subject or {}
    columns = _correction_columns(
        subject,
        RecordCorrection(
            record_kind=record.kind,
            offence=record.offence,
            decision_authority=record.decision_authority,
            decision_number=record.decision_number or "",
            decision_date=record.decision_date.isoformat(),
        ),
    )
    return _checked(columns, None)


def holder_of(session: Session, row: ValidRow) -> RegistryPerson | None:
    """The registry person holding the subject's identity document, if any."""
    return session.scalar(
        holder_statement(row.document.id_type.value, row.document_index).options(
            selectinload(RegistryPerson.names),
            selectinload(RegistryPerson.documents),
            selectinload(RegistryPerson.records),
        )
    )


def _resolve_person(
    session: Session, row: ValidRow, found: RegistryPerson | None
) -> RegistryPerson:
    """`found` (the document's holder) brought up to date with the subject, or a new person."""
    person = found
    if person is None:
        person = RegistryPerson(
            external_id=f"SUB-{uuid.uuid4().hex[:16].upper()}", names=[], documents=[]
        )
        person.ensure_id()
        person.name = row.name
        session.add(person)
        session.flush()
    given, _ = merge_person([row])
    given.external_id = person.external_id
    if found is None:
        # A new person's nationality is what the document implies when none was given (CHN for
        # a resident identity card), as the import registers it.
        person.nationality = given.nationality
    merge_identity(session, person, given)
    return person


def sealing_refusal(  # noqa: PLR0911 - one return per rule, in the order the law reads
    record: RegistryRecord, born: date | None, rules: DisclosurePolicy
) -> ConflictError | None:
    """Why the policy forbids sealing the record (an error to raise); None: it must be sealed."""
    rule = rules.sealing
    if rule is None:
        return ConflictError("The policy in force has no sealing rule.")
    if record.offence_date is None:
        return ConflictError("The record cannot be sealed: its offence date is not recorded.")
    if born is None:
        return ConflictError("The record cannot be sealed: the birth date is not recorded.")
    if record.offence_date >= _birthday(born, rule.under_age):
        return ConflictError(
            "The record cannot be sealed: the offence was committed at {age} or older.",
            age=rule.under_age,
        )
    if record.kind == RecordKind.CONVICTION.value:
        if record.sentence_months is None:
            return ConflictError("The record cannot be sealed: the sentence is not recorded.")
        if record.sentence_months > rule.max_sentence_months:
            return ConflictError(
                "The record cannot be sealed: the sentence exceeds {months} months.",
                months=rule.max_sentence_months,
            )
    return None


def _birthday(born: date, years: int) -> date:
    try:
        return born.replace(year=born.year + years)
    except ValueError:  # 29 February: the birthday falls on 1 March
        return date(born.year + years, 3, 1)


def authors_of(session: Session, record: RegistryRecord) -> set[uuid.UUID | None]:
    """Everyone who wrote any of the record: submitter, and whoever drafted, changed or sent it.

    Read from the audit trail, since a draft saved without being sent changes no status.
    """
    written = [f"{channel}:{action}" for channel in CHANNELS for action in _WRITES]
    actors = session.scalars(
        select(AuditEvent.actor_id).where(
            AuditEvent.object_id == str(record.id), AuditEvent.action.in_(written)
        )
    )
    return {record.submitted_by_id} | {uuid.UUID(a) for a in actors if a}


def _holds_decision(session: Session, person: RegistryPerson, record: RegistryRecord) -> bool:
    """Whether the person already holds a current version of the record's decision."""
    clash = session.scalar(
        select(RegistryRecord.id).where(
            RegistryRecord.person_id == person.id,
            RegistryRecord.fingerprint == record.fingerprint,
            RegistryRecord.status.in_([status.value for status in LIVE_STATUSES]),
            RegistryRecord.id != (record.supersedes_id or record.id),
        )
    )
    return clash is not None


def approve_record(session: Session, *, actor: Principal, record_id: uuid.UUID) -> RegistryRecord:
    """Approve a submission: it goes live (or sealed, CPL art. 286) on its person."""
    record = _pending_for(session, actor, record_id)
    if actor.user_id in authors_of(session, record):
        raise ForbiddenError("You submitted this record; another reviewer must approve it.")
    row = _row_of(record)
    found = (
        holder_of(session, row)
        if record.person_id is None
        else session.get_one(RegistryPerson, record.person_id)
    )
    # Checked before anything about the person changes: a refusal leaves the registry as it was.
    if found is not None and _holds_decision(session, found, record):
        raise ConflictError(
            "The registry already holds this decision for this person; return the submission."
        )
    try:
        with session.begin_nested():
            person = (
                found
                if record.person_id is not None and found
                else _resolve_person(session, row, found)
            )
    except IntegrityError as exc:
        # Another approval registered the same document a moment ago (one document, one
        # person: a unique index); deciding again finds that person.
        raise ConflictError(
            "Another approval registered this person at the same moment; approve it again."
        ) from exc
    record.person_id = person.id
    if record.source == RecordSource.ONESTOP_CASE.value:
        _link_case_suspect(session, record, person)
    if record.supersedes_id is not None:
        old = session.get_one(RegistryRecord, record.supersedes_id)
        if old.status != RecordStatus.ACTIVE.value:
            raise ConflictError("The record this corrects is no longer active; return it.")
        _move(
            session,
            old,
            actor=actor,
            to=RecordStatus.CORRECTED,
            action=ACTION_SUPERSEDE,
            details={"superseded_by": str(record.id)},
        )
    rules = policy()
    sealed = sealing_refusal(record, person.date_of_birth, rules) is None
    record.approved_by_id = actor.user_id
    record.approved_at = utcnow()
    _move(
        session,
        record,
        actor=actor,
        to=RecordStatus.SEALED if sealed else RecordStatus.ACTIVE,
        action=ACTION_APPROVE,
        # Sealed by the policy's rule, not by anyone's reasoning: pages name the rule.
        reason=None,
        details={"person": str(person.id), "policy_version": rules.version},
    )
    return record


def _link_case_suspect(session: Session, record: RegistryRecord, person: RegistryPerson) -> None:
    """The one-stop suspect handed off as this record is now this registry person."""
    handed_off = select(CaseRegistryHandoff.suspect_id).where(
        CaseRegistryHandoff.registry_record_id == record.id
    )
    session.execute(
        update(CaseSuspect)
        .where(CaseSuspect.id.in_(handed_off))
        .values(registry_person_id=person.id)
        .execution_options(synchronize_session="fetch")
    )


def return_record(
    session: Session, *, actor: Principal, record_id: uuid.UUID, reason: str
) -> RegistryRecord:
    """Send a submission back to its submitter with the reason."""
    text = _reason(reason)
    record = _pending_for(session, actor, record_id)
    _move(session, record, actor=actor, to=RecordStatus.RETURNED, action=ACTION_RETURN, reason=text)
    return record


def _reason(reason: str) -> str:
    try:
        return Reason(reason=reason).reason
    except ValidationError as exc:
        raise ValidationFailedError("Give the reason.", field="reason") from exc


def _decided_for(session: Session, actor: Principal, record_id: uuid.UUID) -> RegistryRecord:
    """A decided record the actor's organisation answers for."""
    require(actor, Permission.REGISTRY_REVIEW)
    record = get_record(session, actor, record_id, lock=True)
    if record.review_organisation_id not in {None, actor.organisation_id}:
        # Imported records have no reviewing organisation: any registry reviewer answers.
        raise ForbiddenError("Only the reviewers of the organisation that approved it may do this.")
    return record


def revoke_record(
    session: Session, *, actor: Principal, record_id: uuid.UUID, reason: str
) -> RegistryRecord:
    """Revoke an active or sealed record (quashed, or the decision withdrawn): it counts no more."""
    text = _reason(reason)
    record = _decided_for(session, actor, record_id)
    if record.status not in {RecordStatus.ACTIVE.value, RecordStatus.SEALED.value}:
        raise ConflictError(
            "Only an active or sealed record can be revoked; this one is {status}.",
            status=record.status,
        )
    _move(session, record, actor=actor, to=RecordStatus.REVOKED, action=ACTION_REVOKE, reason=text)
    return record


def seal_record(
    session: Session, *, actor: Principal, record_id: uuid.UUID, reason: str
) -> RegistryRecord:
    """Seal an active juvenile record (Criminal Procedure Law art. 286), if the policy allows."""
    text = _reason(reason)
    record = _decided_for(session, actor, record_id)
    if record.status != RecordStatus.ACTIVE.value:
        raise ConflictError(
            "Only an active record can be sealed; this one is {status}.", status=record.status
        )
    person = session.get_one(RegistryPerson, record.person_id)
    rules = policy()
    refusal = sealing_refusal(record, person.date_of_birth, rules)
    if refusal is not None:
        raise refusal
    _move(
        session,
        record,
        actor=actor,
        to=RecordStatus.SEALED,
        action=ACTION_SEAL,
        reason=text,
        details={"policy_version": rules.version},
    )
    return record


def reinstate_record(
    session: Session, *, actor: Principal, record_id: uuid.UUID, reason: str
) -> RegistryRecord:
    """Undo a mistaken revocation: the record counts again as it did before (active or sealed).

    Four eyes: the reviewer who revoked it cannot reinstate it, so neither a mistaken nor a
    malicious revocation is final, and no single reviewer can hide and restore at will.
    """
    text = _reason(reason)
    record = _decided_for(session, actor, record_id)
    if record.status != RecordStatus.REVOKED.value:
        raise ConflictError(
            "Only a revoked record can be reinstated; this one is {status}.", status=record.status
        )
    revocation = next(
        (t for t in reversed(record.transitions) if t.to_status == RecordStatus.REVOKED.value),
        None,
    )
    if revocation is not None and revocation.actor_id == actor.user_id:
        raise ForbiddenError("You revoked this record; another reviewer must reinstate it.")
    before = RecordStatus(
        revocation.from_status if revocation and revocation.from_status else RecordStatus.ACTIVE
    )
    _move(session, record, actor=actor, to=before, action=ACTION_REINSTATE, reason=text)
    return record


# --- retention and reads ------------------------------------------------------------------------


def discard_expired_submissions(
    session: Session, *, actor: Principal, now: datetime | None = None
) -> int:
    """Delete drafts and returned submissions untouched for the policy's retention period."""
    days = policy().unfinished_submission_days
    if days is None:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=days)
    expired = list(
        session.scalars(
            select(RegistryRecord)
            .where(
                RegistryRecord.status.in_([RecordStatus.DRAFT.value, RecordStatus.RETURNED.value]),
                RegistryRecord.updated_at < cutoff,
            )
            .order_by(RegistryRecord.updated_at, RegistryRecord.id)
        )
    )
    for record in expired:
        audit_record(
            session,
            actor=actor,
            action=ACTION_DISCARD,
            object_type="registry_record",
            object_id=record.id,
            details={"status": record.status, "retention_days": days},
        )
    if expired:
        session.execute(
            delete(RegistryRecord).where(RegistryRecord.id.in_([r.id for r in expired]))
        )
    return len(expired)


def view_record(session: Session, *, actor: Principal, record_id: uuid.UUID) -> RegistryRecord:
    """One record for reading, the read audited (its subject is sensitive personal data)."""
    record = get_record(session, actor, record_id)
    audit_record(
        session,
        actor=actor,
        action=ACTION_VIEW,
        object_type="registry_record",
        object_id=record.id,
        details={"status": record.status},
    )
    return record


def read_scan(
    session: Session, *, actor: Principal, record_id: uuid.UUID, file_id: uuid.UUID
) -> RegistryRecordFile:
    """One scan of a record the actor may see, checked against its SHA-256, the read audited."""
    record = get_record(session, actor, record_id)
    stored = next((f for f in record.files if f.id == file_id), None)
    if stored is None:
        raise NotFoundError("File not found.")
    content = stored.content or b""
    if hashlib.sha256(content).hexdigest() != stored.sha256:
        raise ConflictError("The stored scan does not match its checksum; report this.")
    audit_record(
        session,
        actor=actor,
        action=ACTION_FILE_READ,
        object_type="registry_record_file",
        object_id=stored.id,
        details={"record": str(record.id), "sha256": stored.sha256},
    )
    return stored
