"""Registry persons and duplicates over the JSON API: audited reads, sealed records withheld,
finding by document, merging and undoing, the refusals, and every route's authorisation matrix."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from shouhu.accounts.roles import OrgType, Permission, Role
from shouhu.core.database import utcnow
from shouhu.core.settings import Settings
from shouhu.registry import browse, lifecycle, merging
from shouhu.registry.models import RegistryDuplicatePair, RegistryPerson
from shouhu.registry.schemas import RecordSubmission
from shouhu.web.app import create_app
from shouhu.web.permission_matrix import route_rules
from tests.factories.accounts import make_org, make_user
from tests.factories.registry import prc_number, to_15
from tests.registry.test_api import (
    API,
    JUVENILE_NUMBER,
    World,
    audit_head,
    audit_since,
    juvenile_body,
    problem_fields,
    submission_body,
)
from tests.web.registry_page_cases import merge_of, pair_of, person_of

VIEW = f"api:{browse.ACTION_PERSON_VIEW}"
FIND = f"api:{browse.ACTION_PERSON_FIND}"
MERGE = f"api:{merging.ACTION_MERGE}"
UNDO = f"api:{merging.ACTION_UNDO}"
DISMISS = f"api:{merging.ACTION_DISMISS}"
SAME_MAN = "同一人：新旧两个身份证号码，旧号码未注销"
TWO_MEN = "经核实为双胞胎兄弟，不是同一人"
PAIR_FIELDS = {
    "id",
    "status",
    "first_person_id",
    "first_external_id",
    "second_person_id",
    "second_external_id",
    "outcome",
    "score",
    "reasons",
    "found_at",
    "decided_at",
    "decided_by_id",
    "reason",
}


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


@pytest.fixture
def world(session: Session, client: TestClient) -> World:
    """A court, the Beijing bureau that reviews its records, a Shanghai bureau, and others."""
    orgs = {
        "court": make_org(session, org_type=OrgType.COURT, region_code="110101"),
        "bureau": make_org(session, org_type=OrgType.PUBLIC_SECURITY, region_code="110101"),
        "other_bureau": make_org(session, org_type=OrgType.PUBLIC_SECURITY, region_code="310101"),
        "school": make_org(session, org_type=OrgType.INSTITUTION),
        "operator": make_org(session, org_type=OrgType.OPERATOR),
    }
    cast = {
        "court_clerk": ("court", (Role.COURT_CLERK,)),
        "registry_clerk": ("bureau", (Role.REGISTRY_CLERK,)),
        "reviewer": ("bureau", (Role.REGISTRY_REVIEWER,)),
        "second_reviewer": ("bureau", (Role.REGISTRY_REVIEWER,)),
        # The registry is national: another city's bureau reads and decides the same persons.
        "other_clerk": ("other_bureau", (Role.REGISTRY_CLERK,)),
        "other_reviewer": ("other_bureau", (Role.REGISTRY_REVIEWER,)),
        "institution_hr": ("school", (Role.INSTITUTION_HR,)),
        "admin": ("operator", (Role.ADMIN,)),
    }
    users = {
        name: make_user(session, roles=roles, org=orgs[org]) for name, (org, roles) in cast.items()
    }
    session.commit()
    return World(session, client, orgs, users)


# --- scenes -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Registered:
    """A registry person made by approving a court's conviction, and what was submitted."""

    person_id: str
    record_id: str
    body: dict[str, Any]


def registered(world: World, body: dict[str, Any] | None = None) -> Registered:
    """A court clerk's submission approved by the second reviewer: a person and their record."""
    data = body or submission_body(world)
    record = lifecycle.submit_record(
        world.session,
        actor=world.principal("court_clerk"),
        data=RecordSubmission.model_validate(data),
    )
    lifecycle.approve_record(
        world.session, actor=world.principal("second_reviewer"), record_id=record.id
    )
    world.session.commit()
    assert record.person_id is not None
    return Registered(str(record.person_id), str(record.id), data)


