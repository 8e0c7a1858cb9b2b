"""The staff-access inquiry in Chromium: a school asks, its authority approves, the answer shows.

A primary school's HR asks about a candidate with the candidate's consent (2020 Opinions art. 9);
the supervising education authority's officer approves it and the look-up runs (MoE notice 2023);
the school sees only whether a disqualifying record exists, never the record, and is offered no
hire after a record, only the notice for the candidate (Minors Law art. 62). A university asks
about a namesake of an offender: a registry reviewer compares both and clears it. An authority
refuses an inquiry; a form without consent is refused with the message at its field. Each runs
in Chinese and in English; each key page is saved as
tests/e2e/screenshots/inquiries-<step>-<lang>.png.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from shouhu.accounts import organisations
from shouhu.accounts.models import User
from shouhu.accounts.organisations import OrganisationCreate
from shouhu.accounts.roles import OrgType, Role
from shouhu.accounts.users import principal_for
from shouhu.core.database import transaction
from shouhu.identity.credit_code import (
    CHARSET,
    credit_code_check_character,
    organisation_code_check_character,
)
from shouhu.identity.prc_id import latest_possible_date
from shouhu.registry import lifecycle
from shouhu.registry.models import RegistryPerson
from shouhu.registry.policy import InquiryPurpose, policy
from shouhu.registry.schemas import RecordSubmission
from tests.e2e.conftest import (
    SCREENSHOTS,
    Account,
    Accounts,
    LiveServer,
    Org,
    Tabs,
    expect_path,
)
from tests.e2e.test_registry_review import (
    a_birth_date,
    expect_clean_console,
    person_signed_in,
    tr,
)
from tests.factories.registry import prc_number

INQUIRY_PAGE = re.compile(r"^https?://[^/]+/inquiries/([0-9a-f-]{36})$")
LANGS = ["zh_CN", "en"]
# What the registry holds about the offender; none of it may reach an institution's page.
OFFENCE_WORDS = ("猥亵", "Indecency", "indecency", "child_molestation", "刑初", "人民法院")


def snap(page: Page, step: str, lang: str) -> None:
    """Save a full-page screenshot as tests/e2e/screenshots/inquiries-<step>-<lang>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"inquiries-{step}-{lang}.png", full_page=True)


def purpose_name(lang: str) -> str:
    """The campus staff purpose as the form's list names it in this language."""
    rule = policy().purposes[InquiryPurpose.SCHOOL_STAFF]
    return rule.name_zh if lang == "zh_CN" else rule.name_en


def a_credit_code() -> str:
    """A valid unified social credit code (GB 32100) that no other test drew."""
    body = f"{uuid.uuid4().int % 10**8:08d}"
    organisation = body + organisation_code_check_character(body)
    first17 = f"91110101{organisation}"
    assert all(c in CHARSET for c in first17)
    return first17 + credit_code_check_character(first17)


@dataclass(frozen=True)
class Offender:
    """A man in the registry with an active conviction for indecency with a child."""

    name: str
    born: date
    id_number: str
    decision_number: str
    external_id: str


@dataclass(frozen=True)
class Scheme:
    """The organisations and people of one test: a school under its authority, a university,
    the public security bureau that keeps the registry, and an offender in it."""

    authority: Org
    school: Org
    university: Org
    school_hr: Account
    officer: Account
    university_hr: Account
    reviewer: Account
    offender: Offender


