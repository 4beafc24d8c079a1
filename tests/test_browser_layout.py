"""In a real browser: every page fits a phone and a desktop in both languages, with the demo
catalogue's longest names; tables on a phone, the API page, the menu, the favicon, the console.

Playwright drives Debian's headless Chromium against `smmpanel serve` on the
test database (tests/browser.py, tests/server.py). Screenshots of every page
are saved to artifacts/<database>/<test name>/.
"""

import re
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from browser import (  # noqa: F401  (chromium, mail_dir, panel_server_env, phone, shots, tab: fixtures)
    Tab,
    chromium,
    mail_dir,
    make_customer,
    panel_server_env,
    phone,
    shots,
    tab,
)
from django.conf import settings
from django.db.models.functions import Length
from django.utils import timezone
from playwright.sync_api import expect
from server import panel_server  # noqa: F401  (a fixture)

from smmpanel.accounts.models import User
from smmpanel.catalog import demo
from smmpanel.catalog.models import Service
from smmpanel.catalog.types import ServiceType
from smmpanel.ledger.money import charge_for
from smmpanel.orders.models import Order
from smmpanel.payments import services as payments
from smmpanel.web.templatetags.money import money

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

LAYOUT_ONLY = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql",
    reason="layout only: where boxes fall does not depend on the database (the SQLite run checks it)",
)
LANGUAGES = ("en", "es")
PUBLIC_PAGES = ["/", "/services/", "/login/", "/signup/", "/api/docs/"]
# A link as long as customers paste them, with no space to break at.
LONG_LINK = "https://www.instagram.com/p/" + "C0nTeNt-with-a-very-long-path_" * 4 + "?igsh=MWx2cGZ6"


@dataclass
class Shop:
    """The demo catalogue (`smmpanel demo`), a customer, and an order of each shape."""

    customer: User
    longest: Service  # the service with the longest name
    single: Order
    dripfeed: Order
    comments: Order

    def customer_pages(self) -> list[str]:
        payment = self.customer.payments.order_by("pk").first()  # type: ignore[attr-defined]
        return [
            "/dashboard/",
            f"/order/?service={self.longest.pk}",
            "/order/mass/",
            "/orders/",
            f"/orders/{self.single.pk}/",
            f"/orders/{self.dripfeed.pk}/",
            f"/orders/{self.comments.pk}/",
            "/funds/",
            f"/funds/{payment.pk}/",
            "/transactions/",
            "/api/",
            "/settings/",
            "/services/",
        ]


def _order(customer: User, service: Service, **fields: object) -> Order:
    now = timezone.now()
    values: dict[str, object] = {"link": LONG_LINK, "quantity": service.max}
    values.update(created_at=now, updated_at=now)
    values.update(fields)
    units = int(values["quantity"]) * int(values.get("runs") or 1)  # type: ignore[call-overload]
    package = service.type in (ServiceType.PACKAGE, ServiceType.CUSTOM_COMMENTS_PACKAGE)
    return Order.objects.create(
        user=customer, service=service, charge=charge_for(service.rate, units, package=package), **values
    )


def demo_shop() -> Shop:
    demo.seed()
    customer = make_customer("a-customer-with-a-long-name", "1000")
    services = Service.objects.order_by(Length("name").desc(), "pk")
    longest = services.first()
    assert longest is not None
    drip = Service.objects.filter(dripfeed=True).order_by(Length("name").desc()).first()
    comments = Service.objects.filter(type=ServiceType.CUSTOM_COMMENTS).first()
    assert drip is not None and comments is not None
    single = _order(customer, longest, status=Order.Status.IN_PROGRESS, start_count=123456, remains=4321)
    parent = _order(
        customer,
        drip,
        kind=Order.Kind.DRIPFEED,
        quantity=drip.max // 4,
        runs=4,
        interval_minutes=1440,
        status=Order.Status.IN_PROGRESS,
    )
    for run in range(2):
        _order(
            customer,
            drip,
            kind=Order.Kind.RUN,
            parent=parent,
            quantity=drip.max // 4,
            status=Order.Status.COMPLETED if run == 0 else Order.Status.IN_PROGRESS,
            created_at=timezone.now() - timedelta(days=1 - run),
        )
    lines = "\n".join(f"Comment number {n} with enough words to wrap on a phone" for n in range(5))
    comments_order = _order(customer, comments, quantity=5, params={"comments": lines})
    payments.request_bank_transfer(customer, Decimal("12345.67"))
    return Shop(customer, longest, single, parent, comments_order)


