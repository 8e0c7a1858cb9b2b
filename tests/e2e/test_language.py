"""The language switch: Chinese by default, English on request, and back, in Chromium."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from shouhu.core.i18n import catalog
from tests.e2e.conftest import Shot, Tabs, expect_path


def _expect_language(page: Page, html_lang: str, current: str, other: str) -> None:
    expect(page.locator("html")).to_have_attribute("lang", html_lang)
    switch = page.get_by_test_id("language-switch")
    expect(switch.locator(f"button[value={current}]")).to_have_attribute("aria-current", "true")
    expect(switch.locator(f"button[value={other}]")).not_to_have_attribute("aria-current", "true")


def test_sign_in_page_is_chinese_by_default_and_switches_to_english_and_back(
    tabs: Tabs, shot: Shot
) -> None:
    page = tabs.open(locale="zh-CN")  # the browser asks for Chinese, not English
    # zh_CN strings are still being translated: assert the Chinese heading only where the
    # catalog has one; the lang attribute and the switch state hold either way.
    chinese_heading = catalog("zh_CN").get("Sign in")

    page.goto("/sign-in")
    _expect_language(page, "zh-CN", current="zh_CN", other="en")
    if chinese_heading:
        expect(page.locator("h1")).to_have_text(chinese_heading)
    shot(page, "1-chinese")

    page.get_by_test_id("language-switch").get_by_role("button", name="English").click()
    expect_path(page, "/sign-in")
    _expect_language(page, "en", current="en", other="zh_CN")
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.get_by_label("Username")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()
    shot(page, "2-english")

    # The choice is remembered over the browser's preference.
    page.reload()
    _expect_language(page, "en", current="en", other="zh_CN")
    expect(page.locator("h1")).to_have_text("Sign in")

    page.get_by_test_id("language-switch").get_by_role("button", name="中文").click()
    expect_path(page, "/sign-in")
    _expect_language(page, "zh-CN", current="zh_CN", other="en")
    if chinese_heading:
        expect(page.locator("h1")).to_have_text(chinese_heading)
    shot(page, "3-chinese-again")


def test_a_browser_that_prefers_english_gets_english(tabs: Tabs) -> None:
    page = tabs.open(locale="en-GB")

    page.goto("/sign-in")

    _expect_language(page, "en", current="en", other="zh_CN")
    expect(page.locator("h1")).to_have_text("Sign in")
