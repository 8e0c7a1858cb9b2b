"""A re-check (复查) in Chromium: record found, the notice printed, the officer enters the request,
a reviewer overturns, the institution sees no record with a new certificate and may hire.

MoE notice 2023: a refused applicant is told the reason in writing (the notice: the rule, never
the record) and may ask for a re-check; the supervising education authority enters it; a
registry reviewer re-examines match and record. Each runs in Chinese and in English; each key
page is saved as tests/e2e/screenshots/rechecks-<step>-<lang>.png.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import SCREENSHOTS, Accounts, LiveServer, Tabs, expect_path
from tests.e2e.test_inquiries import (
    LANGS,
    World,
    a_candidate,
    expect_nothing_of_the_registry,
    expect_the_answer,
    hr_asks,
    purpose_name,
)
from tests.e2e.test_registry_review import expect_clean_console, person_signed_in, tr

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
CODE = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")


@pytest.fixture
def world(live_server: LiveServer, accounts: Accounts) -> World:
    """Institutions and registry data in the live server's database."""
    return World(live_server, accounts)


def snap(page: Page, step: str, lang: str) -> None:
    """Save a full-page screenshot as tests/e2e/screenshots/rechecks-<step>-<lang>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"rechecks-{step}-{lang}.png", full_page=True)


def the_notice_prints(page: Page, lang: str, inquiry: str, code: str, authority: str) -> None:
    """From the inquiry, the notice: the rule and the way to a re-check, and on paper no menu."""
    page.get_by_test_id("notice-link").click()
    expect_path(page, f"{inquiry}/notice")
    notice = page.get_by_test_id("notice")
    expect(notice.locator("h1")).to_have_text(tr(lang, "Notice of the inquiry's answer"))
    expect(page.get_by_test_id("notice-code")).to_have_text(code)
    expect(page.get_by_test_id("notice-candidate")).to_have_text(re.compile(r"^\S\*+\S$"))
    rule = page.get_by_test_id("notice-rule")
    expect(rule).to_contain_text(
        tr(
            lang,
            "A school or kindergarten may not hire a person who has a record of a sexual"
            " offence as a member of its staff.",
        )
    )
    expect(page.get_by_test_id("notice-recheck")).to_contain_text(authority)
    expect(page.get_by_test_id("print")).to_be_visible()
    # As printed: the notice alone, without the site's header, buttons or footer.
    page.emulate_media(media="print")
    expect(page.locator("body > header")).to_be_hidden()
    expect(page.get_by_test_id("print")).to_be_hidden()
    expect(notice).to_be_visible()
    snap(page, "2-notice-printed", lang)
    page.emulate_media(media="screen")
    expect(page.locator("body > header")).to_be_visible()


def officer_enters_the_request(page: Page, lang: str, inquiry_id: str, name: str) -> None:
    """The authority's officer finds the answer among its institutions' and enters the request."""
    page.get_by_test_id("nav-recheck-requests").click()
    expect_path(page, "/recheck-requests")
    expect(page.locator("h1")).to_have_text(tr(lang, "Re-check requests"))
    row = page.locator(f"tr[data-inquiry='{inquiry_id}']")
    expect(row).to_contain_text(name)
    expect(row).to_contain_text(purpose_name(lang))
    row.get_by_test_id("enter-recheck").click()
    expect_path(page, f"/recheck-requests/{inquiry_id}/new")
    expect(page.locator("h1")).to_have_text(tr(lang, "Enter a re-check request"))
    page.fill("#grounds", "本人从未受过任何处罚。\n身份证曾于2019年遗失，疑被冒用。")
    page.set_input_files(
        "#document", files=[{"name": "挂失证明.png", "mimeType": "image/png", "buffer": PNG}]
    )
    snap(page, "3-request", lang)
    page.get_by_test_id("submit-recheck").click()
    expect_path(page, "/recheck-requests")
    status = row.get_by_test_id("recheck-status")
    expect(status).to_have_attribute("data-status", "pending")
    expect(status).to_have_text(tr(lang, "Re-check pending"))
    expect(row.get_by_test_id("enter-recheck")).to_have_count(0)  # one open at a time


def reviewer_overturns(page: Page, lang: str, inquiry_name: str) -> None:
    """A registry reviewer opens the oldest request, compares both sides, and overturns."""
    page.get_by_test_id("nav-rechecks").click()
    expect_path(page, "/rechecks")
    expect(page.locator("h1")).to_have_text(tr(lang, "Re-checks"))
    row = page.get_by_test_id("rechecks").locator("tbody tr").filter(has_text=inquiry_name)
    expect(row).to_have_count(1)
    row.locator("a").click()
    expect(page).to_have_url(re.compile(r"/rechecks/[0-9a-f-]{36}$"))
    expect(page.get_by_test_id("grounds")).to_contain_text("身份证曾于2019年遗失")
    expect(page.get_by_test_id("document")).to_contain_text("image/png")
    left = page.get_by_test_id("candidate").bounding_box()
    right = page.get_by_test_id("registry-person").bounding_box()
    assert left is not None
    assert right is not None
    assert left["x"] + left["width"] <= right["x"]  # side by side
    page.get_by_test_id("outcome-overturned").check()
    page.locator("#ground").select_option("not_the_same_person")
    page.fill("#note", "户籍地与出生地均不符，系冒用身份证登记的另一人。")
    snap(page, "5-decision", lang)
    page.get_by_test_id("decide").click()
    decision = page.get_by_test_id("decision")
    expect(decision).to_have_attribute("data-status", "overturned")
    expect(decision).to_contain_text(tr(lang, "Not the same person"))
    expect(page.get_by_test_id("decision-form")).to_have_count(0)


@pytest.mark.parametrize("lang", LANGS)
def test_a_refused_candidate_asks_for_a_recheck_and_the_answer_is_overturned(
    tabs: Tabs, world: World, lang: str
) -> None:
    scheme = world.scheme()
    offender = scheme.offender
    candidate = a_candidate(offender.name, offender.id_number)

    hr = person_signed_in(tabs, scheme.university_hr, lang)
    inquiry = hr_asks(hr, lang, candidate)
    inquiry_id = inquiry.rsplit("/", 1)[1]
    expect_the_answer(
        hr,
        lang,
        "record_found",
        "Record found: do not hire",
        offender=offender,
        candidate=candidate,
    )
    old_code = hr.get_by_test_id("certificate-code").inner_text()
    assert CODE.match(old_code)
    expect(hr.get_by_test_id("hired")).to_have_count(0)
    snap(hr, "1-record-found", lang)
    the_notice_prints(hr, lang, inquiry, old_code, scheme.authority.name)
    expect_nothing_of_the_registry(hr, offender, candidate)

    officer = person_signed_in(tabs, scheme.officer, lang)
    officer_enters_the_request(officer, lang, inquiry_id, candidate.name)

    hr.goto(inquiry)
    pending = hr.get_by_test_id("recheck")
    expect(pending).to_have_attribute("data-status", "pending")
    expect(pending).to_contain_text(tr(lang, "Re-check pending"))
    expect(hr.locator("body")).not_to_contain_text("身份证曾于2019年遗失")
    expect(hr.get_by_test_id("hired")).to_have_count(0)
    snap(hr, "4-pending", lang)

    reviewer = person_signed_in(tabs, scheme.reviewer, lang)
    reviewer_overturns(reviewer, lang, candidate.name)

    hr.reload()
    expect_the_answer(hr, lang, "no_record", "No record", offender=offender, candidate=candidate)
    overturned = hr.get_by_test_id("recheck")
    expect(overturned).to_have_attribute("data-status", "overturned")
    expect(overturned).to_contain_text(tr(lang, "Re-check: answer overturned"))
    expect(hr.locator("body")).not_to_contain_text("冒用身份证")  # the registry's note stays there
    new_code = hr.get_by_test_id("certificate-code").inner_text()
    assert CODE.match(new_code)
    assert new_code != old_code
    snap(hr, "6-no-record", lang)
    # The old certificate, checked by anyone: genuine, but no longer current.
    checker = tabs.open()
    checker.goto(f"/verify/{old_code}")
    expect(checker.get_by_test_id("verdict")).to_have_attribute("data-verdict", "superseded")
    checker.goto(f"/verify/{new_code}")
    expect(checker.get_by_test_id("verdict")).to_have_attribute("data-verdict", "current")
    # With no record now, the institution may hire.
    hr.get_by_test_id("hired").click()
    expect_path(hr, inquiry)
    expect(hr.get_by_test_id("hiring")).to_have_text(tr(lang, "Hired"))
    snap(hr, "7-hired", lang)
    assert uuid.UUID(inquiry_id)

    expect_clean_console(tabs)