class World:
    """Makes institutions and registry data through the services, committed to the live database."""

    def __init__(self, server: LiveServer, accounts: Accounts) -> None:
        self.runtime = server.runtime
        self.accounts = accounts

    def institution(self, kind: str, authority: Org) -> Org:
        """An institution of this kind under the education authority."""
        name = f"端到端测试 {kind} {uuid.uuid4().hex[:8]}"
        with transaction(self.runtime.sessions) as session:
            org = organisations.create_organisation(
                session,
                actor=self.accounts.actor,
                data=OrganisationCreate(
                    name=name,
                    type=OrgType.INSTITUTION,
                    kind=kind,
                    region_code="110101",
                    parent_id=authority.id,
                    credit_code=a_credit_code(),
                ),
            )
            return Org(id=org.id, name=org.name)

    def offender(self, police: Org, reviewer: Account) -> Offender:
        """A court convicts a man; the bureau's reviewer approves: he is in the registry."""
        court = self.accounts.organisation(OrgType.COURT)
        clerk = self.accounts.user(Role.COURT_CLERK, org=court, display_name="张书记员")
        born = a_birth_date()
        number = prc_number("110105", born, 2 * (uuid.uuid4().int % 499) + 1)
        decision = f"(2025)京0105刑初{uuid.uuid4().int % 100_000}号"
        with transaction(self.runtime.sessions) as session:
            record = lifecycle.submit_record(
                session,
                actor=principal_for(session.get_one(User, clerk.id), "web"),
                data=RecordSubmission(
                    name="韩立军",
                    sex="M",
                    date_of_birth=born.isoformat(),
                    nationality="CHN",
                    id_type="prc_id",
                    id_number=number,
                    record_kind="conviction",
                    offence="child_molestation",
                    decision_authority="北京市朝阳区人民法院",
                    decision_number=decision,
                    decision_date="2025-06-30",
                    offence_date=date(2024, 9, 12),
                    sentence_months=36,
                    review_organisation_id=police.id,
                ),
            )
            lifecycle.approve_record(
                session,
                actor=principal_for(session.get_one(User, reviewer.id), "web"),
                record_id=record.id,
            )
            assert record.person_id is not None
            person = session.get_one(RegistryPerson, record.person_id)
            return Offender("韩立军", born, number, decision, person.external_id)

    def scheme(self) -> Scheme:
        """An authority with a primary school, a university, a bureau with an offender."""
        authority = self.accounts.organisation(OrgType.EDUCATION_AUTHORITY)
        school = self.institution("primary_school", authority)
        university = self.institution("university", authority)
        police = self.accounts.organisation(OrgType.PUBLIC_SECURITY)
        reviewer = self.accounts.user(Role.REGISTRY_REVIEWER, org=police, display_name="李审核")
        return Scheme(
            authority=authority,
            school=school,
            university=university,
            school_hr=self.accounts.user(Role.INSTITUTION_HR, org=school, display_name="陈人事"),
            officer=self.accounts.user(
                Role.EDUCATION_OFFICER, org=authority, display_name="刘科长"
            ),
            university_hr=self.accounts.user(
                Role.INSTITUTION_HR, org=university, display_name="孙人事"
            ),
            reviewer=reviewer,
            offender=self.offender(police, reviewer),
        )


@pytest.fixture
def world(live_server: LiveServer, accounts: Accounts) -> World:
    """Institutions and registry data in the live server's database."""
    return World(live_server, accounts)


@dataclass(frozen=True)
class Candidate:
    """What HR types into the inquiry form."""

    name: str
    id_number: str
    position: str = "体育教师"
    consent_reference: str = ""
    consent_signed_on: str = ""


def a_candidate(name: str, id_number: str) -> Candidate:
    """A candidate who signed the consent two days ago."""
    return Candidate(
        name=name,
        id_number=id_number,
        consent_reference=f"授权书-2026-{uuid.uuid4().int % 10_000}",
        consent_signed_on=(latest_possible_date() - timedelta(days=2)).isoformat(),
    )


def open_the_form(page: Page, lang: str) -> None:
    """From the start page, through Inquiries, to an empty inquiry form."""
    page.get_by_test_id("nav-inquiries").click()
    expect_path(page, "/inquiries")
    expect(page.locator("h1")).to_have_text(tr(lang, "Inquiries"))
    page.get_by_test_id("new-inquiry").click()
    expect_path(page, "/inquiries/new")
    expect(page.locator("h1")).to_have_text(tr(lang, "New inquiry"))
    # A hiring inquiry by default, on a resident identity card.
    expect(page.locator("#purpose")).to_have_value("school_staff")
    expect(page.locator("#id_type")).to_have_value("prc_id")


def fill_the_form(page: Page, lang: str, candidate: Candidate) -> None:
    """Type the candidate, the purpose, the position and the consent, as HR would."""
    page.locator("#purpose").select_option(label=purpose_name(lang))
    page.fill("#name", candidate.name)
    page.fill("#id_number", candidate.id_number)
    page.fill("#position", candidate.position)
    page.fill("#consent_reference", candidate.consent_reference)
    page.fill("#consent_signed_on", candidate.consent_signed_on)


