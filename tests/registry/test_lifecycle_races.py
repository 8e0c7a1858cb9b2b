"""Two reviewers at once: decisions are serialised and one document never makes two persons."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from shouhu.core.database import make_session_factory
from shouhu.core.errors import ConflictError
from shouhu.registry import lifecycle
from shouhu.registry.models import RegistryDocument, RegistryPerson, RegistryRecord
from tests.factories.lifecycle import make_cast, submission

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

Action = Callable[["Session"], object]


def _attempt(  # noqa: PLR0917 - a thread's target takes positional arguments
    factory: sessionmaker[Session],
    action: Action,
    results: dict[str, str],
    key: str,
    holding: threading.Event | None = None,
    release: threading.Event | None = None,
) -> None:
    """Run one action in its own transaction, optionally holding it open until released."""
    session = factory()
    try:
        with session.begin():
            action(session)
            if holding and release:
                holding.set()
                release.wait(10)
        results[key] = "ok"
    except ConflictError:
        results[key] = "conflict"
    finally:
        session.close()


def _race(factory: sessionmaker[Session], first: Action, second: Action) -> dict[str, str]:
    """`first` decides and holds its transaction open while `second` starts; then both end."""
    results: dict[str, str] = {}
    holding, release = threading.Event(), threading.Event()
    one = threading.Thread(
        target=_attempt, args=(factory, first, results, "first", holding, release)
    )
    one.start()
    assert holding.wait(10)
    two = threading.Thread(target=_attempt, args=(factory, second, results, "second"))
    two.start()
    time.sleep(0.5)  # the second is now waiting on the first's lock
    release.set()
    one.join(20)
    two.join(20)
    return results


def test_racing_decisions(cli_engine: Engine) -> None:
    factory = make_session_factory(cli_engine)
    with factory() as session, session.begin():
        cast = make_cast(session)
        # Two decisions about one man not yet in the registry, and one more to decide twice.
        ids = [
            lifecycle.submit_record(
                session, actor=cast.court_clerk, data=submission(decision_number=number)
            ).id
            for number in ("(2019)京0101刑初1号", "(2019)京0101刑初2号", "(2019)京0101刑初3号")
        ]

    # Two approvals creating the same new person: SQLite's writer lock queues the second, which
    # then finds the person; on PostgreSQL the unique document index stops it and it is told to
    # approve again. Either way: one person, one document, no error page.
    both = _race(
        factory,
        lambda s: lifecycle.approve_record(s, actor=cast.reviewer, record_id=ids[0]),
        lambda s: lifecycle.approve_record(s, actor=cast.second_reviewer, record_id=ids[1]),
    )
    assert both["first"] == "ok"
    assert both["second"] in {"ok", "conflict"}
    if both["second"] == "conflict":
        with factory() as session, session.begin():
            lifecycle.approve_record(session, actor=cast.second_reviewer, record_id=ids[1])
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(RegistryPerson)) == 1
        assert session.scalar(select(func.count()).select_from(RegistryDocument)) == 1
        statuses = [session.get_one(RegistryRecord, i).status for i in ids[:2]]
        assert statuses == ["active", "active"]

    # Approve and return of one record at once: the second sees the first's decision.
    decided = _race(
        factory,
        lambda s: lifecycle.approve_record(s, actor=cast.reviewer, record_id=ids[2]),
        lambda s: lifecycle.return_record(
            s, actor=cast.second_reviewer, record_id=ids[2], reason="文号有误"
        ),
    )
    assert decided == {"first": "ok", "second": "conflict"}
    with factory() as session:
        record = session.get_one(RegistryRecord, ids[2])
        assert record.status == "active"
        assert len(record.transitions) == 2
