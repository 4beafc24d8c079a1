"""In a real browser: adding funds through the demo gateway, from the add-funds page to the balance.

The server runs as under `smmpanel demo` (SMMPANEL_DEMO=1), so the demo gateway is usable: its
page's buttons post a signed webhook to the server's own /payments/demo/webhook over HTTP, and the
panel reads the demo invoice again before crediting. In English at 1366 px and in Spanish at 375 px:
Pay (with a bonus and a fee), Underpay (half) and Fail; and a deposit's page that follows a payment
made elsewhere by itself. Screenshots in artifacts/<database>/<test>/.
"""

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from browser import (  # noqa: F401  (chromium, mail_dir, phone, shots, tab: fixtures)
    ENGINE_ENV,
    Tab,
    balance_of,
    chromium,
    mail_dir,
    make_customer,
    phone,
    shots,
    tab,
)
from django.core.management import call_command
from django.utils import translation
from django.utils.translation import gettext
from playwright.sync_api import expect
from server import panel_server  # noqa: F401  (a fixture)

from smmpanel.accounts.models import User
from smmpanel.ledger.models import LedgerEntry
from smmpanel.payments.gateways import demo
from smmpanel.payments.models import GatewaySetting, Payment
from smmpanel.web.templatetags.money import money

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

DEMO_PAGE = re.compile(r"/funds/demo-gateway/(demo-[0-9a-f]+)/$")
PAYMENT_PAGE = re.compile(r"/funds/(\d+)/$")


@pytest.fixture(scope="module")
def panel_server_env(mail_dir: Path) -> dict[str, str]:  # noqa: F811
    """The server as `smmpanel demo` starts it: the demo gateway usable."""
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        **ENGINE_ENV,
        demo.ENVIRONMENT: "1",
    }


