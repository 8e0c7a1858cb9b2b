"""The hand-off of a convicted suspect to the registry, in Chromium.

A judged case's lead officer opens the case page, follows "Send to the registry" for the
suspect, sends the form once with the judgment number left out (the field error shows beside
it), then sends it; the case page shows the suspect sent, with the record's status "draft". The
registry clerk of the same bureau then finds the draft among the Submissions, marked as a
one-stop case hand-off. Each runs in Chinese and in English; screenshots are
tests/e2e/screenshots/onestop-handoff-<step>-<lang>.png.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from shouhu.accounts.roles import OrgType, Role
from shouhu.core.audit.models import AuditEvent
from shouhu.core.database import transaction, utcnow
from shouhu.core.principal import Principal
from shouhu.onestop import cases
from shouhu.onestop.models import CaseStatus, OneStopCase, OneStopSite
from shouhu.registry.models import RegistryRecord
from tests.e2e.conftest import SCREENSHOTS, Account, Accounts, LiveServer, Tabs
from tests.e2e.test_inquiries import take_the_refused_post
from tests.e2e.test_registry_review import expect_clean_console, person_signed_in, tr
from tests.factories.registry import prc_number

LANGS = ["zh_CN", "en"]


def snap(page: Page, step: str, lang: str) -> None:
    """Save a full-page screenshot as tests/e2e/screenshots/onestop-handoff-<step>-<lang>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"onestop-handoff-{step}-{lang}.png", full_page=True)


def a_judged_case(server: LiveServer, officer: Account, number: str) -> uuid.UUID:
    """A case received by the officer at a site of their bureau, with one suspect, judged."""
    actor = Principal(
        user_id=officer.id,
        organisation_id=officer.organisation.id,
        org_type=OrgType.PUBLIC_SECURITY.value,
        roles=frozenset({Role.CASE_OFFICER.value}),
        channel="cli",
    )
    with transaction(server.runtime.sessions) as session:
        site = OneStopSite(
            name=f"端到端移送中心 {uuid.uuid4().hex[:6]}",
            region_code="110101",
            host_unit_id=officer.organisation.id,
        )
        site.ensure_id()
        session.add(site)
        session.flush()
        case = cases.open_case(
            session,
            actor=actor,
            intake=cases.CaseIntake(
                received_at=utcnow() - timedelta(days=200),
                channel="mandatory_report_school",
                offence="child_molestation",
                place="某小学",
                jurisdiction="110101",
                site_id=site.id,
                children=(cases.ChildInput(name="林小雨", sex="F", age_at_intake=9),),
                suspects=(cases.SuspectInput(name="贾某", id_type="prc_id", id_number=number),),
            ),
        )
        # The path from receipt to judgment is tested elsewhere; here the case is judged.
        stored = session.get_one(OneStopCase, case.id)
        stored.status = CaseStatus.JUDGED.value
        return case.id


def send_to_the_registry(page: Page, lang: str, case_id: uuid.UUID, judgment_number: str) -> None:
    """From the case page: the form, a field error, then the draft sent."""
    page.goto(f"/onestop/cases/{case_id}")
    expect(page.get_by_test_id("case-status")).to_have_attribute("data-status", "judged")
    page.get_by_test_id("handoff-link-0").click()
    form = page.get_by_test_id("handoff-form")
    # Read from the suspect's resident ID number.
    expect(form.locator("[name=date_of_birth]")).to_have_value("1982-07-09")
    expect(form.locator("[name=sex]")).to_have_value("M")
    form.locator("[name=decision_authority]").fill("北京市东城区人民法院")
    form.locator("[name=decision_date]").fill("2026-10-15")
    form.locator("[name=offence_date]").fill("2026-03-02")
    form.locator("[name=sentence_months]").fill("30")
    # The judgment number left out: the browser would stop it, so the check is the server's.
    form.locator("[name=decision_number]").evaluate("e => e.removeAttribute('required')")
    page.get_by_test_id("send-handoff").click()
    expect(page.locator("[name=decision_number]")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("error-decision_number")).to_have_text(
        tr(lang, "A value is required.")
    )
    snap(page, "form-error", lang)
    expect(page.locator("[name=decision_authority]")).to_have_value("北京市东城区人民法院")
    page.locator("[name=decision_number]").fill(judgment_number)
    page.get_by_test_id("send-handoff").click()
    cell = page.get_by_test_id("handoff-0")
    expect(cell).to_contain_text(tr(lang, "Draft"))
    expect(page.get_by_test_id("handoff-link-0")).to_have_count(0)
    snap(page, "case", lang)


@pytest.mark.parametrize("lang", LANGS)
def test_a_case_officer_hands_a_conviction_to_the_registry_clerk(
    tabs: Tabs, accounts: Accounts, live_server: LiveServer, lang: str
) -> None:
    bureau = accounts.organisation(OrgType.PUBLIC_SECURITY)
    officer = accounts.user(Role.CASE_OFFICER, org=bureau)
    clerk = accounts.user(Role.REGISTRY_CLERK, org=bureau)
    sequence = 2 * (uuid.uuid4().int % 400) + 101  # odd: a man
    number = prc_number("110101", date(1982, 7, 9), sequence)
    case_id = a_judged_case(live_server, officer, number)
    judgment_number = f"(2026)京0101刑初{uuid.uuid4().int % 100000}号"

    page = person_signed_in(tabs, officer, lang)
    send_to_the_registry(page, lang, case_id, judgment_number)
    take_the_refused_post(tabs, 422, "/registry-handoff")
    expect_clean_console(tabs)

    registry = person_signed_in(tabs, clerk, lang)
    registry.goto("/registry/submissions")
    row = registry.locator("[data-testid=submissions] tr", has_text=judgment_number)
    expect(row.get_by_test_id("source")).to_have_text(tr(lang, "One-stop case hand-off"))
    expect(row).to_contain_text(tr(lang, "Draft"))
    snap(registry, "clerk-submissions", lang)
    row.locator("a").click()
    expect(registry.locator("main")).to_contain_text("贾某")
    snap(registry, "clerk-record", lang)

    with transaction(live_server.runtime.sessions) as session:
        record = session.scalars(
            select(RegistryRecord).where(RegistryRecord.submitted_by_id == officer.id)
        ).one()
        assert (record.status, record.source) == ("draft", "onestop_case")
        actions = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.actor_id == str(officer.id))
            .where(
                AuditEvent.action.in_(["web:registry:record_draft", "web:onestop:registry_handoff"])
            )
            .order_by(AuditEvent.seq)
        ).all()
        assert actions == ["web:registry:record_draft", "web:onestop:registry_handoff"]
