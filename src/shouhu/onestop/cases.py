"""Receiving a one-stop case, moving it along its status path, and reading a child's identity.

A case officer of public security receives the case (the intake) and becomes its lead officer:
the first member of its team. From then on only the team sees the case (`repository`). Each
child is known by a pseudonym ("Child A") on every page; the real identity is sealed, and each
read of it is audited.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from sqlalchemy.orm import Session

from shouhu.accounts.policies import require
from shouhu.accounts.roles import OrgType, Permission
from shouhu.core.audit.chain import record as audit_record
from shouhu.core.database import utcnow
from shouhu.core.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ValidationFailedError,
)
from shouhu.core.principal import Principal
from shouhu.identity.documents import normalise_document
from shouhu.identity.errors import IdentityError
from shouhu.identity.prc_id import normalise_sex
from shouhu.onestop import checks
from shouhu.onestop.child_index import child_index
from shouhu.onestop.labels import STATUS_LABELS, coded
from shouhu.onestop.models import (
    CaseChild,
    CaseMember,
    CaseRole,
    CaseStatus,
    CaseStatusChange,
    CaseSuspect,
    OneStopCase,
    ReportingChannel,
)
from shouhu.onestop.repository import get_case, get_child, get_site, membership
from shouhu.registry.indexes import document_number_index
from shouhu.registry.policy import catalogue

ADULT_AGE: Final = 18  # Minors Law art. 2: a minor is a citizen under eighteen
MAX_CHILDREN: Final = 26
MAX_SUSPECTS: Final = 20
NAME_LENGTH: Final = 100
RELATIONSHIP_LENGTH: Final = 50
PLACE_LENGTH: Final = 300
NEEDS_LENGTH: Final = 2000
REASON_LENGTH: Final = 2000
# A clock a few minutes fast on the officer's computer is not a report from the future.
CLOCK_SKEW: Final = timedelta(minutes=5)

# The status path (docs/onestop.md): forward only, one step at a time, so each stage's time is
# recorded and the site's figures (receipt to joint session…) can be measured. "Judged" only
# follows a prosecution; a case closes after a judgement or a decision not to prosecute.
ALLOWED_MOVES: Final[dict[CaseStatus, frozenset[CaseStatus]]] = {
    CaseStatus.RECEIVED: frozenset({CaseStatus.JOINT_SESSION_SCHEDULED}),
    CaseStatus.JOINT_SESSION_SCHEDULED: frozenset({CaseStatus.EVIDENCE_COLLECTED}),
    CaseStatus.EVIDENCE_COLLECTED: frozenset({CaseStatus.UNDER_INVESTIGATION}),
    CaseStatus.UNDER_INVESTIGATION: frozenset({CaseStatus.PROSECUTED, CaseStatus.NOT_PROSECUTED}),
    CaseStatus.PROSECUTED: frozenset({CaseStatus.JUDGED}),
    CaseStatus.NOT_PROSECUTED: frozenset({CaseStatus.CLOSED}),
    CaseStatus.JUDGED: frozenset({CaseStatus.CLOSED}),
    CaseStatus.CLOSED: frozenset(),
}
# A decision not to prosecute, and closing a case, say why (for the file and for oversight).
NEEDS_REASON: Final = frozenset({CaseStatus.NOT_PROSECUTED, CaseStatus.CLOSED})

ACTION_CASE_OPEN: Final = "onestop:case_open"
ACTION_CASE_VIEW: Final = "onestop:case_view"
ACTION_CASE_STATUS: Final = "onestop:case_status"
ACTION_MEMBER_ADD: Final = "onestop:member_add"
ACTION_IDENTITY_READ: Final = "onestop:child_identity_read"


@dataclass(frozen=True)
class ChildInput:
    """A child victim as the intake officer enters them."""

    name: str
    sex: str
    age_at_intake: int | None = None
    date_of_birth: date | None = None
    id_type: str | None = None
    id_number: str | None = None
    guardian_name: str | None = None
    guardian_relationship: str | None = None
    special_needs: str | None = None


@dataclass(frozen=True)
class SuspectInput:
    """A suspect as known at intake: a name, and a document if one is known."""

    name: str
    id_type: str | None = None
    id_number: str | None = None


@dataclass(frozen=True)
class CaseIntake:
    """Everything the intake officer enters."""

    received_at: datetime | None
    channel: str
    offence: str
    place: str
    jurisdiction: str
    site_id: uuid.UUID | None
    children: tuple[ChildInput, ...]
    suspects: tuple[SuspectInput, ...] = ()


def pseudonym_letter(index: int) -> str:
    """The letter of the index-th child of a case: A…Z, then AA, AB… (spreadsheet columns)."""
    letters = ""
    number = index + 1
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def may_manage(member: CaseMember | None, principal: Principal) -> bool:
    """Whether a member may change the case's status and team: its lead, or a case officer."""
    if member is None:
        return False
    return member.role == CaseRole.LEAD_OFFICER.value or principal.has_role("case_officer")


