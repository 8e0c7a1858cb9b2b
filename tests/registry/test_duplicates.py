"""`shouhu registry duplicates`: the registry swept against itself for persons entered twice."""

from __future__ import annotations

import csv
import json
import uuid
from datetime import date
from typing import TYPE_CHECKING

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from shouhu.cli import registry
from shouhu.core.audit.models import AuditEvent
from shouhu.core.database import make_session_factory
from shouhu.core.errors import ForbiddenError
from shouhu.core.principal import Principal, system_principal
from shouhu.core.settings import Settings
from shouhu.registry.duplicates import find_duplicates
from shouhu.registry.policy import InquiryPurpose
from shouhu.screening.service import Matcher
from tests.factories.registry import passport_row, prc_number, registry_row, write_csv

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy import Engine

cli = typer.Typer()
cli.add_typer(registry.app, name="registry")

BORN = date(1980, 5, 17)


def shouhu(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def engine(cli_engine: Engine, tmp_path: Path) -> Engine:
    """A: 王小明; B: A again, entered from a passport record; C: A's namesake born the same day
    under another identity number; D: a stranger. (The import refuses a number that belongs to
    another person, so a pair never shares a document here.)"""
    rows = [
        registry_row(external_id="A"),
        registry_row(
            external_id="B",
            name="WANG Xiaoming",
            id_type="passport",
            id_number="E12345678",
            decision_number="(2021)京0105刑初77号",
            decision_authority="北京市朝阳区人民法院",
        ),
        registry_row(
            external_id="C",
            id_number=prc_number("110105", BORN, 457),
            decision_number="(2022)京0105刑初88号",
        ),
        passport_row(external_id="D"),
    ]
    result = shouhu("registry", "import", str(write_csv(tmp_path / "registry.csv", rows)))
    assert result.exit_code == 0, result.output
    return cli_engine


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_persons_alike_but_for_their_documents_are_pairs_for_review(engine, tmp_path):
    out = tmp_path / "pairs.csv"
    result = shouhu("registry", "duplicates", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = read(out)
    pairs = {(row["first_external_id"], row["second_external_id"]): row for row in rows}
    assert len(pairs) == len(rows)  # each pair once, in either person's sweep
    # Same name, birth date and sex, different documents: only a person can tell (DESIGN §5).
    for pair in (("A", "B"), ("A", "C"), ("B", "C")):
        assert pairs[pair]["outcome"] == "possible_match"
        assert pairs[pair]["reasons"].endswith(
            "rule=score_over_hit_threshold_but_document_not_exact"
        )
    assert "name=" in pairs[("A", "B")]["reasons"]
    assert not [pair for pair in pairs if "D" in pair]
    assert "persons swept     4" in result.output
    assert "likely the same   0" in result.output
    assert "for review        3" in result.output


def test_each_batch_is_audited_with_counts_only_and_pairs_found_twice_are_reported_once(engine):
    factory = make_session_factory(engine)
    matcher = Matcher.from_settings(
        Settings(),
        purpose=InquiryPurpose.CLOSE_CONTACT,
    )
    batches = list(
        find_duplicates(
            engine,
            factory,
            actor=system_principal("cli"),
            model=matcher.model,
            thresholds=matcher.thresholds,
            batch_persons=2,
        )
    )
    assert len(batches) == 2
    found = [(p.first_external_id, p.second_external_id) for batch in batches for p in batch]
    assert len(found) == len(set(found))
    assert set(found) == {("A", "B"), ("A", "C"), ("B", "C")}
    with engine.connect() as connection:
        events = connection.execute(
            select(AuditEvent.details)
            .where(AuditEvent.action == "cli:registry:duplicates")
            .order_by(AuditEvent.seq)
        ).all()
    details = [json.loads(event.details) for event in events]
    assert [(d["persons"], d["pairs"]) for d in details] == [
        (2, len(batches[0])),
        (2, len(batches[1])),
    ]
    text = json.dumps(details, ensure_ascii=False)
    for secret in ("王小明", "WANG", "Olga", "751234567", "E12345678"):
        assert secret not in text


def test_only_registry_reviewers_sweep(engine):
    factory = make_session_factory(engine)
    clerk = Principal(
        user_id=uuid.uuid4(),
        organisation_id=uuid.uuid4(),
        org_type="public_security",
        roles=frozenset({"registry_clerk"}),
        channel="web",
    )
    matcher = Matcher.from_settings(Settings(), purpose=InquiryPurpose.CLOSE_CONTACT)
    with pytest.raises(ForbiddenError):
        next(
            find_duplicates(
                engine, factory, actor=clerk, model=matcher.model, thresholds=matcher.thresholds
            )
        )


def test_an_existing_output_file_is_not_overwritten(engine, tmp_path):
    out = tmp_path / "pairs.csv"
    out.write_text("keep me", encoding="utf-8")
    result = shouhu("registry", "duplicates", "--out", str(out))
    assert result.exit_code == 2
    assert out.read_text(encoding="utf-8") == "keep me"
