"""`shouhu keys rotate`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from shouhu.cli.context import cli_principal, err, fail, out, runtime
from shouhu.core.crypto.fields import DecryptionError
from shouhu.core.crypto.keyring import KeyError_
from shouhu.core.crypto.rotation import (
    DEFAULT_BATCH_SIZE,
    RotationError,
    RotationProgress,
    RotationReport,
    rotate_field_key,
)
from shouhu.onestop.blob_rotation import (
    EvidenceRewrap,
    EvidenceRewrapReport,
    EvidenceRotationBlockedError,
)

if TYPE_CHECKING:
    from shouhu.core.runtime import Runtime

app = typer.Typer(help="Manage encryption keys.", no_args_is_help=True)


def _start() -> tuple[Runtime, bytes]:
    try:
        rt = runtime()
    except KeyError_ as exc:
        fail(str(exc))
    return rt, rt.master_key


def _print_summary(report: RotationReport, evidence: EvidenceRewrapReport) -> None:
    old = ", ".join(report.old_key_ids) or "(none)"
    out.print(f"field key: {old} → {report.new_key_id}", highlight=False)
    if report.resumed:
        out.print("resumed an interrupted rotation", highlight=False)
    table = Table("table", "rows re-encrypted")
    for name, count in sorted(report.re_encrypted.items()):
        table.add_row(name, str(count))
    out.print(table)
    # The directory is named so that an operator sees at once if the command ran with another
    # SHOUHU_DATA_DIR than the servers (it would find no files there).
    if evidence.present:
        line = (
            f"evidence files in {evidence.root}: {evidence.rewrapped} re-wrapped, "
            f"{evidence.current} already under {report.new_key_id}"
        )
        if evidence.removed:
            line += f", {evidence.removed} removed during the rotation"
        out.print(line, highlight=False, markup=False, soft_wrap=True)
    else:
        out.print(
            f"evidence files: no store at {evidence.root}, nothing to re-wrap",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    out.print(
        f"retired: {old}; {report.total_re_encrypted} rows re-encrypted in all",
        highlight=False,
    )


@app.command()
def rotate(
    batch_size: int = typer.Option(
        DEFAULT_BATCH_SIZE, "--batch-size", min=1, help="Rows per committed transaction."
    ),
    settle_seconds: float | None = typer.Option(
        None,
        "--settle-seconds",
        min=0,
        help="Wait before retiring the old key so running servers notice the new one "
        "(default: twice SHOUHU_KEYRING_REFRESH_SECONDS; 0 when no server is running).",
    ),
) -> None:
    """Re-encrypt every encrypted field and re-wrap every evidence file under a new field key.

    Then retire the old key. Safe to interrupt: running it again resumes where it stopped.
    """
    rt, master_key = _start()
    # The evidence store of this installation: <SHOUHU_DATA_DIR>/evidence, as the servers use.
    evidence = EvidenceRewrap()
    try:
        evidence.check()
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
        ) as bar:
            tasks: dict[str, TaskID] = {}

            def show(event: RotationProgress) -> None:
                if event.table not in tasks:
                    tasks[event.table] = bar.add_task(event.table, total=event.total)
                bar.update(tasks[event.table], completed=event.scanned, total=event.total)

            report = rotate_field_key(
                rt.sessions,
                master_key,
                actor=cli_principal(),
                batch_size=batch_size,
                progress=show,
                settle_seconds=(
                    2 * rt.settings.keyring_refresh_seconds
                    if settle_seconds is None
                    else settle_seconds
                ),
                before_retiring=[evidence],
            )
    except EvidenceRotationBlockedError as exc:
        fail(str(exc))
    except (RotationError, DecryptionError, KeyError_) as exc:
        fail(f"{exc}; fix the cause and run `shouhu keys rotate` again to resume")
    except KeyboardInterrupt:
        fail("interrupted; run `shouhu keys rotate` again to resume", code=130)
    finally:
        rt.engine.dispose()
    _print_summary(report, evidence.report)
