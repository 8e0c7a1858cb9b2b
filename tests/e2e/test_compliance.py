"""Compliance in Chromium: a city's education officer and a county's prosecutor supervise schools.

A city bureau (广州, 440100) sits above a county bureau (天河, 440106) with a primary school and a
kindergarten, and has a secondary school of its own (越秀, 440104); another city (深圳) has its own
school. The officer sees all three of theirs, the gravest flags first, with a chart of turnaround
and pending answers, and opens the school: candidates' names masked, its refused hire. The
county prosecutor sees only the county's institutions, cannot act on anything, and follows the
school's link into the audit trail filtered to its inquiry events. Each runs in Chinese and in
English; screenshots are tests/e2e/screenshots/compliance-<step>-<lang>.png.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from shouhu.accounts import organisations
from shouhu.accounts.models import User
from shouhu.accounts.organisations import OrganisationCreate
from shouhu.accounts.roles import OrgType, Role
from shouhu.accounts.users import principal_for
from shouhu.core.database import transaction, utcnow
from shouhu.core.errors import ConflictError
from shouhu.identity.prc_id import latest_possible_date
from shouhu.screening import inquiries
from shouhu.screening.models import Inquiry
from tests.e2e.conftest import SCREENSHOTS, Account, Accounts, LiveServer, Org, Tabs, expect_path
from tests.e2e.test_inquiries import a_credit_code
from tests.e2e.test_registry_review import (
    a_birth_date,
    expect_clean_console,
    person_signed_in,
    tr,
)
from tests.factories.registry import prc_number

LANGS = ["zh_CN", "en"]


def snap(page: Page, step: str, lang: str) -> None:
    """Save a full-page screenshot as tests/e2e/screenshots/compliance-<step>-<lang>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"compliance-{step}-{lang}.png", full_page=True)


@dataclass(frozen=True)
class Supervision:
    """The organisations and people of one test."""

    school: Org
    kindergarten: Org
    city_school: Org
    other_school: Org
    officer: Account
    prosecutor: Account
    school_hr: Account
    candidate_numbers: tuple[str, ...]


