"""The data keys, stored wrapped under the master key."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from shouhu.core.database import Base, utcnow


class KeyPurpose(StrEnum):
    """What a data key is used for; each purpose has its own key (DESIGN §4)."""

    FIELD = "field"
    BLIND_INDEX = "blind_index"
    SIGNING = "signing"


class KeyStatus(StrEnum):
    """Where a key is in its life: new writes use `active`; `retiring` is being rotated out."""

    ACTIVE = "active"
    RETIRING = "retiring"
    RETIRED = "retired"


class CryptoKey(Base):
    """One data key, AES-GCM-wrapped under the master key with its id and purpose as AAD."""

    __tablename__ = "crypto_keys"
    # One active key per purpose (migration 0004): two processes starting on an empty database
    # at once cannot both create keys.
    __table_args__ = (
        Index(
            "uq_crypto_keys_active_purpose",
            "purpose",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16))
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]
