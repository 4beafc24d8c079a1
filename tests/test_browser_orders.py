"""In a real browser: orders of several types through the form with the live price, mass orders, a phone.

Playwright drives Debian's headless Chromium against `smmpanel serve` on the
test database (tests/browser.py, tests/server.py). Screenshots of every step
are saved to artifacts/<database>/<test name>/.
"""

import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from browser import (  # noqa: F401  (chromium, mail_dir, panel_server_env, phone, shots, tab: fixtures)
    TIMEOUT_MS,
    Tab,
    balance_of,
    chromium,
    mail_dir,
    make_customer,
    make_shop,
    panel_server_env,
    phone,
    shots,
    tab,
)
from django.db import transaction
from playwright.sync_api import expect
from server import panel_server  # noqa: F401  (a fixture)

from smmpanel.accounts.models import User
from smmpanel.catalog.models import Service
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.money import MAX_AMOUNT, charge_for
from smmpanel.ledger.services import post
from smmpanel.orders.models import Order
from smmpanel.payments import services as payments
from smmpanel.web.templatetags.money import money

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

ORDER_URL = re.compile(r"/orders/(\d+)/$")


@dataclass
class Request:
    """What the customer types into the new-order form."""

    service: Service
    link: str
    quantity: int | None = None
    comments: list[str] | None = None
    runs: int | None = None  # ticks drip-feed
    interval: int | None = None

    def charge(self) -> Decimal:
        if self.service.type == "package":
            return charge_for(self.service.rate, 1, package=True)
        units = len(self.comments) if self.comments is not None else (self.quantity or 0) * (self.runs or 1)
        return charge_for(self.service.rate, units)


def choose_service(tab: Tab, service: Service) -> None:  # noqa: F811
    """Pick the category, then the service: each choice redraws the form (htmx) below it."""
    page = tab.page
    for select, value in (("#id_category", service.category_id), ("#id_service", service.pk)):
        with tab.redrawn("#order-choice"):
            page.select_option(select, str(value))
    expect(page.locator("#service-name")).to_have_text(service.name)


def place_through_form(tab: Tab, request: Request, label: str) -> Order:  # noqa: F811
    """Fill /order/ for `request`, check the live price, place it; the order placed."""
    page = tab.page
    tab.go("/order/")
    choose_service(tab, request.service)
    form = page.locator("#order-form")
    form.locator("[name=link]").fill(request.link)
    if request.quantity is not None:
        form.locator("[name=quantity]").fill(str(request.quantity))
    if request.comments is not None:
        form.locator("textarea[name=comments]").fill("\n".join(request.comments))
    if request.runs is not None:
        page.check("#id_dripfeed")
        form.locator("[name=runs]").fill(str(request.runs))
        form.locator("[name=interval]").fill(str(request.interval or 1))
    expected = money(request.charge(), "charge")
    expect(page.locator("#order-charge")).to_contain_text(expected, timeout=TIMEOUT_MS)
    tab.shot(f"{label}-form")
    page.locator("#place-order").click()
    page.wait_for_url(ORDER_URL)
    match = ORDER_URL.search(page.url)
    assert match, page.url
    status = page.locator("#order-status")
    expect(status).to_have_attribute("data-status", re.compile(r"^[a-z_]+$"))
    tab.shot(f"{label}-placed")
    order = Order.objects.get(pk=int(match.group(1)))
    assert order.service_id == request.service.pk
    assert order.link == request.link
    assert order.charge == request.charge()
    assert status.get_attribute("data-status") == order.status
    return order


def test_orders_of_four_types_through_the_form_with_the_live_price(tab: Tab) -> None:  # noqa: F811
    shop = make_shop()
    customer = make_customer("alice", "100")
    tab.sign_in_as(customer)
    tab.shot("dashboard")
    requests = {
        "default": Request(shop.default, "https://instagram.com/p/Default1", quantity=50),
        "dripfeed": Request(shop.default, "https://instagram.com/p/Drip1", quantity=100, runs=3, interval=10),
        "package": Request(shop.package, "https://instagram.com/p/Pack1"),
        "comments": Request(
            shop.comments, "https://instagram.com/p/Comments1", comments=["Great shot!", "Love it", "Wow"]
        ),
    }
    assert money(requests["default"].charge(), "charge") == "0.045 USD"  # the example of the brief
    assert requests["dripfeed"].charge() == Decimal("0.27")  # 0.90 x 100 x 3 runs / 1000
    assert requests["comments"].charge() == Decimal("0.036")  # 12.00 x 3 comments / 1000
    orders = {label: place_through_form(tab, request, label) for label, request in requests.items()}

    drip = orders["dripfeed"]
    assert drip.kind == Order.Kind.DRIPFEED and (drip.runs, drip.interval_minutes) == (3, 10)
    assert orders["comments"].params["comments"] == "Great shot!\nLove it\nWow"
    assert orders["package"].quantity == 1
    spent = sum((request.charge() for request in requests.values()), Decimal(0))
    assert balance_of(customer) == Decimal(100) - spent
    assert tab.balance_text() == money(Decimal(100) - spent, "balance")

    tab.go("/orders/")
    rows = tab.page.locator("main table tbody tr")
    assert rows.count() == len(orders)
    for order in orders.values():
        assert tab.page.locator(f"main table a[href='/orders/{order.pk}/']").count() >= 1
    tab.shot("orders-list")


