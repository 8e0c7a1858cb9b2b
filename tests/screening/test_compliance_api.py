"""The compliance API, and an education officer's reads of their schools' inquiries."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from schemathesis.generation import GenerationMode
from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.core.audit.models import AuditEvent
from tests.factories.accounts import api_token
from tests.factories.compliance import Tree, at, stored_inquiry, supervision_tree
from tests.registry.test_api import audit_head
from tests.screening.test_compliance import SECRET_NUMBER, a_year_of_inquiries

API = "/api/v1/compliance"
YEAR = {"since": "2025-01-01", "until": "2025-12-31"}
INSTITUTION_KEYS = {
    "id",
    "name",
    "kind",
    "region_code",
    "active",
    "inquiries",
    "by_purpose",
    "outcomes",
    "hires",
    "hires_refused",
    "hires_without_no_record",
    "pending",
    "oldest_pending_days",
    "turnaround",
    "flags",
}


@dataclass
class Callers:
    """The tree's users, each calling with a token of their own."""

    session: Session
    client: TestClient
    tree: Tree
    tokens: dict[str, str] = field(default_factory=dict)

    def get(self, who: str, path: str, **params: Any) -> Response:
        if who not in self.tokens:
            self.tokens[who] = api_token(self.session, self.tree.users[who])
            self.session.commit()
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.client.get(path, params=params or None, headers=headers)


@pytest.fixture
def callers(session: Session, client: TestClient) -> Callers:
    tree = supervision_tree(session)
    a_year_of_inquiries(session, tree)
    session.commit()
    return Callers(session, client, tree)


def test_an_officer_reads_their_institutions_measures(callers: Callers) -> None:
    start = audit_head(callers.session)
    response = callers.get("city_officer", API, **YEAR)
    assert response.status_code == 200, response.text
    body = response.json()
    tree = callers.tree
    assert (body["scope"], body["territory"], body["since"], body["until"]) == (
        "authority",
        None,
        "2025-01-01",
        "2025-12-31",
    )
    assert [i["name"] for i in body["institutions"]] == [
        tree.kindergarten.name,
        tree.school.name,
        tree.city_school.name,
    ]
    school = body["institutions"][1]
    assert set(school) == INSTITUTION_KEYS
    assert school["inquiries"] == 7
    assert school["by_purpose"] == {"school_staff": 5, "annual_recheck": 1, "close_contact": 1}
    assert school["outcomes"] == {
        "no_record": 4,
        "record_found": 1,
        "under_review": 0,
        "pending_approval": 1,
        "refused": 1,
    }
    assert school["turnaround"] == {"answered": 6, "median_hours": 2.5, "p90_hours": 7.0}
    assert school["flags"] == ["stale_pending"]
    assert body["institutions"][0]["flags"] == ["hired_without_no_record", "no_annual_recheck"]
    for secret in ("王小明", "王*明", SECRET_NUMBER):
        assert secret not in response.text
    callers.session.expire_all()
    events = list(
        callers.session.scalars(
            select(AuditEvent).where(AuditEvent.seq > start).order_by(AuditEvent.seq)
        )
    )
    # The token's use, then the read.
    assert [e.action for e in events][-1] == "api:compliance:view"
    assert json.loads(events[-1].details)["institutions"] == 3


def test_a_prosecutor_reads_their_territory(callers: Callers) -> None:
    body = callers.get("county_prosecutor", API, **YEAR).json()
    assert (body["scope"], body["territory"]) == ("territory", "440106")
    assert {i["name"] for i in body["institutions"]} == {
        callers.tree.school.name,
        callers.tree.kindergarten.name,
    }


def test_the_default_period_is_the_last_twelve_months(callers: Callers) -> None:
    body = callers.get("other_officer", API).json()
    assert body["since"] < body["until"]
    assert [i["name"] for i in body["institutions"]] == [callers.tree.other_school.name]
    days = (date.fromisoformat(body["until"]) - date.fromisoformat(body["since"])).days
    assert days == 365


def test_an_institution_may_not_read_compliance(callers: Callers) -> None:
    response = callers.get("school_hr", API)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"


def test_a_period_that_ends_before_it_starts_is_refused_naming_the_field(callers: Callers) -> None:
    response = callers.get("city_officer", API, since="2025-12-31", until="2025-01-01")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "since"
    response = callers.get("city_officer", API, sinse="2025-01-01")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "sinse"


# --- an education officer's reads of the inquiries API ------------------------------------------


def test_an_officer_reads_their_schools_inquiries_and_no_one_elses(callers: Callers) -> None:
    tree = callers.tree
    # The school's inquiry waits for its own authority, the county bureau.
    waiting = stored_inquiry(
        callers.session, tree.school, submitted_at=at("2025-08-01 10:00"), status="under_review"
    )
    callers.session.commit()
    inquiries = "/api/v1/inquiries"
    listed = callers.get("county_officer", inquiries, limit=500).json()
    ids = {i["id"] for i in listed}
    assert str(waiting.id) in ids
    # The school's nine and the kindergarten's one, all with the county bureau, and this one.
    assert len(ids) == 11
    read = callers.get("county_officer", f"{inquiries}/{waiting.id}")
    assert read.status_code == 200
    assert read.json()["status"] == "under_review"
    assert "subject" not in read.json()
    # Another city's bureau: only its own school's inquiry listed, and this one is not found.
    theirs = callers.get("other_officer", inquiries).json()
    assert len(theirs) == 1
    assert str(waiting.id) not in {i["id"] for i in theirs}
    assert callers.get("other_officer", f"{inquiries}/{waiting.id}").status_code == 404
    # The city bureau above is not the authority that approves the school's inquiries: its
    # compliance page counts them, the inquiry reads are the approving authority's.
    assert callers.get("city_officer", inquiries).json() == []
    assert callers.get("city_officer", f"{inquiries}/{waiting.id}").status_code == 404


def test_any_period_an_officer_sends_is_answered_as_documented(
    app: FastAPI, callers: Callers
) -> None:
    # Schemathesis from the OpenAPI document with a supervisor's token (the app-wide fuzz runs
    # as an operator, who meets only the 403): every answer a documented status and shape.
    callers.get("city_officer", API)
    headers = {"Authorization": f"Bearer {callers.tokens['city_officer']}"}
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", app)
    operation = schema.find_operation_by_label("GET /api/v1/compliance")
    statuses: set[int] = set()

    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=30,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def explore(case: Any) -> None:
            response = case.call_and_validate(
                headers=headers,
                checks=[
                    checks.not_a_server_error,
                    checks.status_code_conformance,
                    checks.content_type_conformance,
                    checks.response_schema_conformance,
                ],
            )
            statuses.add(response.status_code)

        explore()
    assert {200, 422} <= statuses
