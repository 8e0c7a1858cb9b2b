"""The record lifecycle over the JSON API: the flows a court and a bureau run, sealed records,
the refusals as problems naming the field, and every route's authorisation matrix."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from shouhu.accounts.models import Organisation, User
from shouhu.accounts.roles import OrgType, Permission, Role
from shouhu.core.audit.models import AuditEvent
from shouhu.core.principal import Principal
from shouhu.core.settings import Settings
from shouhu.registry import lifecycle
from shouhu.registry.models import RegistryPerson, RegistryRecord
from shouhu.registry.schemas import RecordSubmission
from shouhu.web.app import create_app
from shouhu.web.permission_matrix import route_rules
from tests.factories.accounts import api_token, make_org, make_user
from tests.factories.registry import import_rows, prc_number, registry_row
from tests.web.registry_page_cases import (
    adult_active_for,
    own_active,
    own_draft,
    pending_for,
    principal_of,
    revoked_for,
    submission,
)

API = "/api/v1/registry"
SUMMARY_FIELDS = {
    "id",
    "status",
    "version",
    "kind",
    "offence",
    "decision_date",
    "submitted_at",
    "review_organisation_id",
    "supersedes_id",
}
SUBJECT_KEYS = {"subject", "name", "id_number", "date_of_birth", "former_names"}
RETURN_REASON = "判决书文号与扫描件不符，请核对后重新提交"
# A girl born 2005-03-01 who offended at 16 and was sentenced to three years: Criminal
# Procedure Law art. 286 seals her record.
JUVENILE_BORN = date(2005, 3, 1)
JUVENILE_NUMBER = prc_number("110101", JUVENILE_BORN, 246)
DECISIONS = itertools.count(1000)


@pytest.fixture
def app(session_factory: sessionmaker[Session], migrated_engine: Engine, tmp_path: Path) -> FastAPI:
    """The application as tests/web/conftest.py builds it, joined to the test's transaction."""
    settings = Settings(env="test", data_dir=tmp_path, secure_cookies=True)
    return create_app(settings=settings, sessions=session_factory, engine=migrated_engine)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    """An HTTPS client that does not follow redirects."""
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as c:
        yield c


@dataclass
class World:
    """A court, a second court, a procuratorate, two bureaus, their users, and an API client."""

    session: Session
    client: TestClient
    orgs: dict[str, Organisation]
    users: dict[str, User]
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        """The bearer header of a user (a token is made the first time)."""
        if who not in self.tokens:
            self.tokens[who] = api_token(self.session, self.users[who])
            self.session.commit()
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def call(
        self,
        who: str | None,
        method: str,
        path: str,
        body: Any = None,
        params: dict[str, str] | None = None,
    ) -> Response:
        """A request to the registry API as `who` (None: anonymous)."""
        headers = self.auth(who) if who else {}
        return self.client.request(method, API + path, json=body, headers=headers, params=params)

    def principal(self, who: str) -> Principal:
        """The user acting through the services (to set a scene up)."""
        return principal_of(self.users[who])

    def status(self, record_id: uuid.UUID | str) -> str:
        """The record's status as stored."""
        self.session.expire_all()
        return self.session.get_one(RegistryRecord, uuid.UUID(str(record_id))).status


@pytest.fixture
def world(session: Session, client: TestClient) -> World:
    """The people of a Beijing district and a Shanghai bureau, with an operator and a school."""
    orgs = {
        "court": make_org(session, org_type=OrgType.COURT, region_code="110101"),
        "other_court": make_org(session, org_type=OrgType.COURT, region_code="110105"),
        "procuratorate": make_org(session, org_type=OrgType.PROCURATORATE, region_code="110101"),
        "bureau": make_org(session, org_type=OrgType.PUBLIC_SECURITY, region_code="110101"),
        "other_bureau": make_org(session, org_type=OrgType.PUBLIC_SECURITY, region_code="310101"),
        "school": make_org(session, org_type=OrgType.INSTITUTION),
        "operator": make_org(session, org_type=OrgType.OPERATOR),
    }
    cast = {
        "court_clerk": ("court", (Role.COURT_CLERK,)),
        "colleague": ("court", (Role.COURT_CLERK,)),  # another clerk of the same court
        "other_court_clerk": ("other_court", (Role.COURT_CLERK,)),
        "prosecutor": ("procuratorate", (Role.PROSECUTOR,)),
        "registry_clerk": ("bureau", (Role.REGISTRY_CLERK,)),
        "reviewer": ("bureau", (Role.REGISTRY_REVIEWER,)),
        "second_reviewer": ("bureau", (Role.REGISTRY_REVIEWER,)),
        "clerk_and_reviewer": ("bureau", (Role.REGISTRY_CLERK, Role.REGISTRY_REVIEWER)),
        "other_reviewer": ("other_bureau", (Role.REGISTRY_REVIEWER,)),
        "institution_hr": ("school", (Role.INSTITUTION_HR,)),
        "admin": ("operator", (Role.ADMIN,)),
    }
    users = {
        name: make_user(session, roles=roles, org=orgs[org]) for name, (org, roles) in cast.items()
    }
    session.commit()
    return World(session, client, orgs, users)


