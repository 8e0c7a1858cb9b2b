"""The refusal notice and re-check (复查) appeals of `record_found` answers (issue 5 item 4).

MoE notice 2023 (教师函〔2023〕1号): a refused applicant is told the reason in writing and may ask
for a re-check. So a `record_found` answer gives the institution a printable notice for the
candidate: that a disqualifying record was found, under which rule (never the offence or any
record content), and how to ask for a re-check. The candidate asks the responsible education
authority, whose officer enters the request (grounds, the date received, a supporting
document); a registry reviewer re-examines match and record and upholds the answer or
overturns it. An overturned answer becomes `no_record` with a new certificate, and the old
certificate is no longer current.

Who enters a request: the education authority the inquiry recorded as the institution's nearest
above it (`Inquiry.authority_id`, set for every inquiry, approved or direct); for an authority
that asked about its own hire and has none above it, the authority itself. An institution with
no authority on record has nobody to enter it: the operator must first attach it to its
authority (the notice says to ask the county's education authority).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

from sqlalchemy import Select, and_, exists, false, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from shouhu.accounts.models import Organisation
from shouhu.accounts.policies import allows, require
from shouhu.accounts.roles import OrgType, Permission
from shouhu.core.audit.chain import record as audit_record
from shouhu.core.database import utcnow
from shouhu.core.errors import ConflictError, ForbiddenError, NotFoundError, ValidationFailedError
from shouhu.core.i18n import N_
from shouhu.core.principal import Principal
from shouhu.core.readable import one_readable
from shouhu.identity.prc_id import latest_possible_date
from shouhu.registry.lifecycle import MAX_SCAN_BYTES, SCAN_SIGNATURES, Scan
from shouhu.registry.policy import RELEASED, InquiryPurpose
from shouhu.screening.certificates import current_certificate, issue_certificate, mask_name
from shouhu.screening.inquiries import get_inquiry, readable_inquiries
from shouhu.screening.models import Certificate, Inquiry, InquiryAnswer
from shouhu.screening.recheck_models import (
    InquiryRecheck,
    InquiryRecheckDocument,
    RecheckGround,
    RecheckStatus,
)

# The candidate asks within this many days of the date of the answer printed on the notice.
# Decision (docs/inquiries.md): the notice of 2023 sets no period; 30 days is the period the
# Regulations on Letters and Visits give for asking a higher authority to re-check (复查) a
# written answer, and the inquiry's own repeat window; the notice is printed the day it answers.
RECHECK_PERIOD_DAYS: Final = 30
GROUNDS_LENGTH: Final = 4000
NOTE_LENGTH: Final = 2000
# A supporting document: PDF or a photograph, checked by its first bytes as the registry's scans.
DOCUMENT_SIGNATURES: Final = {
    kind: SCAN_SIGNATURES[kind] for kind in ("application/pdf", "image/jpeg", "image/png")
}
MAX_DOCUMENT_BYTES: Final = MAX_SCAN_BYTES

ACTION_NOTICE_READ: Final = "inquiry:notice_read"
ACTION_RECHECK_ENTER: Final = "inquiry:recheck_enter"
ACTION_RECHECK_VIEW: Final = "inquiry:recheck_view"
ACTION_RECHECK_FILE_READ: Final = "inquiry:recheck_file_read"
ACTION_RECHECK_UPHOLD: Final = "inquiry:recheck_uphold"
ACTION_RECHECK_OVERTURN: Final = "inquiry:recheck_overturn"


# --- the rule a record disqualifies under ----------------------------------------------------


@dataclass(frozen=True)
class NoticeRule:
    """The rule a notice cites: its legal basis and what it says, both translatable."""

    basis: str
    text: str


_RULES_2020: Final = {
    InquiryPurpose.SCHOOL_STAFF: NoticeRule(
        N_(
            "Opinions on the Staff-Access Inquiry of Sexual-Offence Information (SPP, MoE, MPS,"
            " 2020), art. 10; Law on the Protection of Minors, art. 62"
        ),
        N_(
            "A school or kindergarten may not hire a person who has a record of a sexual"
            " offence as a member of its staff."
        ),
    ),
    InquiryPurpose.TEACHER_QUALIFICATION: NoticeRule(
        N_(
            "Opinions on the Staff-Access Inquiry of Sexual-Offence Information (SPP, MoE, MPS,"
            " 2020), art. 6"
        ),
        N_(
            "A teacher qualification is not granted to a person who has a record of a sexual"
            " offence."
        ),
    ),
    InquiryPurpose.CLOSE_CONTACT: NoticeRule(
        N_("Law on the Protection of Minors, art. 62, para. 1"),
        N_(
            "An organisation in close contact with minors may not hire a person who has a"
            " record of sexual assault, abuse, trafficking or violent injury."
        ),
    ),
    InquiryPurpose.ANNUAL_RECHECK: NoticeRule(
        N_("Law on the Protection of Minors, art. 62, para. 2"),
        N_(
            "A member of staff found to have a record of sexual assault, abuse, trafficking or"
            " violent injury is dismissed."
        ),
    ),
}
# Policy version → purpose → rule. Versions 1 and 2 disclose the same scopes (docs/policy.md);
# a new version that changes a purpose's scope adds its own rules here (a test requires them).
NOTICE_RULES: Final[dict[int, dict[InquiryPurpose, NoticeRule]]] = {1: _RULES_2020, 2: _RULES_2020}


def notice_rule(purpose: str, policy_version: int | None) -> NoticeRule:
    """The rule under which a record disqualifies for this purpose and policy version."""
    version = policy_version if policy_version in RELEASED else max(RELEASED)
    return NOTICE_RULES[version][InquiryPurpose(purpose)]


# --- who enters a request -----------------------------------------------------------------------


def responsible_authority(session: Session, inquiry: Inquiry) -> Organisation | None:
    """The education authority that enters the inquiry's re-check requests, if there is one."""
    if inquiry.authority_id is not None:
        return session.get_one(Organisation, inquiry.authority_id)
    asker = session.get_one(Organisation, inquiry.institution_id)
    if asker.type == OrgType.EDUCATION_AUTHORITY.value:
        return asker  # an authority that asked about its own hire, with none above it
    return None


