"""Fixtures of the one-stop tests: a district's cast and the audit trail's head."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, select

from shouhu.core.audit.models import AuditEvent
from tests.factories.onestop import Cast, make_cast

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@pytest.fixture
def cast(session: Session) -> Cast:
    """A district's bureau, procuratorate, partners and their site, and everyone's users."""
    return make_cast(session)


def head(session: Session) -> int:
    """The audit chain's last sequence number."""
    return int(session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0)


def events_since(session: Session, start: int) -> list[tuple[str, str | None]]:
    """(action, object type) of every event after `start`, in order."""
    rows = session.execute(
        select(AuditEvent.action, AuditEvent.object_type)
        .where(AuditEvent.seq > start)
        .order_by(AuditEvent.seq)
    )
    return [(action, kind) for action, kind in rows]
