"""With JavaScript off, everything but the live parts works: choose a service, order, mass order,
cancel, switch the language; the menu shows. Chromium, JavaScript disabled in its context."""

import re
from decimal import Decimal

import pytest
from browser import (  # noqa: F401  (chromium, mail_dir, no_js_tab, panel_server_env, shots: fixtures)
    Tab,
    balance_of,
    chromium,
    mail_dir,
    make_customer,
    make_shop,
    no_js_tab,
    panel_server_env,
    shots,
)
from server import panel_server  # noqa: F401  (a fixture)

from smmpanel.accounts.models import User
from smmpanel.catalog.models import Category, Service
from smmpanel.catalog.types import ServiceType
from smmpanel.ledger.money import charge_for
from smmpanel.orders.models import Order

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]


def test_a_customer_without_javascript_orders_and_follows_orders(no_js_tab: Tab) -> None:  # noqa: F811
    tab, page = no_js_tab, no_js_tab.page
    shop = make_shop()
    other = Category.objects.create(name="TikTok", sort_order=2)
    views = Service.objects.create(
        category=other,
        name="TikTok Views",
        type=ServiceType.DEFAULT,
        rate=Decimal("0.10"),
        min=100,
        max=10**6,
        cancel=True,
        provider=shop.provider,
    )
    customer = make_customer("alice", "100")
    tab.sign_in_as(customer)
    assert page.locator("nav a", has_text="Orders").is_visible(), "the menu shows without JavaScript"

    # Choose the other category and its service with the "Choose" button: the page reloads.
    tab.go("/order/")
    page.select_option("#id_category", str(other.pk))
    page.locator("#choose-service").click()
    page.wait_for_load_state()
    assert page.locator("#service-name").inner_text() == "TikTok Views"
    tab.shot("chosen")

    # A mistake comes back with its message and what was typed, then the order goes through.
    page.fill("#order-form [name=link]", "https://www.tiktok.com/@someone/video/1")
    page.fill("#order-form [name=quantity]", "50")
    page.locator("#place-order").click()
    page.wait_for_load_state()
    assert "The minimum for this service is 100." in page.locator("#order-form").inner_text()
    assert page.input_value("#order-form [name=link]") == "https://www.tiktok.com/@someone/video/1"
    tab.shot("refused")
    page.fill("#order-form [name=quantity]", "5000")
    page.locator("#place-order").click()
    page.wait_for_url(re.compile(r"/orders/\d+/$"))
    order = Order.objects.get(user=customer)
    assert (order.service_id, order.quantity) == (views.pk, 5000)
    assert balance_of(customer) == Decimal(100) - charge_for(views.rate, 5000)
    assert page.locator("#order-status").get_attribute("data-status") == "pending"
    tab.shot("placed")

    # Cancel it from its page.
    page.locator("#cancel-button").click()
    page.wait_for_load_state()
    order.refresh_from_db()
    assert order.cancel_requested_at is not None
    tab.shot("cancel-requested")

    # A mass order with one bad line.
    tab.go("/order/mass/")
    page.fill(
        "#id_orders", f"{shop.default.pk}|https://instagram.com/p/NoJs1|100\n{shop.default.pk}|bad link|100"
    )
    page.locator("#place-mass").click()
    page.wait_for_load_state()
    assert page.locator("#mass-results tr.ok").count() == 1
    assert page.locator("#mass-results tr.failed").count() == 1
    tab.shot("mass")

    # The language switch has its own button without JavaScript.
    page.select_option("#language-select", "es")
    page.locator("form.language button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.locator("nav a", has_text="Pedidos").is_visible()
    assert User.objects.get(pk=customer.pk).language == "es"
    tab.shot("spanish")