def answered_on(certificate: Certificate) -> date:
    """The date of the answer a certificate signs (UTC, as printed)."""
    return certificate.issued_at.date()


def deadline(answered: date) -> date:
    """The last day a re-check request may be received."""
    return answered + timedelta(days=RECHECK_PERIOD_DAYS)


# --- who sees what ------------------------------------------------------------------------------


def readable_rechecks(principal: Principal) -> Select[InquiryRecheck]:
    """Re-checks the principal may see: their authority's, or (registry reviewers) all."""
    conditions = []
    org = principal.organisation_id
    if org is not None and allows(principal, Permission.RECHECK_ENTER):
        conditions.append(InquiryRecheck.authority_id == org)
    if allows(principal, Permission.RECHECK_DECIDE):
        conditions.append(true())
    return select(InquiryRecheck).where(or_(*conditions) if conditions else false())


def get_recheck(
    session: Session, principal: Principal, recheck_id: uuid.UUID, *, lock: bool = False
) -> InquiryRecheck:
    """One re-check the principal may see, or NotFoundError (as one that does not exist)."""
    statement = readable_rechecks(principal).where(InquiryRecheck.id == recheck_id)
    return one_readable(session, statement, N_("Re-check not found."), lock=lock)


def contestable_inquiries(principal: Principal) -> Select[Inquiry]:
    """The inquiries whose re-checks the officer's authority enters: answered record_found once."""
    org = principal.organisation_id
    if org is None or not allows(principal, Permission.RECHECK_ENTER):
        return select(Inquiry).where(false())
    ever_rechecked = exists().where(InquiryRecheck.inquiry_id == Inquiry.id)
    return readable_inquiries(principal).where(
        or_(
            Inquiry.authority_id == org,
            and_(Inquiry.authority_id.is_(None), Inquiry.institution_id == org),
        ),
        or_(Inquiry.answer == InquiryAnswer.RECORD_FOUND.value, ever_rechecked),
    )


def latest_rechecks(
    session: Session, inquiry_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, InquiryRecheck]:
    """Each inquiry's latest re-check (for the institution: its status only)."""
    ids = list(inquiry_ids)
    found: dict[uuid.UUID, InquiryRecheck] = {}
    if not ids:
        return found
    rows = session.scalars(
        select(InquiryRecheck)
        .where(InquiryRecheck.inquiry_id.in_(ids))
        .order_by(InquiryRecheck.entered_at, InquiryRecheck.id)
    )
    for row in rows:
        found[row.inquiry_id] = row  # later rows replace earlier ones
    return found


