"""Two submissions about one candidate at once: one look-up, and both get that inquiry."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from shouhu.accounts.roles import OrgType, Role
from shouhu.core.database import make_session_factory
from shouhu.core.settings import Settings
from shouhu.screening.inquiries import submit_inquiry
from shouhu.screening.models import Inquiry
from tests.factories.accounts import make_org, make_user
from tests.factories.lifecycle import principal_of
from tests.screening.test_inquiries import STRANGER, ask

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy import Engine


def test_two_simultaneous_inquiries_about_one_candidate_make_one(
    cli_engine: Engine, tmp_path: Path
) -> None:
    factory = make_session_factory(cli_engine)
    settings = Settings(data_dir=tmp_path)
    with factory() as session, session.begin():
        university = make_org(session, org_type=OrgType.INSTITUTION, kind="university")
        hr = principal_of(make_user(session, roles=(Role.INSTITUTION_HR,), org=university))
    answers: dict[str, str] = {}
    holding, release = threading.Event(), threading.Event()

    def submit(key: str, *, hold: bool) -> None:
        with factory() as session, session.begin():
            inquiry = submit_inquiry(
                session, actor=hr, request=ask(STRANGER, name="李四"), settings=settings
            )
            answers[key] = str(inquiry.id)
            if hold:
                holding.set()
                release.wait(10)

    first = threading.Thread(target=submit, args=("first",), kwargs={"hold": True})
    first.start()
    assert holding.wait(10)
    second = threading.Thread(target=submit, args=("second",), kwargs={"hold": False})
    second.start()
    time.sleep(0.5)  # the second now waits for the first (writer lock or advisory lock)
    assert "second" not in answers
    release.set()
    first.join(20)
    second.join(20)
    assert answers["first"] == answers["second"]
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Inquiry)) == 1
