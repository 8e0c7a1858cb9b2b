"""The registry as the matching engine's candidate source: profiles and records in scope."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from shouhu.registry.candidates import RegistryCandidates
from shouhu.registry.models import RegistryPerson
from shouhu.registry.policy import InquiryPurpose, policy
from tests.factories.registry import import_rows, prc_number, registry_row

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session, sessionmaker


def _two_persons(session_factory: sessionmaker[Session], session: Session, tmp_path: Path) -> Any:
    born = date.fromisoformat(registry_row()["date_of_birth"])
    import_rows(
        session_factory,
        tmp_path / "registry.csv",
        [
            registry_row(),
            registry_row(
                external_id="P-0002",
                name="李娜",
                sex="F",
                id_number=prc_number("310101", born, 124),
                offence="rape",
                decision_number="(2020)沪0101刑初7号",
            ),
        ],
    )
    rows = session.execute(
        select(RegistryPerson.id, RegistryPerson.external_id).order_by(RegistryPerson.external_id)
    ).all()
    return {external_id: person_id for person_id, external_id in rows}


def test_a_person_is_in_scope_through_their_own_records(
    session_factory: sessionmaker[Session], session: Session, tmp_path: Path
) -> None:
    ids = _two_persons(session_factory, session, tmp_path)
    scope = policy().scope(InquiryPurpose.SCHOOL_STAFF)
    source = RegistryCandidates(session, scope)
    raw = {
        external_id: person_id.hex if source.dialect.mark == "?" else person_id
        for external_id, person_id in ids.items()
    }
    found = source.profiles(list(raw.values()))
    assert {c.external_id: c.in_scope for c in found.values()} == {
        "P-0001": True,
        "P-0002": True,
    }
    # A scope counting only rape: the first person's molestation record no longer counts.
    narrow = RegistryCandidates(session, dataclasses.replace(scope, offences=("rape",)))
    assert {c.external_id: c.in_scope for c in narrow.profiles(list(raw.values())).values()} == {
        "P-0001": False,
        "P-0002": True,
    }


def test_sqlite_looks_records_up_by_person_not_by_status(
    session_factory: sessionmaker[Session], session: Session, tmp_path: Path
) -> None:
    # SQLite keeps no planner statistics here: left to choose, it walked the status index,
    # every active record of the registry for each candidate (10 ms an inquiry at 10⁵ persons).
    ids = _two_persons(session_factory, session, tmp_path)
    source = RegistryCandidates(session, policy().scope(InquiryPurpose.SCHOOL_STAFF))
    if source.dialect.postgres:
        pytest.skip("PostgreSQL plans from the statistics an import gathers (ANALYZE)")
    executed: list[tuple[str, list[Any]]] = []
    real = source._rows

    def capture(sql: str, params: Any) -> list[tuple[Any, ...]]:
        executed.append((sql, list(params)))
        return real(sql, params)

    source._rows = capture  # type: ignore[method-assign]
    source.profiles([person_id.hex for person_id in ids.values()])
    [(sql, params)] = executed
    plan = " ".join(str(row[-1]) for row in source._rows(f"EXPLAIN QUERY PLAN {sql}", params))
    assert "ix_registry_records_person_id" in plan
    assert "ix_registry_records_status" not in plan
