"""`shouhu screen FILE --out OUT [--explain]` run as an operator would (DESIGN §6)."""

from __future__ import annotations

import csv
import json
from datetime import date
from typing import TYPE_CHECKING

import pytest
import typer
from sqlalchemy import select, update
from typer.testing import CliRunner

from shouhu.cli import registry, screen
from shouhu.core.audit.models import AuditEvent
from shouhu.registry.models import RegistryPerson
from shouhu.registry.policy import CURRENT_VERSION
from shouhu.screening.queries import COLUMNS
from tests.factories.registry import (
    passport_row,
    prc_number,
    registry_row,
    to_15,
    write_csv,
    write_xlsx,
)

if TYPE_CHECKING:
    from pathlib import Path

    from click.testing import Result
    from sqlalchemy import Engine

cli = typer.Typer()
cli.add_typer(registry.app, name="registry")
cli.command("screen")(screen.screen)

BORN = date(1980, 5, 17)
NUMBER = prc_number("110101", BORN, 123)  # registry_row's 王小明


def shouhu(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def engine(cli_engine: Engine, tmp_path: Path) -> Engine:
    """A registry holding 王小明 (PRC) and Olga Ivanova (passport)."""
    rows = [
        registry_row(external_id="A", former_names="王明"),
        passport_row(),
    ]
    result = shouhu("registry", "import", str(write_csv(tmp_path / "registry.csv", rows)))
    assert result.exit_code == 0, result.output
    return cli_engine


def queries() -> list[dict[str, str]]:
    return [
        {"reference": "q1", "name": "王小明", "id_type": "prc_id", "id_number": NUMBER},
        {
            "reference": "q2",
            "name": "WANG Xiaoming",
            "id_type": "PRC_ID",
            "id_number": to_15(NUMBER),
        },
        {"reference": "q3", "name": "王小明", "id_type": "prc_id", "id_number": NUMBER[:-1] + "0"},
        {
            "reference": "q4",
            "name": "Ольга Иванова",
            "id_type": "passport",
            "id_number": "751234568",
            "date_of_birth": "1979-01-02",
            "sex": "F",
            "nationality": "RUS",
        },
        {
            "reference": "q5",
            "name": "赵云",
            "id_type": "prc_id",
            "id_number": prc_number("510104", date(1990, 1, 1), 11),
        },
        {"reference": "q6", "name": "", "id_type": "visa", "id_number": "X"},
        {
            "reference": "q7",
            "name": "王小明",
            "id_type": "prc_id",
            "id_number": NUMBER,
            "date_of_birth": "1981-05-17",
        },
    ]


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_row_is_answered_in_order_and_bad_rows_say_what_is_wrong(engine, tmp_path):
    path = write_csv(tmp_path / "q.csv", queries(), columns=COLUMNS)
    out = tmp_path / "answers.csv"
    result = shouhu("screen", str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    answers = read(out)
    assert list(answers[0]) == ["reference", "outcome", "score", "message"]
    assert [(a["reference"], a["outcome"]) for a in answers] == [
        ("q1", "hit"),
        ("q2", "hit"),
        ("q3", "invalid"),
        ("q4", "possible_match"),  # one passport character apart
        ("q5", "no_record"),
        ("q6", "invalid"),
        ("q7", "invalid"),  # the birth date disagrees with the number
    ]
    assert answers[2]["message"].startswith("id_number: bad check character")
    assert answers[5]["message"] == (
        "name: a value is required; id_type: unknown id type (one of prc_id, passport, "
        "hkmo_permit, tw_permit, foreign_pr_id, other)"
    )
    assert answers[6]["message"].startswith("date_of_birth:")
    assert float(answers[0]["score"]) > float(answers[3]["score"]) > 0
    assert answers[4]["score"] == ""  # no candidate at all
    assert "hit            2" in result.stdout
    assert "invalid        3" in result.stdout


def test_explain_adds_the_matched_person_and_the_reasons(engine, tmp_path):
    path = write_csv(tmp_path / "q.csv", queries()[:5], columns=COLUMNS)
    out = tmp_path / "answers.csv"
    assert shouhu("screen", str(path), "--out", str(out), "--explain").exit_code == 0
    answers = {a["reference"]: a for a in read(out)}
    assert answers["q1"]["matched_external_id"] == "A"
    assert answers["q1"]["reasons"].startswith("document=exact")
    assert answers["q4"]["matched_external_id"] == "B"
    assert "document=close (one character apart)" in answers["q4"]["reasons"]
    assert answers["q5"]["matched_external_id"] == ""


def test_a_workbook_is_screened_like_a_csv_file(engine, tmp_path):
    path = write_xlsx(tmp_path / "q.xlsx", queries()[:2], columns=COLUMNS)
    out = tmp_path / "answers.csv"
    assert shouhu("screen", str(path), "--out", str(out)).exit_code == 0
    assert [a["outcome"] for a in read(out)] == ["hit", "hit"]


def test_each_chunk_is_audited_with_counts_and_no_personal_data(engine, tmp_path):
    path = write_csv(tmp_path / "q.csv", queries(), columns=COLUMNS)
    out = tmp_path / "answers.csv"
    result = shouhu("screen", str(path), "--out", str(out), "--chunk-rows", "4")
    assert result.exit_code == 0, result.output
    with engine.connect() as connection:
        events = connection.execute(
            select(AuditEvent.action, AuditEvent.object_id, AuditEvent.details)
            .where(AuditEvent.action == "cli:screening:screen")
            .order_by(AuditEvent.seq)
        ).all()
    assert len(events) == 2
    assert events[0].object_id == events[1].object_id  # one run
    details = [json.loads(event.details) for event in events]
    outcomes = ["outcome_hit", "outcome_possible_match", "outcome_no_record", "outcome_invalid"]
    assert [[d["queries"], *(d[o] for o in outcomes)] for d in details] == [
        [4, 2, 1, 0, 1],  # q1-q4: hit, hit, invalid, possible_match
        [3, 0, 0, 1, 2],  # q5-q7: no_record, invalid, invalid
    ]
    assert {(d["via"], d["inquiry_purpose"], d["policy_version"]) for d in details} == {
        ("file", "close_contact", CURRENT_VERSION)  # the default: the widest scope, art. 62
    }
    text = " ".join(event.details for event in events)
    for secret in ("王小明", "Иванова", NUMBER, "751234568", "1979-01-02"):
        assert secret not in text


def test_screening_is_refused_while_keys_are_stale_and_works_after_a_rebuild(engine, tmp_path):
    with engine.begin() as connection:
        connection.execute(update(RegistryPerson).values(keys_version=None, match_profile=None))
    path = write_csv(tmp_path / "q.csv", queries()[:1], columns=COLUMNS)
    out = tmp_path / "answers.csv"
    refused = shouhu("screen", str(path), "--out", str(out))
    assert refused.exit_code == 2
    assert "2 registry persons have matching keys built by an older version" in " ".join(
        refused.stderr.split()
    )
    assert not out.exists()
    rebuilt = shouhu("registry", "rebuild-keys")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "persons rebuilt  2" in rebuilt.stdout
    assert shouhu("screen", str(path), "--out", str(out)).exit_code == 0
    assert read(out)[0]["outcome"] == "hit"


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (["reference", "name", "id_number"], "the header lacks the required column(s) id_type"),
        ([*COLUMNS, "salary"], "unknown column(s) salary"),
    ],
)
def test_a_bad_header_is_refused_and_no_answers_are_written(engine, tmp_path, columns, message):
    path = write_csv(tmp_path / "q.csv", queries(), columns=columns)
    out = tmp_path / "answers.csv"
    result = shouhu("screen", str(path), "--out", str(out))
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())
    assert not out.exists()
    assert not (tmp_path / "answers.csv.partial").exists()


