"""Evidence items of one-stop cases, their hash-chained custody log, and integrity alerts.

An item's file lives in the encrypted content-addressed store (`blobs.py`); the row keeps its
SHA-256 and size, so every download can be checked against what was stored at upload. The
custody log's entries are chained by `custody.py`; the item row keeps the head (last seq and
hash), so entries cut from the end are found too (custody.Head).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from shouhu.core.crypto.fields import EncryptedString, Sealed
from shouhu.core.database import Base, UUIDPrimaryKey, utcnow


class EvidenceKind(StrEnum):
    """What an evidence item is (issue 6, item 5)."""

    BIOLOGICAL_SAMPLE = "biological_sample"
    CLOTHING = "clothing"
    MEDICAL_REPORT = "medical_report"
    INTERVIEW_RECORDING = "interview_recording"
    DIGITAL_MEDIA = "digital_media"
    DOCUMENT = "document"


class AlertKind(StrEnum):
    """Why an alert was raised."""

    FILE_INTEGRITY = "file_integrity"  # a stored file failed verification on download
    CUSTODY_INTEGRITY = "custody_integrity"  # a custody log failed its check on export


class EvidenceItem(UUIDPrimaryKey, Base):
    """One item of evidence of a case: physical (no file) or with one stored file."""

    __tablename__ = "evidence_items"
    __table_args__ = (UniqueConstraint("case_id", "number"),)

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("onestop_cases.id", ondelete="RESTRICT"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, 3… within the case: "E-3"
    kind: Mapped[str] = mapped_column(String(32))  # an EvidenceKind
    # A description can name the child or what happened: sealed, like the place.
    description_sealed: Mapped[bytes] = mapped_column("description", Sealed())
    description = EncryptedString()
    place_sealed: Mapped[bytes] = mapped_column("place", Sealed())
    place = EncryptedString()
    collected_at: Mapped[datetime]
    collected_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    child_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("case_children.id", ondelete="RESTRICT")
    )
    # A medical report only: whether the examination was done at the one-stop site (site
    # figures, issue 6 item 8); None for every other kind. See docs/onestop.md.
    examined_on_site: Mapped[bool | None] = mapped_column(Boolean)
    # The file, once uploaded: its plaintext's SHA-256 is its address in the store.
    file_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    file_name_sealed: Mapped[bytes | None] = mapped_column("file_name", Sealed())
    file_name = EncryptedString()
    file_content_type: Mapped[str | None] = mapped_column(String(120))
    file_uploaded_at: Mapped[datetime | None]
    file_uploaded_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    # The custody log's head: what shows entries cut from the end (custody.Head).
    custody_seq: Mapped[int] = mapped_column(Integer, default=0)
    custody_head: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustodyRecord(UUIDPrimaryKey, Base):
    """One stored entry of an item's custody log, with its chain hashes (custody.ChainedEntry).

    Holders and places are names of units and rooms ("区公安分局物证室"), not of the child:
    kept in plain text so that the chain can be verified without the field key.
    """

    __tablename__ = "evidence_custody"
    __table_args__ = (UniqueConstraint("item_id", "seq"),)

    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("evidence_items.id", ondelete="RESTRICT"))
    seq: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(16))  # a custody.CustodyEvent
    occurred_at: Mapped[datetime]
    actor_id: Mapped[str] = mapped_column(String(36))
    organisation_id: Mapped[str] = mapped_column(String(36))
    place: Mapped[str] = mapped_column(String(300))
    reason: Mapped[str] = mapped_column(String(2000))
    from_holder: Mapped[str | None] = mapped_column(String(200))
    to_holder: Mapped[str | None] = mapped_column(String(200))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class EvidenceAlert(UUIDPrimaryKey, Base):
    """An integrity alert on a case's evidence, shown to the team until the lead acknowledges it."""

    __tablename__ = "onestop_alerts"
    __table_args__ = (Index("ix_onestop_alerts_case", "case_id", "raised_at"),)

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("onestop_cases.id", ondelete="RESTRICT"))
    item_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("evidence_items.id", ondelete="RESTRICT")
    )
    kind: Mapped[str] = mapped_column(String(32))  # an AlertKind
    # TamperedBlobError.alert_details(): hashes, the damage code, a segment; no plaintext.
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    raised_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    acknowledged_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT")
    )
    acknowledged_at: Mapped[datetime | None]
