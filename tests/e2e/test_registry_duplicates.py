"""Registry persons entered twice, corrections, sealed and revoked records, in Chromium.

A registry reviewer merges two registrations of one man that the duplicate sweep paired, then
undoes the merge; a court corrects an approved conviction; a juvenile conviction is sealed on
approval (Criminal Procedure Law art. 286) and a registry clerk sees only that it exists; a
reviewer revokes a quashed conviction. The data are made through the registry's services and
committed to the live server's database, as the accounts are; each key page is saved as
tests/e2e/screenshots/duplicates-<step>-<lang>.png.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from shouhu.accounts.models import User
from shouhu.accounts.roles import OrgType, Role
from shouhu.accounts.users import principal_for
from shouhu.core.database import transaction
from shouhu.core.principal import Principal
from shouhu.core.runtime import Runtime
from shouhu.registry import lifecycle
from shouhu.registry.duplicates import sweep_persons
from shouhu.registry.models import RegistryDuplicatePair, RegistryPerson, RegistryRecord
from shouhu.registry.policy import InquiryPurpose
from shouhu.registry.schemas import RecordSubmission
from shouhu.screening.service import Matcher
from tests.e2e.conftest import SCREENSHOTS, Account, Accounts, LiveServer, Org, Tabs, expect_path
from tests.e2e.test_registry_review import (
    expect_clean_console,
    expect_status,
    nav,
    person_signed_in,
    queue_row,
    tr,
)
from tests.factories.registry import prc_number

RECORD_PAGE = re.compile(r"^https?://[^/]+/registry/records/([0-9a-f-]{36})$")
MERGE_PAGE = re.compile(r"^https?://[^/]+/registry/merges/([0-9a-f-]{36})$")
LANGS = ["zh_CN", "en"]


def snap(page: Page, step: str, lang: str) -> None:
    """Save a full-page screenshot as tests/e2e/screenshots/duplicates-<step>-<lang>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"duplicates-{step}-{lang}.png", full_page=True)


def serial() -> int:
    """A number for decision documents, different in each test."""
    return uuid.uuid4().int % 100_000


@dataclass(frozen=True)
class Subject:
    """A person as a court names them."""

    name: str
    sex: str
    born: date
    id_number: str


def a_subject(name: str, born: date, region: str = "110101", sex: str = "M") -> Subject:
    """A person with a valid PRC number of this region, new in this database."""
    # Odd sequences are men's, even ones women's (GB 11643).
    sequence = 2 * (uuid.uuid4().int % 499) + (1 if sex == "M" else 2)
    return Subject(name, sex, born, prc_number(region, born, sequence))


def a_conviction(
    subject: Subject,
    police: Org,
    *,
    number: str | None = None,
    authority: str = "北京市东城区人民法院",
    decided: str = "2025-06-30",
    offence_date: date | None = date(2024, 9, 12),
    sentence_months: int | None = 36,
) -> RecordSubmission:
    """A court's conviction for indecency with a child, reviewed by `police`."""
    return RecordSubmission(
        name=subject.name,
        sex=subject.sex,
        date_of_birth=subject.born.isoformat(),
        nationality="CHN",
        id_type="prc_id",
        id_number=subject.id_number,
        record_kind="conviction",
        offence="child_molestation",
        decision_authority=authority,
        decision_number=number or f"(2025)京0101刑初{serial()}号",
        decision_date=decided,
        offence_date=offence_date,
        sentence_months=sentence_months,
        review_organisation_id=police.id,
    )


@dataclass(frozen=True)
class Entered:
    """A record made through the services, and its registry person once approved."""

    record_id: uuid.UUID
    decision_number: str
    person_id: uuid.UUID | None
    external_id: str | None


