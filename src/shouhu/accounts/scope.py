"""Whom a supervisor supervises: an authority's organisation tree, a procuratorate's territory.

An education authority supervises the institutions below it in the organisation tree, at any
depth: a prefecture's bureau sees the schools of its counties' bureaus too (DESIGN §2; Minors
Law art. 62 puts the query under the education authorities). A procuratorate supervises by
territory, as people's procuratorates are organised by administrative division (Organic Law of
the People's Procuratorates, arts 12-13; 2020 Opinions: procuratorates supervise the inquiry).
Its own GB/T 2260 code says how far: a county-level code (`110101`) covers organisations with
that code; a prefecture-level code (`xxxx00`) those whose code starts with its first four
digits; a province-level code (`xx0000`) its first two.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from sqlalchemy import ColumnElement, Select, false, or_, select
from sqlalchemy.orm import InstrumentedAttribute, aliased

from shouhu.accounts.models import Organisation
from shouhu.accounts.roles import OrgType, Role
from shouhu.core.principal import Principal

COUNTY_DIGITS: Final = 6
PREFECTURE_DIGITS: Final = 4
PROVINCE_DIGITS: Final = 2


def jurisdiction_prefix(region_code: str) -> str:
    """The leading digits a region code of the procuratorate's territory starts with."""
    if region_code.endswith("0000"):
        return region_code[:PROVINCE_DIGITS]
    if region_code.endswith("00"):
        return region_code[:PREFECTURE_DIGITS]
    return region_code[:COUNTY_DIGITS]


def in_jurisdiction(
    column: InstrumentedAttribute[str] | ColumnElement[str], region_code: str
) -> ColumnElement[bool]:
    """Whether a region code column lies in the territory of a procuratorate at `region_code`."""
    prefix = jurisdiction_prefix(region_code)
    if len(prefix) == COUNTY_DIGITS:
        return column == prefix
    # A prefix LIKE: PostgreSQL can serve it from an index built with text_pattern_ops.
    return column.startswith(prefix, autoescape=True)


def authority_subtree(authority_id: uuid.UUID) -> Any:
    """Every organisation below the authority in the tree, at any depth (a recursive CTE)."""
    child = aliased(Organisation)
    below = (
        select(Organisation.id.label("id"))
        .where(Organisation.parent_id == authority_id)
        .cte("supervised", recursive=True)
    )
    # UNION, not UNION ALL: a cycle an operator made by mistake ends the walk instead of
    # looping, on SQLite and PostgreSQL alike.
    return below.union(select(child.id).where(child.parent_id == below.c.id))


def supervised_institutions(principal: Principal, region_code: str | None) -> Select[Any]:
    """The ids of the institutions the principal supervises (none for other roles).

    `region_code` is the principal's organisation's code (a procuratorate's territory).
    """
    conditions: list[ColumnElement[bool]] = []
    org = principal.organisation_id
    if org is not None and principal.has_role(Role.EDUCATION_OFFICER):
        tree = authority_subtree(org)
        conditions.append(Organisation.id.in_(select(tree.c.id)))
    if org is not None and region_code and principal.has_role(Role.PROSECUTOR):
        conditions.append(in_jurisdiction(Organisation.region_code, region_code))
    return select(Organisation.id).where(
        Organisation.type == OrgType.INSTITUTION.value,
        or_(*conditions) if conditions else false(),
    )


def territory_organisations(principal: Principal, region_code: str | None) -> Select[Any]:
    """The ids of every organisation in a prosecutor's territory, of any type (else none)."""
    if principal.organisation_id is None or not region_code:
        return select(Organisation.id).where(false())
    if not principal.has_role(Role.PROSECUTOR):
        return select(Organisation.id).where(false())
    return select(Organisation.id).where(in_jurisdiction(Organisation.region_code, region_code))
