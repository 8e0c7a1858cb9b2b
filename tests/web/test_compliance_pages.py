"""The compliance pages and the prosecutors' audit trail, through the app (both backends)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.accounts.roles import OrgType, Role
from shouhu.core.audit.chain import record
from shouhu.core.audit.models import AuditEvent
from shouhu.core.errors import ConflictError
from shouhu.core.principal import system_principal
from shouhu.screening import inquiries
from tests.factories.accounts import make_org, make_user
from tests.factories.compliance import Tree, at, stored_inquiry, supervision_tree
from tests.factories.lifecycle import principal_of
from tests.screening.test_compliance import SECRET_NUMBER, a_year_of_inquiries
from tests.web.conftest import SignedInClient

YEAR = {"since": "2025-01-01", "until": "2025-12-31"}


@pytest.fixture
def tree(session: Session) -> Tree:
    built = supervision_tree(session)
    a_year_of_inquiries(session, built)
    session.commit()
    return built


def main_of(html: str) -> str:
    """The page's own content, without the header's sign-out and language forms."""
    found = re.search(r"<main.*?</main>", html, re.DOTALL)
    assert found is not None
    return found.group(0)


def rows(html: str) -> list[tuple[str, str]]:
    """(institution id, its flags) for each row of the compliance table, in order."""
    return re.findall(r'<tr data-institution="([^"]+)" data-flags="([^"]*)"', html)


def last_action(session: Session) -> AuditEvent:
    session.expire_all()
    found = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).first()
    assert found is not None
    return found


def test_an_officer_sees_the_table_the_gravest_first_and_the_chart_data(
    session: Session, tree: Tree, signed_in: Callable[..., SignedInClient]
) -> None:
    client, _user, _csrf = signed_in(user=tree.users["city_officer"])
    page = client.get("/compliance", params=YEAR)
    assert page.status_code == 200
    assert rows(page.text) == [
        (str(tree.kindergarten.id), "hired_without_no_record no_annual_recheck"),
        (str(tree.school.id), "stale_pending"),
        (str(tree.city_school.id), "no_annual_recheck"),
    ]
    assert tree.other_school.name not in page.text
    chart = re.search(
        r'<script type="application/json" id="compliance-chart-data">(.*?)</script>',
        page.text,
        re.DOTALL,
    )
    assert chart is not None
    data = json.loads(chart.group(1))
    assert data["institutions"][1] == tree.school.name
    assert (data["median"][1], data["p90"][1], data["pending"][1]) == (2.5, 7.0, 1)
    assert 'src="/static/compliance.js"' in page.text
    for secret in ("王小明", "王*明", SECRET_NUMBER):
        assert secret not in page.text
    assert last_action(session).action == "web:compliance:view"
    # Another order, on request: by name.
    by_name = client.get("/compliance", params={**YEAR, "order": "name"})
    assert [r[0] for r in rows(by_name.text)] == [
        str(m.id)
        for m in sorted((tree.school, tree.kindergarten, tree.city_school), key=lambda o: o.name)
    ]


def test_a_prosecutors_pages_are_read_only_and_link_to_the_trail(
    tree: Tree, signed_in: Callable[..., SignedInClient]
) -> None:
    client, _user, _csrf = signed_in(user=tree.users["county_prosecutor"])
    page = client.get("/compliance", params=YEAR)
    assert {r[0] for r in rows(page.text)} == {str(tree.school.id), str(tree.kindergarten.id)}
    assert 'method="post"' not in main_of(page.text)
    assert "<button" in main_of(page.text)  # the period's "Show" (a GET) and nothing else
    assert main_of(page.text).count("<button") == 1
    detail = client.get(f"/compliance/{tree.school.id}", params=YEAR)
    assert detail.status_code == 200
    content = main_of(detail.text)
    assert 'method="post"' not in content
    assert "王*明" in content
    assert "王小明" not in content
    assert SECRET_NUMBER not in content
    assert f"/audit/events?organisation={tree.school.id}&action=inquiry%3A" in content
    # Outside the territory: not found.
    assert client.get(f"/compliance/{tree.city_school.id}", params=YEAR).status_code == 404


def test_an_officer_has_no_link_to_the_trail_they_may_not_read(
    tree: Tree, signed_in: Callable[..., SignedInClient]
) -> None:
    client, _user, _csrf = signed_in(user=tree.users["county_officer"])
    detail = client.get(f"/compliance/{tree.school.id}", params=YEAR)
    assert detail.status_code == 200
    assert "/audit/events" not in main_of(detail.text)
    assert client.get(f"/compliance/{tree.other_school.id}").status_code == 404


def test_a_bad_period_is_shown_at_the_form(
    tree: Tree, signed_in: Callable[..., SignedInClient]
) -> None:
    client, _user, _csrf = signed_in(user=tree.users["city_officer"])
    client.headers["accept-language"] = "en"
    page = client.get("/compliance", params={"since": "2025-12-31", "until": "2025-01-01"})
    assert page.status_code == 422
    assert "The period must not start after it ends." in page.text
    assert rows(page.text) == []
    bad = client.get(f"/compliance/{tree.school.id}", params={"since": "31/12/2025"})
    assert bad.status_code == 422
    assert "Enter a date written YYYY-MM-DD." in bad.text


def test_the_menu_and_start_page_link_supervisors_to_compliance(
    tree: Tree, signed_in: Callable[..., SignedInClient]
) -> None:
    for who in ("county_officer", "county_prosecutor"):
        client, _user, _csrf = signed_in(user=tree.users[who])
        home = client.get("/").text
        assert 'data-testid="nav-compliance"' in home
        assert 'data-testid="home-compliance"' in home
        assert ('data-testid="home-inquiry-events"' in home) == (who == "county_prosecutor")
    client, _user, _csrf = signed_in(user=tree.users["school_hr"])
    assert "/compliance" not in client.get("/").text


# --- the prosecutors' audit trail -----------------------------------------------------------------


def events_shown(html: str) -> list[str]:
    """The action tags of the audit page's rows."""
    return re.findall(r"<td><code>([^<]+)</code></td>", html)