class Registry:
    """Enters, approves and sweeps registry data through the services, with real commits."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @staticmethod
    def principal(session: Session, account: Account) -> Principal:
        """The account acting through the web pages."""
        return principal_for(session.get_one(User, account.id), "web")

    def enter(
        self, clerk: Account, data: RecordSubmission, reviewer: Account | None = None
    ) -> Entered:
        """The clerk sends the decision; the reviewer, if given, approves it."""
        with transaction(self.runtime.sessions) as session:
            record = lifecycle.submit_record(
                session, actor=self.principal(session, clerk), data=data
            )
            if reviewer is not None:
                lifecycle.approve_record(
                    session, actor=self.principal(session, reviewer), record_id=record.id
                )
            person = session.get(RegistryPerson, record.person_id) if record.person_id else None
            return Entered(
                record.id,
                data.decision_number,
                record.person_id,
                person.external_id if person else None,
            )

    def sweep(self, reviewer: Account, persons: list[uuid.UUID]) -> uuid.UUID:
        """The duplicate sweep over these persons (`shouhu registry duplicates`); the pair's id."""
        matcher = Matcher.from_settings(self.runtime.settings, purpose=InquiryPurpose.CLOSE_CONTACT)
        with transaction(self.runtime.sessions) as session:
            pairs = sweep_persons(
                session,
                persons,
                actor=self.principal(session, reviewer),
                model=matcher.model,
                thresholds=matcher.thresholds,
            )
            # The engine pairs the two with each other, and with no one else of this database.
            assert [{p.first_person_id, p.second_person_id} for p in pairs] == [set(persons)]
            low, high = sorted(persons)
            pair_id = session.scalar(
                select(RegistryDuplicatePair.id).where(
                    RegistryDuplicatePair.first_person_id == low,
                    RegistryDuplicatePair.second_person_id == high,
                )
            )
            assert pair_id is not None
            return pair_id

    def person_of(self, record_id: uuid.UUID) -> uuid.UUID:
        """The registry person holding a record now."""
        with transaction(self.runtime.sessions) as session:
            person_id = session.get_one(RegistryRecord, record_id).person_id
            assert person_id is not None
            return person_id


@pytest.fixture
def registry(live_server: LiveServer) -> Registry:
    """Registry data in the live server's database (its keyring is in place: `_live_keyring`)."""
    return Registry(live_server.runtime)


@dataclass(frozen=True)
class Bureau:
    """A court and the public security bureau that reviews what it sends, with their staff."""

    police: Org
    court: Org
    court_clerk: Account
    reviewer: Account


def a_bureau(accounts: Accounts) -> Bureau:
    """A court, its reviewing bureau, a court clerk and a registry reviewer."""
    police = accounts.organisation(OrgType.PUBLIC_SECURITY)
    court = accounts.organisation(OrgType.COURT)
    return Bureau(
        police=police,
        court=court,
        court_clerk=accounts.user(Role.COURT_CLERK, org=court, display_name="张书记员"),
        reviewer=accounts.user(Role.REGISTRY_REVIEWER, org=police, display_name="李审核"),
    )


def history_rows(page: Page) -> Locator:
    """The rows of a record's history, oldest first."""
    return page.get_by_test_id("history").locator("tbody tr")


def person_row(table: Locator, th: str) -> Locator:
    """The value cell of a person table's row with this heading."""
    heading = table.page.get_by_role("rowheader", name=th, exact=True)
    return table.locator("tr").filter(has=heading).locator("td")


def open_person(page: Page, lang: str, registration: Registration) -> Locator:
    """A registry person's page, just opened; its table of names and documents."""
    expect_path(page, f"/registry/persons/{registration.person_id}")
    expect(page.locator("h1 small")).to_have_text(registration.external_id)
    expect(page).to_have_title(f"{tr(lang, 'Registry person')} · {tr(lang, 'Shouhu')}")
    return page.get_by_test_id("person")


# --- 1. merge and undo ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Registration:
    """One registration of the man entered twice: his document, decision and registry person."""

    subject: Subject
    decision_number: str
    record_id: uuid.UUID
    person_id: uuid.UUID
    external_id: str


