"""The directory of one-stop sites and their partner organisations (the operator keeps it).

A site is directory data, no case content, so the operator (`admin`) manages it (DESIGN §2).
Its host unit is the public security organ that runs it; its partners (the Women's Federation,
a hospital, a psychological service, legal aid, a procuratorate…) are the organisations whose
staff may join the teams of the cases worked at the site.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, fields
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.accounts.models import Organisation
from shouhu.accounts.policies import require
from shouhu.accounts.roles import InstitutionKind, OrgType, Permission
from shouhu.core.audit.chain import record as audit_record
from shouhu.core.database import utcnow
from shouhu.core.errors import ConflictError, NotFoundError, ValidationFailedError
from shouhu.core.principal import Principal
from shouhu.onestop import checks
from shouhu.onestop.models import OneStopSite, SitePartner
from shouhu.onestop.repository import get_site

NAME_LENGTH: Final = 200
PHONE_LENGTH: Final = 40
ADDRESS_LENGTH: Final = 300
MIN_NAME_LENGTH: Final = 2
# An office's number: digits with the usual separators, an extension after "-" or "转".
PHONE: Final = re.compile(r"[0-9+\-() 转]{3,40}")
# The bodies that attend a one-stop session besides the police (MPS pilot; DESIGN §1).
PARTNER_TYPES: Final = frozenset({OrgType.PARTNER.value, OrgType.PROCURATORATE.value})

ACTION_SITE_CREATE: Final = "onestop:site_create"
ACTION_SITE_UPDATE: Final = "onestop:site_update"
ACTION_PARTNER_ATTACH: Final = "onestop:site_partner_attach"
ACTION_PARTNER_DETACH: Final = "onestop:site_partner_detach"


@dataclass(frozen=True)
class SiteInput:
    """What the operator gives for a site (every field; a change names only some)."""

    name: str
    region_code: str
    host_unit_id: uuid.UUID | None
    interview_room: bool = False
    medical_room: bool = False
    waiting_room: bool = False
    phone: str | None = None
    address: str | None = None
    active: bool = True


SITE_FIELDS: Final = tuple(f.name for f in fields(SiteInput))


def _host_unit(session: Session, host_unit_id: uuid.UUID | None) -> uuid.UUID:
    host = session.get(Organisation, host_unit_id) if host_unit_id else None
    if host is None or host.type != OrgType.PUBLIC_SECURITY.value:
        raise ValidationFailedError(
            "Choose a public security organisation as the host unit.", field="host_unit_id"
        )
    return host.id


def _phone(value: str | None) -> str | None:
    phone = checks.line(value, field="phone", limit=PHONE_LENGTH, required=False)
    if phone is not None and not PHONE.fullmatch(phone):
        raise ValidationFailedError(
            "Write the telephone number with digits, spaces, +, - and brackets only.",
            field="phone",
        )
    return phone


def _name(session: Session, value: str, site_id: uuid.UUID | None) -> str:
    name = checks.line(value, field="name", limit=NAME_LENGTH)
    assert name is not None  # noqa: S101 - required above
    if len(name) < MIN_NAME_LENGTH:
        raise ValidationFailedError("The name is too short.", field="name")
    clash = session.scalar(select(OneStopSite.id).where(OneStopSite.name == name))
    if clash is not None and clash != site_id:
        raise ConflictError("A site with this name already exists.", field="name")
    return name


def _checked(session: Session, values: dict[str, Any], site_id: uuid.UUID | None) -> dict[str, Any]:
    """The given fields, validated and normalised, in SiteInput's order."""
    checked: dict[str, Any] = {}
    for name in SITE_FIELDS:
        if name not in values:
            continue
        value = values[name]
        if name == "name":
            checked[name] = _name(session, value, site_id)
        elif name == "region_code":
            checked[name] = checks.region(value, field="region_code")
        elif name == "host_unit_id":
            checked[name] = _host_unit(session, value)
        elif name == "phone":
            checked[name] = _phone(value)
        elif name == "address":
            checked[name] = checks.line(
                value, field="address", limit=ADDRESS_LENGTH, required=False
            )
        elif isinstance(value, bool):
            checked[name] = value
        else:
            raise ValidationFailedError("Choose yes or no.", field=name)
    return checked