def test_the_output_may_not_overwrite_the_input(engine, tmp_path):
    path = write_csv(tmp_path / "q.csv", queries(), columns=COLUMNS)
    result = shouhu("screen", str(path), "--out", str(path))
    assert result.exit_code == 2
    assert "the output would overwrite the input" in result.stderr
    assert read(path)[0]["reference"] == "q1"


def test_fitted_weights_in_the_data_directory_are_used_from_the_next_screening(engine, tmp_path):
    fitted = shouhu("registry", "fit-weights", "--pairs", "50")
    assert fitted.exit_code == 0, fitted.output
    weights = tmp_path / "match-weights.toml"
    assert weights.is_file()
    version = weights.read_text().splitlines()[0].split('"')[1]
    assert version.startswith("fitted-")
    assert version.endswith("-2p-50pairs")
    path = write_csv(tmp_path / "q.csv", queries()[:1], columns=COLUMNS)
    out = tmp_path / "answers.csv"
    assert shouhu("screen", str(path), "--out", str(out)).exit_code == 0
    with engine.connect() as connection:
        details = connection.execute(
            select(AuditEvent.details)
            .where(AuditEvent.action == "cli:screening:screen")
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        ).scalar_one()
    assert json.loads(details)["model"] == version


def test_worker_processes_give_the_same_answers_in_the_same_order(engine, tmp_path):
    path = write_csv(tmp_path / "q.csv", queries() * 3, columns=COLUMNS)
    here, there = tmp_path / "here.csv", tmp_path / "there.csv"
    serial = shouhu("screen", str(path), "--out", str(here), "--workers", "1", "--explain")
    assert serial.exit_code == 0, serial.output
    spread = shouhu(
        "screen", str(path), "--out", str(there), "--workers", "2", "--chunk-rows", "2", "--explain"
    )
    assert spread.exit_code == 0, spread.output
    assert there.read_text(encoding="utf-8") == here.read_text(encoding="utf-8")
    assert len(read(there)) == 21
    with engine.connect() as connection:
        chunks = connection.execute(
            select(AuditEvent.details).where(AuditEvent.action == "cli:screening:screen")
        ).all()
    assert len(chunks) == 1 + 11  # one chunk of 21 rows, then 11 chunks of at most 2


