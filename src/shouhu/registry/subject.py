"""What the registry holds about one identity: the subject access report (PIPL arts 44-45).

A person may ask what is held about them. The report finds every registry person holding the
given identity document (by its blind index: no scan, no decryption of others) and lists their
names, documents and records with each record's status. Reading it is an audited event naming
the persons read, never their data.

Inquiries: every staff-access inquiry about the document (found by its blind index): which
institution asked, when, why, and what it was told. Screening files are audited by counts,
never by person (DESIGN §4), so they leave nothing to list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from shouhu.accounts.models import Organisation
from shouhu.accounts.policies import require
from shouhu.accounts.roles import Permission
from shouhu.core.audit.chain import record as audit_record
from shouhu.core.database import utcnow
from shouhu.core.principal import Principal
from shouhu.identity.documents import Document
from shouhu.registry.indexes import document_number_index, inquiry_subject_index
from shouhu.registry.models import RegistryDocument, RegistryPerson, RegistryRecord
from shouhu.registry.policy import policy
from shouhu.registry.repository import UNDECIDED_STATUSES

AUDIT_ACTION: Final = "registry:subject_report"


@dataclass(frozen=True, slots=True)
class SubjectRecord:
    """One record as the subject is told of it."""

    kind: str
    offence: str
    offence_name_zh: str
    offence_name_en: str
    legal_basis: str
    authority: str
    decision_number: str
    decision_date: date
    status: str
    registered_at: datetime
    version: int = 1


@dataclass(frozen=True, slots=True)
class SubjectPerson:
    """One registry person holding the document, with everything held about them."""

    external_id: str
    names: list[tuple[str, str]]  # (kind, name), the primary name first
    sex: str | None
    date_of_birth: date | None
    nationality: str | None
    documents: list[tuple[str, str, str | None]]  # (type, number, nationality)
    records: list[SubjectRecord]


@dataclass(frozen=True, slots=True)
class SubjectInquiry:
    """One staff-access inquiry about the subject."""

    institution: str
    submitted_at: datetime
    purpose: str
    status: str
    answer: str | None
    hiring: str | None


@dataclass(frozen=True, slots=True)
class SubjectReport:
    """The report: when it was made, under which policy, the persons found, and submissions.

    `submissions` are records entered about the document's holder and not yet decided (a draft,
    one waiting for review, one returned): held about the person too, though no registry person
    carries them yet.
    """

    generated_at: datetime
    policy_version: int
    persons: list[SubjectPerson]
    submissions: list[SubjectRecord] = field(default_factory=list)
    inquiries: list[SubjectInquiry] = field(default_factory=list)


def _record(item: RegistryRecord) -> SubjectRecord:
    """A record as the subject is told of it, with its offence named from the catalogue."""
    offence = policy().catalogue.get(item.offence)
    return SubjectRecord(
        kind=item.kind,
        offence=item.offence,
        offence_name_zh=offence.name_zh if offence else "",
        offence_name_en=offence.name_en if offence else "",
        legal_basis=offence.legal_basis if offence else "",
        authority=item.decision_authority,
        decision_number=item.decision_number or "",
        decision_date=item.decision_date,
        status=item.status,
        registered_at=item.created_at,
        version=item.version,
    )


def _person(person: RegistryPerson) -> SubjectPerson:
    records = [
        _record(item)
        for item in sorted(person.records, key=lambda r: (r.decision_date, r.created_at))
    ]
    names = sorted(
        ((name.kind, name.name or "") for name in person.names), key=lambda n: n[0] != "primary"
    )
    return SubjectPerson(
        external_id=person.external_id,
        names=names,
        sex=person.sex,
        date_of_birth=person.date_of_birth,
        nationality=person.nationality,
        documents=[(d.id_type, d.number or "", d.nationality) for d in person.documents],
        records=records,
    )


def subject_report(session: Session, *, actor: Principal, document: Document) -> SubjectReport:
    """Everything held about the holders of `document`; the read is audited."""
    require(actor, Permission.REGISTRY_SUBJECT_REPORT)
    index = document_number_index(document.number)
    persons = (
        session.scalars(
            select(RegistryPerson)
            .join(RegistryDocument, RegistryDocument.person_id == RegistryPerson.id)
            .where(
                RegistryDocument.number_index == index,
                RegistryDocument.id_type == document.id_type.value,
            )
            .options(
                selectinload(RegistryPerson.names),
                selectinload(RegistryPerson.documents),
                selectinload(RegistryPerson.records),
            )
            .order_by(RegistryPerson.external_id)
        )
        .unique()
        .all()
    )
    audit_record(
        session,
        actor=actor,
        action=AUDIT_ACTION,
        object_type="registry_person",
        object_id=persons[0].id if len(persons) == 1 else None,
        details={"persons": [str(person.id) for person in persons]},
    )
    submissions = _undecided_about(session, document)
    return SubjectReport(
        generated_at=utcnow(),
        policy_version=policy().version,
        persons=[_person(person) for person in persons],
        submissions=submissions,
        inquiries=_inquiries_about(session, document),
    )


def _inquiries_about(session: Session, document: Document) -> list[SubjectInquiry]:
    """Every staff-access inquiry about the document, oldest first, with its institution."""
    # Imported here: the screening package builds on the registry, not the other way round.
    from shouhu.screening.models import Inquiry  # noqa: PLC0415

    index = inquiry_subject_index(document.id_type.value, document.lifelong_number)
    rows = session.execute(
        select(Inquiry, Organisation.name)
        .join(Organisation, Organisation.id == Inquiry.institution_id)
        .where(Inquiry.subject_index == index)
        .order_by(Inquiry.submitted_at)
    )
    return [
        SubjectInquiry(
            institution=name,
            submitted_at=inquiry.submitted_at,
            purpose=inquiry.purpose,
            status=inquiry.status,
            answer=inquiry.answer,
            hiring=inquiry.hiring,
        )
        for inquiry, name in rows
    ]


def _undecided_about(session: Session, document: Document) -> list[SubjectRecord]:
    """Undecided submissions whose subject holds the document (their subjects decrypted).

    A submission's subject has no blind index until approval makes it a registry person; the
    undecided ones are few (a review queue's worth), so each is opened and compared.
    """
    found: list[SubjectRecord] = []
    undecided = session.scalars(
        select(RegistryRecord)
        .where(
            RegistryRecord.person_id.is_(None),
            RegistryRecord.status.in_(UNDECIDED_STATUSES),
        )
        .order_by(RegistryRecord.created_at)
    )
    for item in undecided:
        subject = item.subject or {}
        if (subject.get("id_type"), subject.get("id_number")) != (
            document.id_type.value,
            document.number,
        ):
            continue
        found.append(_record(item))
    return found
