"""Batches of inquiries: a file of candidates in, one inquiry per valid row, answers out.

An institution's HR user (or an education officer, for an institution it supervises) uploads a
CSV or XLSX file with the screening columns of DESIGN §6 plus `position` (and, where a row's
consent differs from the batch's, `consent_reference` and `consent_signed_on`). Each valid row
becomes an inquiry under exactly the rules of a single one: the consent, the authority's
approval (given once, for the whole batch), the 30-day repeat, the look-up under the purpose's
scope, review of possible matches, a signed certificate for every final answer. An invalid row
is answered `invalid`, naming the field.

The work is a durable job (`screening.batch_runner`): the file is sealed in the database until
every row is answered, and each chunk of rows commits its inquiries, its result rows and the
batch's new `rows_done` in one transaction, so a crash or a restart loses nothing and repeats
nothing (and the unique (batch, row) makes a repeat impossible, not merely unlikely).
"""

from __future__ import annotations

import io
import os
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Select, false, func, or_, select, update
from sqlalchemy.orm import Session

from shouhu.accounts.models import Organisation, User
from shouhu.accounts.policies import allows, require
from shouhu.accounts.roles import OrgType, Permission
from shouhu.accounts.scope import authority_subtree
from shouhu.accounts.users import principal_for
from shouhu.core.audit.chain import record as audit_record
from shouhu.core.crypto.fields import open_sealed
from shouhu.core.database import utcnow
from shouhu.core.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ValidationFailedError,
)
from shouhu.core.i18n import N_
from shouhu.core.principal import Principal
from shouhu.core.readable import one_readable
from shouhu.core.settings import Settings
from shouhu.core.tabular import TableFileError, check_header, file_error, is_blank, rows_of
from shouhu.identity.prc_id import latest_possible_date
from shouhu.registry.indexes import inquiry_subject_index
from shouhu.registry.policy import InquiryPurpose
from shouhu.registry.schemas import Reason
from shouhu.screening.inquiries import (
    REPEAT_DAYS,
    SUBJECT_FIELDS,
    apply_result,
    check_consent,
    parse_purpose,
    serialise_candidate,
    supervision_of,
)
from shouhu.screening.models import (
    BatchStatus,
    Certificate,
    Inquiry,
    InquiryBatch,
    InquiryBatchRow,
    InquiryStatus,
)
from shouhu.screening.queries import (
    COLUMNS,
    REFERENCE_LENGTH,
    REQUIRED_COLUMNS,
    InvalidQuery,
    RawRow,
    ValidQuery,
    parse_rows,
)
from shouhu.screening.service import Matcher, ScreeningResult, match_queries

# DESIGN §6's screening columns, the position applied for, and a row's own consent.
BATCH_COLUMNS: Final = (*COLUMNS, "position", "consent_reference", "consent_signed_on")
POSITION_LENGTH: Final = 100
FORMATS: Final = {".csv": "csv", ".xlsx": "xlsx"}
XLSX_MAGIC: Final = b"PK\x03\x04"  # an .xlsx workbook is a zip archive

ACTION_UPLOAD: Final = "inquiry_batch:upload"
ACTION_APPROVE: Final = "inquiry_batch:approve"
ACTION_REFUSE: Final = "inquiry_batch:refuse"
ACTION_START: Final = "inquiry_batch:start"
ACTION_ANSWER: Final = "inquiry_batch:answer"
ACTION_FAIL: Final = "inquiry_batch:fail"
ACTION_RESULTS: Final = "inquiry_batch:results"

# What a result row says of a row: an inquiry's status or answer, or `invalid`.
INVALID: Final = "invalid"
RESULT_COLUMNS: Final = (
    "row",
    "reference",
    "outcome",
    "field",
    "message",
    "repeat",
    "inquiry_id",
    "certificate_code",
)


@dataclass(frozen=True)
class BatchUpload:
    """What the uploader sends: the file, the purpose and the consent that covers its rows."""

    purpose: str
    consent_reference: str
    consent_signed_on: date | None
    file_name: str
    content: bytes
    institution_id: uuid.UUID | None = None  # an officer's batch for a supervised institution
    new_lookup: bool = False


# --- upload ---------------------------------------------------------------------------------------


