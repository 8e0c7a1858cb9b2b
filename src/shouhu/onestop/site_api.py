"""JSON routes of the one-stop site directory under /api/v1: list, read, create, change.

Those who work cases read the directory; the operator keeps it. Every route calls
`onestop.sites`, as the pages do.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Final

from fastapi import APIRouter, Body, Depends, Query

from shouhu.accounts.roles import Permission
from shouhu.accounts.scope import in_jurisdiction
from shouhu.core.principal import Principal
from shouhu.onestop import repository, sites
from shouhu.onestop.api_errors import errors
from shouhu.onestop.models import OneStopSite
from shouhu.onestop.schemas import SITE_EXAMPLE, SiteIn, SiteOut, SitePatch
from shouhu.onestop.views import site_out
from shouhu.web.deps import ApiPermission, Db

router = APIRouter(prefix="/onestop/sites", tags=["onestop"])

Reader = Annotated[Principal, Depends(ApiPermission(Permission.ONESTOP_SITES_READ))]
Manager = Annotated[Principal, Depends(ApiPermission(Permission.ONESTOP_SITES_MANAGE))]

NOT_FOUND: Final = "No such site"
NAME_TAKEN: Final = "Another site has this name"
CREATE_EXAMPLES: Final = {
    "site": {
        "summary": "A district's site with every facility",
        "value": SITE_EXAMPLE,
    }
}


@router.get("", response_model=list[SiteOut], responses=errors())
def list_sites(
    db: Db,
    principal: Reader,
    region: Annotated[
        str | None,
        Query(
            pattern=r"^\d{6}$",
            description="Only sites in this division: a province or prefecture code covers the"
            " divisions below it",
        ),
    ] = None,
    active: Annotated[bool | None, Query(description="Only active (or inactive) sites")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[SiteOut]:
    """The directory of one-stop sites, by name."""
    statement = repository.readable_sites(principal)
    if region is not None:
        statement = statement.where(in_jurisdiction(OneStopSite.region_code, region))
    if active is not None:
        statement = statement.where(OneStopSite.active.is_(active))
    found = db.scalars(statement.order_by(OneStopSite.name).limit(limit).offset(offset)).all()
    return [site_out(db, site) for site in found]


@router.get("/{site_id}", response_model=SiteOut, responses=errors(not_found=NOT_FOUND))
def read_site(db: Db, principal: Reader, site_id: uuid.UUID) -> SiteOut:
    """One site, its facilities and its partner organisations."""
    return site_out(db, repository.get_site(db, principal, site_id))


@router.post(
    "",
    response_model=SiteOut,
    status_code=201,
    responses=errors(body=True, conflict=NAME_TAKEN),
)
def create_site(
    db: Db,
    principal: Manager,
    body: Annotated[SiteIn, Body(openapi_examples=CREATE_EXAMPLES)],
) -> SiteOut:
    """Add a site; its host unit must be a public security organisation."""
    site = sites.create_site(db, actor=principal, data=sites.SiteInput(**body.model_dump()))
    return site_out(db, site)


@router.patch(
    "/{site_id}",
    response_model=SiteOut,
    responses=errors(body=True, not_found=NOT_FOUND, conflict=NAME_TAKEN),
)
def update_site(db: Db, principal: Manager, site_id: uuid.UUID, body: SitePatch) -> SiteOut:
    """Change the fields given; the audit trail keeps each old and new value."""
    site = sites.update_site(
        db, actor=principal, site_id=site_id, changes=body.model_dump(exclude_unset=True)
    )
    return site_out(db, site)