def registered_twice(registry: Registry, bureau: Bureau) -> tuple[Registration, Registration]:
    """One man under two counties' numbers (a registration never cancelled), a conviction each."""
    # A birth date of this test only, so the sweep pairs no one else of the shared database.
    born = date(1960, 1, 1) + timedelta(days=uuid.uuid4().int % 12_000)
    registrations = []
    for region, number, authority, decided in (
        ("110101", f"(2020)京0101刑初{serial()}号", "北京市东城区人民法院", "2020-11-05"),
        ("310101", f"(2021)沪0101刑初{serial()}号", "上海市黄浦区人民法院", "2021-01-05"),
    ):
        subject = a_subject("黄志明", born, region)
        entered = registry.enter(
            bureau.court_clerk,
            a_conviction(
                subject,
                bureau.police,
                number=number,
                authority=authority,
                decided=decided,
                offence_date=date(2020, 7, 1),
            ),
            bureau.reviewer,
        )
        assert entered.person_id is not None
        assert entered.external_id is not None
        registrations.append(
            Registration(subject, number, entered.record_id, entered.person_id, entered.external_id)
        )
    return registrations[0], registrations[1]


def reviewer_opens_the_pair(
    page: Page, lang: str, kept: Registration, merged: Registration, pair_id: uuid.UUID
) -> None:
    """From the list of open pairs to the pair: both side by side, with the engine's reasons."""
    page.goto("/registry/duplicates")
    expect(page.locator("h1")).to_have_text(tr(lang, "Possible duplicates"))
    row = page.get_by_test_id("pairs").locator("tbody tr").filter(has_text=kept.external_id)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(merged.external_id)
    expect(row).to_contain_text(tr(lang, "Possibly the same person"))
    snap(page, "1-list", lang)

    row.get_by_role("link").click()
    expect_path(page, f"/registry/duplicates/{pair_id}")
    expect(page.locator("h1")).to_have_text(tr(lang, "Possible duplicate"))
    # Same name and birth date, different documents: the engine says which weighed what.
    reasons = page.get_by_test_id("reasons")
    expect(reasons).to_contain_text("name=exact")
    expect(reasons).to_contain_text("date_of_birth=exact")
    expect(reasons).to_contain_text("document=different")
    sides = page.locator("article[data-testid^='person-']")
    expect(sides).to_have_count(2)
    for registration in (kept, merged):
        side = sides.filter(has_text=registration.external_id)
        expect(side).to_have_count(1)
        expect(side).to_contain_text(registration.subject.name)
        expect(side).to_contain_text(registration.subject.id_number)
        expect(side).to_contain_text(registration.subject.born.isoformat())
        expect(side).to_contain_text(f"{tr(lang, 'Sex')}: {tr(lang, 'Male')}")
        expect(side).to_contain_text(tr(lang, "Active"))
    snap(page, "2-pair", lang)


def reviewer_merges(
    page: Page, lang: str, kept: Registration, reason: str, reviewer: Account
) -> str:
    """Keep one registration, give the reason, merge; the merge page's path."""
    page.get_by_test_id("decide").get_by_label(kept.external_id).check()
    page.get_by_label(tr(lang, "Why they are one person")).fill(reason)
    page.get_by_test_id("merge").click()
    expect(page).to_have_url(MERGE_PAGE)
    state = page.get_by_test_id("merge-state")
    expect(state).to_have_attribute("data-state", "in_force")
    expect(state).to_have_text(tr(lang, "In force"))
    main = page.locator("main")
    expect(main).to_contain_text(reason)
    moved = tr(lang, "names: {names}, documents: {documents}, records: {records}")
    expect(main).to_contain_text(moved.format(names=1, documents=1, records=1))
    expect(main).to_contain_text(reviewer.username)
    snap(page, "3-merge", lang)
    return "/" + page.url.split("//", 1)[1].split("/", 1)[1]


