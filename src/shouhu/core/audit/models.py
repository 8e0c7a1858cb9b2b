"""Audit entries and the single chain-head row that serialises writers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shouhu.core.database import Base


class AuditEvent(Base):
    """One entry of the chain; `entry_hash` covers every other field and `prev_hash`."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    occurred_at: Mapped[datetime]
    actor_id: Mapped[str | None] = mapped_column(String(36), index=True)
    organisation_id: Mapped[str | None] = mapped_column(String(36), index=True)
    source_address: Mapped[str | None] = mapped_column(String(64))
    # `source:subject:action`, e.g. `web:session:sign_in`.
    action: Mapped[str] = mapped_column(String(100), index=True)
    object_type: Mapped[str | None] = mapped_column(String(50))
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    # Canonical JSON; never plaintext personal data.
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain's last sequence number and hash; locking this row orders all writers."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    entry_hash: Mapped[str] = mapped_column(String(64))
