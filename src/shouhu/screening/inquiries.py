"""The staff-access inquiry: consent, the authority's approval, the look-up, the reviewers' word.

An institution asks about one candidate for one purpose, with the candidate's consent (2020
Opinions art. 9; PIPL art. 29). A school's or kindergarten's inquiry waits for its supervising
education authority when that authority requires it (MoE notice 2023: the authority reviews and
runs the query); universities and authorities query directly. The look-up is the registry
screening under the purpose's disclosure scope; a possible match goes to the registry reviewers,
and the institution sees `under_review` until one confirms (`record_found`) or clears
(`no_record`) it. The institution never sees more than that answer.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final, cast

from pydantic import ValidationError
from sqlalchemy import Select, Table, bindparam, false, func, or_, select
from sqlalchemy.orm import Session

from shouhu.accounts.models import Organisation
from shouhu.accounts.policies import allows, require
from shouhu.accounts.roles import InstitutionKind, OrgType, Permission
from shouhu.core.audit.chain import Event, record_last
from shouhu.core.audit.chain import record as audit_record
from shouhu.core.database import insert_new, utcnow
from shouhu.core.errors import (
    ConflictError,
    FieldsInvalidError,
    ForbiddenError,
    NotFoundError,
    ValidationFailedError,
)
from shouhu.core.i18n import N_
from shouhu.core.principal import Principal
from shouhu.core.readable import one_readable
from shouhu.core.settings import Settings
from shouhu.identity.prc_id import latest_possible_date
from shouhu.matching.engine import Outcome
from shouhu.registry.candidates import person_uuid
from shouhu.registry.indexes import inquiry_subject_index
from shouhu.registry.policy import InquiryPurpose
from shouhu.registry.schemas import Reason
from shouhu.screening.certificates import issue_certificate, new_certificate
from shouhu.screening.models import (
    Certificate,
    HiringDecision,
    Inquiry,
    InquiryAnswer,
    InquiryStatus,
)
from shouhu.screening.queries import InvalidQuery, ValidQuery, parse_query
from shouhu.screening.service import (
    Matcher,
    ScreeningResult,
    check_keys_current,
    match_queries,
)

# The same candidate for the same institution and purpose within this many days gets the
# earlier answer unless a new look-up is asked for.
REPEAT_DAYS: Final = 30
# Consent older than this is no longer the candidate's consent to this hiring.
CONSENT_VALID_DAYS: Final = 365
# Schools and kindergartens: their inquiries wait for the authority that requires it.
APPROVED_KINDS: Final = frozenset(
    {
        InstitutionKind.KINDERGARTEN,
        InstitutionKind.PRIMARY_SCHOOL,
        InstitutionKind.SECONDARY_SCHOOL,
        InstitutionKind.VOCATIONAL_SCHOOL,
        InstitutionKind.SPECIAL_SCHOOL,
    }
)
SUBJECT_FIELDS: Final = ("name", "id_type", "id_number", "date_of_birth", "sex", "nationality")

ACTION_SUBMIT: Final = "inquiry:submit"
ACTION_REPEAT: Final = "inquiry:repeat"
ACTION_APPROVE: Final = "inquiry:approve"
ACTION_REFUSE: Final = "inquiry:refuse"
ACTION_LOOKUP: Final = "inquiry:lookup"
ACTION_CONFIRM: Final = "inquiry:confirm"
ACTION_CLEAR: Final = "inquiry:clear"
ACTION_HIRING: Final = "inquiry:hiring"
ACTION_HIRING_REFUSED: Final = "inquiry:hiring_refused"


@dataclass(frozen=True)
class InquiryRequest:
    """What an institution sends: the candidate, the purpose, the consent, the position."""

    purpose: str
    subject: dict[str, str]
    consent_reference: str
    consent_signed_on: date | None
    position: str = ""
    reference: str = ""
    new_lookup: bool = False  # ask again even if answered within the last 30 days


class InquiryInvalidError(FieldsInvalidError):
    """The candidate's details broke a rule; `problems` maps each field to what is wrong."""


def parse_purpose(text: str) -> InquiryPurpose:
    """The purpose named, or an error naming the field."""
    try:
        return InquiryPurpose(text)
    except ValueError as exc:
        raise ValidationFailedError(
            "Choose the purpose: school_staff, close_contact, teacher_qualification or"
            " annual_recheck.",
            field="purpose",
        ) from exc


