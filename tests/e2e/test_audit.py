"""An auditor verifies the audit chain and reads the trail, on the live server (SQLite)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from shouhu.accounts.roles import Role
from tests.e2e.conftest import Accounts, Shot, sign_in


def test_an_auditor_verifies_the_chain_and_reads_the_trail(
    page: Page, accounts: Accounts, shot: Shot
) -> None:
    auditor = accounts.user(Role.AUDITOR, display_name="王审计")
    sign_in(page, auditor)
    page.get_by_role("link", name="Verify the audit chain").click()
    page.get_by_test_id("verify").click()
    result = page.get_by_test_id("verify-result")
    expect(result).to_have_attribute("data-outcome", "intact")
    shot(page, "1-verified")
    page.goto("/audit/events?action=session:sign_in")
    rows = page.get_by_test_id("audit-events").locator("tbody tr")
    expect(rows.first).to_contain_text("web:session:sign_in")
    expect(rows.first).to_contain_text(auditor.username)
    shot(page, "2-trail")
