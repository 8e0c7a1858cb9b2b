"""Signing in and out, lock-out and unlock, and setting up the second factor, in Chromium."""

from __future__ import annotations

import re

import pyotp
from playwright.sync_api import Page, expect

from shouhu.accounts.roles import Role
from tests.e2e.conftest import (
    Accounts,
    Shot,
    Tabs,
    acknowledge_notice,
    enter_code,
    enter_password,
    expect_path,
    next_code,
    sign_in,
    sign_in_error,
    submit,
    wrong_code,
)

SIGN_IN_FAILED = (
    "Sign-in failed. Check your username and password. After repeated failures an account "
    "is locked until an administrator unlocks it."
)


def test_sign_in_with_password_code_and_notice_then_sign_out(
    page: Page, accounts: Accounts, shot: Shot
) -> None:
    user = accounts.user(Role.REGISTRY_CLERK, display_name="王晓明")

    page.goto("/sign-in")
    expect(page.locator("h1")).to_have_text("Sign in")
    shot(page, "1-sign-in")
    enter_password(page, user.username, user.password)

    expect_path(page, "/sign-in/mfa")
    expect(page.locator("h1")).to_have_text("Enter your code")
    shot(page, "2-code")
    enter_code(page, user.totp.now())

    expect_path(page, "/sign-in/notice")
    expect(page.get_by_test_id("notice")).to_contain_text("System-use notice")
    shot(page, "3-notice")
    acknowledge_notice(page)

    expect_path(page, "/")
    expect(page.get_by_test_id("welcome")).to_have_text("Welcome, 王晓明")
    expect(page.get_by_test_id("account-link")).to_have_text(user.username)
    # A registry clerk is no operator: no administration links.
    expect(page.get_by_role("link", name="Organisations")).to_have_count(0)
    shot(page, "4-home")

    page.get_by_test_id("sign-out").click()
    expect_path(page, "/sign-in")
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.get_by_test_id("sign-out")).to_have_count(0)

    response = page.goto("/")
    assert response is not None
    assert response.status == 401
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.get_by_role("status")).to_have_text("Please sign in to continue.")
    expect(page.get_by_test_id("welcome")).to_have_count(0)
    shot(page, "5-signed-out")


def test_a_waived_second_factor_is_ignored_when_settings_forbid_waivers(
    page: Page, accounts: Accounts
) -> None:
    # Only demo settings honour a waiver; here (mfa_waiver_allowed=False) the user must enrol.
    user = accounts.user(Role.REGISTRY_CLERK, enrolled=False, waived=True)

    enter_password(page, user.username, user.password)

    expect_path(page, "/sign-in/enrol")
    page.goto("/")
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.get_by_test_id("welcome")).to_have_count(0)


def test_five_wrong_passwords_lock_the_account_until_an_admin_unlocks_it(
    tabs: Tabs, accounts: Accounts, shot: Shot
) -> None:
    user = accounts.user(Role.REGISTRY_CLERK, display_name="李静")
    admin = accounts.user(Role.ADMIN, display_name="平台管理员")
    page = tabs.open()

    # The message for a username that does not exist...
    enter_password(page, f"nobody-{user.username}", "not the password")
    unknown_user_error = sign_in_error(page)
    assert unknown_user_error == SIGN_IN_FAILED

    # ...is exactly the one for a wrong password, each time (ASVS 2.2.1: no account probing).
    for attempt in range(1, 6):
        enter_password(page, user.username, f"wrong password {attempt}")
        assert sign_in_error(page) == unknown_user_error
        expect(page.locator("#username")).to_have_value(user.username)
    shot(page, "1-fifth-failure")

    # Locked: the right password now gets the same answer and goes no further.
    enter_password(page, user.username, user.password)
    assert sign_in_error(page) == unknown_user_error
    expect(page.locator("h1")).to_have_text("Sign in")
    shot(page, "2-locked-right-password")

    admin_page = tabs.open()
    sign_in(admin_page, admin)
    admin_page.goto(f"/admin/users/{user.id}")
    expect(admin_page.get_by_test_id("user-name")).to_have_text(user.username)
    expect(admin_page.get_by_test_id("user-status")).to_have_text("Locked")
    shot(admin_page, "3-admin-sees-locked")
    admin_page.get_by_test_id("unlock").click()
    expect_path(admin_page, f"/admin/users/{user.id}")
    expect(admin_page.get_by_test_id("user-status")).to_have_text("Active")
    expect(admin_page.get_by_test_id("unlock")).to_have_count(0)
    shot(admin_page, "4-admin-unlocked")

    sign_in(page, user)
    shot(page, "5-user-signed-in")


def test_first_sign_in_enrols_totp_and_later_sign_ins_ask_for_a_new_code(
    page: Page, accounts: Accounts, shot: Shot
) -> None:
    user = accounts.user(Role.CASE_OFFICER, enrolled=False, display_name="赵办案")

    enter_password(page, user.username, user.password)
    expect_path(page, "/sign-in/enrol")
    expect(page.locator("h1")).to_have_text("Set up your second factor")
    expect(page.get_by_test_id("mfa-qr").locator("svg")).to_be_visible()
    shown = page.get_by_test_id("mfa-secret").inner_text()
    secret = re.sub(r"\s+", "", shown)
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), shown
    shot(page, "1-enrol")
    totp = pyotp.TOTP(secret)  # the authenticator app, set up from the key shown

    # A wrong code does not turn the second factor on.
    page.fill("#code", wrong_code(totp))
    submit(page, "/sign-in/enrol")
    expect(page.get_by_test_id("enrol-error")).to_have_text(
        "The code is not correct. Enter the current 6-digit code from your app."
    )
    # The page keeps the same secret, so the app the user just set up stays valid.
    assert re.sub(r"\s+", "", page.get_by_test_id("mfa-secret").inner_text()) == secret
    shot(page, "2-enrol-wrong-code")

    enrolment_code = totp.now()
    page.fill("#code", enrolment_code)
    submit(page, "/sign-in/enrol")
    acknowledge_notice(page)
    expect_path(page, "/")
    expect(page.get_by_test_id("welcome")).to_have_text("Welcome, 赵办案")
    shot(page, "3-home")

    page.get_by_test_id("sign-out").click()
    expect_path(page, "/sign-in")

    enter_password(page, user.username, user.password)
    expect_path(page, "/sign-in/mfa")
    # The code just used to enrol cannot be replayed (ASVS 2.8.4).
    enter_code(page, enrolment_code)
    expect(page.get_by_test_id("mfa-error")).to_have_text(
        "The code is not correct. Enter the current 6-digit code from your app."
    )
    shot(page, "4-replayed-code")
    enter_code(page, next_code(totp))
    acknowledge_notice(page)
    expect_path(page, "/")
    expect(page.get_by_test_id("welcome")).to_have_text("Welcome, 赵办案")
