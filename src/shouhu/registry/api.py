"""JSON routes of the registry under /api/v1: the record lifecycle, persons and duplicates.

Every record route calls `registry.lifecycle`, so the rules, the four eyes and the audit events
are those of the pages and the command line, and reads through `registry.repository`, so a
record the caller may not see is the 404 of one that does not exist (DESIGN §2). Persons are
read through `registry.browse` and duplicates decided through `registry.merging`, as on the
pages: each read of a person and each decision is an audit event.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any, Final

from fastapi import APIRouter, Body, Depends, Query
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.orm import Session

from shouhu.accounts.roles import Permission
from shouhu.core.database import utcnow
from shouhu.core.principal import Principal
from shouhu.registry import browse, lifecycle, merging, repository
from shouhu.registry.api_schemas import (
    DuplicatePairOut,
    FoundPersonOut,
    MergeOut,
    PairMergeIn,
    PersonOut,
    PersonSearch,
    RecordCorrectionIn,
    RecordOut,
    RecordSummaryOut,
    ReviewQueueItemOut,
    SealedRecordOut,
    merge_out,
    pair_out,
    person_out,
    queue_item,
    record_out,
    record_summary,
    sealed_record_out,
)
from shouhu.registry.lifecycle import RecordCorrection, SubmissionInvalidError
from shouhu.registry.models import (
    RecordStatus,
    RegistryDuplicatePair,
    RegistryPersonMerge,
    RegistryRecord,
)
from shouhu.registry.schemas import Reason, RecordSubmission
from shouhu.web.deps import ApiPermission, Db
from shouhu.web.form_errors import rejection_text

router = APIRouter(prefix="/registry", tags=["registry"])

Submitter = Annotated[Principal, Depends(ApiPermission(Permission.REGISTRY_SUBMIT))]
Reviewer = Annotated[Principal, Depends(ApiPermission(Permission.REGISTRY_REVIEW))]
# Reading one record. Not `registry:read`: that is public security's registry roles only, and a
# court clerk or prosecutor must read back their own submissions (a return's reason) and a
# reviewer the records in their queue before any is decided. Not `account:self` either: every
# role holds it, so an operator or an institution's HR would pass the route's check and meet
# only 404s, where they lack the right altogether (403; DESIGN §2: operators and institutions
# see no registry content). `registry:records` is held by exactly the roles that may see some
# record; which records each sees is the repository's answer, the rest a 404.
RecordReader = Annotated[Principal, Depends(ApiPermission(Permission.REGISTRY_RECORDS))]
# Registry persons are public security's registry roles' (DESIGN §2); duplicates, the reviewers'.
PersonReader = Annotated[Principal, Depends(ApiPermission(Permission.REGISTRY_READ))]
DuplicateDecider = Annotated[Principal, Depends(ApiPermission(Permission.REGISTRY_DUPLICATES))]

Limit = Annotated[int, Query(ge=1, le=500, description="At most this many records")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Skip this many records first")]
Draft = Annotated[
    bool, Query(description="Keep it as a draft instead of sending it for review at once")
]

PairLimit = Annotated[int, Query(ge=1, le=500, description="At most this many pairs")]
PairOffset = Annotated[int, Query(ge=0, le=1_000_000, description="Skip this many pairs first")]

PROBLEM = {"content": {"application/problem+json": {"schema": {"type": "object"}}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not readable JSON", **PROBLEM},
    401: {"description": "No valid bearer token", **PROBLEM},
    403: {"description": "The token's user lacks the permission, or may not act here", **PROBLEM},
    404: {"description": "No such record, or not visible to the caller", **PROBLEM},
    409: {"description": "The record's status does not allow this now", **PROBLEM},
    422: {"description": "Invalid input; `errors` names each field", **PROBLEM},
}


def _errors(not_found: str | None = None, conflict: str | None = None) -> dict[int | str, Any]:
    """The problems a route of persons or duplicates may answer with."""
    found: dict[int | str, dict[str, Any]] = {
        401: ERRORS[401],
        403: {"description": "The token's user lacks the permission", **PROBLEM},
        422: ERRORS[422],
    }
    if not_found:
        found[404] = {"description": not_found, **PROBLEM}
    if conflict:
        found[400] = ERRORS[400]
        found[409] = {"description": conflict, **PROBLEM}
    return found


PERSON_ERRORS: Final = _errors("No such person")
FIND_ERRORS: Final = {400: ERRORS[400], **_errors()}  # a posted body may be unreadable
PAIRS_ERRORS: Final = _errors()
PAIR_ERRORS: Final = _errors(
    "No such pair",
    "The pair has been decided already, or one of its persons has been merged since",
)
MERGE_ERRORS: Final = _errors("No such merge")
UNDO_ERRORS: Final = _errors(
    "No such merge",
    "The merge has been undone already, or a later merge must be undone first",
)

SUBMISSION_EXAMPLES: Final = {
    "conviction": {
        "summary": "A court's conviction, sent for review at once",
        "value": {
            "name": "王小明",
            "former_names": "王晓明",
            "sex": "M",
            "date_of_birth": "1980-05-17",
            "nationality": "CHN",
            "id_type": "prc_id",
            "id_number": "110101198005171233",
            "record_kind": "conviction",
            "offence": "child_molestation",
            "decision_authority": "北京市东城区人民法院",
            "decision_number": "(2019)京0101刑初123号",
            "decision_date": "2019-11-05",
            "offence_date": "2019-03-02",
            "sentence_months": 30,
        },
    },
    "non_prosecution": {
        "summary": "A procuratorate's non-prosecution decision (Criminal Procedure Law 177(2))",
        "value": {
            "name": "Olga Ivanova",
            "sex": "F",
            "date_of_birth": "1979-01-02",
            "nationality": "RUS",
            "id_type": "passport",
            "id_number": "751234567",
            "record_kind": "non_prosecution",
            "offence": "forcible_indecency",
            "decision_authority": "上海市黄浦区人民检察院",
            "decision_number": "沪黄检刑不诉〔2024〕12号",
            "decision_date": "2024-04-18",
        },
    },
}
UPDATE_EXAMPLES: Final = {
    "submission": SUBMISSION_EXAMPLES["conviction"],
    "decision": {
        "summary": "A returned correction with its decision date put right",
        "value": {
            "record_kind": "conviction",
            "offence": "child_molestation",
            "decision_authority": "北京市东城区人民法院",
            "decision_number": "(2019)京0101刑初123号",
            "decision_date": "2019-11-06",
            "sentence_months": 30,
        },
    },
}
REASON_EXAMPLES: Final = {
    "return": {
        "summary": "Why a submission goes back",
        "value": {"reason": "判决书编号与扫描件不符，请核对后重新提交。"},
    },
    "revoke": {
        "summary": "Why a record stops counting",
        "value": {"reason": "二审改判无罪：(2020)京01刑终45号"},
    },
    "dismiss": {
        "summary": "Why the two persons of a pair are two people",
        "value": {"reason": "同名同日出生的两个人：身份证号码、户籍地均不同。"},
    },
    "undo": {
        "summary": "Why a merge was wrong",
        "value": {"reason": "经核实为双胞胎兄弟，不是同一人。"},
    },
}
MERGE_EXAMPLES: Final = {
    "keep_first": {
        "summary": "One man registered under an old and a new identity number",
        "value": {"keep": "first", "reason": "同一人：两个身份证号码，旧号码未注销。"},
    },
}


@contextmanager
def every_field_named() -> Iterator[None]:
    """Turn a refused submission into a 422 naming each field at fault, not only the first.

    Each message in the reader's language: the rule's reason code picks the translation (the
    English reader keeps the rule's own, more detailed words).
    """
    try:
        yield
    except SubmissionInvalidError as exc:
        raise RequestValidationError(
            [
                {
                    "loc": ("body", field),
                    "msg": rejection_text(exc.reasons.get(field, ""), message),
                    "type": "value_error",
                }
                for field, message in exc.problems.items()
            ]
        ) from exc


def _withheld(
    db: Session, principal: Principal, records: Sequence[RegistryRecord]
) -> set[uuid.UUID]:
    """The records whose content the principal may not read (the policy's `[sealed]` roles)."""
    return repository.withheld_records(db, principal, records)


def _summary(db: Session, principal: Principal, record: RegistryRecord) -> RecordSummaryOut:
    return record_summary(record, withheld=record.id in _withheld(db, principal, [record]))


# --- submitting ---------------------------------------------------------------------------------


@router.post("/records", response_model=RecordSummaryOut, status_code=201, responses=ERRORS)
def submit_record(
    db: Db,
    principal: Submitter,
    body: Annotated[RecordSubmission, Body(openapi_examples=SUBMISSION_EXAMPLES)],
    draft: Draft = False,
) -> RecordSummaryOut:
    """Enter a decision; it goes to the reviewers unless kept as a draft.

    A court enters convictions, a procuratorate non-prosecution decisions and public security
    administrative penalties (2020 Opinions art. 2); a registry clerk marks a court's or a
    procuratorate's decision received on paper with `received_on_paper`.
    """
    with every_field_named():
        record = lifecycle.submit_record(db, actor=principal, data=body, send=not draft)
    return _summary(db, principal, record)


# Keys only a whole submission has: a body naming any of them is one, any other a decision only.
SUBMISSION_ONLY: Final = frozenset(RecordSubmission.model_fields) - frozenset(
    RecordCorrectionIn.model_fields
)
UPDATE_BODY: Final = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/RecordSubmission"},
                        {"$ref": "#/components/schemas/RecordCorrectionIn"},
                    ]
                }
            }
        },
    }
}