def require_manager(session: Session, principal: Principal, case: OneStopCase) -> CaseMember:
    """The principal's membership if they may manage the case, else ForbiddenError."""
    member = membership(session, case.id, principal.user_id)
    if not may_manage(member, principal):
        raise ForbiddenError(
            "Only the lead officer or a case officer on the team may change this case."
        )
    assert member is not None  # noqa: S101 - may_manage is False without one
    return member


# --- the intake ---------------------------------------------------------------------------------


def _received_at(value: datetime | None) -> datetime:
    if value is None:
        raise ValidationFailedError("Give the time the case was received.", field="received_at")
    if value.tzinfo is None:
        raise ValidationFailedError(
            "Give the time the case was received with its time zone.", field="received_at"
        )
    if value > utcnow() + CLOCK_SKEW:
        raise ValidationFailedError(
            "The time the case was received is in the future.", field="received_at"
        )
    return value


def _choice(value: str, allowed: type[ReportingChannel], field: str) -> str:
    try:
        return allowed(value).value
    except ValueError:
        raise ValidationFailedError("Choose one of the listed options.", field=field) from None


def _offence(value: str) -> str:
    if catalogue().get(value) is None:
        raise ValidationFailedError("Choose an offence from the catalogue.", field="offence")
    return value


def _document(
    id_type: str | None, number: str | None, *, field: str
) -> tuple[str | None, str | None, date | None, str | None]:
    """(type, canonical number, birth date, sex) of a document, or Nones if none was given."""
    if not (number or "").strip():
        return None, None, None, None
    try:
        document = normalise_document(id_type or "prc_id", number or "", field=field)
    except IdentityError as exc:
        if exc.reason == "unknown_id_type":
            raise ValidationFailedError(
                "Choose a document type from the list.", field=field.replace("id_number", "id_type")
            ) from exc
        raise ValidationFailedError(
            "The document number is not valid for this type of document; check it.", field=field
        ) from exc
    return document.id_type.value, document.number, document.birth_date, document.sex


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _child(index: int, data: ChildInput, received: datetime) -> dict[str, object]:
    """A child's checked values; errors name `children.<index>.<field>`."""
    prefix = f"children.{index}."
    name = checks.line(data.name, field=prefix + "name", limit=NAME_LENGTH)
    try:
        sex = normalise_sex(data.sex or "", prefix + "sex")
    except IdentityError as exc:
        raise ValidationFailedError("Choose female or male.", field=prefix + "sex") from exc
    id_type, number, born_by_number, sex_by_number = _document(
        data.id_type, data.id_number, field=prefix + "id_number"
    )
    born = data.date_of_birth or born_by_number
    if data.date_of_birth and born_by_number and data.date_of_birth != born_by_number:
        raise ValidationFailedError(
            "The birth date differs from the one in the identity number.",
            field=prefix + "date_of_birth",
        )
    if sex_by_number and sex != sex_by_number:
        raise ValidationFailedError(
            "The sex differs from the one the identity number gives.", field=prefix + "sex"
        )
    if born is not None and born > received.date():
        raise ValidationFailedError(
            "The date of birth is after the case was received.", field=prefix + "date_of_birth"
        )
    age = _age(born, received.date()) if born else data.age_at_intake
    if age is None:
        raise ValidationFailedError(
            "Give the child's age or date of birth.", field=prefix + "age_at_intake"
        )
    if data.age_at_intake is not None and data.age_at_intake != age:
        raise ValidationFailedError(
            "The age differs from the one the date of birth gives ({age}).",
            field=prefix + "age_at_intake",
            age=age,
        )
    if not 0 <= age < ADULT_AGE:
        raise ValidationFailedError(
            "A one-stop case is for a child under 18.", field=prefix + "age_at_intake"
        )
    return {
        "name": name,
        "sex": sex,
        "id_type": id_type,
        "id_number": number,
        "date_of_birth": born.isoformat() if born else None,
        "age_at_intake": age,
        "guardian_name": checks.line(
            data.guardian_name, field=prefix + "guardian_name", limit=NAME_LENGTH, required=False
        ),
        "guardian_relationship": checks.line(
            data.guardian_relationship,
            field=prefix + "guardian_relationship",
            limit=RELATIONSHIP_LENGTH,
            required=False,
        ),
        "special_needs": checks.text(
            data.special_needs, field=prefix + "special_needs", limit=NEEDS_LENGTH, required=False
        ),
    }


