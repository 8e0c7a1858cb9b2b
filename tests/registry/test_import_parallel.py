"""The import's fast paths: rows written through the driver, prepared plans, worker processes.

Each fast path must leave exactly what the plain path leaves: the same stored values (as
SQLAlchemy would have bound them), and the same persons, report, counts and audit events
whether rows are prepared here or in workers, in one batch or in many.
"""

from __future__ import annotations

import json
from datetime import UTC, date

import pytest
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import selectinload

from shouhu.core.audit.models import AuditEvent
from shouhu.core.crypto.fields import (
    FieldSealer,
    Sealed,
    associated_data,
    envelope_key_id,
    open_sealed,
)
from shouhu.core.crypto.keyring import current_keyring
from shouhu.core.principal import system_principal
from shouhu.registry import importer
from shouhu.registry.importer import import_file
from shouhu.registry.models import (
    RegistryBlockingKey,
    RegistryDocument,
    RegistryName,
    RegistryPerson,
    RegistryRecord,
)
from tests.factories.registry import (
    import_rows,
    passport_row,
    prc_number,
    registry_row,
    to_15,
    write_csv,
)

TODAY = date(2025, 6, 30)
BORN = date(1980, 5, 17)  # registry_row's birth date
PARENTS_FIRST = (
    RegistryPerson,
    RegistryName,
    RegistryDocument,
    RegistryRecord,
    RegistryBlockingKey,
)


def varied_persons():
    """Persons filling every column: former names, a passport, a 15-digit number, no birth date."""
    born = date(1934, 7, 17)
    return [
        registry_row(external_id="A", name="王小明", former_names="王明;王晓明"),
        passport_row(
            date_of_birth="",
            record_kind="administrative_penalty",
            offence="indecency_administrative",
            decision_authority="北京市公安局东城分局",
            decision_number="京公东行罚决字〔2020〕100号",
            decision_date="2020-04-01",
        ),
        registry_row(external_id="A", decision_number="(2021)京0101刑初9号", offence="rape"),
        registry_row(
            external_id="C",
            name="單田芳",
            sex="",
            date_of_birth="",
            id_number=to_15(prc_number("110101", born, 15)),
            record_kind="non_prosecution",
            decision_authority="北京市东城区人民检察院",
            decision_number="京东检刑不诉〔2018〕5号",
            decision_date="2018-03-03",
        ),
    ]


def driver_rows(session, model):
    """A table's rows as the database driver returns them, before any SQLAlchemy type."""
    table = model.__table__
    quote = session.get_bind().dialect.identifier_preparer.quote
    columns = ", ".join(quote(column.name) for column in table.columns)
    query = f"SELECT {columns} FROM {table.name}"  # noqa: S608 - the model's own names
    rows = session.connection().exec_driver_sql(query).all()
    return sorted((tuple(row) for row in rows), key=repr)


def test_the_bulk_columns_are_every_column_of_their_tables():
    # A column left out would be written NULL (or its default) without anyone noticing.
    for name, columns, _rows in importer._Rows().tables():
        model = next(m for m in PARENTS_FIRST if m.__tablename__ == name)
        assert sorted(columns) == sorted(model.__table__.columns.keys()), name


def test_every_encrypted_column_written_through_the_driver_holds_an_envelope(
    session_factory, session, tmp_path
):
    # The driver path skips `Sealed`'s own refusal of plaintext: a column added without sealing
    # would store plaintext silently. DESIGN §4: personal data is encrypted at rest.
    result = import_rows(session_factory, tmp_path / "in.csv", varied_persons(), today=TODAY)
    assert result.complete, result.rejections
    checked = 0
    for name, columns, _rows in importer._Rows().tables():
        model = next(m for m in PARENTS_FIRST if m.__tablename__ == name)
        sealed = [c.name for c in model.__table__.columns if isinstance(c.type, Sealed)]
        assert set(sealed) <= set(columns)
        for column in sealed:
            values = session.execute(select(model.__table__.c[column])).scalars().all()
            for value in values:
                if value is not None:
                    assert envelope_key_id(bytes(value)), (name, column)
                    checked += 1
    assert checked >= 4 * 5  # names, dates of birth, profiles, numbers, decision numbers