# --- bodies and scenes --------------------------------------------------------------------------


def submission_body(world: World, **overrides: Any) -> dict[str, Any]:
    """A court's conviction of a man born 1980 (a fresh identity number), for the bureau."""
    data = submission(**{"review_organisation_id": str(world.orgs["bureau"].id), **overrides})
    return data.model_dump(mode="json", exclude_none=True)


def juvenile_body(world: World, **overrides: Any) -> dict[str, Any]:
    """A conviction for what a girl did at 16, three years' sentence: sealed on approval."""
    values: dict[str, Any] = {
        "name": "李小红",
        "sex": "F",
        "date_of_birth": JUVENILE_BORN.isoformat(),
        "id_number": JUVENILE_NUMBER,
        "decision_number": "(2022)京0101刑初45号",
        "decision_date": "2022-01-10",
        "offence_date": "2021-06-01",
        "sentence_months": 36,
    }
    values.update(overrides)
    return submission_body(world, **values)


def correction_body(**overrides: Any) -> dict[str, Any]:
    """The decision of `submission()` with another decision date (a typing error corrected)."""
    body: dict[str, Any] = {
        "record_kind": "conviction",
        "offence": "child_molestation",
        "decision_authority": "北京市东城区人民法院",
        "decision_number": "(2019)京0101刑初123号",
        "decision_date": "2019-11-06",
    }
    body.update(overrides)
    return body


def submitted(world: World, body: dict[str, Any] | None = None, *, send: bool = True) -> str:
    """The id of the court clerk's submission, entered through the service."""
    data = RecordSubmission.model_validate(body or submission_body(world))
    record = lifecycle.submit_record(
        world.session, actor=world.principal("court_clerk"), data=data, send=send
    )
    world.session.commit()
    return str(record.id)


def approved(world: World, body: dict[str, Any] | None = None) -> str:
    """The id of a court clerk's submission approved by the second reviewer."""
    record_id = submitted(world, body)
    lifecycle.approve_record(
        world.session, actor=world.principal("second_reviewer"), record_id=uuid.UUID(record_id)
    )
    world.session.commit()
    return record_id


def revoked(world: World) -> str:
    """The id of an approved record that the second reviewer revoked."""
    record_id = approved(world)
    lifecycle.revoke_record(
        world.session,
        actor=world.principal("second_reviewer"),
        record_id=uuid.UUID(record_id),
        reason="误撤",
    )
    world.session.commit()
    return record_id


def eligible_active(world: World) -> str:
    """An active juvenile record that may now be sealed.

    Approved without its offence date (so not sealed then), which was entered afterwards, as
    the import's columns carry none (DESIGN §6).
    """
    number = f"(2022)京0101刑初{next(DECISIONS)}号"  # one record per decision
    record_id = approved(world, juvenile_body(world, offence_date=None, decision_number=number))
    record = world.session.get_one(RegistryRecord, uuid.UUID(record_id))
    assert record.status == "active"
    record.offence_date = date(2021, 6, 1)
    world.session.commit()
    return record_id


def audit_head(session: Session) -> int:
    """The sequence number of the last audit event."""
    return int(session.scalar(select(func.coalesce(func.max(AuditEvent.seq), 0))) or 0)


def audit_since(session: Session, start: int) -> list[tuple[str, str | None]]:
    """(action, object id) of each audit event after `start`, in chain order."""
    rows = session.execute(
        select(AuditEvent.action, AuditEvent.object_id)
        .where(AuditEvent.seq > start)
        .order_by(AuditEvent.seq)
    )
    return [(action, object_id) for action, object_id in rows]


def problem_fields(response: Response) -> set[str]:
    """The fields a problem document names."""
    assert response.headers["content-type"] == "application/problem+json"
    return {error["field"] for error in response.json().get("errors", [])}


# --- the flows ----------------------------------------------------------------------------------


