"""`shouhu orgs create|enable`."""

from __future__ import annotations

import typer

from shouhu.accounts import organisations
from shouhu.accounts.organisations import OrganisationCreate
from shouhu.accounts.repository import find_organisation_by_ref
from shouhu.cli.context import cli_principal, fail, out, reported_errors, runtime
from shouhu.core.database import transaction

app = typer.Typer(help="Organisations.", no_args_is_help=True)


@app.command()
def create(
    name: str = typer.Option(..., help="Unique name of the organisation."),
    org_type: str = typer.Option(
        ...,
        "--type",
        help="public_security, court, procuratorate, "
        "education_authority, institution, partner, oversight, operator",
    ),
    kind: str | None = typer.Option(None, help="Kind, for institutions and partners."),
    region: str = typer.Option(..., help="GB/T 2260 region code (6 digits)."),
    parent: str | None = typer.Option(None, help="Parent organisation: id or unique name."),
    credit_code: str | None = typer.Option(None, help="Unified social credit code."),
) -> None:
    """Create an organisation and print its id."""
    rt = runtime()
    with reported_errors(), transaction(rt.sessions) as session:
        parent_id = None
        if parent:
            found = find_organisation_by_ref(session, parent)
            if found is None:
                fail(f"parent organisation not found: {parent}")
            parent_id = found.id
        data = OrganisationCreate.model_validate(
            {
                "name": name,
                "type": org_type,
                "kind": kind,
                "region_code": region,
                "parent_id": parent_id,
                "credit_code": credit_code,
            }
        )
        org = organisations.create_organisation(session, actor=cli_principal(), data=data)
        org_id = org.id
    out.print(str(org_id), highlight=False)


@app.command()
def enable(org: str = typer.Argument(..., help="The organisation: id or unique name.")) -> None:
    """Enable a disabled organisation (its users can sign in again)."""
    rt = runtime()
    with reported_errors(), transaction(rt.sessions) as session:
        organisation = find_organisation_by_ref(session, org)
        if organisation is None:
            fail(f"organisation not found: {org}")
        was_active = organisation.active
        organisations.set_organisation_active(
            session, actor=cli_principal(), org_id=organisation.id, active=True
        )
        name = organisation.name
    out.print(f"{name} was already enabled" if was_active else f"enabled {name}", highlight=False)