def test_rows_written_through_the_driver_are_stored_as_sqlalchemy_would_store_them(
    session_factory, session, tmp_path
):
    result = import_rows(session_factory, tmp_path / "in.csv", varied_persons(), today=TODAY)
    assert result.complete, result.rejections
    written = {model: driver_rows(session, model) for model in PARENTS_FIRST}
    values = {
        model: [row._asdict() for row in session.execute(select(model.__table__))]
        for model in PARENTS_FIRST
    }
    assert all(values.values())
    # The same values through SQLAlchemy's insert (and its type processing), as imports
    # wrote them before: byte for byte what the driver was given directly.
    for model in reversed(PARENTS_FIRST):
        session.execute(delete(model.__table__))
    for model in PARENTS_FIRST:
        session.execute(insert(model.__table__), values[model])
    for model in PARENTS_FIRST:
        assert driver_rows(session, model) == written[model], model.__tablename__


def test_rows_written_through_the_driver_read_back_through_the_orm(
    session_factory, session, tmp_path
):
    import_rows(session_factory, tmp_path / "in.csv", varied_persons(), today=TODAY)
    persons = {
        p.external_id: p
        for p in session.scalars(
            select(RegistryPerson).options(
                selectinload(RegistryPerson.names),
                selectinload(RegistryPerson.documents),
                selectinload(RegistryPerson.records),
            )
        )
    }
    a, b, c = persons["A"], persons["B"], persons["C"]
    assert (a.name, a.sex, a.date_of_birth, a.nationality) == (
        "王小明",
        "M",
        date(1980, 5, 17),
        "CHN",
    )
    assert sorted((n.kind, n.name) for n in a.names) == [
        ("former", "王明"),
        ("former", "王晓明"),
        ("primary", "王小明"),
    ]
    assert (b.date_of_birth, b.documents[0].number, b.records[0].decision_date) == (
        None,
        "751234567",
        date(2020, 4, 1),
    )
    # The 15-digit number carries the birth date and sex the row left blank.
    assert (c.sex, c.date_of_birth) == ("M", date(1934, 7, 17))
    assert c.documents[0].number == prc_number("110101", date(1934, 7, 17), 15)
    for person in persons.values():
        assert person.created_at.tzinfo is UTC
        assert person.updated_at == person.created_at
        assert person.match_profile is not None
        assert person.keys_version == importer.KEYS_VERSION
        stamps = [n.created_at for n in person.names] + [d.created_at for d in person.documents]
        assert all(stamp.tzinfo is UTC for stamp in stamps)
        assert all(r.updated_at.tzinfo is UTC and r.status == "active" for r in person.records)


def test_a_field_sealer_makes_the_envelopes_seal_makes():
    sealer = FieldSealer()
    aad = associated_data("registry_names", "name", "00000000-0000-4000-8000-000000000000")
    envelope = sealer.seal("王小明".encode(), aad)
    assert envelope_key_id(envelope) == current_keyring().active_field_key_id
    assert open_sealed(envelope, aad) == "王小明".encode()
    assert sealer.seal(b"x", aad) != sealer.seal(b"x", aad)  # a fresh nonce each time


def outcome(session, result):
    """What an import did and left: result, report, audit details and every stored person."""
    session.expire_all()
    events = session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_id == str(result.import_id))
        .order_by(AuditEvent.seq)
    )
    persons = session.scalars(
        select(RegistryPerson).options(
            selectinload(RegistryPerson.names),
            selectinload(RegistryPerson.documents),
            selectinload(RegistryPerson.records),
        )
    )
    stored = {}
    for p in persons:
        keys = session.execute(
            select(RegistryBlockingKey.kind, RegistryBlockingKey.key).where(
                RegistryBlockingKey.person_id == p.id
            )
        )
        stored[p.external_id] = (
            (p.name, p.sex, p.date_of_birth, p.nationality, p.import_digest, p.match_profile),
            sorted((n.kind, n.name) for n in p.names),
            sorted((d.id_type, d.number, d.number_index, d.nationality) for d in p.documents),
            sorted(
                (r.kind, r.offence, r.decision_authority, r.decision_number, r.decision_date)
                for r in p.records
            ),
            {(kind, bytes(key)) for kind, key in keys},
        )
    return {
        "result": (
            result.rows_total,
            result.rows_rejected,
            result.chunks,
            result.counts,
            result.rejections,
        ),
        "report": result.report_path.read_text(),
        "audit": [json.loads(event.details) for event in events],
        "stored": stored,
    }


def undone(session, run):
    """Run an import inside a savepoint, note its outcome, and roll it back."""
    savepoint = session.connection().begin_nested()
    try:
        return outcome(session, run())
    finally:
        savepoint.rollback()
        session.expire_all()