def _file_format(name: str, content: bytes) -> str:
    """The format (csv or xlsx), from the name and checked against the first bytes."""
    fmt = FORMATS.get(Path(name).suffix.lower())
    if fmt is None:
        raise ValidationFailedError("Upload a .csv or .xlsx file.", field="file")
    if not content:
        raise ValidationFailedError("The file is empty.", field="file")
    if (fmt == "xlsx") != content.startswith(XLSX_MAGIC):
        raise ValidationFailedError(
            "The file's content does not match its name: save it again as .csv or .xlsx.",
            field="file",
        )
    return fmt


@contextmanager
def _data_rows(name: str, content: bytes) -> Iterator[Iterator[RawRow]]:
    """The file's data rows (number, values by column, extra cells?); the header checked."""
    path = Path(name)

    def rows(raw: Iterator[tuple[int, list[str]]]) -> Iterator[RawRow]:
        header: list[str] | None = None
        for number, cells in raw:
            if is_blank(cells):
                continue
            if header is None:
                header = check_header(path, cells, BATCH_COLUMNS, REQUIRED_COLUMNS)
                continue
            extra = len(cells) > len(header) and not is_blank(cells[len(header) :])
            yield number, dict(zip(header, cells, strict=False)), extra
        if header is None:
            raise file_error(path, "the file is empty; the first row must be the header.")

    with rows_of(path, io.BytesIO(content)) as raw:
        yield rows(raw)


def _count_rows(name: str, content: bytes, limit: int) -> int:
    """The number of data rows, reading the whole file (so a broken file fails at upload)."""
    count = 0
    with _data_rows(name, content) as rows:
        for _ in rows:
            count += 1
            if count > limit:
                raise ValidationFailedError(
                    "The file has more than {limit} rows; split it into smaller files.",
                    field="file",
                    limit=limit,
                )
    if count == 0:
        raise ValidationFailedError("The file has a header but no candidates.", field="file")
    return count


def _supervises(session: Session, authority_id: uuid.UUID, org: Organisation) -> bool:
    """Whether the organisation is below the authority in the organisation tree."""
    tree = authority_subtree(authority_id)
    return session.scalar(select(tree.c.id).where(tree.c.id == org.id)) is not None


def _batch_institution(
    session: Session, actor: Principal, chosen: uuid.UUID | None
) -> tuple[Organisation, bool]:
    """Whose candidates these are, and whether the actor's authority is the one running it."""
    assert actor.organisation_id is not None  # noqa: S101 - checked by the caller
    own = session.get_one(Organisation, actor.organisation_id)
    if chosen is None or chosen == own.id:
        return own, False
    institution = session.get(Organisation, chosen)
    # MoE notice 2023: the authority runs its institutions' inquiries; nobody else's.
    if (
        not allows(actor, Permission.INQUIRY_APPROVE)
        or institution is None
        or institution.type != OrgType.INSTITUTION.value
        or not _supervises(session, own.id, institution)
    ):
        raise ValidationFailedError(
            "Choose an institution that your authority supervises.", field="institution"
        )
    return institution, True