def paired(
    world: World, one: Registered, other: Registered, *, score: float = 9.5
) -> tuple[str, Registered, Registered]:
    """An open pair of the sweep (smaller id first), with its first and second persons."""
    first, second = sorted((one, other), key=lambda r: uuid.UUID(r.person_id))
    pair = RegistryDuplicatePair(
        first_person_id=uuid.UUID(first.person_id),
        second_person_id=uuid.UUID(second.person_id),
        outcome="possible_match",
        score=score,
        reasons="name=agree +6.0; birth_date=agree +4.0; sex=agree +0.7; rule=review",
        found_at=utcnow(),
    )
    world.session.add(pair)
    world.session.commit()
    return str(pair.id), first, second


def external_id(world: World, person_id: str) -> str:
    """The person's external id as stored."""
    return world.session.get_one(RegistryPerson, uuid.UUID(person_id)).external_id


def documents(world: World, person_id: str) -> set[str]:
    """The numbers of the person's documents, as the API shows them."""
    shown = world.call("registry_clerk", "GET", f"/persons/{person_id}")
    assert shown.status_code == 200, shown.text
    return {d["number"] for d in shown.json()["documents"]}


# --- reading a person ---------------------------------------------------------------------------


def test_a_person_is_read_with_names_documents_and_decided_records_and_audited(
    world: World,
) -> None:
    body = submission_body(world, former_names="王晓明")
    person = registered(world, body)
    # A correction still in review is the reviewers' queue, not the person's record.
    lifecycle.submit_correction(
        world.session,
        actor=world.principal("court_clerk"),
        record_id=uuid.UUID(person.record_id),
        data=lifecycle.RecordCorrection(
            record_kind="conviction",
            offence="child_molestation",
            decision_authority="北京市东城区人民法院",
            decision_number=body["decision_number"],
            decision_date="2019-11-06",
        ),
    )
    world.session.commit()
    world.auth("registry_clerk")
    start = audit_head(world.session)

    response = world.call("registry_clerk", "GET", f"/persons/{person.person_id}")

    assert response.status_code == 200, response.text
    assert audit_since(world.session, start) == [(VIEW, person.person_id)]
    shown = response.json()
    assert shown["id"] == person.person_id
    assert shown["external_id"] == external_id(world, person.person_id)
    assert shown["names"] == [
        {"kind": "primary", "name": "王小明"},
        {"kind": "former", "name": "王晓明"},
    ]
    assert (shown["sex"], shown["date_of_birth"], shown["nationality"]) == (
        "M",
        "1980-05-17",
        "CHN",
    )
    assert shown["documents"] == [{"id_type": "prc_id", "number": body["id_number"]}]
    assert shown["merged_into_id"] is None
    [record] = shown["records"]
    assert (record["id"], record["status"], record["version"]) == (person.record_id, "active", 1)
    assert record["decision_number"] == body["decision_number"]
    history = [
        (t["from_status"], t["to_status"], t["actor_id"], t["reason"])
        for t in record["transitions"]
    ]
    assert history == [
        (None, "pending_review", str(world.users["court_clerk"].id), None),
        ("pending_review", "active", str(world.users["second_reviewer"].id), None),
    ]
    assert all(t["occurred_at"] for t in record["transitions"])


def test_finding_then_reading_a_person_writes_two_events_in_order(world: World) -> None:
    person = registered(world)
    world.auth("other_clerk")
    start = audit_head(world.session)
    found = world.call(
        "other_clerk",
        "POST",
        "/persons/search",
        {"id_type": "prc_id", "id_number": person.body["id_number"]},
    )
    assert [p["id"] for p in found.json()] == [person.person_id]
    assert world.call("other_clerk", "GET", f"/persons/{person.person_id}").status_code == 200
    assert audit_since(world.session, start) == [(FIND, None), (VIEW, person.person_id)]