def mixed_file(tmp_path, session_factory):
    """Registered persons, and a file that updates, skips, rejects, drops and spans batches."""
    registered = [
        registry_row(external_id="K1", name="李四", id_number=prc_number("310101", BORN, 1)),
        registry_row(external_id="K2", name="张三", id_number=prc_number("310101", BORN, 3)),
        registry_row(
            external_id="OWNER",
            name="Anna Berg",
            nationality="SWE",
            id_type="passport",
            id_number="E11111111",
        ),
    ]
    import_rows(session_factory, tmp_path / "before.csv", registered, today=TODAY)
    k1, k2, owner = registered
    rows = [
        k1,  # unchanged
        registry_row(external_id="A"),  # A's rows are far apart: in two batches
        registry_row(external_id="B", name="赵六", sex="Q"),  # rejected
        k2,
        {**owner, "external_id": "C", "name": "Carl Berg"},  # OWNER's passport: dropped
        registry_row(external_id="A", decision_number="(2020)2号"),
        {**k2, "decision_number": "(2024)新1号"},  # K2 changed: updated
        registry_row(external_id="D", name="钱七", id_number=prc_number("510107", BORN, 5)),
        registry_row(  # the same decision by another authority: a conflict, rejected
            external_id="D",
            name="钱七",
            id_number=prc_number("510107", BORN, 5),
            decision_authority="成都市武侯区人民法院",
        ),
        registry_row(external_id="E", id_type="passport", id_number="G22222222", sex="F"),
        registry_row(external_id="F", id_type="passport", id_number="G22222222", sex="F"),
    ]
    path = write_csv(tmp_path / "in.csv", rows)
    with path.open("a", encoding="utf-8") as handle:  # G: a value past the last column
        handle.write(",".join(registry_row(external_id="G").values()) + ",surplus\n")
    return path


def test_workers_import_exactly_what_one_process_imports(
    session_factory, session, tmp_path, monkeypatch
):
    path = mixed_file(tmp_path, session_factory)

    def run(workers):
        return import_file(
            session_factory,
            actor=system_principal("cli"),
            path=path,
            chunk_rows=3,
            today=TODAY,
            workers=workers,
        )

    one_batch = undone(session, lambda: run(1))
    # Rejected: B (sex), C and F (another's passport), D's second row (conflict), G (surplus).
    assert one_batch["result"][1] == 5
    assert one_batch["result"][3].persons_updated == 1
    monkeypatch.setattr(importer, "PARALLEL_MIN_ROWS", 0)
    monkeypatch.setattr(importer, "BATCH_ROWS", 4)
    assert undone(session, lambda: run(2)) == one_batch


@pytest.mark.parametrize("told", ["nobody is registered", "everybody is registered"])
def test_persons_prepared_on_stale_knowledge_are_written_as_they_are_now(
    session_factory, session, tmp_path, monkeypatch, told
):
    # Batches are prepared ahead; what the database says when the chunk is written decides.
    path = mixed_file(tmp_path, session_factory)

    def run():
        return import_file(
            session_factory, actor=system_principal("cli"), path=path, chunk_rows=3, today=TODAY
        )

    expected = undone(session, run)
    if told == "nobody is registered":
        monkeypatch.setattr(importer._Writer, "known_digests", lambda _self, _ids: {})
    else:
        monkeypatch.setattr(
            importer._Writer, "known_digests", lambda _self, ids: dict.fromkeys(ids, "stale")
        )
    assert undone(session, run) == expected


def test_a_file_without_surprises_is_written_from_its_prepared_persons(
    session_factory, session, tmp_path, monkeypatch
):
    # Nothing is validated twice in the writing process when the plans fit: not even for a
    # person whose rows lie in different batches, nor for one that is updated.
    import_rows(session_factory, tmp_path / "before.csv", [registry_row(external_id="K")])
    rows = [
        registry_row(external_id="A", name="李四", id_number=prc_number("310101", BORN, 7)),
        registry_row(external_id="K", decision_number="(2024)新1号"),
        *(
            registry_row(external_id=f"P{n}", id_number=prc_number("440106", BORN, 11 + 2 * n))
            for n in range(4)
        ),
        registry_row(
            external_id="A",
            name="李四",
            id_number=prc_number("310101", BORN, 7),
            decision_number="(2020)2号",
        ),
    ]
    path = write_csv(tmp_path / "in.csv", rows)

    def validated_again(_self, refs):
        raise AssertionError(f"rows {[ref.row for ref in refs]} were validated again")

    monkeypatch.setattr(importer._Writer, "_valid_rows", validated_again)
    monkeypatch.setattr(importer, "BATCH_ROWS", 3)
    result = import_file(session_factory, actor=system_principal("cli"), path=path, today=TODAY)
    assert result.complete, result.rejections
    assert (result.counts.persons_created, result.counts.persons_updated) == (5, 1)
    assert result.counts.records_added == 7
