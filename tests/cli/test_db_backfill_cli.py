"""`shouhu db upgrade` fills the child-document indexes a migration could not compute."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select, update

from shouhu.core.database import transaction
from shouhu.core.runtime import start
from shouhu.core.settings import get_settings
from shouhu.onestop.models import CaseChild
from tests.cli.test_accounts_cli import database_url, shouhu, stored
from tests.factories.onestop import make_cast, open_case

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["database_url", "stored"]  # the fixtures this module borrows


def test_upgrade_indexes_children_entered_before_the_index(
    stored: sessionmaker[Session],
) -> None:
    rt = start(get_settings())  # the keys, as `shouhu serve` would load them
    with transaction(rt.sessions) as session:
        cast = make_cast(session)
        case = open_case(session, cast.officer, cast.site)
        (expected,) = session.scalars(
            select(CaseChild.id_index).where(CaseChild.case_id == case.id)
        ).all()
        assert expected is not None
        session.execute(update(CaseChild).values(id_index=None))
    rt.engine.dispose()
    upgraded = shouhu("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert "child document indexes filled: 1" in upgraded.output
    with stored() as session:
        assert session.scalars(select(CaseChild.id_index)).all() == [expected]
    again = shouhu("db", "backfill")
    assert again.exit_code == 0, again.output
    assert "child document indexes filled: 0" in again.output