def document_of(session: Session, recheck_id: uuid.UUID) -> InquiryRecheckDocument | None:
    """A re-check's supporting document, its content left unread (what lists show)."""
    return session.scalar(
        select(InquiryRecheckDocument)
        .where(InquiryRecheckDocument.recheck_id == recheck_id)
        .options(defer(InquiryRecheckDocument.content_sealed))
    )


# --- the notice ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefusalNotice:
    """What the printable notice says: no offence, no record content, ever."""

    inquiry: Inquiry
    institution: str
    candidate: str  # masked, as on the certificate
    certificate_code: str  # of the record_found answer
    answered_on: date
    deadline: date
    rule: NoticeRule
    authority: str | None  # whom the candidate asks; None: no authority on record
    recheck: InquiryRecheck | None  # the latest re-check, if one was asked for
    new_certificate_code: str | None  # after an overturn


def read_notice(session: Session, *, actor: Principal, inquiry_id: uuid.UUID) -> RefusalNotice:
    """The refusal notice of a `record_found` answer, for its institution only; audited."""
    require(actor, Permission.INQUIRY_SUBMIT)
    inquiry = get_inquiry(session, actor, inquiry_id)
    if inquiry.institution_id != actor.organisation_id:
        raise NotFoundError("Inquiry not found.")
    recheck = latest_rechecks(session, [inquiry.id]).get(inquiry.id)
    refused: Certificate | None = None
    new_code: str | None = None
    if inquiry.answer == InquiryAnswer.RECORD_FOUND.value:
        refused = current_certificate(session, inquiry.id)
    elif recheck is not None and recheck.status == RecheckStatus.OVERTURNED.value:
        # The notice stays readable after an overturn: it then says it is withdrawn.
        refused = session.get(Certificate, recheck.certificate_id)
        renewed = current_certificate(session, inquiry.id)
        new_code = renewed.code if renewed else None
    if refused is None:
        raise NotFoundError("This inquiry has no refusal notice.")
    institution = session.get_one(Organisation, inquiry.institution_id)
    authority = responsible_authority(session, inquiry)
    answered = answered_on(refused)
    audit_record(
        session,
        actor=actor,
        action=ACTION_NOTICE_READ,
        object_type="inquiry",
        object_id=inquiry.id,
        details={"answer": inquiry.answer, "certificate": str(refused.id)},
    )
    return RefusalNotice(
        inquiry=inquiry,
        institution=institution.name,
        candidate=mask_name((inquiry.subject or {}).get("name", "")),
        certificate_code=refused.code,
        answered_on=answered,
        deadline=deadline(answered),
        rule=notice_rule(inquiry.purpose, inquiry.policy_version),
        authority=authority.name if authority else None,
        recheck=recheck,
        new_certificate_code=new_code,
    )


# --- the request --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecheckRequest:
    """What the officer enters: the candidate's grounds, when they arrived, a document."""

    grounds: str
    received_on: date | None
    document: Scan | None = None


def _text_problem(value: str, limit: int) -> str | None:
    """What is wrong with a text of several lines: missing, too long, or control characters."""
    text = value.strip()
    if not text:
        return "missing"
    if len(text) > limit:
        return "long"
    # C0 and C1 control characters, but line breaks and tabs: the text is a letter's.
    if any((ord(ch) < 32 and ch not in "\n\r\t") or 127 <= ord(ch) < 160 for ch in text):  # noqa: PLR2004
        return "control"
    return None


def _grounds(value: str) -> str:
    problem = _text_problem(value, GROUNDS_LENGTH)
    if problem == "missing":
        raise ValidationFailedError("Write down the candidate's grounds.", field="grounds")
    if problem == "long":
        raise ValidationFailedError(
            "The grounds are longer than {limit} characters; attach the rest as a document.",
            field="grounds",
            limit=GROUNDS_LENGTH,
        )
    if problem == "control":
        raise ValidationFailedError(
            "The field {name} contains control characters; type it again as plain text.",
            field="grounds",
            name="grounds",
        )
    return value.strip()


def _note(value: str) -> str:
    problem = _text_problem(value, NOTE_LENGTH)
    if problem == "missing":
        raise ValidationFailedError("Write a note on what you re-examined.", field="note")
    if problem == "long":
        raise ValidationFailedError(
            "The note is longer than {limit} characters.", field="note", limit=NOTE_LENGTH
        )
    if problem == "control":
        raise ValidationFailedError(
            "The field {name} contains control characters; type it again as plain text.",
            field="note",
            name="note",
        )
    return value.strip()


