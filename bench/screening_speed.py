"""Screening speed against a large synthetic registry (issue 3), on SQLite and PostgreSQL.

Usage: .venv/bin/python bench/screening_speed.py [--persons 100000] [--queries 20000]
       [--latency 2000] [--workers N] [--url URL [--no-import]]
(`--persons 1000000` for the full run.) For each backend it builds a registry of synthetic
persons (`shouhu.registry.synthetic`) through `shouhu registry import` and prints:

- import: rows/s of the first import, with the worker processes `shouhu registry import` uses
  (target >= 20,000 rows/s);
- screen: queries/s of `shouhu screen`'s service over a file of queries of every kind, in one
  process and with the worker processes `shouhu screen` uses (target >= 5,000 queries/s on
  2 cores against 10^6 persons);
- one inquiry in-process, p50 and p99 (target p50 <= 1 ms, p99 <= 5 ms): the decision alone
  (look-up, decryption, scoring), and the decision with its audit event committed;
- the candidates scored per query, and peak memory (target <= 2 GiB): of this process, and of
  the largest worker process.

`--workers` defaults to the CLI's default (one per CPU, up to four). `--no-import` measures
screening again on a registry an earlier run with the same `--url` and `--persons` built.

The registry is written to the CSV as it is generated, so only a sample of persons (the ones
the queries are about) is held in memory.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import statistics
import tempfile
import time
from pathlib import Path

from common import MASTER_KEY, ChildMemory, Database, databases, rate
from sqlalchemy import func, select

from shouhu.cli.registry import DEFAULT_IMPORT_WORKERS
from shouhu.cli.screen import DEFAULT_WORKERS
from shouhu.core.database import read_only_session, transaction
from shouhu.core.principal import system_principal
from shouhu.core.settings import Settings
from shouhu.identity.prc_id import latest_possible_date
from shouhu.matching.engine import decide_many
from shouhu.registry.candidates import RegistryCandidates
from shouhu.registry.importer import import_file
from shouhu.registry.models import RegistryBlockingKey
from shouhu.registry.policy import InquiryPurpose
from shouhu.registry.synthetic import (
    SyntheticPerson,
    generate_persons,
    generate_queries,
    write_queries_csv,
    write_registry_csv,
)
from shouhu.screening.files import screen_file
from shouhu.screening.parallel import Parallel
from shouhu.screening.queries import ValidQuery, parse_query
from shouhu.screening.service import Matcher, screen

# Every offence of the catalogue counts for this purpose: the benches measure matching alone.
PURPOSE = InquiryPurpose.CLOSE_CONTACT

SAMPLE = 50_000  # persons kept in memory for the queries to be about
SEED = 3


def _percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=100)
    return f"p50 {cuts[49] * 1000:6.2f} ms, p99 {cuts[98] * 1000:6.2f} ms"


def build_files(tmp: Path, persons: int, queries: int) -> tuple[Path, Path, list[ValidQuery]]:
    """The registry CSV (streamed) and a query file; the queries parsed for the latency run."""
    sample: list[SyntheticPerson] = []

    def keep(people: itertools.chain[SyntheticPerson]) -> itertools.chain[SyntheticPerson]:
        for person in people:
            if len(sample) < SAMPLE:
                sample.append(person)
            yield person

    started = time.perf_counter()
    registry = tmp / "registry.csv"
    rows = write_registry_csv(registry, keep(generate_persons(persons, seed=SEED)), seed=SEED)
    print(f"generated {persons:,} persons ({rows:,} rows) in {time.perf_counter() - started:.1f} s")
    generated = list(generate_queries(sample, queries, seed=SEED))
    query_file = tmp / "queries.csv"
    write_queries_csv(query_file, generated)
    today = latest_possible_date()
    parsed = [parse_query(i, q.screening_row(), today=today) for i, q in enumerate(generated)]
    return registry, query_file, [q for q in parsed if isinstance(q, ValidQuery)]


def run(
    db: Database,
    registry: Path,
    query_file: Path,
    valid: list[ValidQuery],
    *,
    latency: int,
    workers: int,
    skip_import: bool = False,
) -> None:
    """Import, screen, time single inquiries; print the figures."""
    db.activate()
    matcher = Matcher.from_settings(Settings(data_dir=Path("/nonexistent")), purpose=PURPOSE)
    if not skip_import:
        import_registry(db, registry, workers=workers)
    screen_queries(db, registry, query_file, matcher, workers=workers)
    single_inquiries(db, valid[:latency], matcher)


def import_registry(db: Database, registry: Path, *, workers: int) -> None:
    """Import the registry file; print rows/s and keys per person."""
    actor = system_principal("cli")
    started = time.perf_counter()
    imported = import_file(
        db.factory,
        actor=actor,
        path=registry,
        workers=min(workers, DEFAULT_IMPORT_WORKERS) if workers > 1 else 1,
    )
    elapsed = time.perf_counter() - started
    with db.factory() as session:
        keys = session.scalar(select(func.count()).select_from(RegistryBlockingKey)) or 0
    persons = imported.counts.persons_created
    speed = rate(imported.rows_total, elapsed)
    print(f"  import   {speed}  ({persons:,} persons, {keys / persons:.1f} keys each)")


def screen_queries(
    db: Database, registry: Path, query_file: Path, matcher: Matcher, *, workers: int
) -> None:
    """Screen the query file in one process, then with workers; print queries/s."""
    actor = system_principal("cli")
    for label, parallel in (
        ("1 process", None),
        (f"{workers} workers", Parallel(db.url, MASTER_KEY, workers) if workers > 1 else None),
    ):
        started = time.perf_counter()
        summary = screen_file(
            db.engine,
            db.factory,
            actor=actor,
            path=query_file,
            out=registry.with_name(f"answers-{db.label}.csv"),
            matcher=matcher,
            today=latest_possible_date(),
            parallel=parallel,
        )
        elapsed = time.perf_counter() - started
        speed = rate(summary.rows, elapsed, "queries")
        print(f"  screen   {speed}  {label}: {dict(summary.outcomes)}")
        if workers == 1:
            break


def single_inquiries(db: Database, valid: list[ValidQuery], matcher: Matcher) -> None:
    """Time inquiries one at a time: the decision alone, and with its audit event committed."""
    actor = system_principal("cli")
    alone: list[float] = []
    candidates: list[int] = []
    with read_only_session(db.engine) as session:
        source = RegistryCandidates(session, matcher.scope)
        for query in valid:
            started = time.perf_counter()
            decision = decide_many(
                [query.profile], source, model=matcher.model, thresholds=matcher.thresholds
            )[0]
            alone.append(time.perf_counter() - started)
            candidates.append(decision.candidates)
    audited: list[float] = []
    for query in valid:
        started = time.perf_counter()
        with transaction(db.factory) as session:
            screen(session, actor=actor, queries=[query], matcher=matcher, via="bench")
        audited.append(time.perf_counter() - started)
    print(f"  inquiry  decision alone:    {_percentiles(alone)}")
    print(f"  inquiry  with audit commit: {_percentiles(audited)}")
    cuts = statistics.quantiles(candidates, n=100)
    print(
        f"  candidates scored per query: mean {statistics.mean(candidates):.1f}, p99 {cuts[98]:.0f}"
    )


def main() -> None:
    """Build the files once, then measure each backend."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=20_000)
    parser.add_argument("--latency", type=int, default=2_000, help="single inquiries to time")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    parser.add_argument("--url", help="a database URL to measure instead of the defaults")
    parser.add_argument("--no-import", action="store_true", help="the --url registry is built")
    args = parser.parse_args()
    if args.no_import and not args.url:
        parser.error("--no-import needs --url")
    children = ChildMemory()
    with tempfile.TemporaryDirectory() as directory, databases(Path(directory), args.url) as dbs:
        tmp = Path(directory)
        registry, query_file, valid = build_files(tmp, args.persons, args.queries)
        for db in dbs:
            print(db.label)
            run(
                db,
                registry,
                query_file,
                valid,
                latency=args.latency,
                workers=args.workers,
                skip_import=args.no_import,
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory: this process {peak:,.0f} MiB, largest worker {children.stop():,} MiB")


if __name__ == "__main__":
    main()
