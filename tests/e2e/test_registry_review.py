"""The registry's four-eyes review in Chromium: a court sends a decision, public security decides.

A court clerk enters a conviction, a registry reviewer of the public security organisation the
clerk chose approves it or returns it with a reason, and the record goes live on a registry
person (2020 Opinions art. 4: public security builds the database from what courts send). Run in
Chinese and in English; each key page is saved as tests/e2e/screenshots/registry-<step>-<lang>.png.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, replace
from datetime import date, timedelta

import pytest
from playwright.sync_api import Locator, Page, expect

from shouhu.accounts.roles import OrgType, Role
from shouhu.core.i18n import catalog
from tests.e2e.conftest import (
    SCREENSHOTS,
    Account,
    Accounts,
    Org,
    Tabs,
    expect_path,
    sign_in,
)
from tests.factories.registry import prc_number

RECORD_PAGE = re.compile(r"^https?://[^/]+/registry/records/([0-9a-f-]{36})$")
PERSON_PAGE = re.compile(r"^https?://[^/]+/registry/persons/([0-9a-f-]{36})$")
# A 1x1 PNG: a scan the server accepts (its content starts with the PNG signature).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201e2d3f4c10000000049454e44ae426082"
)


def tr(lang: str, message: str, **params: object) -> str:
    """What the page shows for an English source string in this language (as `gettext`)."""
    text = catalog(lang).get(message, message)
    return text.format(**params) if params else text


def snap(page: Page, step: str, lang: str) -> None:
    """Save a full-page screenshot as tests/e2e/screenshots/registry-<step>-<lang>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"registry-{step}-{lang}.png", full_page=True)


def expect_clean_console(tabs: Tabs) -> None:
    """No page of the test broke the Content Security Policy, threw, or logged an error."""
    assert tabs.csp_violations() == []
    assert tabs.page_errors == []
    assert [line for line in tabs.console if line.startswith("error:")] == []


@dataclass(frozen=True)
class Decision:
    """What a clerk types into the submission form."""

    name: str
    id_number: str
    kind: str
    offence: str
    authority: str
    number: str
    decided: str
    offence_date: str = ""
    sentence_months: str = ""


def a_man(born: date, name: str = "赵志刚") -> tuple[str, str]:
    """A name and a valid PRC identity number of a man (odd sequence), new in this database."""
    sequence = 2 * (uuid.uuid4().int % 499) + 1
    return name, prc_number("110105", born, sequence)


def a_birth_date() -> date:
    """A birth date between 1960 and 1997: with the sequence, a number no other test drew."""
    return date(1960, 1, 1) + timedelta(days=uuid.uuid4().int % 13_500)


def a_conviction(born: date | None = None) -> Decision:
    """A court's conviction for indecency with a child, with a unique document number."""
    name, number = a_man(born or a_birth_date())
    serial = uuid.uuid4().int % 100_000
    return Decision(
        name=name,
        id_number=number,
        kind="conviction",
        offence="child_molestation",
        authority="北京市朝阳区人民法院",
        number=f"(2025)京0105刑初{serial}号",
        decided="2025-06-30",
        offence_date="2024-09-12",
        sentence_months="36",
    )


def person_signed_in(tabs: Tabs, account: Account, lang: str) -> Page:
    """A browser of someone who picks the language with the switch, then signs in."""
    page = tabs.open(locale="zh-CN")
    page.goto("/sign-in")
    switch = page.get_by_test_id("language-switch")
    switch.locator(f"button[value={lang}]").click()
    expect_path(page, "/sign-in")
    expect(page.locator("html")).to_have_attribute("lang", "en" if lang == "en" else "zh-CN")
    expect(switch.locator(f"button[value={lang}]")).to_have_attribute("aria-current", "true")
    sign_in(page, account)
    return page


def nav(page: Page, lang: str, label: str) -> Locator:
    """A link of the header's navigation, by the text the reader sees."""
    return page.locator("header nav").get_by_role("link", name=tr(lang, label), exact=True)


def open_new_submission(page: Page, lang: str) -> None:
    """From the start page, through Submissions, to an empty form."""
    nav(page, lang, "Submissions").click()
    expect_path(page, "/registry/submissions")
    page.get_by_test_id("new-submission").click()
    expect_path(page, "/registry/submissions/new")
    expect(page.locator("h1")).to_have_text(tr(lang, "Enter a decision"))