def check_consent(reference: str, signed_on: date | None) -> None:
    """No consent, no inquiry (2020 Opinions art. 9; PIPL art. 29 for sensitive data)."""
    if not reference.strip():
        raise ValidationFailedError(
            "Record the candidate's consent: its reference and the date it was signed.",
            field="consent_reference",
        )
    today = latest_possible_date()
    if signed_on is None or signed_on > today:
        raise ValidationFailedError(
            "Give the date the candidate signed the consent (not in the future).",
            field="consent_signed_on",
        )
    if signed_on < today - timedelta(days=CONSENT_VALID_DAYS):
        raise ValidationFailedError(
            "The consent is more than a year old; ask the candidate to sign it again.",
            field="consent_signed_on",
        )


def _needs_approval(org_type: str, kind: str | None, authority_requires: bool | None) -> bool:
    """Whether the inquiries wait for the authority (MoE notice 2023); None: no authority."""
    if org_type != OrgType.INSTITUTION.value or kind not in APPROVED_KINDS:
        return False  # authorities, universities and other bodies query directly
    if authority_requires is None:
        # A school's inquiry is its authority's to run (MoE notice 2023): without one on record
        # there is nobody to approve it, and running it unapproved would skip that check.
        raise ConflictError(
            "Your institution has no supervising education authority on record; ask the"
            " operator to attach it to its authority."
        )
    return authority_requires


@dataclass(frozen=True, slots=True)
class Supervision:
    """An institution as its inquiries need it: its name, its authority, whether it approves."""

    name: str
    authority_id: uuid.UUID | None
    needs_approval: bool


# Built once, as the audit appends are: the submission path runs them for every inquiry.
_ORGANISATIONS: Final = cast("Table", Organisation.__table__)
_ORGANISATION: Final = select(
    _ORGANISATIONS.c.name,
    _ORGANISATIONS.c.type,
    _ORGANISATIONS.c.kind,
    _ORGANISATIONS.c.parent_id,
    _ORGANISATIONS.c.inquiry_approval_required,
).where(_ORGANISATIONS.c.id == bindparam("id"))


def supervision_of(session: Session, institution_id: uuid.UUID) -> Supervision:
    """The institution's name, the nearest education authority above it, and its approval rule."""
    connection = session.connection()
    institution = connection.execute(_ORGANISATION, {"id": institution_id}).one()
    authority_id, requires, current = None, None, institution.parent_id
    for _ in range(50):  # a tree is never that deep
        if current is None:
            break
        row = connection.execute(_ORGANISATION, {"id": current}).one()
        if row.type == OrgType.EDUCATION_AUTHORITY.value:
            authority_id, requires = current, bool(row.inquiry_approval_required)
            break
        current = row.parent_id
    approval = _needs_approval(institution.type, institution.kind, requires)
    return Supervision(institution.name, authority_id, approval)


def serialise_candidate(
    session: Session, institution_id: uuid.UUID, index: str, purpose: str
) -> None:
    """Make concurrent inquiries about one candidate by one institution wait for each other.

    Otherwise two submissions at once would both miss the other and both look up (the 30-day
    repeat rule). SQLite has one writer, and every request's transaction takes it up front;
    PostgreSQL takes a transaction-scoped advisory lock on the (institution, candidate,
    purpose) key.
    """
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return
    connection.execute(_CANDIDATE_LOCK, {"key": f"inquiry|{institution_id}|{index}|{purpose}"})


_CANDIDATE_LOCK: Final = select(
    func.pg_advisory_xact_lock(func.hashtextextended(bindparam("key"), 0))
)
_INQUIRIES: Final = cast("Table", Inquiry.__table__)
_REPEAT: Final = (
    select(_INQUIRIES.c.id)
    .where(
        _INQUIRIES.c.institution_id == bindparam("institution"),
        _INQUIRIES.c.subject_index == bindparam("index"),
        _INQUIRIES.c.purpose == bindparam("purpose"),
        _INQUIRIES.c.submitted_at >= bindparam("since"),
        _INQUIRIES.c.status != InquiryStatus.REFUSED.value,
    )
    .order_by(_INQUIRIES.c.submitted_at.desc())
    .limit(1)
)


def _repeat(
    session: Session, institution_id: uuid.UUID, index: str, purpose: InquiryPurpose
) -> Inquiry | None:
    """The institution's latest inquiry about this document and purpose in the last 30 days."""
    since = utcnow() - timedelta(days=REPEAT_DAYS)
    found = session.connection().scalar(
        _REPEAT,
        {"institution": institution_id, "index": index, "purpose": purpose.value, "since": since},
    )
    return session.get(Inquiry, found) if found is not None else None