def _received_on(value: date | None, answered: date) -> date:
    if value is None or value > latest_possible_date():
        raise ValidationFailedError(
            "Give the date the request was received (not in the future).", field="received_on"
        )
    if value < answered:
        raise ValidationFailedError(
            "The request cannot have been received before the answer of {date}.",
            field="received_on",
            date=answered.isoformat(),
        )
    if value > deadline(answered):
        # The period runs from the date printed on the notice; later, a new inquiry answers
        # under the registry as it then is (a revoked or corrected record no longer counts).
        raise ValidationFailedError(
            "The request was received after the re-check period ended on {date}.",
            field="received_on",
            date=deadline(answered).isoformat(),
        )
    return value


def _document(recheck: InquiryRecheck, scan: Scan, actor: Principal) -> InquiryRecheckDocument:
    # The registry's scan rules: a type named by the browser must match the file's first bytes.
    if not scan.content:
        raise ValidationFailedError("The document is empty.", field="document")
    if len(scan.content) > MAX_DOCUMENT_BYTES:
        raise ValidationFailedError(
            "The document is larger than {limit} MiB.",
            field="document",
            limit=MAX_DOCUMENT_BYTES >> 20,
        )
    if not scan.content.startswith(DOCUMENT_SIGNATURES.get(scan.content_type, ())):
        raise ValidationFailedError("Upload the document as PDF, JPEG or PNG.", field="document")
    stored = InquiryRecheckDocument(
        recheck_id=recheck.id,
        content_type=scan.content_type,
        size=len(scan.content),
        sha256=hashlib.sha256(scan.content).hexdigest(),
        uploaded_by_id=actor.user_id,
    )
    stored.ensure_id()
    stored.filename = scan.filename[-200:] or "document"
    stored.content = scan.content
    return stored


def _has_pending(session: Session, inquiry_id: uuid.UUID) -> bool:
    return (
        session.scalar(
            select(InquiryRecheck.id).where(
                InquiryRecheck.inquiry_id == inquiry_id,
                InquiryRecheck.status == RecheckStatus.PENDING.value,
            )
        )
        is not None
    )


def enter_recheck(
    session: Session, *, actor: Principal, inquiry_id: uuid.UUID, request: RecheckRequest
) -> InquiryRecheck:
    """The responsible authority enters a candidate's re-check request of a record_found answer."""
    require(actor, Permission.RECHECK_ENTER)
    if actor.user_id is None:
        raise ForbiddenError("Re-check requests are entered by an education officer.")
    inquiry = get_inquiry(session, actor, inquiry_id, lock=True)
    authority = responsible_authority(session, inquiry)
    if authority is None or authority.id != actor.organisation_id:
        raise NotFoundError("Inquiry not found.")
    if inquiry.answer != InquiryAnswer.RECORD_FOUND.value:
        raise ConflictError("Only an answer that found a record can be re-checked.")
    if _has_pending(session, inquiry.id):
        raise ConflictError("A re-check of this inquiry is already open; wait for its decision.")
    certificate = current_certificate(session, inquiry.id)
    if certificate is None:  # every final answer is signed; a missing one is a defect
        raise ConflictError("This answer has no certificate; report this.")
    grounds = _grounds(request.grounds)
    received = _received_on(request.received_on, answered_on(certificate))
    recheck = InquiryRecheck(
        inquiry_id=inquiry.id,
        authority_id=authority.id,
        status=RecheckStatus.PENDING.value,
        received_on=received,
        entered_by_id=actor.user_id,
        entered_at=utcnow(),
        certificate_id=certificate.id,
    )
    recheck.ensure_id()
    recheck.grounds = grounds
    document = _document(recheck, request.document, actor) if request.document else None
    try:
        with session.begin_nested():
            session.add(recheck)
            session.flush()
    except IntegrityError as exc:
        # Another officer entered one for the same inquiry a moment ago (a unique index).
        raise ConflictError(
            "A re-check of this inquiry is already open; wait for its decision."
        ) from exc
    if document is not None:
        session.add(document)
        session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_RECHECK_ENTER,
        object_type="inquiry_recheck",
        object_id=recheck.id,
        details={
            "inquiry": str(inquiry.id),
            "received_on": received.isoformat(),
            "document_sha256": document.sha256 if document else None,
        },
    )
    return recheck


