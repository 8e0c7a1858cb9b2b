"""Pages for oversight: verify the chain (auditors, prosecutors) and read the trail."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.accounts.models import Organisation, User
from shouhu.accounts.roles import Permission
from shouhu.core.audit.chain import record
from shouhu.core.audit.models import AuditEvent
from shouhu.core.audit.verify import record_verification, verify_chain
from shouhu.web.deps import Db, PagePermission, SignedIn, read_only_db
from shouhu.web.templating import render

router = APIRouter(prefix="/audit", include_in_schema=False)

Verifier = Annotated[SignedIn, Depends(PagePermission(Permission.AUDIT_VERIFY))]
Reader = Annotated[SignedIn, Depends(PagePermission(Permission.AUDIT_READ))]
PAGE_SIZE = 100


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


@router.get("/events")
def audit_events(
    request: Request,
    db: Db,
    me: Reader,
    action: Annotated[str, Query(max_length=100)] = "",
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """The newest audit events, filterable by action; reading them is itself audited."""
    statement = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(PAGE_SIZE)
    if action:
        statement = statement.where(AuditEvent.action.contains(action.strip()))
    if before is not None:
        statement = statement.where(AuditEvent.seq < before)
    events = list(db.scalars(statement))
    record(
        db,
        actor=me.principal,
        action="audit:read",
        object_type="audit_chain",
        details={"action_filter": action or None, "before": before, "shown": len(events)},
    )
    oldest = events[-1].seq if len(events) == PAGE_SIZE else None
    return render(
        request,
        "audit/events.html",
        {"events": events, "names": _names(db, events), "action": action, "older": oldest},
    )


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
