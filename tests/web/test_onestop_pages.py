"""The one-stop pages over HTTP: navigation by permission, the intake form and its field errors,
the case page (pseudonyms, the audited identity, team, status), and the site directory."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from shouhu.accounts.roles import Role
from shouhu.core.audit.models import AuditEvent
from shouhu.core.database import utcnow
from shouhu.onestop import repository
from shouhu.onestop.models import OneStopCase, OneStopSite
from tests.factories.onestop import CHILD_NAME, CHILD_NUMBER, join, make_cast, open_case
from tests.web.conftest import SignedInClient

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Signer = Callable[..., SignedInClient]
ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


def _beijing_now_minus(hours: int) -> str:
    return (utcnow() + timedelta(hours=8 - hours)).strftime("%Y-%m-%dT%H:%M")


def _actions(session: Session, object_id: object) -> list[str]:
    session.expire_all()
    return list(
        session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_id == str(object_id))
            .order_by(AuditEvent.seq)
        )
    )


def test_the_navigation_offers_cases_and_sites_to_those_who_hold_the_permissions(
    session: Session, signed_in: Signer
) -> None:
    expected = {
        Role.CASE_OFFICER: (True, True),
        Role.SUPPORT_WORKER: (True, True),
        Role.PROSECUTOR: (True, True),
        Role.ADMIN: (False, True),
        Role.AUDITOR: (False, False),
        Role.INSTITUTION_HR: (False, False),
    }
    for role, (cases_link, sites_link) in expected.items():
        client, _, _ = signed_in(role)
        page = client.get("/", headers=EN).text
        assert ('data-testid="nav-cases"' in page) is cases_link, role
        assert ('data-testid="nav-sites"' in page) is sites_link, role
        assert ('data-testid="home-cases"' in page) is cases_link, role
        assert ('data-testid="home-intake"' in page) is (role is Role.CASE_OFFICER), role


def test_intake_through_the_form_shows_the_child_by_pseudonym_in_both_languages(
    session: Session, signed_in: Signer
) -> None:
    cast = make_cast(session)
    client, _, csrf = signed_in(user=cast.officer)
    form = {
        "csrf_token": csrf,
        "received_at": _beijing_now_minus(2),
        "channel": "mandatory_report_school",
        "offence": "child_molestation",
        "place": "某小学",
        "jurisdiction": "110101",
        "site_id": str(cast.site.id),
        "children.0.name": CHILD_NAME,
        "children.0.sex": "F",
        "children.0.id_type": "prc_id",
        "children.0.id_number": CHILD_NUMBER,
        "suspects.0.name": "王某",
        "suspects.0.id_type": "prc_id",
    }
    assert client.get("/onestop/cases/new", headers=ZH).status_code == 200
    created = client.post("/onestop/cases", data=form, headers=ZH)
    assert created.status_code == 303
    case_path = created.headers["location"]
    chinese = client.get(case_path, headers=ZH).text
    english = client.get(case_path, headers=EN).text
    assert "儿童 A" in chinese
    assert "Child A" in english
    for page in (chinese, english):
        assert CHILD_NAME not in page
        assert CHILD_NUMBER not in page
        assert "王某" in page  # the suspect, for the team
    listing = client.get("/onestop/cases", headers=ZH).text
    assert "儿童 A" in listing
    assert "已接报" in listing
    assert cast.site.name in listing
    case_id = case_path.rsplit("/", 1)[1]
    assert _actions(session, case_id) == [
        "web:onestop:case_open",
        "web:onestop:case_view",
        "web:onestop:case_view",
    ]
    # Another officer of the same bureau meets the 404 page of a case that does not exist.
    other, _, _ = signed_in(user=cast.second_officer)
    assert other.get(case_path, headers=EN).status_code == 404
    assert other.get("/onestop/cases", headers=EN).text.count('data-testid="case-row"') == 0


def test_the_intake_form_names_the_field_at_fault_and_keeps_what_was_typed(
    session: Session, signed_in: Signer
) -> None:
    cast = make_cast(session)
    client, _, csrf = signed_in(user=cast.officer)
    form = {
        "csrf_token": csrf,
        "received_at": _beijing_now_minus(1),
        "channel": "family",
        "offence": "child_molestation",
        "place": "某小区",
        "jurisdiction": "110101",
        "site_id": str(cast.site.id),
        "children.0.name": CHILD_NAME,
        "children.0.sex": "F",
        "children.0.id_number": CHILD_NUMBER,
        "children.0.date_of_birth": "2015-01-01",
    }
    refused = client.post("/onestop/cases", data=form, headers=EN)
    assert refused.status_code == 422
    assert 'data-testid="error-children.0.date_of_birth"' in refused.text
    assert "The birth date differs from the one in the identity number." in refused.text
    assert f'value="{CHILD_NAME}"' in refused.text
    for field, value, testid in (
        ("received_at", "yesterday", "error-received_at"),
        ("children.0.age_at_intake", "nine", "error-children.0.age_at_intake"),
        ("jurisdiction", "123", "error-jurisdiction"),
    ):
        refused = client.post("/onestop/cases", data={**form, field: value}, headers=ZH)
        assert refused.status_code == 422
        assert f'data-testid="{testid}"' in refused.text, field
    assert session.scalars(select(OneStopCase)).all() == []


def test_show_identity_reveals_the_child_to_the_team_and_records_each_showing(
    session: Session, signed_in: Signer
) -> None:
    cast = make_cast(session)
    case = open_case(session, cast.officer, cast.site)
    join(session, case, cast.support, "support")
    (child,) = repository.children_of(session, case.id)
    session.commit()
    client, _, _ = signed_in(user=cast.support)
    page = client.get(f"/onestop/cases/{case.id}", headers=ZH).text
    link = f"/onestop/cases/{case.id}/children/{child.id}/identity"
    assert link in page
    shown = client.get(link, headers=ZH)
    assert shown.status_code == 200
    assert CHILD_NAME in shown.text
    assert "听力障碍" in shown.text
    assert shown.headers["cache-control"] == "no-store"
    assert _actions(session, child.id) == ["web:onestop:child_identity_read"]
    outsider, _, _ = signed_in(user=cast.second_officer)
    assert outsider.get(link, headers=ZH).status_code == 404
    assert _actions(session, child.id) == ["web:onestop:child_identity_read"]


def test_the_status_form_offers_the_next_steps_only_and_asks_for_a_reason(
    session: Session, signed_in: Signer
) -> None:
    cast = make_cast(session)
    case = open_case(session, cast.officer, cast.site)
    session.commit()
    client, _, csrf = signed_in(user=cast.officer)
    path = f"/onestop/cases/{case.id}"
    page = client.get(path, headers=EN).text
    options = re.findall(r'<option value="([a-z_]+)"', page.split('data-testid="status-form"')[1])
    assert options[0] == "joint_session_scheduled"
    assert "closed" not in options
    moved = client.post(
        f"{path}/status", data={"csrf_token": csrf, "status": "joint_session_scheduled"}
    )
    assert moved.status_code == 303
    case.status = "under_investigation"
    session.commit()
    refused = client.post(
        f"{path}/status", data={"csrf_token": csrf, "status": "not_prosecuted"}, headers=EN
    )
    assert refused.status_code == 422
    assert 'data-testid="error-reason"' in refused.text
    wrong = client.post(f"{path}/status", data={"csrf_token": csrf, "status": "closed"})
    assert wrong.status_code == 409
    assert 'data-testid="error-status"' in wrong.text
    # A prosecutor on the team sees the case but no status form (and may not post one).
    join(session, case, cast.prosecutor, "prosecutor")
    session.commit()
    prosecutor, _, prosecutor_csrf = signed_in(user=cast.prosecutor)
    assert 'data-testid="status-form"' not in prosecutor.get(path).text
    assert (
        prosecutor.post(
            f"{path}/status", data={"csrf_token": prosecutor_csrf, "status": "judged"}
        ).status_code
        == 403
    )


def test_the_team_is_managed_on_the_case_page_by_username(
    session: Session, signed_in: Signer
) -> None:
    cast = make_cast(session)
    case = open_case(session, cast.officer, cast.site)
    session.commit()
    client, _, csrf = signed_in(user=cast.officer)
    path = f"/onestop/cases/{case.id}"
    added = client.post(
        f"{path}/members",
        data={"csrf_token": csrf, "username": cast.support.username, "role": "support"},
    )
    assert added.status_code == 303
    assert f'data-username="{cast.support.username}"' in client.get(path).text
    for username, message in (
        ("nobody-here", "No active user has this username."),
        (cast.outside_support.username, "partner attached to the case&#39;s site"),
    ):
        refused = client.post(
            f"{path}/members",
            data={"csrf_token": csrf, "username": username, "role": "medical"},
            headers=EN,
        )
        assert refused.status_code == 422
        assert 'data-testid="error-username"' in refused.text
        assert message in refused.text
    member = repository.membership(session, case.id, cast.support.id)
    assert member is not None
    removed = client.post(f"{path}/members/{member.id}/remove", data={"csrf_token": csrf})
    assert removed.status_code == 303
    support, _, _ = signed_in(user=cast.support)
    assert support.get(path).status_code == 404


def test_the_operator_keeps_the_site_directory_through_its_pages(
    session: Session, signed_in: Signer
) -> None:
    cast = make_cast(session)
    session.commit()
    client, _, csrf = signed_in(user=cast.admin)
    form = {
        "csrf_token": csrf,
        "name": "海淀区一站式取证中心",
        "region_code": "110108",
        "host_unit_id": str(cast.bureau.id),
        "interview_room": "on",
        "waiting_room": "on",
        "active": "on",
        "phone": "010-1234 5678",
    }
    refused = client.post("/onestop/sites", data={**form, "region_code": "999999"}, headers=EN)
    assert refused.status_code == 422
    assert 'data-testid="error-region_code"' in refused.text
    created = client.post("/onestop/sites", data=form)
    assert created.status_code == 303
    site_path = created.headers["location"]
    site = session.scalars(select(OneStopSite).where(OneStopSite.name == form["name"])).one()
    attached = client.post(
        f"{site_path}/partners",
        data={"csrf_token": csrf, "organisation_id": str(cast.hospital.id)},
    )
    assert attached.status_code == 303
    page = client.get(site_path, headers=EN).text
    assert cast.hospital.name in page
    assert 'data-testid="facility-medical_room">No<' in page
    not_a_partner = client.post(
        f"{site_path}/partners",
        data={"csrf_token": csrf, "organisation_id": str(cast.bureau.id)},
        headers=EN,
    )
    assert not_a_partner.status_code == 422
    assert 'data-testid="error-organisation_id"' in not_a_partner.text
    changed = client.post(site_path, data={**form, "active": ""})
    assert changed.status_code == 303
    assert _actions(session, site.id) == [
        "web:onestop:site_create",
        "web:onestop:site_partner_attach",
        "web:onestop:site_update",
    ]
    officer, _, _ = signed_in(user=cast.officer)
    active = officer.get("/onestop/sites", params={"region": "110000", "active": "1"}).text
    assert cast.site.name in active
    assert form["name"] not in active  # inactive now
    assert 'data-testid="new-site"' not in active
    assert form["name"] in officer.get("/onestop/sites", params={"active": "0"}).text
    assert 'data-testid="attach-form"' not in officer.get(site_path).text
