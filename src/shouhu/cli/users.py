"""`shouhu users create|unlock`."""

from __future__ import annotations

import typer

from shouhu.accounts import users
from shouhu.accounts.repository import find_organisation_by_ref, find_user_by_username
from shouhu.accounts.users import UserCreate
from shouhu.cli.context import (
    cli_principal,
    fail,
    out,
    read_stdin_secret,
    reported_errors,
    runtime,
)
from shouhu.core.database import transaction

app = typer.Typer(help="Users.", no_args_is_help=True)


@app.command()
def create(
    org: str = typer.Option(..., help="Organisation: id or unique name."),
    username: str = typer.Option(..., help="Username (3-64 characters)."),
    role: list[str] = typer.Option(..., help="A role; repeat for several."),
    display_name: str | None = typer.Option(None, help="The person's name (stored encrypted)."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input."
    ),
) -> None:
    """Create a user and print their id."""
    if not password_stdin:
        fail("give the password on standard input with --password-stdin")
    password = read_stdin_secret()
    rt = runtime()
    with reported_errors(), transaction(rt.sessions) as session:
        organisation = find_organisation_by_ref(session, org)
        if organisation is None:
            fail(f"organisation not found: {org}")
        data = UserCreate.model_validate(
            {
                "organisation_id": organisation.id,
                "username": username,
                "display_name": display_name,
                "roles": role,
                "password": password,
            }
        )
        user = users.create_user(session, actor=cli_principal(), data=data)
        user_id = user.id
    out.print(str(user_id), highlight=False)


@app.command()
def unlock(username: str = typer.Argument(..., help="The locked user's username.")) -> None:
    """Lift a lock-out after too many failed sign-ins."""
    rt = runtime()
    with reported_errors(), transaction(rt.sessions) as session:
        user = find_user_by_username(session, username)
        if user is None:
            fail(f"user not found: {username}")
        users.unlock(session, actor=cli_principal(), user_id=user.id)
    out.print(f"unlocked {username}", highlight=False)
