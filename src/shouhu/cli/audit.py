"""`shouhu audit verify|checkpoint`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from shouhu.cli.context import cli_principal, err, fail, out, runtime
from shouhu.core.audit.checkpoint import (
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    take_checkpoint,
)
from shouhu.core.audit.verify import BATCH, VerifyResult, record_verification, verify_chain
from shouhu.core.database import read_only_session, transaction

app = typer.Typer(help="Verify the audit chain and export checkpoints.", no_args_is_help=True)

TAMPERED_EXIT = 2


def _read_checkpoint(path: Path) -> Checkpoint:
    try:
        return load_checkpoint(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        fail(f"{path}: not a checkpoint (not UTF-8 text)")
    except (OSError, CheckpointError) as exc:
        fail(f"{path}: {exc}")


def _summary(result: VerifyResult, checkpoint: Checkpoint | None) -> list[tuple[str, str]]:
    lines = [
        ("entries checked", str(result.checked)),
        ("last entry", str(result.last_seq)),
        ("last hash", result.last_hash),
    ]
    if checkpoint is not None:
        lines.append(("checkpoint", f"entry {checkpoint.seq} of {checkpoint.taken_at} matches"))
    return lines


@app.command()
def verify(
    checkpoint_file: Path | None = typer.Option(
        None,
        "--checkpoint",
        dir_okay=False,
        help="A checkpoint file from `shouhu audit checkpoint`: also detects a cut tail.",
    ),
) -> None:
    """Check every entry's hash and link; exit 2 naming the first bad entry if tampered."""
    rt = runtime()
    checkpoint = _read_checkpoint(checkpoint_file) if checkpoint_file is not None else None
    with Progress(
        TextColumn("verifying the audit chain"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,  # no bar in logs and pipes: results only
    ) as bar:
        task = bar.add_task("verify", total=None, visible=False)

        def show(done: int, total: int) -> None:
            # Only logs longer than one batch get a bar; a short one is done at once.
            bar.update(task, completed=done, total=max(done, total), visible=total > BATCH)

        with read_only_session(rt.engine) as session:
            result = verify_chain(session, checkpoint=checkpoint, progress=show)
    # Recorded after the walk, in its own transaction, so it is not part of what was checked.
    try:
        with transaction(rt.sessions) as session:
            record_verification(session, actor=cli_principal(), result=result)
    except RuntimeError as exc:  # the head row is gone: say so, but still report the result
        err.print(f"[yellow]warning:[/yellow] verification not recorded: {escape(str(exc))}")
    if result.problem is not None:
        err.print(
            f"[red]TAMPERED[/red]: {escape(result.problem.message)} "
            f"(first bad entry: {result.problem.seq}; reason: {result.problem.reason}; "
            f"{result.checked} entries intact before it)",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(TAMPERED_EXIT)
    out.print("[green]audit chain intact[/green]", highlight=False)
    for label, value in _summary(result, checkpoint):
        # Plain aligned lines, never wrapped or cut: scripts read the full hash.
        out.print(f"{label:<17}{escape(value)}", highlight=False, soft_wrap=True)


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
        # Written before the commit: if the file cannot be written, no event claims it was.
        if out_file is None:
            sys.stdout.write(document)  # raw: Rich would read the JSON brackets as markup
        else:
            try:
                out_file.write_text(document, encoding="utf-8")
            except OSError as exc:
                fail(f"{out_file}: {exc}")
    if out_file is not None:
        err.print(
            f"checkpoint of entry {taken.seq} written to {escape(str(out_file))}", soft_wrap=True
        )