def test_an_unknown_person_is_404_and_nothing_is_read(world: World) -> None:
    world.auth("registry_clerk")
    start = audit_head(world.session)
    response = world.call("registry_clerk", "GET", f"/persons/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.json()["type"].endswith("/not_found")
    assert audit_since(world.session, start) == []


def test_a_sealed_record_is_withheld_from_a_clerk_and_shown_to_a_reviewer(world: World) -> None:
    person = registered(world, juvenile_body(world))
    assert world.status(person.record_id) == "sealed"

    withheld = world.call("registry_clerk", "GET", f"/persons/{person.person_id}")
    assert withheld.status_code == 200
    assert withheld.json()["records"] == [
        {"id": person.record_id, "status": "sealed", "version": 1}
    ]
    assert "(2022)京0101刑初45号" not in withheld.text
    assert "pending_review" not in withheld.text  # nor its history

    shown = world.call("reviewer", "GET", f"/persons/{person.person_id}").json()
    [record] = shown["records"]
    assert (record["status"], record["kind"], record["sentence_months"]) == (
        "sealed",
        "conviction",
        36,
    )
    assert record["decision_number"] == "(2022)京0101刑初45号"
    assert [t["to_status"] for t in record["transitions"]] == ["pending_review", "sealed"]
    assert shown["documents"] == [{"id_type": "prc_id", "number": JUVENILE_NUMBER}]


# --- finding a person ---------------------------------------------------------------------------


def test_a_person_is_found_by_document_in_either_form(world: World) -> None:
    person = registered(world)
    registered(world)  # a namesake born the same day, under another number
    number = person.body["id_number"]
    expected = [
        {
            "id": person.person_id,
            "external_id": external_id(world, person.person_id),
            "name": "王小明",
            "records": 1,
        }
    ]
    for given in (number, to_15(number), number.lower()):
        found = world.call(
            "registry_clerk", "POST", "/persons/search", {"id_type": "prc_id", "id_number": given}
        )
        assert found.status_code == 200, found.text
        assert found.json() == expected
    nobody = world.call(
        "registry_clerk",
        "POST",
        "/persons/search",
        {"id_type": "prc_id", "id_number": prc_number("110101", date(1990, 3, 7), 124)},
    )
    assert (nobody.status_code, nobody.json()) == (200, [])


def test_a_passport_is_found_with_its_country(world: World) -> None:
    body = submission_body(
        world, name="Olga Ivanova", sex="F", date_of_birth="1979-01-02", nationality="RUS"
    )
    body.update(id_type="passport", id_number="751234567")
    person = registered(world, body)
    found = world.call(
        "reviewer",
        "POST",
        "/persons/search",
        {"id_type": "passport", "id_number": "751234567", "nationality": "RUS"},
    )
    assert [(p["id"], p["name"]) for p in found.json()] == [(person.person_id, "Olga Ivanova")]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"id_type": "prc_id", "id_number": "110101198005171234"}, "id_number"),  # check digit
        ({"id_type": "prc_id", "id_number": "   "}, "id_number"),
        ({"id_type": "prc_id"}, "id_number"),
        ({"id_type": "driving_licence", "id_number": "751234567"}, "id_type"),
        ({"id_type": "passport", "id_number": "751234567", "nationality": "ZZZ"}, "nationality"),
        ({"id_type": "passport", "id_number": "7512"}, "id_number"),
        ({"id_type": "prc_id", "id_number": "1" * 41}, "id_number"),
    ],
)
def test_a_bad_document_is_a_422_naming_the_field(
    world: World, params: dict[str, str], field: str
) -> None:
    world.auth("registry_clerk")
    start = audit_head(world.session)
    response = world.call("registry_clerk", "POST", "/persons/search", params)
    assert response.status_code == 422, response.text
    assert problem_fields(response) == {field}
    assert audit_since(world.session, start) == []  # nothing was looked up