class Builder:
    """Organisations, users and inquiries in the live database, through the services."""

    def __init__(self, server: LiveServer, accounts: Accounts) -> None:
        self.runtime = server.runtime
        self.accounts = accounts
        self.tag = uuid.uuid4().hex[:6]
        self.numbers: list[str] = []

    def org(
        self,
        org_type: OrgType,
        name: str,
        region: str,
        parent: Org | None = None,
        kind: str | None = None,
    ) -> Org:
        """An organisation of this type, in this region, under this parent."""
        with transaction(self.runtime.sessions) as session:
            made = organisations.create_organisation(
                session,
                actor=self.accounts.actor,
                data=OrganisationCreate(
                    name=f"{name} {self.tag}",
                    type=org_type,
                    kind=kind,
                    region_code=region,
                    parent_id=parent.id if parent else None,
                    credit_code=a_credit_code() if org_type is OrgType.INSTITUTION else None,
                ),
            )
            return Org(id=made.id, name=made.name)

    def inquiries(
        self, institution: Org, hr: Account, hours: list[float | None], **fields: object
    ) -> list[uuid.UUID]:
        """One inquiry per entry, answered `no_record` after that many hours (None: pending)."""
        made = []
        now = utcnow()
        with transaction(self.runtime.sessions) as session:
            parent = session.get_one(User, hr.id).organisation.parent_id
            for index, taken in enumerate(hours):
                submitted = now - timedelta(days=10 - index % 8, hours=taken or 0)
                number = prc_number("440106", a_birth_date(), 2 * (uuid.uuid4().int % 499) + 1)
                self.numbers.append(number)
                inquiry = Inquiry(
                    institution_id=institution.id,
                    authority_id=parent,
                    submitted_by_id=hr.id,
                    purpose=str(fields.get("purpose", "school_staff")),
                    position="语文教师",
                    subject_index=uuid.uuid4().hex,
                    consent_reference="同意书-e2e",
                    consent_signed_on=latest_possible_date(),
                    status="completed" if taken is not None else str(fields["pending"]),
                    answer=str(fields.get("answer", "no_record")) if taken is not None else None,
                    submitted_at=submitted,
                    completed_at=submitted + timedelta(hours=taken) if taken is not None else None,
                    hiring="hired" if fields.get("hired") and index < 2 else None,
                    hiring_at=now if fields.get("hired") and index < 2 else None,
                )
                inquiry.ensure_id()
                inquiry.subject = {"name": "王小明", "id_type": "prc_id", "id_number": number}
                session.add(inquiry)
                made.append(inquiry.id)
        return made

    def refused_hire(self, hr: Account, inquiry_id: uuid.UUID) -> None:
        """HR tries to hire after `record_found`: refused, and the refusal recorded."""
        with pytest.raises(ConflictError), transaction(self.runtime.sessions) as session:
            inquiries.record_hiring(
                session,
                actor=principal_for(session.get_one(User, hr.id), "web"),
                inquiry_id=inquiry_id,
                decision="hired",
            )

    def supervision(self) -> Supervision:
        """Two cities' bureaus, a county's, four institutions, their inquiries, two supervisors."""
        city = self.org(OrgType.EDUCATION_AUTHORITY, "广州市教育局", "440100")
        county = self.org(OrgType.EDUCATION_AUTHORITY, "天河区教育局", "440106", city)
        school = self.org(OrgType.INSTITUTION, "天河一小", "440106", county, "primary_school")
        kindergarten = self.org(OrgType.INSTITUTION, "天河幼儿园", "440106", county, "kindergarten")
        city_school = self.org(OrgType.INSTITUTION, "越秀二中", "440104", city, "secondary_school")
        other_city = self.org(OrgType.EDUCATION_AUTHORITY, "深圳市教育局", "440300")
        other_school = self.org(
            OrgType.INSTITUTION, "福田小学", "440304", other_city, "primary_school"
        )
        procuratorate = self.org(OrgType.PROCURATORATE, "天河区人民检察院", "440106")

        def hr(org: Org) -> Account:
            return self.accounts.user(Role.INSTITUTION_HR, org=org, display_name="陈人事")

        school_hr = hr(school)
        self.inquiries(school, school_hr, [1, 2, 3, 5, 8, 20], hired=True)
        self.inquiries(school, school_hr, [None], pending="pending_approval")
        [found] = self.inquiries(school, school_hr, [0.5], answer="record_found")
        self.refused_hire(school_hr, found)
        kindergarten_hr = hr(kindergarten)
        self.inquiries(kindergarten, kindergarten_hr, [0.5, 1, 30])
        self.inquiries(kindergarten, kindergarten_hr, [None], pending="under_review")
        city_hr = hr(city_school)
        self.inquiries(city_school, city_hr, [4, 6], purpose="annual_recheck")
        self.inquiries(other_school, hr(other_school), [2])
        return Supervision(
            school=school,
            kindergarten=kindergarten,
            city_school=city_school,
            other_school=other_school,
            officer=self.accounts.user(Role.EDUCATION_OFFICER, org=city, display_name="刘科长"),
            prosecutor=self.accounts.user(
                Role.PROSECUTOR, org=procuratorate, display_name="周检察官"
            ),
            school_hr=school_hr,
            candidate_numbers=tuple(self.numbers),
        )


@pytest.fixture
def builder(live_server: LiveServer, accounts: Accounts) -> Builder:
    """Makes each test's organisations and inquiries in the live server's database."""
    return Builder(live_server, accounts)


def open_compliance(page: Page, lang: str) -> None:
    """From the start page, through the menu, to the compliance table."""
    page.get_by_test_id("nav-compliance").click()
    expect_path(page, "/compliance")
    expect(page.locator("h1")).to_have_text(tr(lang, "Compliance of the staff-access inquiry"))


def expect_no_candidate(page: Page, scene: Supervision) -> None:
    """Supervisors see counts and masked names: never a full name or an identity number."""
    text = page.locator("main").inner_text()
    assert "王小明" not in text
    for number in scene.candidate_numbers:
        assert number not in text


def table_rows(page: Page) -> list[str]:
    """The institutions of the compliance table, in its order."""
    return page.get_by_test_id("compliance").locator("tbody tr td:first-child a").all_inner_texts()


def expect_the_chart(page: Page, names: list[str]) -> None:
    """ECharts drew the turnaround and pending answers of these institutions, in this order."""
    chart = page.locator("[data-testid=compliance-chart][data-rendered=true]")
    expect(chart).to_be_visible()
    expect(chart.locator("canvas")).to_be_visible()
    box = chart.bounding_box()
    assert box is not None
    assert box["height"] >= 240
    option = page.evaluate(
        "() => echarts.getInstanceByDom(document.querySelector('[data-testid=compliance-chart]'))"
        ".getOption()"
    )
    assert option["yAxis"][0]["data"] == names
    assert option["yAxis"][1]["data"] == names
    median, p90, pending = (series["data"] for series in option["series"])
    # The school: answers after 0.5, 1, 2, 3, 5, 8 and 20 hours; one waiting.
    assert (median[0], p90[0], pending[0]) == (3.0, 12.8, 1)


