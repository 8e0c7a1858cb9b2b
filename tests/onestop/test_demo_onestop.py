"""The demo's one-stop data: sites with partners and a case in every state, with its team."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from shouhu import demo
from shouhu.accounts.models import User
from shouhu.accounts.users import principal_for
from shouhu.demo_onestop import seed_onestop
from shouhu.onestop.models import CaseMember, CaseStatus, OneStopCase, OneStopSite, SitePartner
from shouhu.onestop.repository import readable_cases

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker


def test_the_demo_leaves_sites_and_a_case_in_every_state(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    demo.seed(session)
    session.commit()
    seeded = seed_onestop(session_factory)
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(OneStopSite)) == seeded.sites == 3
    assert session.scalar(select(func.count()).select_from(SitePartner)) == 2 * seeded.sites
    statuses = Counter(session.scalars(select(OneStopCase.status)))
    assert set(statuses) == {status.value for status in CaseStatus}
    assert statuses[CaseStatus.RECEIVED.value] == 2  # one of them past the joint-session deadline
    assert sum(statuses.values()) == seeded.cases
    roles = Counter(session.scalars(select(CaseMember.role).where(CaseMember.removed_at.is_(None))))
    assert roles == {
        "lead_officer": seeded.cases,
        "prosecutor": seeded.cases,
        "support": seeded.cases,
    }
    # The demo accounts on the teams see every case; another case officer would see none.
    for username in ("case.officer", "prosecutor", "support.worker"):
        user = session.scalar(select(User).where(User.username == username))
        assert user is not None
        seen = session.scalars(readable_cases(principal_for(user, "web"))).all()
        assert len(seen) == seeded.cases, username
