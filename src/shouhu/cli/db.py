"""`shouhu db upgrade`."""

from __future__ import annotations

import typer

from shouhu.cli.context import err, fail
from shouhu.cli.context import settings as load_settings
from shouhu.core import migrate
from shouhu.core.database import engine_from_settings

app = typer.Typer(help="Database schema.", no_args_is_help=True)


@app.command()
def upgrade() -> None:
    """Migrate the database to the latest schema."""
    engine = engine_from_settings(load_settings())
    try:
        migrate.upgrade(engine)
    except Exception as exc:  # noqa: BLE001 - report any failure plainly and exit non-zero
        fail(f"migration failed: {type(exc).__name__}: {exc}")
    err.print(f"database at revision {', '.join(sorted(migrate.current_revisions(engine)))}")