def upload_batch(
    session: Session, *, actor: Principal, upload: BatchUpload, settings: Settings
) -> InquiryBatch:
    """Keep the file sealed and queue it (or wait for the authority's approval)."""
    require(actor, Permission.INQUIRY_SUBMIT)
    if actor.organisation_id is None or actor.user_id is None:
        raise ForbiddenError("Inquiries are made by an organisation's user.")
    purpose = parse_purpose(upload.purpose)
    check_consent(upload.consent_reference, upload.consent_signed_on)
    assert upload.consent_signed_on is not None  # noqa: S101 - check_consent refuses None
    name = Path(upload.file_name or "upload").name[-200:]
    fmt = _file_format(name, upload.content)
    if len(upload.content) > settings.batch_max_bytes:
        raise ValidationFailedError(
            "The file is larger than {limit} MB; split it into smaller files.",
            field="file",
            limit=settings.batch_max_bytes // 1_000_000,
        )
    try:
        # A CSV file is read through now (fast), so a broken row fails here, not halfway; a
        # workbook's header only (reading a large one takes seconds: the runner counts it).
        if fmt == "csv":
            total: int | None = _count_rows(name, upload.content, settings.batch_max_rows)
        else:
            with _data_rows(name, upload.content) as rows:
                next(rows, None)
            total = None
    except TableFileError as exc:
        raise ValidationFailedError(exc.message, field="file", **exc.params) from exc
    institution, run_by_authority = _batch_institution(session, actor, upload.institution_id)
    authority_id: uuid.UUID | None
    if run_by_authority:
        authority_id, approval = actor.organisation_id, False
    else:
        supervision = supervision_of(session, institution.id)
        authority_id, approval = supervision.authority_id, supervision.needs_approval
    now = utcnow()
    batch = InquiryBatch(
        institution_id=institution.id,
        authority_id=authority_id,
        uploaded_by_id=actor.user_id,
        purpose=purpose.value,
        consent_reference=upload.consent_reference.strip()[:64],
        consent_signed_on=upload.consent_signed_on,
        new_lookup=upload.new_lookup,
        file_format=fmt,
        file_bytes=len(upload.content),
        status=(BatchStatus.PENDING_APPROVAL if approval else BatchStatus.QUEUED).value,
        rows_total=total,
        submitted_at=now,
        # The authority that runs its institution's batch has approved it by running it.
        decided_by_id=actor.user_id if run_by_authority else None,
        decided_at=now if run_by_authority else None,
    )
    batch.ensure_id()
    batch.file_name = name
    batch.content = upload.content
    session.add(batch)
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_UPLOAD,
        object_type="inquiry_batch",
        object_id=batch.id,
        details={
            "purpose": purpose.value,
            "format": fmt,
            "bytes": len(upload.content),
            "rows": total,
            "institution": str(institution.id),
            "needs_approval": approval,
        },
    )
    return batch


# --- who sees what --------------------------------------------------------------------------------


def readable_batches(principal: Principal) -> Select[InquiryBatch]:
    """Batches the principal may see: their institution's, and those their authority runs."""
    conditions = []
    org = principal.organisation_id
    if org is not None and allows(principal, Permission.INQUIRY_SUBMIT):
        conditions.append(InquiryBatch.institution_id == org)
    if org is not None and allows(principal, Permission.INQUIRY_APPROVE):
        conditions.append(InquiryBatch.authority_id == org)
    return select(InquiryBatch).where(or_(*conditions) if conditions else false())


def get_batch(
    session: Session, principal: Principal, batch_id: uuid.UUID, *, lock: bool = False
) -> InquiryBatch:
    """One batch the principal may see, or NotFoundError (as one that does not exist)."""
    statement = readable_batches(principal).where(InquiryBatch.id == batch_id)
    return one_readable(session, statement, N_("Batch not found."), lock=lock)


# --- the authority's approval ---------------------------------------------------------------------


def _pending_approval(session: Session, actor: Principal, batch_id: uuid.UUID) -> InquiryBatch:
    require(actor, Permission.INQUIRY_APPROVE)
    batch = get_batch(session, actor, batch_id, lock=True)
    if batch.authority_id != actor.organisation_id:
        raise NotFoundError("Batch not found.")
    if batch.status != BatchStatus.PENDING_APPROVAL.value:
        raise ConflictError("This batch is not waiting for approval.")
    return batch


def approve_batch(session: Session, *, actor: Principal, batch_id: uuid.UUID) -> InquiryBatch:
    """The authority approves the whole batch: every row is looked up (MoE notice 2023)."""
    batch = _pending_approval(session, actor, batch_id)
    batch.status = BatchStatus.QUEUED.value
    batch.decided_by_id, batch.decided_at = actor.user_id, utcnow()
    audit_record(
        session,
        actor=actor,
        action=ACTION_APPROVE,
        object_type="inquiry_batch",
        object_id=batch.id,
        details={"purpose": batch.purpose, "rows": batch.rows_total},
    )
    return batch


def refuse_batch(
    session: Session, *, actor: Principal, batch_id: uuid.UUID, reason: str
) -> InquiryBatch:
    """The authority refuses to run it; the file is dropped and nothing is looked up."""
    batch = _pending_approval(session, actor, batch_id)
    try:
        text = Reason(reason=reason).reason
    except ValueError as exc:
        raise ValidationFailedError("Give the reason.", field="reason") from exc
    batch.status = BatchStatus.REFUSED.value
    batch.reason = text
    batch.file_sealed = None  # PIPL art. 19: kept no longer than its purpose needs
    batch.decided_by_id, batch.decided_at = actor.user_id, utcnow()
    audit_record(
        session,
        actor=actor,
        action=ACTION_REFUSE,
        object_type="inquiry_batch",
        object_id=batch.id,
        details={"purpose": batch.purpose, "reason_recorded": True},
    )
    return batch


