"""The child-document index backfill: children entered before the index existed (migration
0010) get it from their sealed document, and are then counted across their cases."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import update

from shouhu.core.principal import system_principal
from shouhu.onestop import interviews
from shouhu.onestop.child_index import backfill_child_indexes, child_index
from shouhu.onestop.models import CaseChild
from tests.factories.onestop import Cast, child, open_case
from tests.onestop.conftest import events_since, head
from tests.onestop.test_sessions import _child, _interview, _team

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def test_a_child_without_an_index_gets_it_and_is_then_counted_across_cases(
    session: Session, cast: Cast
) -> None:
    first_case, m1 = _team(session, cast)
    second_case, m2 = _team(session, cast)
    earlier, later = _child(session, first_case), _child(session, second_case)
    _interview(session, cast, first_case, earlier.id, m1["forensic"])
    _interview(session, cast, second_case, later.id, m2["forensic"])
    expected = later.id_index
    assert expected is not None
    # As if both were entered before migration 0010: no index.
    session.execute(update(CaseChild).values(id_index=None))
    session.expire_all()
    (shown,) = interviews.child_interviews(session, [_child(session, second_case)])
    assert (shown.recognised, shown.all_cases) == (False, 1)
    start = head(session)
    # Batches of one: the walk by id must neither skip nor repeat a child.
    filled = backfill_child_indexes(session, actor=system_principal("cli"), batch_size=1)
    assert filled == 2
    assert events_since(session, start) == [("cli:onestop:child_index_backfill", "case_child")]
    refreshed = _child(session, second_case)
    assert refreshed.id_index == expected
    assert refreshed.id_index == child_index(refreshed.id_type, refreshed.id_number)
    (shown,) = interviews.child_interviews(session, [refreshed])
    assert (shown.recognised, shown.all_cases) == (True, 2)
    # Run again: nothing left to fill, and no event.
    start = head(session)
    assert backfill_child_indexes(session, actor=system_principal("cli")) == 0
    assert events_since(session, start) == []


def test_a_child_without_a_document_stays_without_an_index(session: Session, cast: Cast) -> None:
    plain = child(id_type=None, id_number=None, age_at_intake=9)
    case = open_case(session, cast.officer, cast.site, children=(plain,))
    assert backfill_child_indexes(session, actor=system_principal("cli")) == 0
    assert _child(session, case).id_index is None
