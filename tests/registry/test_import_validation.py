"""Every field of an import row is checked; each problem is reported as row, field and reason."""

from __future__ import annotations

import csv
from datetime import date

import pytest
from sqlalchemy import func, select

from shouhu.core.principal import system_principal
from shouhu.registry.importer import import_file
from shouhu.registry.models import RegistryPerson, RegistryRecord
from tests.factories.registry import import_rows, prc_number, registry_row

BORN = date(1980, 5, 17)
NUMBER = prc_number("110101", BORN, 123)  # a man's number (odd sequence)
TODAY = date(2025, 6, 30)

CASES = [
    ({"external_id": ""}, "external_id", "missing"),
    ({"external_id": "X" * 65}, "external_id", "too_long"),
    ({"name": "  "}, "name", "missing"),
    ({"name": "12345"}, "name", "no_letters"),
    ({"name": "王\x1b小明"}, "name", "control_characters"),
    ({"former_names": "王小华;123"}, "former_names", "no_letters"),
    ({"sex": "X"}, "sex", "bad_sex"),
    ({"date_of_birth": "17/05/1980"}, "date_of_birth", "bad_date"),
    ({"date_of_birth": "1980-02-30"}, "date_of_birth", "impossible_date"),
    ({"date_of_birth": "1800-01-01", "id_type": "other"}, "date_of_birth", "impossible_date"),
    (
        {"date_of_birth": "2025-07-01", "id_type": "other", "decision_date": "2025-06-01"},
        "date_of_birth",
        "future_date",
    ),
    ({"nationality": "XYZ"}, "nationality", "unknown_nationality"),
    ({"id_type": "driving_licence"}, "id_type", "unknown_id_type"),
    ({"id_type": ""}, "id_type", "missing"),
    ({"id_number": ""}, "id_number", "missing"),
    (
        {"id_number": NUMBER[:-1] + ("0" if NUMBER[-1] != "0" else "1")},
        "id_number",
        "bad_check_character",
    ),
    ({"id_number": prc_number("990101", BORN, 123)}, "id_number", "unknown_region_code"),
    ({"date_of_birth": "1980-05-18"}, "date_of_birth", "birth_date_mismatch"),
    ({"sex": "F"}, "sex", "sex_mismatch"),
    ({"id_type": "passport", "id_number": "X1234567"}, "id_number", "bad_format"),
    ({"record_kind": "verdict"}, "record_kind", "unknown_record_kind"),
    ({"record_kind": ""}, "record_kind", "missing"),
    ({"offence": "theft"}, "offence", "unknown_offence"),
    ({"record_kind": "administrative_penalty"}, "offence", "offence_kind_mismatch"),
    ({"decision_authority": ""}, "decision_authority", "missing"),
    ({"decision_authority": "院" * 201}, "decision_authority", "too_long"),
    ({"decision_number": ""}, "decision_number", "missing"),
    ({"decision_date": ""}, "decision_date", "missing"),
    ({"decision_date": "2019-13-01"}, "decision_date", "impossible_date"),
    ({"decision_date": "2025-07-01"}, "decision_date", "future_date"),
    ({"decision_date": "1979-01-01"}, "decision_date", "before_birth"),
]


def read_report(path):
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("case", CASES, ids=[f"{c[1]}-{c[2]}" for c in CASES])
def test_a_bad_value_rejects_its_row_naming_row_field_and_reason(
    session_factory, session, tmp_path, case
):
    overrides, field, reason = case
    rows = [
        registry_row(external_id="GOOD-1"),
        registry_row(external_id="GOOD-2", id_number=prc_number("310101", BORN, 5)),
        registry_row(**{"external_id": "BAD", **overrides}),
    ]
    result = import_rows(session_factory, tmp_path / "in.csv", rows, today=TODAY)
    report = read_report(result.report_path)
    # The header is row 1, so the third data row is row 4.
    assert [(r["row"], r["field"], r["reason"]) for r in report] == [("4", field, reason)]
    assert report[0]["message"]
    assert result.rows_total == 3
    assert result.rows_rejected == 1
    assert not result.complete
    # The good rows are imported regardless.
    assert result.counts.persons_created == 2
    assert session.scalar(select(func.count()).select_from(RegistryPerson)) == 2


def test_every_problem_of_a_row_is_reported_not_just_the_first(session_factory, tmp_path):
    row = registry_row(sex="?", nationality="ZZZ", offence="theft", decision_date="2019-02-30")
    result = import_rows(session_factory, tmp_path / "in.csv", [row], today=TODAY)
    assert [(r.field, r.reason) for r in result.rejections] == [
        ("sex", "bad_sex"),
        ("nationality", "unknown_nationality"),
        ("offence", "unknown_offence"),
        ("decision_date", "impossible_date"),
    ]
    assert result.rows_rejected == 1