def refused_hire(session: Session, tree: Tree) -> None:
    """The school's HR tries to hire after `record_found`: refused, and recorded."""
    found = stored_inquiry(session, tree.school, submitted_at=at("2025-09-01 10:00"))
    found.answer = "record_found"
    with pytest.raises(ConflictError):
        inquiries.record_hiring(
            session, actor=tree.school_hr, inquiry_id=found.id, decision="hired"
        )


def test_a_prosecutor_reads_their_territorys_trail_only(
    session: Session, tree: Tree, signed_in: Callable[..., SignedInClient]
) -> None:
    refused_hire(session, tree)
    other_hr = make_user(session, roles=(Role.INSTITUTION_HR,), org=tree.other_school)
    record(session, actor=principal_of(other_hr), action="inquiry:submit", object_id="x")
    record(session, actor=system_principal("cli"), action="user:create", object_id="y")
    # An approval by the city bureau (outside a county's territory) on the school's inquiry.
    city = principal_of(tree.users["city_officer"])
    approved = stored_inquiry(session, tree.school, submitted_at=at("2025-09-02 10:00"))
    record(
        session, actor=city, action="inquiry:approve", object_type="inquiry", object_id=approved.id
    )
    session.commit()

    client, _user, _csrf = signed_in(user=tree.users["county_prosecutor"])
    trail = client.get("/audit/events", params={"action": "inquiry:"})
    assert trail.status_code == 200
    shown = events_shown(trail.text)
    assert shown == ["web:inquiry:approve", "web:inquiry:hiring_refused"]
    assert "cli:user:create" not in client.get("/audit/events").text

    auditor, _user, _csrf = signed_in(Role.AUDITOR)
    everything = events_shown(auditor.get("/audit/events", params={"action": "inquiry:"}).text)
    assert everything[:3] == [
        "web:inquiry:approve",
        "web:inquiry:submit",
        "web:inquiry:hiring_refused",
    ]


def test_the_trail_filtered_by_institution_and_date(
    session: Session, tree: Tree, signed_in: Callable[..., SignedInClient]
) -> None:
    refused_hire(session, tree)
    kindergarten_hr = make_user(session, roles=(Role.INSTITUTION_HR,), org=tree.kindergarten)
    record(session, actor=principal_of(kindergarten_hr), action="inquiry:submit", object_id="k")
    session.commit()
    client, _user, _csrf = signed_in(user=tree.users["city_prosecutor"])
    school = {"organisation": str(tree.school.id), "action": "inquiry:"}
    shown = events_shown(client.get("/audit/events", params=school).text)
    assert shown == ["web:inquiry:hiring_refused"]
    read = last_action(session)
    assert read.action == "web:audit:read"
    assert json.loads(read.details)["organisation_filter"] == str(tree.school.id)
    # Days: the refusal happened today, not in 2025.
    assert events_shown(client.get("/audit/events", params={**school, **YEAR}).text) == []
    # Another territory's institution, or a made-up id: not found.
    other = client.get("/audit/events", params={"organisation": str(tree.other_school.id)})
    assert other.status_code == 404
    assert client.get("/audit/events", params={"organisation": "nonsense"}).status_code == 404
    bad = client.get("/audit/events", params={"since": "yesterday"})
    assert bad.status_code == 422


def test_a_procuratorate_outside_every_territory_reads_nothing_of_others(
    session: Session, tree: Tree, signed_in: Callable[..., SignedInClient]
) -> None:
    refused_hire(session, tree)
    far = make_org(session, org_type=OrgType.PROCURATORATE, region_code="650102")
    prosecutor = make_user(session, roles=(Role.PROSECUTOR,), org=far)
    session.commit()
    client, _user, _csrf = signed_in(user=prosecutor)
    assert events_shown(client.get("/audit/events", params={"action": "inquiry:"}).text) == []
