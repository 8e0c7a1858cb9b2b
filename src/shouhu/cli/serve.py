"""`shouhu serve` and `shouhu demo`."""

from __future__ import annotations

import os

import typer
import uvicorn

from shouhu import demo as demo_data
from shouhu.cli.context import err, fail, out
from shouhu.cli.context import settings as load_settings
from shouhu.core import migrate
from shouhu.core.database import transaction
from shouhu.core.runtime import start
from shouhu.core.settings import Settings, get_settings
from shouhu.web.app import create_app

DEMO_FILE = "demo-accounts.json"


def run_server(settings: Settings, host: str, port: int, *, migrate_first: bool) -> None:
    """Start the runtime and serve the app with uvicorn."""
    rt = start(settings, run_migrations=migrate_first)
    if not migrate.is_current(rt.engine):
        fail("the database schema is not current: run `shouhu db upgrade` first")
    if rt.master_key_generated:
        err.print(
            f"[yellow]generated a new master key at {settings.resolved_master_key_file} "
            "(embedded mode; keep it safe and back it up with the database)[/yellow]"
        )
    uvicorn.run(
        create_app(rt),
        host=host,
        port=port,
        log_level="info",
        proxy_headers=True,
        server_header=False,
    )


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Serve Shouhu (the database must be migrated: `shouhu db upgrade`)."""
    run_server(load_settings(), host, port, migrate_first=False)


def demo(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Migrate, seed demo data on first run, print the accounts, and serve."""
    os.environ.setdefault("SHOUHU_ENV", "demo")
    os.environ.setdefault("SHOUHU_MFA_WAIVER_ALLOWED", "true")
    get_settings.cache_clear()
    settings = load_settings()
    if settings.is_production:
        fail("`shouhu demo` does not run with SHOUHU_ENV=production")
    rt = start(settings, run_migrations=True)
    accounts_file = settings.data_dir / DEMO_FILE
    with transaction(rt.sessions) as session:
        if not demo_data.is_seeded(session):
            accounts = demo_data.seed(session)
            demo_data.save_accounts(accounts_file, accounts)
            err.print("[green]seeded the demo data[/green]")
    # Plain aligned lines, never cut to the terminal's width: people copy the passwords.
    out.print(
        f"Shouhu demo: http://{host}:{port}/  (demo accounts: second factor waived)",
        highlight=False,
    )
    for account in demo_data.load_accounts(accounts_file):
        roles = ",".join(account.roles)
        out.print(
            f"  {account.username:<18} {account.password:<24} {roles:<30} {account.organisation}",
            highlight=False,
            soft_wrap=True,
        )
    rt.engine.dispose()
    run_server(settings, host, port, migrate_first=False)