def _suspect(index: int, data: SuspectInput) -> dict[str, str | None]:
    prefix = f"suspects.{index}."
    name = checks.line(data.name, field=prefix + "name", limit=NAME_LENGTH)
    id_type, number, _born, _sex = _document(
        data.id_type, data.id_number, field=prefix + "id_number"
    )
    return {"name": name, "id_type": id_type, "id_number": number}


def _new_child(
    case: OneStopCase, letter: str, values: dict[str, object], actor: Principal
) -> CaseChild:
    assert actor.user_id is not None  # noqa: S101 - checked by the intake
    child = CaseChild(
        case_id=case.id,
        letter=letter,
        age_at_intake=values["age_at_intake"],
        sex=values["sex"],
        id_type=values["id_type"],
        id_index=child_index(values["id_type"], values["id_number"]),  # type: ignore[arg-type]
        added_by_id=actor.user_id,
    )
    child.ensure_id()
    # Each sealed field's associated data binds this table, its column and this child's id.
    for field in (
        "name",
        "id_number",
        "date_of_birth",
        "guardian_name",
        "guardian_relationship",
        "special_needs",
    ):
        setattr(child, field, values[field])
    return child


def _new_suspect(case: OneStopCase, values: dict[str, str | None], actor: Principal) -> CaseSuspect:
    assert actor.user_id is not None  # noqa: S101 - checked by the intake
    number = values["id_number"]
    suspect = CaseSuspect(
        case_id=case.id,
        id_type=values["id_type"],
        id_index=document_number_index(number) if number else None,
        added_by_id=actor.user_id,
    )
    suspect.ensure_id()
    suspect.name = values["name"]
    suspect.id_number = number
    return suspect


def open_case(session: Session, *, actor: Principal, intake: CaseIntake) -> OneStopCase:
    """Receive a case: store it, its children and suspects, and make the officer its lead."""
    require(actor, Permission.ONESTOP_CASES_INTAKE)
    if actor.user_id is None or actor.organisation_id is None:
        raise ForbiddenError("Cases are received by a case officer.")
    if actor.org_type != OrgType.PUBLIC_SECURITY.value:
        raise ForbiddenError("Cases are received by public security.")
    received = _received_at(intake.received_at)
    channel = _choice(intake.channel, ReportingChannel, "channel")
    offence = _offence(intake.offence)
    place = checks.line(intake.place, field="place", limit=PLACE_LENGTH)
    jurisdiction = checks.region(intake.jurisdiction, field="jurisdiction")
    site = None
    if intake.site_id is not None:
        try:
            site = get_site(session, actor, intake.site_id)
        except NotFoundError:  # a site that is not there is the field's fault, not a 404
            site = None
    if site is None or not site.active:
        raise ValidationFailedError("Choose an active one-stop site.", field="site_id")
    if not intake.children:
        raise ValidationFailedError("Enter at least one child.", field="children")
    if len(intake.children) > MAX_CHILDREN:
        raise ValidationFailedError(
            "A case has at most {limit} children.", field="children", limit=MAX_CHILDREN
        )
    if len(intake.suspects) > MAX_SUSPECTS:
        raise ValidationFailedError(
            "A case has at most {limit} suspects.", field="suspects", limit=MAX_SUSPECTS
        )
    children = [_child(i, child, received) for i, child in enumerate(intake.children)]
    suspects = [_suspect(i, suspect) for i, suspect in enumerate(intake.suspects)]
    now = utcnow()
    case = OneStopCase(
        received_at=received,
        channel=channel,
        offence=offence,
        jurisdiction=jurisdiction,
        site_id=site.id,
        status=CaseStatus.RECEIVED.value,
        status_changed_at=now,
        opened_by_id=actor.user_id,
        organisation_id=actor.organisation_id,
        opened_at=now,
    )
    case.ensure_id()
    case.place = place
    session.add(case)
    session.flush()
    session.add_all(
        [_new_child(case, pseudonym_letter(i), values, actor) for i, values in enumerate(children)]
    )
    session.add_all([_new_suspect(case, values, actor) for values in suspects])
    session.add(
        CaseStatusChange(
            case_id=case.id,
            from_status=None,
            to_status=CaseStatus.RECEIVED.value,
            changed_by_id=actor.user_id,
            changed_at=now,
        )
    )
    lead = CaseMember(
        case_id=case.id,
        user_id=actor.user_id,
        role=CaseRole.LEAD_OFFICER.value,
        added_by_id=actor.user_id,
        added_at=now,
    )
    lead.ensure_id()
    session.add(lead)
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_CASE_OPEN,
        object_type="onestop_case",
        object_id=case.id,
        # Codes and counts only: the place, names and numbers are sealed (DESIGN §4).
        details={
            "channel": channel,
            "offence": offence,
            "jurisdiction": jurisdiction,
            "site": str(site.id),
            "children": len(children),
            "suspects": len(suspects),
        },
    )
    audit_record(
        session,
        actor=actor,
        action=ACTION_MEMBER_ADD,
        object_type="case_member",
        object_id=lead.id,
        details={"case": str(case.id), "user": str(actor.user_id), "role": lead.role},
    )
    return case