def test_a_court_clerks_submission_is_approved_by_a_reviewer_and_goes_live(world: World) -> None:
    body = submission_body(world)
    created = world.call("court_clerk", "POST", "/records", body)
    assert created.status_code == 201, created.text
    summary = created.json()
    assert set(summary) == SUMMARY_FIELDS
    assert summary["status"] == "pending_review"
    assert summary["version"] == 1
    assert (summary["kind"], summary["offence"]) == ("conviction", "child_molestation")
    assert summary["decision_date"] == body["decision_date"]
    assert summary["review_organisation_id"] == str(world.orgs["bureau"].id)
    assert summary["supersedes_id"] is None
    assert summary["submitted_at"] is not None
    record_id = summary["id"]

    queue = world.call("reviewer", "GET", "/review-queue")
    assert queue.status_code == 200
    [waiting] = [item for item in queue.json() if item["id"] == record_id]
    assert waiting["waiting_seconds"] >= 0
    assert waiting["submitting_organisation_id"] == str(world.orgs["court"].id)
    assert body["id_number"] not in queue.text
    assert body["name"] not in queue.text

    approved_now = world.call("reviewer", "POST", f"/records/{record_id}/approve")
    assert approved_now.status_code == 200, approved_now.text
    assert approved_now.json()["status"] == "active"

    shown = world.call("court_clerk", "GET", f"/records/{record_id}")
    assert shown.status_code == 200
    record = shown.json()
    assert record["status"] == "active"
    assert record["subject"]["id_number"] == body["id_number"]
    assert record["subject"]["name"] == body["name"]
    assert [t["to_status"] for t in record["transitions"]] == ["pending_review", "active"]
    assert record["approved_at"] is not None
    after = world.call("reviewer", "GET", "/review-queue").json()
    assert record_id not in {item["id"] for item in after}


def test_a_returned_submission_is_changed_sent_again_and_approved(world: World) -> None:
    body = submission_body(world)
    record_id = world.call("court_clerk", "POST", "/records", body).json()["id"]

    returned = world.call(
        "reviewer", "POST", f"/records/{record_id}/return", {"reason": RETURN_REASON}
    )
    assert returned.status_code == 200
    assert returned.json()["status"] == "returned"
    shown = world.call("court_clerk", "GET", f"/records/{record_id}").json()
    assert shown["transitions"][-1]["reason"] == RETURN_REASON
    assert record_id not in {i["id"] for i in world.call("reviewer", "GET", "/review-queue").json()}

    fixed = {**body, "decision_number": "(2019)京0101刑初124号"}
    changed = world.call("court_clerk", "PUT", f"/records/{record_id}", fixed)
    assert changed.status_code == 200, changed.text
    assert changed.json()["status"] == "returned"  # changed, not yet sent
    shown = world.call("court_clerk", "GET", f"/records/{record_id}").json()
    assert shown["decision_number"] == "(2019)京0101刑初124号"

    sent = world.call("court_clerk", "POST", f"/records/{record_id}/submit")
    assert sent.status_code == 200
    assert sent.json()["status"] == "pending_review"
    assert record_id in {i["id"] for i in world.call("reviewer", "GET", "/review-queue").json()}
    decided = world.call("reviewer", "POST", f"/records/{record_id}/approve")
    assert decided.json()["status"] == "active"
    history = world.call("court_clerk", "GET", f"/records/{record_id}").json()["transitions"]
    assert [(t["from_status"], t["to_status"]) for t in history] == [
        (None, "pending_review"),
        ("pending_review", "returned"),
        ("returned", "pending_review"),
        ("pending_review", "active"),
    ]


def test_a_draft_waits_for_its_submitter_until_sent(world: World) -> None:
    created = world.call("court_clerk", "POST", "/records", submission_body(world), {"draft": "1"})
    assert created.status_code == 201
    draft = created.json()
    assert (draft["status"], draft["submitted_at"]) == ("draft", None)
    record_id = draft["id"]
    # A draft is the submitting organisation's alone: the reviewers do not know of it.
    assert world.call("reviewer", "GET", f"/records/{record_id}").status_code == 404
    assert record_id not in {i["id"] for i in world.call("reviewer", "GET", "/review-queue").json()}
    assert world.call("colleague", "GET", f"/records/{record_id}").status_code == 200

    sent = world.call("colleague", "POST", f"/records/{record_id}/submit")
    assert sent.status_code == 200
    assert sent.json()["status"] == "pending_review"
    assert world.call("reviewer", "GET", f"/records/{record_id}").status_code == 200


