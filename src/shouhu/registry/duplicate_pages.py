"""The reviewers' duplicate pages: the sweep's open pairs, a pair side by side, merges and undo."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.accounts.models import User
from shouhu.accounts.roles import Permission
from shouhu.core.errors import DomainError
from shouhu.core.i18n import gettext
from shouhu.registry import merging, repository
from shouhu.registry.models import (
    RegistryPersonMerge,
)
from shouhu.registry.pages import ID_TYPE_LABELS, STATUS_LABELS
from shouhu.web.deps import Db, PagePermission, SignedIn
from shouhu.web.templating import render

router = APIRouter(prefix="/registry", include_in_schema=False)

Decider = Annotated[SignedIn, Depends(PagePermission(Permission.REGISTRY_DUPLICATES))]
PAGE_SIZE = 200


@router.get("/duplicates")
def duplicate_list(request: Request, db: Db, me: Decider) -> Response:
    """The sweep's open pairs, the likeliest first, and the latest merges."""
    pairs = list(db.scalars(merging.open_pairs(me.principal).limit(PAGE_SIZE)))
    merges = list(
        db.scalars(
            select(RegistryPersonMerge).order_by(RegistryPersonMerge.merged_at.desc()).limit(50)
        )
    )
    ids = {p.first_person_id for p in pairs} | {p.second_person_id for p in pairs}
    ids |= {m.kept_person_id for m in merges} | {m.merged_person_id for m in merges}
    return render(
        request,
        "registry/duplicates.html",
        {"pairs": pairs, "merges": merges, "external_ids": repository.external_ids(db, ids)},
    )


def _pair_page(
    request: Request,
    db: Session,
    me: SignedIn,
    pair_id: uuid.UUID,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    pair, first, second = merging.view_pair(db, actor=me.principal, pair_id=pair_id)
    context: dict[str, Any] = {
        "pair": pair,
        "persons": [("first", first), ("second", second)],
        "status_labels": STATUS_LABELS,
        "id_type_labels": ID_TYPE_LABELS,
        "decided": repository.DECIDED_STATUSES,
        "withheld": repository.withheld_records(
            db, me.principal, [*first.records, *second.records]
        ),
        "error": error,
    }
    return render(request, "registry/duplicate_pair.html", context, status=status)


@router.get("/duplicates/{pair_id}")
def duplicate_pair(request: Request, db: Db, me: Decider, pair_id: uuid.UUID) -> Response:
    """Both persons of a pair side by side, with why the engine paired them (audited)."""
    return _pair_page(request, db, me, pair_id)


def _refused(
    request: Request, db: Session, me: SignedIn, pair_id: uuid.UUID, exc: DomainError
) -> Response:
    db.rollback()
    return _pair_page(
        request, db, me, pair_id, error=gettext(exc.message, **exc.params), status=exc.status_code
    )


@router.post("/duplicates/{pair_id}/merge")
def duplicate_merge(
    request: Request,
    db: Db,
    me: Decider,
    pair_id: uuid.UUID,
    keep: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Merge the pair into the person chosen to keep."""
    try:
        merge = merging.merge_for_pair(
            db, actor=me.principal, pair_id=pair_id, keep=keep, reason=reason
        )
    except DomainError as exc:
        return _refused(request, db, me, pair_id, exc)
    return RedirectResponse(f"/registry/merges/{merge.id}", status_code=303)


@router.post("/duplicates/{pair_id}/dismiss")
def duplicate_dismiss(
    request: Request,
    db: Db,
    me: Decider,
    pair_id: uuid.UUID,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Record that the pair are two humans."""
    try:
        merging.dismiss_pair(db, actor=me.principal, pair_id=pair_id, reason=reason)
    except DomainError as exc:
        return _refused(request, db, me, pair_id, exc)
    return RedirectResponse("/registry/duplicates", status_code=303)


def _merge_page(
    request: Request,
    db: Session,
    me: SignedIn,
    merge_id: uuid.UUID,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    merge = merging.get_merge(db, me.principal, merge_id)
    external_ids = repository.external_ids(db, {merge.kept_person_id, merge.merged_person_id})
    users = {
        row[0]: row[1]
        for row in db.execute(
            select(User.id, User.username).where(
                User.id.in_([i for i in (merge.merged_by_id, merge.undone_by_id) if i])
            )
        )
    }
    moved = merging.Moved.from_json(merge.moved)
    return render(
        request,
        "registry/merge.html",
        {
            "merge": merge,
            "moved": moved,
            "external_ids": external_ids,
            "users": users,
            "error": error,
        },
        status=status,
    )


@router.get("/merges/{merge_id}")
def merge_detail(request: Request, db: Db, me: Decider, merge_id: uuid.UUID) -> Response:
    """One merge: who, when, why, what moved, and the undo form."""
    return _merge_page(request, db, me, merge_id)


@router.post("/merges/{merge_id}/undo")
def merge_undo(
    request: Request,
    db: Db,
    me: Decider,
    merge_id: uuid.UUID,
    reason: Annotated[str, Form()] = "",
) -> Response:
    """Undo a wrong merge: the two persons are two again."""
    try:
        merging.undo_merge(db, actor=me.principal, merge_id=merge_id, reason=reason)
    except DomainError as exc:
        db.rollback()
        return _merge_page(
            request,
            db,
            me,
            merge_id,
            error=gettext(exc.message, **exc.params),
            status=exc.status_code,
        )
    return RedirectResponse(f"/registry/merges/{merge_id}", status_code=303)