@pytest.mark.parametrize("lang", LANGS)
def test_an_officer_compares_their_institutions_and_opens_one(
    tabs: Tabs, builder: Builder, lang: str
) -> None:
    scene = builder.supervision()
    officer = person_signed_in(tabs, scene.officer, lang)
    open_compliance(officer, lang)
    # The school first (a refused hire, an answer waiting ten days), the secondary school last
    # (its annual re-check done); another city's school nowhere.
    names = [scene.school.name, scene.kindergarten.name, scene.city_school.name]
    expect(officer.get_by_test_id("compliance").locator("tbody tr")).to_have_count(3)
    assert table_rows(officer) == names
    first = officer.locator(f"tr[data-institution='{scene.school.id}']")
    expect(first.locator("[data-flag=hires_refused]")).to_have_text(tr(lang, "Hires refused"))
    expect(first.locator("[data-flag=stale_pending]")).to_have_text(
        tr(lang, "Waiting over {days} days", days=7)
    )
    expect(first.locator("[data-measure=inquiries]")).to_have_text("8")
    expect(first.locator("[data-measure=hires_refused]")).to_have_text("1")
    expect(first.locator("[data-measure=turnaround]")).to_have_text("3.0 / 12.8")
    expect_the_chart(officer, names)
    expect_no_candidate(officer, scene)
    snap(officer, "1-officer", lang)

    first.get_by_role("link", name=scene.school.name).click()
    expect(officer.get_by_test_id("institution-name")).to_have_text(scene.school.name)
    lines = officer.get_by_test_id("institution-inquiries").locator("tbody tr")
    expect(lines).to_have_count(8)
    expect(lines.first).to_contain_text("王*明")
    refused = officer.get_by_test_id("refused-hires").locator("tbody tr")
    expect(refused).to_have_count(1)
    expect(refused.first).to_contain_text("王*明")
    expect(refused.first).to_contain_text(tr(lang, "Record found: do not hire"))
    # The audit trail is the prosecutors' to read, not the officers'.
    expect(officer.get_by_test_id("audit-link")).to_have_count(0)
    expect_no_candidate(officer, scene)
    snap(officer, "2-institution", lang)
    expect_clean_console(tabs)


@pytest.mark.parametrize("lang", LANGS)
def test_a_prosecutor_reads_their_territory_and_the_schools_audit_trail(
    tabs: Tabs, builder: Builder, lang: str
) -> None:
    scene = builder.supervision()
    prosecutor = person_signed_in(tabs, scene.prosecutor, lang)
    open_compliance(prosecutor, lang)
    expect(prosecutor.get_by_test_id("compliance-scope")).to_have_attribute(
        "data-scope", "territory"
    )
    shown = table_rows(prosecutor)
    # The county's institutions (another run's may share the county code), nothing beyond it.
    assert {scene.school.name, scene.kindergarten.name} <= set(shown)
    assert scene.city_school.name not in shown
    assert scene.other_school.name not in shown
    # Read-only: nothing to approve, refuse or change, and no form that posts.
    main = prosecutor.locator("main")
    expect(main.locator("form[method=post]")).to_have_count(0)
    expect(main.locator("button")).to_have_count(1)  # "Show" the period, a GET
    expect_no_candidate(prosecutor, scene)
    snap(prosecutor, "3-prosecutor", lang)

    prosecutor.get_by_role("link", name=scene.school.name).click()
    expect(prosecutor.get_by_test_id("institution-name")).to_have_text(scene.school.name)
    expect(main.locator("form[method=post]")).to_have_count(0)
    prosecutor.get_by_test_id("audit-link").click()
    expect(prosecutor.locator("h1")).to_have_text(tr(lang, "Audit trail"))
    rows = prosecutor.get_by_test_id("audit-events").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("web:inquiry:hiring_refused")
    expect(rows.first).to_contain_text(scene.school.name)
    expect(prosecutor.get_by_test_id("audit-organisation")).to_have_value(str(scene.school.id))
    snap(prosecutor, "4-trail", lang)

    # Another city's school is outside the territory: its trail is not found.
    response = prosecutor.goto(f"/audit/events?organisation={scene.other_school.id}")
    assert response is not None
    assert response.status == 404
    refused = [line for line in tabs.console if "status of 404" in line]
    assert len(refused) == 1, tabs.console
    tabs.console.remove(refused[0])
    expect_clean_console(tabs)