def test_a_misspelt_draft_flag_is_refused_not_ignored(world: World) -> None:
    response = world.call("court_clerk", "POST", "/records", submission_body(world), {"darft": "1"})
    assert response.status_code == 422
    assert problem_fields(response) == {"darft"}
    assert world.call("court_clerk", "GET", "/submissions").json() == []


def test_the_submissions_are_the_organisations_and_show_no_subject(world: World) -> None:
    body = submission_body(world)
    mine = world.call("court_clerk", "POST", "/records", body).json()["id"]
    draft = world.call("colleague", "POST", "/records", submission_body(world), {"draft": "true"})
    world.call("other_court_clerk", "POST", "/records", submission_body(world))

    listed = world.call("court_clerk", "GET", "/submissions")
    assert listed.status_code == 200
    assert {item["id"] for item in listed.json()} == {mine, draft.json()["id"]}
    assert all(set(item) == SUMMARY_FIELDS for item in listed.json())
    assert body["id_number"] not in listed.text
    assert body["name"] not in listed.text
    drafts = world.call("court_clerk", "GET", "/submissions", params={"status": "draft"})
    assert [item["id"] for item in drafts.json()] == [draft.json()["id"]]
    page = world.call("court_clerk", "GET", "/submissions", params={"limit": "1", "offset": "1"})
    assert len(page.json()) == 1


def test_the_review_queue_is_the_organisations_oldest_first(world: World) -> None:
    first = world.call("court_clerk", "POST", "/records", submission_body(world)).json()["id"]
    second = world.call("prosecutor", "POST", "/records", _non_prosecution(world)).json()["id"]
    elsewhere = submission_body(world, review_organisation_id=str(world.orgs["other_bureau"].id))
    theirs = world.call("court_clerk", "POST", "/records", elsewhere).json()["id"]

    queue = world.call("reviewer", "GET", "/review-queue").json()
    assert [item["id"] for item in queue] == [first, second]
    assert queue[0]["waiting_seconds"] >= queue[1]["waiting_seconds"]
    assert all(SUBJECT_KEYS.isdisjoint(item) for item in queue)
    assert [i["id"] for i in world.call("other_reviewer", "GET", "/review-queue").json()] == [
        theirs
    ]


def _non_prosecution(world: World) -> dict[str, Any]:
    return submission_body(
        world,
        record_kind="non_prosecution",
        offence="forcible_indecency",
        decision_authority="北京市东城区人民检察院",
        decision_number="京东检刑不诉〔2024〕12号",
        decision_date="2024-04-18",
    )


def test_the_submitter_may_not_approve_their_own_record(world: World) -> None:
    # A bureau's own administrative penalty: the same user holds both roles; four eyes apply.
    penalty = submission_body(
        world,
        record_kind="administrative_penalty",
        offence="indecency_administrative",
        decision_authority="北京市公安局东城分局",
        decision_number="京公东行罚决字〔2023〕101号",
        decision_date="2023-03-01",
    )
    created = world.call("clerk_and_reviewer", "POST", "/records", penalty)
    assert created.status_code == 201, created.text
    record_id = created.json()["id"]

    refused = world.call("clerk_and_reviewer", "POST", f"/records/{record_id}/approve")
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/forbidden")
    assert world.status(record_id) == "pending_review"
    assert world.call("reviewer", "POST", f"/records/{record_id}/approve").status_code == 200


def test_an_active_record_is_never_edited_in_place(world: World) -> None:
    record_id = approved(world)
    body = submission_body(world)
    response = world.call("court_clerk", "PUT", f"/records/{record_id}", body)
    assert response.status_code == 409
    assert response.json()["type"].endswith("/conflict")
    assert world.status(record_id) == "active"
    pending = submitted(world)
    assert world.call("court_clerk", "PUT", f"/records/{pending}", body).status_code == 409


def test_a_change_names_the_field_at_fault_in_either_shape(world: World) -> None:
    record_id = submitted(world, send=False)
    whole = {**submission_body(world), "sentence_months": -1}
    response = world.call("court_clerk", "PUT", f"/records/{record_id}", whole)
    assert response.status_code == 422
    assert problem_fields(response) == {"sentence_months"}
    decision = correction_body(decision_date="2019-13-01")
    response = world.call("court_clerk", "PUT", f"/records/{record_id}", decision)
    assert response.status_code == 422
    assert problem_fields(response) == {"decision_date"}
    assert world.call("court_clerk", "PUT", f"/records/{record_id}", [1]).status_code == 422

    # The decision alone is a change of an original submission too; its subject stays.
    decision = correction_body(decision_date="2019-12-01")
    response = world.call("court_clerk", "PUT", f"/records/{record_id}", decision)
    assert response.status_code == 200
    shown = world.call("court_clerk", "GET", f"/records/{record_id}").json()
    assert (shown["decision_date"], shown["status"]) == ("2019-12-01", "draft")
    assert shown["subject"]["name"] == "王小明"


