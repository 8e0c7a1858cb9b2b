"""The hand-off of a convicted suspect to the registry (issue 6, item 9).

When a case ends in a conviction, a case officer on its team sends each convicted suspect to the
registry as a **draft record** (`registry.lifecycle.draft_from_case`). From there the registry's
own path applies unchanged: a registry clerk of the officer's organisation checks the draft
against the court's judgment, corrects it if needed and sends it for review; a registry
reviewer who wrote none of it approves it (four eyes). The case team sees, per suspect, when it
was sent and the status of that one record, nothing else of the registry.

A `judged` case may have convicted some suspects and acquitted others: the case status cannot
say which, so the hand-off is per suspect, and what the officer enters is the conviction (the
court, the judgment's number and date, the offence, the sentence). A suspect not convicted is
simply not handed off.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shouhu.accounts.policies import allows, require
from shouhu.accounts.roles import Permission
from shouhu.core.audit.chain import record as audit_record
from shouhu.core.database import utcnow
from shouhu.core.errors import ConflictError
from shouhu.core.i18n import N_
from shouhu.core.principal import Principal
from shouhu.core.readable import one_readable
from shouhu.identity.documents import IdType
from shouhu.identity.errors import IdentityError
from shouhu.identity.prc_id import parse_prc_id
from shouhu.onestop.cases import may_manage, require_manager
from shouhu.onestop.handoff_models import CaseRegistryHandoff
from shouhu.onestop.models import CaseStatus, CaseSuspect, OneStopCase
from shouhu.onestop.repository import get_case, membership
from shouhu.registry import lifecycle
from shouhu.registry.lifecycle import SubmissionInvalidError
from shouhu.registry.models import RecordKind, RecordStatus, RegistryRecord
from shouhu.registry.schemas import RecordSubmission

ACTION_HANDOFF: Final = "onestop:registry_handoff"
# What the registry needs of a suspect that the case may lack, and the judgment's particulars:
# the form's fields, in the order it shows them.
FIELDS: Final = (
    "sex",
    "date_of_birth",
    "nationality",
    "former_names",
    "id_type",
    "id_number",
    "decision_authority",
    "decision_number",
    "decision_date",
    "offence",
    "offence_date",
    "sentence_months",
)


@dataclass(frozen=True, slots=True)
class Judgment:
    """The conviction as the case officer enters it from the court's judgment.

    `offence` blank: the case's offence. `id_type`/`id_number` are used only for a suspect
    entered without a document (the registry identifies people by their documents).
    """

    decision_authority: str
    decision_number: str
    decision_date: str
    offence: str = ""
    offence_date: date | None = None
    sentence_months: int | None = None
    sex: str = ""
    date_of_birth: str = ""
    nationality: str = ""
    former_names: str = ""
    id_type: str = ""
    id_number: str = ""


@dataclass(frozen=True, slots=True)
class HandoffState:
    """What the case team may know of a suspect's hand-off: when, by whom, the record's status."""

    suspect_id: uuid.UUID
    sent_at: datetime
    sent_by_id: uuid.UUID
    # None: the registry discarded the unfinished draft (its retention period).
    record_status: RecordStatus | None


def _suspect(session: Session, case: OneStopCase, suspect_id: uuid.UUID) -> CaseSuspect:
    statement = select(CaseSuspect).where(
        CaseSuspect.case_id == case.id, CaseSuspect.id == suspect_id
    )
    return one_readable(session, statement, N_("Suspect not found."))


def _existing(session: Session, suspect: CaseSuspect) -> CaseRegistryHandoff | None:
    return session.scalar(
        select(CaseRegistryHandoff).where(CaseRegistryHandoff.suspect_id == suspect.id)
    )


def target(
    session: Session,
    *,
    actor: Principal,
    case_id: uuid.UUID,
    suspect_id: uuid.UUID,
    lock: bool = False,
) -> tuple[OneStopCase, CaseSuspect]:
    """The case and suspect to hand off, if the actor may now: else the refusal.

    404 off the team (as every case route), 403 for a member who is not a case officer, 409
    for a case not judged or a suspect already handed off.
    """
    require(actor, Permission.ONESTOP_REGISTRY_HANDOFF)
    case = get_case(session, actor, case_id, lock=lock)
    require_manager(session, actor, case)
    suspect = _suspect(session, case, suspect_id)
    if case.status != CaseStatus.JUDGED.value:
        raise ConflictError(
            "Only a judged case's convicted suspects are sent to the registry; this case is"
            " not judged."
        )
    existing = _existing(session, suspect)
    if existing is not None and existing.registry_record_id is not None:
        raise ConflictError(
            "This suspect was sent to the registry on {date}; a suspect is sent only once."
            " The registry's clerks correct the record if it needs it.",
            date=existing.sent_at.date().isoformat(),
        )
    return case, suspect


def identity_from_document(id_type: str | None, number: str | None) -> dict[str, str]:
    """Sex, birth date and nationality read from an 18-digit (or 15-digit) resident ID number.

    Empty for any other document, or a number that does not parse: the officer enters them.
    """
    if id_type != IdType.PRC_ID.value or not number:
        return {}
    try:
        parsed = parse_prc_id(number)
    except IdentityError:
        return {}
    return {
        "sex": str(parsed.sex),
        "date_of_birth": parsed.birth_date.isoformat(),
        "nationality": "CHN",
    }


def _submission(case: OneStopCase, suspect: CaseSuspect, judgment: Judgment) -> RecordSubmission:
    """The registry's submission for this suspect, checked by its own rules (field names kept)."""
    id_type = suspect.id_type or judgment.id_type
    id_number = suspect.id_number or judgment.id_number
    derived = identity_from_document(id_type, id_number)
    values = {
        "name": suspect.name or "",
        "former_names": judgment.former_names,
        "sex": judgment.sex or derived.get("sex", ""),
        "date_of_birth": judgment.date_of_birth or derived.get("date_of_birth", ""),
        "nationality": judgment.nationality or derived.get("nationality", ""),
        "id_type": id_type,
        "id_number": id_number,
        "record_kind": RecordKind.CONVICTION.value,
        "offence": judgment.offence or case.offence,
        "decision_authority": judgment.decision_authority,
        "decision_number": judgment.decision_number,
        "decision_date": judgment.decision_date,
        "offence_date": judgment.offence_date,
        "sentence_months": judgment.sentence_months,
    }
    try:
        return RecordSubmission.model_validate(values)
    except ValidationError as exc:
        problems: dict[str, str] = {}
        reasons: dict[str, str] = {}
        for error in exc.errors():
            field = str(error["loc"][-1]) if error["loc"] else ""
            problems.setdefault(field, str(error["msg"]))
            reasons.setdefault(field, str(error["type"]))
        raise SubmissionInvalidError(problems, reasons) from exc


