"""The `shouhu registry` commands: import, keys, weights, duplicates, subject reports, retention."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import func, select

from shouhu.cli.context import cli_principal, err, fail, out, reported_errors, runtime
from shouhu.core.database import transaction
from shouhu.core.settings import FITTED_WEIGHTS_FILE
from shouhu.core.tabular import TableFileError
from shouhu.identity.documents import CHINA, normalise_document, parse_id_type
from shouhu.identity.errors import IdentityError
from shouhu.matching.fit import MIN_PERSONS, refit
from shouhu.matching.model import stated_model
from shouhu.registry.duplicates import find_duplicates
from shouhu.registry.importer import (
    DEFAULT_CHUNK_ROWS,
    PARALLEL_MIN_ROWS,
    ImportInterruptedError,
    ImportResult,
    import_file,
)
from shouhu.registry.lifecycle import discard_expired_submissions
from shouhu.registry.models import RegistryPerson
from shouhu.registry.policy import InquiryPurpose, policy
from shouhu.registry.profiles import count_stale, rebuild_stale, sample_profiles
from shouhu.registry.subject import SubjectInquiry, SubjectRecord, subject_report
from shouhu.screening.service import Matcher

app = typer.Typer(help="The registry of persons and their records.", no_args_is_help=True)

SOME_REJECTED_EXIT = 1
NOT_IMPORTED_EXIT = 2
# One worker per core, up to four: beyond that the single writer (this process) is the limit.
DEFAULT_IMPORT_WORKERS = min(os.cpu_count() or 1, 4)


def _summary(result: ImportResult) -> list[tuple[str, str]]:
    counts = result.counts
    return [
        ("rows read", str(result.rows_total)),
        ("rows imported", str(counts.rows)),
        ("rows rejected", str(result.rows_rejected)),
        ("persons created", str(counts.persons_created)),
        ("persons updated", str(counts.persons_updated)),
        ("persons unchanged", str(counts.persons_unchanged)),
        ("records added", str(counts.records_added)),
        ("records updated", str(counts.records_updated)),
        ("rejection report", str(result.report_path)),
    ]


@app.command("import")
def import_command(
    file: Path = typer.Argument(
        ..., dir_okay=False, help="A .csv (UTF-8, header row) or .xlsx file (first sheet)."
    ),
    chunk_rows: int = typer.Option(
        DEFAULT_CHUNK_ROWS, min=1, help="Rows per transaction (whole persons are never split)."
    ),
    workers: int = typer.Option(
        DEFAULT_IMPORT_WORKERS,
        min=1,
        help="Processes that validate rows and seal new persons while this one writes (1: all"
        f" in this process, as is any file of fewer than {PARALLEL_MIN_ROWS:,} rows). The"
        " outcome is the same.",
    ),
) -> None:
    """Import registry persons and records; records are created `active`.

    Columns: external_id, name, former_names (;-separated), sex (M/F), date_of_birth
    (YYYY-MM-DD), nationality (ISO 3166 alpha-3, default CHN), id_type, id_number, record_kind,
    offence (a catalogue code), decision_authority, decision_number, decision_date. Rows with
    the same external_id are one person; a known external_id updates that person, and
    importing the same file again changes nothing.

    Every row is validated; rejected rows are listed (row, field, reason) in
    <name>.rejections.csv beside the file and the others are imported.

    Exit status: 0 when every row was imported; 1 when some rows were rejected (the valid ones
    are imported); 2 when the file could not be imported at all (unreadable, not CSV or XLSX,
    or a bad header: nothing is written) or the import stopped part-way because another import
    changed the same persons (the chunks written so far are kept; run it again).
    """
    rt = runtime()
    with Progress(
        TextColumn("importing {task.fields[file]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("import", total=None, file=escape(file.name))

        def show(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        with reported_errors():
            try:
                result = import_file(
                    rt.sessions,
                    actor=cli_principal(),
                    path=file,
                    chunk_rows=chunk_rows,
                    progress=show,
                    workers=workers,
                )
            except (TableFileError, ImportInterruptedError) as exc:
                bar.stop()
                fail(str(exc), code=NOT_IMPORTED_EXIT)
    # One "label  value" line each, never wrapped or cut, so that scripts can read it.
    width = max(len(label) for label, _ in _summary(result)) + 2
    for label, value in _summary(result):
        out.print(f"{label:<{width}}{escape(value)}", highlight=False, soft_wrap=True)
    if not result.complete:
        err.print(
            f"[yellow]{result.rows_rejected} row(s) rejected[/yellow]: see "
            f"{escape(str(result.report_path))}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(SOME_REJECTED_EXIT)


@app.command("rebuild-keys")
def rebuild_keys_command() -> None:
    """Rebuild the match profiles and blocking keys that an older version built.

    Screening refuses to run while any are stale, since it could miss those persons. Each
    batch is one audited transaction; an interrupted run resumes where it stopped.
    """
    rt = runtime()
    with rt.sessions() as session:
        total = count_stale(session)
    with Progress(
        TextColumn("rebuilding keys"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("rebuild", total=total)
        with reported_errors():
            done = rebuild_stale(
                lambda: transaction(rt.sessions),
                actor=cli_principal(),
                progress=lambda count: bar.advance(task, count),
            )
    out.print(f"persons rebuilt  {done}", highlight=False)


@app.command("fit-weights")
def fit_weights_command(
    output: Path | None = typer.Option(
        None,
        "--out",
        dir_okay=False,
        help="The weights file to write [default: match-weights.toml in the data directory,"
        " which matching then uses unless SHOUHU_MATCH_WEIGHTS names another].",
    ),
    persons: int = typer.Option(20_000, min=2, help="Random registry persons to sample."),
    pairs: int = typer.Option(200_000, min=1, help="Random pairs of them to compare."),
) -> None:
    """Re-estimate the matching model's u-probabilities from random pairs of registry persons.

    m (how records of one person differ) is kept from the stated model. Written to the data
    directory, the file is used from the next screening on; elsewhere, point
    SHOUHU_MATCH_WEIGHTS at it. bench/febrl4_accuracy.py --weights measures what it gives.
    """
    rt = runtime()
    with reported_errors(), transaction(rt.sessions) as session:
        profiles = sample_profiles(session, actor=cli_principal(), persons=persons)
    if len(profiles) < MIN_PERSONS:
        fail("the registry holds fewer than two persons: nothing to fit")
    # Refit from the stated m, never from an earlier fit's file: fits do not compound.
    with err.status(f"comparing {pairs:,} random pairs"):
        model = refit(stated_model(), profiles, pairs=pairs)
    target = output or rt.settings.data_dir / FITTED_WEIGHTS_FILE
    target.write_text(model.to_toml(), encoding="utf-8")
    out.print(f"weights {escape(model.version)} written to {escape(str(target))}", highlight=False)


DUPLICATE_COLUMNS = ("first_external_id", "second_external_id", "outcome", "score", "reasons")


@app.command("duplicates")
def duplicates_command(
    output: Path = typer.Option(
        ..., "--out", dir_okay=False, help="Where to write the pairs (CSV)."
    ),
) -> None:
    """Sweep the registry for persons entered twice: the matching engine run on itself.

    Writes one row per pair: the two external ids, the outcome an inquiry would get (hit: the
    same document and a high score; possible_match: a reviewer should look), the score and the
    reasons. Each batch of persons read is audited. Nothing is merged: that is a reviewer's
    decision.
    """
    rt = runtime()
    if output.exists():
        fail(f"{escape(str(output))} exists; name a new file", code=NOT_IMPORTED_EXIT)
    matcher = Matcher.from_settings(rt.settings, purpose=InquiryPurpose.CLOSE_CONTACT)
    with rt.sessions() as session:
        total = session.scalar(select(func.count()).select_from(RegistryPerson)) or 0
    found = {"hit": 0, "possible_match": 0}
    with (
        Progress(
            TextColumn("sweeping for duplicates"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        ) as bar,
        reported_errors(),
        output.open("w", encoding="utf-8", newline="") as handle,
    ):
        task = bar.add_task("sweep", total=total)
        writer = csv.writer(handle)
        writer.writerow(DUPLICATE_COLUMNS)
        for pairs in find_duplicates(
            rt.engine,
            rt.sessions,
            actor=cli_principal(),
            model=matcher.model,
            thresholds=matcher.thresholds,
            progress=lambda count: bar.advance(task, count),
        ):
            for pair in pairs:
                found[pair.outcome.value] += 1
                writer.writerow(
                    [
                        pair.first_external_id,
                        pair.second_external_id,
                        pair.outcome.value,
                        f"{pair.score:.2f}",
                        pair.reasons,
                    ]
                )
    out.print(f"persons swept     {total}", highlight=False)
    out.print(f"likely the same   {found['hit']}", highlight=False)
    out.print(f"for review        {found['possible_match']}", highlight=False)
    out.print(f"pairs             {escape(str(output))}", highlight=False, soft_wrap=True)


def _print_record(label: str, item: SubjectRecord) -> None:
    out.print(
        f"  {label:<20} {item.kind}, {item.offence}"
        f" ({escape(item.offence_name_zh)} / {escape(item.offence_name_en)};"
        f" {escape(item.legal_basis)}),"
        f" {escape(item.authority)} {escape(item.decision_number)}"
        f" of {item.decision_date.isoformat()}, {item.status}, version {item.version},"
        f" registered {item.registered_at:%Y-%m-%d}",
        highlight=False,
        soft_wrap=True,
    )


def _print_inquiries(inquiries: list[SubjectInquiry]) -> None:
    if not inquiries:
        out.print("\ninquiries              none: no staff-access inquiry named this document")
    for inquiry in inquiries:
        out.print(
            f"\ninquiry                {inquiry.submitted_at:%Y-%m-%d %H:%M} UTC"
            f" by {escape(inquiry.institution)}, {inquiry.purpose}: {inquiry.status}"
            f"{', ' + inquiry.answer if inquiry.answer else ''}"
            f"{', ' + inquiry.hiring if inquiry.hiring else ''}",
            highlight=False,
            soft_wrap=True,
        )


@app.command("subject-report")
def subject_report_command(
    id_type: str = typer.Option(..., "--id-type", help="prc_id, passport, hkmo_permit, …"),
    id_number: str = typer.Option(..., "--id-number", help="The document's number."),
    nationality: str | None = typer.Option(
        None, help="ISO 3166 alpha-3 (passports; default CHN, as in the import)."
    ),
) -> None:
    """Print what the registry holds about one identity (PIPL arts 44-45): a subject access report.

    Every registry person holding the document, with their names, documents and records (kind,
    offence and its legal basis, deciding authority, decision number and date, status). The
    read is audited.
    """
    rt = runtime()
    try:
        document = normalise_document(
            parse_id_type(id_type).value,
            id_number,
            nationality=nationality.upper() if nationality else CHINA,
        )
    except IdentityError as exc:
        fail(f"{exc}. Check the document type and number.", code=NOT_IMPORTED_EXIT)
    with reported_errors(), transaction(rt.sessions) as session:
        report = subject_report(session, actor=cli_principal(), document=document)
    out.print(
        f"subject access report  {report.generated_at:%Y-%m-%d %H:%M} UTC,"
        f" disclosure policy {report.policy_version}",
        highlight=False,
    )
    out.print(f"document               {document.id_type.value} {escape(document.number)}")
    if not report.persons:
        out.print("registry persons       none: the registry holds nothing about this document")
    for person in report.persons:
        out.print(f"\nregistry person        {escape(person.external_id)}", highlight=False)
        for kind, name in person.names:
            out.print(f"  name ({kind}){'':<{14 - len(kind)}}{escape(name)}", highlight=False)
        out.print(f"  sex                  {person.sex or '-'}", highlight=False)
        born = person.date_of_birth.isoformat() if person.date_of_birth else "-"
        out.print(f"  date of birth        {born}", highlight=False)
        out.print(f"  nationality          {person.nationality or '-'}", highlight=False)
        for doc_type, number, doc_nationality in person.documents:
            where = f" ({doc_nationality})" if doc_nationality else ""
            out.print(f"  document             {doc_type} {escape(number)}{where}", highlight=False)
        for item in person.records:
            _print_record("record", item)
    if report.submissions:
        out.print("\nnot yet decided       submissions naming this document", highlight=False)
    for item in report.submissions:
        _print_record("submission", item)
    _print_inquiries(report.inquiries)


@app.command("retention")
def retention_command() -> None:
    """Delete unfinished submissions kept longer than the disclosure policy allows.

    Drafts never sent and returned submissions not sent again are deleted once untouched for
    the policy's `unfinished_submission_days` (PIPL art. 19); each deletion is audited. Decided
    records are never deleted. Run it daily (cron or a systemd timer).
    """
    rt = runtime()
    rules = policy()
    with reported_errors(), transaction(rt.sessions) as session:
        discarded = discard_expired_submissions(session, actor=cli_principal())
    kept_for = rules.unfinished_submission_days
    out.print(f"policy       {rules.version}", highlight=False)
    out.print(f"kept for     {kept_for or 'ever'} days", highlight=False)
    out.print(f"discarded    {discarded}", highlight=False)
