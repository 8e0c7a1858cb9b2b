"""One-stop cases in Chromium: intake, the case team, the identity shown only to the team.

A case officer receives a school's mandatory report at a site (the intake form, with a field
error first), lands on the case page where the child is a pseudonym, opens the identity (a
recorded read), puts a prosecutor on the team and moves the case on. The prosecutor then sees
the case; another case officer, not on the team, gets the same 404 as for a case that does not
exist. Each runs in Chinese and in English; screenshots are
tests/e2e/screenshots/onestop-<step>-<lang>.png.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from shouhu.accounts.roles import OrgType, Role
from shouhu.core.audit.models import AuditEvent
from shouhu.core.database import transaction
from shouhu.core.principal import system_principal
from shouhu.onestop import sites
from shouhu.onestop.models import OneStopSite
from tests.e2e.conftest import SCREENSHOTS, Accounts, LiveServer, Tabs, expect_path
from tests.e2e.test_inquiries import take_the_refused_post
from tests.e2e.test_registry_review import expect_clean_console, person_signed_in, tr
from tests.factories.registry import prc_number

LANGS = ["zh_CN", "en"]


def snap(page: Page, step: str, lang: str) -> None:
    """Save a full-page screenshot as tests/e2e/screenshots/onestop-<step>-<lang>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"onestop-{step}-{lang}.png", full_page=True)


def a_site(server: LiveServer, host_unit: uuid.UUID, partner: uuid.UUID) -> str:
    """A site hosted by the officers' bureau, with the procuratorate attached as a partner."""
    admin = system_principal("cli")
    with transaction(server.runtime.sessions) as session:
        site = sites.create_site(
            session,
            actor=admin,
            data=sites.SiteInput(
                name=f"端到端一站式中心 {uuid.uuid4().hex[:6]}",
                region_code="110101",
                host_unit_id=host_unit,
                interview_room=True,
                medical_room=True,
                waiting_room=True,
            ),
        )
        sites.attach_partner(session, actor=admin, site_id=site.id, organisation_id=partner)
        return site.name


def receive_the_case(page: Page, lang: str, site_name: str, born: date, number: str) -> str:
    """The intake form, a field error first, then the case page; the case's path."""
    page.goto("/onestop/cases/new")
    form = page.get_by_test_id("case-form")
    form.locator("[name=received_at]").fill("2026-11-28T09:30")
    form.locator("[name=channel]").select_option("mandatory_report_school")
    form.locator("[name=offence]").select_option("child_molestation")
    form.locator("[name=place]").fill("某小学课外辅导教室")
    form.locator("[name=jurisdiction]").fill("11010")  # one digit short: a field error
    form.locator("[name=site_id]").select_option(label=site_name)
    form.locator("[name='children.0.name']").fill("林小雨")
    form.locator("[name='children.0.sex']").select_option("F")
    form.locator("[name='children.0.date_of_birth']").fill(born.isoformat())
    form.locator("[name='children.0.id_type']").select_option("prc_id")
    form.locator("[name='children.0.id_number']").fill(number)
    form.locator("[name='suspects.0.name']").fill("贾某")
    page.get_by_test_id("submit-case").click()
    expect(page.locator("[name=jurisdiction]")).to_have_attribute("aria-invalid", "true")
    snap(page, "intake-error", lang)
    # What was typed is kept; only the wrong field needs changing.
    expect(page.locator("[name='children.0.name']")).to_have_value("林小雨")
    page.locator("[name=jurisdiction]").fill("110101")
    page.get_by_test_id("submit-case").click()

    status = page.get_by_test_id("case-status")
    expect(status).to_have_attribute("data-status", "received")
    case_path = page.url.split("://", 1)[1].split("/", 1)[1]
    expect(page.get_by_test_id("pseudonym")).to_have_count(1)
    expect(page.get_by_test_id("children")).not_to_contain_text("林小雨")
    snap(page, "case", lang)

    page.get_by_test_id("show-identity-A").click()
    expect(page.locator("main")).to_contain_text("林小雨")
    expect(page.locator("main")).to_contain_text(number)
    snap(page, "identity", lang)
    return case_path


def put_the_prosecutor_on_and_move_on(page: Page, lang: str, case_path: str, username: str) -> None:
    """The officer adds the prosecutor to the team and schedules the joint session."""
    page.goto("/" + case_path)

    team = page.get_by_test_id("member-form")
    team.locator("[name=username]").fill(username)
    team.locator("[name=role]").select_option("prosecutor")
    page.get_by_test_id("add-member").click()
    expect(page.locator(f"[data-testid=member][data-username='{username}']")).to_have_count(1)
    status_form = page.get_by_test_id("status-form")
    status_form.locator("[name=status]").select_option("joint_session_scheduled")
    page.get_by_test_id("change-status").click()
    expect(page.get_by_test_id("case-status")).to_have_attribute(
        "data-status", "joint_session_scheduled"
    )
    expect(page.get_by_test_id("case-status")).to_have_text(tr(lang, "Joint session scheduled"))
    snap(page, "team-and-status", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_a_case_officer_receives_a_case_and_the_team_alone_sees_it(
    tabs: Tabs, accounts: Accounts, live_server: LiveServer, lang: str
) -> None:
    bureau = accounts.organisation(OrgType.PUBLIC_SECURITY)
    procuratorate = accounts.organisation(OrgType.PROCURATORATE)
    officer = accounts.user(Role.CASE_OFFICER, org=bureau, also=(Role.FORENSIC_EXAMINER,))
    prosecutor = accounts.user(Role.PROSECUTOR, org=procuratorate)
    outsider = accounts.user(Role.CASE_OFFICER, org=bureau)
    site_name = a_site(live_server, bureau.id, procuratorate.id)
    born = date(2016, 5, 4)
    number = prc_number("110101", born, 2 * (uuid.uuid4().int % 400) + 100)  # even: a girl

    page = person_signed_in(tabs, officer, lang)
    case_path = receive_the_case(page, lang, site_name, born, number)
    put_the_prosecutor_on_and_move_on(page, lang, case_path, prosecutor.username)
    take_the_refused_post(tabs, 422, "/onestop/cases")
    expect_clean_console(tabs)

    colleague = person_signed_in(tabs, prosecutor, lang)
    colleague.goto("/onestop/cases")
    colleague.locator(f"a[href='/{case_path}']").click()
    expect_path(colleague, "/" + case_path)
    expect(colleague.get_by_test_id("case-status")).to_have_attribute(
        "data-status", "joint_session_scheduled"
    )

    stranger = person_signed_in(tabs, outsider, lang)
    answer = stranger.goto("/" + case_path)
    assert answer is not None
    assert answer.status == 404
    seen = stranger.locator("main").inner_text()
    snap(stranger, "outsider-404", lang)
    missing = stranger.goto(f"/onestop/cases/{uuid.uuid4()}")
    assert missing is not None
    assert missing.status == 404
    assert stranger.locator("main").inner_text() == seen  # nothing tells the two apart

    # The identity read is on the audit trail, by the officer, for this case's child.
    with transaction(live_server.runtime.sessions) as session:
        reads = session.scalars(
            select(AuditEvent.actor_id).where(
                AuditEvent.action == "web:onestop:child_identity_read"
            )
        ).all()
        assert str(officer.id) in reads
        assert session.scalar(select(OneStopSite.id).where(OneStopSite.name == site_name))