def _update(body: dict[str, Any]) -> RecordSubmission | RecordCorrection:
    """The body as a whole submission or as a decision only, each field at fault named.

    Read by hand rather than as a union of the two models, which would report every field of
    both models (the extra ones of the model that was not meant) for one mistake.
    """
    model: type[RecordSubmission | RecordCorrectionIn] = (
        RecordSubmission if SUBMISSION_ONLY & body.keys() else RecordCorrectionIn
    )
    try:
        parsed = model.model_validate(body)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from exc
    return parsed.correction() if isinstance(parsed, RecordCorrectionIn) else parsed


@router.put(
    "/records/{record_id}",
    response_model=RecordSummaryOut,
    responses=ERRORS,
    openapi_extra=UPDATE_BODY,
)
def update_record(
    db: Db,
    principal: Submitter,
    record_id: uuid.UUID,
    body: Annotated[dict[str, Any], Body(openapi_examples=UPDATE_EXAMPLES)],
) -> RecordSummaryOut:
    """Change a draft or returned record of the caller's organisation; send it with `/submit`.

    The body is a whole submission, or the decision's fields only (`RecordCorrectionIn`), which
    is all a correction may change. An active record is never edited in place (409): submit a
    correction instead.
    """
    data = _update(body)
    with every_field_named():
        record = lifecycle.update_submission(
            db, actor=principal, record_id=record_id, data=data, send=False
        )
    return _summary(db, principal, record)


