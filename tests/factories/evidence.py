"""Evidence items for tests, recorded through the service (so each has its `collected` entry)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shouhu.onestop import evidence
from tests.factories.lifecycle import principal_of

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import User
    from shouhu.onestop.evidence_models import EvidenceItem
    from shouhu.onestop.models import OneStopCase

HOLDER = "区公安分局物证室"
LAB = "市公安局物证鉴定中心"


def item_input(**overrides: Any) -> evidence.ItemInput:
    """An interview recording collected now at the site, kept in the bureau's evidence room."""
    values: dict[str, Any] = {
        "kind": "interview_recording",
        "description": "儿童 A 的询问同步录音录像。",
        "place": "一站式取证中心询问室",
        "collected_at": None,
        "holder": HOLDER,
        "reason": "询问结束后固定证据。",
    }
    values.update(overrides)
    return evidence.ItemInput(**values)


def record_item(session: Session, user: User, case: OneStopCase, **overrides: Any) -> EvidenceItem:
    """An item recorded by the user (on the case's team) through the service."""
    return evidence.record_item(
        session, actor=principal_of(user), case_id=case.id, item=item_input(**overrides)
    )