def submit_inquiry(
    session: Session, *, actor: Principal, request: InquiryRequest, settings: Settings
) -> Inquiry:
    """Record an inquiry; run it now unless the authority must approve it first."""
    require(actor, Permission.INQUIRY_SUBMIT)
    if actor.organisation_id is None or actor.user_id is None:
        raise ForbiddenError("Inquiries are made by an organisation's user.")
    purpose = parse_purpose(request.purpose)
    check_consent(request.consent_reference, request.consent_signed_on)
    values = {field: request.subject.get(field, "") for field in SUBJECT_FIELDS}
    query = parse_query(1, {"reference": "inquiry", **values}, today=latest_possible_date())
    if isinstance(query, InvalidQuery):
        problems: dict[str, str] = {}
        for problem in query.problems:
            problems.setdefault(problem.field, problem.message)
        raise InquiryInvalidError(problems)
    document = query.profile.documents[0]
    index = inquiry_subject_index(document.id_type, document.number)
    serialise_candidate(session, actor.organisation_id, index, purpose.value)
    if not request.new_lookup:
        earlier = _repeat(session, actor.organisation_id, index, purpose)
        if earlier is not None:
            audit_record(
                session,
                actor=actor,
                action=ACTION_REPEAT,
                object_type="inquiry",
                object_id=earlier.id,
                details={"purpose": purpose.value},
            )
            return earlier
    supervision = supervision_of(session, actor.organisation_id)
    inquiry = Inquiry(
        institution_id=actor.organisation_id,
        authority_id=supervision.authority_id,
        submitted_by_id=actor.user_id,
        reference=request.reference.strip()[:64] or None,
        purpose=purpose.value,
        position=request.position.strip()[:100] or None,
        subject_index=index,
        consent_reference=request.consent_reference.strip()[:64],
        consent_signed_on=request.consent_signed_on,
        # A direct inquiry's status is set by its look-up, in this same transaction.
        status=InquiryStatus.PENDING_APPROVAL.value,
    )
    inquiry.ensure_id()
    inquiry.subject = values
    events = [
        Event(
            ACTION_SUBMIT,
            object_type="inquiry",
            object_id=inquiry.id,
            details={"purpose": purpose.value, "needs_approval": supervision.needs_approval},
        )
    ]
    certificate = None
    if not supervision.needs_approval:
        # Answered before it is stored: one INSERT with the answer, and the certificate of a
        # new inquiry has nothing to supersede.
        looked_up, certificate = _look_up(
            session, inquiry, settings=settings, query=query, name=supervision.name
        )
        events.append(looked_up)
    insert_new(session, inquiry, *([certificate] if certificate else []))
    # The events go last, so that PostgreSQL's chain head is held only to the commit.
    record_last(session, actor=actor, events=events)
    return inquiry


def _look_up(
    session: Session,
    inquiry: Inquiry,
    *,
    settings: Settings,
    query: ValidQuery | InvalidQuery | None = None,
    name: str | None = None,
) -> tuple[Event, Certificate | None]:
    """Screen the candidate under the purpose's scope and answer, or send it for review.

    `query` is the candidate as parsed at submission (else parsed again from the inquiry);
    `name` is the institution's, for a new inquiry (see `apply_result`). Returns the event to
    record and the certificate of a final answer.
    """
    check_keys_current(session)
    matcher = Matcher.from_settings(settings, purpose=InquiryPurpose(inquiry.purpose))
    if query is None:
        values = inquiry.subject or {}
        query = parse_query(1, {"reference": "inquiry", **values}, today=latest_possible_date())
    [result] = match_queries(session, queries=[query], matcher=matcher)
    certificate = apply_result(session, inquiry, result, matcher, institution_name=name)
    event = Event(
        ACTION_LOOKUP,
        object_type="inquiry",
        object_id=inquiry.id,
        details={
            "purpose": inquiry.purpose,
            "policy_version": inquiry.policy_version,
            "model": matcher.model.version,
            "outcome": result.outcome,
            "status": inquiry.status,
        },
    )
    return event, certificate