def submit_the_inquiry(page: Page) -> str:
    """Press "Submit the inquiry"; the new inquiry's path."""
    page.get_by_test_id("submit-inquiry").click()
    expect(page).to_have_url(INQUIRY_PAGE)
    match = INQUIRY_PAGE.match(page.url)
    assert match is not None
    return f"/inquiries/{match.group(1)}"


def expect_inquiry_status(page: Page, lang: str, status: str, label: str) -> None:
    """The inquiry's status badge says this, in the reader's language."""
    badge = page.get_by_test_id("inquiry-status")
    expect(badge).to_have_attribute("data-status", status)
    expect(badge).to_have_text(tr(lang, label))


def expect_nothing_of_the_registry(
    page: Page, offender: Offender, typed: Candidate | None = None
) -> None:
    """An institution's page holds no registry content: no number, decision or offence.

    The offender's number counts only where HR did not type it themselves (`typed`).
    """
    text = page.locator("body").inner_text()
    secrets = {offender.id_number, offender.decision_number, offender.external_id, *OFFENCE_WORDS}
    for secret in secrets - ({typed.id_number} if typed else set()):
        assert secret not in text, secret
    expect(page.locator("a[href^='/registry/']")).to_have_count(0)


def take_the_refused_post(tabs: Tabs, status: int, path: str) -> None:
    """Chromium logs the one refused POST itself; take that line out, it is expected."""
    refused = [line for line in tabs.console if f"status of {status}" in line]
    assert len(refused) == 1, tabs.console
    assert refused[0].endswith(f"{path})")
    tabs.console.remove(refused[0])


def hr_asks(page: Page, lang: str, candidate: Candidate, *, shoot: bool = False) -> str:
    """HR opens the form, types the candidate and the consent, submits; the inquiry's path."""
    open_the_form(page, lang)
    fill_the_form(page, lang, candidate)
    if shoot:
        snap(page, "1-form", lang)
    return submit_the_inquiry(page)


def expect_waiting_for_the_authority(page: Page, lang: str, candidate: Candidate) -> None:
    """A primary school's inquiry waits for its education authority (MoE notice 2023)."""
    expect_inquiry_status(page, lang, "pending_approval", "Waiting for the authority's approval")
    expect(page.get_by_test_id("answer")).to_have_text(
        tr(lang, "Your education authority must approve this inquiry before it runs.")
    )
    for shown in (candidate.name, candidate.position, purpose_name(lang)):
        expect(page.locator("main table").first).to_contain_text(shown)


def officer_approves(page: Page, lang: str, scheme: Scheme, candidate: Candidate) -> None:
    """The officer finds the school's inquiry alone in the queue, and approves it."""
    page.get_by_test_id("nav-approvals").click()
    expect_path(page, "/approvals")
    expect(page.locator("h1")).to_have_text(tr(lang, "Inquiries to approve"))
    rows = page.get_by_test_id("approvals").locator("tbody tr")
    expect(rows).to_have_count(1)
    for shown in (scheme.school.name, candidate.name, purpose_name(lang), candidate.position):
        expect(rows.first).to_contain_text(shown)
    # The officer approves what the school asks; the registry is not theirs to read either.
    expect_nothing_of_the_registry(page, scheme.offender, candidate)
    snap(page, "3-approvals", lang)
    rows.first.get_by_test_id("approve").click()
    expect_path(page, "/approvals")
    expect(rows).to_have_text([tr(lang, "Nothing is waiting for approval.")])


def expect_the_answer(
    page: Page, lang: str, answer: str, label: str, *, offender: Offender, candidate: Candidate
) -> None:
    """The inquiry is answered with this answer, and the page holds nothing of the registry."""
    expect_inquiry_status(page, lang, "completed", "Answered")
    shown = page.get_by_test_id("answer")
    expect(shown).to_have_attribute("data-answer", answer)
    expect(shown).to_contain_text(tr(lang, label))
    expect_nothing_of_the_registry(page, offender, candidate)