def fill_submission(
    page: Page, decision: Decision, reviewer_org: Org | None, *, scan: bool = False
) -> None:
    """Type the person and the decision into the submission form, as a clerk would."""
    page.fill("#name", decision.name)
    page.select_option("#id_type", "prc_id")
    page.fill("#id_number", decision.id_number)
    page.select_option("#record_kind", decision.kind)
    page.select_option("#offence", decision.offence)
    page.fill("#decision_authority", decision.authority)
    page.fill("#decision_number", decision.number)
    page.fill("#decision_date", decision.decided)
    if decision.offence_date:
        page.fill("#offence_date", decision.offence_date)
    if decision.sentence_months:
        page.fill("#sentence_months", decision.sentence_months)
    if reviewer_org is not None:
        # Other tests' public security organisations share this database: name ours.
        page.select_option("#review_organisation_id", str(reviewer_org.id))
    if scan:
        page.set_input_files(
            "#scan", {"name": "judgment.png", "mimeType": "image/png", "buffer": PNG}
        )


def send(page: Page, decision: Decision) -> str:
    """Press "Send for review"; return the new record's id from the page it lands on."""
    page.get_by_test_id("submission-form").get_by_test_id("send").click()
    expect(page).to_have_url(RECORD_PAGE)
    expect(page.get_by_test_id("decision-number")).to_have_text(decision.number)
    match = RECORD_PAGE.match(page.url)
    assert match is not None
    return match.group(1)


def expect_status(page: Page, lang: str, status: str, label: str) -> None:
    """The record's status badge says this, in the reader's language."""
    badge = page.get_by_test_id("record-status")
    expect(badge).to_have_attribute("data-status", status)
    expect(badge).to_have_text(tr(lang, label))


def queue_row(page: Page, decision_number: str) -> Locator:
    """The review queue's row of one submission."""
    return page.get_by_test_id("review-queue").locator("tbody tr").filter(has_text=decision_number)


def waited_pattern(lang: str) -> re.Pattern[str]:
    """How long a submission just sent has waited, as the queue words it ("0 min", "1 min")."""
    template = re.escape(tr(lang, "{minutes} min")).replace(r"\{minutes\}", r"[01]")
    return re.compile(rf"^{template}$")


def expect_male(table: Locator, lang: str) -> None:
    """The table's Sex row says "male" in words (read from an odd sequence), not the code "M"."""
    sex = table.locator("tr").filter(has_text=tr(lang, "Sex")).locator("td")
    expect(sex).to_have_text(tr(lang, "Male"))


def clerk_sends_a_conviction(page: Page, lang: str, decision: Decision, police: Org) -> str:
    """The court clerk enters the conviction with a scan and sends it; the record's id."""
    open_new_submission(page, lang)
    # A court enters convictions: the form starts on that kind.
    expect(page.locator("#record_kind")).to_have_value("conviction")
    fill_submission(page, decision, police, scan=True)
    snap(page, "1-form", lang)
    record_id = send(page, decision)
    expect_status(page, lang, "pending_review", "Waiting for review")
    expect(page.get_by_test_id("scan-link")).to_have_count(1)
    # Sent is sent: the clerk can no longer change it, nor decide it.
    expect(page.get_by_test_id("edit")).to_have_count(0)
    expect(page.get_by_test_id("approve")).to_have_count(0)
    return record_id


def reviewer_opens_it_from_the_queue(page: Page, lang: str, decision: Decision) -> None:
    """The reviewer finds the submission in the queue, waiting minutes, and opens it."""
    page.get_by_test_id("nav-review").click()
    expect_path(page, "/registry/review")
    expect(page.locator("h1")).to_have_text(tr(lang, "Review queue"))
    row = queue_row(page, decision.number)
    expect(row).to_have_count(1)
    expect(row.get_by_test_id("waited")).to_have_text(waited_pattern(lang))
    expect(row).to_contain_text(tr(lang, "Conviction"))
    expect(row).to_contain_text("猥亵儿童罪" if lang == "zh_CN" else "Indecency with a child")
    snap(page, "2-queue", lang)
    row.get_by_role("link", name=decision.number).click()


