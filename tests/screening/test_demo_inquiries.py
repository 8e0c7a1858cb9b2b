"""The demo's inquiries: every inquiry page and the batch page have something real to show."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from sqlalchemy import select

from shouhu import demo
from shouhu.core.settings import Settings
from shouhu.demo_inquiries import seed_inquiries
from shouhu.demo_workflow import seed_workflow
from shouhu.screening import batches
from shouhu.screening.models import Inquiry, InquiryBatch

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session, sessionmaker


def test_the_demo_leaves_inquiries_in_every_state_and_an_answered_batch(
    session: Session, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    demo.seed(session)
    session.commit()
    settings = Settings(data_dir=tmp_path)
    seed_workflow(session_factory, settings)
    seeded = seed_inquiries(session_factory, settings)
    session.expire_all()
    single = [
        i for i in session.scalars(select(Inquiry)) if i.consent_reference.startswith("授权书")
    ]
    assert len(single) == seeded.inquiries
    assert Counter((i.status, i.answer, i.hiring) for i in single) == {
        ("completed", "record_found", "not_hired"): 1,
        ("completed", "no_record", "hired"): 1,
        ("under_review", None, None): 1,  # 吴海's namesake, for the reviewers
        ("refused", None, None): 1,
        ("pending_approval", None, None): 1,
    }
    [batch] = session.scalars(select(InquiryBatch)).all()
    counts = batches.batch_counts(session, batch)
    assert (batch.status, counts.done) == ("completed", seeded.batch_rows)
    assert counts.outcomes["record_found"] == 1
    assert counts.outcomes["invalid"] == 1