def apply_result(
    session: Session,
    inquiry: Inquiry,
    result: ScreeningResult,
    matcher: Matcher,
    *,
    institution_name: str | None = None,
) -> Certificate | None:
    """Record the engine's word on the inquiry: answered, or waiting for a reviewer.

    A final answer's certificate is returned: for a new inquiry (`institution_name` given) it
    is not yet added to the session, for the caller to store after the inquiry.
    """
    decision = result.decision
    explanation = decision.explanation if decision else None
    inquiry.policy_version = matcher.scope.policy_version
    inquiry.engine_outcome = result.outcome
    if explanation is not None:
        inquiry.matched_person_id = person_uuid(explanation.person_id)
        inquiry.explanation = json.dumps(
            {"score": explanation.score, "reasons": explanation.reasons()}, ensure_ascii=False
        )
    if result.outcome == Outcome.POSSIBLE_MATCH.value:
        inquiry.status = InquiryStatus.UNDER_REVIEW.value
        return None
    hit = result.outcome == Outcome.HIT.value
    answer = InquiryAnswer.RECORD_FOUND if hit else InquiryAnswer.NO_RECORD
    return _complete(session, inquiry, answer, institution_name=institution_name)


def _complete(
    session: Session,
    inquiry: Inquiry,
    answer: InquiryAnswer,
    *,
    institution_name: str | None = None,
) -> Certificate:
    """The final answer, and its signed certificate (every final answer has one).

    A new inquiry's certificate (`institution_name` given) supersedes nothing and is left for
    the caller to store; another's is issued here, superseding the one before.
    """
    inquiry.answer = answer.value
    inquiry.status = InquiryStatus.COMPLETED.value
    inquiry.completed_at = utcnow()
    if institution_name is not None:
        return new_certificate(inquiry, institution_name)
    session.flush()
    return issue_certificate(session, inquiry)


def engine_score(inquiry: Inquiry) -> float | None:
    """The engine's score of the best candidate, for the reviewers."""
    if not inquiry.explanation:
        return None
    score = json.loads(inquiry.explanation).get("score")
    return float(score) if score is not None else None


# --- who sees what ------------------------------------------------------------------------------


def readable_inquiries(principal: Principal) -> Select[Inquiry]:
    """Inquiries the principal may see: their institution's, their authority's, the reviewers'."""
    conditions = []
    org = principal.organisation_id
    if org is not None and allows(principal, Permission.INQUIRY_SUBMIT):
        conditions.append(Inquiry.institution_id == org)
    if org is not None and allows(principal, Permission.INQUIRY_APPROVE):
        conditions.append(Inquiry.authority_id == org)
    if allows(principal, Permission.INQUIRY_REVIEW):
        conditions.append(Inquiry.engine_outcome == Outcome.POSSIBLE_MATCH.value)
    return select(Inquiry).where(or_(*conditions) if conditions else false())


def get_inquiry(
    session: Session, principal: Principal, inquiry_id: uuid.UUID, *, lock: bool = False
) -> Inquiry:
    """One inquiry the principal may see, or NotFoundError (as one that does not exist)."""
    statement = readable_inquiries(principal).where(Inquiry.id == inquiry_id)
    return one_readable(session, statement, N_("Inquiry not found."), lock=lock)


# --- the authority's approval -------------------------------------------------------------------


def _pending_approval(session: Session, actor: Principal, inquiry_id: uuid.UUID) -> Inquiry:
    require(actor, Permission.INQUIRY_APPROVE)
    inquiry = get_inquiry(session, actor, inquiry_id, lock=True)
    if inquiry.authority_id != actor.organisation_id:
        raise NotFoundError("Inquiry not found.")
    if inquiry.status != InquiryStatus.PENDING_APPROVAL.value:
        raise ConflictError("This inquiry is not waiting for approval.")
    return inquiry


def approve_inquiry(
    session: Session, *, actor: Principal, inquiry_id: uuid.UUID, settings: Settings
) -> Inquiry:
    """The authority approves: the look-up runs now."""
    inquiry = _pending_approval(session, actor, inquiry_id)
    inquiry.decided_by_id = actor.user_id
    inquiry.decided_at = utcnow()
    approved = Event(
        ACTION_APPROVE,
        object_type="inquiry",
        object_id=inquiry.id,
        details={"purpose": inquiry.purpose},
    )
    looked_up, _certificate = _look_up(session, inquiry, settings=settings)
    record_last(session, actor=actor, events=[approved, looked_up])
    return inquiry


