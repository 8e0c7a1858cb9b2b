"""`shouhu keys rotate`."""

from __future__ import annotations

import typer

app = typer.Typer(help="Manage encryption keys.", no_args_is_help=True)
