"""Pages of the one-stop site directory: the list, a site, its form, its partners.

Each page calls `onestop.sites`, as the API does. Those who work cases read the directory; the
operator (`admin`) keeps it.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.accounts.models import Organisation
from shouhu.accounts.policies import allows
from shouhu.accounts.roles import Permission
from shouhu.accounts.scope import in_jurisdiction
from shouhu.core.errors import DomainError, NotFoundError
from shouhu.core.i18n import gettext
from shouhu.identity.regions import region_name
from shouhu.onestop import repository, sites
from shouhu.onestop.labels import labels
from shouhu.onestop.models import OneStopSite
from shouhu.web.deps import Db, PagePermission, SignedIn
from shouhu.web.templating import render

router = APIRouter(prefix="/onestop/sites", include_in_schema=False)

Reader = Annotated[SignedIn, Depends(PagePermission(Permission.ONESTOP_SITES_READ))]
Manager = Annotated[SignedIn, Depends(PagePermission(Permission.ONESTOP_SITES_MANAGE))]

FACILITIES = ("interview_room", "medical_room", "waiting_room")


def _redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


@router.get("")
def site_list(request: Request, db: Db, me: Reader, region: str = "", active: str = "") -> Response:
    """The directory, by name, filtered by region and by whether a site is active."""
    statement = repository.readable_sites(me.principal).order_by(OneStopSite.name)
    region = region.strip()
    if region.isascii() and region.isdigit() and len(region) == 6:  # noqa: PLR2004 - GB/T 2260
        statement = statement.where(in_jurisdiction(OneStopSite.region_code, region))
    if active in {"1", "0"}:
        statement = statement.where(OneStopSite.active.is_(active == "1"))
    rows = list(db.scalars(statement.limit(500)))
    hosts = _names(db, {row.host_unit_id for row in rows})
    context = {
        "rows": rows,
        "hosts": hosts,
        "region": region,
        "active": active,
        "may_manage": allows(me.principal, Permission.ONESTOP_SITES_MANAGE),
        "region_name": region_name,
        **labels(),
    }
    return render(request, "onestop/sites.html", context)


def _names(db: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    if not ids:
        return {}
    rows = db.execute(select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids)))
    return dict(rows.all())  # a Result has keys(): dict() would take it for a mapping


def _host_units(db: Session) -> list[Organisation]:
    return list(
        db.scalars(
            select(Organisation)
            .where(Organisation.type == "public_security", Organisation.active.is_(True))
            .order_by(Organisation.name)
            .limit(1000)
        )
    )


def _form(
    request: Request,
    db: Session,
    *,
    site: OneStopSite | None,
    values: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    context = {
        "site": site,
        "values": values,
        "errors": errors,
        "host_units": _host_units(db),
        "facilities": FACILITIES,
        **labels(),
    }
    return render(request, "onestop/site_form.html", context, status=status)


def _values_of(site: OneStopSite) -> dict[str, Any]:
    return {
        "name": site.name,
        "region_code": site.region_code,
        "host_unit_id": str(site.host_unit_id),
        "phone": site.phone or "",
        "address": site.address or "",
        "active": site.active,
        **{name: getattr(site, name) for name in FACILITIES},
    }


@router.get("/new")
def site_new(request: Request, db: Db, me: Manager) -> Response:
    """The form for a new site."""
    return _form(request, db, site=None, values={"active": True}, errors={})


def _submitted(
    name: str,
    region_code: str,
    host_unit_id: str,
    phone: str,
    address: str,
    interview_room: str,
    medical_room: str,
    waiting_room: str,
    active: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(values to show again, values for the service)."""
    shown: dict[str, Any] = {
        "name": name,
        "region_code": region_code,
        "host_unit_id": host_unit_id,
        "phone": phone,
        "address": address,
        "interview_room": interview_room == "on",
        "medical_room": medical_room == "on",
        "waiting_room": waiting_room == "on",
        "active": active == "on",
    }
    try:
        host = uuid.UUID(host_unit_id) if host_unit_id else None
    except ValueError:
        host = None
    data = {**shown, "host_unit_id": host, "phone": phone or None, "address": address or None}
    return shown, data


