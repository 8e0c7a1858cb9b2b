"""API shapes of one-stop services: referrals, their notes, a support worker's tasks, deadlines.

Input schemas refuse unknown keys, so a caller cannot set a status, a deadline or an author by
sending them. A referral carries the child's pseudonym, never who the child is.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from shouhu.onestop.deadlines import DeadlineKind
from shouhu.onestop.service_models import ReferralStatus, ServiceKind

EXAMPLE_CHILD: Final = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
EXAMPLE_PARTNER: Final = "3c5e7a9c-1e3a-4c5e-8a7c-9e1a3c5e7a9c"
EXAMPLE_WORKER: Final = "6e8a0c2e-4a6c-4e8a-9c0e-2a4c6e8a0c2e"

REFERRAL_EXAMPLE: Final[dict[str, JsonValue]] = {
    "child_id": EXAMPLE_CHILD,
    "service": "psychological",
    "organisation_id": EXAMPLE_PARTNER,
    "assigned_to_id": EXAMPLE_WORKER,
}


class ReferralIn(BaseModel):
    """A referral of a child of the case to a partner attached to the case's site."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [REFERRAL_EXAMPLE]})

    child_id: uuid.UUID
    service: ServiceKind
    organisation_id: uuid.UUID = Field(description="A partner organisation of the case's site")
    assigned_to_id: uuid.UUID | None = Field(
        default=None, description="A support worker of that organisation (optional)"
    )


class ReferralStatusIn(BaseModel):
    """A move of one's task along its path."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"status": "declined", "reason": "本机构暂无儿童心理咨询师。"}]
        },
    )

    status: ReferralStatus
    reason: str | None = Field(
        default=None, max_length=2000, description="Required when declining (sealed)"
    )


REASSIGN_EXAMPLE: Final[dict[str, JsonValue]] = {
    "organisation_id": EXAMPLE_PARTNER,
    "assigned_to_id": EXAMPLE_WORKER,
    "reason": "原承接单位本周无儿童心理咨询师，改由妇联心理服务站承接。",
}


class ReassignIn(BaseModel):
    """A referral given to another partner of the site, or another worker of the same one."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [REASSIGN_EXAMPLE]})

    organisation_id: uuid.UUID | None = Field(
        default=None, description="A partner of the case's site; default: the present one"
    )
    assigned_to_id: uuid.UUID | None = Field(
        default=None,
        description="A support worker of that partner; required when the partner stays",
    )
    reason: str = Field(max_length=2000, description="Why it is reassigned (sealed)")


class WithdrawIn(BaseModel):
    """A referral called off by the case manager (referred or accepted only)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "监护人已自行安排心理治疗。"}]},
    )

    reason: str = Field(max_length=2000, description="Why it is withdrawn (sealed)")


class NoteIn(BaseModel):
    """A follow-up note to append."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"body": "首次心理评估已完成。"}]}
    )

    body: str = Field(max_length=4000)


class NoteOut(BaseModel):
    """A follow-up note: who wrote it, when, and what."""

    id: uuid.UUID
    author: str  # username
    written_at: datetime
    body: str


class ReferralOut(BaseModel):
    """A referral as its readers see it: the child by pseudonym only."""

    id: uuid.UUID
    case_id: uuid.UUID | None = Field(description="Only for those on the case's team")
    child: str = Field(description="The child's pseudonym letter", examples=["A"])
    service: ServiceKind
    organisation_id: uuid.UUID
    organisation: str
    assigned_to: str | None = Field(description="The support worker's username")
    site: str
    status: ReferralStatus
    due_at: datetime
    overdue: bool
    referred_at: datetime
    started_at: datetime | None
    decline_reason: str | None
    notes: list[NoteOut] | None = Field(
        default=None, description="On a single referral's read; absent in lists"
    )


class DeadlineItemOut(BaseModel):
    """A case or referral late for (or nearing) a deadline."""

    kind: DeadlineKind
    due_at: datetime
    case_id: uuid.UUID | None
    referral_id: uuid.UUID | None
    service: ServiceKind | None
    child: str | None
    site: str | None


class OverdueOut(BaseModel):
    """The caller's overdue and due-soon items, the earliest deadline first."""

    overdue: list[DeadlineItemOut]
    due_soon: list[DeadlineItemOut]
