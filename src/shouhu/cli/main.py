"""The `shouhu` command's entry point, assembling the command groups."""

from __future__ import annotations

import typer

from shouhu.cli import audit, keys

app = typer.Typer(
    name="shouhu",
    help="Shouhu (守护): child-safeguarding registry, staff-access inquiry and one-stop cases.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(audit.app, name="audit")
app.add_typer(keys.app, name="keys")