def kept_person_holds_both(page: Page, lang: str, kept: Registration, merged: Registration) -> None:
    """The kept person's page: both documents, both records, and the merge."""
    person = open_person(page, lang, kept)
    documents = person_row(person, tr(lang, "Identity documents"))
    expect(documents).to_contain_text(kept.subject.id_number)
    expect(documents).to_contain_text(merged.subject.id_number)
    # Both registrations had the one name: it is shown once, as the primary name.
    names = person_row(person, tr(lang, "Names"))
    expect(names).to_have_text(kept.subject.name)
    records = page.get_by_test_id("person-records").locator("tbody tr")
    expect(records).to_have_count(2)
    for registration in (kept, merged):
        row = records.filter(has_text=registration.decision_number)
        expect(row).to_have_attribute("data-status", "active")
    expect(page.get_by_test_id("person-merges")).to_contain_text(
        tr(lang, "another registration was merged into this person")
    )
    expect(page.get_by_test_id("merged-into")).to_have_count(0)
    snap(page, "4-kept-person", lang)


def merged_person_points_to_the_kept_one(
    page: Page, lang: str, kept: Registration, merged: Registration
) -> None:
    """The merged registration's page says where everything went, and holds nothing."""
    gone = open_person(page, lang, merged)
    notice = page.get_by_test_id("merged-into")
    expect(notice).to_contain_text(kept.external_id)
    expect(gone).not_to_contain_text(merged.subject.id_number)
    expect(page.get_by_test_id("person-records").locator("tbody tr")).to_have_text(
        [tr(lang, "No decided records.")]
    )
    snap(page, "5-merged-person", lang)
    notice.get_by_role("link").click()
    expect_path(page, f"/registry/persons/{kept.person_id}")


def reviewer_undoes_the_merge(
    page: Page, lang: str, kept: Registration, reason: str, reviewer: Account
) -> None:
    """From the list of merges, undo this one with the reason."""
    page.goto("/registry/duplicates")
    pairs = page.get_by_test_id("pairs").locator("tbody tr")
    expect(pairs.filter(has_text=kept.external_id)).to_have_count(0)  # decided: not open
    listed = page.get_by_test_id("merges").locator("tbody tr").filter(has_text=kept.external_id)
    expect(listed).to_contain_text(tr(lang, "In force"))
    listed.get_by_role("link").click()
    expect(page).to_have_url(MERGE_PAGE)
    page.get_by_label(tr(lang, "Why the merge was wrong")).fill(reason)
    page.get_by_test_id("undo").click()
    state = page.get_by_test_id("merge-state")
    expect(state).to_have_attribute("data-state", "undone")
    expect(state).to_have_text(tr(lang, "Undone"))
    undone_by = page.locator("tr").filter(has_text=tr(lang, "Undone by"))
    expect(undone_by).to_contain_text(reviewer.username)
    why = page.locator("tr").filter(has_text=tr(lang, "Why it was undone"))
    expect(why).to_contain_text(reason)
    expect(page.get_by_test_id("undo")).to_have_count(0)
    snap(page, "6-undone", lang)


def each_holds_their_own(page: Page, lang: str, mine: Registration, theirs: Registration) -> None:
    """A person's page after the undo: their own document and record, nothing of the other."""
    person = open_person(page, lang, mine)
    documents = person_row(person, tr(lang, "Identity documents"))
    expect(documents).to_contain_text(mine.subject.id_number)
    expect(documents).not_to_contain_text(theirs.subject.id_number)
    records = page.get_by_test_id("person-records").locator("tbody tr")
    expect(records).to_have_count(1)
    expect(records).to_contain_text(mine.decision_number)
    expect(page.get_by_test_id("merged-into")).to_have_count(0)
    expect(page.get_by_test_id("person-merges")).to_contain_text(f"({tr(lang, 'Undone')})")


