"""Browser fixtures: Debian's Chromium driven by Playwright (sync API) against `live_server`.

Playwright never downloads a browser here: we launch the system Chromium, found through
KETACARE_CHROMIUM or `chromium` on PATH. Without it the browser tests are skipped locally,
but fail on CI (CI=true), where a silently skipped UI test would hide a broken pipeline.
"""

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, sync_playwright

from ketacare.accounts.actions import create_clinic
from ketacare.actor import SYSTEM

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",  # we run as root in the container; Chromium refuses its sandbox then
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Short enough that a broken page fails in seconds, long enough for a loaded CI runner.
TIMEOUT_MS = 5_000


def _chromium_path() -> str | None:
    configured = os.environ.get("KETACARE_CHROMIUM")
    if configured:
        return configured if os.path.isfile(configured) and os.access(configured, os.X_OK) else None
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = _chromium_path()
    if path is None:
        looked_for = os.environ.get("KETACARE_CHROMIUM") or "`chromium` on PATH"
        message = (
            "Chromium not found: install Debian's chromium package (apt-get install chromium) "
            f"or set KETACARE_CHROMIUM to a Chromium executable (looked for {looked_for})"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; browser tests are required on CI (CI=true)", pytrace=False)
        pytest.skip(f"{message}; browser tests skipped")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class ConsoleProblems:
    """Console errors (CSP violations are reported there), uncaught exceptions, failed loads."""

    messages: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            self.messages.append(f"console.{message.type}: {message.text} ({message.location})")

    def on_page_error(self, error: Error) -> None:
        self.messages.append(f"pageerror: {error}")


@pytest.fixture
def console() -> ConsoleProblems:
    return ConsoleProblems()


@pytest.fixture
def insecure_cookies(settings) -> None:
    # The live server speaks plain http, and production settings mark the session and CSRF
    # cookies Secure. We switch that off for the browser tests exactly as the local demo does
    # (KETACARE_INSECURE_COOKIES=1), instead of faking a TLS connection or relying on browser
    # leniency: current Chromium happens to keep Secure cookies from http://localhost (it counts
    # localhost as a secure context), but other browsers, hosts or versions need not. The live
    # server runs in a thread of this process, so it sees the changed settings.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


@pytest.fixture
def page(
    browser: Browser, live_server, insecure_cookies, console: ConsoleProblems
) -> Iterator[Page]:
    """A fresh browser context (no cookies) per test, with console problems collected."""
    context = browser.new_context(base_url=live_server.url, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.on("console", console.on_console)
    page.on("pageerror", console.on_page_error)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def clinic(transactional_db, live_server):
    """Overrides tests/conftest.py's `clinic`: the staff and patients built on it must be
    committed, so that the live server's thread (another connection) can see them."""
    return create_clinic(SYSTEM, "Riverside Ketamine Clinic")


@pytest.fixture(scope="session", autouse=True)
def urls_imported() -> None:
    """Import every view before the first page: the URLconf pulls in the registry's numeric
    libraries (about two seconds), which the live server's first request would otherwise pay
    inside a page's 5-second timeout on a busy machine."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - the import is the point
