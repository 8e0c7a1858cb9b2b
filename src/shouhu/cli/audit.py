"""`shouhu audit verify|checkpoint`."""

from __future__ import annotations

import typer

app = typer.Typer(help="Verify the audit chain and export checkpoints.", no_args_is_help=True)
