"""Paying through a gateway on the customer's site, with Django's test client: the ways to pay on
the add-funds page, the fee and bonus preview's exact numbers, the limits, a gateway that may not
be used, a deposit's live page, and the demo gateway's own checks (its page, its signed webhook,
its state read again before money moves). The same from a real browser, with the demo gateway's
webhook over HTTP: tests/test_browser_deposits.py."""

import json
import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from conftest import Customer
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import translation

from smmpanel.ledger.models import LedgerEntry
from smmpanel.payments import deposits
from smmpanel.payments.gateways import base, demo
from smmpanel.payments.models import DemoInvoice, GatewaySetting, Payment
from smmpanel.web.views.funds import memo_shown


def page(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


@pytest.fixture
def as_alice(client: Client, alice: Customer) -> Client:
    client.force_login(alice.user)
    return client


@pytest.fixture
def under_demo(monkeypatch: pytest.MonkeyPatch, db: None) -> Iterator[GatewaySetting]:
    """As under `smmpanel demo`: the demo gateway usable, with a fee and a bonus."""
    monkeypatch.setenv(demo.ENVIRONMENT, "1")
    yield GatewaySetting.objects.create(
        gateway="demo",
        enabled=True,
        fee_percent=Decimal("2.5"),
        fee_fixed=Decimal("0.30"),
        bonus_percent=Decimal("5"),
        bonus_from=Decimal("100"),
    )
    call_command("check_ledger")


def preview(client: Client, amount: str, method: str = "demo") -> str:
    response = client.post(
        reverse("deposit_preview"), {"pay-method": method, "pay-amount": amount}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    return page(response)


def shown(text: str, name: str) -> str | None:
    found = re.search(rf'id="{name}"[^>]*>([^<]+)<', text)
    return found.group(1) if found else None


def pay(client: Client, amount: str, method: str = "demo") -> object:
    return client.post(reverse("funds"), {"way": "gateway", "pay-method": method, "pay-amount": amount})


# The add-funds page --------------------------------------------------------------------------


def test_the_funds_page_lists_the_demo_gateway_with_its_fee_and_bonus(
    as_alice: Client, under_demo: GatewaySetting
) -> None:
    text = page(as_alice.get(reverse("funds")))
    assert 'id="way-demo"' in text and 'class="badge demo"' in text
    assert "Demo gateway" in text and "no money moves" in text
    # Each "%" kept on the line of its number (a no-break space).
    assert "Fee: 2.5\u00a0% + 0.30 USD." in text and "Bonus: +5\u00a0% from 100.00 USD." in text
    assert 'id="request-funds"' in text  # the bank transfer is still offered, as before


def test_the_operators_name_and_instructions_in_the_readers_language(
    as_alice: Client, under_demo: GatewaySetting
) -> None:
    under_demo.names = {"en": "Try it", "es": "Pruébelo"}
    under_demo.instructions = {"en": "Nothing is real here."}
    under_demo.save(update_fields=["names", "instructions"])
    english = page(as_alice.get(reverse("funds")))
    assert "Try it" in english and "Nothing is real here." in english
    spanish = page(as_alice.get(reverse("funds"), HTTP_ACCEPT_LANGUAGE="es"))
    assert "Pruébelo" in spanish
    assert "Nothing is real here." in spanish  # no Spanish text: the site's language's


def test_without_smmpanel_demo_the_demo_gateway_is_nowhere(
    as_alice: Client, alice: Customer, monkeypatch: pytest.MonkeyPatch
) -> None:
    GatewaySetting.objects.create(gateway="demo", enabled=True)  # the console cannot turn it on
    monkeypatch.delenv(demo.ENVIRONMENT, raising=False)
    text = page(as_alice.get(reverse("funds")))
    assert 'id="way-demo"' not in text and 'id="pay-form"' not in text
    response = pay(as_alice, "25")
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert "Choose a way to pay." in page(response)
    assert shown(preview(as_alice, "25"), "deposit-preview-error") == "Choose a way to pay."
    assert Payment.objects.count() == 0 and DemoInvoice.objects.count() == 0
    assert as_alice.get(reverse("demo_gateway", args=["demo-0"])).status_code == 404
    assert Client().post("/payments/demo/webhook", b"{}", content_type="application/json").status_code == 404


def test_a_gateway_the_operator_turned_off_is_refused(as_alice: Client, under_demo: GatewaySetting) -> None:
    under_demo.enabled = False
    under_demo.save(update_fields=["enabled"])
    assert 'id="way-demo"' not in page(as_alice.get(reverse("funds")))
    assert "Choose a way to pay." in page(pay(as_alice, "25"))
    assert "Choose a way to pay." in page(pay(as_alice, "25", method="bank_transfer"))  # its own form
    assert Payment.objects.count() == 0


# The preview ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "bonus", "fee", "gets"),
    [
        ("100", "+5.00 USD", "−2.80 USD", "102.20 USD"),  # 100 + 5 - (2.50 + 0.30)
        ("99.99", None, "−2.79975 USD", "97.19025 USD"),  # below 100: no bonus; 2.49975 + 0.30
        ("1", None, "−0.325 USD", "0.675 USD"),
        ("250.5", "+12.525 USD", "−6.5625 USD", "256.4625 USD"),
    ],
)
def test_the_preview_shows_what_the_balance_gets_to_the_last_decimal(
    as_alice: Client, under_demo: GatewaySetting, amount: str, bonus: str | None, fee: str, gets: str
) -> None:
    text = preview(as_alice, amount)
    assert (shown(text, "preview-bonus"), shown(text, "preview-fee"), shown(text, "preview-gets")) == (
        bonus,
        fee,
        gets,
    )
    assert Payment.objects.count() == 0  # a preview writes nothing


def test_the_preview_in_spanish_and_its_errors(as_alice: Client, under_demo: GatewaySetting) -> None:
    as_alice.defaults["HTTP_ACCEPT_LANGUAGE"] = "es"
    text = preview(as_alice, "100,5")
    assert shown(text, "preview-gets") == "102,7125 USD"  # 100.5 + 5.025 - 2.8125
    assert shown(preview(as_alice, ""), "deposit-preview-empty") is not None
    assert shown(preview(as_alice, "abc"), "deposit-preview-error")


def test_the_gateways_minimum_and_maximum_are_refused_with_the_limit(
    as_alice: Client, under_demo: GatewaySetting
) -> None:
    under_demo.min_amount, under_demo.max_amount = Decimal(10), Decimal(500)
    under_demo.save(update_fields=["min_amount", "max_amount"])
    assert "From 10.00 USD to 500.00 USD." in page(as_alice.get(reverse("funds")))
    low = "The smallest amount for this method is 10 USD."
    high = "The largest amount for this method is 500 USD."
    assert shown(preview(as_alice, "9.99"), "deposit-preview-error") == low
    assert shown(preview(as_alice, "500.01"), "deposit-preview-error") == high
    for amount, message in (("9.99", low), ("500.01", high)):
        text = page(pay(as_alice, amount))
        assert message in text and f'value="{amount}"' in text  # what was typed is kept
    assert Payment.objects.count() == 0 and DemoInvoice.objects.count() == 0
    assert pay(as_alice, "500")["Location"].startswith("http://testserver/funds/demo-gateway/")  # type: ignore[index]


def test_the_bank_transfer_is_unchanged(
    as_alice: Client, alice: Customer, under_demo: GatewaySetting
) -> None:
    response = as_alice.post(reverse("funds"), {"amount": "25.50"})
    payment = Payment.objects.get()
    assert response["Location"] == reverse("payment", args=[payment.pk])  # type: ignore[index]
    assert (payment.method, payment.amount, payment.status) == ("bank_transfer", Decimal("25.5"), "pending")
    text = page(as_alice.get(response["Location"]))  # type: ignore[index]
    assert 'id="payment-reference"' in text and 'id="cancel-payment"' in text
    assert "deposit-live" not in text  # the bank transfer's own page, not a gateway's
    assert DemoInvoice.objects.count() == 0


# Starting a deposit ----------------------------------------------------------------------------


def test_paying_sends_the_customer_to_the_gateway_with_addresses_back(
    as_alice: Client, alice: Customer, under_demo: GatewaySetting, settings: object
) -> None:
    response = pay(as_alice, "25")
    payment = Payment.objects.get()
    invoice = DemoInvoice.objects.get()
    assert response["Location"] == f"http://testserver/funds/demo-gateway/{invoice.ref}/"  # type: ignore[index]
    assert (payment.method, payment.status, payment.gateway_ref) == ("demo", "pending", invoice.ref)
    assert invoice.back_url == f"http://testserver/funds/{payment.pk}/"
    assert invoice.webhook_url == "http://testserver/payments/demo/webhook"
    assert alice.balance() == Decimal("100")

    settings.SMMPANEL_SITE_URL = "https://panel.example"  # type: ignore[attr-defined]
    response = pay(as_alice, "30")
    invoice = DemoInvoice.objects.get(amount=30)
    assert invoice.webhook_url == "https://panel.example/payments/demo/webhook"
    assert response["Location"] == f"https://panel.example/funds/demo-gateway/{invoice.ref}/"  # type: ignore[index]


def test_a_gateway_that_fails_to_start_says_so_on_the_form(
    as_alice: Client, under_demo: GatewaySetting, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*args: object) -> base.Checkout:
        raise base.Unreachable("timed out")

    monkeypatch.setattr(demo.DemoGateway, "start", down)
    response = pay(as_alice, "25")
    assert response.status_code == 200  # type: ignore[attr-defined]
    text = page(response)
    assert "The payment service did not answer as expected. Try again in a few minutes." in text
    assert 'value="25"' in text  # nothing the customer typed is lost
    assert Payment.objects.get().status == "failed"  # the attempt is on record


# The deposit's page and the demo gateway ------------------------------------------------------


def signed(body: dict[str, object], signature: str | None = None) -> tuple[int, str]:
    raw = json.dumps(body).encode()
    response = Client().post(
        "/payments/demo/webhook",
        raw,
        content_type="application/json",
        HTTP_X_DEMO_SIGNATURE=demo.sign(raw) if signature is None else signature,
    )
    return response.status_code, response.content.decode().strip()


def test_the_deposit_page_follows_the_payment_until_it_is_final(
    as_alice: Client, alice: Customer, under_demo: GatewaySetting
) -> None:
    pay(as_alice, "100")
    payment = Payment.objects.get()
    live = page(as_alice.get(reverse("payment", args=[payment.pk]), HTTP_HX_REQUEST="true"))
    assert live.startswith('<div id="deposit-live"') and 'hx-trigger="every 3s"' in live
    assert 'data-status="pending"' in live and 'id="go-pay"' in live and "Demo" in live

    assert demo.choose(payment.gateway_ref, "pay")
    assert not demo.choose(payment.gateway_ref, "fail")  # the gateway's state is final
    assert signed({"invoice": payment.gateway_ref}) == (200, "credited")
    assert signed({"invoice": payment.gateway_ref}) == (200, "unchanged (confirmed)")
    live = page(as_alice.get(reverse("payment", args=[payment.pk]), HTTP_HX_REQUEST="true"))
    assert "hx-trigger" not in live and 'data-status="confirmed"' in live
    facts = {
        name: shown(live, name)
        for name in ("deposit-paid", "deposit-credited", "deposit-bonus", "deposit-fee")
    }
    assert facts == {
        "deposit-paid": "100.00 USD",
        "deposit-credited": "100.00 USD",
        "deposit-bonus": "+5.00 USD",
        "deposit-fee": "−2.80 USD",
    }
    assert "<strong>102.20 USD</strong>" in live
    assert alice.balance() == Decimal("202.2")


def test_a_forged_or_unknown_demo_webhook_moves_nothing(
    as_alice: Client, alice: Customer, under_demo: GatewaySetting
) -> None:
    pay(as_alice, "20")
    payment = Payment.objects.get()
    demo.choose(payment.gateway_ref, "pay")
    assert signed({"invoice": payment.gateway_ref}, signature="0" * 64)[0] == 403
    assert signed({"invoice": payment.gateway_ref}, signature="")[0] == 403
    assert signed({"invoice": "demo-unknown"})[0] == 422
    assert signed({"nothing": 1})[0] == 400
    assert alice.balance() == Decimal("100")
    payment.refresh_from_db()
    assert payment.status == "pending"


def test_the_demo_page_is_the_customers_own_and_a_lost_webhook_is_found_by_the_poll(
    as_alice: Client, alice: Customer, bob: Customer, under_demo: GatewaySetting
) -> None:
    pay(as_alice, "40")
    payment = Payment.objects.get()
    url = reverse("demo_gateway", args=[payment.gateway_ref])
    text = page(as_alice.get(url))
    assert "No money moves." in text and 'id="demo-underpay"' in text and "20.00 USD" in text

    other = Client()
    other.force_login(bob.user)
    assert other.get(url).status_code == 404
    assert other.post(url, {"choice": "pay"}).status_code == 404
    assert DemoInvoice.objects.get().status == "waiting"

    # The test client serves no HTTP: the button's webhook is not delivered, as if lost on the way.
    response = as_alice.post(url, {"choice": "underpay"})
    assert response["Location"] == f"http://testserver/funds/{payment.pk}/"  # type: ignore[index]
    assert alice.balance() == Decimal("100")
    assert deposits.check(payment.pk).verdict == "credited 20.000000 of 40.000000 asked"
    assert alice.balance() == Decimal("119.2")  # 20 paid, no bonus below 100, a fee of 0.80
    assert 'id="demo-decided"' in page(as_alice.get(url))


def test_the_transactions_page_names_the_demo_gateway_and_its_lines(
    as_alice: Client, under_demo: GatewaySetting
) -> None:
    pay(as_alice, "100")
    payment = Payment.objects.get()
    demo.choose(payment.gateway_ref, "pay")
    deposits.check(payment.pk)
    text = page(as_alice.get(reverse("transactions")))
    for kind in ("deposit", "bonus", "fee"):
        assert f'data-kind="{kind}"' in text
    assert f"Demo gateway {payment.reference}" in text
    entry = LedgerEntry.objects.get(kind="bonus")
    assert entry.memo == f"Demo gateway {payment.reference}"  # stored in the panel's language
    with translation.override("es"):  # shown in the reader's
        assert memo_shown(entry.memo) == f"{translation.gettext('Demo gateway')} {payment.reference}"


def test_the_operators_limits_for_the_bank_transfer_apply_to_it(as_alice: Client, db: None) -> None:
    GatewaySetting.objects.create(gateway="bank_transfer", enabled=True, max_amount=Decimal(1000))
    text = page(as_alice.post(reverse("funds"), {"amount": "1000.01"}))
    assert "The largest amount for this method is 1000 USD." in text
    assert Payment.objects.count() == 0
    assert as_alice.post(reverse("funds"), {"amount": "1000"}).status_code == 302
    GatewaySetting.objects.filter(gateway="bank_transfer").update(enabled=False)
    text = page(as_alice.get(reverse("funds")))
    assert 'id="request-funds"' not in text and 'id="no-way-to-pay"' in text
    as_alice.post(reverse("funds"), {"amount": "10"})
    assert Payment.objects.count() == 1  # turned off: nothing more is asked


# Leaving for the gateway's page, and coming back ----------------------------------------------


def form_action(response: object) -> set[str]:
    policy = response["Content-Security-Policy"]  # type: ignore[index]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    return set(directives["form-action"].split())


def test_only_the_add_funds_page_lets_its_form_lead_to_a_checkout_elsewhere(
    as_alice: Client, under_demo: GatewaySetting, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Browsers hold a form to form-action through its redirects too: the add-funds page allows
    https checkouts and each usable gateway's own origin (here a staging Cryptomus over http)."""
    monkeypatch.setenv("SMMPANEL_CRYPTOMUS_MERCHANT", "c26b80a8-9549-4a66-bb53-774f12809249")
    monkeypatch.setenv("SMMPANEL_CRYPTOMUS_KEY", "a-payment-key")
    monkeypatch.setenv("SMMPANEL_CRYPTOMUS_URL", "http://cryptomus.staging.internal:8080/")
    allowed = {"'self'", "https:", "http://cryptomus.staging.internal:8080"}
    assert form_action(as_alice.get(reverse("funds"))) == allowed
    refused = pay(as_alice, "0.001")  # the form again, with why not: its policy too
    assert refused.status_code == 200 and form_action(refused) == allowed  # type: ignore[attr-defined]
    for other in ("dashboard", "transactions", "settings"):
        assert form_action(as_alice.get(reverse(other))) == {"'self'"}, other


def test_the_deposit_page_s_live_part_brings_the_top_bar_s_balance(
    as_alice: Client, alice: Customer, under_demo: GatewaySetting
) -> None:
    pay(as_alice, "100")
    payment = Payment.objects.get()
    assert demo.choose(payment.gateway_ref, "pay")
    assert signed({"invoice": payment.gateway_ref}) == (200, "credited")
    live = page(as_alice.get(reverse("payment", args=[payment.pk]), HTTP_HX_REQUEST="true"))
    balance = re.search(r'<a class="balance" id="topbar-balance"[^>]* hx-swap-oob="true">([^<]+)</a>', live)
    assert balance and balance.group(1) == "202.20 USD"
    whole = page(as_alice.get(reverse("payment", args=[payment.pk])))
    assert whole.count('id="topbar-balance"') == 1 and "hx-swap-oob" not in whole