@pytest.mark.parametrize("lang", LANGS)
def test_a_reviewer_merges_a_person_entered_twice_and_undoes_the_merge(
    tabs: Tabs, accounts: Accounts, registry: Registry, lang: str
) -> None:
    bureau = a_bureau(accounts)
    kept, merged = registered_twice(registry, bureau)
    pair_id = registry.sweep(bureau.reviewer, [kept.person_id, merged.person_id])

    page = person_signed_in(tabs, bureau.reviewer, lang)
    reviewer_opens_the_pair(page, lang, kept, merged, pair_id)
    reason = "同一人：姓名、出生日期一致，上海户籍号为迁出前旧号。"
    merge_path = reviewer_merges(page, lang, kept, reason, bureau.reviewer)
    page.get_by_role("link", name=kept.external_id).click()
    kept_person_holds_both(page, lang, kept, merged)
    page.goto(merge_path)
    page.get_by_role("link", name=merged.external_id).click()
    merged_person_points_to_the_kept_one(page, lang, kept, merged)

    reviewer_undoes_the_merge(page, lang, kept, "经户籍核查为两人：同名同日出生。", bureau.reviewer)
    expect_path(page, merge_path)
    for mine, theirs in ((kept, merged), (merged, kept)):
        page.goto(merge_path)
        page.get_by_role("link", name=mine.external_id).click()
        each_holds_their_own(page, lang, mine, theirs)
    snap(page, "7-separate-again", lang)
    assert registry.person_of(merged.record_id) == merged.person_id

    expect_clean_console(tabs)


# --- 2. a correction ----------------------------------------------------------------------------


def other_versions(page: Page, lang: str) -> Locator:
    """A record page's list of its other versions."""
    return page.locator("article").filter(
        has=page.locator("h2", has_text=tr(lang, "Other versions"))
    )


def version(lang: str, n: int) -> str:
    """How a version's link reads."""
    return tr(lang, "Version {n}").format(n=n)


def clerk_corrects_the_date(page: Page, lang: str, active: Entered, corrected: str) -> str:
    """The court clerk opens its active record, corrects the decision date and sends it; its id."""
    nav(page, lang, "Submissions").click()
    mine = page.get_by_test_id("submissions").locator("tbody tr")
    mine = mine.filter(has_text=active.decision_number)
    expect(mine).to_have_attribute("data-status", "active")
    mine.get_by_role("link", name=active.decision_number).click()
    expect_path(page, f"/registry/records/{active.record_id}")
    expect_status(page, lang, "active", "Active")

    page.get_by_test_id("correct").click()
    expect_path(page, f"/registry/records/{active.record_id}/correct")
    expect(page.locator("h1")).to_have_text(tr(lang, "Correct a record"))
    # The decision as it stands; the person is not the clerk's to change in a correction.
    expect(page.locator("#decision_number")).to_have_value(active.decision_number)
    expect(page.locator("#decision_date")).to_have_value("2025-06-30")
    expect(page.locator("#id_number")).to_have_count(0)
    page.fill("#decision_date", corrected)
    snap(page, "8-correction-form", lang)
    page.get_by_test_id("submission-form").get_by_test_id("send").click()
    expect(page).to_have_url(RECORD_PAGE)
    match = RECORD_PAGE.match(page.url)
    assert match is not None
    assert match.group(1) != str(active.record_id)
    expect_status(page, lang, "pending_review", "Waiting for review")
    expect(page.get_by_test_id("decision")).to_contain_text(corrected)
    # Until the correction is approved, the old version stays in force.
    expect(other_versions(page, lang)).to_contain_text(f"{version(lang, 1)} — {tr(lang, 'Active')}")
    return match.group(1)