def hand_off(
    session: Session,
    *,
    actor: Principal,
    case_id: uuid.UUID,
    suspect_id: uuid.UUID,
    judgment: Judgment,
) -> CaseRegistryHandoff:
    """Send a convicted suspect of a judged case to the registry as a draft record, once."""
    # The case row is locked: two officers sending one suspect at once are taken in turn (and
    # the unique suspect_id refuses the second where no lock is held).
    case, suspect = target(session, actor=actor, case_id=case_id, suspect_id=suspect_id, lock=True)
    data = _submission(case, suspect, judgment)
    existing = _existing(session, suspect)
    if existing is not None:  # its draft was discarded by the registry: send it afresh
        session.execute(delete(CaseRegistryHandoff).where(CaseRegistryHandoff.id == existing.id))
    record = lifecycle.draft_from_case(session, actor=actor, data=data)
    assert actor.user_id is not None  # noqa: S101 - draft_from_case requires a user
    handoff = CaseRegistryHandoff(
        case_id=case.id,
        suspect_id=suspect.id,
        registry_record_id=record.id,
        sent_by_id=actor.user_id,
        sent_at=utcnow(),
    )
    handoff.ensure_id()
    session.add(handoff)
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_HANDOFF,
        object_type="case_suspect",
        object_id=suspect.id,
        # Ids and codes only: the suspect's identity and the judgment's number are sealed in
        # the registry record (DESIGN §4).
        details={
            "case": str(case.id),
            "record": str(record.id),
            "offence": record.offence,
            "review_organisation": str(record.review_organisation_id),
        },
    )
    return handoff


def handoffs_of(session: Session, case: OneStopCase) -> dict[uuid.UUID, HandoffState]:
    """Each handed-off suspect of a case the caller may already see, with its record's status.

    The team reads the status of the record its hand-off made and nothing else of the registry,
    so this reads that one column by the stored id rather than through the registry's
    repository (whose readers are the registry's roles).
    """
    rows = session.execute(
        select(CaseRegistryHandoff, RegistryRecord.status)
        .outerjoin(RegistryRecord, RegistryRecord.id == CaseRegistryHandoff.registry_record_id)
        .where(CaseRegistryHandoff.case_id == case.id)
    )
    return {
        handoff.suspect_id: HandoffState(
            suspect_id=handoff.suspect_id,
            sent_at=handoff.sent_at,
            sent_by_id=handoff.sent_by_id,
            record_status=RecordStatus(status) if status else None,
        )
        for handoff, status in rows
    }


def may_hand_off(session: Session, actor: Principal, case: OneStopCase) -> bool:
    """Whether the actor may hand off this case's suspects now (what the case page offers)."""
    return (
        case.status == CaseStatus.JUDGED.value
        and allows(actor, Permission.ONESTOP_REGISTRY_HANDOFF)
        and may_manage(membership(session, case.id, actor.user_id), actor)
    )
