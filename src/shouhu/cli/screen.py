"""`shouhu screen FILE --out OUT [--explain] [--purpose P]`."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from shouhu.cli.context import cli_principal, err, fail, out, reported_errors, runtime
from shouhu.core.tabular import TableFileError
from shouhu.identity.prc_id import latest_possible_date
from shouhu.matching.model import WeightsError
from shouhu.registry.policy import InquiryPurpose
from shouhu.screening.files import CHUNK_ROWS, screen_file
from shouhu.screening.parallel import Parallel
from shouhu.screening.service import Matcher, StaleKeysError

NOT_SCREENED_EXIT = 2
# One worker per core, up to four: matching is CPU work, and the database is the next bottleneck.
DEFAULT_WORKERS = min(os.cpu_count() or 1, 4)


def screen(
    file: Path = typer.Argument(
        ..., dir_okay=False, help="A .csv (UTF-8, header row) or .xlsx file (first sheet)."
    ),
    output: Path = typer.Option(..., "--out", dir_okay=False, help="Where to write the answers."),
    explain: bool = typer.Option(
        False, "--explain", help="Add the matched person and the reasons (for reviewers only)."
    ),
    chunk_rows: int = typer.Option(CHUNK_ROWS, min=1, help="Rows matched per audited chunk."),
    workers: int = typer.Option(
        DEFAULT_WORKERS,
        min=1,
        help="Processes that match chunks from the second chunk on (1: all in this process).",
    ),
    # Minors Law art. 62 binds every employer in close contact with minors, schools included,
    # and is the widest scope: forgetting --purpose must not hide an offender (DESIGN §5).
    purpose: InquiryPurpose = typer.Option(
        InquiryPurpose.CLOSE_CONTACT.value,
        help="The inquiry's purpose: the disclosure policy says which records count for it.",
    ),
) -> None:
    """Screen every row of a file against the registry.

    Columns: reference, name, id_type, id_number, date_of_birth, sex, nationality. The output
    has one row per input row, in order: reference, outcome (hit, possible_match, no_record, or
    invalid with a message naming the field), score; with --explain also matched_external_id
    and reasons. A row that fails validation does not stop the file. Only records that count for
    --purpose under the current disclosure policy produce a hit.

    Exit status: 0 when the file was screened (whatever the answers); 2 when it could not be
    (unreadable input, bad header, unwritable output, stale matching keys).
    """
    rt = runtime()
    try:
        matcher = Matcher.from_settings(rt.settings, purpose=purpose)
    except WeightsError as exc:
        fail(str(exc), code=NOT_SCREENED_EXIT)
    scope = matcher.scope
    purpose_line = f"{scope.purpose.value} (policy {scope.policy_version})"
    err.print(f"screening for {purpose_line}", highlight=False)
    with Progress(
        TextColumn("screening {task.fields[file]}"),
        BarColumn(),
        TextColumn("{task.completed} rows"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("screen", total=None, file=escape(file.name))
        with reported_errors():
            try:
                summary = screen_file(
                    rt.engine,
                    rt.sessions,
                    actor=cli_principal(),
                    path=file,
                    out=output,
                    matcher=matcher,
                    today=latest_possible_date(),
                    explain=explain,
                    chunk_rows=chunk_rows,
                    parallel=Parallel(rt.settings.resolved_database_url, rt.master_key, workers),
                    progress=lambda done: bar.advance(task, done),
                )
            except (TableFileError, StaleKeysError) as exc:
                bar.stop()
                fail(str(exc), code=NOT_SCREENED_EXIT)
    out.print(f"purpose        {purpose_line}", highlight=False)
    out.print(f"rows screened  {summary.rows}", highlight=False)
    for outcome in ("hit", "possible_match", "no_record", "invalid"):
        out.print(f"{outcome:<15}{summary.outcomes.get(outcome, 0)}", highlight=False)
    out.print(f"answers        {escape(str(output))}", highlight=False, soft_wrap=True)
