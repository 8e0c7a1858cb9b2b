"""Creating and changing organisations (the operator's work)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.accounts.models import Organisation
from shouhu.accounts.policies import require
from shouhu.accounts.roles import KINDS_BY_TYPE, OrgType, Permission
from shouhu.core.audit.chain import record
from shouhu.core.errors import ConflictError, NotFoundError, ValidationFailedError
from shouhu.core.principal import Principal
from shouhu.core.text import clean_line
from shouhu.identity.credit_code import validate_credit_code
from shouhu.identity.errors import IdentityError
from shouhu.identity.regions import is_known_region

# An education authority supervises the institutions below it (DESIGN §2); authorities
# nest (county under prefecture under province).
ALLOWED_PARENT_TYPES: dict[OrgType, frozenset[OrgType]] = {
    OrgType.INSTITUTION: frozenset({OrgType.EDUCATION_AUTHORITY}),
    OrgType.EDUCATION_AUTHORITY: frozenset({OrgType.EDUCATION_AUTHORITY}),
    OrgType.PUBLIC_SECURITY: frozenset({OrgType.PUBLIC_SECURITY}),
    OrgType.COURT: frozenset({OrgType.COURT}),
    OrgType.PROCURATORATE: frozenset({OrgType.PROCURATORATE}),
    OrgType.PARTNER: frozenset(OrgType),
    OrgType.OVERSIGHT: frozenset({OrgType.OVERSIGHT}),
    OrgType.OPERATOR: frozenset({OrgType.OPERATOR}),
}


class OrganisationCreate(BaseModel):
    """What an operator gives to create an organisation."""

    name: str = Field(min_length=2, max_length=200)
    type: OrgType
    kind: str | None = None
    region_code: str = Field(pattern=r"^\d{6}$")
    parent_id: uuid.UUID | None = None
    credit_code: str | None = None


def _check_kind(data: OrganisationCreate) -> str | None:
    kinds = KINDS_BY_TYPE.get(data.type)
    if kinds is None:
        if data.kind:
            raise ValidationFailedError(
                "Organisations of type {type} have no kind.", field="kind", type=data.type.value
            )
        return None
    if data.kind not in kinds:
        raise ValidationFailedError(
            "Choose a kind for this organisation type: {kinds}.",
            field="kind",
            kinds=", ".join(sorted(kinds)),
        )
    return data.kind


def _check_credit_code(session: Session, data: OrganisationCreate) -> str | None:
    if not data.credit_code:
        if data.type is OrgType.INSTITUTION:
            raise ValidationFailedError(
                "An institution needs its unified social credit code.", field="credit_code"
            )
        return None
    try:
        code = validate_credit_code(data.credit_code)
    except IdentityError as exc:
        raise ValidationFailedError(
            "The unified social credit code is not valid: {reason}.",
            field="credit_code",
            reason=exc.reason,
        ) from exc
    if session.scalar(select(Organisation.id).where(Organisation.credit_code == code)):
        raise ConflictError(
            "An organisation with this credit code already exists.", field="credit_code"
        )
    return code


def _check_parent(session: Session, data: OrganisationCreate) -> uuid.UUID | None:
    if data.parent_id is None:
        if data.type is OrgType.INSTITUTION:
            raise ValidationFailedError(
                "An institution needs its supervising education authority as parent.",
                field="parent_id",
            )
        return None
    parent = session.get(Organisation, data.parent_id)
    if parent is None:
        raise ValidationFailedError("The parent organisation does not exist.", field="parent_id")
    if OrgType(parent.type) not in ALLOWED_PARENT_TYPES[data.type]:
        raise ValidationFailedError(
            "An organisation of type {type} cannot sit under one of type {parent_type}.",
            field="parent_id",
            type=data.type.value,
            parent_type=parent.type,
        )
    return parent.id


def create_organisation(
    session: Session, *, actor: Principal, data: OrganisationCreate
) -> Organisation:
    """Validate and create an organisation, with its audit event."""
    require(actor, Permission.ORGS_MANAGE)
    name = clean_line(data.name, field="name")
    if not is_known_region(data.region_code):
        raise ValidationFailedError(
            "Unknown GB/T 2260 region code {code}.", field="region_code", code=data.region_code
        )
    if session.scalar(select(Organisation.id).where(Organisation.name == name)):
        raise ConflictError("An organisation with this name already exists.", field="name")
    organisation = Organisation(
        name=name,
        type=data.type.value,
        kind=_check_kind(data),
        region_code=data.region_code,
        parent_id=_check_parent(session, data),
        credit_code=_check_credit_code(session, data),
        active=True,
    )
    organisation.ensure_id()
    session.add(organisation)
    session.flush()
    record(
        session,
        actor=actor,
        action="organisation:create",
        object_type="organisation",
        object_id=organisation.id,
        details={
            "type": organisation.type,
            "kind": organisation.kind,
            "region_code": organisation.region_code,
        },
    )
    return organisation


def _check_may_disable(session: Session, actor: Principal, organisation: Organisation) -> None:
    # Disabling an organisation signs out its users: an administrator must not shut out
    # themselves, nor every operator (then only the shell could undo it: `shouhu orgs enable`).
    if organisation.id == actor.organisation_id:
        raise ConflictError("You cannot disable your own organisation.")
    if organisation.type != OrgType.OPERATOR:
        return
    # Locked, in one order, so two administrators cannot each disable "the other" operator:
    # the second waits, then sees the first's change (SQLite serialises writers anyway).
    active_operators = session.scalars(
        select(Organisation.id)
        .where(Organisation.type == OrgType.OPERATOR.value, Organisation.active.is_(True))
        .order_by(Organisation.id)
        .with_for_update()
    ).all()
    if not set(active_operators) - {organisation.id}:
        raise ConflictError("The last active operator organisation cannot be disabled.")


def set_organisation_active(
    session: Session, *, actor: Principal, org_id: uuid.UUID, active: bool
) -> Organisation:
    """Enable or disable an organisation (its users can no longer sign in when disabled)."""
    require(actor, Permission.ORGS_MANAGE)
    organisation = session.get(Organisation, org_id)
    if organisation is None:
        raise NotFoundError("Organisation not found.")
    if not active and organisation.active:
        _check_may_disable(session, actor, organisation)
    if organisation.active != active:
        organisation.active = active
        record(
            session,
            actor=actor,
            action="organisation:enable" if active else "organisation:disable",
            object_type="organisation",
            object_id=organisation.id,
        )
    return organisation


def supervised_organisation_ids(session: Session, root_id: uuid.UUID) -> set[uuid.UUID]:
    """The organisation and every organisation below it in the tree."""
    found = {root_id}
    frontier = {root_id}
    while frontier:
        children = set(
            session.scalars(select(Organisation.id).where(Organisation.parent_id.in_(frontier)))
        )
        frontier = children - found
        found |= frontier
    return found