def hr_may_not_hire_but_records_not_hired(
    page: Page, lang: str, inquiry: str, offender: Offender, candidate: Candidate
) -> None:
    """Minors Law art. 62: after a record there is no hire to record, only the notice for the
    candidate and "not hired" (the service's refusal of a hire is the API tests')."""
    expect(page.get_by_test_id("hired")).to_have_count(0)
    notice = page.get_by_test_id("notice-link")
    expect(notice).to_have_text(tr(lang, "Print the notice for the candidate"))
    expect(notice).to_have_attribute("href", f"{inquiry}/notice")
    expect_nothing_of_the_registry(page, offender, candidate)
    snap(page, "5-no-hire-but-the-notice", lang)
    page.get_by_test_id("not-hired").click()
    expect_path(page, inquiry)
    expect(page.get_by_test_id("inquiry-error")).to_have_count(0)
    expect(page.get_by_test_id("hiring")).to_have_text(tr(lang, "Not hired"))
    # Not hired after a record stays not hired: no button to change it.
    expect(page.get_by_test_id("hired")).to_have_count(0)
    expect(page.get_by_test_id("not-hired")).to_have_count(0)


@pytest.mark.parametrize("lang", LANGS)
def test_a_school_asks_its_authority_approves_and_after_a_record_there_is_no_hire(
    tabs: Tabs, world: World, lang: str
) -> None:
    scheme = world.scheme()
    offender = scheme.offender
    candidate = a_candidate(offender.name, offender.id_number)

    hr = person_signed_in(tabs, scheme.school_hr, lang)
    inquiry = hr_asks(hr, lang, candidate, shoot=True)
    expect_waiting_for_the_authority(hr, lang, candidate)
    snap(hr, "2-pending", lang)

    officer = person_signed_in(tabs, scheme.officer, lang)
    officer_approves(officer, lang, scheme, candidate)

    hr.reload()
    expect_path(hr, inquiry)
    expect_the_answer(
        hr,
        lang,
        "record_found",
        "Record found: do not hire",
        offender=offender,
        candidate=candidate,
    )
    snap(hr, "4-record-found", lang)
    hr_may_not_hire_but_records_not_hired(hr, lang, inquiry, offender, candidate)

    hr.get_by_test_id("nav-inquiries").click()
    listed = hr.get_by_test_id("inquiries").locator("tbody tr")
    expect(listed).to_have_count(1)
    expect(listed.first).to_have_attribute("data-status", "completed")
    for shown in ("Answered", "Record found: do not hire", "Not hired"):
        expect(listed.first).to_contain_text(tr(lang, shown))
    expect_nothing_of_the_registry(hr, offender, candidate)

    expect_clean_console(tabs)


def expect_under_review(page: Page, lang: str, offender: Offender) -> None:
    """The institution is told only that a reviewer is checking."""
    expect_inquiry_status(page, lang, "under_review", "Under review")
    answer = page.get_by_test_id("answer")
    expect(answer).to_have_attribute("data-answer", "")
    expect(answer).to_have_text(
        tr(
            lang,
            "A registry reviewer is checking whether the candidate is a person in the registry."
            " The answer will appear here.",
        )
    )
    expect_nothing_of_the_registry(page, offender)


def reviewer_opens_the_match(page: Page, lang: str, inquiry_id: str, namesake: Candidate) -> None:
    """The reviewer finds the inquiry among the possible matches and opens it."""
    page.get_by_test_id("nav-matches").click()
    expect_path(page, "/possible-matches")
    expect(page.locator("h1")).to_have_text(tr(lang, "Possible matches"))
    # Other tests' inquiries may wait here too: ours is the row linking to it.
    ours = f"a[href='/possible-matches/{inquiry_id}']"
    row = page.get_by_test_id("matches").locator("tbody tr").filter(has=page.locator(ours))
    expect(row).to_have_count(1)
    expect(row).to_contain_text(namesake.name)
    expect(row).to_contain_text(purpose_name(lang))
    snap(page, "7-matches", lang)
    row.locator(ours).click()
    expect_path(page, f"/possible-matches/{inquiry_id}")
    expect_inquiry_status(page, lang, "under_review", "Under review")


