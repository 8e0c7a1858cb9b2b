"""`shouhu db upgrade` and `shouhu db backfill`."""

from __future__ import annotations

import typer

from shouhu.cli.context import cli_principal, err, fail
from shouhu.cli.context import settings as load_settings
from shouhu.core import migrate
from shouhu.core.crypto.keyring import KeyError_
from shouhu.core.database import engine_from_settings, transaction
from shouhu.core.runtime import start
from shouhu.core.settings import Settings
from shouhu.onestop.child_index import backfill_child_indexes

app = typer.Typer(help="Database schema.", no_args_is_help=True)


def _backfill(chosen: Settings) -> int:
    """Fill the blind indexes a migration could not (it holds no key); how many were filled."""
    rt = start(chosen)
    with transaction(rt.sessions) as session:
        return backfill_child_indexes(session, actor=cli_principal())


@app.command()
def upgrade() -> None:
    """Migrate the database to the latest schema, then fill indexes that need the keys."""
    chosen = load_settings()
    engine = engine_from_settings(chosen)
    try:
        migrate.upgrade(engine)
    except Exception as exc:  # noqa: BLE001 - report any failure plainly and exit non-zero
        fail(f"migration failed: {type(exc).__name__}: {exc}")
    err.print(f"database at revision {', '.join(sorted(migrate.current_revisions(engine)))}")
    # Without a master key nothing was ever sealed, so there is nothing to index; and an
    # upgrade must not create a key as a side effect (`shouhu serve` or `demo` does that).
    if chosen.master_key is None and not chosen.resolved_master_key_file.exists():
        return
    try:
        filled = _backfill(chosen)
    except KeyError_ as exc:
        err.print(
            f"child document indexes not filled (the keys cannot be loaded: {exc});"
            " run `shouhu db backfill` with the keys",
            highlight=False,
            markup=False,
        )
        return
    if filled:
        err.print(f"child document indexes filled: {filled}")


@app.command()
def backfill() -> None:
    """Fill the blind indexes that migrations cannot compute (children's documents)."""
    try:
        filled = _backfill(load_settings())
    except KeyError_ as exc:
        fail(f"the keys cannot be loaded: {exc}")
    err.print(f"child document indexes filled: {filled}")
