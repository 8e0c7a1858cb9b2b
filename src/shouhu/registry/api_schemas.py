"""API shapes of the record lifecycle: a correction as sent, and records as the API shows them.

A submission is `registry.schemas.RecordSubmission` and a reason `registry.schemas.Reason`, as
on the pages. Lists show a record's decision, never its subject; a sealed record's content is
withheld from everyone the disclosure policy does not name (Criminal Procedure Law art. 286).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from shouhu.core.text import PlainLine
from shouhu.registry.lifecycle import RecordCorrection
from shouhu.registry.models import AUTHORITY_LENGTH, RegistryRecord
from shouhu.registry.schemas import MAX_SENTENCE_MONTHS

EXAMPLE_ID: Final = "5f0c6d1e-8b1a-4c3e-9d2f-7a6b5c4d3e21"
EXAMPLE_BUREAU: Final = "0b6f0f59-6a53-4f54-8f8d-3d7f6a2a9a10"
WITHHELD: Final = "null when the record is sealed and the caller may not read sealed records"


class RecordCorrectionIn(BaseModel):
    """A new version of a decision: its fields only, the subject stays the record's person."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "record_kind": "conviction",
                    "offence": "child_molestation",
                    "decision_authority": "北京市东城区人民法院",
                    "decision_number": "(2019)京0101刑初123号",
                    "decision_date": "2019-11-05",
                    "offence_date": "2019-03-02",
                    "sentence_months": 30,
                }
            ]
        },
    )

    record_kind: PlainLine = Field(max_length=32, examples=["conviction"])
    offence: PlainLine = Field(max_length=32, examples=["child_molestation"])
    decision_authority: PlainLine = Field(max_length=AUTHORITY_LENGTH)
    decision_number: PlainLine = Field(max_length=100, examples=["(2019)京0101刑初123号"])
    decision_date: PlainLine = Field(max_length=10, examples=["2019-11-05"])
    offence_date: date | None = None
    sentence_months: int | None = Field(
        default=None,
        ge=0,
        le=MAX_SENTENCE_MONTHS,
        description="Custodial sentence in months; 0 when the sentence was not custodial",
    )

    def correction(self) -> RecordCorrection:
        """The service's form of the correction."""
        return RecordCorrection(**self.model_dump())


class RecordSummaryOut(BaseModel):
    """A record in a list or as an action's result: the decision, never the subject."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": EXAMPLE_ID,
                    "status": "pending_review",
                    "version": 1,
                    "kind": "conviction",
                    "offence": "child_molestation",
                    "decision_date": "2019-11-05",
                    "submitted_at": "2025-07-01T08:30:00Z",
                    "review_organisation_id": EXAMPLE_BUREAU,
                    "supersedes_id": None,
                }
            ]
        }
    )

    id: uuid.UUID
    status: str = Field(description="draft, pending_review, returned, active, corrected, …")
    version: int
    kind: str | None = Field(description=WITHHELD)
    offence: str | None = Field(description=WITHHELD)
    decision_date: date | None = Field(description=WITHHELD)
    submitted_at: datetime | None = Field(description="When it was last sent for review")
    review_organisation_id: uuid.UUID | None
    supersedes_id: uuid.UUID | None = Field(description="The version this one corrects")


class ReviewQueueItemOut(RecordSummaryOut):
    """A record waiting for review, with who sent it and for how long it has waited."""

    submitting_organisation_id: uuid.UUID | None
    waiting_seconds: int = Field(ge=0)


class SubjectOut(BaseModel):
    """The person a record is about, as the submitter entered them (sensitive: audited read)."""

    name: str
    former_names: list[str]
    sex: str | None
    date_of_birth: date | None
    nationality: str | None
    id_type: str
    id_number: str


class TransitionOut(BaseModel):
    """One change of a record's status, and why (a return, revocation or sealing)."""

    seq: int
    from_status: str | None
    to_status: str
    occurred_at: datetime
    reason: str | None


