"""In a real browser: sign up and confirm by email, the operator credits a balance, switch to Spanish.

Playwright drives Debian's headless Chromium against `smmpanel serve` on the
test database (tests/browser.py, tests/server.py). Screenshots of every step
are saved to artifacts/<database>/<test name>/.
"""

from decimal import Decimal
from pathlib import Path

import pytest
from browser import (  # noqa: F401  (chromium, mail_dir, panel_server_env, shots, tab: fixtures)
    PASSWORD,
    Tab,
    balance_of,
    chromium,
    link_in_mail,
    mail_dir,
    make_customer,
    make_operator,
    make_shop,
    panel_server_env,
    shots,
    tab,
)
from django.utils import translation
from playwright.sync_api import expect
from server import panel_server  # noqa: F401  (a fixture)

from smmpanel.accounts.models import User
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.money import charge_for
from smmpanel.web.templatetags.money import money

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]


def test_sign_up_confirm_by_email_and_log_in(tab: Tab, mail_dir: Path) -> None:  # noqa: F811
    page = tab.page
    tab.go("/signup/")
    page.fill("#id_username", "carol")
    page.fill("#id_email", "carol@example.com")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    tab.shot("signup-form")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(tab.url("/signup/sent/"))
    tab.shot("confirmation-sent")
    assert not User.objects.get(username="carol").email_confirmed

    # Not confirmed yet: signing in is refused with the reason.
    tab.go("/login/")
    page.fill("#id_username", "carol")
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.get_by_text("Confirm your email address first").wait_for()
    assert tab.path() == "/login/"
    tab.shot("login-refused-unconfirmed")

    link = link_in_mail(mail_dir, "carol@example.com", "/signup/confirm/")
    page.goto(link)
    page.wait_for_url(tab.url("/login/"))
    assert "Your email address is confirmed" in page.locator(".messages").inner_text()
    tab.shot("confirmed")
    assert User.objects.get(username="carol").email_confirmed

    page.fill("#id_username", "carol")
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(tab.url("/dashboard/"))
    assert page.locator(".topbar .account").get_by_text("carol").count() == 1
    assert tab.balance_text() == money(Decimal(0), "balance")
    tab.shot("dashboard")


def test_operator_credits_the_balance_and_the_customer_sees_it(tab: Tab) -> None:  # noqa: F811
    customer = make_customer("dave", "0")
    make_operator()
    page = tab.page

    tab.admin_sign_in()
    tab.shot("admin-home")

    tab.go(f"/admin/accounts/user/{customer.pk}/change/")
    tab.shot("customer-in-admin")
    page.get_by_role("link", name="Adjust balance").click()
    page.wait_for_url(tab.url(f"/admin/accounts/user/{customer.pk}/adjust/"))
    page.fill("#id_amount", "50")
    page.fill("#id_memo", "Bank transfer 2026-001")
    tab.shot("adjust-form")
    page.locator("#adjust-balance").click()
    page.wait_for_url(tab.url(f"/admin/accounts/user/{customer.pk}/change/"))
    tab.shot("adjusted")
    assert balance_of(customer) == Decimal(50)
    entry = LedgerEntry.objects.get(user=customer, kind=LedgerEntry.Kind.ADJUSTMENT)
    assert entry.amount == Decimal(50)

    # The customer, in another browser session, sees the new balance in the top bar.
    page.context.clear_cookies()
    tab.log_in("dave")
    assert tab.balance_text() == money(Decimal(50), "balance") == "50.00 USD"
    tab.shot("customer-balance")


def test_switch_to_spanish(tab: Tab) -> None:  # noqa: F811
    shop = make_shop()
    customer = make_customer("erin", "10")
    page = tab.page
    tab.sign_in_as(customer)
    tab.go("/settings/")
    assert page.locator("html").get_attribute("lang") == "en"
    tab.shot("english")

    with page.expect_navigation() as navigation:
        page.select_option("#language-select", "es")  # site.js submits the form on change
    response = navigation.value
    assert response is not None
    assert tab.path() == "/settings/", "the switch returns to the page it was used on"
    assert page.locator("html").get_attribute("lang") == "es"
    assert response.headers.get("content-language") == "es"
    assert page.locator("#language-select").input_value() == "es"
    customer.refresh_from_db(fields=["language"])
    assert customer.language == "es", "the choice is remembered for the signed-in customer"
    tab.shot("spanish")

    # Other pages follow, in Spanish words (smmpanel/locale/es), and so does the next sign-in.
    spanish = {
        "/order/": ("Nuevo pedido", "Cargo", "Realizar pedido"),
        "/orders/": ("Pedidos", "Buscar por ID de pedido"),
    }
    for path, words in spanish.items():
        tab.go(path)
        assert page.locator("html").get_attribute("lang") == "es"
        main = page.locator("main").text_content() or ""  # as written, not as CSS capitalises it
        for word in words:
            assert word in main, f"{path} is not in Spanish: no {word!r}"
        tab.shot(f"spanish-{path.strip('/')}")
    # The live price, in the Spanish number format.
    tab.go("/order/")
    page.locator("#order-form [name=link]").fill("https://instagram.com/p/Es1")
    page.locator("#order-form [name=quantity]").fill("50")
    with translation.override("es"):
        expected = money(charge_for(shop.default.rate, 50), "charge")
    assert expected == "0,045 USD"
    expect(page.locator("#order-charge")).to_contain_text(expected)
    tab.shot("spanish-live-price")
    page.context.clear_cookies()
    tab.log_in("erin")
    assert page.locator("html").get_attribute("lang") == "es"
    menu = page.locator(".topbar nav").text_content() or ""
    assert "Pedidos" in menu and "Nuevo pedido" in menu, f"the menu is not in Spanish: {menu!r}"
    assert "Cerrar sesión" in page.locator(".topbar").inner_text()
    tab.shot("spanish-dashboard")