def test_only_records_that_count_for_the_purpose_produce_a_hit(cli_engine, tmp_path):
    # Minors Law art. 62 covers abuse; the 2020 Opinions' school staff inquiry does not.
    row = registry_row(external_id="C", record_kind="conviction", offence="abuse")
    imported = shouhu("registry", "import", str(write_csv(tmp_path / "registry.csv", [row])))
    assert imported.exit_code == 0, imported.output
    path = write_csv(tmp_path / "q.csv", queries()[:1], columns=COLUMNS)
    answers = {}
    for purpose in ("school_staff", "close_contact", "annual_recheck", "teacher_qualification"):
        out = tmp_path / f"{purpose}.csv"
        result = shouhu("screen", str(path), "--out", str(out), "--explain", "--purpose", purpose)
        assert result.exit_code == 0, result.output
        assert f"purpose        {purpose} (policy {CURRENT_VERSION})" in result.output
        [answers[purpose]] = read(out)
    assert {purpose: answer["outcome"] for purpose, answer in answers.items()} == {
        "school_staff": "no_record",
        "close_contact": "hit",
        "annual_recheck": "hit",
        "teacher_qualification": "no_record",
    }
    # The person matched: the reviewer's explanation says why the answer is still no record.
    assert answers["school_staff"]["reasons"].endswith("rule=no_record_in_scope")
    assert answers["close_contact"]["matched_external_id"] == "C"


def test_an_unknown_purpose_is_refused_with_the_choices(engine, tmp_path):
    path = write_csv(tmp_path / "q.csv", queries()[:1], columns=COLUMNS)
    result = shouhu("screen", str(path), "--out", str(tmp_path / "a.csv"), "--purpose", "lottery")
    assert result.exit_code == 2
    assert "school_staff" in result.output
    assert not (tmp_path / "a.csv").exists()