def test_live_price_follows_the_typing_and_errors_are_shown(tab: Tab) -> None:  # noqa: F811
    shop = make_shop()
    customer = make_customer("alice", "100")
    tab.sign_in_as(customer)
    page = tab.page
    tab.go("/order/")
    choose_service(tab, shop.default)
    page.locator("[name=link]").fill("https://instagram.com/p/Live1")
    for quantity in (50, 1000, 2345):
        page.locator("[name=quantity]").fill(str(quantity))
        expected = money(charge_for(shop.default.rate, quantity), "charge")
        expect(page.locator("#order-charge")).to_contain_text(expected, timeout=TIMEOUT_MS)
    tab.shot("live-price")

    # Below the minimum: the same refusal as the API's, nothing placed, nothing charged.
    page.locator("[name=quantity]").fill("10")
    page.locator("#place-order").click()
    page.wait_for_load_state()
    assert tab.path().startswith("/order/")
    assert re.search(r"50", page.locator("main").inner_text())
    tab.shot("below-minimum")
    assert not Order.objects.exists()
    assert balance_of(customer) == Decimal(100)


def test_mass_order_with_one_bad_line(tab: Tab) -> None:  # noqa: F811
    shop = make_shop()
    customer = make_customer("alice", "100")
    tab.sign_in_as(customer)
    page = tab.page
    tab.go("/order/mass/")
    service = shop.default.pk
    lines = [
        f"{service}|https://instagram.com/p/Mass1|100",
        f"{service}|https://instagram.com/p/Mass2|10",  # below the minimum of 50
        f"{service}|https://instagram.com/p/Mass3|200",
    ]
    page.fill("#id_orders", "\n".join(lines))
    tab.shot("mass-form")
    page.locator("#place-mass").click()
    results = page.locator("#mass-results")
    results.wait_for()
    tab.shot("mass-results")

    ok, failed = results.locator("tr.ok"), results.locator("tr.failed")
    assert ok.count() == 2
    assert failed.count() == 1
    assert "Mass2" in failed.inner_text()
    assert re.search(r"minim\w*\D+50\b", failed.inner_text(), re.IGNORECASE), failed.inner_text()
    placed = Order.objects.filter(user=customer).order_by("pk")
    assert [order.link for order in placed] == [
        "https://instagram.com/p/Mass1",
        "https://instagram.com/p/Mass3",
    ]
    charged = charge_for(shop.default.rate, 100) + charge_for(shop.default.rate, 200)
    assert balance_of(customer) == Decimal(100) - charged
    assert tab.balance_text() == money(Decimal(100) - charged, "balance"), "the top bar shows the new balance"
    for order in placed:
        assert ok.locator(f"a[href='/orders/{order.pk}/']").count() == 1, f"no link to order {order.pk}"


def test_the_order_form_and_orders_list_on_a_phone(phone: Tab) -> None:  # noqa: F811
    shop = make_shop()
    customer = make_customer("alice", "100")
    phone.sign_in_as(customer)
    phone.go("/order/")
    phone.assert_no_horizontal_scroll()
    phone.shot("new-order")
    request = Request(shop.default, "https://instagram.com/p/Phone1", quantity=500, runs=2, interval=30)
    order = place_through_form(phone, request, "phone")
    phone.assert_no_horizontal_scroll()
    phone.go("/orders/")
    phone.assert_no_horizontal_scroll()
    phone.shot("orders")
    assert phone.page.locator(f"main a[href='/orders/{order.pk}/']").count() >= 1
    assert balance_of(customer) == Decimal(100) - request.charge()


def test_the_largest_amounts_fit_a_phone_and_a_desktop_in_both_languages(
    phone: Tab,  # noqa: F811
    tab: Tab,  # noqa: F811
) -> None:
    customer = make_customer("rich", "100")
    with transaction.atomic():
        post(customer.pk, MAX_AMOUNT - 100, LedgerEntry.Kind.ADJUSTMENT, "test:largest", memo="Largest")
    payment = payments.request_bank_transfer(customer, MAX_AMOUNT)
    pages = ["/dashboard/", "/funds/", f"/funds/{payment.pk}/", "/transactions/"]
    for language in ("en", "es"):
        User.objects.filter(pk=customer.pk).update(language=language)
        # The desktop has room to spare: Spanish (the longer words) is enough there.
        for device in (phone, tab) if language == "es" else (phone,):
            device.sign_in_as(customer)
            for path in pages:
                device.go(path)
                device.shot(f"{language}-{path.strip('/').replace('/', '-')}")
                device.assert_no_horizontal_scroll()
                assert "999" in device.balance_text()