@router.post("/records/{record_id}/submit", response_model=RecordSummaryOut, responses=ERRORS)
def send_record(db: Db, principal: Submitter, record_id: uuid.UUID) -> RecordSummaryOut:
    """Send a draft or returned record of the caller's organisation for review."""
    record = lifecycle.send_for_review(db, actor=principal, record_id=record_id)
    return _summary(db, principal, record)


@router.post(
    "/records/{record_id}/corrections",
    response_model=RecordSummaryOut,
    status_code=201,
    responses=ERRORS,
)
def correct_record(
    db: Db,
    principal: Submitter,
    record_id: uuid.UUID,
    body: RecordCorrectionIn,
    draft: Draft = False,
) -> RecordSummaryOut:
    """Submit a new version of an active record; approving it replaces the old one."""
    with every_field_named():
        record = lifecycle.submit_correction(
            db, actor=principal, record_id=record_id, data=body.correction(), send=not draft
        )
    return _summary(db, principal, record)


@router.get("/submissions", response_model=list[RecordSummaryOut], responses=ERRORS)
def own_submissions(
    db: Db,
    principal: Submitter,
    status: Annotated[RecordStatus | None, Query(description="Only records in this status")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[RecordSummaryOut]:
    """The caller's organisation's submissions, the most recently changed first."""
    statement = repository.own_submissions(principal)
    if status is not None:
        statement = statement.where(RegistryRecord.status == status.value)
    records = list(db.scalars(statement.limit(limit).offset(offset)))
    withheld = _withheld(db, principal, records)
    return [record_summary(r, withheld=r.id in withheld) for r in records]


# --- reviewing ----------------------------------------------------------------------------------


@router.get("/review-queue", response_model=list[ReviewQueueItemOut], responses=ERRORS)
def review_queue(
    db: Db, principal: Reviewer, limit: Limit = 100, offset: Offset = 0
) -> list[ReviewQueueItemOut]:
    """The records waiting for the caller's organisation's review, the longest waiting first."""
    now = utcnow()
    statement = repository.review_queue(principal).limit(limit).offset(offset)
    return [queue_item(record, now=now) for record in db.scalars(statement)]


@router.post("/records/{record_id}/approve", response_model=RecordSummaryOut, responses=ERRORS)
def approve_record(db: Db, principal: Reviewer, record_id: uuid.UUID) -> RecordSummaryOut:
    """Approve a submission: it goes live, or sealed (Criminal Procedure Law art. 286).

    Four eyes: whoever submitted the record may not approve it (403).
    """
    with every_field_named():
        record = lifecycle.approve_record(db, actor=principal, record_id=record_id)
    return _summary(db, principal, record)


@router.post("/records/{record_id}/return", response_model=RecordSummaryOut, responses=ERRORS)
def return_record(
    db: Db,
    principal: Reviewer,
    record_id: uuid.UUID,
    body: Annotated[Reason, Body(openapi_examples={"return": REASON_EXAMPLES["return"]})],
) -> RecordSummaryOut:
    """Send a submission back to its submitter with the reason."""
    record = lifecycle.return_record(db, actor=principal, record_id=record_id, reason=body.reason)
    return _summary(db, principal, record)


@router.post("/records/{record_id}/revoke", response_model=RecordSummaryOut, responses=ERRORS)
def revoke_record(
    db: Db,
    principal: Reviewer,
    record_id: uuid.UUID,
    body: Annotated[Reason, Body(openapi_examples={"revoke": REASON_EXAMPLES["revoke"]})],
) -> RecordSummaryOut:
    """Revoke an active or sealed record (quashed, or the decision withdrawn): it counts no more."""
    record = lifecycle.revoke_record(db, actor=principal, record_id=record_id, reason=body.reason)
    return _summary(db, principal, record)


@router.post("/records/{record_id}/seal", response_model=RecordSummaryOut, responses=ERRORS)
def seal_record(
    db: Db, principal: Reviewer, record_id: uuid.UUID, body: Reason
) -> RecordSummaryOut:
    """Seal an active juvenile record (Criminal Procedure Law art. 286), if the policy allows."""
    record = lifecycle.seal_record(db, actor=principal, record_id=record_id, reason=body.reason)
    return _summary(db, principal, record)


@router.post("/records/{record_id}/reinstate", response_model=RecordSummaryOut, responses=ERRORS)
def reinstate_record(
    db: Db, principal: Reviewer, record_id: uuid.UUID, body: Reason
) -> RecordSummaryOut:
    """Reinstate a record revoked by mistake: it counts again as before (active or sealed).

    Another reviewer than the one who revoked it must do this (403 otherwise).
    """
    record = lifecycle.reinstate_record(
        db, actor=principal, record_id=record_id, reason=body.reason
    )
    return _summary(db, principal, record)


# --- reading ------------------------------------------------------------------------------------


@router.get("/records/{record_id}", response_model=RecordOut | SealedRecordOut, responses=ERRORS)
def read_record(
    db: Db, principal: RecordReader, record_id: uuid.UUID
) -> RecordOut | SealedRecordOut:
    """One record with its subject and history; the read is audited.

    A sealed record shows only its id, status and version to a caller the disclosure policy
    does not name.
    """
    record = lifecycle.view_record(db, actor=principal, record_id=record_id)
    if _withheld(db, principal, [record]):
        return sealed_record_out(record)
    subject = record.subject
    if subject is None and record.person is not None:
        # An imported record carries no submitted subject: its registry person is the subject.
        subject = lifecycle.subject_of_person(record.person)
    return record_out(record, subject)


# --- persons ------------------------------------------------------------------------------------


@router.post("/persons/search", response_model=list[FoundPersonOut], responses=FIND_ERRORS)
def find_persons(db: Db, principal: PersonReader, body: PersonSearch) -> list[FoundPersonOut]:
    """The registry persons holding one identity document (an exact match); audited.

    Posted rather than asked in the address, so that an identity number never reaches an
    access log, a proxy's or a browser's history. A number that cannot be valid for its
    document type is a 422 naming the field.
    """
    found = browse.find_persons(
        db,
        actor=principal,
        id_type=body.id_type.value,
        id_number=body.id_number,
        nationality=body.nationality,
    )
    return [
        FoundPersonOut(id=p.id, external_id=p.external_id, name=p.name, records=p.records)
        for p in found
    ]


@router.get("/persons/{person_id}", response_model=PersonOut, responses=PERSON_ERRORS)
def read_person(db: Db, principal: PersonReader, person_id: uuid.UUID) -> PersonOut:
    """One registry person: names, documents and decided records with their history; audited.

    Submissions still in review are the reviewers' queue, not the person's. A sealed record
    (Criminal Procedure Law art. 286) shows only its id, status and version to a caller the
    disclosure policy does not name. A person merged into another shows `merged_into_id` and
    nothing of what moved.
    """
    person = browse.view_person(db, actor=principal, person_id=person_id)
    records = sorted(
        (r for r in person.records if r.status in repository.DECIDED_STATUSES),
        key=lambda r: (r.decision_date, r.version, r.created_at),
    )
    return person_out(person, records, _withheld(db, principal, records))


# --- duplicates and merges ----------------------------------------------------------------------


def _pair(db: Session, pair: RegistryDuplicatePair) -> DuplicatePairOut:
    return pair_out(
        pair, repository.external_ids(db, (pair.first_person_id, pair.second_person_id))
    )


def _merge(db: Session, merge: RegistryPersonMerge) -> MergeOut:
    return merge_out(
        merge, repository.external_ids(db, (merge.kept_person_id, merge.merged_person_id))
    )


@router.get("/duplicates", response_model=list[DuplicatePairOut], responses=PAIRS_ERRORS)
def open_pairs(
    db: Db, principal: DuplicateDecider, limit: PairLimit = 100, offset: PairOffset = 0
) -> list[DuplicatePairOut]:
    """The duplicate sweep's open pairs, the likeliest first (`shouhu registry duplicates`).

    Only ids, the engine's outcome, score and reasons: which fields agreed, never their values.
    """
    pairs = list(db.scalars(merging.open_pairs(principal).limit(limit).offset(offset)))
    persons = [i for p in pairs for i in (p.first_person_id, p.second_person_id)]
    external_ids = repository.external_ids(db, persons)
    return [pair_out(pair, external_ids) for pair in pairs]


@router.post(
    "/duplicates/{pair_id}/merge",
    response_model=MergeOut,
    status_code=201,
    responses=PAIR_ERRORS,
)
def merge_pair(
    db: Db,
    principal: DuplicateDecider,
    pair_id: uuid.UUID,
    body: Annotated[PairMergeIn, Body(openapi_examples=MERGE_EXAMPLES)],
) -> MergeOut:
    """Merge an open pair: the other person's names, documents and records move to the kept one.

    The merged person stays, emptied, pointing at the kept one, so the merge can be undone.
    Two persons holding the same decision are not merged (409): revoke the duplicate first.
    """
    merge = merging.merge_for_pair(
        db, actor=principal, pair_id=pair_id, keep=body.keep, reason=body.reason
    )
    return _merge(db, merge)


@router.post(
    "/duplicates/{pair_id}/dismiss", response_model=DuplicatePairOut, responses=PAIR_ERRORS
)
def dismiss_pair(
    db: Db,
    principal: DuplicateDecider,
    pair_id: uuid.UUID,
    body: Annotated[Reason, Body(openapi_examples={"dismiss": REASON_EXAMPLES["dismiss"]})],
) -> DuplicatePairOut:
    """Record that the two persons of an open pair are two people; the sweep keeps the decision."""
    pair = merging.dismiss_pair(db, actor=principal, pair_id=pair_id, reason=body.reason)
    return _pair(db, pair)


@router.get("/merges/{merge_id}", response_model=MergeOut, responses=MERGE_ERRORS)
def read_merge(db: Db, principal: DuplicateDecider, merge_id: uuid.UUID) -> MergeOut:
    """One merge: who made it, when, why, how much it moved, and whether it was undone."""
    return _merge(db, merging.get_merge(db, principal, merge_id))


@router.post("/merges/{merge_id}/undo", response_model=MergeOut, responses=UNDO_ERRORS)
def undo_merge(
    db: Db,
    principal: DuplicateDecider,
    merge_id: uuid.UUID,
    body: Annotated[Reason, Body(openapi_examples={"undo": REASON_EXAMPLES["undo"]})],
) -> MergeOut:
    """Undo a wrong merge: what it moved (and later versions of moved records) moves back.

    The pair it decided is dismissed. A kept person merged into another since must have that
    merge undone first (409).
    """
    merge = merging.undo_merge(db, actor=principal, merge_id=merge_id, reason=body.reason)
    return _merge(db, merge)