def refuse_inquiry(
    session: Session, *, actor: Principal, inquiry_id: uuid.UUID, reason: str
) -> Inquiry:
    """The authority refuses to run it (not an applicant, say: the 2023 notice forbids that)."""
    inquiry = _pending_approval(session, actor, inquiry_id)
    try:
        text = Reason(reason=reason).reason
    except ValidationError as exc:
        raise ValidationFailedError("Give the reason.", field="reason") from exc
    inquiry.status = InquiryStatus.REFUSED.value
    inquiry.reason = text
    inquiry.decided_by_id = actor.user_id
    inquiry.decided_at = utcnow()
    audit_record(
        session,
        actor=actor,
        action=ACTION_REFUSE,
        object_type="inquiry",
        object_id=inquiry.id,
        details={"purpose": inquiry.purpose, "reason_recorded": True},
    )
    return inquiry


# --- the registry reviewers' word on a possible match -------------------------------------------


def _under_review(session: Session, actor: Principal, inquiry_id: uuid.UUID) -> Inquiry:
    require(actor, Permission.INQUIRY_REVIEW)
    inquiry = get_inquiry(session, actor, inquiry_id, lock=True)
    if inquiry.status != InquiryStatus.UNDER_REVIEW.value:
        raise ConflictError("This inquiry is not waiting for a reviewer.")
    return inquiry


def confirm_match(session: Session, *, actor: Principal, inquiry_id: uuid.UUID) -> Inquiry:
    """The candidate is the registry person: the answer is `record_found`."""
    inquiry = _under_review(session, actor, inquiry_id)
    inquiry.reviewed_by_id, inquiry.reviewed_at = actor.user_id, utcnow()
    _complete(session, inquiry, InquiryAnswer.RECORD_FOUND)
    audit_record(
        session, actor=actor, action=ACTION_CONFIRM, object_type="inquiry", object_id=inquiry.id
    )
    return inquiry


def clear_match(session: Session, *, actor: Principal, inquiry_id: uuid.UUID) -> Inquiry:
    """The candidate is someone else: the answer is `no_record`."""
    inquiry = _under_review(session, actor, inquiry_id)
    inquiry.reviewed_by_id, inquiry.reviewed_at = actor.user_id, utcnow()
    _complete(session, inquiry, InquiryAnswer.NO_RECORD)
    audit_record(
        session, actor=actor, action=ACTION_CLEAR, object_type="inquiry", object_id=inquiry.id
    )
    return inquiry


# --- the hiring decision ------------------------------------------------------------------------


def record_hiring(
    session: Session, *, actor: Principal, inquiry_id: uuid.UUID, decision: str
) -> Inquiry:
    """Record hired or not hired; hiring after `record_found` or before an answer is refused.

    A refused hire is itself recorded (the audit event survives the refusal) so that the
    supervising authority and the procuratorate see it (Minors Law art. 62, 2020 Opinions art. 11).
    A decision may change: `not_hired` becomes `hired` only while the answer is `no_record` (so
    after an overturned re-check too), and `hired` becomes `not_hired` when the person leaves or
    the offer is withdrawn; each change is audited with the old and the new decision.
    """
    require(actor, Permission.INQUIRY_SUBMIT)
    inquiry = get_inquiry(session, actor, inquiry_id, lock=True)
    if inquiry.institution_id != actor.organisation_id:
        raise NotFoundError("Inquiry not found.")
    try:
        chosen = HiringDecision(decision)
    except ValueError as exc:
        raise ValidationFailedError("Choose hired or not_hired.", field="decision") from exc
    previous = inquiry.hiring
    if previous == chosen.value:
        return inquiry  # already recorded: nothing changes, so nothing is audited
    if chosen is HiringDecision.HIRED and inquiry.answer != InquiryAnswer.NO_RECORD.value:
        audit_record(
            session,
            actor=actor,
            action=ACTION_HIRING_REFUSED,
            object_type="inquiry",
            object_id=inquiry.id,
            outcome="refused",
            details={"status": inquiry.status, "answer": inquiry.answer},
        )
        if inquiry.answer == InquiryAnswer.RECORD_FOUND.value:
            raise ConflictError(
                "A disqualifying record was found: this candidate may not be hired.",
                persist=True,
            )
        raise ConflictError(
            "The inquiry has no answer yet: hire only after it says no record.", persist=True
        )
    inquiry.hiring = chosen.value
    inquiry.hiring_by_id = actor.user_id
    inquiry.hiring_at = utcnow()
    audit_record(
        session,
        actor=actor,
        action=ACTION_HIRING,
        object_type="inquiry",
        object_id=inquiry.id,
        details={"decision": chosen.value, "previous": previous, "answer": inquiry.answer},
    )
    return inquiry
