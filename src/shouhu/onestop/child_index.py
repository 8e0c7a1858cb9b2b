"""The blind index that recognises the same child across cases (interviews counted per child).

Children received before migration 0010 have no index: a migration holds no blind-index key,
so `backfill_child_indexes` fills them in where the keyring is loaded. `shouhu db upgrade` runs
it after migrating when the keys are at hand, and `shouhu db backfill` runs it on its own.
"""

from __future__ import annotations

import uuid
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.core.audit.chain import record as audit_record
from shouhu.core.crypto.blind_index import blind_index
from shouhu.core.principal import Principal
from shouhu.onestop.models import CaseChild

# A domain of its own: a child's index can never be joined with the registry's document index.
CHILD_DOCUMENT_DOMAIN: Final = "onestop:child_document"
ACTION_CHILD_INDEX_BACKFILL: Final = "onestop:child_index_backfill"
BACKFILL_BATCH: Final = 500


def child_index(id_type: str | None, number: str | None) -> str | None:
    """The index of a child's canonical document (type and number), or None without one."""
    if not id_type or not number:
        return None
    return blind_index(f"{id_type}\x1f{number}", domain=CHILD_DOCUMENT_DOMAIN)


def backfill_child_indexes(
    session: Session, *, actor: Principal, batch_size: int = BACKFILL_BATCH
) -> int:
    """Index the documents of children entered without an index; how many were filled.

    Needs the installed keyring (to open the sealed number and to compute the index). Walks the
    children by id in batches, so memory stays flat; a child without a document stays NULL.
    One audit event with the count, only when something was filled.
    """
    filled = 0
    after: uuid.UUID | None = None
    while True:
        statement = (
            select(CaseChild)
            .where(
                CaseChild.id_index.is_(None),
                CaseChild.id_type.is_not(None),
                CaseChild.id_number_sealed.is_not(None),
            )
            .order_by(CaseChild.id)
            .limit(batch_size)
        )
        if after is not None:
            statement = statement.where(CaseChild.id > after)
        children = list(session.scalars(statement))
        if not children:
            break
        for child in children:
            index = child_index(child.id_type, child.id_number)
            if index is not None:
                child.id_index = index
                filled += 1
        after = children[-1].id
        session.flush()
    if filled:
        audit_record(
            session,
            actor=actor,
            action=ACTION_CHILD_INDEX_BACKFILL,
            object_type="case_child",
            details={"filled": filled},  # a count: nothing about any child
        )
    return filled
