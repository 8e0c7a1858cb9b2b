"""Request and response bodies of the evidence API (issue 6, item 5)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from shouhu.onestop.custody import CustodyEvent
from shouhu.onestop.evidence_models import EvidenceKind

ITEM_EXAMPLE: Final[dict[str, Any]] = {
    "kind": "interview_recording",
    "description": "儿童 A 的询问同步录音录像，一次完成。",
    "place": "一站式取证中心询问室",
    "collected_at": "2026-11-29T09:30:00+08:00",
    "holder": "区公安分局物证室",
    "reason": "一站式询问结束后固定证据。",
}
CUSTODY_EXAMPLE: Final[dict[str, Any]] = {
    "event": "transferred",
    "reason": "送市局物证鉴定中心做 DNA 检验。",
    "place": "区公安分局物证室",
    "to_holder": "市公安局物证鉴定中心",
}


class ItemIn(BaseModel):
    """A new evidence item; its custody log starts with `collected` to `holder`, for `reason`."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [ITEM_EXAMPLE]})

    kind: EvidenceKind
    description: str = Field(max_length=2000)
    place: str = Field(max_length=300, description="Where it was collected (sealed)")
    collected_at: AwareDatetime | None = Field(default=None, description="Default: now")
    holder: str = Field(max_length=200, description="Who keeps it from now: a unit or a room")
    reason: str = Field(max_length=2000, description="Why it was collected (mandatory)")
    child_id: uuid.UUID | None = Field(default=None, description="The child it concerns")
    examined_on_site: bool | None = Field(
        default=None,
        description="A medical report only (required then): whether the child was examined at"
        " the one-stop site; leave out for every other kind",
    )


class CustodyIn(BaseModel):
    """A custody event: it comes from the current holder; a reason is mandatory."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CUSTODY_EXAMPLE]})

    event: CustodyEvent
    reason: str = Field(max_length=2000)
    place: str = Field(max_length=300)
    to_holder: str | None = Field(default=None, max_length=200)
    occurred_at: AwareDatetime | None = Field(default=None, description="Default: now")


class FileOut(BaseModel):
    """An item's stored file: what its SHA-256 was when it was uploaded."""

    sha256: str
    size: int
    filename: str
    content_type: str
    uploaded_at: datetime


class CustodyEntryOut(BaseModel):
    """One entry of the custody log, with its chain hashes."""

    seq: int
    event: str
    occurred_at: datetime
    actor_id: str
    organisation_id: str
    place: str
    reason: str
    from_holder: str | None
    to_holder: str | None
    prev_hash: str
    entry_hash: str


class ItemOut(BaseModel):
    """An evidence item as the case team reads it."""

    id: uuid.UUID
    case_id: uuid.UUID
    number: int
    kind: EvidenceKind
    description: str
    place: str
    collected_at: datetime
    collected_by_id: uuid.UUID
    child_id: uuid.UUID | None
    examined_on_site: bool | None = Field(
        description="A medical report: examined at the site or not; null for other kinds"
    )
    holder: str | None = Field(description="Who keeps it now (none once returned or destroyed)")
    custody_entries: int
    file: FileOut | None


class ItemDetailOut(ItemOut):
    """An item with its whole custody log."""

    custody: list[CustodyEntryOut]


class BreakOut(BaseModel):
    """One problem found in a custody log."""

    seq: int | None
    reason: str
    message: str


class VerifyOut(BaseModel):
    """The result of checking an item's custody log against the head the item keeps."""

    intact: bool
    entries: int
    breaks: list[BreakOut]


class AlertOut(BaseModel):
    """An integrity alert on a case's evidence."""

    id: uuid.UUID
    case_id: uuid.UUID
    item_id: uuid.UUID | None
    kind: str
    details: dict[str, Any]
    raised_at: datetime
    acknowledged_by_id: uuid.UUID | None
    acknowledged_at: datetime | None
