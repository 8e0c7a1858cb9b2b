"""The Content Security Policy holds on real pages: Chromium reports no violation."""

from __future__ import annotations

from playwright.sync_api import Page, Route, expect

from shouhu.accounts.roles import OrgType, Role
from shouhu.web.middleware import CONTENT_SECURITY_POLICY
from tests.e2e.conftest import Accounts, Shot, Tabs, enter_password, expect_path, sign_in


def _visit(page: Page, path: str) -> None:
    """Open a page and check it was served with the policy (ASVS 14.4.3)."""
    response = page.goto(path)
    assert response is not None
    assert response.ok, f"{path}: {response.status}"
    assert response.headers.get("content-security-policy") == CONTENT_SECURITY_POLICY, path


def test_sign_in_enrolment_and_admin_pages_cause_no_csp_violation(
    tabs: Tabs, accounts: Accounts, shot: Shot
) -> None:
    admin = accounts.user(Role.ADMIN, display_name="平台管理员")
    newcomer = accounts.user(Role.REGISTRY_CLERK, enrolled=False)
    other_org = accounts.organisation(OrgType.PUBLIC_SECURITY)

    anonymous = tabs.open()
    _visit(anonymous, "/sign-in")
    expect(anonymous.locator("h1")).to_have_text("Sign in")

    enrolling = tabs.open()
    enter_password(enrolling, newcomer.username, newcomer.password)
    expect_path(enrolling, "/sign-in/enrol")
    # The QR code is inline SVG: it must render without any inline style or script.
    expect(enrolling.get_by_test_id("mfa-qr").locator("svg")).to_be_visible()
    _visit(enrolling, "/sign-in/enrol")

    page = tabs.open()
    sign_in(page, admin)
    for path in (
        "/",
        "/admin/organisations",
        "/admin/organisations/new",
        f"/admin/organisations/{other_org.id}",
        "/admin/users",
        "/admin/users/new",
        f"/admin/users/{newcomer.id}",
        "/account",
        "/account/password",
    ):
        _visit(page, path)
    shot(page, "1-last-admin-page")

    assert tabs.csp_violations() == []
    assert tabs.page_errors == []


def test_the_csp_watch_notices_a_violation(tabs: Tabs) -> None:
    # The check above is only worth something if a violation would be seen: serve a page
    # with the app's own policy and an inline script and style, and expect reports.
    def probe(route: Route) -> None:
        route.fulfill(
            status=200,
            headers={
                "content-type": "text/html; charset=utf-8",
                "content-security-policy": CONTENT_SECURITY_POLICY,
            },
            body=(
                "<!doctype html><html><body><p style='color:red'>probe</p>"
                "<script>document.title = 'ran';</script></body></html>"
            ),
        )

    page = tabs.open()
    page.route("**/e2e-csp-probe", probe)

    page.goto("/e2e-csp-probe")

    expect(page.locator("p")).to_have_text("probe")
    assert page.title() != "ran"  # the inline script was refused
    violations = tabs.csp_violations()
    assert any("script-src" in line for line in violations), tabs.console
    assert any("style-src" in line for line in violations), tabs.console