def test_an_invalid_identity_number_is_a_422_naming_id_number(world: World) -> None:
    body = submission_body(world)
    wrong_check = body["id_number"][:-1] + ("0" if body["id_number"][-1] != "0" else "1")
    response = world.call("court_clerk", "POST", "/records", {**body, "id_number": wrong_check})
    assert response.status_code == 422, response.text
    assert problem_fields(response) == {"id_number"}
    assert world.call("court_clerk", "GET", "/submissions").json() == []


def test_every_field_at_fault_is_named_at_once(world: World) -> None:
    body = {**submission_body(world), "id_number": "123", "offence": "no_such_offence"}
    response = world.call("court_clerk", "POST", "/records", body)
    assert response.status_code == 422
    assert problem_fields(response) == {"id_number", "offence"}
    too_long = world.call("court_clerk", "POST", "/records", {**body, "id_number": "1" * 41})
    assert too_long.status_code == 422
    assert problem_fields(too_long) == {"id_number"}


def test_an_unknown_field_is_refused(world: World) -> None:
    # A submission cannot set what only the service decides (mass assignment).
    body = {**submission_body(world), "status": "active"}
    response = world.call("court_clerk", "POST", "/records", body)
    assert response.status_code == 422
    assert problem_fields(response) == {"status"}


def test_a_correction_is_a_new_version_that_replaces_the_old_when_approved(world: World) -> None:
    old = approved(world)
    created = world.call("court_clerk", "POST", f"/records/{old}/corrections", correction_body())
    assert created.status_code == 201, created.text
    new = created.json()
    assert (new["version"], new["supersedes_id"], new["status"]) == (2, old, "pending_review")
    assert new["decision_date"] == "2019-11-06"

    # Returned, the correction is changed with the decision's fields only, then sent again.
    world.call("reviewer", "POST", f"/records/{new['id']}/return", {"reason": RETURN_REASON})
    whole = world.call("court_clerk", "PUT", f"/records/{new['id']}", submission_body(world))
    assert whole.status_code == 409  # a correction keeps its person
    fixed = correction_body(decision_date="2019-11-07")
    changed = world.call("court_clerk", "PUT", f"/records/{new['id']}", fixed)
    assert changed.status_code == 200, changed.text
    assert changed.json()["decision_date"] == "2019-11-07"
    world.call("court_clerk", "POST", f"/records/{new['id']}/submit")
    assert world.call("reviewer", "POST", f"/records/{new['id']}/approve").status_code == 200

    assert world.status(old) == "corrected"
    assert world.status(new["id"]) == "active"
    again = world.call("court_clerk", "POST", f"/records/{old}/corrections", correction_body())
    assert again.status_code == 409  # only the active version is corrected


def test_revoking_a_record_says_why(world: World) -> None:
    record_id = approved(world)
    response = world.call(
        "reviewer", "POST", f"/records/{record_id}/revoke", {"reason": "再审改判"}
    )
    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    shown = world.call("reviewer", "GET", f"/records/{record_id}").json()
    assert shown["transitions"][-1]["reason"] == "再审改判"
    blank = world.call("reviewer", "POST", f"/records/{record_id}/revoke", {"reason": "  "})
    assert blank.status_code == 422
    assert problem_fields(blank) == {"reason"}


def test_reading_a_record_is_audited(world: World) -> None:
    record_id = submitted(world)
    world.auth("court_clerk")
    world.auth("other_court_clerk")
    start = audit_head(world.session)
    assert world.call("court_clerk", "GET", f"/records/{record_id}").status_code == 200
    assert audit_since(world.session, start) == [
        (f"api:{lifecycle.ACTION_VIEW}", record_id),
    ]
    start = audit_head(world.session)
    assert world.call("other_court_clerk", "GET", f"/records/{record_id}").status_code == 404
    assert audit_since(world.session, start) == []  # nothing was read