def expect_both_sides(page: Page, lang: str, namesake: Candidate, offender: Offender) -> None:
    """The candidate and the registry person side by side, with the engine's reasons."""
    candidate_side = page.get_by_test_id("candidate")
    person_side = page.get_by_test_id("registry-person")
    expect(candidate_side).to_contain_text(namesake.name)
    expect(candidate_side).to_contain_text(namesake.id_number)
    expect(person_side).to_contain_text(offender.name)
    expect(person_side).to_contain_text(offender.id_number)
    expect(person_side).to_contain_text(offender.external_id)
    # The reviewer compares birth date and sex on both sides: the candidate's are read from
    # the identity number when HR left them to the document, and sex is a word, not a code.
    for side in (candidate_side, person_side):
        expect(side).to_contain_text(f"{tr(lang, 'Date of birth')}: {offender.born.isoformat()}")
        expect(side).to_contain_text(f"{tr(lang, 'Sex')}: {tr(lang, 'Male')}")
    # Side by side, not one under the other.
    left, right = candidate_side.bounding_box(), person_side.bounding_box()
    assert left is not None
    assert right is not None
    assert left["x"] + left["width"] <= right["x"]
    assert abs(left["y"] - right["y"]) < 5
    # The engine's reasons: the fields that agreed and the document that did not, weighed.
    reasons = page.get_by_test_id("reasons")
    expect(reasons).to_contain_text("name=exact")
    expect(reasons).to_contain_text("date_of_birth=exact")
    expect(reasons).to_contain_text("document=different")


@pytest.mark.parametrize("lang", LANGS)
def test_a_namesake_is_under_review_until_a_registry_reviewer_clears_him(
    tabs: Tabs, world: World, lang: str
) -> None:
    scheme = world.scheme()
    offender = scheme.offender
    # Same name, birth date and sex; another man's number (another district).
    namesake = a_candidate(
        offender.name, prc_number("310101", offender.born, 2 * (uuid.uuid4().int % 499) + 1)
    )

    hr = person_signed_in(tabs, scheme.university_hr, lang)
    # A university queries directly: no approval, straight to the look-up and the reviewers.
    inquiry = hr_asks(hr, lang, namesake)
    inquiry_id = inquiry.rsplit("/", 1)[1]
    expect_under_review(hr, lang, offender)
    snap(hr, "6-under-review", lang)

    reviewer = person_signed_in(tabs, scheme.reviewer, lang)
    reviewer_opens_the_match(reviewer, lang, inquiry_id, namesake)
    expect_both_sides(reviewer, lang, namesake, offender)
    snap(reviewer, "8-match", lang)
    reviewer.get_by_test_id("clear").click()
    expect_path(reviewer, f"/possible-matches/{inquiry_id}")
    expect_inquiry_status(reviewer, lang, "completed", "Answered")
    expect(reviewer.get_by_test_id("clear")).to_have_count(0)
    expect(reviewer.get_by_test_id("confirm")).to_have_count(0)
    reviewer.get_by_test_id("nav-matches").click()
    expect(reviewer.locator(f"a[href='/possible-matches/{inquiry_id}']")).to_have_count(0)

    hr.reload()
    expect_the_answer(hr, lang, "no_record", "No record", offender=offender, candidate=namesake)
    snap(hr, "9-no-record", lang)
    # With no record, the hire goes through.
    hr.get_by_test_id("hired").click()
    expect_path(hr, inquiry)
    expect(hr.get_by_test_id("hiring")).to_have_text(tr(lang, "Hired"))

    expect_clean_console(tabs)