# --- duplicates, merging and undoing ------------------------------------------------------------


def test_the_open_pairs_are_listed_likeliest_first(world: World) -> None:
    a, b, c = registered(world), registered(world), registered(world)
    likely, first, second = paired(world, a, b, score=12.0)
    less_likely, _, _ = paired(world, a, c, score=7.5)
    decided, _, _ = paired(world, b, c, score=20.0)
    merging.dismiss_pair(
        world.session, actor=world.principal("reviewer"), pair_id=uuid.UUID(decided), reason="两人"
    )
    world.session.commit()

    listed = world.call("reviewer", "GET", "/duplicates")
    assert listed.status_code == 200
    pairs = listed.json()
    assert [p["id"] for p in pairs] == [likely, less_likely]
    assert all(set(p) == PAIR_FIELDS for p in pairs)
    top = pairs[0]
    assert (top["first_person_id"], top["second_person_id"]) == (
        first.person_id,
        second.person_id,
    )
    assert (top["first_external_id"], top["second_external_id"]) == (
        external_id(world, first.person_id),
        external_id(world, second.person_id),
    )
    assert (top["status"], top["outcome"], top["score"]) == ("open", "possible_match", 12.0)
    assert top["reasons"].endswith("rule=review")
    assert a.body["id_number"] not in listed.text
    assert "王小明" not in listed.text

    page = world.call("reviewer", "GET", "/duplicates", params={"limit": "1", "offset": "1"})
    assert [p["id"] for p in page.json()] == [less_likely]


def test_a_pair_is_merged_and_the_merge_undone_over_http(world: World) -> None:
    pair_id, first, second = paired(world, registered(world), registered(world))
    first_number, second_number = first.body["id_number"], second.body["id_number"]
    world.auth("reviewer")

    start = audit_head(world.session)
    created = world.call(
        "reviewer", "POST", f"/duplicates/{pair_id}/merge", {"keep": "first", "reason": SAME_MAN}
    )
    assert created.status_code == 201, created.text
    merge = created.json()
    assert audit_since(world.session, start) == [(MERGE, merge["id"])]
    assert (merge["kept_person_id"], merge["merged_person_id"], merge["pair_id"]) == (
        first.person_id,
        second.person_id,
        pair_id,
    )
    assert merge["moved"] == {"names": 1, "documents": 1, "records": 1}
    assert (merge["reason"], merge["merged_by_id"]) == (SAME_MAN, str(world.users["reviewer"].id))
    assert merge["merged_at"] is not None
    assert merge["undone_at"] is None
    assert documents(world, first.person_id) == {first_number, second_number}
    assert documents(world, second.person_id) == set()
    kept = world.call("registry_clerk", "GET", f"/persons/{first.person_id}").json()
    assert {r["id"] for r in kept["records"]} == {first.record_id, second.record_id}
    emptied = world.call("registry_clerk", "GET", f"/persons/{second.person_id}").json()
    assert (emptied["merged_into_id"], emptied["names"], emptied["records"]) == (
        first.person_id,
        [],
        [],
    )
    assert pair_id not in {p["id"] for p in world.call("reviewer", "GET", "/duplicates").json()}
    assert world.call("reviewer", "GET", f"/merges/{merge['id']}").json() == merge

    start = audit_head(world.session)
    undone = world.call("reviewer", "POST", f"/merges/{merge['id']}/undo", {"reason": TWO_MEN})
    assert undone.status_code == 200, undone.text
    assert audit_since(world.session, start) == [(UNDO, merge["id"])]
    after = undone.json()
    assert after["undone_at"] is not None
    assert (after["undo_reason"], after["undone_by_id"]) == (
        TWO_MEN,
        str(world.users["reviewer"].id),
    )
    assert documents(world, first.person_id) == {first_number}
    assert documents(world, second.person_id) == {second_number}
    separate = world.call("registry_clerk", "GET", f"/persons/{second.person_id}").json()
    assert separate["merged_into_id"] is None
    assert [r["id"] for r in separate["records"]] == [second.record_id]
    assert world.call("reviewer", "GET", f"/merges/{merge['id']}").json() == after

    again = world.call("reviewer", "POST", f"/merges/{merge['id']}/undo", {"reason": TWO_MEN})
    assert again.status_code == 409
    assert again.json()["type"].endswith("/conflict")


