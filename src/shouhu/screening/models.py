"""Staff-access inquiries: one candidate, one purpose, one institution, and their answer."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shouhu.core.crypto.fields import EncryptedBytes, EncryptedString, Sealed
from shouhu.core.database import Base, UUIDPrimaryKey, utcnow
from shouhu.registry.models import BLIND_INDEX_LENGTH, EncryptedValues


class InquiryStatus(StrEnum):
    """Where an inquiry is (the API's `status`)."""

    PENDING_APPROVAL = "pending_approval"  # waiting for the supervising authority
    UNDER_REVIEW = "under_review"  # a possible match, waiting for a registry reviewer
    COMPLETED = "completed"  # answered
    REFUSED = "refused"  # the authority refused to run it


class InquiryAnswer(StrEnum):
    """What the institution is told: never a record, only whether one exists (2020 Opinions)."""

    NO_RECORD = "no_record"
    RECORD_FOUND = "record_found"


class HiringDecision(StrEnum):
    """What the institution did with the candidate."""

    HIRED = "hired"
    NOT_HIRED = "not_hired"


class Inquiry(UUIDPrimaryKey, Base):
    """A staff-access inquiry about one candidate for one institution."""

    __tablename__ = "inquiries"
    __table_args__ = (
        # The same person for the same institution and purpose within 30 days: one look-up.
        Index("ix_inquiries_repeat", "institution_id", "subject_index", "purpose", "submitted_at"),
        Index("ix_inquiries_status", "status", "submitted_at"),
    )

    institution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT")
    )
    # The supervising education authority that approves it, when one must.
    authority_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    submitted_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    reference: Mapped[str | None] = mapped_column(String(64))  # the HR system's own reference
    purpose: Mapped[str] = mapped_column(String(32))
    position: Mapped[str | None] = mapped_column(String(100))
    # The candidate as entered (name, document, birth date, sex, nationality), sealed; the blind
    # index of the canonical document finds repeats without decrypting anyone.
    subject_sealed: Mapped[bytes] = mapped_column("subject", Sealed())
    subject = EncryptedValues()
    subject_index: Mapped[str] = mapped_column(String(BLIND_INDEX_LENGTH))
    consent_reference: Mapped[str] = mapped_column(String(64))
    consent_signed_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    answer: Mapped[str | None] = mapped_column(String(16))
    policy_version: Mapped[int | None]
    # What the engine decided and why: for the reviewers, never for the institution.
    engine_outcome: Mapped[str | None] = mapped_column(String(16))
    explanation_sealed: Mapped[bytes | None] = mapped_column("explanation", Sealed())
    explanation = EncryptedString()
    matched_person_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("registry_persons.id", ondelete="SET NULL")
    )
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )  # the approving or refusing officer
    decided_at: Mapped[datetime | None]
    reason_sealed: Mapped[bytes | None] = mapped_column("reason", Sealed())
    reason = EncryptedString()  # why the authority refused it
    reviewed_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )  # the registry reviewer who confirmed or cleared a possible match
    reviewed_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    # The institution's hiring decision on this inquiry (Minors Law art. 62: a hit means no hire).
    hiring: Mapped[str | None] = mapped_column(String(16))
    hiring_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    hiring_at: Mapped[datetime | None]


class Certificate(UUIDPrimaryKey, Base):
    """The signed answer of an inquiry: verifiable offline with the public key, and online here.

    `document` is the canonical JSON that was signed (no identity number, a masked name); a
    later answer to the same inquiry (a re-check) supersedes it.
    """

    __tablename__ = "certificates"

    code: Mapped[str] = mapped_column(String(16), unique=True)
    inquiry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("inquiries.id", ondelete="RESTRICT"), index=True
    )
    document: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(128))
    key_id: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    superseded_at: Mapped[datetime | None]


class BatchStatus(StrEnum):
    """Where a batch of inquiries is."""

    PENDING_APPROVAL = "pending_approval"  # a school's batch waits for its authority
    QUEUED = "queued"  # waiting for a runner
    RUNNING = "running"  # rows being answered; `rows_done` says how far
    COMPLETED = "completed"  # every row answered (some may still be under review)
    REFUSED = "refused"  # the authority refused to run it
    FAILED = "failed"  # the file could not be read to the end; `failure` says why


class InquiryBatch(UUIDPrimaryKey, Base):
    """An uploaded file of candidates: one inquiry per valid row, answered by a durable job.

    The file is kept sealed only until every row is answered. A runner holds a lease while it
    works (`lease_owner`, `lease_until`); each chunk of rows commits its inquiries, its result
    rows and the new `rows_done` together, so a runner that dies loses nothing and repeats
    nothing: the next one resumes at `rows_done`.
    """

    __tablename__ = "inquiry_batches"
    __table_args__ = (Index("ix_inquiry_batches_status", "status", "submitted_at"),)

    institution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    authority_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    uploaded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    purpose: Mapped[str] = mapped_column(String(32))
    consent_reference: Mapped[str] = mapped_column(String(64))
    consent_signed_on: Mapped[date] = mapped_column(Date)
    new_lookup: Mapped[bool] = mapped_column(default=False)
    file_format: Mapped[str] = mapped_column(String(8))  # csv or xlsx
    file_bytes: Mapped[int]
    # A file name can name a person ("张三.csv"): sealed like the rows.
    file_name_sealed: Mapped[bytes | None] = mapped_column("file_name", Sealed())
    file_name = EncryptedString()
    file_sealed: Mapped[bytes | None] = mapped_column("file", Sealed(), deferred=True)
    content = EncryptedBytes("file_sealed")
    status: Mapped[str] = mapped_column(String(20))
    rows_total: Mapped[int | None]
    rows_done: Mapped[int] = mapped_column(default=0)
    rows_invalid: Mapped[int] = mapped_column(default=0)
    failure: Mapped[str | None] = mapped_column(String(300))  # what stopped it (no personal data)
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    decided_at: Mapped[datetime | None]
    reason_sealed: Mapped[bytes | None] = mapped_column("reason", Sealed())
    reason = EncryptedString()  # why the authority refused it
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None]
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class InquiryBatchRow(UUIDPrimaryKey, Base):
    """The answer to one row of a batch: its inquiry, or why the row is invalid.

    The unique (batch, row) is what makes "every row answered exactly once" a fact the
    database enforces, not only a property of the runner.
    """

    __tablename__ = "inquiry_batch_rows"
    __table_args__ = (UniqueConstraint("batch_id", "row_number"),)

    batch_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("inquiry_batches.id", ondelete="CASCADE")
    )
    row_number: Mapped[int]  # the file's row; the header is row 1
    reference: Mapped[str | None] = mapped_column(String(64))  # the HR system's own reference
    inquiry_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("inquiries.id", ondelete="RESTRICT"), index=True
    )
    repeat: Mapped[bool] = mapped_column(default=False)  # an earlier inquiry's answer, reused
    problem_field: Mapped[str | None] = mapped_column(String(40))
    # Validation messages may quote what was typed: sealed.
    problem_sealed: Mapped[bytes | None] = mapped_column("problem", Sealed())
    problem = EncryptedString()
