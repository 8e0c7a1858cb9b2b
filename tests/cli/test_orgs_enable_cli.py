"""`shouhu orgs enable`: the way back when an organisation was disabled, audited as `cli:`."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from shouhu.accounts import organisations
from shouhu.accounts.models import Organisation
from shouhu.cli.main import app
from shouhu.core.audit.models import AuditEvent
from shouhu.core.principal import system_principal

NAME = "东城区人民法院"


def shouhu(*args: str) -> Result:
    """Run the `shouhu` command in-process."""
    return CliRunner().invoke(app, list(args))


def _disabled_court(engine: Engine) -> uuid.UUID:
    created = shouhu("orgs", "create", "--name", NAME, "--type", "court", "--region", "110101")
    assert created.exit_code == 0, created.output
    org_id = uuid.UUID(created.stdout.strip())
    with Session(engine) as session, session.begin():
        organisations.set_organisation_active(
            session, actor=system_principal("cli"), org_id=org_id, active=False
        )
    return org_id


def _state(engine: Engine, org_id: uuid.UUID) -> tuple[bool, list[tuple[str, str | None]]]:
    with Session(engine) as session:
        active = session.get_one(Organisation, org_id).active
        trail = session.execute(
            select(AuditEvent.action, AuditEvent.object_id)
            .where(AuditEvent.action.like("cli:organisation:%"))
            .order_by(AuditEvent.seq)
        )
        return active, [(action, object_id) for action, object_id in trail]


def test_enable_by_name_then_by_id(cli_engine: Engine) -> None:
    org_id = _disabled_court(cli_engine)

    by_name = shouhu("orgs", "enable", NAME)
    assert (by_name.exit_code, by_name.stdout.strip()) == (0, f"enabled {NAME}")
    again = shouhu("orgs", "enable", str(org_id))
    assert (again.exit_code, again.stdout.strip()) == (0, f"{NAME} was already enabled")

    active, trail = _state(cli_engine, org_id)
    assert active
    # Enabling what is enabled changes nothing and records nothing.
    assert trail == [
        ("cli:organisation:create", str(org_id)),
        ("cli:organisation:disable", str(org_id)),
        ("cli:organisation:enable", str(org_id)),
    ]


def test_an_unknown_organisation_is_an_error(cli_engine: Engine) -> None:
    result = shouhu("orgs", "enable", "no such organisation")
    assert result.exit_code == 1
    assert "organisation not found: no such organisation" in result.output
    with Session(cli_engine) as session:
        assert session.scalars(select(AuditEvent.action)).all() == []