def read_recheck(session: Session, *, actor: Principal, recheck_id: uuid.UUID) -> InquiryRecheck:
    """One re-check with the candidate's grounds: the read is audited."""
    require(actor, Permission.RECHECK_READ)
    recheck = get_recheck(session, actor, recheck_id)
    audit_record(
        session,
        actor=actor,
        action=ACTION_RECHECK_VIEW,
        object_type="inquiry_recheck",
        object_id=recheck.id,
        details={"inquiry": str(recheck.inquiry_id), "status": recheck.status},
    )
    return recheck


def read_document(
    session: Session, *, actor: Principal, recheck_id: uuid.UUID
) -> InquiryRecheckDocument:
    """A re-check's supporting document, checked against its SHA-256; the read is audited."""
    require(actor, Permission.RECHECK_READ)
    recheck = get_recheck(session, actor, recheck_id)
    stored = session.scalar(
        select(InquiryRecheckDocument).where(InquiryRecheckDocument.recheck_id == recheck.id)
    )
    if stored is None:
        raise NotFoundError("File not found.")
    if hashlib.sha256(stored.content or b"").hexdigest() != stored.sha256:
        raise ConflictError("The stored scan does not match its checksum; report this.")
    audit_record(
        session,
        actor=actor,
        action=ACTION_RECHECK_FILE_READ,
        object_type="inquiry_recheck",
        object_id=recheck.id,
        details={"sha256": stored.sha256},
    )
    return stored


# --- the decision -------------------------------------------------------------------------------


def decide_recheck(
    session: Session,
    *,
    actor: Principal,
    recheck_id: uuid.UUID,
    outcome: str,
    ground: str | None,
    note: str,
) -> InquiryRecheck:
    """A registry reviewer upholds the answer or overturns it (then `no_record`, re-signed)."""
    require(actor, Permission.RECHECK_DECIDE)
    found = get_recheck(session, actor, recheck_id)
    # The inquiry's row first, as entering a request locks it: one order, no deadlock.
    inquiry = _locked_inquiry(session, found.inquiry_id)
    recheck = get_recheck(session, actor, recheck_id, lock=True)
    if recheck.status != RecheckStatus.PENDING.value:
        raise ConflictError("This re-check has already been decided.")
    # Four eyes, as on the registry's records: whoever confirmed the match does not judge an
    # appeal against it.
    if inquiry.reviewed_by_id is not None and inquiry.reviewed_by_id == actor.user_id:
        raise ForbiddenError("You confirmed this match; another reviewer must decide the re-check.")
    try:
        chosen = RecheckStatus(outcome)
    except ValueError:
        chosen = RecheckStatus.PENDING
    if chosen is RecheckStatus.PENDING:
        raise ValidationFailedError("Choose upheld or overturned.", field="outcome")
    reason: RecheckGround | None = None
    if chosen is RecheckStatus.OVERTURNED:
        try:
            reason = RecheckGround(ground or "")
        except ValueError as exc:
            raise ValidationFailedError(
                "Choose why the answer is overturned.", field="ground"
            ) from exc
    elif ground:
        raise ValidationFailedError("A ground is given only when overturning.", field="ground")
    text = _note(note)
    recheck.status = chosen.value
    recheck.ground = reason.value if reason else None
    recheck.note = text
    recheck.decided_by_id = actor.user_id
    recheck.decided_at = utcnow()
    details: dict[str, object] = {"inquiry": str(inquiry.id)}
    if chosen is RecheckStatus.OVERTURNED:
        # The answer is corrected and signed anew; the old certificate stops being current.
        inquiry.answer = InquiryAnswer.NO_RECORD.value
        inquiry.completed_at = recheck.decided_at
        session.flush()
        renewed = issue_certificate(session, inquiry)
        recheck.new_certificate_id = renewed.id
        details |= {
            "ground": recheck.ground,
            "superseded": str(recheck.certificate_id),
            "certificate": str(renewed.id),
        }
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_RECHECK_OVERTURN
        if chosen is RecheckStatus.OVERTURNED
        else ACTION_RECHECK_UPHOLD,
        object_type="inquiry_recheck",
        object_id=recheck.id,
        details=details,
    )
    return recheck


def _locked_inquiry(session: Session, inquiry_id: uuid.UUID) -> Inquiry:
    # The reviewer reaches the inquiry through its re-check, not through readable_inquiries.
    inquiry = session.scalar(select(Inquiry).where(Inquiry.id == inquiry_id).with_for_update())
    if inquiry is None:  # an inquiry is never deleted while a re-check refers to it
        raise NotFoundError("Inquiry not found.")
    return inquiry
