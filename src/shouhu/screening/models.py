"""Staff-access inquiries: one candidate, one purpose, one institution, and their answer."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shouhu.core.crypto.fields import EncryptedString, Sealed
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