# --- reading ------------------------------------------------------------------------------------


def read_case(session: Session, *, actor: Principal, case_id: uuid.UUID) -> OneStopCase:
    """A case of the actor's team, with its sealed place and suspects to show: audited."""
    require(actor, Permission.ONESTOP_CASES_READ)
    case = get_case(session, actor, case_id)
    audit_record(
        session,
        actor=actor,
        action=ACTION_CASE_VIEW,
        object_type="onestop_case",
        object_id=case.id,
        details={"status": case.status},
    )
    return case


def read_child_identity(
    session: Session, *, actor: Principal, case_id: uuid.UUID, child_id: uuid.UUID
) -> CaseChild:
    """A child's real identity, for the case team only; every read is audited."""
    require(actor, Permission.ONESTOP_CASES_READ)
    case = get_case(session, actor, case_id)
    child = get_child(session, case, child_id)
    audit_record(
        session,
        actor=actor,
        action=ACTION_IDENTITY_READ,
        object_type="case_child",
        object_id=child.id,
        details={"case": str(case.id), "letter": child.letter},
    )
    return child


# --- the status path ----------------------------------------------------------------------------


def next_statuses(status: str) -> list[CaseStatus]:
    """The statuses a case in this status may move to, in path order."""
    allowed = ALLOWED_MOVES.get(CaseStatus(status), frozenset())
    return [s for s in CaseStatus if s in allowed]


def change_status(
    session: Session,
    *,
    actor: Principal,
    case_id: uuid.UUID,
    status: str,
    reason: str | None = None,
) -> OneStopCase:
    """Move a case one step along its path (ALLOWED_MOVES), with a reason where one is due."""
    require(actor, Permission.ONESTOP_CASES_MANAGE)
    case = get_case(session, actor, case_id, lock=True)
    require_manager(session, actor, case)
    try:
        target = CaseStatus(status)
    except ValueError:
        raise ValidationFailedError("Choose one of the listed options.", field="status") from None
    current = CaseStatus(case.status)
    if target not in ALLOWED_MOVES[current]:
        raise ConflictError(
            "A case in status {current} cannot move to {target}.",
            field="status",
            current=coded(STATUS_LABELS, current),
            target=coded(STATUS_LABELS, target),
        )
    why = checks.text(reason, field="reason", limit=REASON_LENGTH, required=target in NEEDS_REASON)
    assert actor.user_id is not None  # noqa: S101 - members are users
    now = utcnow()
    change = CaseStatusChange(
        case_id=case.id,
        from_status=current.value,
        to_status=target.value,
        changed_by_id=actor.user_id,
        changed_at=now,
    )
    change.ensure_id()
    change.reason = why
    session.add(change)
    case.status = target.value
    case.status_changed_at = now
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_CASE_STATUS,
        object_type="onestop_case",
        object_id=case.id,
        # The reason is sealed in case_status_changes: it may name people.
        details={"from": current.value, "to": target.value, "change": str(change.id)},
    )
    return case