def test_an_imported_record_shows_its_registry_person_as_subject(
    world: World, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    row = registry_row(
        external_id="P-API", name="张伟", id_number=prc_number("110101", date(1980, 5, 17), 555)
    )
    assert import_rows(session_factory, tmp_path / "registry.csv", [row]).complete
    record = world.session.scalars(
        select(RegistryRecord)
        .join(RegistryPerson, RegistryPerson.id == RegistryRecord.person_id)
        .where(RegistryPerson.external_id == "P-API")
    ).one()
    shown = world.call("registry_clerk", "GET", f"/records/{record.id}")
    assert shown.status_code == 200
    assert shown.json()["source"] == "import"
    assert shown.json()["subject"]["name"] == "张伟"
    assert shown.json()["subject"]["id_number"] == row["id_number"]
    # Courts read their own submissions only; an import is none of theirs.
    assert world.call("court_clerk", "GET", f"/records/{record.id}").status_code == 404


# --- sealed records (Criminal Procedure Law art. 286) -------------------------------------------


def test_a_sealed_record_shows_only_that_it_exists_to_those_the_policy_does_not_name(
    world: World,
) -> None:
    body = juvenile_body(world)
    record_id = world.call("court_clerk", "POST", "/records", body).json()["id"]
    decided = world.call("reviewer", "POST", f"/records/{record_id}/approve")
    assert decided.json()["status"] == "sealed"
    assert decided.json()["kind"] == "conviction"  # the policy names registry reviewers

    for who in ("court_clerk", "registry_clerk"):
        shown = world.call(who, "GET", f"/records/{record_id}")
        assert shown.status_code == 200
        assert shown.json() == {"id": record_id, "status": "sealed", "version": 1}
        assert JUVENILE_NUMBER not in shown.text
    full = world.call("reviewer", "GET", f"/records/{record_id}").json()
    assert full["subject"]["id_number"] == JUVENILE_NUMBER
    [listed] = world.call("court_clerk", "GET", "/submissions").json()
    assert (listed["kind"], listed["offence"], listed["decision_date"]) == (None, None, None)

    # Revoked after sealing, it is still a sealed record's content.
    world.call("reviewer", "POST", f"/records/{record_id}/revoke", {"reason": "再审撤销"})
    shown = world.call("court_clerk", "GET", f"/records/{record_id}").json()
    assert shown == {"id": record_id, "status": "revoked", "version": 1}


def test_the_older_version_of_a_sealed_record_is_withheld_too(world: World) -> None:
    old = approved(world, juvenile_body(world, sentence_months=None))
    assert world.status(old) == "active"  # no sentence recorded: not sealed
    correction = correction_body(
        decision_number="(2022)京0101刑初45号",
        decision_date="2022-01-10",
        offence_date="2021-06-01",
        sentence_months=36,
    )
    new = world.call("court_clerk", "POST", f"/records/{old}/corrections", correction).json()
    assert world.call("reviewer", "POST", f"/records/{new['id']}/approve").json()["status"] == (
        "sealed"
    )

    older = world.call("registry_clerk", "GET", f"/records/{old}")
    assert older.json() == {"id": old, "status": "corrected", "version": 1}
    listed = world.call("court_clerk", "GET", "/submissions").json()
    assert {(i["id"], i["kind"]) for i in listed} == {(old, None), (new["id"], None)}
    assert world.call("reviewer", "GET", f"/records/{old}").json()["kind"] == "conviction"


def test_an_eligible_active_record_is_sealed(world: World) -> None:
    record_id = eligible_active(world)
    sealed = world.call("reviewer", "POST", f"/records/{record_id}/seal", {"reason": "依法封存"})
    assert sealed.status_code == 200, sealed.text
    assert sealed.json()["status"] == "sealed"
    adult = approved(world)
    refused = world.call("reviewer", "POST", f"/records/{adult}/seal", {"reason": "依法封存"})
    assert refused.status_code == 409
    assert world.status(adult) == "active"


# --- the authorisation matrix -------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One route: who may call it, on what, with what, and who is refused."""

    method: str
    path: str  # under /api/v1/registry
    permission: Permission
    allowed: str
    ok: int = 200
    target: Callable[[World], str] | None = None  # the record the allowed caller acts on
    body: Callable[[World], Any] | None = None
    wrong_roles: tuple[str, ...] = ("institution_hr", "admin")
    # Someone of another organisation, who is told the record does not exist.
    foreign: str | None = None


def _reason(_world: World) -> dict[str, str]:
    return {"reason": "依法处理"}


def _pending(world: World) -> str:
    return submitted(world)


def _draft(world: World) -> str:
    return submitted(world, send=False)


SUBMITTING = ("reviewer", "institution_hr", "admin")
REVIEWING = ("court_clerk", "registry_clerk", "institution_hr", "admin")
ROUTES = [
    Route(
        "POST",
        "/records",
        Permission.REGISTRY_SUBMIT,
        "court_clerk",
        201,
        body=submission_body,
        wrong_roles=SUBMITTING,
    ),
    Route(
        "GET",
        "/records/{record_id}",
        Permission.REGISTRY_RECORDS,
        "court_clerk",
        target=_draft,
        foreign="other_court_clerk",
    ),
    Route(
        "PUT",
        "/records/{record_id}",
        Permission.REGISTRY_SUBMIT,
        "court_clerk",
        target=_draft,
        body=submission_body,
        wrong_roles=SUBMITTING,
        foreign="other_court_clerk",
    ),
    Route(
        "POST",
        "/records/{record_id}/submit",
        Permission.REGISTRY_SUBMIT,
        "court_clerk",
        target=_draft,
        wrong_roles=SUBMITTING,
        foreign="other_court_clerk",
    ),
    Route(
        "POST",
        "/records/{record_id}/corrections",
        Permission.REGISTRY_SUBMIT,
        "court_clerk",
        201,
        target=approved,
        body=lambda _w: correction_body(),
        wrong_roles=SUBMITTING,
        foreign="other_court_clerk",
    ),
    Route("GET", "/submissions", Permission.REGISTRY_SUBMIT, "court_clerk", wrong_roles=SUBMITTING),
    Route("GET", "/review-queue", Permission.REGISTRY_REVIEW, "reviewer", wrong_roles=REVIEWING),
    Route(
        "POST",
        "/records/{record_id}/approve",
        Permission.REGISTRY_REVIEW,
        "reviewer",
        target=_pending,
        wrong_roles=REVIEWING,
        foreign="other_reviewer",
    ),
    Route(
        "POST",
        "/records/{record_id}/return",
        Permission.REGISTRY_REVIEW,
        "reviewer",
        target=_pending,
        body=_reason,
        wrong_roles=REVIEWING,
        foreign="other_reviewer",
    ),
    # Another bureau's reviewer may read a decided record (registry:read) but not decide on
    # it: a 403 from the service, tested below, not the 404 of an invisible record.
    Route(
        "POST",
        "/records/{record_id}/revoke",
        Permission.REGISTRY_REVIEW,
        "reviewer",
        target=approved,
        body=_reason,
        wrong_roles=REVIEWING,
    ),
    Route(
        "POST",
        "/records/{record_id}/seal",
        Permission.REGISTRY_REVIEW,
        "reviewer",
        target=eligible_active,
        body=_reason,
        wrong_roles=REVIEWING,
    ),
    Route(
        "POST",
        "/records/{record_id}/reinstate",
        Permission.REGISTRY_REVIEW,
        "reviewer",
        target=revoked,
        body=_reason,
        wrong_roles=REVIEWING,
    ),
]


def _ids(route: Route) -> str:
    return f"{route.method} {route.path}"


def _request(world: World, route: Route, who: str | None) -> tuple[Response, str | None]:
    record_id = route.target(world) if route.target else None
    path = route.path.format(record_id=record_id)
    body = route.body(world) if route.body else None
    return world.call(who, route.method, path, body), record_id


def test_every_registry_route_is_in_the_matrix_with_its_permission(app: FastAPI) -> None:
    # Persons, duplicates and merges have their own matrix (tests/registry/test_api_persons.py).
    theirs = ("/persons", "/duplicates", "/merges")
    declared = {
        (rule.methods, rule.path.removeprefix(API)): rule.permission
        for rule in route_rules(app)
        if rule.path.startswith(API + "/") and not rule.path.removeprefix(API).startswith(theirs)
    }
    assert declared == {(r.method, r.path): r.permission for r in ROUTES}
    assert all(rule.kind == "api" for rule in route_rules(app) if rule.path.startswith(API))


@pytest.mark.parametrize("route", ROUTES, ids=_ids)
def test_anonymous_is_401(world: World, route: Route) -> None:
    response, record_id = _request(world, route, None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"
    made_up = world.client.request(
        route.method,
        API + route.path.format(record_id=record_id),
        json=route.body(world) if route.body else None,
        headers={"Authorization": "Bearer shh_made-up"},
    )
    assert made_up.status_code == 401


@pytest.mark.parametrize("route", ROUTES, ids=_ids)
def test_a_wrong_role_is_403(world: World, route: Route) -> None:
    for who in route.wrong_roles:
        before = world.status(route.target(world)) if route.target else None
        response, record_id = _request(world, route, who)
        assert response.status_code == 403, (who, response.text)
        assert response.json()["type"].endswith("/forbidden")
        if record_id is not None:
            assert world.status(record_id) == before  # nothing changed
    if route.method == "POST" and route.path == "/records":
        assert world.call("court_clerk", "GET", "/submissions").json() == []


@pytest.mark.parametrize("route", [r for r in ROUTES if r.foreign], ids=_ids)
def test_another_organisations_record_is_404(world: World, route: Route) -> None:
    assert route.foreign is not None
    response, record_id = _request(world, route, route.foreign)
    assert response.status_code == 404, response.text
    assert response.json()["type"].endswith("/not_found")
    assert record_id is not None
    # The same answer as a record that does not exist.
    path = route.path.format(record_id=uuid.uuid4())
    body = route.body(world) if route.body else None
    missing = world.call(route.allowed, route.method, path, body)
    assert (missing.status_code, missing.json()["detail"]) == (404, response.json()["detail"])


@pytest.mark.parametrize("route", ROUTES, ids=_ids)
def test_the_allowed_caller_succeeds(world: World, route: Route) -> None:
    response, _record_id = _request(world, route, route.allowed)
    assert response.status_code == route.ok, response.text


@pytest.mark.parametrize("action", ["revoke", "seal"])
def test_another_bureau_may_not_decide_on_a_record_it_did_not_approve(
    world: World, action: str
) -> None:
    record_id = eligible_active(world) if action == "seal" else approved(world)
    response = world.call(
        "other_reviewer", "POST", f"/records/{record_id}/{action}", _reason(world)
    )
    assert response.status_code == 403
    assert world.status(record_id) == "active"


# --- these routes as rows of tests/web/test_authorization_matrix.py -----------------------------


def _a_bureau(session: Session, _user: User) -> dict[str, Any]:
    # A submission without `review_organisation_id` goes to the nearest bureau: there is one.
    make_org(session, org_type=OrgType.PUBLIC_SECURITY)
    return {}


def web_matrix_cases(case: type[Any]) -> list[Any]:
    """This router's rows for the app-wide matrix, built with its `Case`.

    That matrix signs in the lowest-sorting allowed role (a court clerk for submitting and
    reading, a registry reviewer for reviewing) and an operator as the wrong role; its 404 case
    uses an institution's user, who holds no registry permission (a 403), so the other
    organisation's 404 is tested above.
    """
    submit, review = Permission.REGISTRY_SUBMIT, Permission.REGISTRY_REVIEW
    records = Permission.REGISTRY_RECORDS
    body = {k: v for k, v in registry_row().items() if k != "external_id"}
    correction = correction_body(decision_number="(2021)京0101刑再1号")
    reason = {"reason": "依法处理"}
    return [
        case("POST", f"{API}/records", submit, _a_bureau, json=body, ok=(201,)),
        case("GET", f"{API}/records/{{record_id}}", records, own_draft),
        case("PUT", f"{API}/records/{{record_id}}", submit, own_draft, json=body),
        case("POST", f"{API}/records/{{record_id}}/submit", submit, own_draft),
        case(
            "POST",
            f"{API}/records/{{record_id}}/corrections",
            submit,
            own_active,
            json=correction,
            ok=(201,),
        ),
        case("GET", f"{API}/submissions", submit),
        case("GET", f"{API}/review-queue", review),
        case("POST", f"{API}/records/{{record_id}}/approve", review, pending_for),
        case("POST", f"{API}/records/{{record_id}}/return", review, pending_for, json=reason),
        case("POST", f"{API}/records/{{record_id}}/revoke", review, adult_active_for, json=reason),
        case(
            "POST",
            f"{API}/records/{{record_id}}/reinstate",
            review,
            revoked_for,
            json={"reason": "Revoked by mistake."},
        ),
        # An adult's record: the service refuses to seal it (409), after the route's check.
        case(
            "POST",
            f"{API}/records/{{record_id}}/seal",
            review,
            adult_active_for,
            json=reason,
            ok=(409,),
        ),
    ]


def test_a_revocation_is_undone_by_another_reviewer_only(world: World) -> None:
    record_id = revoked(world)  # by the second reviewer
    refused = world.call(
        "second_reviewer", "POST", f"/records/{record_id}/reinstate", {"reason": "撤回"}
    )
    assert refused.status_code == 403
    assert world.status(record_id) == "revoked"
    done = world.call("reviewer", "POST", f"/records/{record_id}/reinstate", {"reason": "撤销有误"})
    assert (done.status_code, done.json()["status"]) == (200, "active")
