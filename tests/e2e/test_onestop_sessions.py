"""Joint sessions and the single interview in Chromium, in Chinese and in English.

A case officer schedules a joint session (the required agencies shown, the state's three always),
records each agency's arrival: with the procuratorate not yet there the session is flagged as
lacking a required agency; when the prosecutor arrives, the record shows everyone present
together. The officer records the child's forensic interview; a second attempt is refused with
the message saying what is needed; a prosecutor approves one further interview with a written
reason; the second interview is then recorded, and the counts show it (in this case, approved,
and across the child's cases, one of them earlier). Last, a session is rescheduled and then
cancelled, each with a reason. Screenshots are
tests/e2e/screenshots/onestop-sessions-<step>-<lang>.png.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from shouhu.accounts.models import User
from shouhu.accounts.roles import OrgType, Role
from shouhu.core.database import transaction, utcnow
from shouhu.onestop import interviews, repository
from shouhu.onestop.models import OneStopSite
from tests.e2e.conftest import SCREENSHOTS, Accounts, LiveServer, Tabs, expect_path
from tests.e2e.test_inquiries import take_the_refused_post
from tests.e2e.test_onestop_cases import a_site
from tests.e2e.test_registry_review import expect_clean_console, person_signed_in, tr
from tests.factories.lifecycle import principal_of
from tests.factories.onestop import child, join, open_case
from tests.factories.registry import prc_number

LANGS = ["zh_CN", "en"]
BEIJING = timedelta(hours=8)
APPROVAL_REASON = "首次询问录像因设备故障未能完整保存，经审查同意补充询问一次。"


def snap(page: Page, step: str, lang: str) -> None:
    """Save a full-page screenshot as tests/e2e/screenshots/onestop-sessions-<step>-<lang>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"onestop-sessions-{step}-{lang}.png", full_page=True)


def local(minutes_from_now: float) -> str:
    """A datetime-local value in Beijing time, some minutes from now (negative: ago)."""
    moment = utcnow() + BEIJING + timedelta(minutes=minutes_from_now)
    return moment.strftime("%Y-%m-%dT%H:%M")


@dataclass(frozen=True)
class Team:
    """The case and the ids the forms choose from."""

    case_path: str
    child_id: uuid.UUID
    lead: uuid.UUID  # case_members ids
    forensic: uuid.UUID
    prosecutor: uuid.UUID


def a_case_with_its_team(
    server: LiveServer, officer: uuid.UUID, forensic: uuid.UUID, prosecutor: uuid.UUID, site: str
) -> Team:
    """A girl's case with the forensic examiner and the prosecutor on the team; the same girl
    was interviewed once in an earlier case (so the count across her cases is one more)."""
    born = date(2015, 3, 9)
    number = prc_number("110101", born, 2 * (uuid.uuid4().int % 400) + 100)  # even: a girl
    girl = child(name="林小雨", id_number=number)
    with transaction(server.runtime.sessions) as session:
        the_site = session.scalars(select(OneStopSite).where(OneStopSite.name == site)).one()
        lead_user = session.get_one(User, officer)
        earlier = open_case(session, lead_user, the_site, children=(girl,))
        (earlier_lead,) = [m for m, _u in repository.team(session, earlier.id)]
        (earlier_child,) = repository.children_of(session, earlier.id)
        start = utcnow() - timedelta(hours=1, minutes=30)
        interviews.record_interview(
            session,
            actor=principal_of(lead_user),
            case_id=earlier.id,
            child_id=earlier_child.id,
            interviewer_id=earlier_lead.id,
            started_at=start,
            ended_at=start + timedelta(minutes=30),
            recorded=True,
        )
        case = open_case(session, lead_user, the_site, children=(girl,))
        (lead,) = [m for m, _u in repository.team(session, case.id)]
        (the_child,) = repository.children_of(session, case.id)
        examiner = join(session, case, session.get_one(User, forensic), "forensic")
        attorney = join(session, case, session.get_one(User, prosecutor), "prosecutor")
        return Team(
            case_path=f"onestop/cases/{case.id}",
            child_id=the_child.id,
            lead=lead.id,
            forensic=examiner.id,
            prosecutor=attorney.id,
        )


def schedule(page: Page, lang: str, team: Team, minutes_from_now: float, *, shoot: bool) -> str:
    """Schedule a session from the case page (the guardian and the core three required)."""
    page.goto("/" + team.case_path)
    page.locator("summary", has_text=tr(lang, "Schedule a joint session")).click()
    form = page.get_by_test_id("schedule-form")
    for core in ("criminal_investigation", "forensics", "procuratorate"):
        box = form.locator(f"input[name=required][value={core}]")
        expect(box).to_be_checked()
        expect(box).to_be_disabled()
    # Medical staff and the Women's Federation are suggested (molestation, a girl): not today.
    for other in ("medical", "psychologist", "womens_federation"):
        form.locator(f"input[name=required][value={other}]").uncheck()
    expect(form.locator("input[name=required][value=guardian]")).to_be_checked()
    form.locator("[name=sched_for]").fill(local(minutes_from_now))
    if shoot:
        snap(page, "schedule", lang)
    page.get_by_test_id("schedule-session").click()
    expect(page.get_by_test_id("session")).to_be_visible()
    return page.url.split("://", 1)[1].split("/", 1)[1]


