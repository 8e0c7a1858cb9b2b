"""Pages for oversight: verify the chain (auditors, prosecutors) and read the trail."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.accounts.models import Organisation, User
from shouhu.accounts.roles import Permission
from shouhu.core.audit.chain import record
from shouhu.core.audit.models import AuditEvent
from shouhu.core.audit.reading import events_of, readable_events, readable_organisations
from shouhu.core.audit.verify import record_verification, verify_chain
from shouhu.core.errors import NotFoundError, ValidationFailedError
from shouhu.core.i18n import gettext
from shouhu.web.deps import Db, PagePermission, SignedIn, read_only_db
from shouhu.web.templating import render

router = APIRouter(prefix="/audit", include_in_schema=False)

Verifier = Annotated[SignedIn, Depends(PagePermission(Permission.AUDIT_VERIFY))]
Reader = Annotated[SignedIn, Depends(PagePermission(Permission.AUDIT_READ))]
PAGE_SIZE = 100
# The organisation filter offers at most this many names; a link (from a compliance page)
# may name any organisation the reader may see.
ORGANISATION_CHOICES = 300


@router.get("")
def audit_home(request: Request, me: Verifier) -> Response:
    """The verification page."""
    return render(request, "audit/verify.html", {"result": None})


@router.post("/verify")
def run_verification(request: Request, db: Db, me: Verifier) -> Response:
    """Walk the whole chain now and show the outcome."""
    # The request's write transaction (SQLite: BEGIN IMMEDIATE) ends before the walk, which
    # may take long over a large log and would hold every other writer back meanwhile.
    db.commit()
    with read_only_db(request) as reader:
        result = verify_chain(reader)
    # Recorded after the walk, in a short write transaction of its own (the request's next
    # one), as `shouhu audit verify` does: the verification is not part of what it checked.
    record_verification(db, actor=me.principal, result=result)
    return render(request, "audit/verify.html", {"result": result})


def _day(text: str, field: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValidationFailedError("Enter a date written YYYY-MM-DD.", field=field) from exc


def _organisation(text: str) -> uuid.UUID | None:
    if not text.strip():
        return None
    try:
        return uuid.UUID(text.strip())
    except ValueError as exc:
        raise NotFoundError("Organisation not found.") from exc


def _organisation_or_none(text: str) -> uuid.UUID | None:
    try:
        return _organisation(text)
    except NotFoundError:
        return None


@router.get("/events")
def audit_events(
    request: Request,
    db: Db,
    me: Reader,
    action: Annotated[str, Query(max_length=100)] = "",
    before: Annotated[int | None, Query(ge=1)] = None,
    organisation: Annotated[str, Query(max_length=36)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    """The newest audit events the reader may see, filterable; reading them is itself audited.

    Filters: `action` (a part of the tag, e.g. `inquiry:`), `organisation` (its users' events
    and those on its inquiries), `since` and `until` (UTC days). A prosecutor reads their
    territory's events only (`core.audit.reading`); an organisation outside it is a 404.
    """
    region = db.scalar(
        select(Organisation.region_code).where(Organisation.id == me.principal.organisation_id)
    )
    filters = {"action": action, "organisation": organisation, "since": since, "until": until}
    try:
        first, last = _day(since, "since"), _day(until, "until")
    except ValidationFailedError as exc:
        return _events_page(request, db, me, region, filters, error=exc)
    org_id = _organisation(organisation)
    statement = readable_events(me.principal, region).order_by(AuditEvent.seq.desc())
    if org_id is not None:
        visible = readable_organisations(me.principal, region).where(Organisation.id == org_id)
        if db.scalar(visible) is None:
            raise NotFoundError("Organisation not found.")
        statement = statement.where(events_of(org_id))
    if action:
        statement = statement.where(AuditEvent.action.contains(action.strip()))
    if first is not None:
        statement = statement.where(AuditEvent.occurred_at >= datetime.combine(first, time(), UTC))
    if last is not None and last < date.max:
        end = datetime.combine(last + timedelta(days=1), time(), UTC)
        statement = statement.where(AuditEvent.occurred_at < end)
    if before is not None:
        statement = statement.where(AuditEvent.seq < before)
    events = list(db.scalars(statement.limit(PAGE_SIZE)))
    record(
        db,
        actor=me.principal,
        action="audit:read",
        object_type="audit_chain",
        details={
            "action_filter": action or None,
            "organisation_filter": str(org_id) if org_id else None,
            "since": first.isoformat() if first else None,
            "until": last.isoformat() if last else None,
            "before": before,
            "shown": len(events),
        },
    )
    oldest = events[-1].seq if len(events) == PAGE_SIZE else None
    return _events_page(request, db, me, region, filters, events=events, older=oldest)


def _events_page(
    request: Request,
    db: Session,
    me: SignedIn,
    region: str | None,
    filters: dict[str, str],
    *,
    events: list[AuditEvent] | None = None,
    older: int | None = None,
    error: ValidationFailedError | None = None,
) -> Response:
    shown = events or []
    choices = list(
        db.execute(
            select(Organisation.id, Organisation.name)
            .where(Organisation.id.in_(readable_organisations(me.principal, region)))
            .order_by(Organisation.name)
            .limit(ORGANISATION_CHOICES)
        )
    )
    chosen = _organisation_or_none(filters["organisation"])
    if chosen is not None and chosen not in {i for i, _n in choices}:
        # Named by a link, beyond the list's first names: shown if the reader may see it.
        choices += db.execute(
            select(Organisation.id, Organisation.name).where(
                Organisation.id == chosen,
                Organisation.id.in_(readable_organisations(me.principal, region)),
            )
        ).all()
    kept = {key: value for key, value in filters.items() if value}
    context: dict[str, Any] = {
        "events": shown,
        "names": _names(db, shown),
        **filters,
        "organisations": [(str(i), n) for i, n in choices],
        "older": f"/audit/events?{urlencode({**kept, 'before': older})}" if older else None,
        "error": gettext(error.message, **error.params) if error else None,
    }
    return render(request, "audit/events.html", context, status=error.status_code if error else 200)


def _names(db: Session, events: list[AuditEvent]) -> dict[str, str]:
    """Usernames and organisation names for the ids the events carry."""
    ids: set[uuid.UUID] = set()
    for event in events:
        for value in (event.actor_id, event.organisation_id):
            if value:
                ids.add(uuid.UUID(value))
    names = {
        str(i): n for i, n in db.execute(select(User.id, User.username).where(User.id.in_(ids)))
    }
    names.update(
        {
            str(i): n
            for i, n in db.execute(
                select(Organisation.id, Organisation.name).where(Organisation.id.in_(ids))
            )
        }
    )
    return names