# --- the runner's side: claim, read, answer a chunk -----------------------------------------------


def work_waiting(session: Session) -> bool:
    """Whether any batch waits for a runner, or is held by one (a read: no write lock taken)."""
    waiting = InquiryBatch.status.in_([BatchStatus.QUEUED.value, BatchStatus.RUNNING.value])
    return session.scalar(select(InquiryBatch.id).where(waiting).limit(1)) is not None


def claim_batch(session: Session, *, owner: str, lease_seconds: int) -> uuid.UUID | None:
    """Take the oldest batch waiting for a runner (or whose runner's lease ran out)."""
    now = utcnow()
    free = or_(InquiryBatch.lease_until.is_(None), InquiryBatch.lease_until < now)
    waiting = InquiryBatch.status.in_([BatchStatus.QUEUED.value, BatchStatus.RUNNING.value])
    candidate = session.scalar(
        select(InquiryBatch.id).where(waiting, free).order_by(InquiryBatch.submitted_at).limit(1)
    )
    if candidate is None:
        return None
    # Compare-and-set: of two runners racing for it, one changes the row, the other none.
    taken = session.execute(
        update(InquiryBatch)
        .where(InquiryBatch.id == candidate, waiting, free)
        .values(
            lease_owner=owner,
            lease_until=now + timedelta(seconds=lease_seconds),
            status=BatchStatus.RUNNING.value,
            started_at=func.coalesce(InquiryBatch.started_at, now),
        )
        .execution_options(synchronize_session=False)
    )
    return candidate if taken.rowcount == 1 else None  # type: ignore[attr-defined]


