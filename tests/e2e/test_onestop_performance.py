"""The site-performance page in Chromium, in Chinese and in English.

An analyst follows the navigation to the page, picks a month with the period form, and sees
one busy site's figures, a small site's "fewer than 5", and the charts drawn by ECharts (a
canvas for each measure there is a figure for; the suppressed ones left out, with a note), with
no console error and no CSP violation. Screenshots:
tests/e2e/screenshots/onestop-performance-<lang>.png.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from shouhu.accounts.models import User
from shouhu.accounts.roles import OrgType, Role
from shouhu.accounts.users import principal_for
from shouhu.core.database import transaction
from shouhu.onestop import cases, evidence, interviews, repository
from shouhu.onestop.models import CaseMember, OneStopSite
from tests.e2e.conftest import SCREENSHOTS, Accounts, LiveServer, Tabs, expect_path
from tests.e2e.test_onestop_cases import a_site
from tests.e2e.test_registry_review import expect_clean_console, nav, person_signed_in, tr
from tests.factories.registry import prc_number

# Each language gets a month of its own, so the two runs' cases never mix.
MONTHS = {"zh_CN": (2025, 3), "en": (2025, 4)}
BUSY_CASES = 6
SMALL_CASES = 2


@dataclass(frozen=True)
class Sites:
    """The two sites the test made, by name."""

    busy: str
    small: str


def _cases_at(
    server: LiveServer,
    officer_id: uuid.UUID,
    site_name: str,
    month: tuple[int, int],
    count: int,
    *,
    worked: bool,
) -> None:
    """`count` cases received in `month`; if `worked`, each child interviewed and examined once.

    Five of six interviews recorded, four of six examinations on site.
    """
    with transaction(server.runtime.sessions) as session:
        user = session.get_one(User, officer_id)
        actor = principal_for(user, "web")
        site = session.scalars(select(OneStopSite).where(OneStopSite.name == site_name)).one()
        for index in range(count):
            received = datetime(*month, 3 + 2 * index, 2, 0, tzinfo=UTC)
            born = date(2015, 1 + index, 9)
            case = cases.open_case(
                session,
                actor=actor,
                intake=cases.CaseIntake(
                    received_at=received,
                    channel="police_report",
                    offence="child_molestation",
                    place="某培训机构",
                    jurisdiction="110101",
                    site_id=site.id,
                    children=(
                        cases.ChildInput(
                            name="测试儿童",
                            sex="F",
                            date_of_birth=born,
                            id_type="prc_id",
                            id_number=prc_number("110101", born, 2 * (uuid.uuid4().int % 400)),
                        ),
                    ),
                    suspects=(cases.SuspectInput(name="某甲"),),
                ),
            )
            if not worked:
                continue
            lead = session.scalars(select(CaseMember).where(CaseMember.case_id == case.id)).one()
            child = repository.children_of(session, case.id)[0]
            start = received + timedelta(hours=6)
            interviews.record_interview(
                session,
                actor=actor,
                case_id=case.id,
                child_id=child.id,
                interviewer_id=lead.id,
                started_at=start,
                ended_at=start + timedelta(minutes=40),
                recorded=index != 0,
            )
            evidence.record_item(
                session,
                actor=actor,
                case_id=case.id,
                item=evidence.ItemInput(
                    kind="medical_report",
                    description="身体检查报告",
                    place="医学检查室",
                    collected_at=start + timedelta(hours=2),
                    holder="区公安分局物证室",
                    reason="固定检查结果",
                    child_id=child.id,
                    examined_on_site=index >= 2,
                ),
            )


def _two_sites(accounts: Accounts, server: LiveServer, month: tuple[int, int]) -> Sites:
    bureau = accounts.organisation(OrgType.PUBLIC_SECURITY)
    partner = accounts.organisation(OrgType.PROCURATORATE)
    officer = accounts.user(Role.CASE_OFFICER, org=bureau, also=(Role.FORENSIC_EXAMINER,))
    busy = a_site(server, bureau.id, partner.id)
    small = a_site(server, bureau.id, partner.id)
    _cases_at(server, officer.id, busy, month, BUSY_CASES, worked=True)
    # Just received: had they interviews too, the busy site's shares would be hidden as well
    # (the national share would give theirs away; tests/onestop/test_performance.py).
    _cases_at(server, officer.id, small, month, SMALL_CASES, worked=False)
    return Sites(busy, small)


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_an_analyst_reads_the_site_figures_and_charts(
    tabs: Tabs, accounts: Accounts, live_server: LiveServer, lang: str
) -> None:
    year, month = MONTHS[lang]
    sites = _two_sites(accounts, live_server, (year, month))
    analyst = accounts.user(Role.ANALYST)

    page = person_signed_in(tabs, analyst, lang)
    nav(page, lang, "Site performance").click()
    expect_path(page, "/onestop/performance")
    period = page.get_by_test_id("period")
    chosen = f"{year}-{month:02d}"
    period.locator("[name=from]").fill(chosen)
    period.locator("[name=to]").fill(chosen)
    page.get_by_test_id("show-period").click()
    expect(page).to_have_url(f"{live_server.url}/onestop/performance?from={chosen}&to={chosen}")

    table = page.get_by_test_id("performance")
    fewer = tr(lang, "fewer than 5")
    busy = table.locator("tr", has=page.get_by_role("rowheader", name=sites.busy, exact=True))
    small = table.locator("tr", has=page.get_by_role("rowheader", name=sites.small, exact=True))
    # The small site: every figure "fewer than 5", never a number (not even 0).
    expect(small.locator("[data-suppressed]")).to_have_count(9)
    expect(small.locator("[data-measure=cases]")).to_have_text(fewer)
    # The busy site: its figures, its count withheld (it is 6, not "fewer than 5") so that the
    # national 8 cannot give the small site's 2 away.
    expect(busy.locator("[data-measure=recorded_share]")).to_have_text("83%")
    expect(busy.locator("[data-measure=medical_on_site_share]")).to_have_text("67%")
    expect(busy.locator("[data-measure=interviews_per_child]")).to_have_text("1.00")
    expect(busy.locator("[data-measure=cases]")).to_have_text(tr(lang, "withheld"))
    expect(page.get_by_test_id("national").locator("[data-measure=cases]")).to_have_text("8")

    # Charts drawn where there are figures; the small site named as left out.
    for key in ("recorded_share", "medical_on_site_share", "interviews_per_child"):
        holder = page.locator(f"[data-chart={key}]")
        expect(holder).to_have_attribute("data-rendered", "true")
        expect(holder.locator("canvas")).to_have_count(1)
        expect(page.get_by_test_id(f"left-out-{key}")).to_contain_text(sites.small)
    expect(page.get_by_test_id("no-chart-session_median_hours")).to_be_visible()
    expect(page.locator("[data-chart] canvas")).to_have_count(3)

    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"onestop-performance-{lang}.png", full_page=True)
    expect_clean_console(tabs)
