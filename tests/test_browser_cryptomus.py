"""In a real browser: a Cryptomus deposit through the real pages, against the fake Cryptomus.

The fake (tests/fake_cryptomus.py) runs on 127.0.0.1 for the whole module, and the panel's server
is configured for it from the environment, as a deployment managed as code would be
(SMMPANEL_CRYPTOMUS_MERCHANT, _KEY and _URL); the limits, fee and bonus are the operator's, in
the gateway's settings row. A customer chooses Cryptomus on the add-funds page, sees its limits
and the preview, is sent to the fake's invoice page, and returns to the deposit's page while the
payment is still unconfirmed. The fake then marks the invoice paid and posts its signed webhook to
the server's /payments/cryptomus/webhook over HTTP; the open page turns Confirmed by itself
(htmx), the top bar's balance with it, and the transactions page lists the deposit, its bonus
and its fee. English at 1366 px and Spanish at 375 px. Screenshots in artifacts/<database>/<test>/.
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
from fake_cryptomus import KEY, MERCHANT, FakeCryptomus, Invoice
from playwright.sync_api import expect
from server import panel_server  # noqa: F401  (a fixture)

from smmpanel.accounts.models import User
from smmpanel.ledger.models import LedgerEntry
from smmpanel.payments.models import GatewayRecord, GatewaySetting, Payment
from smmpanel.web.templatetags.money import money

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

PAYMENT_PAGE = re.compile(r"/funds/(\d+)/$")


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeCryptomus]:
    """The fake Cryptomus, started before the server that is pointed at it."""
    with FakeCryptomus() as fake:
        yield fake


@pytest.fixture(scope="module")
def panel_server_env(mail_dir: Path, upstream: FakeCryptomus) -> dict[str, str]:  # noqa: F811
    """The server with Cryptomus's keys and base URL from the environment."""
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        **ENGINE_ENV,
        "SMMPANEL_CRYPTOMUS_MERCHANT": MERCHANT,
        "SMMPANEL_CRYPTOMUS_KEY": KEY,
        "SMMPANEL_CRYPTOMUS_URL": upstream.url,
    }


@pytest.fixture
def cryptomus(upstream: FakeCryptomus) -> Iterator[FakeCryptomus]:
    """The operator's limits and rule for Cryptomus: 5 to 500, a fee of 1.5 %, +5 % from 50."""
    upstream.invoices.clear()
    upstream.calls.clear()
    GatewaySetting.objects.create(
        gateway="cryptomus",
        enabled=True,
        min_amount=Decimal(5),
        max_amount=Decimal(500),
        fee_percent=Decimal("1.5"),
        bonus_percent=Decimal(5),
        bonus_from=Decimal(50),
    )
    yield upstream
    call_command("check_ledger")


def customer(name: str, language: str) -> User:
    user = make_customer(name, "100")
    user.language = "" if language == "en" else language
    user.save(update_fields=["language"])
    return user


def choose_and_pay(view: Tab, typed: str, shown: dict[str, str]) -> None:
    """On the add-funds page: Cryptomus, its limits and rule, the amount, the preview, continue."""
    page = view.page
    view.go("/funds/")
    way = page.locator("label.way[for=way-cryptomus]")
    expect(way.locator(".way-title")).to_have_text("Cryptomus")
    expect(page.locator("#terms-cryptomus")).to_contain_text(shown["limits"])
    expect(page.locator("#terms-cryptomus")).to_contain_text(shown["bonus_rule"])
    page.check("#way-cryptomus")
    with view.redrawn("#deposit-preview"):
        page.fill("#id_pay-amount", typed)
    for part in ("pay", "bonus", "fee", "gets"):
        expect(page.locator(f"#preview-{part}")).to_have_text(shown[part])
    view.assert_no_horizontal_scroll()
    view.shot("funds")
    page.click("#pay-online")


def on_the_invoice_page(view: Tab, upstream: FakeCryptomus, payment: Payment) -> Invoice:
    """The fake's checkout page: the invoice the panel created, in USDT, with the way back."""
    page = view.page
    page.wait_for_url(f"{upstream.url}/pay/{payment.gateway_ref}")
    invoice = upstream.invoices[payment.gateway_ref]
    expect(page.locator("#invoice-order")).to_have_text(payment.reference)
    expect(page.locator("#invoice-send")).to_contain_text(f"{invoice.payer_amount:.8f} USDT")
    expect(page.locator("#invoice-status")).to_have_text("check")
    view.shot("cryptomus-invoice")
    return invoice


