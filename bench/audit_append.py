"""Audit chain append throughput: N writer threads, each event its own committed transaction.

Usage: .venv/bin/python bench/audit_append.py [--url URL] [--writers 1 4 8] [--events 2000]
Without --url it measures a fresh SQLite file and, if SHOUHU_TEST_DATABASE_URL is set, a fresh
PostgreSQL database as well. Prints events per second and checks the chain afterwards.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from shouhu.core import migrate
from shouhu.core.audit.chain import EntryFields, record
from shouhu.core.audit.models import AuditEvent
from shouhu.core.database import make_engine, make_session_factory, transaction
from shouhu.core.principal import Principal


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


def run(url: str, writers: int, events: int) -> float:
    """Append `events` events from `writers` threads; return events per second."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    per_writer = events // writers
    actor = Principal(
        user_id=uuid.uuid4(),
        organisation_id=uuid.uuid4(),
        org_type="institution",
        channel="api",
        source_address="127.0.0.1",
    )

    def work() -> None:
        for i in range(per_writer):
            with transaction(factory) as session:
                record(
                    session,
                    actor=actor,
                    action="bench:append",
                    object_type="bench",
                    object_id=i,
                    details={"n": i},
                )

    threads = [threading.Thread(target=work) for _ in range(writers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    # The chain must still link: contiguous seqs, each prev_hash the hash before it.
    with factory() as session:
        count = session.scalar(select(func.count()).select_from(AuditEvent))
        previous = "0" * 64
        for event in session.scalars(select(AuditEvent).order_by(AuditEvent.seq)):
            assert event.prev_hash == previous, f"chain broken at {event.seq}"
            assert EntryFields.of(event).digest() == event.entry_hash
            previous = event.entry_hash
    assert count == per_writer * writers
    engine.dispose()
    return count / elapsed


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url")
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    targets: list[tuple[str, str | None]] = []
    if args.url:
        targets.append(("given", args.url))
    else:
        targets.append(("sqlite", None))
        if os.environ.get("SHOUHU_TEST_DATABASE_URL"):
            targets.append(("postgresql", os.environ["SHOUHU_TEST_DATABASE_URL"]))
    print(f"{'backend':<11} {'writers':>7} {'events':>7} {'events/s':>9}")
    for label, url in targets:
        for writers in args.writers:
            if label == "sqlite":
                with tempfile.TemporaryDirectory() as tmp:
                    rate = run(f"sqlite:///{Path(tmp) / 'bench.db'}", writers, args.events)
            elif label == "postgresql":
                assert url is not None
                db_url, name = _fresh_pg(url)
                try:
                    rate = run(db_url, writers, args.events)
                finally:
                    _drop_pg(url, name)
            else:
                assert url is not None
                rate = run(url, writers, args.events)
            print(f"{label:<11} {writers:>7} {args.events:>7} {rate:>9.0f}")


if __name__ == "__main__":
    main()
