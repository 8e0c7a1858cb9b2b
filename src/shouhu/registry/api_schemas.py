"""API shapes of the registry: a correction as sent, records, persons, duplicate pairs, merges.

A submission is `registry.schemas.RecordSubmission` and a reason `registry.schemas.Reason`, as
on the pages. Lists show a record's decision, never its subject; a sealed record's content is
withheld from everyone the disclosure policy does not name (Criminal Procedure Law art. 286).
A duplicate pair names its persons by id and external id only, and why the engine paired them
by field names and weights, never values.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from shouhu.core.text import PlainLine
from shouhu.identity.documents import IdType
from shouhu.registry.lifecycle import RecordCorrection
from shouhu.registry.merging import Moved
from shouhu.registry.models import (
    AUTHORITY_LENGTH,
    NameKind,
    RegistryDuplicatePair,
    RegistryPerson,
    RegistryPersonMerge,
    RegistryRecord,
)
from shouhu.registry.schemas import MAX_SENTENCE_MONTHS, REASON_LENGTH

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
    source: str = Field(
        description="import, court, procuratorate, public_security, paper or onestop_case"
    )
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


# --- persons, duplicates and merges -------------------------------------------------------------

EXAMPLE_PERSON: Final = "3c1f9a52-7d4e-4b8a-a1c6-2e9f0b7d5a34"
EXAMPLE_OTHER_PERSON: Final = "9e2b4c71-0a3d-4f6e-8b5c-1d7a6e3f2b90"
EXAMPLE_PAIR: Final = "c47a1e0d-2b9f-4d3a-9e61-5f8b0a2c7d13"
EXAMPLE_MERGE: Final = "e81d3b6a-4c2f-4a97-b0e5-7c9d1f2a3b46"
EXAMPLE_USER: Final = "2a9d6c3e-1f4b-4e8a-9c7d-5b0e3f1a6d28"
# Primary name first, then former names, then aliases; each kind in the order it was added.
NAME_ORDER: Final = {NameKind.PRIMARY.value: 0, NameKind.FORMER.value: 1, NameKind.ALIAS.value: 2}
EXAMPLE_REASONS: Final = (
    "name=agree +6.0; birth_date=agree +4.0; sex=agree +0.7; document=disagree -1.5; rule=review"
)


class PersonNameOut(BaseModel):
    """One name of a person: the primary name, a former name (曾用名) or an alias."""

    kind: str = Field(description="primary, former or alias")
    name: str


class PersonDocumentOut(BaseModel):
    """An identity document of a person."""

    id_type: str = Field(description="prc_id, passport, hkmo_permit, tw_permit, …")
    number: str


class HistoryEntryOut(TransitionOut):
    """One change of a record's status, with who made it."""

    actor_id: uuid.UUID | None = Field(description="The user; null for an import or the system")


class PersonRecordOut(BaseModel):
    """A decided record of a person, with its history."""

    id: uuid.UUID
    status: str = Field(description="active, corrected, revoked or sealed")
    version: int
    source: str = Field(
        description="import, court, procuratorate, public_security, paper or onestop_case"
    )
    kind: str
    offence: str
    decision_authority: str
    decision_number: str
    decision_date: date
    offence_date: date | None
    sentence_months: int | None
    supersedes_id: uuid.UUID | None = Field(description="The version this one corrects")
    approved_at: datetime | None
    transitions: list[HistoryEntryOut]


