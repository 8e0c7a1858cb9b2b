"""The services over HTTP: the case's referrals and the referral form with its field errors, a
referral with notes and status, My tasks, the home page's Overdue section for each role, and the
API (problem details naming the field, a foreign referral's 404, the overdue endpoint)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from shouhu.core.audit.models import AuditEvent
from shouhu.onestop import repository
from shouhu.onestop.service_models import ServiceReferral
from tests.factories.accounts import api_token
from tests.factories.onestop import CHILD_NAME, Cast, join, make_cast, open_case, refer
from tests.web.conftest import SignedInClient

if TYPE_CHECKING:
    from fastapi.testclient import TestClient
    from sqlalchemy.orm import Session

    from shouhu.accounts.models import User

Signer = Callable[..., SignedInClient]
ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}
API = "/api/v1/onestop"


def _late_case(session: Session, cast: Cast, hours: int = 80):
    """A case received `hours` ago with one referral to the Women's Federation for the worker."""
    case = open_case(session, cast.officer, cast.site)
    case.received_at = case.received_at - timedelta(hours=hours)
    session.flush()
    referral = refer(session, cast.officer, case, cast.womens_federation, assignee=cast.support)
    session.commit()
    return case, referral


def _bearer(session: Session, user: User) -> dict[str, str]:
    token = api_token(session, user)
    session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_the_case_page_loads_its_services_and_the_officer_refers_a_child(
    session: Session, signed_in: Signer
) -> None:
    cast = make_cast(session)
    case = open_case(session, cast.officer, cast.site)
    session.commit()
    client, _, csrf = signed_in(user=cast.officer)
    page = client.get(f"/onestop/cases/{case.id}", headers=EN).text
    assert f'hx-get="/onestop/cases/{case.id}/referrals"' in page
    section = client.get(
        f"/onestop/cases/{case.id}/referrals", headers={**EN, "HX-Request": "true"}
    ).text
    assert "<html" not in section  # a fragment for htmx
    assert 'data-testid="referral-form"' in section
    assert cast.womens_federation.name in section
    assert cast.hospital.name not in section  # not attached to the site
    (child,) = repository.children_of(session, case.id)
    # The hospital's id, forged into the form, is refused naming the field.
    refused = client.post(
        f"/onestop/cases/{case.id}/referrals",
        data={
            "csrf_token": csrf,
            "child_id": str(child.id),
            "service": "psychological",
            "organisation_id": str(cast.hospital.id),
        },
        headers=EN,
    )
    assert refused.status_code == 422
    assert 'data-testid="error-organisation_id"' in refused.text
    done = client.post(
        f"/onestop/cases/{case.id}/referrals",
        data={
            "csrf_token": csrf,
            "child_id": str(child.id),
            "service": "psychological",
            "organisation_id": str(cast.womens_federation.id),
            "assigned_to_id": str(cast.support.id),
        },
    )
    assert done.status_code == 303
    listed = client.get(f"/onestop/cases/{case.id}/referrals", headers=ZH).text
    assert "心理评估与治疗" in listed
    assert "儿童 A" in listed


def test_the_support_worker_works_the_task_and_never_sees_the_childs_identity(
    session: Session, signed_in: Signer
) -> None:
    cast = make_cast(session)
    case, referral = _late_case(session, cast, hours=1)
    client, _, csrf = signed_in(user=cast.support)
    tasks = client.get("/onestop/my-tasks", headers=EN).text
    assert f"/onestop/referrals/{referral.id}" in tasks
    assert cast.site.name in tasks
    page = client.get(f"/onestop/referrals/{referral.id}", headers=EN)
    assert page.status_code == 200
    assert "Child A" in page.text
    assert CHILD_NAME not in page.text
    assert f"/onestop/cases/{case.id}" not in page.text  # not on the team: no case link
    assert client.get(f"/onestop/cases/{case.id}").status_code == 404
    moved = client.post(
        f"/onestop/referrals/{referral.id}/status",
        data={"csrf_token": csrf, "status": "declined", "reason": ""},
        headers=EN,
    )
    assert moved.status_code == 422
    assert 'data-testid="error-reason"' in moved.text
    for status in ("accepted", "in_progress"):
        ok = client.post(
            f"/onestop/referrals/{referral.id}/status", data={"csrf_token": csrf, "status": status}
        )
        assert ok.status_code == 303
    noted = client.post(
        f"/onestop/referrals/{referral.id}/notes",
        data={"csrf_token": csrf, "body": "第一次心理疏导已完成。"},
    )
    assert noted.status_code == 303
    page = client.get(f"/onestop/referrals/{referral.id}", headers=ZH).text
    assert "第一次心理疏导已完成。" in page
    assert "进行中" in page
    session.expire_all()
    actions = list(
        session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_id == str(referral.id))
            .order_by(AuditEvent.seq)
        )
    )
    assert actions == [
        "web:onestop:referral_create",
        "web:onestop:referral_view",
        "web:onestop:referral_view",  # the refused decline shows the page again
        "web:onestop:referral_status",
        "web:onestop:referral_status",
        "web:onestop:referral_view",
    ]
    # Another partner's worker: the 404 of a referral that does not exist.
    other, _, _ = signed_in(user=cast.outside_support)
    assert other.get(f"/onestop/referrals/{referral.id}").status_code == 404
    assert f"/onestop/referrals/{referral.id}" not in other.get("/onestop/my-tasks").text


