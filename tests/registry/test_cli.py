"""`shouhu registry import FILE` run as an operator would, against a database of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from shouhu.cli import registry
from shouhu.registry.models import RegistryPerson
from tests.factories.registry import passport_row, registry_row, write_csv

if TYPE_CHECKING:
    from click.testing import Result
    from sqlalchemy import Engine

# The lead registers the sub-app in shouhu.cli.main; this test builds the same shape.
cli = typer.Typer()
cli.add_typer(registry.app, name="registry")


@cli.callback()
def _root() -> None:
    """Shouhu."""


@pytest.fixture
def engine(cli_engine: Engine) -> Engine:
    """A fresh migrated database configured through the environment."""
    return cli_engine


def shouhu(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def persons(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(RegistryPerson)).scalar_one()


def good_rows() -> list[dict[str, str]]:
    return [
        registry_row(external_id="A"),
        passport_row(),
        registry_row(external_id="A", decision_number="(2021)2号", offence="rape"),
    ]


def summary(result: Result) -> dict[str, str]:
    lines = [line.split("  ", 1) for line in result.stdout.splitlines() if "  " in line]
    return {key.strip(): value.strip() for key, value in lines}


def test_a_clean_file_is_imported_and_summarised_with_exit_status_0(engine, tmp_path):
    path = write_csv(tmp_path / "clean.csv", good_rows())
    result = shouhu("registry", "import", str(path))
    assert result.exit_code == 0, result.output
    table = summary(result)
    assert table["rows read"] == "3"
    assert table["rows rejected"] == "0"
    assert table["persons created"] == "2"
    assert table["records added"] == "3"
    assert table["rejection report"].endswith("clean.rejections.csv")
    assert "error" not in result.stderr
    assert persons(engine) == 2
    again = shouhu("registry", "import", str(path))
    assert again.exit_code == 0, again.output
    assert summary(again)["persons unchanged"] == "2"
    assert summary(again)["persons created"] == "0"


def test_rejected_rows_give_exit_status_1_and_a_report_beside_the_file(engine, tmp_path):
    rows = [*good_rows(), registry_row(external_id="C", offence="theft")]
    path = write_csv(tmp_path / "some_bad.csv", rows)
    result = shouhu("registry", "import", str(path))
    assert result.exit_code == 1, result.output
    assert summary(result)["rows rejected"] == "1"
    assert summary(result)["persons created"] == "2"
    report = tmp_path / "some_bad.rejections.csv"
    assert "1 row(s) rejected" in result.stderr
    assert str(report) in result.stderr.replace("\n", "")
    assert report.read_text(encoding="utf-8").splitlines() == [
        "row,field,reason,message",
        "5,offence,unknown_offence,not a code of the offence catalogue",
    ]


def test_a_bad_header_is_refused_with_exit_status_2_naming_file_and_problem(engine, tmp_path):
    columns = [*registry_row(), "shoe_size"]
    path = write_csv(tmp_path / "odd.csv", good_rows(), columns=columns)
    result = shouhu("registry", "import", str(path))
    assert result.exit_code == 2, result.output
    message = " ".join(result.stderr.split())
    assert f"error: {path}: unknown column(s) shoe_size" in message
    assert result.stdout == ""
    assert persons(engine) == 0


def test_a_missing_file_is_refused_with_exit_status_2(engine, tmp_path):
    result = shouhu("registry", "import", str(tmp_path / "nowhere.csv"))
    assert result.exit_code == 2
    assert "nowhere.csv" in " ".join(result.stderr.split())


def test_the_help_documents_the_exit_status():
    result = CliRunner().invoke(cli, ["registry", "import", "--help"], terminal_width=200)
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "0 when every row was imported" in text
    assert "1 when some rows were rejected" in text
    assert "2 when the file could not be imported at all" in text


def test_retention_deletes_only_unfinished_submissions_past_the_policy_period(engine):
    from datetime import timedelta  # noqa: PLC0415

    from sqlalchemy.orm import Session  # noqa: PLC0415

    from shouhu.core.database import utcnow  # noqa: PLC0415
    from shouhu.registry.lifecycle import submit_record  # noqa: PLC0415
    from shouhu.registry.models import RegistryRecord  # noqa: PLC0415
    from tests.factories.lifecycle import make_cast, submission  # noqa: PLC0415

    with Session(engine) as session:
        cast = make_cast(session)
        old = submit_record(session, actor=cast.court_clerk, data=submission(), send=False)
        fresh = submit_record(
            session, actor=cast.court_clerk, data=submission(decision_number="X1"), send=False
        )
        pending = submit_record(
            session, actor=cast.court_clerk, data=submission(decision_number="X2")
        )
        for record in (old, pending):
            record.updated_at = utcnow() - timedelta(days=91)
        session.commit()
        ids = (old.id, fresh.id, pending.id)
    result = shouhu("registry", "retention")
    assert result.exit_code == 0, result.output
    assert summary(result)["discarded"] == "1"
    with Session(engine) as session:
        left = set(session.scalars(select(RegistryRecord.id).where(RegistryRecord.id.in_(ids))))
    assert left == {ids[1], ids[2]}  # a fresh draft and one waiting for review stay
