"""`shouhu registry subject-report`: what the registry holds about one identity (PIPL art. 45)."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import TYPE_CHECKING

import pytest
import typer
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from shouhu.cli import registry
from shouhu.core.audit.models import AuditEvent
from shouhu.core.errors import ForbiddenError
from shouhu.core.principal import Principal
from shouhu.identity.documents import normalise_document
from shouhu.registry.models import RegistryPerson
from shouhu.registry.subject import subject_report
from tests.factories.registry import passport_row, prc_number, registry_row, to_15, write_csv

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy import Engine

cli = typer.Typer()
cli.add_typer(registry.app, name="registry")

BORN = date(1980, 5, 17)
NUMBER = prc_number("110101", BORN, 123)


def shouhu(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def engine(cli_engine: Engine, tmp_path: Path) -> Engine:
    rows = [
        registry_row(external_id="A", former_names="王明"),
        registry_row(
            external_id="A",
            record_kind="administrative_penalty",
            offence="indecency_administrative",
            decision_authority="北京市公安局东城分局",
            decision_number="京公东行罚决字〔2018〕100号",
            decision_date="2018-04-01",
        ),
        passport_row(),
    ]
    result = shouhu("registry", "import", str(write_csv(tmp_path / "registry.csv", rows)))
    assert result.exit_code == 0, result.output
    return cli_engine


def test_the_report_lists_the_person_their_documents_and_every_record(engine):
    # The old 15-digit form finds the person registered under the 18-digit number.
    result = shouhu(
        "registry", "subject-report", "--id-type", "prc_id", "--id-number", to_15(NUMBER)
    )
    assert result.exit_code == 0, result.output
    text = result.output
    for expected in (
        "registry person        A",
        "王小明",
        "王明",
        f"prc_id {NUMBER}",
        "1980-05-17",
        "conviction, child_molestation (猥亵儿童罪",
        "Criminal Law art. 237",
        "(2019)京0101刑初123号 of 2019-11-05, active",
        "administrative_penalty, indecency_administrative",
        "京公东行罚决字〔2018〕100号 of 2018-04-01, active",
        "inquiries",
    ):
        assert expected in text, expected
    assert "Olga" not in text  # another person's data is never in the report
    assert text.index("〔2018〕100号") < text.index("(2019)京0101刑初123号")  # oldest first


def test_the_read_is_audited_with_the_person_read_and_no_personal_data(engine):
    result = shouhu(
        "registry",
        "subject-report",
        "--id-type",
        "passport",
        "--id-number",
        "751234567",
        "--nationality",
        "rus",
    )
    assert result.exit_code == 0, result.output
    assert "Olga Ivanova" in result.output
    with engine.connect() as connection:
        person_id = connection.scalar(
            select(RegistryPerson.id).where(RegistryPerson.external_id == "B")
        )
        event = connection.execute(
            select(AuditEvent.action, AuditEvent.object_id, AuditEvent.details).where(
                AuditEvent.action == "cli:registry:subject_report"
            )
        ).one()
    assert event.object_id == str(person_id)
    assert json.loads(event.details) == {"persons": [str(person_id)]}


def test_an_unknown_document_says_nothing_is_held(engine):
    other = prc_number("110101", BORN, 125)
    result = shouhu("registry", "subject-report", "--id-type", "prc_id", "--id-number", other)
    assert result.exit_code == 0, result.output
    assert "none: the registry holds nothing about this document" in result.output


def test_a_bad_number_names_the_field_and_reason(engine):
    result = shouhu(
        "registry", "subject-report", "--id-type", "prc_id", "--id-number", NUMBER[:-1] + "0"
    )
    assert result.exit_code == 2
    assert "id_number" in result.output
    assert "check" in result.output.lower()


def test_only_registry_reviewers_answer_subject_access_requests(engine):
    clerk = Principal(
        user_id=uuid.uuid4(),
        organisation_id=uuid.uuid4(),
        org_type="public_security",
        roles=frozenset({"registry_clerk"}),
        channel="web",
    )
    with Session(engine) as session, pytest.raises(ForbiddenError):
        subject_report(session, actor=clerk, document=normalise_document("prc_id", NUMBER))


def test_a_submission_not_yet_decided_is_reported_too(engine):
    from shouhu.registry.lifecycle import submit_record  # noqa: PLC0415
    from tests.factories.lifecycle import make_cast, submission  # noqa: PLC0415

    with Session(engine) as session:
        cast = make_cast(session)
        submit_record(
            session,
            actor=cast.court_clerk,
            data=submission(id_number=to_15(NUMBER), decision_number="(2026)京0101刑初999号"),
        )
        other = prc_number("110101", BORN, 125)
        submit_record(
            session,
            actor=cast.court_clerk,
            data=submission(id_number=other, decision_number="(2026)京0101刑初998号"),
        )
        session.commit()
    result = shouhu("registry", "subject-report", "--id-type", "prc_id", "--id-number", NUMBER)
    assert result.exit_code == 0, result.output
    assert "(2026)京0101刑初999号" in result.output  # entered with the 15-digit form
    assert "pending_review, version 1" in result.output
    assert "(2026)京0101刑初998号" not in result.output  # someone else's number


def test_every_inquiry_about_the_document_is_listed(engine, tmp_path):
    from datetime import timedelta  # noqa: PLC0415

    from shouhu.accounts.roles import OrgType, Role  # noqa: PLC0415
    from shouhu.core.settings import Settings  # noqa: PLC0415
    from shouhu.identity.prc_id import latest_possible_date  # noqa: PLC0415
    from shouhu.screening.inquiries import InquiryRequest, submit_inquiry  # noqa: PLC0415
    from tests.factories.accounts import make_org, make_user  # noqa: PLC0415
    from tests.factories.lifecycle import principal_of  # noqa: PLC0415

    with Session(engine) as session:
        university = make_org(
            session, org_type=OrgType.INSTITUTION, kind="university", name="示范大学"
        )
        hr = principal_of(make_user(session, roles=(Role.INSTITUTION_HR,), org=university))
        submit_inquiry(
            session,
            actor=hr,
            request=InquiryRequest(
                purpose="school_staff",
                # The 15-digit form: the same candidate.
                subject={"name": "王小明", "id_type": "prc_id", "id_number": to_15(NUMBER)},
                consent_reference="同意书-9",
                consent_signed_on=latest_possible_date() - timedelta(days=1),
            ),
            settings=Settings(data_dir=tmp_path),
        )
        session.commit()
    result = shouhu("registry", "subject-report", "--id-type", "prc_id", "--id-number", NUMBER)
    assert result.exit_code == 0, result.output
    assert "by 示范大学, school_staff: completed, record_found" in result.output
