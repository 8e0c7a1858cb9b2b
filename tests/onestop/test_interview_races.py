"""Two requests recording a child's first interview at once: one is stored, the other refused."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from shouhu.core.database import make_session_factory, utcnow
from shouhu.core.errors import ConflictError
from shouhu.onestop import interviews, repository
from shouhu.onestop.session_models import ForensicInterview
from tests.factories.lifecycle import principal_of
from tests.factories.onestop import join, make_cast, open_case

if TYPE_CHECKING:
    from sqlalchemy import Engine


def test_two_simultaneous_first_interviews_store_one(cli_engine: Engine) -> None:
    factory = make_session_factory(cli_engine)
    with factory() as session, session.begin():
        cast = make_cast(session)
        case = open_case(session, cast.officer, cast.site)
        member = join(session, case, cast.forensic, "forensic")
        (child,) = repository.children_of(session, case.id)
        ids = (case.id, child.id, member.id)
        officer = principal_of(cast.officer)
    answers: dict[str, str] = {}
    holding, release = threading.Event(), threading.Event()

    def record(key: str, *, hold: bool) -> None:
        start = utcnow() - timedelta(hours=1)
        try:
            with factory() as session, session.begin():
                interviews.record_interview(
                    session,
                    actor=officer,
                    case_id=ids[0],
                    child_id=ids[1],
                    interviewer_id=ids[2],
                    started_at=start,
                    ended_at=start + timedelta(minutes=30),
                    recorded=True,
                )
                answers[key] = "stored"
                if hold:
                    holding.set()
                    release.wait(10)
        except ConflictError as exc:
            answers[key] = exc.message

    first = threading.Thread(target=record, args=("first",), kwargs={"hold": True})
    first.start()
    assert holding.wait(10)
    second = threading.Thread(target=record, args=("second",), kwargs={"hold": False})
    second.start()
    time.sleep(0.5)  # the second now waits for the first (the case row's lock, or SQLite's)
    assert "second" not in answers
    release.set()
    first.join(20)
    second.join(20)
    assert answers["first"] == "stored"
    assert "already been interviewed" in answers["second"]
    with factory() as session:
        count = session.scalar(
            select(func.count())
            .select_from(ForensicInterview)
            .where(ForensicInterview.child_id == ids[1])
        )
        assert count == 1
