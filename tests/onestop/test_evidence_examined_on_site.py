"""A medical report says whether the child was examined at the site (the site figures' source);
no other kind of evidence says anything about it. Service, API and the item form."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from shouhu.core.audit.models import AuditEvent
from shouhu.core.errors import ValidationFailedError
from tests.factories.accounts import api_token
from tests.factories.evidence import record_item
from tests.factories.onestop import Cast, join, open_case
from tests.onestop.conftest import head

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session

    from shouhu.onestop.models import OneStopCase

MEDICAL = {"kind": "medical_report", "description": "体检报告。", "place": "医学检查室"}


@pytest.fixture
def case(session: Session, cast: Cast) -> OneStopCase:
    """A case with the forensic examiner on its team."""
    received = open_case(session, cast.officer, cast.site)
    join(session, received, cast.forensic, "forensic")
    return received


@pytest.mark.parametrize("on_site", [True, False])
def test_a_medical_report_records_where_the_examination_was_done(
    session: Session, cast: Cast, case: OneStopCase, *, on_site: bool
) -> None:
    start = head(session)
    item = record_item(session, cast.forensic, case, **MEDICAL, examined_on_site=on_site)
    assert item.examined_on_site is on_site
    event = session.scalars(select(AuditEvent).where(AuditEvent.seq > start)).one()
    assert json.loads(event.details)["examined_on_site"] is on_site


def test_a_medical_report_without_the_answer_is_refused(
    session: Session, cast: Cast, case: OneStopCase
) -> None:
    with pytest.raises(ValidationFailedError) as refused:
        record_item(session, cast.forensic, case, **MEDICAL)
    assert refused.value.field == "examined_on_site"


def test_another_kind_may_not_say_where_an_examination_was_done(
    session: Session, cast: Cast, case: OneStopCase
) -> None:
    with pytest.raises(ValidationFailedError) as refused:
        record_item(session, cast.forensic, case, kind="clothing", examined_on_site=True)
    assert refused.value.field == "examined_on_site"
    assert record_item(session, cast.forensic, case, kind="clothing").examined_on_site is None


def test_the_api_takes_and_answers_it(
    session: Session, cast: Cast, case: OneStopCase, client: TestClient
) -> None:
    token = api_token(session, cast.forensic)
    session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/onestop/cases/{case.id}/evidence"
    body = {**MEDICAL, "holder": "区公安分局物证室", "reason": "检查后固定证据。"}
    missing = client.post(url, json=body, headers=headers)
    assert missing.status_code == 422
    assert "examined_on_site" in missing.text
    made = client.post(url, json={**body, "examined_on_site": False}, headers=headers)
    assert made.status_code == 201, made.text
    assert made.json()["examined_on_site"] is False
    listed = client.get(url, headers=headers).json()
    assert [i["examined_on_site"] for i in listed] == [False]
