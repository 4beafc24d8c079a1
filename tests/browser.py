"""Browser tests: Playwright driving Debian's headless Chromium against the real server.

A test module imports the fixtures it uses, and the ones they use (pytest finds
a fixture's fixtures by name in the test's module):

    from browser import chromium, mail_dir, panel_server_env, shots, tab  # noqa: F401  (fixtures)
    from server import panel_server  # noqa: F401  (a fixture)

    pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

`tab` (1366 px wide) and `phone` (375 px) are fresh browser contexts on
`panel_server` (tests/server.py), which runs `smmpanel serve` on the test
database, so a test commits what the page must see. `panel_server_env` sends
the server's mail to files in `mail_dir` and makes the simulated provider fast.
Every `tab.shot("step")` saves a full-page screenshot to
artifacts/<database>/<test name>/NN-step.png. A tab fails its test if the page logged a
Content Security Policy violation, threw an uncaught error, got a 5xx answer
(htmx requests included) or opened an alert.

The browser is Debian's /usr/bin/chromium (`make browser` installs it), never a
downloaded one: `playwright install` is not used.
"""

import contextlib
import email
import functools
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from email.message import Message
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.utils import translation
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, Playwright, Response, sync_playwright
from staff import current_code

from smmpanel.accounts.models import User
from smmpanel.catalog.demo import SIMULATOR
from smmpanel.catalog.models import Category, Provider, Service
from smmpanel.catalog.types import ServiceType
from smmpanel.ledger.accounts import create_customer
from smmpanel.ledger.money import charge_for
from smmpanel.web.templatetags.money import money

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests run as root
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
PASSWORD = "correct horse battery 42"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 375, "height": 740}
# The class of a deliberate horizontal scroller (site.css): what is inside may be wider than the page.
SCROLLER = "scroll-x"
# Every drawn element's box and every line of text that reaches past the viewport's left or
# right edge (half a pixel of rounding allowed), described for the failure message.
OUTSIDE_THE_VIEWPORT = """scroller => {
    const width = document.documentElement.clientWidth;
    const skipped = element => element.closest(`.${scroller} *, .visually-hidden, script, style, template`);
    const name = element => element.tagName.toLowerCase() + (element.id ? "#" + element.id : "")
        + [...element.classList].map(c => "." + c).join("");
    const outside = rect => rect.width > 0 && (rect.left < -0.5 || rect.right > width + 0.5);
    const found = [];
    for (const element of document.body.querySelectorAll("*")) {
        if (skipped(element)) continue;
        const rect = element.getBoundingClientRect();
        if (outside(rect)) {
            const text = (element.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 60);
            const span = `from ${Math.round(rect.left)} to ${Math.round(rect.right)} px`;
            found.push(`${name(element)} ${span}: ${text}`);
        }
    }
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const range = document.createRange();
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (!node.textContent.trim() || skipped(node.parentElement)) continue;
        range.selectNodeContents(node);
        for (const rect of range.getClientRects()) {
            if (outside(rect)) {
                const text = node.textContent.trim().slice(0, 60);
                found.push(`text in ${name(node.parentElement)} to ${Math.round(rect.right)} px: ${text}`);
                break;
            }
        }
    }
    return found.slice(0, 20);
}"""
# Playwright's default wait (ms); the live price and page loads are local and fast.
TIMEOUT_MS = 10_000
# How the real server and its worker run in browser tests: mail to files the test
# reads, and a simulated provider that delivers in 2 s, always completely, checked
# 1 s after sending (instead of 90 s and 30 s).
ENGINE_ENV = {
    "SMMPANEL_SIMULATOR_SECONDS": "2",
    "SMMPANEL_SIMULATOR_PARTIAL_PERCENT": "0",
    "SMMPANEL_SIMULATOR_CANCEL_PERCENT": "0",
    "SMMPANEL_FIRST_CHECK_SECONDS": "1",
}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One headless Chromium for a test module."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: `make browser` (apt-get install chromium) installs it")
    # Playwright's sync API runs an asyncio event loop in this thread, so Django
    # takes every ORM call the test makes for one from async code and raises
    # SynchronousOnlyOperation. The test's calls are plain synchronous ones
    # between browser steps, so the check is switched off, for these modules only.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright: Playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def mail_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the server writes its mail (Django's file-based email backend)."""
    return tmp_path_factory.mktemp("mail")