def test_a_decided_pair_is_not_merged_again(world: World) -> None:
    pair_id, first, second = paired(world, registered(world), registered(world))
    body = {"keep": "first", "reason": SAME_MAN}
    assert world.call("reviewer", "POST", f"/duplicates/{pair_id}/merge", body).status_code == 201

    world.auth("other_reviewer")
    start = audit_head(world.session)
    second_merge = world.call(
        "other_reviewer", "POST", f"/duplicates/{pair_id}/merge", {**body, "keep": "second"}
    )
    assert second_merge.status_code == 409
    assert second_merge.json()["type"].endswith("/conflict")
    dismissed = world.call(
        "other_reviewer", "POST", f"/duplicates/{pair_id}/dismiss", {"reason": TWO_MEN}
    )
    assert dismissed.status_code == 409
    assert audit_since(world.session, start) == []
    assert documents(world, first.person_id) == {
        first.body["id_number"],
        second.body["id_number"],
    }


def test_a_pair_is_dismissed_with_its_reason(world: World) -> None:
    pair_id, first, second = paired(world, registered(world), registered(world))
    world.auth("reviewer")
    start = audit_head(world.session)
    response = world.call("reviewer", "POST", f"/duplicates/{pair_id}/dismiss", {"reason": TWO_MEN})
    assert response.status_code == 200, response.text
    assert audit_since(world.session, start) == [(DISMISS, pair_id)]
    pair = response.json()
    assert (pair["id"], pair["status"], pair["reason"]) == (pair_id, "dismissed", TWO_MEN)
    assert pair["decided_by_id"] == str(world.users["reviewer"].id)
    assert pair["decided_at"] is not None
    assert world.call("reviewer", "GET", "/duplicates").json() == []
    assert documents(world, first.person_id) == {first.body["id_number"]}
    assert documents(world, second.person_id) == {second.body["id_number"]}


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("merge", {"keep": "first"}, "reason"),
        ("merge", {"keep": "first", "reason": "   "}, "reason"),
        ("merge", {"reason": SAME_MAN}, "keep"),
        ("merge", {"keep": "third", "reason": SAME_MAN}, "keep"),
        ("merge", {"keep": "first", "reason": SAME_MAN, "status": "merged"}, "status"),
        ("dismiss", {}, "reason"),
        ("dismiss", {"reason": "x" * 2001}, "reason"),
    ],
)
def test_a_decision_without_what_it_needs_is_a_422_naming_the_field(
    world: World, action: str, body: dict[str, str], field: str
) -> None:
    pair_id, first, _second = paired(world, registered(world), registered(world))
    response = world.call("reviewer", "POST", f"/duplicates/{pair_id}/{action}", body)
    assert response.status_code == 422, response.text
    assert problem_fields(response) == {field}
    assert [p["status"] for p in world.call("reviewer", "GET", "/duplicates").json()] == ["open"]
    assert documents(world, first.person_id) == {first.body["id_number"]}


def test_an_undo_without_a_reason_is_a_422_naming_reason(world: World) -> None:
    pair_id, first, second = paired(world, registered(world), registered(world))
    merge = world.call(
        "reviewer", "POST", f"/duplicates/{pair_id}/merge", {"keep": "second", "reason": SAME_MAN}
    ).json()
    assert merge["kept_person_id"] == second.person_id
    for body in ({}, {"reason": ""}):
        response = world.call("reviewer", "POST", f"/merges/{merge['id']}/undo", body)
        assert response.status_code == 422
        assert problem_fields(response) == {"reason"}
    assert world.call("reviewer", "GET", f"/merges/{merge['id']}").json()["undone_at"] is None
    assert documents(world, first.person_id) == set()


