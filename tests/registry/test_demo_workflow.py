"""The demo's record workflow: every registry page has something real to show."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from sqlalchemy import select

from shouhu import demo
from shouhu.core.settings import Settings
from shouhu.demo_workflow import seed_workflow
from shouhu.registry.models import RegistryDuplicatePair, RegistryRecord

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session, sessionmaker


def test_the_demo_leaves_records_in_every_state_and_a_pair_the_engine_found(
    session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    demo.seed(session)
    session.commit()
    seeded = seed_workflow(session_factory, Settings(data_dir=tmp_path))
    session.expire_all()
    states = Counter(session.scalars(select(RegistryRecord.status)))
    assert states == {
        "pending_review": seeded.pending,
        "returned": seeded.returned,
        "draft": seeded.drafts,
        "active": 3,  # the correction in force and the two registrations of one man
        "corrected": 1,
        "sealed": 1,  # committed at 16, two years: Criminal Procedure Law art. 286
        "revoked": 1,
    }
    pending = session.scalars(
        select(RegistryRecord)
        .where(RegistryRecord.status == "pending_review")
        .order_by(RegistryRecord.submitted_at)
    ).all()
    assert [r.decision_authority for r in pending] == [  # oldest first
        "北京市东城区人民法院",
        "北京市朝阳区人民检察院",
        "北京市公安局西城分局",
    ]
    [pair] = session.scalars(select(RegistryDuplicatePair)).all()
    assert (pair.status, pair.outcome) == ("open", "possible_match")
    assert "rule=" in pair.reasons