@pytest.mark.parametrize("lang", LANGS)
def test_a_court_corrects_an_approved_conviction_and_the_old_version_is_superseded(
    tabs: Tabs, accounts: Accounts, registry: Registry, lang: str
) -> None:
    bureau = a_bureau(accounts)
    subject = a_subject("吴海", date(1979, 8, 15))
    active = registry.enter(
        bureau.court_clerk, a_conviction(subject, bureau.police), bureau.reviewer
    )

    clerk = person_signed_in(tabs, bureau.court_clerk, lang)
    # The judgment was dated two days later than the clerk typed.
    correction_id = clerk_corrects_the_date(clerk, lang, active, "2025-07-02")

    reviewer = person_signed_in(tabs, bureau.reviewer, lang)
    reviewer.get_by_test_id("nav-review").click()
    queue_row(reviewer, active.decision_number).get_by_role("link").click()
    expect_path(reviewer, f"/registry/records/{correction_id}")
    reviewer.get_by_test_id("approve").click()
    expect_status(reviewer, lang, "active", "Active")
    versions = other_versions(reviewer, lang)
    expect(versions).to_contain_text(f"{version(lang, 1)} — {tr(lang, 'Corrected (superseded)')}")
    snap(reviewer, "9-correction-approved", lang)

    # The old version: superseded, with the date as it was, linking to the version in force.
    versions.get_by_role("link", name=version(lang, 1)).click()
    expect_path(reviewer, f"/registry/records/{active.record_id}")
    expect_status(reviewer, lang, "corrected", "Corrected (superseded)")
    expect(reviewer.get_by_test_id("decision")).to_contain_text("2025-06-30")
    expect(history_rows(reviewer).last).to_contain_text(
        f"{tr(lang, 'Active')} → {tr(lang, 'Corrected (superseded)')}"
    )
    expect(reviewer.get_by_test_id("amend")).to_have_count(0)
    expect(versions).to_contain_text(f"{version(lang, 2)} — {tr(lang, 'Active')}")
    newer = versions.get_by_role("link", name=version(lang, 2))
    expect(newer).to_have_attribute("href", f"/registry/records/{correction_id}")
    snap(reviewer, "10-superseded", lang)

    # The court sees the same: its old version superseded, no second correction of it.
    clerk.goto(f"/registry/records/{active.record_id}")
    expect_status(clerk, lang, "corrected", "Corrected (superseded)")
    expect(clerk.get_by_test_id("correct")).to_have_count(0)

    expect_clean_console(tabs)


