"""`shouhu audit verify|checkpoint`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from shouhu.cli.context import cli_principal, err, fail, out, runtime
from shouhu.core.audit.checkpoint import CheckpointError, load_checkpoint, take_checkpoint
from shouhu.core.audit.verify import VerifyResult, record_verification, verify_chain
from shouhu.core.database import transaction

app = typer.Typer(help="Verify the audit chain and export checkpoints.", no_args_is_help=True)

TAMPERED_EXIT = 2


@app.command()
def verify(
    checkpoint: Path | None = typer.Option(
        None,
        "--checkpoint",
        exists=True,
        dir_okay=False,
        help="A checkpoint file from `shouhu audit checkpoint`: also detects a cut tail.",
    ),
) -> None:
    """Check every entry's hash and link; exit 2 naming the first bad entry if tampered."""
    rt = runtime()
    claim = None
    if checkpoint is not None:
        try:
            claim = load_checkpoint(checkpoint.read_text(encoding="utf-8")).claim()
        except CheckpointError as exc:
            fail(f"{checkpoint}: {exc}")
    with Progress(
        TextColumn("verifying"), BarColumn(), MofNCompleteColumn(), console=err, transient=True
    ) as bar:
        task = bar.add_task("verify", total=None)

        def show(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        with rt.sessions() as session:
            result: VerifyResult = verify_chain(session, checkpoint=claim, progress=show)
    # Recorded after the walk, in its own transaction, so it is not part of what was checked.
    with transaction(rt.sessions) as session:
        record_verification(session, actor=cli_principal(), result=result)
    if result.problem is not None:
        err.print(
            f"[red]TAMPERED[/red]: {result.problem.message} "
            f"(first bad entry: {result.problem.seq})",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(TAMPERED_EXIT)
    suffix = f"; checkpoint at entry {claim.seq} matches" if claim else ""
    out.print(
        f"intact: {result.checked} entries, head {result.last_seq} "
        f"{result.last_hash[:16]}…{suffix}",
        highlight=False,
    )


@app.command("checkpoint")
def checkpoint_command(
    out_file: Path | None = typer.Option(
        None, "--out", dir_okay=False, help="Write here instead of stdout."
    ),
) -> None:
    """Export a signed checkpoint of the chain head; keep it outside the database."""
    rt = runtime()
    with transaction(rt.sessions) as session:
        taken = take_checkpoint(session, actor=cli_principal())
    document = taken.to_json()
    if out_file is None:
        sys.stdout.write(document)  # raw: Rich would read the JSON brackets as markup
    else:
        out_file.write_text(document, encoding="utf-8")
        err.print(f"checkpoint of entry {taken.seq} written to {out_file}")