def reviewer_approves(page: Page, lang: str, decision: Decision, court: Org) -> None:
    """The reviewer reads the submission, sees a new registry person coming, and approves."""
    expect_status(page, lang, "pending_review", "Waiting for review")
    subject = page.get_by_test_id("subject")
    expect(subject).to_contain_text(decision.name)
    expect(subject).to_contain_text(decision.id_number)
    expect_male(subject, lang)
    expect(page.get_by_test_id("decision")).to_contain_text(court.name)
    expect(page.get_by_test_id("approval-effect")).to_have_text(
        tr(lang, "No registry person holds this document: approving creates one.")
    )
    snap(page, "3-under-review", lang)

    page.get_by_test_id("approve").click()
    expect(page).to_have_url(RECORD_PAGE)
    expect_status(page, lang, "active", "Active")
    expect(page.get_by_test_id("review")).to_have_count(0)
    snap(page, "4-approved", lang)


def reviewer_opens_the_person(page: Page, lang: str, decision: Decision) -> None:
    """From the approved record to its registry person, who now holds it, active."""
    page.get_by_test_id("person-link").click()
    expect(page).to_have_url(PERSON_PAGE)
    expect(page.locator("h1")).to_contain_text(decision.name)
    person = page.get_by_test_id("person")
    expect(person).to_contain_text(decision.id_number)
    expect_male(person, lang)
    records = page.get_by_test_id("person-records").locator("tbody tr")
    expect(records).to_have_count(1)
    expect(records.first).to_have_attribute("data-status", "active")
    expect(records.first).to_contain_text(decision.number)
    expect(records.first).to_contain_text(tr(lang, "Active"))
    snap(page, "5-person", lang)


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_a_court_clerk_submits_a_conviction_and_a_reviewer_approves_it(
    tabs: Tabs, accounts: Accounts, lang: str
) -> None:
    police = accounts.organisation(OrgType.PUBLIC_SECURITY)
    court = accounts.organisation(OrgType.COURT)
    clerk = accounts.user(Role.COURT_CLERK, org=court, display_name="张书记员")
    reviewer = accounts.user(Role.REGISTRY_REVIEWER, org=police, display_name="李审核")
    decision = a_conviction()

    clerk_page = person_signed_in(tabs, clerk, lang)
    record_id = clerk_sends_a_conviction(clerk_page, lang, decision, police)

    reviewer_page = person_signed_in(tabs, reviewer, lang)
    reviewer_opens_it_from_the_queue(reviewer_page, lang, decision)
    expect_path(reviewer_page, f"/registry/records/{record_id}")
    reviewer_approves(reviewer_page, lang, decision, court)
    expect_path(reviewer_page, f"/registry/records/{record_id}")
    history = reviewer_page.get_by_test_id("history").locator("tbody tr")
    expect(history).to_have_count(2)
    expect(history.last).to_contain_text(reviewer.username)
    reviewer_opens_the_person(reviewer_page, lang, decision)

    # The queue is empty again, and the court sees its submission went live.
    reviewer_page.get_by_test_id("nav-review").click()
    expect(queue_row(reviewer_page, decision.number)).to_have_count(0)
    clerk_page.reload()
    expect_status(clerk_page, lang, "active", "Active")
    # A court is not a registry reader: no way into the registry person.
    expect(clerk_page.get_by_test_id("person-link")).to_have_count(0)

    expect_clean_console(tabs)


def reviewer_returns(page: Page, lang: str, decision: Decision, reason: str) -> str:
    """The reviewer returns the submission from the queue with a reason; its page's path."""
    queue_row(page, decision.number).get_by_role("link").click()
    expect(page).to_have_url(RECORD_PAGE)
    path = "/" + page.url.split("//", 1)[1].split("/", 1)[1]
    page.get_by_label(tr(lang, "Reason for returning it to the submitter")).fill(reason)
    snap(page, "6-return-reason", lang)
    page.get_by_test_id("return").click()
    expect_path(page, path)
    expect_status(page, lang, "returned", "Returned")
    expect(page.get_by_test_id("approve")).to_have_count(0)
    return path


def clerk_reads_the_reason(
    page: Page, lang: str, decision: Decision, reason: str, reviewer: Account
) -> None:
    """The clerk finds the submission returned in the list and reads why on its page."""
    nav(page, lang, "Submissions").click()
    returned = (
        page.get_by_test_id("submissions").locator("tbody tr").filter(has_text=decision.number)
    )
    expect(returned).to_have_attribute("data-status", "returned")
    expect(returned).to_contain_text(tr(lang, "Returned"))
    returned.get_by_role("link", name=decision.number).click()
    expect_status(page, lang, "returned", "Returned")
    last = page.get_by_test_id("history").locator("tbody tr").last
    expect(last.get_by_test_id("reason")).to_have_text(reason)
    expect(last).to_contain_text(reviewer.username)
    snap(page, "7-returned", lang)