def test_values_are_read_leniently_where_the_meaning_is_clear(session_factory, session, tmp_path):
    fifteen = NUMBER[:6] + NUMBER[8:17]
    row = registry_row(
        external_id=" P-1 ",
        sex="m",
        nationality="cn",  # alpha-2, converted
        id_type="PRC_ID",
        id_number=fifteen,  # the first-generation form, converted to 18 characters
        record_kind="Conviction",
        offence="CHILD_MOLESTATION",
        former_names="王大明；王明明",  # a full-width semicolon separates too
    )
    result = import_rows(session_factory, tmp_path / "in.csv", [row], today=TODAY)
    assert result.complete, result.rejections
    person = session.scalars(select(RegistryPerson)).one()
    assert (person.external_id, person.sex, person.nationality) == ("P-1", "M", "CHN")
    assert person.documents[0].number == NUMBER
    assert sorted(n.name for n in person.names) == ["王大明", "王小明", "王明明"]
    record = session.scalars(select(RegistryRecord)).one()
    assert (record.kind, record.offence) == ("conviction", "child_molestation")


def test_sex_and_birth_date_may_be_blank_and_are_then_read_from_the_prc_number(
    session_factory, session, tmp_path
):
    row = registry_row(sex="", date_of_birth="", nationality="")
    result = import_rows(session_factory, tmp_path / "in.csv", [row], today=TODAY)
    assert result.complete, result.rejections
    person = session.scalars(select(RegistryPerson)).one()
    assert (person.sex, person.date_of_birth, person.nationality) == ("M", BORN, "CHN")


def test_a_foreigner_without_birth_date_or_sex_is_accepted_with_a_passport(
    session_factory, session, tmp_path
):
    row = registry_row(
        name="John Smith",
        sex="",
        date_of_birth="",
        nationality="AUS",
        id_type="passport",
        id_number="PA1234567",
    )
    result = import_rows(session_factory, tmp_path / "in.csv", [row], today=TODAY)
    assert result.complete, result.rejections
    person = session.scalars(select(RegistryPerson)).one()
    assert (person.sex, person.date_of_birth, person.nationality) == (None, None, "AUS")
    assert (person.documents[0].id_type, person.documents[0].nationality) == ("passport", "AUS")


def test_rows_of_one_person_that_contradict_each_other_are_rejected(
    session_factory, session, tmp_path
):
    rows = [
        registry_row(external_id="P-1", decision_number="(2019)1号"),
        registry_row(external_id="P-1", decision_number="(2020)2号", date_of_birth=""),
        registry_row(
            external_id="P-1",
            decision_number="(2021)3号",
            name="李四",
            sex="",
            date_of_birth="",
            id_type="passport",
            id_number="E12345678",
        ),
        registry_row(
            external_id="P-1",
            decision_number="(2019)1号",  # the first row's decision, another authority
            decision_authority="上海市黄浦区人民法院",
        ),
    ]
    result = import_rows(session_factory, tmp_path / "in.csv", rows, today=TODAY)
    assert [(r.row, r.field, r.reason) for r in result.rejections] == [
        (4, "name", "conflicting_value"),
        (5, "decision_authority", "conflicting_value"),
    ]
    assert result.rejections[0].message == "differs from row 2, which has the same external_id"
    assert result.counts.persons_created == 1
    assert result.counts.records_added == 2


def test_a_document_already_held_by_another_person_is_refused(session_factory, session, tmp_path):
    rows = [
        registry_row(external_id="P-1"),
        registry_row(external_id="P-2", name="王小明", decision_number="(2020)9号"),
    ]
    result = import_rows(session_factory, tmp_path / "in.csv", rows, today=TODAY)
    assert [(r.row, r.field, r.reason) for r in result.rejections] == [
        (3, "id_number", "document_of_another_person")
    ]
    assert "P-1" in result.rejections[0].message
    # And across imports: the first person is in the database now.
    again = import_rows(
        session_factory,
        tmp_path / "again.csv",
        [registry_row(external_id="P-3", decision_number="(2021)1号")],
        today=TODAY,
    )
    assert [(r.row, r.reason) for r in again.rejections] == [(2, "document_of_another_person")]
    assert session.scalars(select(RegistryPerson.external_id)).all() == ["P-1"]


def test_values_beyond_the_header_reject_the_row(session_factory, tmp_path):
    path = tmp_path / "in.csv"
    row = registry_row()
    header = list(row)
    path.write_text(
        ",".join(header) + "\n" + ",".join(row.values()) + ",surplus\n", encoding="utf-8"
    )
    result = import_file(session_factory, actor=system_principal("cli"), path=path, today=TODAY)
    assert [(r.row, r.field, r.reason) for r in result.rejections] == [(2, "row", "extra_cells")]
