"""Imports after reviewers acted: a merged person's rows reach the kept person, and a corrected
decision is never brought back by a file that still holds its old version."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select

from shouhu.registry import merging
from shouhu.registry.lifecycle import RecordCorrection, approve_record, submit_correction
from shouhu.registry.models import RegistryPerson
from tests.factories.lifecycle import make_cast
from tests.factories.registry import import_rows, prc_number, registry_row

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session, sessionmaker

SECOND_NUMBER = prc_number("310101", date(1980, 5, 17), 457)


def _person(session: Session, external_id: str) -> RegistryPerson:
    return session.scalars(
        select(RegistryPerson).where(RegistryPerson.external_id == external_id)
    ).one()


def test_rows_of_a_merged_person_update_the_kept_one(
    session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    cast = make_cast(session)
    first = registry_row(external_id="A")
    second = registry_row(
        external_id="B",
        name="王晓明",
        id_number=SECOND_NUMBER,
        decision_number="(2021)沪0101刑初2号",
    )
    assert import_rows(session_factory, tmp_path / "one.csv", [first, second]).complete
    kept, merged = _person(session, "A"), _person(session, "B")
    merging.merge_persons(
        session, actor=cast.reviewer, kept_id=kept.id, merged_id=merged.id, reason="同一人"
    )
    session.commit()
    new_conviction = registry_row(
        external_id="B",
        name="王晓明",
        id_number=SECOND_NUMBER,
        offence="rape",
        decision_number="(2025)沪0101刑初9号",
        decision_date="2025-01-01",
    )
    result = import_rows(session_factory, tmp_path / "two.csv", [first, second, new_conviction])
    assert result.complete, result.rejections
    session.expire_all()
    kept, merged = _person(session, "A"), _person(session, "B")
    numbers = sorted(r.decision_number or "" for r in kept.records)
    assert numbers == ["(2019)京0101刑初123号", "(2021)沪0101刑初2号", "(2025)沪0101刑初9号"]
    assert kept.name == "王小明"  # the kept person's name stays; the other is a former name
    assert "王晓明" in {n.name for n in kept.names}
    assert (merged.names, merged.documents, merged.records) == ([], [], [])


def test_a_corrected_decision_is_not_brought_back_by_an_old_file(
    session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    cast = make_cast(session)
    row = registry_row(external_id="A")
    assert import_rows(session_factory, tmp_path / "one.csv", [row]).complete
    [record] = _person(session, "A").records
    correction = submit_correction(
        session,
        actor=cast.registry_clerk,
        record_id=record.id,
        data=RecordCorrection(
            record_kind="conviction",
            offence=record.offence,
            decision_authority=record.decision_authority,
            decision_number="(2019)京0101刑初124号",  # the judgment's number, mistyped before
            decision_date=record.decision_date.isoformat(),
        ),
    )
    approve_record(session, actor=cast.reviewer, record_id=correction.id)
    session.commit()
    # The source system's next full export still holds the old number, with another date.
    again = registry_row(external_id="A", decision_date="2019-11-06")
    assert import_rows(session_factory, tmp_path / "two.csv", [again]).complete
    session.expire_all()
    records = sorted(
        (r.version, r.status, r.decision_number) for r in _person(session, "A").records
    )
    assert records == [
        (1, "corrected", "(2019)京0101刑初123号"),
        (2, "active", "(2019)京0101刑初124号"),
    ]