# --- 3. a sealed juvenile record ----------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_a_juvenile_conviction_is_sealed_and_a_registry_clerk_sees_only_that_it_exists(
    tabs: Tabs, accounts: Accounts, registry: Registry, lang: str
) -> None:
    bureau = a_bureau(accounts)
    registry_clerk = accounts.user(Role.REGISTRY_CLERK, org=bureau.police, display_name="周警官")
    # A girl born 2005-03-01 who offended at 16 and was sentenced to three years.
    girl = a_subject("李小红", date(2005, 3, 1), sex="F")
    juvenile = registry.enter(
        bureau.court_clerk,
        a_conviction(
            girl,
            bureau.police,
            number=f"(2022)京0101刑初{serial()}号",
            decided="2022-01-10",
            offence_date=date(2021, 6, 1),
            sentence_months=36,
        ),
    )
    record_path = f"/registry/records/{juvenile.record_id}"

    # The reviewer approves it: sealed at once (Criminal Procedure Law art. 286), and the
    # reviewer, whom the disclosure policy names, still reads it.
    reviewer = person_signed_in(tabs, bureau.reviewer, lang)
    reviewer.goto(record_path)
    reviewer.get_by_test_id("approve").click()
    expect_path(reviewer, record_path)
    expect_status(reviewer, lang, "sealed", "Sealed")
    expect(reviewer.get_by_test_id("decision-number")).to_have_text(juvenile.decision_number)
    expect(reviewer.get_by_test_id("subject")).to_contain_text(girl.id_number)
    expect(reviewer.get_by_test_id("sealed-notice")).to_have_count(0)
    expect(history_rows(reviewer).last).to_contain_text(
        tr(lang, "Sealed on approval: Criminal Procedure Law art. 286")
    )
    snap(reviewer, "11-sealed-reviewer", lang)
    reviewer.get_by_test_id("person-link").click()
    sealed_row = reviewer.get_by_test_id("person-records").locator("tbody tr")
    expect(sealed_row).to_have_attribute("data-status", "sealed")
    expect(sealed_row).to_contain_text(juvenile.decision_number)
    person_path = "/" + reviewer.url.split("//", 1)[1].split("/", 1)[1]

    # The registry clerk finds the person by her document: the record exists, nothing more.
    clerk = person_signed_in(tabs, registry_clerk, lang)
    nav(clerk, lang, "Registry").click()
    clerk.fill("#id_number", girl.id_number)
    clerk.get_by_test_id("person-find").get_by_role("button").click()
    clerk.get_by_test_id("found").get_by_role("link").click()
    expect_path(clerk, person_path)
    row = clerk.get_by_test_id("person-records").locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-status", "sealed")
    expect(row).to_contain_text(tr(lang, "A sealed record (Criminal Procedure Law art. 286)"))
    expect(row).to_contain_text(tr(lang, "Sealed"))
    expect(row.get_by_role("link")).to_have_count(0)
    expect(clerk.locator("main")).not_to_contain_text(juvenile.decision_number)
    snap(clerk, "12-sealed-person-clerk", lang)

    clerk.goto(record_path)
    expect_status(clerk, lang, "sealed", "Sealed")
    expect(clerk.get_by_test_id("sealed-notice")).to_have_text(
        tr(
            lang,
            "This record is sealed (Criminal Procedure Law art. 286). It counts for no"
            " employer's inquiry, and only the roles the disclosure policy names may read it.",
        )
    )
    for hidden in ("decision", "decision-number", "subject", "scan-link", "person-link"):
        expect(clerk.get_by_test_id(hidden)).to_have_count(0)
    main = clerk.locator("main")
    for secret in (juvenile.decision_number, girl.id_number, girl.name, "2021-06-01"):
        expect(main).not_to_contain_text(secret)
    # Nothing to do with it either: no correction, revocation or sealing.
    for action in ("correct", "amend", "edit"):
        expect(clerk.get_by_test_id(action)).to_have_count(0)
    snap(clerk, "13-sealed-record-clerk", lang)

    expect_clean_console(tabs)


# --- 4. revocation ------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_a_reviewer_revokes_a_quashed_conviction_with_the_reason(
    tabs: Tabs, accounts: Accounts, registry: Registry, lang: str
) -> None:
    bureau = a_bureau(accounts)
    subject = a_subject("王刚", date(1971, 12, 1))
    active = registry.enter(
        bureau.court_clerk, a_conviction(subject, bureau.police), bureau.reviewer
    )
    reason = f"经再审撤销原判，宣告无罪：(2026)京01刑再{serial()}号。"
    record_path = f"/registry/records/{active.record_id}"

    page = person_signed_in(tabs, bureau.reviewer, lang)
    page.goto(record_path)
    expect_status(page, lang, "active", "Active")
    amend = page.get_by_test_id("amend")
    amend.get_by_label(
        tr(lang, "Why it is revoked (the quashing judgment or withdrawal, with its number)")
    ).fill(reason)
    amend.get_by_test_id("revoke").click()
    expect_path(page, record_path)
    expect_status(page, lang, "revoked", "Revoked")
    last = history_rows(page).last
    expect(last).to_contain_text(f"{tr(lang, 'Active')} → {tr(lang, 'Revoked')}")
    expect(last).to_contain_text(bureau.reviewer.username)
    expect(last.get_by_test_id("reason")).to_have_text(reason)
    # Revoked is final: nothing more to revoke, seal or correct.
    expect(page.get_by_test_id("amend")).to_have_count(0)
    expect(page.get_by_test_id("correct")).to_have_count(0)
    snap(page, "14-revoked", lang)

    page.get_by_test_id("person-link").click()
    row = page.get_by_test_id("person-records").locator("tbody tr")
    expect(row).to_have_attribute("data-status", "revoked")
    expect(row).to_contain_text(tr(lang, "Revoked"))

    expect_clean_console(tabs)
