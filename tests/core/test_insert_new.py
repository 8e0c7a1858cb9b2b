"""`insert_new`: new objects inserted by Core statements, joining the session as persistent."""

from __future__ import annotations

import uuid

from sqlalchemy import event as sa_event
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from shouhu.accounts.models import Organisation
from shouhu.core.database import insert_new


def test_new_objects_are_stored_with_their_defaults_and_join_the_session(
    session: Session,
) -> None:
    first = Organisation(name=f"甲-{uuid.uuid4().hex[:8]}", type="operator", region_code="110000")
    first.ensure_id()
    second = Organisation(
        name=f"乙单位-{uuid.uuid4().hex[:8]}",
        type="institution",
        kind="university",
        region_code="110000",
        parent_id=first.id,  # inserted in order: the parent first
        active=False,
    )
    second.ensure_id()
    statements: list[str] = []

    def seen(*args: object) -> None:
        statements.append(str(args[2]).split()[0].upper())

    session.connection()  # the transaction has begun
    engine = session.get_bind()
    sa_event.listen(engine, "before_cursor_execute", seen)
    try:
        insert_new(session, first, second)
        # Persistent and complete: reading any attribute or flushing emits nothing.
        assert first.active is True  # the column's Python-side default
        assert first.created_at is not None
        assert first.kind is None
        assert second.active is False  # a value given is kept
        session.flush()
    finally:
        sa_event.remove(engine, "before_cursor_execute", seen)
    assert statements == ["INSERT", "INSERT"]
    assert inspect(first).persistent
    assert inspect(second).persistent
    assert not session.new
    assert not session.dirty
    stored = session.execute(
        select(Organisation.__table__).where(Organisation.id.in_([first.id, second.id]))
    ).all()
    by_id = {row.id: row for row in stored}
    assert (by_id[first.id].active, by_id[first.id].created_at) == (True, first.created_at)
    assert (by_id[second.id].active, by_id[second.id].parent_id) == (False, first.id)
    # A later change to a persistent object is an UPDATE, as for any loaded object.
    second.active = True
    session.flush()
    assert session.scalar(select(Organisation.active).where(Organisation.id == second.id))
