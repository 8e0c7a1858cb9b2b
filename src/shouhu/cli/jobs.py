"""`shouhu jobs run`: answer batches of inquiries outside the serving processes (production)."""

from __future__ import annotations

import signal
import threading
import uuid
from types import FrameType

import typer

from shouhu.cli.context import err, fail, runtime
from shouhu.core import migrate
from shouhu.screening.batch_runner import POLL_SECONDS, BatchRunner

app = typer.Typer(help="Background jobs (batches of inquiries).", no_args_is_help=True)


@app.command("run")
def run(
    once: bool = typer.Option(False, "--once", help="Answer what is waiting now, then stop."),
) -> None:
    """Answer waiting batches, resuming any whose runner stopped, until interrupted."""
    rt = runtime()
    if not migrate.is_current(rt.engine):
        fail("the database schema is not current: run `shouhu db upgrade` first")

    def report(batch_id: uuid.UUID, done: int, total: int | None) -> None:
        counted = f"{total:,}" if total is not None else "?"
        err.print(f"batch {batch_id}: {done:,} of {counted} rows answered", highlight=False)

    runner = BatchRunner(rt.sessions, rt.settings, on_chunk=report)
    if once:
        taken = runner.run_pending()
        err.print(f"answered {taken} batch(es)")
        return
    stopped = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopped.set()
        runner.stop(timeout=0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    err.print(f"runner {runner.owner} waiting for batches (Ctrl-C stops)")
    while not stopped.is_set():
        if not runner.run_pending():
            stopped.wait(POLL_SECONDS)
