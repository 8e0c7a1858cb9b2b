from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.accounts.models import Organisation

NAME = "isolation-probe-organisation"


def _add(session: Session) -> None:
    session.add(Organisation(name=NAME, type="operator", region_code="110000"))
    session.commit()


def test_first_writer_commits_inside_the_test_transaction(session: Session) -> None:
    _add(session)
    assert session.scalar(select(Organisation).where(Organisation.name == NAME)) is not None


def test_second_writer_sees_nothing_of_the_first(session: Session) -> None:
    # If per-test rollback leaked, the unique name would collide here.
    assert session.scalar(select(Organisation).where(Organisation.name == NAME)) is None
    _add(session)
