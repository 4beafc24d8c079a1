"""In a real browser, at 1366 and 375 px, in English and Spanish: the console's gateways page (a
setting saved through the form), a gateway deposit's page with its amounts and the gateway's
records (a raw body opened, hostile text inert), and the reconciliation page showing no
difference. Screenshots in artifacts/<database>/<test>/."""

import json
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
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import expect
from server import panel_server  # noqa: F401  (a fixture)
from staff import make_staff
from test_browser_console_customers import staff_session

from smmpanel.accounts.models import User
from smmpanel.ledger import services as ledger
from smmpanel.ledger.models import LedgerEntry
from smmpanel.payments import services
from smmpanel.payments.models import GatewayRecord, GatewaySetting, Payment

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

HOSTILE = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
D = Decimal


def a_credited_deposit(customer: User) -> Payment:
    """A Cryptomus deposit as the gateway code leaves it once paid: 250 credited, +12.50 bonus,
    -6.35 fee, each its ledger entry, and what the gateway said on the way."""
    payment = Payment.objects.create(
        user=customer,
        method="cryptomus",
        amount=D(250),
        status=Payment.Status.CONFIRMED,
        currency="USD",
        gateway_ref="8e5b1f6c-52a4-4c52-9d6f-1c2a8f0f3a77",
        checkout_url="https://pay.cryptomus.com/pay/8e5b1f6c-52a4-4c52-9d6f-1c2a8f0f3a77",
        amount_paid=D(250),
        credited=D(250),
        bonus=D("12.5"),
        fee=D("6.35"),
        checked_at=timezone.now(),
        decided_at=timezone.now(),
    )
    reference = payment.deposit_reference
    with transaction.atomic():
        ledger.post(customer.pk, D(250), LedgerEntry.Kind.DEPOSIT, reference, memo="Cryptomus")
        ledger.post(customer.pk, D("12.5"), LedgerEntry.Kind.BONUS, f"{reference}:bonus", memo="Cryptomus")
        ledger.post(customer.pk, D("-6.35"), LedgerEntry.Kind.FEE, f"{reference}:fee", memo="Cryptomus")
    body = {
        "type": "payment",
        "uuid": payment.gateway_ref,
        "order_id": payment.reference,
        "amount": "250.00",
        "payment_amount": "250.00",
        "currency": "USD",
        "status": "paid",
        "additional_data": HOSTILE,
        "sign": "5b1c0e4e0b4f3d1c9a6d7e8f9a0b1c2d",
    }
    for kind, verdict, status in (
        ("start", "started", None),
        ("webhook", "forged signature", 401),
        ("webhook", "credited", 200),
        ("poll", "unchanged (confirmed)", None),
    ):
        GatewayRecord.objects.create(
            gateway="cryptomus",
            kind=kind,
            payment=payment,
            body=json.dumps(body),
            verdict=verdict,
            http_status=status,
            address="203.0.113.7" if kind == "webhook" else "",
        )
    return payment


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_the_gateways_deposit_and_reconciliation_pages(
    request: pytest.FixtureRequest, width: str, language: str
) -> None:
    device: Tab = request.getfixturevalue("tab" if width == "desktop" else "phone")
    page = device.page
    ada = make_staff("ada", "administrator")
    carol = make_customer("carol-with-a-rather-long-username-" + "x" * 20, "10")
    payment = a_credited_deposit(carol)
    transfer = services.request_bank_transfer(carol, D("99.99"))
    services.confirm(transfer.pk, ada)
    staff_session(device, ada, language)

    device.go("/console/gateways/")
    assert page.locator("html").get_attribute("lang") == language
    card = page.locator('[data-gateway="bank_transfer"]')
    expect(card.locator("[data-usable=yes]")).to_have_count(1)
    device.shot(f"{language}-gateways")
    device.assert_no_horizontal_scroll()
    card.locator(".gateway-settings > summary").click()  # folded until asked for
    expect(page.locator("#id_bank_transfer-base_url")).to_have_count(0)  # nothing to call
    page.fill("#id_bank_transfer-min_amount", "10")
    page.fill("#id_bank_transfer-max_amount", "5")
    card.locator("button[type=submit]").click()
    expect(page.locator("#id_bank_transfer-max_amount_error")).to_be_visible()
    device.shot(f"{language}-gateways-refused")
    device.assert_no_horizontal_scroll()
    assert not GatewaySetting.objects.exists()
    page.fill("#id_bank_transfer-max_amount", "5000")
    page.fill("#id_bank_transfer-bonus_percent", "5")
    page.fill("#id_bank_transfer-bonus_from", "100")
    page.fill("#id_bank_transfer-instructions_es", "Indique la referencia en la transferencia.")
    page.locator('[data-gateway="bank_transfer"] button[type=submit]').click()
    expect(page.locator(".messages")).to_be_visible()
    setting = GatewaySetting.objects.get(gateway="bank_transfer")
    assert (setting.min_amount, setting.max_amount, setting.bonus_percent) == (10, 5000, 5)
    assert setting.instructions == {"es": "Indique la referencia en la transferencia."}

    device.go(f"/console/deposits/{payment.pk}/")
    expect(page.locator("#deposit-gateway-ref")).to_have_text(payment.gateway_ref)
    expect(page.locator("#gateway-records tbody tr")).to_have_count(4)
    page.locator("#gateway-records details").first.locator("summary").click()
    expect(page.locator("#gateway-records pre").first).to_contain_text('"additional_data": "\\"><img')
    device.shot(f"{language}-deposit")
    device.assert_no_horizontal_scroll()

    device.go("/console/reconciliation/")
    expect(page.locator("#reconcile-verdict")).to_have_attribute("data-differences", "0")
    expect(
        page.locator('#reconcile-lines [data-gateway="cryptomus"] [data-figure="entries"]')
    ).to_contain_text("250")
    device.shot(f"{language}-reconciliation")
    device.assert_no_horizontal_scroll()
    device.assert_clean()


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_every_gateway_listed_and_a_key_typed_once(
    request: pytest.FixtureRequest, width: str, language: str
) -> None:
    """Every gateway of the panel listed; Cryptomus with one key stored (write-only: its value never
    reaches the page), then its other key typed and the gateway enabled."""
    device: Tab = request.getfixturevalue("tab" if width == "desktop" else "phone")
    ada = make_staff("ada", "administrator")
    GatewaySetting.objects.create(
        gateway="cryptomus", credentials={"merchant": "m-1f3a"}, names={"en": HOSTILE}
    )
    staff_session(device, ada, language)
    device.go("/console/gateways/")
    page = device.page
    card = page.locator('[data-gateway="cryptomus"]')
    expect(card.locator('[data-key-state="set"]')).to_have_count(1)
    expect(card.locator('input[type="password"]')).to_have_count(2)
    assert "m-1f3a" not in page.content()
    device.shot(f"{language}-gateways-folded")
    device.assert_no_horizontal_scroll()
    card.locator(".gateway-settings > summary").click()
    device.shot(f"{language}-gateways-with-keys")
    device.assert_no_horizontal_scroll()
    card.locator('input[name="cryptomus-key_key"]').fill("a-payment-key-typed-once")
    card.locator('input[name="cryptomus-enabled"]').check()
    card.locator("button[type=submit]").click()
    expect(page.locator('[data-gateway="cryptomus"] [data-usable="yes"]')).to_have_count(1)
    expect(page.locator('[data-gateway="cryptomus"] .gateway-settings')).to_have_attribute("open", "")
    assert "a-payment-key-typed-once" not in page.content()
    assert GatewaySetting.objects.get(gateway="cryptomus").credentials["key"] == "a-payment-key-typed-once"
    device.assert_clean()