@pytest.mark.parametrize("lang", LANGS)
def test_an_authority_refuses_an_inquiry_with_a_reason(tabs: Tabs, world: World, lang: str) -> None:
    scheme = world.scheme()
    candidate = a_candidate(
        "周文华", prc_number("110101", a_birth_date(), 2 * (uuid.uuid4().int % 499) + 2)
    )
    reason = "该人员并非应聘人员，不得查询（教师函〔2023〕1号）。"

    hr = person_signed_in(tabs, scheme.school_hr, lang)
    open_the_form(hr, lang)
    fill_the_form(hr, lang, candidate)
    inquiry = submit_the_inquiry(hr)
    expect_inquiry_status(hr, lang, "pending_approval", "Waiting for the authority's approval")

    officer = person_signed_in(tabs, scheme.officer, lang)
    officer.get_by_test_id("nav-approvals").click()
    rows = officer.get_by_test_id("approvals").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(candidate.name)
    rows.first.get_by_label(tr(lang, "Reason for refusing")).fill(reason)
    snap(officer, "10-refusal-reason", lang)
    rows.first.get_by_test_id("refuse").click()
    expect_path(officer, "/approvals")
    expect(rows).to_have_text([tr(lang, "Nothing is waiting for approval.")])

    hr.reload()
    expect_path(hr, inquiry)
    expect_inquiry_status(hr, lang, "refused", "Refused by the authority")
    # Refused means not run: no answer, and nothing to record about hiring.
    expect(hr.locator("[data-testid=answer][data-answer=record_found]")).to_have_count(0)
    expect(hr.locator("[data-testid=answer][data-answer=no_record]")).to_have_count(0)
    expect(hr.get_by_test_id("hired")).to_have_count(0)
    expect(hr.get_by_test_id("not-hired")).to_have_count(0)
    snap(hr, "11-refused", lang)
    hr.get_by_test_id("nav-inquiries").click()
    listed = hr.get_by_test_id("inquiries").locator("tbody tr")
    expect(listed).to_have_count(1)
    expect(listed.first).to_have_attribute("data-status", "refused")
    expect(listed.first).to_contain_text(tr(lang, "Refused by the authority"))

    expect_clean_console(tabs)


@pytest.mark.parametrize("lang", LANGS)
def test_an_inquiry_without_consent_is_refused_at_its_field_and_nothing_is_saved(
    tabs: Tabs, world: World, lang: str
) -> None:
    scheme = world.scheme()
    candidate = a_candidate(
        "吴晓东", prc_number("110101", a_birth_date(), 2 * (uuid.uuid4().int % 499) + 1)
    )

    hr = person_signed_in(tabs, scheme.school_hr, lang)
    open_the_form(hr, lang)
    fill_the_form(hr, lang, candidate)
    # Left empty, the browser itself stops the form: nothing is sent.
    hr.fill("#consent_reference", "")
    posts: list[str] = []
    hr.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    hr.get_by_test_id("submit-inquiry").click()
    expect(hr.locator("#consent_reference:invalid")).to_have_count(1)
    expect_path(hr, "/inquiries/new")
    assert posts == []

    # Blank to the eye (spaces) passes the browser; the server refuses it (2020 Opinions art. 9).
    hr.fill("#consent_reference", "   ")
    with hr.expect_response(lambda r: r.request.method == "POST") as posted:
        hr.get_by_test_id("submit-inquiry").click()
    assert posted.value.status == 422
    field = hr.locator("#consent_reference")
    expect(field).to_have_attribute("aria-invalid", "true")
    error = hr.locator("#consent_reference + [data-testid=error-consent_reference]")
    expect(error).to_have_text(
        tr(lang, "Record the candidate's consent: its reference and the date it was signed.")
    )
    expect(field).to_have_accessible_description(error.inner_text())
    field_box, error_box = field.bounding_box(), error.bounding_box()
    assert field_box is not None
    assert error_box is not None
    assert 0 <= error_box["y"] - (field_box["y"] + field_box["height"]) < 40
    for other in ("name", "id_number", "purpose", "position", "consent_signed_on"):
        expect(hr.get_by_test_id(f"error-{other}")).to_have_count(0)
    # What was typed is kept, so only the consent needs entering.
    expect(hr.locator("#name")).to_have_value(candidate.name)
    expect(hr.locator("#id_number")).to_have_value(candidate.id_number)
    expect(hr.locator("#position")).to_have_value(candidate.position)
    expect(hr.locator("#consent_signed_on")).to_have_value(candidate.consent_signed_on)
    snap(hr, "12-no-consent", lang)

    hr.get_by_test_id("nav-inquiries").click()
    expect(hr.get_by_test_id("inquiries").locator("tbody tr")).to_have_text(
        [tr(lang, "No inquiries yet.")]
    )
    # Nothing reached the authority either.
    officer = person_signed_in(tabs, scheme.officer, lang)
    officer.get_by_test_id("nav-approvals").click()
    expect(officer.get_by_test_id("approvals").locator("tbody tr")).to_have_text(
        [tr(lang, "Nothing is waiting for approval.")]
    )

    take_the_refused_post(tabs, 422, "/inquiries")
    expect_clean_console(tabs)