def _process_gone(owner: str, host: str) -> bool:
    """Whether a runner named `host:pid:…` ran on this host in a process that has ended."""
    parts = owner.split(":")
    if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():  # noqa: PLR2004
        return False
    try:
        os.kill(int(parts[1]), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, as another user's
    return False


def reclaim_orphans(session: Session, *, host: str) -> int:
    """Free the leases of runners of this host whose process died (a killed server).

    Their leases would run out by themselves; a restarted server need not wait for that.
    """
    now = utcnow()
    held = session.execute(
        select(InquiryBatch.id, InquiryBatch.lease_owner).where(
            InquiryBatch.status == BatchStatus.RUNNING.value, InquiryBatch.lease_until > now
        )
    ).all()
    freed = 0
    for batch_id, owner in held:
        if owner and _process_gone(owner, host):
            release_batch(session, batch_id=batch_id, owner=owner)
            freed += 1
    return freed


def release_batch(session: Session, *, batch_id: uuid.UUID, owner: str) -> None:
    """Give the lease back (the runner stops: another may take the batch at once)."""
    session.execute(
        update(InquiryBatch)
        .where(InquiryBatch.id == batch_id, InquiryBatch.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )


@dataclass(frozen=True)
class BatchWork:
    """What a runner needs to answer a batch, read once when it takes it."""

    batch_id: uuid.UUID
    purpose: InquiryPurpose
    file_name: str
    content: bytes
    rows_done: int
    rows_total: int | None


def batch_work(session: Session, batch_id: uuid.UUID) -> BatchWork:
    """The batch's file and position, for the runner that holds its lease."""
    batch = session.get_one(InquiryBatch, batch_id)
    content = batch.content
    if content is None:
        raise ConflictError("The batch's file is gone; it cannot be answered.")
    return BatchWork(
        batch_id=batch.id,
        purpose=InquiryPurpose(batch.purpose),
        file_name=batch.file_name or f"batch.{batch.file_format}",
        content=content,
        rows_done=batch.rows_done,
        rows_total=batch.rows_total,
    )


@contextmanager
def remaining_rows(work: BatchWork) -> Iterator[Iterator[RawRow]]:
    """The rows not yet answered, in file order."""
    with _data_rows(work.file_name, work.content) as rows:
        for _ in range(work.rows_done):
            next(rows, None)
        yield rows


def count_rows(work: BatchWork) -> int:
    """How many data rows the file holds (for a workbook, counted by the runner)."""
    with _data_rows(work.file_name, work.content) as rows:
        return sum(1 for _ in rows)


def set_total(session: Session, *, batch_id: uuid.UUID, owner: str, total: int) -> None:
    """Record the row count, so the progress bar has its end."""
    session.execute(
        update(InquiryBatch)
        .where(InquiryBatch.id == batch_id, InquiryBatch.lease_owner == owner)
        .values(rows_total=total)
        .execution_options(synchronize_session=False)
    )


def _uploader(session: Session, batch: InquiryBatch) -> Principal:
    """The uploader, as the actor of the runner's audit events (the system acts for them)."""
    user = session.get_one(User, batch.uploaded_by_id)
    return principal_for(user, "system")


def _row_consent(values: dict[str, str]) -> tuple[str, date] | str | None:
    """A row's own consent (reference, date), a problem with it (text), or None (the batch's)."""
    reference = values.get("consent_reference", "").strip()
    signed = values.get("consent_signed_on", "").strip()
    if not reference and not signed:
        return None
    try:
        signed_on = date.fromisoformat(signed) if signed else None
    except ValueError:
        return "consent_signed_on"
    try:
        check_consent(reference, signed_on)
    except ValidationFailedError as exc:
        return exc.field or "consent_reference"
    assert signed_on is not None  # noqa: S101 - check_consent refuses None
    return reference[:64], signed_on


CONSENT_PROBLEMS: Final = {
    "consent_reference": "the row gives a consent date without its reference",
    "consent_signed_on": "the consent date must be YYYY-MM-DD, not in the future, and less than"
    " a year old",
}


@dataclass
class _Row:
    """One row on its way to an answer."""

    number: int
    reference: str
    values: dict[str, str]
    query: ValidQuery | InvalidQuery
    problem: tuple[str, str] | None = None
    consent: tuple[str, date] | None = None
    index: str = ""


def _prepare(rows: Sequence[RawRow], today: date) -> list[_Row]:
    prepared = []
    for (number, values, _extra), query in zip(rows, parse_rows(list(rows), today), strict=True):
        row = _Row(number, query.reference, values, query)
        if isinstance(query, InvalidQuery):
            first = query.problems[0]
            row.problem = (first.field, query.message())
        else:
            consent = _row_consent(values)
            if isinstance(consent, str):
                row.problem = (consent, f"{consent}: {CONSENT_PROBLEMS[consent]}")
            else:
                row.consent = consent
                document = query.profile.documents[0]
                row.index = inquiry_subject_index(document.id_type, document.number)
        prepared.append(row)
    return prepared


def _earlier(session: Session, batch: InquiryBatch, indexes: set[str]) -> dict[str, uuid.UUID]:
    """The institution's latest inquiry within 30 days about each document, for this purpose."""
    if not indexes or batch.new_lookup:
        return {}
    since = utcnow() - timedelta(days=REPEAT_DAYS)
    found: dict[str, tuple[datetime, uuid.UUID]] = {}
    rows = session.execute(
        select(Inquiry.subject_index, Inquiry.submitted_at, Inquiry.id).where(
            Inquiry.institution_id == batch.institution_id,
            Inquiry.purpose == batch.purpose,
            Inquiry.subject_index.in_(indexes),
            Inquiry.submitted_at >= since,
            Inquiry.status != InquiryStatus.REFUSED.value,
        )
    )
    for index, submitted_at, inquiry_id in rows:
        if index not in found or submitted_at > found[index][0]:
            found[index] = (submitted_at, inquiry_id)
    return {index: inquiry_id for index, (_, inquiry_id) in found.items()}


@dataclass(frozen=True)
class MatchedChunk:
    """A chunk's rows, validated and matched: reads only, so done outside the write lock."""

    start: int
    rows: list[_Row]
    answers: dict[int, ScreeningResult]  # by file row, for the valid rows


def match_chunk(
    session: Session, *, start: int, rows: Sequence[RawRow], matcher: Matcher
) -> MatchedChunk:
    """Validate and match the rows (the costly part of a chunk; it writes nothing)."""
    prepared = _prepare(rows, latest_possible_date())
    valid = [row for row in prepared if row.problem is None]
    answers = match_queries(session, queries=[row.query for row in valid], matcher=matcher)
    return MatchedChunk(
        start, prepared, {row.number: a for row, a in zip(valid, answers, strict=True)}
    )


def answer_chunk(
    session: Session,
    *,
    batch_id: uuid.UUID,
    owner: str,
    chunk: MatchedChunk,
    last: bool,
    matcher: Matcher,
    lease_seconds: int,
) -> bool:
    """Record the chunk's answers, in the caller's transaction; False if not ours now.

    `chunk.start` is how many rows the runner believes are done: if the batch says otherwise,
    or another runner holds the lease, nothing is written (that runner is answering them).
    """
    start, prepared = chunk.start, chunk.rows
    batch = session.scalar(
        select(InquiryBatch).where(InquiryBatch.id == batch_id).with_for_update()
    )
    if (
        batch is None
        or batch.status != BatchStatus.RUNNING.value
        or batch.lease_owner != owner
        or batch.rows_done != start
    ):
        return False
    actor = _uploader(session, batch)
    institution = session.get_one(Organisation, batch.institution_id)
    indexes = {row.index for row in prepared if row.index}
    for index in sorted(indexes):  # in one order, so two batches cannot deadlock
        serialise_candidate(session, batch.institution_id, index, batch.purpose)
    earlier = _earlier(session, batch, indexes)
    now = utcnow()
    new: list[tuple[_Row, Inquiry]] = []
    results: list[InquiryBatchRow] = []
    for row in prepared:
        result = InquiryBatchRow(batch_id=batch.id, row_number=row.number)
        result.ensure_id()
        result.reference = row.reference[:REFERENCE_LENGTH] or None
        if row.problem is not None:
            result.problem_field = row.problem[0][:40]
            result.problem = row.problem[1]
        elif row.index in earlier:
            result.inquiry_id, result.repeat = earlier[row.index], True
        else:
            inquiry = _new_inquiry(batch, row, now)
            earlier[row.index] = inquiry.id  # the same candidate again in this file: a repeat
            new.append((row, inquiry))
            result.inquiry_id = inquiry.id
        results.append(result)
    session.add_all([inquiry for _, inquiry in new])
    session.flush()  # the inquiries exist before their certificates and result rows
    outcomes: Counter[str] = Counter()
    for row, inquiry in new:
        answer = chunk.answers[row.number]
        certificate = apply_result(
            session, inquiry, answer, matcher, institution_name=institution.name
        )
        if certificate is not None:
            session.add(certificate)
        outcomes[answer.outcome] += 1
    session.add_all(results)
    invalid = sum(1 for row in prepared if row.problem is not None)
    batch.rows_done = start + len(prepared)
    batch.rows_invalid += invalid
    batch.lease_until = utcnow() + timedelta(seconds=lease_seconds)
    if last:
        batch.status = BatchStatus.COMPLETED.value
        batch.completed_at = utcnow()
        batch.rows_total = batch.rows_done
        batch.file_sealed = None  # PIPL art. 19: the file has served its purpose
        batch.lease_owner, batch.lease_until = None, None
    audit_record(
        session,
        actor=actor,
        action=ACTION_ANSWER,
        object_type="inquiry_batch",
        object_id=batch.id,
        details={
            "rows": f"{start + 1}-{start + len(prepared)}",
            "inquiries": len(new),
            "repeats": sum(1 for result in results if result.repeat),
            "invalid": invalid,
            "purpose": batch.purpose,
            "policy_version": matcher.scope.policy_version,
            "model": matcher.model.version,
            **{f"outcome_{name}": count for name, count in sorted(outcomes.items())},
            "completed": last,
        },
    )
    return True


def _new_inquiry(batch: InquiryBatch, row: _Row, now: datetime) -> Inquiry:
    consent = row.consent or (batch.consent_reference, batch.consent_signed_on)
    position = row.values.get("position", "").strip()[:POSITION_LENGTH]
    inquiry = Inquiry(
        institution_id=batch.institution_id,
        authority_id=batch.authority_id,
        submitted_by_id=batch.uploaded_by_id,
        reference=row.reference[:REFERENCE_LENGTH] or None,
        purpose=batch.purpose,
        position=position or None,
        subject_index=row.index,
        consent_reference=consent[0],
        consent_signed_on=consent[1],
        status=InquiryStatus.PENDING_APPROVAL.value,  # set by the look-up in this transaction
        decided_by_id=batch.decided_by_id,
        decided_at=batch.decided_at,
        submitted_at=now,
    )
    inquiry.ensure_id()
    inquiry.subject = {field: row.values.get(field, "") for field in SUBJECT_FIELDS}
    return inquiry


def fail_batch(session: Session, *, batch_id: uuid.UUID, owner: str, problem: str) -> None:
    """Stop a batch whose file cannot be read on; the rows already answered stay answered."""
    batch = session.scalar(
        select(InquiryBatch).where(InquiryBatch.id == batch_id).with_for_update()
    )
    if batch is None or batch.lease_owner != owner:
        return
    batch.status = BatchStatus.FAILED.value
    batch.failure = problem[:300]
    batch.file_sealed = None
    batch.lease_owner, batch.lease_until = None, None
    audit_record(
        session,
        actor=_uploader(session, batch),
        action=ACTION_FAIL,
        object_type="inquiry_batch",
        object_id=batch.id,
        outcome="failed",
        details={"rows_done": batch.rows_done},
    )


# --- results --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchCounts:
    """How far a batch is, and what its rows were told so far."""

    total: int | None
    done: int
    outcomes: dict[str, int]


def batch_counts(session: Session, batch: InquiryBatch) -> BatchCounts:
    """The answers so far, by what the institution sees (a row's inquiry may have moved on)."""
    rows = session.execute(
        select(Inquiry.status, Inquiry.answer, func.count())
        .select_from(InquiryBatchRow)
        .join(Inquiry, Inquiry.id == InquiryBatchRow.inquiry_id)
        .where(InquiryBatchRow.batch_id == batch.id)
        .group_by(Inquiry.status, Inquiry.answer)
    )
    outcomes: Counter[str] = Counter()
    for status, answer, count in rows:
        outcomes[answer or status] += count
    outcomes[INVALID] = batch.rows_invalid
    return BatchCounts(batch.rows_total, batch.rows_done, dict(outcomes))


def result_rows(
    session: Session, *, actor: Principal, batch: InquiryBatch, via: str
) -> Iterator[list[str]]:
    """Each answered row, in file order, as RESULT_COLUMNS; reading them is audited."""
    audit_record(
        session,
        actor=actor,
        action=ACTION_RESULTS,
        object_type="inquiry_batch",
        object_id=batch.id,
        details={"via": via, "rows": batch.rows_done},
    )
    # Columns, not entities: 100,000 rows stream in seconds; only invalid rows are decrypted.
    statement = (
        select(
            InquiryBatchRow.id,
            InquiryBatchRow.row_number,
            InquiryBatchRow.reference,
            InquiryBatchRow.inquiry_id,
            InquiryBatchRow.repeat,
            InquiryBatchRow.problem_field,
            InquiryBatchRow.problem_sealed,
            Inquiry.status,
            Inquiry.answer,
            Certificate.code,
        )
        .outerjoin(Inquiry, Inquiry.id == InquiryBatchRow.inquiry_id)
        .outerjoin(
            Certificate,
            (Certificate.inquiry_id == Inquiry.id) & Certificate.superseded_at.is_(None),
        )
        .where(InquiryBatchRow.batch_id == batch.id)
        .order_by(InquiryBatchRow.row_number)
        .execution_options(yield_per=5000)
    )
    return (_result_line(row) for row in session.execute(statement))


def _result_line(row: Sequence[Any]) -> list[str]:
    row_id, number, reference, inquiry_id, repeat, field, problem, status, answer, code = tuple(row)
    message = ""
    if inquiry_id is None and problem is not None:
        aad = InquiryBatchRow.problem.aad_for_row(row_id)
        message = open_sealed(problem, aad).decode()
    return [
        str(number),
        reference or "",
        INVALID if inquiry_id is None else (answer or status or ""),
        field or "",
        message,
        "yes" if repeat else "",
        str(inquiry_id or ""),
        code or "",
    ]
