"""`shouhu tokens create`."""

from __future__ import annotations

import typer

from shouhu.accounts import tokens
from shouhu.accounts.repository import find_user_by_username
from shouhu.cli.context import cli_principal, err, fail, out, reported_errors, runtime
from shouhu.core.database import transaction

app = typer.Typer(help="API tokens.", no_args_is_help=True)


@app.command()
def create(
    username: str = typer.Option(..., help="The user the token acts for."),
    days: int = typer.Option(90, help="Days until the token expires (1-366)."),
    name: str = typer.Option("cli", help="A label for the token."),
) -> None:
    """Create an API token and print it alone on stdout (it is not stored in clear)."""
    rt = runtime()
    with reported_errors(), transaction(rt.sessions) as session:
        user = find_user_by_username(session, username)
        if user is None:
            fail(f"user not found: {username}")
        issued = tokens.create_token(
            session, actor=cli_principal(), user_id=user.id, name=name, days=days
        )
        secret, expires = issued.secret, issued.row.expires_at
    out.print(secret, highlight=False, soft_wrap=True)
    err.print(f"token for {username} expires {expires:%Y-%m-%d %H:%M} UTC; not shown again")
