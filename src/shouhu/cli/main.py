"""The `shouhu` command's entry point, assembling the command groups."""

from __future__ import annotations

import typer

from shouhu.cli import (
    audit,
    db,
    evidence,
    jobs,
    keys,
    orgs,
    registry,
    screen,
    serve,
    tokens,
    users,
)

app = typer.Typer(
    name="shouhu",
    help="Shouhu (守护): child-safeguarding registry, staff-access inquiry and one-stop cases.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("serve")(serve.serve)
app.command("demo")(serve.demo)
app.command("screen")(screen.screen)
app.add_typer(db.app, name="db")
app.add_typer(orgs.app, name="orgs")
app.add_typer(users.app, name="users")
app.add_typer(tokens.app, name="tokens")
app.add_typer(keys.app, name="keys")
app.add_typer(audit.app, name="audit")
app.add_typer(registry.app, name="registry")
app.add_typer(jobs.app, name="jobs")
app.add_typer(evidence.app, name="evidence")