def arrive(page: Page, agency: str, minutes_ago: float, member: uuid.UUID | None) -> None:
    """Record one arrival on the session's page."""
    form = page.get_by_test_id("arrival-form")
    form.locator("[name=agency]").select_option(agency)
    if member is None:
        form.locator("[name=member_id]").select_option("")
        form.locator("[name=person_name]").fill("林强")
    else:
        form.locator("[name=member_id]").select_option(str(member))
    form.locator("[name=arrived_at]").fill(local(-minutes_ago))
    page.get_by_test_id("record-arrival").click()
    expect(page.get_by_test_id("arrival-form")).to_be_visible()


def the_agencies_arrive(page: Page, lang: str, team: Team) -> None:
    """Investigation, forensics and the guardian come: flagged; the prosecutor comes: together."""
    required = page.get_by_test_id("session")
    for label in ("Criminal investigation", "Forensics", "Procuratorate", "Guardian"):
        expect(required).to_contain_text(tr(lang, label))
    arrive(page, "criminal_investigation", 55, team.lead)
    arrive(page, "forensics", 50, team.forensic)
    arrive(page, "guardian", 50, None)
    expect(page.get_by_test_id("arrival")).to_have_count(3)
    flag = page.get_by_test_id("flag")
    expect(flag).to_have_attribute("data-flagged", "true")
    expect(flag).to_contain_text(tr(lang, "A required agency was absent"))
    expect(page.get_by_test_id("missing")).to_have_text(tr(lang, "Procuratorate"))
    snap(page, "absent", lang)

    arrive(page, "procuratorate", 40, team.prosecutor)
    expect(flag).to_have_attribute("data-flagged", "false")
    expect(flag).to_contain_text(tr(lang, "Every required agency was present together"))
    together = page.get_by_test_id("together")
    for label in ("Criminal investigation", "Forensics", "Procuratorate", "Guardian"):
        expect(together).to_contain_text(tr(lang, label))
    expect(page.get_by_test_id("missing")).to_have_text("—")
    snap(page, "together", lang)


def record_interview(page: Page, lang: str, team: Team, session_path: str, start: int) -> None:
    """Fill and send the interview form on the case page (start: minutes ago, 5 minutes long)."""
    page.goto("/" + team.case_path)
    page.locator("summary", has_text=tr(lang, "Record an interview")).click()
    form = page.get_by_test_id("interview-form")
    form.locator("[name=iv_child_id]").select_option(str(team.child_id))
    form.locator("[name=iv_interviewer_id]").select_option(str(team.lead))
    form.locator("[name=iv_session_id]").select_option(session_path.rsplit("/", 1)[1])
    form.locator("[name=iv_started_at]").fill(local(-start))
    form.locator("[name=iv_ended_at]").fill(local(-start + 5))
    page.get_by_test_id("record-interview").click()


def counts(page: Page) -> tuple[str, str, str]:
    """Child A's interviews: in this case, approved further ones, in all her cases."""
    row = page.get_by_test_id("child-interview-A")
    return (
        row.get_by_test_id("in-case").inner_text().strip(),
        row.get_by_test_id("approved-further").inner_text().strip(),
        row.get_by_test_id("all-cases").inner_text().strip(),
    )


