"""`shouhu screen FILE --out OUT`: a screening file in, one answer per row out (DESIGN §6).

The file streams in chunks: each chunk is matched in a read-only session (on SQLite it holds no
write lock, so imports and inquiries go on meanwhile), audited in a short transaction of its own,
and only then written out, so that no answer leaves without its audit event. A file of more
than one chunk is parsed and matched in worker processes (`screening.parallel`), one per core,
while this process audits and writes the answers in order (and matches chunks itself while the
workers are busy).
"""

from __future__ import annotations

import csv
import itertools
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Final

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shouhu.accounts.policies import require
from shouhu.accounts.roles import Permission
from shouhu.core.database import read_only_session, transaction
from shouhu.core.principal import Principal
from shouhu.core.tabular import TableFileError, check_header, file_error, is_blank, rows_of
from shouhu.screening.parallel import Parallel, WorkerSetup, worker_pool
from shouhu.screening.queries import (
    COLUMNS,
    REQUIRED_COLUMNS,
    RawRow,
    parse_rows,
)
from shouhu.screening.service import (
    Matcher,
    ScreeningResult,
    check_keys_current,
    match_queries,
    record_screening,
)

CHUNK_ROWS: Final = 1000
OUTPUT_COLUMNS: Final = ("reference", "outcome", "score", "message")
EXPLAIN_COLUMNS: Final = ("matched_external_id", "reasons")
VIA: Final = "file"  # how the queries came: the audit event says so

Progress = Callable[[int], None]
MIN_WORKERS: Final = 2


@dataclass
class ScreenSummary:
    """What a screening run did."""

    rows: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


def _rows(path: Path) -> Iterator[RawRow]:
    """Each data row of the file (number, values by column, extra cells?); blank rows skipped."""
    with rows_of(path) as rows:
        header: list[str] | None = None
        for number, cells in rows:
            if is_blank(cells):
                continue
            if header is None:
                header = check_header(path, cells, COLUMNS, REQUIRED_COLUMNS)
                continue
            extra = len(cells) > len(header) and not is_blank(cells[len(header) :])
            yield number, dict(zip(header, cells, strict=False)), extra
        if header is None:
            raise file_error(path, "the file is empty; the first row must be the header.")


def _output_row(result: ScreeningResult, *, explain: bool) -> list[str]:
    score = "" if result.score is None else f"{result.score:.2f}"
    row = [result.reference, result.outcome, score, result.message]
    if explain:
        explanation = result.decision.explanation if result.decision else None
        matched = explanation.external_id if explanation and result.outcome != "no_record" else ""
        row += [matched, explanation.reasons() if explanation else ""]
    return row


def _chunks(rows: Iterator[RawRow], size: int) -> Iterator[list[RawRow]]:
    chunk: list[RawRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _open_output(out: Path) -> IO[str]:
    try:
        return out.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise file_error(
            out, "cannot be written: {problem}.", problem=exc.strerror or str(exc)
        ) from exc


@dataclass(frozen=True, slots=True)
class _Run:
    """One screening run's fixed parts."""

    engine: Engine
    factory: sessionmaker[Session]
    actor: Principal
    matcher: Matcher
    explain: bool
    today: date
    run_id: uuid.UUID

    def match_here(self, rows: list[RawRow]) -> list[ScreeningResult]:
        """Parse and match one chunk in this process (a read-only session: no write lock)."""
        with read_only_session(self.engine) as session:
            return match_queries(
                session, queries=parse_rows(rows, self.today), matcher=self.matcher
            )


def _answered(
    run: _Run, chunks: Iterator[list[RawRow]], parallel: Parallel | None
) -> Iterator[list[ScreeningResult]]:
    """Each chunk's answers, in order: here, or in worker processes once a second chunk comes."""
    first = next(chunks, None)
    if first is None:
        return
    second = next(chunks, None)
    if second is None or parallel is None or parallel.workers < MIN_WORKERS:
        yield run.match_here(first)
        if second is not None:
            yield run.match_here(second)
            yield from (run.match_here(chunk) for chunk in chunks)
        return
    setup = WorkerSetup(parallel.url, parallel.master_key, run.matcher, run.today)
    with worker_pool(setup, parallel.workers) as pool:
        yield from pool.map_in_order(itertools.chain([first, second], chunks), run.match_here)


def _screen_into(
    handle: IO[str],
    run: _Run,
    chunks: Iterator[list[RawRow]],
    *,
    summary: ScreenSummary,
    parallel: Parallel | None,
    progress: Progress | None,
) -> None:
    writer = csv.writer(handle)
    writer.writerow(OUTPUT_COLUMNS + (EXPLAIN_COLUMNS if run.explain else ()))
    for results in _answered(run, chunks, parallel):
        # DESIGN §4: no answer leaves before the audit event of its reading is committed.
        with transaction(run.factory) as session:
            record_screening(
                session,
                actor=run.actor,
                results=results,
                matcher=run.matcher,
                via=VIA,
                object_id=run.run_id,
            )
        writer.writerows(_output_row(result, explain=run.explain) for result in results)
        summary.rows += len(results)
        summary.outcomes.update(result.outcome for result in results)
        if progress is not None:
            progress(len(results))


def screen_file(
    engine: Engine,
    factory: sessionmaker[Session],
    *,
    actor: Principal,
    path: Path,
    out: Path,
    matcher: Matcher,
    today: date,
    explain: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    parallel: Parallel | None = None,
    progress: Progress | None = None,
) -> ScreenSummary:
    """Screen every row of `path` into `out`, in order; invalid rows answer `invalid`."""
    require(actor, Permission.REGISTRY_SCREEN)
    if path.resolve() == out.resolve():
        raise TableFileError("{file}: the output would overwrite the input.", file=str(out))
    with read_only_session(engine) as session:
        check_keys_current(session)
    run = _Run(engine, factory, actor, matcher, explain, today, uuid.uuid4())
    summary = ScreenSummary()
    partial = out.with_name(out.name + ".partial")
    try:
        with _open_output(partial) as handle:
            _screen_into(
                handle,
                run,
                _chunks(_rows(path), chunk_rows),
                summary=summary,
                parallel=parallel,
                progress=progress,
            )
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    # The output appears whole or not at all: a run that failed part-way leaves no answers
    # that could be taken for a complete file.
    partial.replace(out)
    return summary
