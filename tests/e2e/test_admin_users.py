"""An operator creates an account in Chromium; its owner signs in for the first time."""

from __future__ import annotations

import re
import uuid

import pyotp
from playwright.sync_api import Page, expect

from shouhu.accounts.roles import OrgType, Role
from tests.e2e.conftest import (
    Accounts,
    Org,
    Shot,
    Tabs,
    acknowledge_notice,
    enter_password,
    expect_path,
    sign_in,
    submit,
)

USER_PAGE = re.compile(r"^https?://[^/]+/admin/users/([0-9a-f-]{36})$")


def _create_user_as_admin(
    admin_page: Page, police: Org, username: str, temporary: str, shot: Shot
) -> None:
    """Fill in and send the operator's new-user form; land on the new user's page."""
    admin_page.get_by_role("link", name="Users").first.click()
    expect_path(admin_page, "/admin/users")
    admin_page.get_by_test_id("new-user").click()
    expect_path(admin_page, "/admin/users/new")
    expect(admin_page.locator("h1")).to_have_text("New user")
    admin_page.select_option("#organisation_id", str(police.id))
    admin_page.fill("#username", username)
    admin_page.fill("#display_name", "李登记")
    admin_page.check("input[name=roles][value=registry_clerk]")
    admin_page.fill("#password", temporary)
    shot(admin_page, "1-new-user-form")
    submit(admin_page, "/admin/users")
    expect(admin_page).to_have_url(USER_PAGE)


def test_an_admin_creates_a_user_who_enrols_and_replaces_the_temporary_password(
    tabs: Tabs, accounts: Accounts, shot: Shot
) -> None:
    admin = accounts.user(Role.ADMIN, display_name="平台管理员")
    police = accounts.organisation(OrgType.PUBLIC_SECURITY)
    username = f"clerk-{uuid.uuid4().hex[:8]}"
    temporary = f"temporary {uuid.uuid4().hex[:10]}"
    chosen = f"my own phrase {uuid.uuid4().hex[:10]}"

    admin_page = tabs.open()
    sign_in(admin_page, admin)
    _create_user_as_admin(admin_page, police, username, temporary, shot)

    expect(admin_page.get_by_test_id("user-name")).to_have_text(username)
    expect(admin_page.get_by_test_id("user-status")).to_have_text("Active")
    expect(admin_page.locator("article dl")).to_contain_text("李登记")
    expect(admin_page.locator("article dl")).to_contain_text(police.name)
    second_factor = admin_page.locator("dt:text-is('Second factor') + dd")
    expect(second_factor).to_have_text("Not set up")
    expect(admin_page.locator("input[name=roles][value=registry_clerk]")).to_be_checked()
    shot(admin_page, "2-user-created")

    page = tabs.open()
    enter_password(page, username, temporary)
    expect_path(page, "/sign-in/enrol")
    secret = re.sub(r"\s+", "", page.get_by_test_id("mfa-secret").inner_text())
    page.fill("#code", pyotp.TOTP(secret).now())
    submit(page, "/sign-in/enrol")
    acknowledge_notice(page)

    # A temporary password must be replaced before anything else (ASVS 2.1.x).
    expect_path(page, "/account/password")
    expect(page.get_by_role("status")).to_have_text(
        "You are using a temporary password. Choose your own before you continue."
    )
    shot(page, "3-forced-password-change")
    page.goto("/")
    expect_path(page, "/account/password")
    expect(page.get_by_test_id("welcome")).to_have_count(0)

    page.fill("#current_password", temporary)
    page.fill("#new_password", chosen)
    page.fill("#confirm_password", chosen)
    submit(page, "/account/password")
    expect(page.get_by_test_id("password-changed")).to_be_visible()
    shot(page, "4-password-changed")
    page.get_by_test_id("password-changed").get_by_role("link", name="Continue").click()

    expect_path(page, "/")
    expect(page.get_by_test_id("welcome")).to_have_text("Welcome, 李登记")
    expect(page.locator("article")).to_contain_text(police.name)
    expect(page.locator("article")).to_contain_text("Registry clerk")
    shot(page, "5-home")

    # The admin now sees the second factor on.
    admin_page.reload()
    expect(second_factor).to_have_text("On")
