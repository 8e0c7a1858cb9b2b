"""Registry import throughput: rows per second for a first import, a re-import and an update.

Usage: .venv/bin/python bench/registry_import.py [--rows 100000] [--chunk-rows N] [--workers N]
       [--url URL]
Without --url it measures a fresh SQLite file and, if SHOUHU_TEST_DATABASE_URL is set, a fresh
PostgreSQL database as well. The rows are synthetic Chinese persons from the test factories
(tests/factories/registry.py), one record each. `--chunk-rows` and `--workers` default to what
`shouhu registry import` uses (its `--workers`: one worker process per CPU, up to four; 1 keeps
all the work in one process). It prints:

- validation alone (every row through `validate_row`, in this process, no database), rows/s;
- the first import into an empty registry, rows/s;
- the same file again (nothing changes), rows/s;
- the file with one more record for every tenth person (those persons are updated), rows/s;
- the size of the blocking-key table and the plan of a candidate look-up by key.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from shouhu.cli.registry import DEFAULT_IMPORT_WORKERS
from shouhu.core import migrate
from shouhu.core.crypto.keyring import install_keyring, load_keyring
from shouhu.core.database import make_engine, make_session_factory
from shouhu.core.principal import system_principal
from shouhu.identity.prc_id import latest_possible_date
from shouhu.registry.importer import DEFAULT_CHUNK_ROWS, import_file, validate_row
from shouhu.registry.models import RegistryBlockingKey, RegistryPerson, RegistryRecord

# The synthetic rows come from the test factories, which live beside `src/`.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.factories.registry import synthetic_rows, write_csv

MASTER_KEY = bytes(range(32))  # a fixed key: the bench measures speed, not secrecy


def _fresh_pg(base: str) -> tuple[str, str]:
    name = f"shouhu_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        "postgresql+psycopg://" + base.split("://", 1)[1], isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.rsplit("/", 1)[0] + f"/{name}", name


def _drop_pg(base: str, name: str) -> None:
    admin = create_engine(
        "postgresql+psycopg://" + base.split("://", 1)[1], isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:>9,.0f} rows/s ({seconds:6.1f} s)"


def validation_rate(rows: list[dict[str, str]]) -> float:
    """Seconds to validate every row, with no database."""
    today = latest_possible_date()
    started = time.perf_counter()
    for number, row in enumerate(rows, start=2):
        outcome = validate_row(number, row, today=today)
        assert not isinstance(outcome, list), outcome
    return time.perf_counter() - started


def _plan(session: Session, dialect: str) -> str:
    keys = [bytes(16), bytes(range(16))]
    if dialect == "sqlite":
        query = "SELECT person_id FROM registry_blocking_keys WHERE key IN (:a, :b)"
        rows = session.execute(
            text("EXPLAIN QUERY PLAN " + query), {"a": keys[0], "b": keys[1]}
        ).all()
        return "; ".join(str(row[-1]) for row in rows)
    rows = session.execute(
        text("EXPLAIN SELECT person_id FROM registry_blocking_keys WHERE key = ANY(:keys)"),
        {"keys": keys},
    ).all()
    return "; ".join(str(row[0]).strip() for row in rows)


def run(
    url: str, csv_path: Path, update_path: Path, rows: int, *, chunk_rows: int, workers: int
) -> None:
    """Import, re-import and update on one database; print the rates."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    with Session(engine) as session, session.begin():
        install_keyring(load_keyring(session, MASTER_KEY))
    factory = make_session_factory(engine)
    actor = system_principal("cli")
    for label, path in (
        ("first import", csv_path),
        ("same file again", csv_path),
        ("10% with a new record", update_path),
    ):
        started = time.perf_counter()
        result = import_file(
            factory, actor=actor, path=path, chunk_rows=chunk_rows, workers=workers
        )
        elapsed = time.perf_counter() - started
        assert result.complete, result.rejections[:5]
        counts = result.counts
        print(
            f"  {label:<22} {_rate(result.rows_total, elapsed)}  created {counts.persons_created}"
            f", updated {counts.persons_updated}, unchanged {counts.persons_unchanged}"
            f", records added {counts.records_added}"
        )
    with factory() as session:
        persons = session.scalar(select(func.count()).select_from(RegistryPerson)) or 0
        records = session.scalar(select(func.count()).select_from(RegistryRecord)) or 0
        keys = session.scalar(select(func.count()).select_from(RegistryBlockingKey)) or 0
        assert persons == rows, (persons, rows)
        print(
            f"  persons {persons:,}, records {records:,}, blocking keys {keys:,}"
            f" ({keys / persons:.1f} per person)"
        )
        print(f"  look-up by key: {_plan(session, engine.dialect.name)}")
    engine.dispose()


def main() -> None:
    """Parse arguments, build the files, run each backend."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS)
    parser.add_argument("--workers", type=int, default=DEFAULT_IMPORT_WORKERS)
    parser.add_argument("--url", help="a database URL to measure instead of the defaults")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        rows = list(synthetic_rows(args.rows))
        csv_path = write_csv(tmp / "registry.csv", rows)
        extra = [{**row, "decision_number": row["decision_number"] + "-bis"} for row in rows[::10]]
        update_path = write_csv(tmp / "update.csv", rows + extra)
        print(
            f"{args.rows:,} synthetic rows, chunks of {args.chunk_rows:,} rows,"
            f" {args.workers} worker process(es) ({os.cpu_count()} CPUs)"
        )
        install_keyring_for_validation(tmp)
        print(f"validation only          {_rate(len(rows), validation_rate(rows))}")
        targets: list[tuple[str, str, str | None]] = []
        if args.url:
            targets.append(("given", args.url, None))
        else:
            targets.append(("sqlite", f"sqlite:///{tmp / 'bench.db'}", None))
            base = os.environ.get("SHOUHU_TEST_DATABASE_URL")
            if base:
                url, name = _fresh_pg(base)
                targets.append(("postgresql", url, name))
        for label, url, pg_name in targets:
            print(label)
            try:
                run(
                    url,
                    csv_path,
                    update_path,
                    args.rows,
                    chunk_rows=args.chunk_rows,
                    workers=args.workers,
                )
            finally:
                if pg_name is not None:
                    _drop_pg(os.environ["SHOUHU_TEST_DATABASE_URL"], pg_name)


def install_keyring_for_validation(tmp: Path) -> None:
    """Blind indexes need a keyring even for validation: take one from a scratch database."""
    engine = make_engine(f"sqlite:///{tmp / 'keys.db'}")
    migrate.upgrade(engine)
    with Session(engine) as session, session.begin():
        install_keyring(load_keyring(session, MASTER_KEY))
    engine.dispose()


if __name__ == "__main__":
    main()