# --- the authorisation matrix -------------------------------------------------------------------


def _person(world: World) -> dict[str, str]:
    return {"person_id": registered(world).person_id}


def _pair(world: World) -> dict[str, str]:
    return {"pair_id": paired(world, registered(world), registered(world))[0]}


def _merge(world: World) -> dict[str, str]:
    pair_id = paired(world, registered(world), registered(world))[0]
    merge = merging.merge_for_pair(
        world.session,
        actor=world.principal("second_reviewer"),
        pair_id=uuid.UUID(pair_id),
        keep="first",
        reason=SAME_MAN,
    )
    world.session.commit()
    return {"merge_id": str(merge.id)}


def _find(world: World) -> dict[str, str]:
    return {"id_type": "prc_id", "id_number": registered(world).body["id_number"]}


@dataclass(frozen=True)
class Route:
    """One route: who may call it, on what, with what, and who is refused."""

    method: str
    path: str  # under /api/v1/registry
    permission: Permission
    allowed: str
    ok: int = 200
    target: Callable[[World], dict[str, str]] | None = None  # the path's object
    params: Callable[[World], dict[str, str]] | None = None
    body: Any = None
    wrong_roles: tuple[str, ...] = ("court_clerk", "institution_hr", "admin")


READING = ("court_clerk", "institution_hr", "admin")
DECIDING = ("registry_clerk", "court_clerk", "institution_hr", "admin")
ROUTES = [
    Route("POST", "/persons/search", Permission.REGISTRY_READ, "registry_clerk", params=_find),
    Route(
        "GET",
        "/persons/{person_id}",
        Permission.REGISTRY_READ,
        "registry_clerk",
        target=_person,
        wrong_roles=READING,
    ),
    Route("GET", "/duplicates", Permission.REGISTRY_DUPLICATES, "reviewer", wrong_roles=DECIDING),
    Route(
        "POST",
        "/duplicates/{pair_id}/merge",
        Permission.REGISTRY_DUPLICATES,
        "reviewer",
        201,
        target=_pair,
        body={"keep": "second", "reason": SAME_MAN},
        wrong_roles=DECIDING,
    ),
    Route(
        "POST",
        "/duplicates/{pair_id}/dismiss",
        Permission.REGISTRY_DUPLICATES,
        "reviewer",
        target=_pair,
        body={"reason": TWO_MEN},
        wrong_roles=DECIDING,
    ),
    Route(
        "GET",
        "/merges/{merge_id}",
        Permission.REGISTRY_DUPLICATES,
        "reviewer",
        target=_merge,
        wrong_roles=DECIDING,
    ),
    Route(
        "POST",
        "/merges/{merge_id}/undo",
        Permission.REGISTRY_DUPLICATES,
        "reviewer",
        target=_merge,
        body={"reason": TWO_MEN},
        wrong_roles=DECIDING,
    ),
]
PATHS = {(route.method, route.path) for route in ROUTES}


def _ids(route: Route) -> str:
    return f"{route.method} {route.path}"


def _request(world: World, route: Route, who: str | None) -> Response:
    values = route.target(world) if route.target else {}
    # A search posts its document as the body (never in the address).
    body = route.params(world) if route.params else route.body
    return world.call(who, route.method, route.path.format(**values), body)


def _missing(route: Route) -> str:
    """The route's path with an id that names nothing."""
    names = ("person_id", "pair_id", "merge_id")
    return route.path.format(**{name: uuid.uuid4() for name in names})


