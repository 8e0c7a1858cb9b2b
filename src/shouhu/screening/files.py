"""`shouhu screen FILE --out OUT`: a screening file in, one answer per row out (DESIGN §6).

The file streams in chunks: each chunk is matched in a read-only session (on SQLite it holds no
write lock, so imports and inquiries go on meanwhile), audited in a short transaction of its own,
and only then written out, so that no answer leaves without its audit event.
"""

from __future__ import annotations

import csv
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Final

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shouhu.core.database import read_only_session, transaction
from shouhu.core.principal import Principal
from shouhu.core.tabular import TableFileError, check_header, file_error, is_blank, rows_of
from shouhu.identity.rows import Rejection
from shouhu.screening.queries import (
    COLUMNS,
    REQUIRED_COLUMNS,
    InvalidQuery,
    ValidQuery,
    parse_query,
)
from shouhu.screening.service import (
    Matcher,
    ScreeningResult,
    check_keys_current,
    match_queries,
    record_screening,
    require_screening_right,
)

CHUNK_ROWS: Final = 1000
OUTPUT_COLUMNS: Final = ("reference", "outcome", "score", "message")
EXPLAIN_COLUMNS: Final = ("matched_external_id", "reasons")
PURPOSE: Final = "file"

Progress = Callable[[int], None]


@dataclass
class ScreenSummary:
    """What a screening run did."""

    rows: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


def _queries(path: Path, today: date) -> Iterator[ValidQuery | InvalidQuery]:
    """Each data row of the file as a query, in order; blank rows are skipped."""
    with rows_of(path) as rows:
        header: list[str] | None = None
        for number, cells in rows:
            if is_blank(cells):
                continue
            if header is None:
                header = check_header(path, cells, COLUMNS, REQUIRED_COLUMNS)
                continue
            query = parse_query(number, dict(zip(header, cells, strict=False)), today=today)
            if len(cells) > len(header) and not is_blank(cells[len(header) :]):
                extra = Rejection(number, "row", "extra_cells", "values beyond the last column")
                problems = query.problems if isinstance(query, InvalidQuery) else ()
                query = InvalidQuery(query.reference, (extra, *problems))
            yield query
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


def _chunks(
    queries: Iterator[ValidQuery | InvalidQuery], size: int
) -> Iterator[list[ValidQuery | InvalidQuery]]:
    chunk: list[ValidQuery | InvalidQuery] = []
    for query in queries:
        chunk.append(query)
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
    run_id: uuid.UUID


def _screen_into(
    handle: IO[str],
    run: _Run,
    queries: Iterator[ValidQuery | InvalidQuery],
    *,
    chunk_rows: int,
    summary: ScreenSummary,
    progress: Progress | None,
) -> None:
    writer = csv.writer(handle)
    writer.writerow(OUTPUT_COLUMNS + (EXPLAIN_COLUMNS if run.explain else ()))
    for chunk in _chunks(queries, chunk_rows):
        with read_only_session(run.engine) as session:
            results = match_queries(session, queries=chunk, matcher=run.matcher)
        with transaction(run.factory) as session:
            record_screening(
                session,
                actor=run.actor,
                results=results,
                matcher=run.matcher,
                purpose=PURPOSE,
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
    progress: Progress | None = None,
) -> ScreenSummary:
    """Screen every row of `path` into `out`, in order; invalid rows answer `invalid`."""
    require_screening_right(actor)
    if path.resolve() == out.resolve():
        raise TableFileError("{file}: the output would overwrite the input.", file=str(out))
    with read_only_session(engine) as session:
        check_keys_current(session)
    run = _Run(engine, factory, actor, matcher, explain, uuid.uuid4())
    summary = ScreenSummary()
    partial = out.with_name(out.name + ".partial")
    try:
        with _open_output(partial) as handle:
            _screen_into(
                handle,
                run,
                _queries(path, today),
                chunk_rows=chunk_rows,
                summary=summary,
                progress=progress,
            )
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    # The output appears whole or not at all: a run that failed part-way leaves no answers
    # that could be taken for a complete file.
    partial.replace(out)
    return summary