@pytest.fixture(scope="module")
def panel_server_env(mail_dir: Path) -> dict[str, str]:
    """Extra environment of the server (tests/server.py reads this fixture)."""
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        **ENGINE_ENV,
    }


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")


@dataclass
class Shots:
    """A test's screenshots, numbered in order: artifacts/<database>/<test>/NN-<step>.png."""

    folder: Path
    count: int = 0

    def take(self, page: Page, step: str) -> Path:
        self.count += 1
        target = self.folder / f"{self.count:02d}-{_safe(step)}.png"
        page.screenshot(path=str(target), full_page=True)
        return target


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    # Per database: `make test` runs the SQLite and PostgreSQL suites side by side.
    folder = ARTIFACTS / connection.vendor / _safe(request.node.name)
    shutil.rmtree(folder, ignore_errors=True)  # the screenshots of this run only
    folder.mkdir(parents=True, exist_ok=True)
    return Shots(folder)


@dataclass
class Tab:
    """A browser page on the panel, with what it reported, and numbered screenshots."""

    page: Page
    base_url: str
    shots: Shots
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)  # every 404 answer: a page, a script, an icon
    dialogs: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path

    def path(self) -> str:
        """The path (and query) of the page shown."""
        return self.page.url.removeprefix(self.base_url)

    def go(self, path: str) -> None:
        response = self.page.goto(self.url(path))
        assert response is not None
        assert response.status < 400, f"GET {path}: HTTP {response.status}\n{response.text()[:2000]}"

    def shot(self, step: str) -> Path:
        """A full-page screenshot: artifacts/<database>/<test>/NN-<step>.png."""
        return self.shots.take(self.page, step)

    @contextlib.contextmanager
    def redrawn(self, selector: str) -> Iterator[None]:
        """Wait, after the block, until htmx has replaced the element `selector` and settled."""
        self.page.locator(selector).evaluate("element => { element.dataset.beforeSwap = '1'; }")
        yield
        self.page.wait_for_function(
            """selector => {
                const element = document.querySelector(selector);
                return element && !element.dataset.beforeSwap
                    && !document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling");
            }""",
            arg=selector,
        )

    def log_in(self, username: str, password: str = PASSWORD) -> None:
        self.go("/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.page.locator("main form button[type=submit]").click()
        self.page.wait_for_url(self.url("/dashboard/"))

    def admin_sign_in(self, username: str = "operator", password: str = PASSWORD) -> None:
        """Through Django's admin sign-in: the password there, then the console's code step."""
        self.go("/admin/login/")
        self.page.fill("#id_username", username)
        self.page.fill("#id_password", password)
        self.page.locator("#login-form [type=submit]").click()
        self.page.wait_for_url(self.url("/console/verify/?next=%2Fadmin%2F"))
        self.page.fill("#id_code", current_code(User.objects.get(username=username)))
        self.page.locator("main form button[type=submit]").click()
        self.page.wait_for_url(self.url("/admin/"))

    def sign_in_as(self, user: User) -> None:
        """Signed in without the form (as Django's test client's force_login): a session row and its cookie.

        The form itself is tested once; checking the password costs the server half a second.
        """
        store = import_module(settings.SESSION_ENGINE).SessionStore()
        store[auth.SESSION_KEY] = str(user.pk)
        store[auth.BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[auth.HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.save()
        cookie = {"name": settings.SESSION_COOKIE_NAME, "value": store.session_key, "url": self.base_url}
        self.page.context.add_cookies([cookie])  # type: ignore[list-item]
        self.go("/dashboard/")

    def balance_text(self) -> str:
        """The balance pill of the top bar, e.g. "100.00 USD"."""
        return self.page.locator(".topbar a.balance").inner_text().strip()

    def csp_violations(self) -> list[str]:
        return [
            text for text in self.console_errors if "Content Security Policy" in text or "Refused to" in text
        ]

    def assert_no_horizontal_scroll(self) -> None:
        """Nothing on the page reaches past the viewport's left or right edge: the page does not
        scroll sideways, and no element or line of text is cut off inside a card or a table.

        Every element's box and every line of text is checked, not only the document's width
        (a table that scrolls inside its card leaves the document's width alone). Skipped: what
        is not drawn (no box), what is only for screen readers (`.visually-hidden`), and what is
        inside a deliberate horizontal scroller, marked with the class `scroll-x` (site.css):
        the scroller itself must fit, its content may be scrolled.
        """
        problems = self.past_the_edge()
        assert not problems, "\n".join(problems)

    def past_the_edge(self) -> list[str]:
        """What assert_no_horizontal_scroll() finds on the page shown, in words (empty: it all fits)."""
        width = self.page.viewport_size["width"] if self.page.viewport_size else 0
        scroll = self.page.evaluate("document.documentElement.scrollWidth")
        outside: list[str] = self.page.evaluate(OUTSIDE_THE_VIEWPORT, SCROLLER)
        if scroll > width:
            outside.insert(0, f"the page is {scroll} px wide")
        return [f"{self.path()} at {width} px: {problem}" for problem in outside]

    def assert_clean(self) -> None:
        """No CSP violation, no uncaught script error, no server error (htmx requests too), no alert."""
        assert not self.csp_violations(), self.csp_violations()
        assert not self.page_errors, self.page_errors
        assert not self.server_errors, self.server_errors
        alerts = [text for text in self.dialogs if not text.startswith("confirm:")]
        assert not alerts, alerts


def open_tab(
    browser: Browser, base_url: str, shots: Shots, viewport: dict[str, int] = DESKTOP, javascript: bool = True
) -> Tab:
    """A new browser context (its own cookies) and page on the panel."""
    context = browser.new_context(
        viewport={"width": viewport["width"], "height": viewport["height"]},
        locale="en-US",
        timezone_id="UTC",
        java_script_enabled=javascript,
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    tab = Tab(page, base_url, shots)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            tab.console_errors.append(message.text)

    def on_dialog(dialog: Dialog) -> None:
        # A confirm() (e.g. htmx's hx-confirm) is accepted; anything else is an
        # alert no page of the panel ever opens, so it is recorded as a failure.
        tab.dialogs.append(f"{dialog.type}: {dialog.message}")
        if dialog.type == "confirm":
            dialog.accept()
        else:
            dialog.dismiss()

    def on_response(response: Response) -> None:
        if response.status >= 500:
            tab.server_errors.append(f"{response.status} {response.request.method} {response.url}")
        if response.status == 404:
            tab.not_found.append(f"{response.request.method} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: tab.page_errors.append(str(error)))
    page.on("response", on_response)
    page.on("dialog", on_dialog)
    return tab


@contextlib.contextmanager
def _tab(
    browser: Browser,
    base_url: str,
    shots: Shots,
    viewport: dict[str, int],
    name: str,
    javascript: bool = True,
) -> Iterator[Tab]:
    opened = open_tab(browser, base_url, shots, viewport, javascript)
    try:
        # What the test itself words (money(), e.g. "0.045 USD") is English like the
        # browser, whatever language an earlier test left active in this thread.
        with translation.override("en"):
            yield opened
        with contextlib.suppress(Exception):  # the page as it was at the end, pass or fail
            opened.shot(f"{name}-end")
        opened.assert_clean()
    finally:
        opened.page.context.close()


@pytest.fixture
def tab(chromium: Browser, panel_server: str, shots: Shots) -> Iterator[Tab]:
    """A browser tab 1366 px wide on the server."""
    with _tab(chromium, panel_server, shots, DESKTOP, "desktop") as opened:
        yield opened


@pytest.fixture
def no_js_tab(chromium: Browser, panel_server: str, shots: Shots) -> Iterator[Tab]:
    """A browser tab 1366 px wide with JavaScript turned off."""
    with _tab(chromium, panel_server, shots, DESKTOP, "no-js", javascript=False) as opened:
        yield opened


@pytest.fixture
def phone(chromium: Browser, panel_server: str, shots: Shots) -> Iterator[Tab]:
    """A browser tab 375 px wide (a phone) on the server, with its own cookies."""
    with _tab(chromium, panel_server, shots, PHONE, "phone") as opened:
        yield opened


# The shop the browser tests buy from.


@dataclass
class Shop:
    provider: Provider
    category: Category
    default: Service  # drip-feed and refill on (30 days)
    package: Service
    comments: Service  # custom comments: one unit per comment line


def make_shop() -> Shop:
    """A small catalogue fulfilled by the simulated provider (as the demo's, smmpanel/catalog/demo.py)."""
    provider, _ = Provider.objects.get_or_create(name=SIMULATOR, defaults={"kind": Provider.Kind.SIMULATED})
    category = Category.objects.create(name="Instagram", sort_order=1)
    common: dict[str, Any] = {"category": category, "provider": provider}
    default = Service.objects.create(
        name="Instagram Followers [Refill 30 days]",
        type=ServiceType.DEFAULT,
        rate=Decimal("0.90"),
        min=50,
        max=10000,
        dripfeed=True,
        refill=True,
        refill_days=30,
        cancel=True,
        description="Followers from real-looking accounts.",
        sort_order=1,
        **common,
    )
    package = Service.objects.create(
        name="Instagram Starter Pack (1000)",
        type=ServiceType.PACKAGE,
        rate=Decimal("4.50"),
        min=1,
        max=1,
        sort_order=2,
        **common,
    )
    comments = Service.objects.create(
        name="Instagram Custom Comments",
        type=ServiceType.CUSTOM_COMMENTS,
        rate=Decimal("12.00"),
        min=2,
        max=500,
        cancel=True,
        sort_order=3,
        **common,
    )
    return Shop(provider, category, default, package, comments)


@functools.cache
def password_hash(password: str = PASSWORD) -> str:
    # Hashed once: the production hasher takes half a second a time, by design.
    return make_password(password)


def set_password(user: User, password: str = PASSWORD) -> User:
    user.password = password_hash(password)
    user.save(update_fields=["password"])
    return user


def make_customer(username: str, balance: str, *, password: str = PASSWORD) -> User:
    """A confirmed customer who can sign in on the site, with an opening balance."""
    user, _key = create_customer(username, email=f"{username}@example.com", balance=Decimal(balance))
    return set_password(user, password)


def make_operator(username: str = "operator", *, password: str = PASSWORD) -> User:
    """A superuser with a confirmed authenticator (Tab.admin_sign_in types its code)."""
    user = set_password(User.objects.create_superuser(username, f"{username}@example.com", None), password)
    TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
    return user


def balance_of(user: User) -> Decimal:
    user.refresh_from_db()
    return user.balance


def price_text(rate: Decimal, units: int, *, package: bool = False) -> str:
    """A charge as the site shows it, e.g. "0.045 USD"."""
    return money(charge_for(rate, units, package=package), "charge")


# Mail written by the server's file-based backend.


def read_mail(folder: Path) -> list[Message]:
    """Every message in `folder`, oldest file first (one file holds one or more messages)."""
    messages: list[Message] = []
    for path in sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime_ns):
        # The backend ends each message with a line of 79 dashes.
        for chunk in re.split(rb"\n-{79}\n", path.read_bytes()):
            if chunk.strip():
                messages.append(email.message_from_bytes(chunk.lstrip(b"\n")))
    return messages


def body_of(message: Message) -> str:
    part = next((p for p in message.walk() if p.get_content_type() == "text/plain"), message)
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(part.get_content_charset() or "utf-8")


def link_in_mail(folder: Path, to: str, path_prefix: str) -> str:
    """The last link in mail to `to` whose path starts with `path_prefix`."""
    links = [
        link
        for message in read_mail(folder)
        if to in str(message.get("To", ""))
        for link in re.findall(r"https?://\S+", body_of(message))
        if re.match(r"https?://[^/]+" + re.escape(path_prefix), link)
    ]
    assert links, f"no mail to {to} with a {path_prefix} link in {folder}"
    return links[-1]
