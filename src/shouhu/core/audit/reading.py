"""Who reads which part of the audit trail.

Oversight's auditors verify the whole chain and read all of it (DESIGN §2). A prosecutor
supervises the inquiry in their procuratorate's territory (2020 Opinions: procuratorates
supervise; procuratorates act within their administrative division): they read the events of
the organisations in that territory, of any type, and the events on the inquiries of its
institutions (an approval by an authority above it, a registry reviewer's word). Not the rest
of the nation's trail: PIPL art. 6 (minimum necessary), and the trail shows who did what where.
Events without an organisation (the operator's shell, the system) are the auditors' alone.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select

from shouhu.accounts.models import Organisation
from shouhu.accounts.roles import Role
from shouhu.accounts.scope import supervised_institutions, territory_organisations
from shouhu.core.audit.models import AuditEvent
from shouhu.core.principal import Principal
from shouhu.core.sql import uuid_text

# The one kind of object the trail reaches an institution through. The inquiry model is the
# screening domain's; reading its ids here keeps the rule of who reads what in one place.
from shouhu.screening.models import Inquiry

INQUIRY_OBJECT = "inquiry"


def _on_inquiries_of(institutions: Select[Any]) -> ColumnElement[bool]:
    inquiry_ids = select(uuid_text(Inquiry.id)).where(Inquiry.institution_id.in_(institutions))
    return and_(AuditEvent.object_type == INQUIRY_OBJECT, AuditEvent.object_id.in_(inquiry_ids))


def sees_whole_trail(principal: Principal) -> bool:
    """Auditors (and the operator's shell) read every event."""
    shell = principal.channel == "cli" and principal.user_id is None
    return shell or principal.has_role(Role.AUDITOR)


def readable_events(principal: Principal, region_code: str | None) -> Select[AuditEvent]:
    """The events the principal may read; `region_code` is their organisation's code."""
    statement = select(AuditEvent)
    if sees_whole_trail(principal):
        return statement
    if principal.has_role(Role.PROSECUTOR) and region_code:
        territory = territory_organisations(principal, region_code)
        return statement.where(
            or_(
                AuditEvent.organisation_id.in_(
                    territory.with_only_columns(uuid_text(Organisation.id))
                ),
                _on_inquiries_of(supervised_institutions(principal, region_code)),
            )
        )
    return statement.where(false())


def readable_organisations(principal: Principal, region_code: str | None) -> Select[Any]:
    """The organisations whose events the principal may filter the trail by."""
    if sees_whole_trail(principal):
        return select(Organisation.id)
    return territory_organisations(principal, region_code)


def events_of(organisation_id: uuid.UUID) -> ColumnElement[bool]:
    """An organisation's events: by its users, and on its inquiries (for an institution)."""
    only = select(Organisation.id).where(Organisation.id == organisation_id)
    return or_(AuditEvent.organisation_id == str(organisation_id), _on_inquiries_of(only))