class RecordOut(BaseModel):
    """One record in full: the decision, its subject and its history."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": EXAMPLE_ID,
                    "status": "returned",
                    "version": 1,
                    "source": "court",
                    "kind": "conviction",
                    "offence": "child_molestation",
                    "decision_authority": "北京市东城区人民法院",
                    "decision_number": "(2019)京0101刑初123号",
                    "decision_date": "2019-11-05",
                    "offence_date": None,
                    "sentence_months": 30,
                    "submitting_organisation_id": "7d3b7c2e-3a4f-4c52-9a51-0f1d2b8e4c11",
                    "review_organisation_id": EXAMPLE_BUREAU,
                    "supersedes_id": None,
                    "submitted_at": "2025-07-01T08:30:00Z",
                    "approved_at": None,
                    "updated_at": "2025-07-02T09:00:00Z",
                    "subject": {
                        "name": "王小明",
                        "former_names": [],
                        "sex": "M",
                        "date_of_birth": "1980-05-17",
                        "nationality": "CHN",
                        "id_type": "prc_id",
                        "id_number": "110101198005171233",
                    },
                    "transitions": [
                        {
                            "seq": 1,
                            "from_status": None,
                            "to_status": "pending_review",
                            "occurred_at": "2025-07-01T08:30:00Z",
                            "reason": None,
                        },
                        {
                            "seq": 2,
                            "from_status": "pending_review",
                            "to_status": "returned",
                            "occurred_at": "2025-07-02T09:00:00Z",
                            "reason": "判决书编号与扫描件不符",
                        },
                    ],
                }
            ]
        }
    )

    id: uuid.UUID
    status: str
    version: int
    source: str = Field(description="import, court, procuratorate, public_security or paper")
    kind: str
    offence: str
    decision_authority: str
    decision_number: str
    decision_date: date
    offence_date: date | None
    sentence_months: int | None
    submitting_organisation_id: uuid.UUID | None
    review_organisation_id: uuid.UUID | None
    supersedes_id: uuid.UUID | None
    submitted_at: datetime | None
    approved_at: datetime | None
    updated_at: datetime
    subject: SubjectOut | None = Field(description="null for a record imported without one")
    transitions: list[TransitionOut]


class SealedRecordOut(BaseModel):
    """A sealed record shown to a caller the disclosure policy does not name: that it exists."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"id": EXAMPLE_ID, "status": "sealed", "version": 1}]},
    )

    id: uuid.UUID
    status: str
    version: int


def record_summary(record: RegistryRecord, *, withheld: bool) -> RecordSummaryOut:
    """A record's summary; the decision left out when its content is withheld."""
    return RecordSummaryOut(**_summary_fields(record, withheld=withheld))


def queue_item(record: RegistryRecord, *, now: datetime) -> ReviewQueueItemOut:
    """A pending record and how long it has waited (nothing pending is sealed)."""
    waited = (now - record.submitted_at).total_seconds() if record.submitted_at else 0
    return ReviewQueueItemOut(
        **_summary_fields(record, withheld=False),
        submitting_organisation_id=record.submitting_organisation_id,
        waiting_seconds=max(0, int(waited)),
    )


def _summary_fields(record: RegistryRecord, *, withheld: bool) -> dict[str, Any]:
    return {
        "id": record.id,
        "status": record.status,
        "version": record.version,
        "kind": None if withheld else record.kind,
        "offence": None if withheld else record.offence,
        "decision_date": None if withheld else record.decision_date,
        "submitted_at": record.submitted_at,
        "review_organisation_id": record.review_organisation_id,
        "supersedes_id": record.supersedes_id,
    }


def subject_out(subject: dict[str, str] | None) -> SubjectOut | None:
    """The stored subject columns (DESIGN §6) as the API shows them."""
    if not subject:
        return None
    born = subject.get("date_of_birth", "")
    return SubjectOut(
        name=subject.get("name", ""),
        former_names=[n for n in subject.get("former_names", "").split(";") if n],
        sex=subject.get("sex") or None,
        date_of_birth=date.fromisoformat(born) if born else None,
        nationality=subject.get("nationality") or None,
        id_type=subject.get("id_type", ""),
        id_number=subject.get("id_number", ""),
    )


def record_out(record: RegistryRecord, subject: dict[str, str] | None) -> RecordOut:
    """A record in full, with the subject given (the submitted one or the registry person's)."""
    return RecordOut(
        id=record.id,
        status=record.status,
        version=record.version,
        source=record.source,
        kind=record.kind,
        offence=record.offence,
        decision_authority=record.decision_authority,
        decision_number=record.decision_number or "",
        decision_date=record.decision_date,
        offence_date=record.offence_date,
        sentence_months=record.sentence_months,
        submitting_organisation_id=record.submitting_organisation_id,
        review_organisation_id=record.review_organisation_id,
        supersedes_id=record.supersedes_id,
        submitted_at=record.submitted_at,
        approved_at=record.approved_at,
        updated_at=record.updated_at,
        subject=subject_out(subject),
        transitions=[
            TransitionOut(
                seq=t.seq,
                from_status=t.from_status,
                to_status=t.to_status,
                occurred_at=t.occurred_at,
                reason=t.reason,
            )
            for t in record.transitions
        ],
    )


def sealed_record_out(record: RegistryRecord) -> SealedRecordOut:
    """What a caller who may not read sealed records learns of one."""
    return SealedRecordOut(id=record.id, status=record.status, version=record.version)
