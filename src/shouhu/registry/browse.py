"""Reading registry persons: a person's page and finding a person by identity document.

Both are reads of sensitive personal data by the registry roles only, each an audited event
naming the persons read, never their data (DESIGN §4).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select, true
from sqlalchemy.orm import Session

from shouhu.accounts.policies import require
from shouhu.accounts.roles import Permission
from shouhu.core.audit.chain import record as audit_record
from shouhu.core.errors import ValidationFailedError
from shouhu.core.principal import Principal
from shouhu.identity.documents import CHINA, IdType, normalise_document
from shouhu.identity.errors import IdentityError
from shouhu.registry.indexes import document_number_index
from shouhu.registry.models import RegistryDocument, RegistryPerson
from shouhu.registry.repository import get_person

ACTION_PERSON_VIEW: Final = "registry:person_view"
ACTION_PERSON_FIND: Final = "registry:person_find"


@dataclass(frozen=True, slots=True)
class FoundPerson:
    """A person holding the document looked for."""

    id: uuid.UUID
    external_id: str
    name: str
    records: int


def view_person(session: Session, *, actor: Principal, person_id: uuid.UUID) -> RegistryPerson:
    """One person with names, documents and records; the read is audited."""
    person = get_person(session, actor, person_id)
    audit_record(
        session,
        actor=actor,
        action=ACTION_PERSON_VIEW,
        object_type="registry_person",
        object_id=person.id,
        details={"records": len(person.records)},
    )
    return person


def find_persons(
    session: Session, *, actor: Principal, id_type: str, id_number: str, nationality: str = ""
) -> list[FoundPerson]:
    """The persons holding one identity document (exact, by its blind index); audited."""
    require(actor, Permission.REGISTRY_READ)
    try:
        document = normalise_document(
            id_type, id_number, nationality=nationality.strip().upper() or CHINA, field="id_number"
        )
    except IdentityError as exc:
        raise ValidationFailedError(
            "The identity document is not valid: check its type, number and country.",
            field=exc.field or "id_number",
        ) from exc
    persons = list(
        session.scalars(
            select(RegistryPerson)
            .join(RegistryDocument, RegistryDocument.person_id == RegistryPerson.id)
            .where(
                RegistryDocument.id_type == document.id_type.value,
                RegistryDocument.number_index == document_number_index(document.number),
                # A passport number is unique only within its issuing country.
                (RegistryDocument.nationality == document.nationality)
                if document.id_type is IdType.PASSPORT
                else true(),
            )
            .order_by(RegistryPerson.external_id)
        ).unique()
    )
    audit_record(
        session,
        actor=actor,
        action=ACTION_PERSON_FIND,
        object_type="registry_person",
        details={"id_type": document.id_type.value, "persons": [str(p.id) for p in persons]},
    )
    return [FoundPerson(p.id, p.external_id, p.name or "", len(p.records)) for p in persons]