def test_the_home_page_shows_each_role_its_overdue_items(
    session: Session, signed_in: Signer
) -> None:
    cast = make_cast(session)
    case, referral = _late_case(session, cast)  # received 80 hours ago: both deadlines passed
    join(session, case, cast.prosecutor, "prosecutor")
    session.commit()
    officer, _, _ = signed_in(user=cast.officer)
    page = officer.get("/", headers=EN).text
    assert 'data-testid="home-overdue"' in page
    assert "Cases without a joint session past the deadline: 1" in page
    assert "Services not started past the deadline: 1" in page
    assert f"/onestop/cases/{case.id}" in page
    assert f"/onestop/referrals/{referral.id}" in page
    worker, _, _ = signed_in(user=cast.support)
    page = worker.get("/", headers=ZH).text
    assert 'data-testid="home-overdue"' in page
    assert 'data-testid="overdue-joint-sessions"' not in page
    assert f"/onestop/referrals/{referral.id}" in page
    assert f"/onestop/cases/{case.id}" not in page
    assert 'data-testid="home-my-tasks"' in page
    for user in (cast.prosecutor, cast.second_officer, cast.outside_support, cast.admin):
        client, _, _ = signed_in(user=user)
        assert 'data-testid="home-overdue"' not in client.get("/", headers=EN).text


def test_the_api_refers_works_notes_and_reports_overdue(
    session: Session, client: TestClient
) -> None:
    cast = make_cast(session)
    case, _ = _late_case(session, cast)
    (child,) = repository.children_of(session, case.id)
    officer = _bearer(session, cast.officer)
    body = {
        "child_id": str(child.id),
        "service": "legal_assistance",
        "organisation_id": str(cast.hospital.id),
    }
    refused = client.post(f"{API}/cases/{case.id}/referrals", json=body, headers=officer)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in refused.json()["errors"]] == ["organisation_id"]
    body["organisation_id"] = str(cast.womens_federation.id)
    made = client.post(f"{API}/cases/{case.id}/referrals", json=body, headers=officer)
    assert made.status_code == 201
    created = made.json()
    assert created["status"] == "referred"
    assert created["child"] == "A"
    assert created["overdue"] is True
    assert created["case_id"] == str(case.id)
    listed = client.get(f"{API}/cases/{case.id}/referrals", headers=officer).json()
    assert len(listed) == 2
    worker = _bearer(session, cast.support)
    tasks = client.get(f"{API}/my-tasks", headers=worker).json()
    # The unassigned legal-assistance referral and the one assigned to the worker.
    assert {t["service"] for t in tasks} == {"psychological", "legal_assistance"}
    assert all(t["case_id"] is None for t in tasks)
    overdue = client.get(f"{API}/overdue", headers=worker).json()
    assert [i["kind"] for i in overdue["overdue"]] == ["service_start", "service_start"]
    moved = client.post(
        f"{API}/referrals/{created['id']}/status", json={"status": "accepted"}, headers=worker
    )
    assert moved.status_code == 200
    assert moved.json()["assigned_to"] == cast.support.username
    wrong = client.post(
        f"{API}/referrals/{created['id']}/status", json={"status": "completed"}, headers=worker
    )
    assert wrong.status_code == 409
    assert [e["field"] for e in wrong.json()["errors"]] == ["status"]
    note = client.post(
        f"{API}/referrals/{created['id']}/notes",
        json={"body": "已联系法律援助律师。"},
        headers=worker,
    )
    assert note.status_code == 201
    assert note.json()["author"] == cast.support.username
    read = client.get(f"{API}/referrals/{created['id']}", headers=officer).json()
    assert [n["body"] for n in read["notes"]] == ["已联系法律援助律师。"]
    manager = client.get(f"{API}/overdue", headers=officer).json()
    assert sorted(i["kind"] for i in manager["overdue"]) == ["joint_session", "service_start"]
    outsider = _bearer(session, cast.outside_support)
    assert client.get(f"{API}/referrals/{created['id']}", headers=outsider).status_code == 404
    assert client.get(f"{API}/overdue", headers=_bearer(session, cast.admin)).json() == {
        "overdue": [],
        "due_soon": [],
    }
    assert session.get(ServiceReferral, uuid.UUID(created["id"])) is not None
