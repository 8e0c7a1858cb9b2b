"""A live Shouhu server per worker, headless Chromium, accounts, and the sign-in steps.

The server runs in a thread of the test process (uvicorn on 127.0.0.1, a free port) against
its own migrated SQLite database, so accounts made here with real commits are what the
browser signs in with. Each test opens fresh browser contexts: no cookie carries over.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyotp
import pytest
import uvicorn
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    expect,
    sync_playwright,
)

from shouhu.accounts import mfa, organisations, users
from shouhu.accounts.organisations import OrganisationCreate
from shouhu.accounts.roles import OrgType, Role
from shouhu.accounts.users import UserCreate
from shouhu.core.crypto.keyring import Keyring, _Holder, install_keyring
from shouhu.core.database import transaction, utcnow
from shouhu.core.principal import system_principal
from shouhu.core.runtime import Runtime, start
from shouhu.core.settings import Settings
from shouhu.web.app import create_app
from tests.conftest import fresh_database_url
from tests.factories.accounts import org_type_for

E2E_DIR = Path(__file__).resolve().parent
SCREENSHOTS = E2E_DIR / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Chromium logs CSP refusals itself; this listener also reports each violation event, so a
# refused style attribute or inline script is seen however Chromium words its own message.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
});
"""
SERVER_START_LIMIT_SECONDS = 15


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test in this folder `e2e` (before `-m` selection runs)."""
    for item in items:
        if item.path.is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.e2e)


@dataclass(frozen=True)
class LiveServer:
    """The running server: its base URL and the runtime (database, keys) behind it."""

    url: str
    runtime: Runtime


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Shouhu served by uvicorn in a background thread, on its own migrated database."""
    data_dir = tmp_path_factory.mktemp("e2e")
    settings = Settings(
        env="test",
        data_dir=data_dir,
        database_url=fresh_database_url("sqlite", data_dir, "e2e"),
        secure_cookies=False,  # plain HTTP on 127.0.0.1: no `__Host-`/Secure cookies
        mfa_waiver_allowed=False,
        lockout_failures=5,
        lockout_window_minutes=15,
        default_language="zh_CN",
    )
    previous = _Holder.keyring
    runtime = start(settings, run_migrations=True)
    # start() installs its keyring process-wide; other tests of this worker keep theirs,
    # and `_live_keyring` puts this one in place for each browser test.
    install_keyring(previous)

    # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on accepted sockets whose
    # proto says TCP, and without it every response waits ~40 ms for a delayed ACK (Nagle).
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))  # a free port, different for each xdist worker
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        create_app(runtime),
        lifespan="off",
        log_config=None,
        log_level="warning",
        access_log=False,
        server_header=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="shouhu-e2e", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + SERVER_START_LIMIT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the live Shouhu server did not start")
        time.sleep(0.02)
    yield LiveServer(url=f"http://127.0.0.1:{port}", runtime=runtime)
    server.should_exit = True
    thread.join(timeout=SERVER_START_LIMIT_SECONDS)
    listener.close()
    runtime.engine.dispose()


@pytest.fixture(autouse=True)
def _live_keyring(live_server: LiveServer) -> Iterator[Keyring]:
    """Install the live server's keyring for the test, then restore the one before."""
    previous = _Holder.keyring
    install_keyring(live_server.runtime.keyring)
    yield live_server.runtime.keyring
    install_keyring(previous)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium.

    Module scope, not session: while Playwright's sync API is running it marks the main
    thread's asyncio loop as running, which would break other tests of this worker that run
    an event loop; so the browser lives only while this folder's tests run.
    """
    if not CHROMIUM.exists():
        if os.environ.get("SHOUHU_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium is required (SHOUHU_REQUIRE_BROWSER=1) but not installed")
        pytest.skip("Chromium not installed: apt-get install chromium")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@dataclass
class Tabs:
    """Opens pages in fresh browser contexts and records what their consoles say."""

    browser: Browser
    base_url: str
    console: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    contexts: list[BrowserContext] = field(default_factory=list)

    def open(self, locale: str = "en-US") -> Page:
        """A page in a new context (own cookies) whose browser prefers this locale."""
        context = self.browser.new_context(base_url=self.base_url, locale=locale)
        context.add_init_script(CSP_LISTENER)
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        return page

    def _on_console(self, message: ConsoleMessage) -> None:
        self.console.append(f"{message.type}: {message.text} ({message.location.get('url')})")

    def csp_violations(self) -> list[str]:
        """Console lines that report a Content Security Policy refusal."""
        # A round trip to each page delivers any console event still on its way.
        for context in self.contexts:
            for page in context.pages:
                page.evaluate("0")
        return [
            line
            for line in self.console
            if "Content Security Policy" in line or "CSP violation" in line
        ]

    def close(self) -> None:
        """Close every context this test opened."""
        for context in self.contexts:
            context.close()


@pytest.fixture
def tabs(browser: Browser, live_server: LiveServer) -> Iterator[Tabs]:
    """The test's browser contexts, closed afterwards."""
    opened = Tabs(browser=browser, base_url=live_server.url)
    yield opened
    opened.close()


@pytest.fixture
def page(tabs: Tabs) -> Page:
    """A page in a fresh context whose browser prefers English."""
    return tabs.open()