@pytest.mark.parametrize("lang", LANGS)
def test_a_joint_session_its_attendance_and_the_single_interview(
    tabs: Tabs, accounts: Accounts, live_server: LiveServer, lang: str
) -> None:
    bureau = accounts.organisation(OrgType.PUBLIC_SECURITY)
    procuratorate = accounts.organisation(OrgType.PROCURATORATE)
    officer = accounts.user(Role.CASE_OFFICER, org=bureau)
    forensic = accounts.user(Role.FORENSIC_EXAMINER, org=bureau)
    prosecutor = accounts.user(Role.PROSECUTOR, org=procuratorate)
    site = a_site(live_server, bureau.id, procuratorate.id)
    team = a_case_with_its_team(live_server, officer.id, forensic.id, prosecutor.id, site)

    page = person_signed_in(tabs, officer, lang)
    session_path = schedule(page, lang, team, -60, shoot=True)
    the_agencies_arrive(page, lang, team)

    record_interview(page, lang, team, session_path, start=35)
    expect(page.get_by_test_id("interview")).to_have_count(1)
    assert counts(page) == ("1", "0", "2")  # and once in her earlier case
    snap(page, "interview", lang)

    # A second interview without an approval: refused, saying what is needed.
    record_interview(page, lang, team, session_path, start=25)
    refusal = page.get_by_test_id("error-iv_child_id")
    expect(refusal).to_have_text(
        tr(
            lang,
            "Child {letter} has already been interviewed in this case. The child is interviewed"
            " once: a further interview needs a prosecutor on the case team to approve it"
            " with a written reason first.",
            letter="A",
        )
    )
    expect(page.get_by_test_id("interview")).to_have_count(1)
    snap(page, "second-refused", lang)
    take_the_refused_post(tabs, 409, f"/{team.case_path}/interviews")

    # The prosecutor on the team approves one further interview, with a written reason.
    attorney = person_signed_in(tabs, prosecutor, lang)
    attorney.goto("/" + team.case_path)
    attorney.locator(
        "summary", has_text=tr(lang, "Approve a further interview (prosecutor)")
    ).click()
    form = attorney.get_by_test_id("approval-form")
    form.locator("[name=ap_child_id]").select_option(str(team.child_id))
    form.locator("[name=ap_reason]").fill(APPROVAL_REASON)
    attorney.get_by_test_id("approve-interview").click()
    expect(attorney.get_by_test_id("approval")).to_contain_text(APPROVAL_REASON)
    expect(
        attorney.get_by_test_id("child-interview-A").get_by_test_id("approved-further")
    ).to_contain_text(tr(lang, "one approved, not yet held"))
    snap(attorney, "approved", lang)

    # The officer records the approved interview: counted, and reported as approved.
    record_interview(page, lang, team, session_path, start=15)
    expect(page.get_by_test_id("interview")).to_have_count(2)
    assert counts(page) == ("2", "1", "3")
    expect(page.get_by_test_id("interview").nth(1)).to_contain_text(
        tr(lang, "Approved by a prosecutor")
    )
    snap(page, "second-interview", lang)
    expect_clean_console(tabs)


@pytest.mark.parametrize("lang", LANGS)
def test_a_session_is_rescheduled_then_cancelled_with_reasons(
    tabs: Tabs, accounts: Accounts, live_server: LiveServer, lang: str
) -> None:
    bureau = accounts.organisation(OrgType.PUBLIC_SECURITY)
    procuratorate = accounts.organisation(OrgType.PROCURATORATE)
    officer = accounts.user(Role.CASE_OFFICER, org=bureau)
    forensic = accounts.user(Role.FORENSIC_EXAMINER, org=bureau)
    prosecutor = accounts.user(Role.PROSECUTOR, org=procuratorate)
    site = a_site(live_server, bureau.id, procuratorate.id)
    team = a_case_with_its_team(live_server, officer.id, forensic.id, prosecutor.id, site)

    page = person_signed_in(tabs, officer, lang)
    session_path = schedule(page, lang, team, 24 * 60, shoot=False)
    expect(page.get_by_test_id("flag")).to_have_text(tr(lang, "Not yet held"))

    # Moved two days on, with the reason (the team reads it on the record).
    form = page.get_by_test_id("reschedule-form")
    form.locator("[name=rs_for]").fill(local(48 * 60))
    form.locator("[name=rs_reason]").fill("监护人因病住院，无法按时到场。")
    snap(page, "reschedule", lang)
    page.get_by_test_id("reschedule-session").click()
    expect_path(page, "/" + session_path)
    change = page.get_by_test_id("session-change")
    expect(change).to_have_attribute("data-kind", "reschedule")
    expect(change).to_contain_text("监护人因病住院，无法按时到场。")

    page.get_by_test_id("cancel-form").locator("[name=cx_reason]").fill("被害人已转院，另行安排。")
    page.get_by_test_id("cancel-session").click()
    expect(page.get_by_test_id("session-cancelled")).to_be_visible()
    expect(page.get_by_test_id("flag")).to_have_text(tr(lang, "Cancelled"))
    expect(page.get_by_test_id("missing")).to_have_text("—")  # never held: nobody was absent
    expect(page.get_by_test_id("arrival-form")).to_have_count(0)
    expect(page.get_by_test_id("session-change")).to_have_count(2)
    snap(page, "cancelled", lang)

    page.goto("/" + team.case_path)
    row = page.locator("[data-testid=joint-session][data-cancelled=true]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(tr(lang, "Cancelled"))
    # A cancelled session blocks nothing: a new one is scheduled at once.
    schedule(page, lang, team, 24 * 60, shoot=False)
    page.goto("/" + team.case_path)
    expect(page.get_by_test_id("joint-session")).to_have_count(2)
    snap(page, "case-with-cancelled", lang)
    expect_clean_console(tabs)
