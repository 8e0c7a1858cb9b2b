"""API shapes of re-check (复查) appeals: what an authority enters, what a reviewer decides.

The education authority and the registry reviewers read a re-check; the institution never does
(it sees the `recheck` status of its inquiry and nothing more). The reviewer's ground and note
are the registry's: an authority is told the outcome only.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from shouhu.accounts.policies import allows
from shouhu.accounts.roles import Permission
from shouhu.core.principal import Principal
from shouhu.screening.models import InquiryAnswer
from shouhu.screening.recheck_models import (
    InquiryRecheck,
    InquiryRecheckDocument,
    RecheckGround,
    RecheckStatus,
)
from shouhu.screening.rechecks import GROUNDS_LENGTH, NOTE_LENGTH

EXAMPLE_ID: Final = "8f14e45f-ceea-467a-9af0-2c3b5d6e7f81"
EXAMPLE_INQUIRY: Final = "3c9e1a52-7d4b-4f1e-a0c2-5b8d6e7f9a10"


def _letter(value: str) -> str:
    # Several lines are allowed (it is a letter); other control characters are not.
    if any((ord(ch) < 32 and ch not in "\n\r\t") or 127 <= ord(ch) < 160 for ch in value):  # noqa: PLR2004
        raise ValueError("must not contain control characters other than line breaks")
    return value.strip()


Letter = Annotated[str, AfterValidator(_letter)]


class RecheckIn(BaseModel):
    """A candidate's re-check request, as the responsible education authority received it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "grounds": "本人从未受过任何处罚，身份证曾于2019年遗失，请求复查。",
                    "received_on": "2026-03-12",
                }
            ]
        },
    )

    grounds: Letter = Field(
        min_length=1,
        max_length=GROUNDS_LENGTH,
        description="The candidate's grounds, in their words (stored encrypted)",
    )
    received_on: date = Field(
        description="When the authority received the request: on or after the answer, and"
        " within 30 days of it"
    )


class RecheckOutcome(StrEnum):
    """What a reviewer decides."""

    UPHELD = "upheld"
    OVERTURNED = "overturned"


class RecheckDecisionIn(BaseModel):
    """A registry reviewer's decision on a re-check."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "outcome": "overturned",
                    "ground": "not_the_same_person",
                    "note": "出生地与户籍信息不同，系同名同生日的另一人。",
                }
            ]
        },
    )

    outcome: RecheckOutcome
    ground: RecheckGround | None = Field(
        default=None,
        description="Required when overturned, absent when upheld: not_the_same_person,"
        " record_not_in_scope (sealed, revoked, corrected, or outside the purpose's scope) or"
        " record_revoked_or_corrected",
    )
    note: Letter = Field(
        min_length=1,
        max_length=NOTE_LENGTH,
        description="What was re-examined (stored encrypted; for the registry only)",
    )


class RecheckDocumentOut(BaseModel):
    """The supporting document's description (the file itself is read on the reviewer's page)."""

    content_type: str
    size: int
    sha256: str


class RecheckOut(BaseModel):
    """A re-check as the authority or a reviewer sees it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": EXAMPLE_ID,
                    "inquiry_id": EXAMPLE_INQUIRY,
                    "status": "overturned",
                    "received_on": "2026-03-12",
                    "entered_at": "2026-03-12T02:15:00Z",
                    "grounds": None,
                    "document": {
                        "content_type": "application/pdf",
                        "size": 48213,
                        "sha256": "9f2c…",
                    },
                    "decided_at": "2026-03-16T07:40:00Z",
                    "ground": None,
                    "note": None,
                    "answer": "no_record",
                    "certificate_code": "7K3M-Q9TX-2D4F",
                }
            ]
        }
    )

    id: uuid.UUID
    inquiry_id: uuid.UUID
    status: RecheckStatus = Field(description="pending, upheld or overturned")
    received_on: date
    entered_at: datetime
    grounds: str | None = Field(
        description="The candidate's grounds: in the answer to a request and in"
        " GET /rechecks/{id} (an audited read); null in lists"
    )
    document: RecheckDocumentOut | None
    decided_at: datetime | None
    ground: RecheckGround | None = Field(
        description="Why it was overturned: for registry reviewers only (null for authorities)"
    )
    note: str | None = Field(
        description="The reviewer's note, in GET /rechecks/{id} for registry reviewers only"
    )
    answer: InquiryAnswer | None = Field(description="The inquiry's answer now")
    certificate_code: str | None = Field(
        description="The inquiry's certificate in force (a new one after an overturn)"
    )


def recheck_out(
    recheck: InquiryRecheck,
    *,
    principal: Principal,
    document: InquiryRecheckDocument | None,
    answer: str | None,
    certificate_code: str | None,
    full: bool,
) -> RecheckOut:
    """The re-check for this reader: grounds and note only in a full (audited) read."""
    registry = allows(principal, Permission.RECHECK_DECIDE)
    return RecheckOut(
        id=recheck.id,
        inquiry_id=recheck.inquiry_id,
        status=RecheckStatus(recheck.status),
        received_on=recheck.received_on,
        entered_at=recheck.entered_at,
        grounds=recheck.grounds if full else None,
        document=RecheckDocumentOut(
            content_type=document.content_type, size=document.size, sha256=document.sha256
        )
        if document
        else None,
        decided_at=recheck.decided_at,
        ground=RecheckGround(recheck.ground) if registry and recheck.ground else None,
        note=recheck.note if registry and full else None,
        answer=InquiryAnswer(answer) if answer else None,
        certificate_code=certificate_code,
    )
