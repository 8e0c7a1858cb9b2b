"""Keeping the registry's tables fit for look-ups after bulk changes."""

from __future__ import annotations

from typing import Final

from sqlalchemy import text
from sqlalchemy.orm import Session

from shouhu.registry.models import (
    RegistryBlockingKey,
    RegistryDocument,
    RegistryName,
    RegistryPerson,
    RegistryRecord,
)

REGISTRY_TABLES: Final = tuple(
    model.__tablename__
    for model in (
        RegistryPerson,
        RegistryName,
        RegistryDocument,
        RegistryRecord,
        RegistryBlockingKey,
    )
)


def refresh_planner_statistics(session: Session) -> None:
    """Have PostgreSQL sample the registry tables again (ANALYZE), after a bulk change.

    Without statistics PostgreSQL guesses that a look-up of 500 blocking keys matches much of
    the table and scans all of it: 20 s a batch at 10⁶ persons, instead of milliseconds.
    Autovacuum would analyse the tables eventually, or never where it is off; an import or a
    key rebuild does it at once. ANALYZE reads a fixed sample (seconds at 10⁶ persons). SQLite
    needs nothing: without statistics it still looks keys up through the primary key.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(text("ANALYZE " + ", ".join(REGISTRY_TABLES)))
