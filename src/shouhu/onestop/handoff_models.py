"""The hand-off of a convicted suspect to the registry: which record each suspect became."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from shouhu.core.database import Base, UUIDPrimaryKey, utcnow


class CaseRegistryHandoff(UUIDPrimaryKey, Base):
    """A suspect of a judged case sent to the registry as a draft record, once.

    A table of its own rather than columns on `case_suspects`: the hand-off has its own who and
    when, and a suspect's row is intake data that the hand-off should not rewrite.
    """

    __tablename__ = "case_registry_handoffs"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("onestop_cases.id", ondelete="CASCADE"), index=True
    )
    # One hand-off per suspect: a database rule, so two officers sending at once cannot both win.
    suspect_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("case_suspects.id", ondelete="CASCADE"), unique=True
    )
    # None once the registry discarded an unfinished draft (its retention period): the suspect
    # may then be handed off again.
    registry_record_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("registry_records.id", ondelete="SET NULL"), index=True
    )
    sent_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