@router.post("")
def site_create(
    request: Request,
    db: Db,
    me: Manager,
    name: Annotated[str, Form()] = "",
    region_code: Annotated[str, Form()] = "",
    host_unit_id: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    interview_room: Annotated[str, Form()] = "",
    medical_room: Annotated[str, Form()] = "",
    waiting_room: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "",
) -> Response:
    """Add a site, or show the form again with what was wrong."""
    shown, data = _submitted(
        name,
        region_code,
        host_unit_id,
        phone,
        address,
        interview_room,
        medical_room,
        waiting_room,
        active,
    )
    try:
        site = sites.create_site(db, actor=me.principal, data=sites.SiteInput(**data))
    except DomainError as exc:
        db.rollback()
        errors = {exc.field or "": gettext(exc.message, **exc.params)}
        return _form(request, db, site=None, values=shown, errors=errors, status=exc.status_code)
    return _redirect(f"/onestop/sites/{site.id}")


@router.get("/{site_id}")
def site_detail(request: Request, db: Db, me: Reader, site_id: uuid.UUID) -> Response:
    """A site, its facilities and partners; the operator attaches and detaches partners here."""
    return _detail(request, db, me, site_id, errors={})


def _detail(
    request: Request,
    db: Session,
    me: SignedIn,
    site_id: uuid.UUID,
    *,
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    site = repository.get_site(db, me.principal, site_id)
    partners = repository.site_partners(db, site.id)
    may_manage = allows(me.principal, Permission.ONESTOP_SITES_MANAGE)
    candidates: list[Organisation] = []
    if may_manage:
        attached = {p.id for p in partners}
        candidates = [
            org
            for org in db.scalars(
                select(Organisation)
                .where(Organisation.active.is_(True))
                .order_by(Organisation.name)
                .limit(2000)
            )
            if sites.may_be_partner(org) and org.id not in attached
        ]
    host = db.get(Organisation, site.host_unit_id)
    context = {
        "site": site,
        "host": host.name if host else "",
        "region": region_name(site.region_code) or "",
        "partners": partners,
        "candidates": candidates,
        "may_manage": may_manage,
        "errors": errors,
        "facilities": FACILITIES,
        **labels(),
    }
    return render(request, "onestop/site.html", context, status=status)


@router.get("/{site_id}/edit")
def site_edit(request: Request, db: Db, me: Manager, site_id: uuid.UUID) -> Response:
    """The form to change a site."""
    site = repository.get_site(db, me.principal, site_id)
    return _form(request, db, site=site, values=_values_of(site), errors={})


@router.post("/{site_id}")
def site_update(
    request: Request,
    db: Db,
    me: Manager,
    site_id: uuid.UUID,
    name: Annotated[str, Form()] = "",
    region_code: Annotated[str, Form()] = "",
    host_unit_id: Annotated[str, Form()] = "",
    phone: Annotated[str, Form()] = "",
    address: Annotated[str, Form()] = "",
    interview_room: Annotated[str, Form()] = "",
    medical_room: Annotated[str, Form()] = "",
    waiting_room: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "",
) -> Response:
    """Change a site (every field of the form), or show the form again with what was wrong."""
    shown, data = _submitted(
        name,
        region_code,
        host_unit_id,
        phone,
        address,
        interview_room,
        medical_room,
        waiting_room,
        active,
    )
    try:
        sites.update_site(db, actor=me.principal, site_id=site_id, changes=data)
    except DomainError as exc:
        db.rollback()
        if isinstance(exc, NotFoundError):
            raise
        site = repository.get_site(db, me.principal, site_id)
        errors = {exc.field or "": gettext(exc.message, **exc.params)}
        return _form(request, db, site=site, values=shown, errors=errors, status=exc.status_code)
    return _redirect(f"/onestop/sites/{site_id}")


@router.post("/{site_id}/partners")
def partner_attach(
    request: Request,
    db: Db,
    me: Manager,
    site_id: uuid.UUID,
    organisation_id: Annotated[str, Form()] = "",
) -> Response:
    """Attach a partner organisation to the site."""
    try:
        chosen = uuid.UUID(organisation_id)
    except ValueError:
        chosen = uuid.UUID(int=0)  # no organisation has it: the service names the field
    try:
        sites.attach_partner(db, actor=me.principal, site_id=site_id, organisation_id=chosen)
    except DomainError as exc:
        db.rollback()
        if isinstance(exc, NotFoundError):
            raise
        errors = {exc.field or "": gettext(exc.message, **exc.params)}
        return _detail(request, db, me, site_id, errors=errors, status=exc.status_code)
    return _redirect(f"/onestop/sites/{site_id}")


@router.post("/{site_id}/partners/{organisation_id}/detach")
def partner_detach(db: Db, me: Manager, site_id: uuid.UUID, organisation_id: uuid.UUID) -> Response:
    """Detach a partner organisation from the site."""
    sites.detach_partner(db, actor=me.principal, site_id=site_id, organisation_id=organisation_id)
    return _redirect(f"/onestop/sites/{site_id}")