def clerk_changes_and_sends_again(
    page: Page, lang: str, sent: Decision, changed: Decision, police: Org
) -> None:
    """The clerk opens the returned submission's form, changes the number and sends it."""
    page.get_by_test_id("edit").click()
    expect(page.locator("h1")).to_have_text(tr(lang, "Change the submission"))
    # The form holds what was sent.
    expect(page.locator("#name")).to_have_value(sent.name)
    expect(page.locator("#id_number")).to_have_value(sent.id_number)
    expect(page.locator("#offence")).to_have_value(sent.offence)
    expect(page.locator("#review_organisation_id")).to_have_value(str(police.id))
    page.fill("#decision_number", changed.number)
    snap(page, "8-edit", lang)
    send(page, changed)
    expect_status(page, lang, "pending_review", "Waiting for review")


def test_a_returned_submission_shows_the_reason_and_comes_back_to_the_queue_once_changed(
    tabs: Tabs, accounts: Accounts
) -> None:
    lang = "zh_CN"
    police = accounts.organisation(OrgType.PUBLIC_SECURITY)
    court = accounts.organisation(OrgType.COURT)
    clerk = accounts.user(Role.COURT_CLERK, org=court, display_name="张书记员")
    reviewer = accounts.user(Role.REGISTRY_REVIEWER, org=police, display_name="李审核")
    first = a_conviction()
    second = a_conviction(born=date(1990, 1, 2))
    changed = replace(first, number=first.number.replace("刑初", "刑终"))
    reason = "判决书编号与扫描件不一致，请核对后重新提交。"

    clerk_page = person_signed_in(tabs, clerk, lang)
    for decision in (first, second):
        open_new_submission(clerk_page, lang)
        fill_submission(clerk_page, decision, police)
        send(clerk_page, decision)

    reviewer_page = person_signed_in(tabs, reviewer, lang)
    reviewer_page.get_by_test_id("nav-review").click()
    rows = reviewer_page.get_by_test_id("review-queue").locator("tbody tr")
    # The longest waiting first.
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(first.number)
    expect(rows.nth(1)).to_contain_text(second.number)
    record_path = reviewer_returns(reviewer_page, lang, first, reason)
    reviewer_page.get_by_test_id("nav-review").click()
    expect(rows).to_have_count(1)
    expect(queue_row(reviewer_page, first.number)).to_have_count(0)

    clerk_reads_the_reason(clerk_page, lang, first, reason, reviewer)
    expect_path(clerk_page, record_path)
    clerk_changes_and_sends_again(clerk_page, lang, first, changed, police)
    expect_path(clerk_page, record_path)
    # The return and its reason stay in the history, with the new sending after them.
    history = clerk_page.get_by_test_id("history")
    expect(history.get_by_test_id("reason").filter(has_text=reason)).to_have_count(1)
    expect(history.locator("tbody tr").last).to_contain_text(
        f"{tr(lang, 'Returned')} → {tr(lang, 'Waiting for review')}"
    )

    reviewer_page.reload()
    expect(rows).to_have_count(2)
    # Sent again just now: it waits behind the other one.
    expect(rows.nth(0)).to_contain_text(second.number)
    expect(rows.nth(1)).to_contain_text(changed.number)
    expect(queue_row(reviewer_page, first.number)).to_have_count(0)
    snap(reviewer_page, "9-queue-again", lang)
    # Returned and sent again by the clerk, it is the reviewer's to approve as any other.
    queue_row(reviewer_page, changed.number).get_by_role("link").click()
    expect_path(reviewer_page, record_path)
    reviewer_page.get_by_test_id("approve").click()
    expect_status(reviewer_page, lang, "active", "Active")

    expect_clean_console(tabs)


