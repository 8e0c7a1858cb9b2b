"""Importing registry files: persons, idempotence, updates, XLSX, headers, chunks and audit."""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
from sqlalchemy import event, func, select
from sqlalchemy import text as sql_text

from shouhu.core.audit.models import AuditEvent
from shouhu.core.errors import ConflictError, ForbiddenError
from shouhu.core.principal import Principal, system_principal
from shouhu.core.tabular import TableFileError
from shouhu.identity.names import name_keys
from shouhu.matching import blocking
from shouhu.matching.blocking import KeyKind, key_digest
from shouhu.matching.profile import MatchProfile, ProfileDocument, ProfileName
from shouhu.registry import importer
from shouhu.registry.importer import COLUMNS, import_file, report_path_for
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
    synthetic_rows,
    to_15,
    write_csv,
    write_xlsx,
)

TODAY = date(2025, 6, 30)
BORN = date(1980, 5, 17)
TABLES = (RegistryPerson, RegistryName, RegistryDocument, RegistryRecord, RegistryBlockingKey)


def counts(session):
    return {m.__tablename__: session.scalar(select(func.count()).select_from(m)) for m in TABLES}


def snapshot(session):
    """Every stored row of the registry, ciphertexts included, in a stable order."""
    state = {}
    for model in TABLES:
        table = model.__table__
        rows = session.execute(select(table)).all()
        state[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    return state


def person(session, external_id):
    return session.scalars(
        select(RegistryPerson).where(RegistryPerson.external_id == external_id)
    ).one()


def stored_keys(session, person_id):
    return {
        (kind, bytes(key))
        for kind, key in session.execute(
            select(RegistryBlockingKey.kind, RegistryBlockingKey.key).where(
                RegistryBlockingKey.person_id == person_id
            )
        )
    }


def three_persons():
    return [
        registry_row(external_id="A", name="王小明", former_names="王明"),
        passport_row(
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
            sex="M",
            date_of_birth="1934-07-17",
            id_number=to_15(prc_number("110101", date(1934, 7, 17), 15)),
            record_kind="non_prosecution",
            decision_authority="北京市东城区人民检察院",
            decision_number="京东检刑不诉〔2018〕5号",
            decision_date="2018-03-03",
        ),
    ]


def test_a_file_creates_persons_with_names_documents_records_and_keys(
    session_factory, session, tmp_path
):
    result = import_rows(session_factory, tmp_path / "in.csv", three_persons(), today=TODAY)
    assert result.complete
    assert result.rows_total == 4
    assert (result.counts.persons_created, result.counts.records_added) == (3, 4)
    assert counts(session)["registry_persons"] == 3
    a = person(session, "A")
    assert (a.name, a.sex, a.date_of_birth, a.nationality) == ("王小明", "M", BORN, "CHN")
    assert sorted((n.kind, n.name) for n in a.names) == [("former", "王明"), ("primary", "王小明")]
    assert [(d.id_type, d.number) for d in a.documents] == [
        ("prc_id", prc_number("110101", BORN, 123))
    ]
    assert sorted((r.offence, r.decision_number, r.status) for r in a.records) == [
        ("child_molestation", "(2019)京0101刑初123号", "active"),
        ("rape", "(2021)京0101刑初9号", "active"),
    ]
    c = person(session, "C")
    # The 15-digit number is stored in its 18-character form.
    assert c.documents[0].number == prc_number("110101", date(1934, 7, 17), 15)
    assert c.records[0].kind == "non_prosecution"
    # The stored keys are exactly those the matching engine will compute.
    expected = blocking.stored_keys(
        MatchProfile(
            names=(ProfileName("primary", "王小明"), ProfileName("former", "王明")),
            documents=(ProfileDocument("prc_id", prc_number("110101", BORN, 123), "CHN"),),
            date_of_birth=BORN,
            sex="M",
            nationality="CHN",
        )
    )
    assert a.match_profile is not None
    assert blocking.stored_keys(a.match_profile) == expected
    assert stored_keys(session, a.id) == {(k.kind.value, k.key) for k in expected}
    # An empty report is still written, so it always describes the last run.
    assert report_path_for(tmp_path / "in.csv").read_text() == "row,field,reason,message\n"


def test_importing_the_same_file_twice_changes_nothing(session_factory, session, tmp_path):
    path = tmp_path / "in.csv"
    first = import_rows(session_factory, path, three_persons(), today=TODAY)
    before = snapshot(session)
    second = import_file(session_factory, actor=system_principal("cli"), path=path, today=TODAY)
    session.expire_all()
    assert snapshot(session) == before  # the same rows, the same ciphertexts
    assert first.counts.persons_created == 3
    assert (second.counts.persons_created, second.counts.persons_updated) == (0, 0)
    assert second.counts.persons_unchanged == 3
    assert (second.counts.records_added, second.counts.names_added) == (0, 0)


def test_a_person_whose_file_changed_is_compared_value_by_value_and_not_resealed(
    session_factory, session, tmp_path
):
    import_rows(session_factory, tmp_path / "one.csv", three_persons(), today=TODAY)
    before = snapshot(session)
    # The same persons, and one more record for A: A is compared field by field.
    rows = [*three_persons(), registry_row(external_id="A", decision_number="(2024)新1号")]
    result = import_rows(session_factory, tmp_path / "two.csv", rows, today=TODAY)
    session.expire_all()
    after = snapshot(session)
    assert (result.counts.persons_updated, result.counts.persons_unchanged) == (1, 2)
    assert result.counts.records_added == 1
    for table in ("registry_names", "registry_documents", "registry_blocking_keys"):
        assert after[table] == before[table]
    assert set(before["registry_records"]) < set(after["registry_records"])
    # A's own row keeps its sealed name and birth date (only the import digest and time move).
    a_before = next(r for r in before["registry_persons"] if "A" in r)
    a_after = next(r for r in after["registry_persons"] if "A" in r)
    columns = [c.name for c in RegistryPerson.__table__.columns]
    for column in ("name", "date_of_birth", "sex", "nationality", "created_at"):
        position = columns.index(column)
        assert a_before[position] == a_after[position], column


def test_a_known_external_id_updates_the_person(session_factory, session, tmp_path):
    import_rows(session_factory, tmp_path / "one.csv", three_persons(), today=TODAY)
    a = person(session, "A")
    old_keys = stored_keys(session, a.id)
    changed = [
        registry_row(
            external_id="A",
            name="王晓东",  # a changed name (改名)
            former_names="王东",
            nationality="",
            id_type="passport",
            id_number="E98765432",  # a new document
            decision_authority="北京市第二中级人民法院",  # a corrected authority
        ),
        registry_row(
            external_id="A",
            name="王晓东",
            id_type="passport",
            id_number="E98765432",
            decision_number="(2024)京02刑终1号",
            offence="rape",
        ),
    ]
    result = import_rows(session_factory, tmp_path / "two.csv", changed, today=TODAY)
    assert result.complete, result.rejections
    assert (result.counts.persons_updated, result.counts.persons_created) == (1, 0)
    assert (result.counts.records_added, result.counts.records_updated) == (1, 1)
    assert (result.counts.names_added, result.counts.documents_added) == (2, 1)
    session.expire_all()
    a = person(session, "A")
    assert a.name == "王晓东"
    # The old name stays as a former name: screening still finds the person by it.
    assert sorted((n.kind, n.name) for n in a.names) == [
        ("former", "王东"),
        ("former", "王小明"),
        ("former", "王明"),
        ("primary", "王晓东"),
    ]
    assert sorted(d.id_type for d in a.documents) == ["passport", "prc_id"]
    records = {r.decision_number: r for r in a.records}
    assert records["(2019)京0101刑初123号"].decision_authority == "北京市第二中级人民法院"
    assert len(records) == 3
    # The keys were rebuilt: the old ones stay (the person still has those names and numbers)
    # and the new name and passport were added.
    new_keys = stored_keys(session, a.id)
    assert old_keys < new_keys
    for text in name_keys("王晓东"):
        assert ("name", key_digest(KeyKind.NAME, text)) in new_keys
    assert ("doc", key_digest(KeyKind.DOCUMENT, "E98765432")) in new_keys


def test_a_corrected_birth_date_replaces_the_old_one_and_its_key(
    session_factory, session, tmp_path
):
    row = registry_row(id_type="other", id_number="OLD-CARD-1")
    import_rows(session_factory, tmp_path / "one.csv", [row], today=TODAY)
    fixed = {**row, "date_of_birth": "1980-06-17", "sex": "F"}
    result = import_rows(session_factory, tmp_path / "two.csv", [fixed], today=TODAY)
    assert result.counts.persons_updated == 1
    session.expire_all()
    p = person(session, "P-0001")
    assert (p.date_of_birth, p.sex) == (date(1980, 6, 17), "F")
    kinds = stored_keys(session, p.id)
    birth = {key for kind, key in kinds if kind == "dob_pfx"}
    # 王小明: the first letters of wang, xiaoming (pinyin) and hsiaoming (Wade-Giles).
    assert birth == {
        key_digest(KeyKind.BIRTH_WORD, f"1980-06-17|F|{prefix}") for prefix in ("wan", "xia", "hsi")
    }


def test_a_blank_in_a_later_file_keeps_what_is_stored(session_factory, session, tmp_path):
    import_rows(session_factory, tmp_path / "one.csv", [registry_row()], today=TODAY)
    blank = registry_row(sex="", date_of_birth="", nationality="")
    result = import_rows(session_factory, tmp_path / "two.csv", [blank], today=TODAY)
    assert result.counts.persons_unchanged + result.counts.persons_updated == 1
    session.expire_all()
    p = person(session, "P-0001")
    assert (p.sex, p.date_of_birth, p.nationality) == ("M", BORN, "CHN")


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_xlsx_and_csv_with_a_byte_order_mark_import_the_same(
    session_factory, session, tmp_path, suffix
):
    path = tmp_path / f"in{suffix}"
    if suffix == ".xlsx":
        write_xlsx(path, three_persons())
    else:
        write_csv(path, three_persons(), bom=True)
    result = import_file(session_factory, actor=system_principal("cli"), path=path, today=TODAY)
    assert result.complete, result.rejections
    assert (result.counts.persons_created, result.counts.records_added) == (3, 4)
    assert person(session, "C").name == "單田芳"


def test_xlsx_cells_keep_their_meaning_and_their_row_numbers(session_factory, session, tmp_path):
    rows = [
        # Dates as spreadsheet dates, and a 15-digit number typed as a number.
        {
            **registry_row(id_number=""),
            "id_number": int(to_15(prc_number("110101", BORN, 123))),
            "date_of_birth": BORN,
            "decision_date": date(2019, 11, 5),
        },
        {**registry_row(external_id="Q"), "sex": "X"},
    ]
    path = write_xlsx(tmp_path / "in.xlsx", rows)
    result = import_file(session_factory, actor=system_principal("cli"), path=path, today=TODAY)
    assert [(r.row, r.field, r.reason) for r in result.rejections] == [(3, "sex", "bad_sex")]
    p = person(session, "P-0001")
    assert p.documents[0].number == prc_number("110101", BORN, 123)
    assert p.records[0].decision_date == date(2019, 11, 5)


HEADER_PROBLEMS = [
    ("unknown", "unknown column(s) colour"),
    ("missing", "lacks the required column(s) offence"),
    ("repeated", "repeats name"),
    ("blank", "header column 3 has no name"),
]


@pytest.mark.parametrize(("problem", "message"), HEADER_PROBLEMS)
def test_a_bad_header_stops_the_import_before_anything_is_written(
    session_factory, session, tmp_path, problem, message
):
    columns = list(registry_row())
    if problem == "unknown":
        columns.append("colour")
    elif problem == "missing":
        columns.remove("offence")
    elif problem == "repeated":
        columns.append("name")
    else:
        columns.insert(2, "")
    path = write_csv(tmp_path / "in.csv", three_persons(), columns=columns)
    events_before = session.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(TableFileError) as caught:
        import_file(session_factory, actor=system_principal("cli"), path=path, today=TODAY)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)
    assert counts(session)["registry_persons"] == 0
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events_before
    assert not report_path_for(path).exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "the file is empty"),
        ("latin1.csv", (",".join(COLUMNS) + "\nP,G\xf6del\n").encode("latin-1"), "not UTF-8"),
        ("table.ods", b"whatever", "unsupported file type"),
        ("broken.xlsx", b"not a zip", "not a readable .xlsx workbook"),
    ],
)
def test_an_unreadable_file_is_a_clear_error(session_factory, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(TableFileError, match=message):
        import_file(session_factory, actor=system_principal("cli"), path=path)


def test_only_registry_clerks_and_the_operators_shell_may_import(session_factory, tmp_path):
    path = write_csv(tmp_path / "in.csv", [registry_row()])
    hr = Principal(
        user_id=uuid.uuid4(),
        organisation_id=None,
        org_type="institution",
        roles=frozenset({"institution_hr"}),
        channel="web",
    )
    with pytest.raises(ForbiddenError):
        import_file(session_factory, actor=hr, path=path)
    clerk = Principal(
        user_id=hr.user_id,
        organisation_id=None,
        org_type="public_security",
        roles=frozenset({"registry_clerk"}),
        channel="web",
    )
    assert import_file(session_factory, actor=clerk, path=path, today=TODAY).complete


def import_events(session, import_id):
    return session.scalars(
        select(AuditEvent).where(AuditEvent.object_id == str(import_id)).order_by(AuditEvent.seq)
    ).all()


def test_each_chunk_writes_one_audit_event_with_counts_and_no_personal_data(
    session_factory, session, tmp_path
):
    rows = [*three_persons(), registry_row(external_id="D", sex="Q")]
    progress = []
    result = import_rows(
        session_factory,
        tmp_path / "in.csv",
        rows,
        chunk_rows=2,
        today=TODAY,
        progress=lambda done, total: progress.append((done, total)),
    )
    # Before the first chunk, after each chunk committed, and at the end.
    assert progress == [(0, 5), (3, 5), (5, 5)]
    events = import_events(session, result.import_id)
    assert [e.action for e in events] == ["cli:registry:import"] * 2
    details = [json.loads(e.details) for e in events]
    assert [d["chunk"] for d in details] == [1, 2]
    # B (row 3) is complete first, then A (rows 2 and 4): 3 rows, a full chunk; C and the
    # rejected D make the last.
    assert [(d["rows"], d["persons_created"]) for d in details] == [(3, 2), (1, 1)]
    assert sum(d["rows_rejected"] for d in details) == 1
    assert {d["file_sha256"] for d in details} == {result.file_sha256}
    text = " ".join(e.details for e in events)
    for secret in ("王小明", "Olga", "單田芳", prc_number("110101", BORN, 123), "1980-05-17"):
        assert secret not in text


def test_a_failure_between_chunks_leaves_earlier_chunks_complete(
    session_factory, session, tmp_path
):
    calls = []

    def progress(done, total):
        calls.append((done, total))
        if len(calls) == 2:  # after the first chunk was committed
            raise RuntimeError("disk full")

    rows = three_persons()
    write_csv(tmp_path / "in.csv", rows)
    with pytest.raises(RuntimeError, match="disk full"):
        import_file(
            session_factory,
            actor=system_principal("cli"),
            path=tmp_path / "in.csv",
            chunk_rows=2,
            progress=progress,
            today=TODAY,
        )
    assert calls == [(0, 4), (3, 4)]
    # B and A (complete at row 4) were committed whole; C, read after the failure, was not.
    assert sorted(session.scalars(select(RegistryPerson.external_id))) == ["A", "B"]
    assert counts(session)["registry_records"] == 3
    # Running it again finishes the job, touching nothing already there.
    again = import_file(
        session_factory, actor=system_principal("cli"), path=tmp_path / "in.csv", today=TODAY
    )
    assert (again.counts.persons_created, again.counts.persons_unchanged) == (1, 2)


def test_a_failure_inside_a_chunk_writes_nothing_of_that_chunk(
    session_factory, session, tmp_path, monkeypatch
):
    real = importer.audit_record
    chunks = []

    def failing(*args, **kwargs):
        chunks.append(kwargs["details"]["chunk"])
        if len(chunks) == 2:  # every row of the second chunk has been inserted by now
            raise RuntimeError("crash at the end of the second chunk")
        return real(*args, **kwargs)

    monkeypatch.setattr(importer, "audit_record", failing)
    # A's three rows are far apart; whole persons are written, so A is all or nothing.
    rows = [
        registry_row(external_id="A"),
        *three_persons()[1:2],
        registry_row(external_id="A", decision_number="(2020)2号"),
        *three_persons()[3:],
        registry_row(external_id="A", decision_number="(2021)3号"),
        registry_row(external_id="E", name="李四", id_number=prc_number("310101", BORN, 7)),
    ]
    write_csv(tmp_path / "in.csv", rows)
    with pytest.raises(RuntimeError, match="crash at the end of the second chunk"):
        import_file(
            session_factory,
            actor=system_principal("cli"),
            path=tmp_path / "in.csv",
            chunk_rows=2,
            today=TODAY,
        )
    # B and C (complete at rows 3 and 5) were the first chunk; A (complete at row 6) the second.
    assert sorted(session.scalars(select(RegistryPerson.external_id))) == ["B", "C"]
    # Nothing of A: no name, document, record or key row without its person.
    total = counts(session)
    assert total["registry_names"] == 2
    assert total["registry_documents"] == 2
    assert total["registry_records"] == 2
    owners = set(session.scalars(select(RegistryBlockingKey.person_id).distinct()))
    assert owners == set(session.scalars(select(RegistryPerson.id)))


def test_a_large_file_is_written_in_chunks_without_a_query_per_row(
    session_factory, session, tmp_path
):
    rows = list(synthetic_rows(300, records_per_person=2))
    statements = []
    connection = session.connection()

    def count(*_args):
        statements.append(1)

    event.listen(connection.engine, "before_cursor_execute", count)
    try:
        result = import_rows(session_factory, tmp_path / "big.csv", rows, chunk_rows=100)
    finally:
        event.remove(connection.engine, "before_cursor_execute", count)
    assert result.complete, result.rejections[:3]
    assert result.counts.persons_created == 150
    assert result.counts.records_added == 300
    assert result.chunks == 3
    # A bounded number of statements per chunk (look-ups, bulk inserts, audit), not per row.
    assert len(statements) < 20 * result.chunks


def test_a_person_registered_meanwhile_by_another_import_stops_with_a_conflict(
    session_factory, session, tmp_path, monkeypatch
):
    path = write_csv(tmp_path / "in.csv", three_persons())
    import_file(session_factory, actor=system_principal("cli"), path=path, today=TODAY)
    before = snapshot(session)
    # As if another import had committed these persons after this one looked them up.
    monkeypatch.setattr(importer._Writer, "_known", staticmethod(lambda _session, _ids: {}))
    with pytest.raises(ConflictError, match="run this import again"):
        import_file(session_factory, actor=system_principal("cli"), path=path, today=TODAY)
    session.expire_all()
    assert snapshot(session) == before


def lookup_keys(*, names, document_numbers, date_of_birth=None, sex=None):
    """The keys the matching engine looks a query up by."""
    keys = blocking.query_keys(
        MatchProfile(
            names=tuple(ProfileName("primary", name) for name in names),
            documents=tuple(ProfileDocument("prc_id", n, None) for n in document_numbers),
            date_of_birth=date_of_birth,
            sex=sex,
            nationality=None,
        )
    )
    return keys.bounded | keys.capped


def test_an_imported_person_is_found_by_the_keys_of_another_spelling(
    session_factory, session, tmp_path
):
    import_rows(session_factory, tmp_path / "in.csv", three_persons(), today=TODAY)
    c = person(session, "C")  # imported as 單田芳 with a 15-digit number

    def found(**query):
        keys = lookup_keys(**query)
        return set(
            session.scalars(
                select(RegistryBlockingKey.person_id).where(RegistryBlockingKey.key.in_(list(keys)))
            )
        )

    long_number = prc_number("110101", date(1934, 7, 17), 15)
    assert found(names=["Shan Tianfang"], document_numbers=[]) == {c.id}  # pinyin
    assert found(names=["单田芳"], document_numbers=[]) == {c.id}  # simplified
    assert found(names=[], document_numbers=[long_number]) == {c.id}  # the 18-digit form
    assert found(names=["Nobody Here"], document_numbers=["E00000001"]) == set()


def test_an_import_leaves_planner_statistics_for_the_key_look_ups(session_factory, tmp_path):
    # Without them PostgreSQL scans the whole key table for each batch of look-ups.
    import_rows(
        session_factory, tmp_path / "r.csv", [registry_row(external_id=f"P{i}") for i in range(3)]
    )
    with session_factory() as session:
        if session.get_bind().dialect.name != "postgresql":
            return  # SQLite looks keys up through the primary key with or without statistics
        sampled = session.scalar(
            sql_text("SELECT count(*) FROM pg_stats WHERE tablename = 'registry_blocking_keys'")
        )
    assert sampled
