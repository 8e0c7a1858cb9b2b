"""What every CLI command needs: the runtime, the acting principal and error output."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from shouhu.core.crypto.keyring import KeyError_
from shouhu.core.errors import DomainError
from shouhu.core.principal import Principal, system_principal
from shouhu.core.runtime import Runtime, start
from shouhu.core.settings import Settings, get_settings

# Results go to stdout (for scripts); messages and progress go to stderr.
out = Console()
err = Console(stderr=True)


def settings() -> Settings:
    """The settings, or a clear refusal naming what is wrong (e.g. production requirements)."""
    try:
        return get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            str(error["msg"]).removeprefix("Value error, ") for error in exc.errors()
        )
        fail(f"invalid settings: {problems}")


def runtime(chosen: Settings | None = None, *, run_migrations: bool = False) -> Runtime:
    """Start the runtime for a command (migrating first only if asked)."""
    try:
        return start(chosen or settings(), run_migrations=run_migrations)
    except KeyError_ as exc:
        # A wrong master key, or keys in a state the process refuses to run with: say which.
        fail(f"the keys cannot be loaded: {exc}")


def cli_principal() -> Principal:
    """Commands run with the operator's shell authority and are audited as `cli:`."""
    return system_principal("cli")


def fail(message: str, *, code: int = 1) -> NoReturn:
    """Print an error on stderr and exit non-zero."""
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def read_stdin_secret() -> str:
    """Read one line (a password) from standard input, without the newline."""
    return sys.stdin.readline().rstrip("\r\n")


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn validation and service refusals into one-line errors naming the field."""
    try:
        yield
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}")
    except DomainError as exc:
        where = f"{exc.field}: " if exc.field else ""
        fail(f"{where}{exc}")