@pytest.mark.parametrize(("width", "language", "typed"), [("tab", "en", "60"), ("phone", "es", "80,00")])
def test_a_cryptomus_deposit_from_add_funds_to_the_balance(
    request: pytest.FixtureRequest, cryptomus: FakeCryptomus, width: str, language: str, typed: str
) -> None:
    """60 (80 in Spanish): a bonus of 5 %, a fee of 1.5 %, credited once when the webhook comes."""
    view: Tab = request.getfixturevalue(width)
    user = customer(f"crypto-{language}-{width}", language)
    asked = Decimal(typed.replace(",", "."))
    bonus, fee = asked * Decimal("0.05"), asked * Decimal("0.015")
    net = asked + bonus - fee
    with translation.override(language):  # the site's words and numbers, as the server has them
        shown = {
            "limits": gettext("From %(minimum)s to %(maximum)s.")
            % {"minimum": money(Decimal(5), "exact"), "maximum": money(Decimal(500), "exact")},
            "bonus_rule": gettext("Bonus: +%(percent)s %% from %(minimum)s.")
            % {"percent": "5", "minimum": money(Decimal(50), "exact")},
            "pay": money(asked, "exact"),
            "bonus": "+" + money(bonus, "exact"),
            "fee": "−" + money(fee, "exact"),
            "gets": money(net, "exact"),
            "balance": money(100 + net, "balance"),
            "deposit_line": "+" + money(asked, "charge"),
        }
        words = {w: gettext(w) for w in ("Pending", "Confirmed", "Deposit", "Bonus", "Fee")}
    view.sign_in_as(user)
    page = view.page
    expect(page.locator("html")).to_have_attribute("lang", language)

    # 1. Add funds: Cryptomus with its limits and rule, the preview, then off to pay.
    choose_and_pay(view, typed, shown)
    payment = Payment.objects.get(user=user, method="cryptomus")
    [(path, sent)] = cryptomus.calls
    assert (path, sent["order_id"]) == ("/v1/payment", payment.reference)
    assert Decimal(sent["amount"]) == asked
    assert sent["url_callback"] == view.url("/payments/cryptomus/webhook")  # the server's own port
    assert sent["url_return"] == view.url(f"/funds/{payment.pk}/")

    # 2. The fake's invoice page; the customer sends the coins and goes back before they confirm.
    invoice = on_the_invoice_page(view, cryptomus, payment)
    page.click("#invoice-back")
    page.wait_for_url(view.url(f"/funds/{payment.pk}/"))
    expect(page.locator("#deposit-status")).to_have_attribute("data-status", "pending")
    expect(page.locator("#deposit-status")).to_have_text(words["Pending"])
    expect(page.locator("#go-pay")).to_have_attribute("href", invoice.url)
    view.assert_no_horizontal_scroll()
    view.shot("pending")
    assert balance_of(user) == Decimal("100")

    # 3. Cryptomus marks the invoice paid and posts its signed webhook to the panel.
    cryptomus.set_status(invoice.uuid, "paid")
    assert cryptomus.post_webhook(invoice.uuid) == 200

    # 4. The open page follows by itself: Confirmed, what was credited, the top bar's balance.
    expect(page.locator("#deposit-status")).to_have_attribute("data-status", "confirmed")
    expect(page.locator("#deposit-status")).to_have_text(words["Confirmed"])
    expect(page.locator("#deposit-bonus")).to_have_text(shown["bonus"])
    expect(page.locator("#deposit-fee")).to_have_text(shown["fee"])
    expect(page.locator("#deposit-net")).to_have_text(shown["gets"])
    expect(page.locator("#deposit-live")).not_to_have_attribute("hx-trigger", re.compile("every"))
    expect(page.locator(".topbar a.balance")).to_have_text(shown["balance"])
    view.assert_no_horizontal_scroll()
    view.shot("confirmed")
    payment.refresh_from_db()
    assert (payment.status, payment.credited, payment.bonus, payment.fee) == ("confirmed", asked, bonus, fee)
    assert balance_of(user) == 100 + net
    webhooks = GatewayRecord.objects.filter(payment=payment, kind="webhook")
    assert list(webhooks.values_list("http_status", flat=True)) == [200]

    view.go("/dashboard/")
    expect(page.locator("#dashboard-balance")).to_have_text(shown["balance"])
    assert view.balance_text() == shown["balance"]
    view.shot("dashboard")

    # The transactions page: the deposit, its bonus and its fee, named after Cryptomus.
    view.go("/transactions/")
    rows = page.locator("table.ledger tbody tr")
    kinds = rows.evaluate_all("rows => rows.map(row => row.dataset.kind)")
    assert kinds[:3] == ["fee", "bonus", "deposit"]
    for kind in ("deposit", "bonus", "fee"):
        cells = page.locator(f"table.ledger tbody tr[data-kind={kind}] td")
        expect(cells.nth(1)).to_have_text(words[kind.capitalize()])
        expect(cells.nth(2)).to_have_text(f"Cryptomus {payment.reference}")
    expect(page.locator("tr[data-kind=deposit] td.num").first).to_have_text(shown["deposit_line"])
    view.assert_no_horizontal_scroll()
    view.shot("transactions")
    credits = LedgerEntry.objects.filter(user=user, reference__startswith="gateway:cryptomus:")
    assert sorted(credits.values_list("kind", "amount")) == sorted(
        [("deposit", asked), ("bonus", bonus), ("fee", -fee)]
    )
