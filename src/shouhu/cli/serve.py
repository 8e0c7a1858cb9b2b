"""`shouhu serve` and `shouhu demo`."""

from __future__ import annotations

import os
from pathlib import Path

import typer
import uvicorn
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.orm import Session, sessionmaker

from shouhu import demo as demo_data
from shouhu.cli.context import err, fail, out, runtime
from shouhu.cli.context import settings as load_settings
from shouhu.core import migrate
from shouhu.core.database import transaction
from shouhu.core.settings import Settings, get_settings
from shouhu.demo_inquiries import seed_inquiries
from shouhu.demo_onestop import seed_onestop
from shouhu.demo_registry import registry_is_empty, seed_registry
from shouhu.demo_workflow import seed_workflow
from shouhu.onestop.blobs import BlobStore
from shouhu.screening.batch_runner import BatchRunner
from shouhu.web.access_log import log_config
from shouhu.web.app import create_app

DEMO_FILE = "demo-accounts.json"


def run_server(settings: Settings, host: str, port: int, *, migrate_first: bool) -> None:
    """Start the runtime and serve the app with uvicorn."""
    rt = runtime(settings, run_migrations=migrate_first)
    if not migrate.is_current(rt.engine):
        fail("the database schema is not current: run `shouhu db upgrade` first")
    if rt.master_key_generated:
        err.print(
            f"[yellow]generated a new master key at {settings.resolved_master_key_file} "
            "(embedded mode; keep it safe and back it up with the database)[/yellow]"
        )
    app = create_app(rt)
    runner: BatchRunner | None = None
    if settings.batch_runner:
        # Embedded mode answers batches in this process; durable, so a restart resumes them.
        runner = BatchRunner(rt.sessions, settings)
        runner.start()
        app.state.batch_runner = runner
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            log_level="info",
            log_config=log_config(),
            proxy_headers=True,
            server_header=False,
        )
    finally:
        if runner is not None:
            runner.stop()


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Serve Shouhu (the database must be migrated: `shouhu db upgrade`)."""
    run_server(load_settings(), host, port, migrate_first=False)


def _seed_demo_registry(factory: sessionmaker[Session], data_dir: Path) -> None:
    with Progress(
        TextColumn("seeding a synthetic registry"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("seed", total=None)
        seeded = seed_registry(
            factory,
            data_dir,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    err.print(
        f"[green]seeded {seeded.persons:,} synthetic registry persons[/green]; try "
        f"`shouhu screen {escape(str(seeded.queries_file))} --out answers.csv --explain`",
        highlight=False,
        soft_wrap=True,
    )


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
    rt = runtime(settings, run_migrations=True)
    accounts_file = settings.data_dir / DEMO_FILE
    with transaction(rt.sessions) as session:
        if not demo_data.is_seeded(session):
            accounts = demo_data.seed(session)
            demo_data.save_accounts(accounts_file, accounts)
            err.print("[green]seeded the demo data[/green]")
        empty_registry = registry_is_empty(session)
    if empty_registry:
        _seed_demo_registry(rt.sessions, settings.data_dir)
        workflow = seed_workflow(rt.sessions, settings)
        err.print(
            f"[green]entered demo records[/green]: {workflow.pending} waiting for review,"
            f" {workflow.returned} returned, {workflow.drafts} draft, {workflow.decided} decided"
            " (sign in as court.clerk or registry.reviewer)",
            highlight=False,
        )
        asked = seed_inquiries(rt.sessions, settings)
        err.print(
            f"[green]made demo inquiries[/green]: {asked.inquiries} by school.hr (answered,"
            " under review, refused, waiting for education.officer) and a staff file of"
            f" {asked.batch_rows} rows answered in a batch",
            highlight=False,
        )
        onestop = seed_onestop(rt.sessions, BlobStore(settings.data_dir / "evidence"))
        err.print(
            f"[green]made one-stop demo data[/green]: {onestop.sites} sites and {onestop.cases}"
            " cases in every state (sign in as case.officer, forensic.examiner, prosecutor or"
            " support.worker; analyst for the site performance)",
            highlight=False,
        )
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
