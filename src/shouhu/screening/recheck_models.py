"""Re-check (复查) appeals of `record_found` answers: the candidate's request and its decision.

MoE notice 2023: a refused applicant is told the reason in writing and may ask for a re-check.
The supervising education authority enters the request (the candidate's grounds, sealed; the
date it was received; a supporting document, sealed); a registry reviewer re-examines the match
and the record and upholds or overturns the answer.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from shouhu.core.crypto.fields import EncryptedBytes, EncryptedString, Sealed
from shouhu.core.database import Base, UUIDPrimaryKey, utcnow


class RecheckStatus(StrEnum):
    """Where a re-check is: waiting for a reviewer, or decided one way or the other."""

    PENDING = "pending"
    UPHELD = "upheld"  # the answer stays record_found
    OVERTURNED = "overturned"  # the answer becomes no_record, with a new certificate


class RecheckGround(StrEnum):
    """Why a reviewer overturned an answer (for the registry; never shown to the institution)."""

    NOT_THE_SAME_PERSON = "not_the_same_person"
    # Sealed (CPL art. 286), revoked, corrected, or outside the purpose's scope.
    RECORD_NOT_IN_SCOPE = "record_not_in_scope"
    RECORD_REVOKED_OR_CORRECTED = "record_revoked_or_corrected"


class InquiryRecheck(UUIDPrimaryKey, Base):
    """A candidate's request to re-check a `record_found` answer, and its decision."""

    __tablename__ = "inquiry_rechecks"
    __table_args__ = (
        # One open re-check per inquiry at a time: the service checks under the inquiry's row
        # lock, and this index keeps two concurrent requests from both being stored.
        Index(
            "uq_inquiry_rechecks_pending",
            "inquiry_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_inquiry_rechecks_status", "status", "entered_at"),
    )

    inquiry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("inquiries.id", ondelete="RESTRICT"), index=True
    )
    # The education authority that entered it (and whose officers follow it).
    authority_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(String(16))
    # The candidate's grounds in their own words: personal data, sealed.
    grounds_sealed: Mapped[bytes] = mapped_column("grounds", Sealed())
    grounds = EncryptedString()
    received_on: Mapped[date] = mapped_column(Date)
    entered_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The certificate in force when the request was entered (the answer under re-check).
    certificate_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("certificates.id", ondelete="RESTRICT")
    )
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    decided_at: Mapped[datetime | None]
    ground: Mapped[str | None] = mapped_column(String(32))  # a RecheckGround, when overturned
    note_sealed: Mapped[bytes | None] = mapped_column("note", Sealed())
    note = EncryptedString()  # the reviewer's note: may name the record, so sealed
    # The certificate an overturn issued in place of `certificate_id`.
    new_certificate_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("certificates.id", ondelete="RESTRICT")
    )


class InquiryRecheckDocument(UUIDPrimaryKey, Base):
    """A supporting document of a re-check request, sealed, with the SHA-256 of its plaintext.

    Stored as the registry stores its scans (`registry_record_files`), in a table of its own so
    that reading a re-check never loads the file.
    """

    __tablename__ = "inquiry_recheck_documents"

    recheck_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("inquiry_rechecks.id", ondelete="CASCADE"), unique=True
    )
    filename_sealed: Mapped[bytes] = mapped_column("filename", Sealed())
    filename = EncryptedString()
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content_sealed: Mapped[bytes] = mapped_column("content", Sealed())
    content = EncryptedBytes()
    uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