def show_in(device: Tab, language: str, customer: User) -> None:
    """The site in `language`: the cookie for the public pages, the account's choice once signed in."""
    User.objects.filter(pk=customer.pk).update(language=language)
    device.page.context.clear_cookies()
    device.page.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": device.base_url}]
    )


# Anything on a page that reads as a date, in any form Django's locales write one, and the one
# form each language's pages use (issue 10: never "Dec. 2, 2026, 4:52 a.m." next to "12/02/2026").
A_DATE = re.compile(
    r"[A-Z][a-z]{2}\.? \d{1,2}, \d{4}(?:, \d{1,2}(?::\d{2})? ?[ap]\.m\.|, \d{1,2}:\d{2})?"
    r"|\d{1,2}/\d{1,2}/\d{4}(?: \d{1,2}:\d{2}(?: [ap]\.m\.)?)?"
    r"|\d{1,2} de \w+ de \d{4}(?: a las \d{1,2}:\d{2})?"
)
ONE_DATE_FORM = {
    "en": re.compile(r"[A-Z][a-z]{2} \d{1,2}, \d{4}(?:, \d{2}:\d{2})?"),
    "es": re.compile(r"\d{2}/\d{2}/\d{4}(?: \d{2}:\d{2})?"),
}


def dates_off_form(device: Tab, language: str, path: str) -> list[str]:
    """The dates the page shows that are not written the language's one way (code is the API's
    wire format, d/m/Y in both languages, and is left out)."""
    text = device.page.evaluate(
        """() => { const body = document.body.cloneNode(true);
                   body.querySelectorAll("pre, code").forEach(el => el.remove());
                   return body.textContent; }"""
    )
    return [
        f"[{language}] {path}: the date {match.group(0)!r} is not written the {language} way"
        for match in A_DATE.finditer(text)
        if not ONE_DATE_FORM[language].fullmatch(match.group(0))
    ]


def visit(device: Tab, path: str, language: str, label: str) -> list[str]:
    """Show `path`, take its picture; what reaches past the page's edges, and dates written
    another way than the language's, in words."""
    device.go(path)
    assert device.page.locator("html").get_attribute("lang") == language, path
    device.shot(f"{label}-{language}-{path.strip('/').replace('/', '-').replace('?', '-') or 'home'}")
    return [f"[{language}] {problem}" for problem in device.past_the_edge()] + dates_off_form(
        device, language, path
    )


def mass_results(device: Tab, shop: Shop, language: str, label: str) -> list[str]:
    """The mass order's results: a line placed and a line refused, both with a long link."""
    service = shop.dripfeed.service
    device.go("/order/mass/")
    link = f"{LONG_LINK}&mass={label}-{language}"  # one active order per link: a new link each time
    device.page.fill("#id_orders", f"{service.pk}|{link}|{service.min}\n{service.pk}|{link}|0")
    device.page.locator("#place-mass").click()
    device.page.locator("#mass-results tr.ok").wait_for()
    device.page.locator("#mass-results tr.failed").wait_for()
    device.shot(f"{label}-{language}-mass-results")
    return [f"[{language}] {problem}" for problem in device.past_the_edge()]


# Each mass-order line format (ID|link|quantity ...): its height and line height on the page.
FORMAT_LINES = """() => [...document.querySelectorAll("#mass-format-list dd > code:first-child")]
    .map(code => ({text: code.innerText, height: code.getBoundingClientRect().height,
                   line: parseFloat(getComputedStyle(code).lineHeight)}))"""


def formats_broken(device: Tab, language: str) -> list[str]:
    """On a desktop each line format of the mass order reads on one line, never cut mid-word."""
    lines = device.page.evaluate(FORMAT_LINES)
    assert lines, "the mass order lists no line format"
    return [
        f"[{language}] /order/mass/: the format {line['text']!r} is broken over lines"
        for line in lines
        if line["height"] > 1.5 * line["line"]
    ]


@LAYOUT_ONLY
def test_no_page_reaches_past_the_edge_on_a_phone_or_a_desktop_in_either_language(
    phone: Tab,  # noqa: F811
    tab: Tab,  # noqa: F811
) -> None:
    shop = demo_shop()
    problems: list[str] = []
    for device, label in ((phone, "phone"), (tab, "desktop")):
        for language in LANGUAGES:
            show_in(device, language, shop.customer)
            for path in PUBLIC_PAGES:
                problems += visit(device, path, language, label)
            device.sign_in_as(shop.customer)
            for path in shop.customer_pages():
                problems += visit(device, path, language, label)
                if path == "/order/mass/" and label == "desktop":
                    problems += formats_broken(device, language)
            problems += mass_results(device, shop, language, label)
    assert not problems, "\n".join(problems)
    for device in (phone, tab):
        assert not device.console_errors, device.console_errors
        assert not device.not_found, device.not_found