Shot = Callable[[Page, str], None]


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shot:
    """Save a full-page screenshot as tests/e2e/screenshots/<test>-<step>.png."""
    SCREENSHOTS.mkdir(exist_ok=True)
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    def take(page: Page, step: str) -> None:
        page.screenshot(path=SCREENSHOTS / f"{test_name}-{step}.png", full_page=True)

    return take


@dataclass(frozen=True)
class Org:
    """An organisation made for a test."""

    id: uuid.UUID
    name: str


@dataclass(frozen=True)
class Account:
    """A user made for a test, with the secrets a real person would hold."""

    id: uuid.UUID
    username: str
    password: str
    display_name: str
    organisation: Org
    mfa_secret: str | None

    @property
    def totp(self) -> pyotp.TOTP:
        """The authenticator app of this user."""
        assert self.mfa_secret is not None, "the account has no second factor"
        return pyotp.TOTP(self.mfa_secret)


class Accounts:
    """Creates organisations and users through the services, committed to the live database."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.actor = system_principal("cli")

    def organisation(self, org_type: OrgType = OrgType.OPERATOR) -> Org:
        """A new organisation of this type (not an institution: those need a credit code)."""
        name = f"端到端测试 {org_type.value} {uuid.uuid4().hex[:8]}"
        with transaction(self.runtime.sessions) as session:
            org = organisations.create_organisation(
                session,
                actor=self.actor,
                data=OrganisationCreate(name=name, type=org_type, region_code="110101"),
            )
            return Org(id=org.id, name=org.name)

    def user(
        self,
        role: Role = Role.ADMIN,
        *,
        org: Org | None = None,
        also: tuple[Role, ...] = (),
        enrolled: bool = True,
        waived: bool = False,
        display_name: str = "王晓明",
    ) -> Account:
        """A user with a role (and `also` these); `enrolled` gives them a confirmed TOTP factor."""
        organisation = org or self.organisation(org_type_for(role))
        username = f"e2e-{uuid.uuid4().hex[:10]}"
        password = f"e2e {uuid.uuid4().hex[:12]} pass"
        secret = mfa.new_secret() if enrolled else None
        with transaction(self.runtime.sessions) as session:
            user = users.create_user(
                session,
                actor=self.actor,
                data=UserCreate(
                    organisation_id=organisation.id,
                    username=username,
                    display_name=display_name,
                    roles=[role, *also],
                    password=password,
                ),
            )
            if secret is not None:
                user.mfa_secret = secret
                user.mfa_enabled_at = utcnow()
            user.mfa_waived = waived
            user_id = user.id
        return Account(
            id=user_id,
            username=username,
            password=password,
            display_name=display_name,
            organisation=organisation,
            mfa_secret=secret,
        )


@pytest.fixture
def accounts(live_server: LiveServer, _live_keyring: Keyring) -> Accounts:
    """Make organisations and users in the live server's database."""
    return Accounts(live_server.runtime)


# The steps a person takes, shared by the test modules.


def expect_path(page: Page, path: str) -> None:
    """Wait until the browser shows this path of the live server (no query string)."""
    expect(page).to_have_url(re.compile(rf"^https?://[^/]+{re.escape(path)}$"))


def submit(page: Page, action: str) -> None:
    """Press the submit button of the form that posts to `action`."""
    page.locator(f"form[action='{action}'] button[type=submit]").click()


def enter_password(page: Page, username: str, password: str) -> None:
    """Open the sign-in page and submit a username and password."""
    page.goto("/sign-in")
    page.fill("#username", username)
    page.fill("#password", password)
    submit(page, "/sign-in")


def enter_code(page: Page, code: str) -> None:
    """Type a 6-digit code on the second-factor page and continue."""
    page.fill("#code", code)
    submit(page, "/sign-in/mfa")


def acknowledge_notice(page: Page) -> None:
    """Accept the system-use notice."""
    expect_path(page, "/sign-in/notice")
    page.get_by_test_id("acknowledge").click()


def sign_in(page: Page, account: Account, code: str | None = None) -> None:
    """The whole sign-in of an enrolled account, ending on the start page."""
    enter_password(page, account.username, account.password)
    expect_path(page, "/sign-in/mfa")
    enter_code(page, code or account.totp.now())
    acknowledge_notice(page)
    expect_path(page, "/")
    expect(page.get_by_test_id("welcome")).to_contain_text(account.display_name)


def next_code(totp: pyotp.TOTP) -> str:
    """The code of the next time step: accepted (±1 step) and newer than one just used."""
    return totp.at(time.time() + mfa.STEP_SECONDS)


def wrong_code(totp: pyotp.TOTP) -> str:
    """A 6-digit code that no nearby time step of this secret produces."""
    moment = time.time()
    nearby = {totp.at(moment + offset * mfa.STEP_SECONDS) for offset in range(-3, 4)}
    return next(code for code in ("000000", "123456", "999999", "314159") if code not in nearby)


def sign_in_error(page: Page) -> str:
    """The error the sign-in page shows (waits for it)."""
    error = page.get_by_test_id("sign-in-error")
    expect(error).to_be_visible()
    return error.inner_text().strip()
