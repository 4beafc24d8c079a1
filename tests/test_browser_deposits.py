"""In a real browser: adding funds through the demo gateway, from the add-funds page to the balance.

The server runs as under `smmpanel demo` (SMMPANEL_DEMO=1), so the demo gateway is usable: its
page's buttons post a signed webhook to the server's own /payments/demo/webhook over HTTP, and the
panel reads the demo invoice again before crediting. In English and in Spanish, at 1366 and at 375 px:
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


@pytest.mark.parametrize(
    ("width", "language"), [("tab", "en"), ("phone", "es"), ("tab", "es"), ("phone", "en")]
)
def test_pay_underpay_and_fail(
    request: pytest.FixtureRequest, demo_here: None, width: str, language: str
) -> None:
    """Pay 40 (a bonus of 2, 5 % from 20, and a fee of 0.50), underpay 30 (15 paid and credited,
    by SMMPANEL_CREDIT_UNDERPAYMENTS; below 20, no bonus), fail 25: each from the add-funds page."""
    view: Tab = request.getfixturevalue(width)
    user = customer(f"{language}-{width}", "" if language == "en" else language)
    view.sign_in_as(user)
    page = view.page
    with translation.override(language):  # the site's words and numbers, as the server has them
        amounts = {n: money(Decimal(n), "exact") for n in ("41.5", "31", "15", "14.5", "25.75")}
        words = {w: gettext(w) for w in ("Pay online", "Confirmed", "Failed", "Bonus", "Demo gateway")}
        balance = money(Decimal("141.5"), "balance")
    view.go("/funds/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("#pay-online-title")).to_have_text(words["Pay online"])

    start_on_the_funds_page(view, "40", amounts["41.5"])
    payment = press(view, "#demo-pay")
    expect(page.locator("#deposit-status")).to_have_text(words["Confirmed"])
    expect(page.locator("#deposit-net")).to_have_text(amounts["41.5"])
    expect(page.locator("h1 .badge.demo")).to_be_visible()
    view.assert_no_horizontal_scroll()
    view.shot("paid")
    assert (payment.status, payment.credited, payment.bonus) == ("confirmed", 40, 2)
    assert payment.fee == Decimal("0.5")
    assert balance_of(user) == Decimal("141.5")
    assert view.balance_text() == balance

    start_on_the_funds_page(view, "30", amounts["31"])
    payment = press(view, "#demo-underpay")
    expect(page.locator("#deposit-paid")).to_have_text(amounts["15"])
    expect(page.locator("#deposit-net")).to_have_text(amounts["14.5"])
    view.assert_no_horizontal_scroll()
    view.shot("underpaid")
    assert (payment.status, payment.amount_paid, payment.credited) == ("confirmed", 15, 15)
    assert balance_of(user) == Decimal("156")

    typed = "25" if language == "en" else "25,0"
    start_on_the_funds_page(view, typed, amounts["25.75"])
    payment = press(view, "#demo-fail")
    expect(page.locator("#deposit-status")).to_have_text(words["Failed"])
    expect(page.locator("#deposit-paid")).to_have_count(0)  # nothing was paid
    view.shot("failed")
    assert payment.status == "failed" and payment.credited is None
    assert balance_of(user) == Decimal("156")

    # The transactions page: the deposits, their bonus and fee lines, named after the demo gateway.
    view.go("/transactions/")
    kinds = page.locator("table.ledger tbody tr").evaluate_all("rows => rows.map(row => row.dataset.kind)")
    assert kinds[:5] == ["fee", "deposit", "fee", "bonus", "deposit"]
    bonus_row = page.locator("table.ledger tbody tr[data-kind=bonus] td")
    expect(bonus_row.nth(1)).to_have_text(words["Bonus"])
    expect(bonus_row.nth(2)).to_contain_text(f"{words['Demo gateway']} SMM-")
    view.assert_no_horizontal_scroll()
    view.shot("transactions")
    credited = LedgerEntry.objects.filter(user=user, kind="deposit", reference__startswith="gateway:demo:")
    assert credited.count() == 2


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