def test_every_new_route_is_in_the_matrix_with_its_permission(app: FastAPI) -> None:
    declared = {
        (rule.methods, rule.path.removeprefix(API)): rule.permission
        for rule in route_rules(app)
        if (rule.methods, rule.path.removeprefix(API)) in PATHS
    }
    assert declared == {(r.method, r.path): r.permission for r in ROUTES}
    prefixes = ("/persons", "/duplicates", "/merges")
    ours = {
        (rule.methods, rule.path.removeprefix(API))
        for rule in route_rules(app)
        if rule.path.removeprefix(API).startswith(prefixes) and rule.path.startswith(API)
    }
    assert ours == PATHS  # no route of these kinds without a row here


@pytest.mark.parametrize("route", ROUTES, ids=_ids)
def test_anonymous_is_401(world: World, route: Route) -> None:
    response = _request(world, route, None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("route", ROUTES, ids=_ids)
def test_a_wrong_role_is_403(world: World, route: Route) -> None:
    for who in route.wrong_roles:
        world.auth(who)
        start = audit_head(world.session)
        response = _request(world, route, who)
        assert response.status_code == 403, (who, response.text)
        assert response.json()["type"].endswith("/forbidden")
        # Nothing was read or decided (the scene's own events come before `_request` calls).
        assert all(not action.startswith("api:") for action, _ in audit_since(world.session, start))


@pytest.mark.parametrize("route", [r for r in ROUTES if r.target], ids=_ids)
def test_an_object_that_does_not_exist_is_404(world: World, route: Route) -> None:
    response = world.call(route.allowed, route.method, _missing(route), route.body)
    assert response.status_code == 404, response.text
    assert response.json()["type"].endswith("/not_found")


@pytest.mark.parametrize("route", ROUTES, ids=_ids)
def test_the_allowed_caller_succeeds(world: World, route: Route) -> None:
    response = _request(world, route, route.allowed)
    assert response.status_code == route.ok, response.text


@pytest.mark.parametrize("route", ROUTES, ids=_ids)
def test_another_bureau_of_the_same_role_succeeds_too(world: World, route: Route) -> None:
    # The registry is national: persons and duplicates are no one bureau's.
    other = {"registry_clerk": "other_clerk", "reviewer": "other_reviewer"}[route.allowed]
    response = _request(world, route, other)
    assert response.status_code == route.ok, response.text


# --- these routes as rows of tests/web/test_authorization_matrix.py -----------------------------


def web_matrix_cases(case: type[Any]) -> list[Any]:
    """These routes' rows for the app-wide matrix, built with its `Case`.

    That matrix signs in the lowest-sorting allowed role (a registry clerk for reading persons,
    a registry reviewer for duplicates) and an operator as the wrong role. The search by
    document is called there without its required query (the matrix sends none): the allowed
    caller passes the route's check and meets the 422 of the missing fields, tested above with
    them. No registry person belongs to an organisation, so there is no other organisation's
    404 to test: a missing object's 404 is tested above.
    """
    read, duplicates = Permission.REGISTRY_READ, Permission.REGISTRY_DUPLICATES
    return [
        case(
            "POST",
            f"{API}/persons/search",
            read,
            json={"id_type": "prc_id", "id_number": prc_number("110101", date(1990, 3, 7), 125)},
        ),
        case("GET", f"{API}/persons/{{person_id}}", read, person_of),
        case("GET", f"{API}/duplicates", duplicates),
        case(
            "POST",
            f"{API}/duplicates/{{pair_id}}/merge",
            duplicates,
            pair_of,
            json={"keep": "second", "reason": "One man under two identity numbers."},
            ok=(201,),
        ),
        case(
            "POST",
            f"{API}/duplicates/{{pair_id}}/dismiss",
            duplicates,
            pair_of,
            json={"reason": "Namesakes born on the same day."},
        ),
        case("GET", f"{API}/merges/{{merge_id}}", duplicates, merge_of),
        case(
            "POST",
            f"{API}/merges/{{merge_id}}/undo",
            duplicates,
            merge_of,
            json={"reason": "Two brothers."},
        ),
    ]