# Tables on a phone: each cell a line with its label on the left.

# Each shown cell of the page's stacked tables: its label (the ::before box), its height and
# line height, and the text the cell shows.
STACKED_CELLS = """() => [...document.querySelectorAll("table.stack td")]
    .filter(cell => cell.getClientRects().length > 0)
    .map(cell => {
        const label = getComputedStyle(cell, "::before");
        return {
            label: cell.dataset.label, shown: label.content, height: parseFloat(label.height),
            line: parseFloat(label.lineHeight), text: cell.innerText.trim(),
            service: cell.closest("tr").dataset.service || "",
            rate: cell.classList.contains("rate"),
        };
    })"""


def test_phone_tables_keep_their_labels_whole_and_say_each_thing_once(phone: Tab) -> None:  # noqa: F811
    shop = demo_shop()
    package = Service.objects.get(type=ServiceType.PACKAGE)
    packages = (ServiceType.PACKAGE, ServiceType.CUSTOM_COMMENTS_PACKAGE)
    without_options = Service.objects.filter(dripfeed=False, refill=False, cancel=False)
    plain = without_options.exclude(type__in=packages).first()
    assert plain is not None, "the demo catalogue has a service without options"
    words = {"en": ("Price per package", "per package"), "es": ("Precio por paquete", "por paquete")}
    for language in LANGUAGES:
        show_in(phone, language, shop.customer)
        phone.sign_in_as(shop.customer)
        tables = ("/services/", "/orders/", "/dashboard/", "/transactions/", f"/orders/{shop.dripfeed.pk}/")
        for path in tables:
            phone.go(path)
            phone.shot(f"{language}-{path.strip('/').replace('/', '-')}")
            cells = phone.page.evaluate(STACKED_CELLS)
            assert cells, f"{path}: no table"
            for cell in cells:
                if not cell["label"]:  # the order button's cell
                    continue
                where = f"{language} {path} {cell['label']!r}"
                assert cell["shown"] == f'"{cell["label"]}"', where
                assert cell["height"] < 1.5 * cell["line"], f"{where}: the label is broken over lines"
                assert cell["text"], f"{where}: a row with nothing in it"
            if path != "/services/":
                continue
            rates = {cell["service"]: cell for cell in cells if cell["rate"]}
            per_package, suffix = words[language]
            assert rates[str(package.pk)]["label"] == per_package
            assert suffix not in rates[str(package.pk)]["text"], "the label says it already"
            assert "1000" in rates[str(plain.pk)]["label"]
            options = [cell for cell in cells if cell["service"] == str(plain.pk) and not cell["text"]]
            assert not options, "no empty Options row"


# The API page: whole endpoint URLs and curl line, a confirmation before rotating, honest colours.

# For a selector: whether its text is on one line, whether it shows whole, and whether what does
# not show sits in a deliberate scroller (.scroll-x with overflow-x: auto) the customer can scroll.
SHOWN = """selector => {
    const element = document.querySelector(selector);
    const range = document.createRange();
    range.selectNodeContents(element);
    const lines = new Set([...range.getClientRects()].map(rect => Math.round(rect.top))).size;
    const box = element.closest(".scroll-x") || element;
    const scrolls = ["auto", "scroll"].includes(getComputedStyle(box).overflowX);
    return {lines, whole: box.scrollWidth <= box.clientWidth, scrolls, text: element.textContent};
}"""
BACKGROUND = """className => {
    const badge = document.createElement("span");
    badge.className = "badge " + className;
    document.querySelector("main").append(badge);
    const colour = getComputedStyle(badge).backgroundColor;
    badge.remove();
    return colour;
}"""