def test_a_reviewer_may_not_approve_what_they_submitted_but_a_colleague_may(
    tabs: Tabs, accounts: Accounts
) -> None:
    lang = "en"
    police = accounts.organisation(OrgType.PUBLIC_SECURITY)
    officer = accounts.user(
        Role.REGISTRY_CLERK,
        org=police,
        also=(Role.REGISTRY_REVIEWER,),
        display_name="周警官",
    )
    colleague = accounts.user(Role.REGISTRY_REVIEWER, org=police, display_name="吴复核")
    name, number = a_man(date(1976, 11, 30), name="钱卫东")
    penalty = Decision(
        name=name,
        id_number=number,
        kind="administrative_penalty",
        offence="indecency_administrative",
        authority="北京市公安局朝阳分局",
        number=f"京公朝行罚决字〔2025〕{uuid.uuid4().int % 100_000}号",
        decided="2025-03-14",
    )

    page = person_signed_in(tabs, officer, lang)
    open_new_submission(page, lang)
    # Public security enters its own administrative penalties and reviews them itself.
    expect(page.locator("#record_kind")).to_have_value("administrative_penalty")
    expect(page.locator("#review_organisation_id")).to_have_count(0)
    fill_submission(page, penalty, None)
    record_id = send(page, penalty)
    expect_status(page, lang, "pending_review", "Waiting for review")

    review = page.get_by_test_id("review")
    expect(review).to_be_visible()
    expect(review.get_by_test_id("approve")).to_have_count(0)
    expect(review).to_contain_text(
        tr(lang, "You submitted this record: another reviewer must approve it.")
    )
    snap(page, "10-own-submission", lang)
    # It is in the queue all the same: the note, not the list, keeps the four eyes.
    page.get_by_test_id("nav-review").click()
    expect(queue_row(page, penalty.number)).to_have_count(1)

    other = person_signed_in(tabs, colleague, lang)
    other.goto(f"/registry/records/{record_id}")
    expect(other.get_by_test_id("review")).not_to_contain_text("You submitted this record")
    other.get_by_test_id("approve").click()
    expect_status(other, lang, "active", "Active")
    expect(other.get_by_test_id("person-link")).to_be_visible()

    expect_clean_console(tabs)


def test_a_wrong_check_digit_is_shown_at_the_identity_number_and_nothing_is_saved(
    tabs: Tabs, accounts: Accounts
) -> None:
    lang = "en"
    police = accounts.organisation(OrgType.PUBLIC_SECURITY)
    court = accounts.organisation(OrgType.COURT)
    clerk = accounts.user(Role.COURT_CLERK, org=court, display_name="张书记员")
    decision = a_conviction()
    right = decision.id_number[-1]
    wrong = next(c for c in "0123456789X" if c != right)
    typo = replace(decision, id_number=decision.id_number[:-1] + wrong)

    page = person_signed_in(tabs, clerk, lang)
    open_new_submission(page, lang)
    fill_submission(page, typo, police)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_test_id("submission-form").get_by_test_id("send").click()
    assert posted.value.status == 422

    expect(page.get_by_test_id("form-errors")).to_be_visible()
    number = page.locator("#id_number")
    expect(number).to_have_attribute("aria-invalid", "true")
    # The message sits right under the field it is about, and names the right check character.
    error = page.locator("#id_number + [data-testid=error-id_number]")
    expect(error).to_be_visible()
    expect(error).to_contain_text(right)
    # ... and is the field's accessible description, so a screen reader says it too.
    expect(number).to_have_accessible_description(error.inner_text())
    number_box, error_box = number.bounding_box(), error.bounding_box()
    assert number_box is not None
    assert error_box is not None
    assert 0 <= error_box["y"] - (number_box["y"] + number_box["height"]) < 40
    for other_field in ("name", "decision_number", "decision_date", "offence"):
        expect(page.get_by_test_id(f"error-{other_field}")).to_have_count(0)
    # What was typed is kept, so only the mistake needs retyping.
    expect(number).to_have_value(typo.id_number)
    expect(page.locator("#name")).to_have_value(typo.name)
    expect(page.locator("#decision_number")).to_have_value(typo.number)
    expect(page.locator("#offence")).to_have_value(typo.offence)
    snap(page, "11-form-error", lang)

    nav(page, lang, "Submissions").click()
    expect(page.get_by_test_id("submissions").locator("tbody tr")).to_have_text(
        [tr(lang, "Nothing entered yet.")]
    )

    # With the number put right, the same form goes through.
    open_new_submission(page, lang)
    fill_submission(page, decision, police)
    send(page, decision)
    expect_status(page, lang, "pending_review", "Waiting for review")

    # Chromium logs the refused POST's own 422; nothing else may appear in the console.
    refused = [line for line in tabs.console if "status of 422" in line]
    assert len(refused) == 1
    assert refused[0].endswith("/registry/submissions)")
    tabs.console.remove(refused[0])
    expect_clean_console(tabs)