class PersonOut(BaseModel):
    """A registry person: names, sex, birth date, documents and decided records (audited read)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": EXAMPLE_PERSON,
                    "external_id": "P-0001",
                    "names": [
                        {"kind": "primary", "name": "王小明"},
                        {"kind": "former", "name": "王晓明"},
                    ],
                    "sex": "M",
                    "date_of_birth": "1980-05-17",
                    "nationality": "CHN",
                    "documents": [{"id_type": "prc_id", "number": "110101198005171233"}],
                    "merged_into_id": None,
                    "records": [
                        {
                            "id": EXAMPLE_ID,
                            "status": "active",
                            "version": 1,
                            "source": "court",
                            "kind": "conviction",
                            "offence": "child_molestation",
                            "decision_authority": "北京市东城区人民法院",
                            "decision_number": "(2019)京0101刑初123号",
                            "decision_date": "2019-11-05",
                            "offence_date": None,
                            "sentence_months": 30,
                            "supersedes_id": None,
                            "approved_at": "2025-07-02T09:00:00Z",
                            "transitions": [
                                {
                                    "seq": 1,
                                    "from_status": None,
                                    "to_status": "pending_review",
                                    "occurred_at": "2025-07-01T08:30:00Z",
                                    "reason": None,
                                    "actor_id": "7d3b7c2e-3a4f-4c52-9a51-0f1d2b8e4c11",
                                },
                                {
                                    "seq": 2,
                                    "from_status": "pending_review",
                                    "to_status": "active",
                                    "occurred_at": "2025-07-02T09:00:00Z",
                                    "reason": None,
                                    "actor_id": EXAMPLE_USER,
                                },
                            ],
                        },
                        {
                            "id": "6a1d0e2f-9c3b-4d5e-8f7a-0b1c2d3e4f50",
                            "status": "sealed",
                            "version": 1,
                        },
                    ],
                }
            ]
        }
    )

    id: uuid.UUID
    external_id: str = Field(description="The identifier the submitting system gave the person")
    names: list[PersonNameOut]
    sex: str | None = Field(description="M or F")
    date_of_birth: date | None
    nationality: str | None = Field(description="ISO 3166-1 alpha-3")
    documents: list[PersonDocumentOut]
    merged_into_id: uuid.UUID | None = Field(
        description="Set when this registration was merged into another person: its names, "
        "documents and records are there now"
    )
    records: list[PersonRecordOut | SealedRecordOut] = Field(
        description="Decided records, oldest decision first; a sealed record shows only its id, "
        "status and version to a caller the disclosure policy does not name"
    )


class PersonSearch(BaseModel):
    """An identity document to look for."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"id_type": "prc_id", "id_number": "11010119800517123X"}]},
    )

    id_type: IdType = Field(description="The kind of identity document")
    id_number: str = Field(min_length=1, max_length=40, description="Its number, in any usual form")
    nationality: str = Field(
        default="",
        max_length=3,
        description="Issuing country (ISO 3166-1 alpha-3); blank is CHN, so give a foreign one",
    )


class FoundPersonOut(BaseModel):
    """A person holding the identity document looked for."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": EXAMPLE_PERSON, "external_id": "P-0001", "name": "王小明", "records": 2}
            ]
        }
    )

    id: uuid.UUID
    external_id: str
    name: str
    records: int = Field(ge=0, description="How many records the person holds")


class DuplicatePairOut(BaseModel):
    """Two persons the duplicate sweep takes for one human, and why (field names, no values)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": EXAMPLE_PAIR,
                    "status": "open",
                    "first_person_id": EXAMPLE_PERSON,
                    "first_external_id": "P-0001",
                    "second_person_id": EXAMPLE_OTHER_PERSON,
                    "second_external_id": "P-0417",
                    "outcome": "possible_match",
                    "score": 9.2,
                    "reasons": EXAMPLE_REASONS,
                    "found_at": "2025-07-03T02:00:00Z",
                    "decided_at": None,
                    "decided_by_id": None,
                    "reason": None,
                }
            ]
        }
    )

    id: uuid.UUID
    status: str = Field(description="open, merged or dismissed")
    first_person_id: uuid.UUID
    first_external_id: str
    second_person_id: uuid.UUID
    second_external_id: str
    outcome: str = Field(description="hit (surely one human) or possible_match (look closer)")
    score: float
    reasons: str = Field(description="Which fields agreed and disagreed, with their weights")
    found_at: datetime
    decided_at: datetime | None
    decided_by_id: uuid.UUID | None
    reason: str | None = Field(description="Why a reviewer dismissed it")