def _audit_value(value: object) -> object:
    return str(value) if isinstance(value, uuid.UUID) else value


def create_site(session: Session, *, actor: Principal, data: SiteInput) -> OneStopSite:
    """Add a site to the directory."""
    require(actor, Permission.ONESTOP_SITES_MANAGE)
    values = _checked(session, {name: getattr(data, name) for name in SITE_FIELDS}, None)
    site = OneStopSite(**values)
    site.ensure_id()
    session.add(site)
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_SITE_CREATE,
        object_type="onestop_site",
        object_id=site.id,
        # Directory data of an office: no personal data in any field.
        details={name: _audit_value(value) for name, value in values.items()},
    )
    return site


def update_site(
    session: Session, *, actor: Principal, site_id: uuid.UUID, changes: dict[str, Any]
) -> OneStopSite:
    """Change some fields of a site; the audit event holds each change's old and new value."""
    require(actor, Permission.ONESTOP_SITES_MANAGE)
    unknown = sorted(set(changes) - set(SITE_FIELDS))
    if unknown:
        raise ValidationFailedError("Unknown field {name}.", field=unknown[0], name=unknown[0])
    site = get_site(session, actor, site_id, lock=True)
    values = _checked(session, changes, site.id)
    changed = {
        name: [_audit_value(getattr(site, name)), _audit_value(value)]
        for name, value in values.items()
        if getattr(site, name) != value
    }
    if not changed:
        return site
    for name, value in values.items():
        setattr(site, name, value)
    site.updated_at = utcnow()
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_SITE_UPDATE,
        object_type="onestop_site",
        object_id=site.id,
        details={"changed": changed},
    )
    return site


def may_be_partner(organisation: Organisation) -> bool:
    """Whether an organisation may be a site's partner: a partner body, procuratorate, hospital."""
    return organisation.type in PARTNER_TYPES or (
        organisation.type == OrgType.INSTITUTION.value
        and organisation.kind == InstitutionKind.MEDICAL.value
    )


def attach_partner(
    session: Session, *, actor: Principal, site_id: uuid.UUID, organisation_id: uuid.UUID
) -> SitePartner:
    """Attach a partner organisation to a site: its staff may then join the site's case teams."""
    require(actor, Permission.ONESTOP_SITES_MANAGE)
    site = get_site(session, actor, site_id, lock=True)
    organisation = session.get(Organisation, organisation_id)
    if organisation is None or not organisation.active or not may_be_partner(organisation):
        raise ValidationFailedError(
            "Choose an active partner organisation, procuratorate or medical institution.",
            field="organisation_id",
        )
    existing = session.scalar(
        select(SitePartner).where(
            SitePartner.site_id == site.id, SitePartner.organisation_id == organisation.id
        )
    )
    if existing is not None:
        raise ConflictError(
            "This organisation is already a partner of the site.", field="organisation_id"
        )
    partner = SitePartner(
        site_id=site.id, organisation_id=organisation.id, added_by_id=actor.user_id
    )
    partner.ensure_id()
    session.add(partner)
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_PARTNER_ATTACH,
        object_type="onestop_site",
        object_id=site.id,
        details={"organisation": str(organisation.id), "type": organisation.type},
    )
    return partner


def detach_partner(
    session: Session, *, actor: Principal, site_id: uuid.UUID, organisation_id: uuid.UUID
) -> None:
    """Detach a partner from a site; its staff already on a team stay until removed."""
    require(actor, Permission.ONESTOP_SITES_MANAGE)
    site = get_site(session, actor, site_id, lock=True)
    partner = session.scalar(
        select(SitePartner).where(
            SitePartner.site_id == site.id, SitePartner.organisation_id == organisation_id
        )
    )
    if partner is None:
        raise NotFoundError("This organisation is not a partner of the site.")
    session.delete(partner)
    session.flush()
    audit_record(
        session,
        actor=actor,
        action=ACTION_PARTNER_DETACH,
        object_type="onestop_site",
        object_id=site.id,
        details={"organisation": str(organisation_id)},
    )