def test_the_api_page_shows_whole_urls_and_curl_line_and_asks_before_rotating(
    phone: Tab,  # noqa: F811
    tab: Tab,  # noqa: F811
) -> None:
    customer = make_customer("alice", "100")
    key = customer.api_keys.get(is_active=True)  # type: ignore[attr-defined]
    for device in (tab, phone):
        device.sign_in_as(customer)
        device.go("/api/")
        device.shot("api")
        for url in ("#endpoint-v2", "#endpoint-v1"):
            shown = device.page.evaluate(SHOWN, url)
            assert shown["lines"] == 1, f"{url} is broken over {shown['lines']} lines"
            assert shown["whole"] or shown["scrolls"], f"{url} is cut off"
            if device is tab:
                assert shown["whole"], f"{url} does not show whole on a desktop"
        curl = device.page.evaluate(SHOWN, "#curl-example")
        lines = curl["text"].split("\n")
        assert lines[0].startswith("curl -s ") and all(line.endswith(" \\") for line in lines[:-1])
        assert all(line.lstrip().startswith("-d ") for line in lines[1:]), "breaks only before an option"
        assert curl["whole"] or curl["scrolls"], "the curl line is cut off"
        if device is tab:
            assert curl["whole"], "the curl line does not show whole on a desktop"
        device.assert_no_horizontal_scroll()

    # Badge colours follow the state: an active key is not coloured as a pending order.
    page = tab.page
    active = page.locator(".api-key .badge")
    assert active.inner_text() == "Active"
    states = ("pending", "in-progress", "completed", "canceled")
    colours = {name: page.evaluate(BACKGROUND, name) for name in states}
    assert active.evaluate("badge => getComputedStyle(badge).backgroundColor") != colours["pending"]
    assert len(set(colours.values())) == len(colours), colours

    # Rotating asks first; "No" keeps the key. On the phone: the question and the new key fit it too.
    page = phone.page
    page.locator("#rotate-key").click()
    page.locator("#confirm-rotation").wait_for()
    phone.shot("confirm-rotation")
    phone.assert_no_horizontal_scroll()
    assert page.locator("#new-api-key").count() == 0
    key.refresh_from_db()
    assert key.is_active, "nothing is rotated before the customer confirms"
    page.locator("#keep-key").click()
    page.wait_for_url(phone.url("/api/"))
    assert page.locator("#confirm-rotation").count() == 0
    page.locator("#rotate-key").click()
    page.locator("#confirm-rotate").click()
    page.locator("#new-api-key").wait_for()
    phone.shot("rotated")
    key.refresh_from_db()
    assert not key.is_active
    phone.assert_no_horizontal_scroll()


# The top menu, the favicon, and a quiet console while the live price follows fast typing.

MENU_ROWS = """() => new Set([...document.querySelectorAll(".menu nav li")]
    .map(item => Math.round(item.getBoundingClientRect().top))).size"""


def test_the_menu_is_one_row_on_a_desktop_in_both_languages(tab: Tab) -> None:  # noqa: F811
    customer = make_customer("a-customer-with-a-long-name", "123456.78")
    for language in LANGUAGES:
        show_in(tab, language, customer)
        tab.go("/services/")
        assert tab.page.evaluate(MENU_ROWS) == 1, f"{language}: the public menu wraps"
        tab.sign_in_as(customer)
        assert tab.page.locator("html").get_attribute("lang") == language
        tab.shot(f"menu-{language}")
        assert tab.page.locator(".menu nav li").count() == 8  # with Updates
        assert tab.page.evaluate(MENU_ROWS) == 1, f"{language}: the menu wraps"


def test_every_page_has_a_favicon(tab: Tab) -> None:  # noqa: F811
    customer = make_customer("alice", "100")
    tab.go("/")
    icon = tab.page.locator("link[rel=icon]").get_attribute("href")
    assert icon and icon.startswith("/static/")
    answer = tab.page.request.get(tab.url(icon))
    assert answer.status == 200 and answer.headers["content-type"].startswith("image/svg+xml")
    # Browsers ask /favicon.ico whatever the page links to.
    legacy = tab.page.request.get(tab.url("/favicon.ico"), max_redirects=0)
    assert legacy.status in (301, 302) and legacy.headers["location"] == icon
    assert tab.page.request.get(tab.url("/favicon.ico")).status == 200
    tab.sign_in_as(customer)
    for path in ("/order/", "/api/"):
        tab.go(path)
        assert tab.page.locator("link[rel=icon]").get_attribute("href") == icon
    assert not tab.not_found, tab.not_found
    assert not tab.console_errors, tab.console_errors


def test_fast_typing_in_the_order_form_logs_no_error(tab: Tab) -> None:  # noqa: F811
    demo.seed()
    customer = make_customer("alice", "100")
    service = Service.objects.get(name="Instagram Followers [Refill 30 days]")
    tab.sign_in_as(customer)
    tab.go(f"/order/?service={service.pk}")
    page = tab.page
    page.locator("#order-form [name=link]").fill("https://instagram.com/p/Fast1")
    # Each price request takes a second: the next keystroke's request comes while it is on its way.
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 1000, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    quantity = page.locator("#order-form [name=quantity]")
    for digit in "2345":
        quantity.press_sequentially(digit)
        page.wait_for_timeout(400)  # past the form's 250 ms pause, before the answer
    expected = money(charge_for(service.rate, 2345))
    expect(page.locator("#order-charge")).to_contain_text(expected, timeout=15_000)
    tab.shot("typed")
    assert not tab.console_errors, tab.console_errors