@pytest.fixture
def demo_here(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The test process plays the demo too (it reads the gateway's state as the server does)."""
    monkeypatch.setenv(demo.ENVIRONMENT, "1")
    GatewaySetting.objects.create(
        gateway="demo",
        enabled=True,
        bonus_percent=Decimal(5),
        bonus_from=Decimal(20),
        fee_fixed=Decimal("0.5"),
    )
    yield
    call_command("check_ledger")


def customer(name: str, language: str = "") -> User:
    user = make_customer(name, "100")
    user.language = language
    user.save(update_fields=["language"])
    return user


def start_on_the_funds_page(tab: Tab, amount: str, gets: str) -> str:  # noqa: F811
    """Choose the demo gateway, type the amount, see the preview, continue: the demo invoice's id."""
    page = tab.page
    tab.go("/funds/")
    expect(page.locator("label.way .badge.demo")).to_be_visible()
    page.check("#way-demo")
    with tab.redrawn("#deposit-preview"):
        page.fill("#id_pay-amount", amount)
    expect(page.locator("#preview-gets")).to_have_text(gets)
    tab.assert_no_horizontal_scroll()
    tab.shot(f"funds-{amount}")
    page.click("#pay-online")
    page.wait_for_url(DEMO_PAGE)
    expect(page.locator("#demo-banner")).to_be_visible()
    tab.assert_no_horizontal_scroll()
    tab.shot("demo-gateway")
    found = DEMO_PAGE.search(page.url)
    assert found
    return found.group(1)


def press(tab: Tab, button: str) -> Payment:  # noqa: F811
    """A button on the demo gateway's page: back on the deposit's page, its state stored."""
    tab.page.click(button)
    tab.page.wait_for_url(PAYMENT_PAGE)
    found = PAYMENT_PAGE.search(tab.page.url)
    assert found
    return Payment.objects.get(pk=found.group(1))


def test_pay_underpay_and_fail_in_english(tab: Tab, demo_here: None) -> None:  # noqa: F811
    alice = customer("alice")
    tab.sign_in_as(alice)
    page = tab.page

    # Pay 40: 40 credited, a bonus of 2 (5 % from 20), a fee of 0.50.
    start_on_the_funds_page(tab, "40", money(Decimal("41.5"), "exact"))
    payment = press(tab, "#demo-pay")
    expect(page.locator("#deposit-status")).to_have_attribute("data-status", "confirmed")
    expect(page.locator("#deposit-net")).to_have_text(money(Decimal("41.5"), "exact"))
    expect(page.locator("h1 .badge.demo")).to_have_text("Demo")
    tab.shot("paid")
    assert (payment.status, payment.credited, payment.bonus, payment.fee) == (
        "confirmed",
        40,
        2,
        Decimal("0.5"),
    )
    assert balance_of(alice) == Decimal("141.5")
    assert tab.balance_text() == money(Decimal("141.5"), "balance")

    # Underpay 30: half paid, and credited (SMMPANEL_CREDIT_UNDERPAYMENTS); the bonus from 20 does not apply.
    start_on_the_funds_page(tab, "30", money(Decimal("31"), "exact"))
    payment = press(tab, "#demo-underpay")
    expect(page.locator("#deposit-paid")).to_have_text(money(Decimal("15"), "exact"))
    expect(page.locator("#deposit-net")).to_have_text(money(Decimal("14.5"), "exact"))
    tab.shot("underpaid")
    assert (payment.status, payment.amount_paid, payment.credited) == ("confirmed", 15, 15)
    assert balance_of(alice) == Decimal("156")

    # Fail: nothing moves.
    start_on_the_funds_page(tab, "25", money(Decimal("25.75"), "exact"))
    payment = press(tab, "#demo-fail")
    expect(page.locator("#deposit-status")).to_have_attribute("data-status", "failed")
    tab.shot("failed")
    assert payment.status == "failed" and payment.credited is None
    assert balance_of(alice) == Decimal("156")

    # The transactions page: the deposits, their bonus and fee lines, named after the demo gateway.
    tab.go("/transactions/")
    kinds = page.locator("table.ledger tbody tr").evaluate_all("rows => rows.map(row => row.dataset.kind)")
    assert kinds[:5] == ["fee", "deposit", "fee", "bonus", "deposit"]
    expect(page.locator("table.ledger tbody tr[data-kind=bonus] td").nth(1)).to_have_text("Bonus")
    expect(page.locator("table.ledger tbody tr[data-kind=bonus] td").nth(2)).to_contain_text(
        "Demo gateway SMM-"
    )
    tab.assert_no_horizontal_scroll()
    tab.shot("transactions")
    credited = LedgerEntry.objects.filter(user=alice, kind="deposit", reference__startswith="gateway:demo:")
    assert credited.count() == 2


def test_pay_underpay_and_fail_in_spanish_on_a_phone(phone: Tab, demo_here: None) -> None:  # noqa: F811
    ana = customer("ana", "es")
    phone.sign_in_as(ana)
    page = phone.page
    with translation.override("es"):  # the site's own words and numbers, as the server has them
        asked, paid = money(Decimal("40"), "exact"), money(Decimal("41.5"), "exact")
        half, half_net = money(Decimal("10"), "exact"), money(Decimal("9.5"), "exact")
        underpaid, failed = money(Decimal("20.5"), "exact"), money(Decimal("12"), "exact")
        pay_online, confirmed, bonus = gettext("Pay online"), gettext("Confirmed"), gettext("Bonus")
    assert "," in asked  # 40,00 USD

    phone.go("/funds/")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("#pay-online-title")).to_have_text(pay_online)
    start_on_the_funds_page(phone, "40", paid)
    payment = press(phone, "#demo-pay")
    expect(page.locator("#deposit-status")).to_have_attribute("data-status", "confirmed")
    expect(page.locator("#deposit-asked")).to_have_text(asked)
    expect(page.locator("#deposit-status")).to_have_text(confirmed)
    phone.assert_no_horizontal_scroll()
    phone.shot("pagado")
    assert balance_of(ana) == Decimal("141.5")

    start_on_the_funds_page(phone, "20", underpaid)
    payment = press(phone, "#demo-underpay")
    expect(page.locator("#deposit-paid")).to_have_text(half)
    expect(page.locator("#deposit-net")).to_have_text(half_net)
    phone.assert_no_horizontal_scroll()
    phone.shot("pago-parcial")
    assert balance_of(ana) == Decimal("151")

    start_on_the_funds_page(phone, "12,5", failed)
    payment = press(phone, "#demo-fail")
    expect(page.locator("#deposit-status")).to_have_attribute("data-status", "failed")
    phone.shot("fallido")
    assert payment.status == "failed" and balance_of(ana) == Decimal("151")

    phone.go("/transactions/")
    expect(page.locator("table.ledger tbody tr[data-kind=bonus] td").nth(1)).to_have_text(bonus)
    phone.assert_no_horizontal_scroll()
    phone.shot("movimientos")


def test_the_deposit_page_follows_a_payment_made_elsewhere(tab: Tab, demo_here: None) -> None:  # noqa: F811
    bob = customer("bob")
    tab.sign_in_as(bob)
    ref = start_on_the_funds_page(tab, "10", money(Decimal("9.5"), "exact"))  # below 20: no bonus
    tab.page.click("#demo-back")
    payment = Payment.objects.get(gateway_ref=ref)
    tab.page.wait_for_url(tab.url(f"/funds/{payment.pk}/"))
    expect(tab.page.locator("#deposit-status")).to_have_attribute("data-status", "pending")
    expect(tab.page.locator("#go-pay")).to_have_attribute("href", tab.url(f"/funds/demo-gateway/{ref}/"))
    tab.shot("pending")

    # The demo gateway is paid from another window: the open page shows it by itself (htmx).
    assert demo.choose(ref, "pay")
    assert demo.notify(ref) == 200
    expect(tab.page.locator("#deposit-status")).to_have_attribute("data-status", "confirmed")
    expect(tab.page.locator("#deposit-live")).not_to_have_attribute("hx-trigger", re.compile("every"))
    tab.shot("confirmed-by-itself")
    assert balance_of(bob) == Decimal("109.5")
