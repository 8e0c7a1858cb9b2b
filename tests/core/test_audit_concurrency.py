"""Concurrent writers, each committing its own events, still build one unbroken chain."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

from sqlalchemy import select

from shouhu.core import migrate
from shouhu.core.audit.chain import record
from shouhu.core.audit.models import AuditEvent
from shouhu.core.audit.verify import verify_chain
from shouhu.core.database import make_engine, make_session_factory, transaction
from shouhu.core.principal import Principal
from tests.conftest import drop_postgres_database, fresh_database_url

WRITERS = 8
EVENTS_EACH = 25


def test_concurrent_writers_serialise_on_the_chain_head(backend: str, tmp_path: Path) -> None:
    url = fresh_database_url(backend, tmp_path, "audit_race")
    engine = make_engine(url)
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    errors: list[BaseException] = []
    barrier = threading.Barrier(WRITERS)

    def writer(n: int) -> None:
        actor = Principal(user_id=uuid.uuid4(), organisation_id=None, org_type=None, channel="api")
        try:
            barrier.wait()
            for i in range(EVENTS_EACH):
                with transaction(factory) as session:
                    record(session, actor=actor, action="test:race", object_id=f"{n}-{i}")
        except BaseException as exc:  # noqa: BLE001 - reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with factory() as session:
            seqs = list(session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
            assert seqs == list(range(1, WRITERS * EVENTS_EACH + 1))
            result = verify_chain(session)
            assert result.intact, result.problem
            assert result.checked == WRITERS * EVENTS_EACH
    finally:
        engine.dispose()
        if backend == "postgresql":
            drop_postgres_database(url)
