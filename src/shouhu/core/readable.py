"""One row of a `readable_*` statement, or the 404 of one that does not exist (DESIGN §2)."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import Session

from shouhu.core.errors import NotFoundError

T = TypeVar("T")


def one_readable(session: Session, statement: Select[T], missing: str, *, lock: bool = False) -> T:
    """The statement's one row (locked if asked), or NotFoundError with `missing`."""
    if lock:
        statement = statement.with_for_update()
    found = session.scalar(statement)
    if found is None:
        raise NotFoundError(missing)
    return found