class PairMergeIn(BaseModel):
    """Which person of a pair to keep, and why the two are one human."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [{"keep": "first", "reason": "同一人：两个身份证号码，旧号码未注销。"}]
        },
    )

    keep: Literal["first", "second"] = Field(
        description="The person who stays; the other's names, documents and records move there"
    )
    reason: str = Field(min_length=1, max_length=REASON_LENGTH)


class MovedOut(BaseModel):
    """How many rows a merge moved onto the kept person."""

    names: int = Field(ge=0)
    documents: int = Field(ge=0)
    records: int = Field(ge=0)


class MergeOut(BaseModel):
    """One merge of a person into another, and its undoing if it was undone."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": EXAMPLE_MERGE,
                    "pair_id": EXAMPLE_PAIR,
                    "kept_person_id": EXAMPLE_PERSON,
                    "kept_external_id": "P-0001",
                    "merged_person_id": EXAMPLE_OTHER_PERSON,
                    "merged_external_id": "P-0417",
                    "moved": {"names": 1, "documents": 1, "records": 1},
                    "reason": "同一人：两个身份证号码，旧号码未注销。",
                    "merged_by_id": EXAMPLE_USER,
                    "merged_at": "2025-07-03T09:15:00Z",
                    "undone_at": None,
                    "undone_by_id": None,
                    "undo_reason": None,
                }
            ]
        }
    )

    id: uuid.UUID
    pair_id: uuid.UUID | None = Field(description="The sweep's pair it decided, if any")
    kept_person_id: uuid.UUID
    kept_external_id: str
    merged_person_id: uuid.UUID
    merged_external_id: str
    moved: MovedOut
    reason: str | None
    merged_by_id: uuid.UUID | None
    merged_at: datetime
    undone_at: datetime | None = Field(description="Set once the merge has been undone")
    undone_by_id: uuid.UUID | None
    undo_reason: str | None


def person_out(
    person: RegistryPerson, records: Sequence[RegistryRecord], withheld: set[uuid.UUID]
) -> PersonOut:
    """A person with the given records, those in `withheld` reduced to their existence."""
    return PersonOut(
        id=person.id,
        external_id=person.external_id,
        names=[
            PersonNameOut(kind=n.kind, name=n.name)
            for n in sorted(
                person.names, key=lambda n: (NAME_ORDER.get(n.kind, 3), n.created_at, n.id)
            )
        ],
        sex=person.sex,
        date_of_birth=person.date_of_birth,
        nationality=person.nationality,
        documents=[
            PersonDocumentOut(id_type=d.id_type, number=d.number)
            for d in sorted(person.documents, key=lambda d: (d.created_at, d.id))
        ],
        merged_into_id=person.merged_into_id,
        records=[sealed_record_out(r) if r.id in withheld else _person_record(r) for r in records],
    )


def _person_record(record: RegistryRecord) -> PersonRecordOut:
    return PersonRecordOut(
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
        supersedes_id=record.supersedes_id,
        approved_at=record.approved_at,
        transitions=[
            HistoryEntryOut(
                seq=t.seq,
                from_status=t.from_status,
                to_status=t.to_status,
                occurred_at=t.occurred_at,
                reason=t.reason,
                actor_id=t.actor_id,
            )
            for t in record.transitions
        ],
    )


def pair_out(
    pair: RegistryDuplicatePair, external_ids: Mapping[uuid.UUID, str]
) -> DuplicatePairOut:
    """A pair with its persons' external ids."""
    return DuplicatePairOut(
        id=pair.id,
        status=pair.status,
        first_person_id=pair.first_person_id,
        first_external_id=external_ids.get(pair.first_person_id, ""),
        second_person_id=pair.second_person_id,
        second_external_id=external_ids.get(pair.second_person_id, ""),
        outcome=pair.outcome,
        score=pair.score,
        reasons=pair.reasons,
        found_at=pair.found_at,
        decided_at=pair.decided_at,
        decided_by_id=pair.decided_by_id,
        reason=pair.reason,
    )


def merge_out(merge: RegistryPersonMerge, external_ids: Mapping[uuid.UUID, str]) -> MergeOut:
    """A merge with its persons' external ids and the counts of what it moved."""
    moved = Moved.from_json(merge.moved)
    return MergeOut(
        id=merge.id,
        pair_id=merge.pair_id,
        kept_person_id=merge.kept_person_id,
        kept_external_id=external_ids.get(merge.kept_person_id, ""),
        merged_person_id=merge.merged_person_id,
        merged_external_id=external_ids.get(merge.merged_person_id, ""),
        moved=MovedOut(
            names=len(moved.names), documents=len(moved.documents), records=len(moved.records)
        ),
        reason=merge.reason,
        merged_by_id=merge.merged_by_id,
        merged_at=merge.merged_at,
        undone_at=merge.undone_at,
        undone_by_id=merge.undone_by_id,
        undo_reason=merge.undo_reason,
    )
