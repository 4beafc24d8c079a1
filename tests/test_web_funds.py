"""Add funds, a payment's page and the transactions page: the customer's money on the site."""

import re
from decimal import Decimal
from typing import Any

import pytest
from conftest import Customer
from django.db import transaction
from django.test import Client
from django.urls import reverse

from smmpanel.accounts.models import User
from smmpanel.ledger import services as ledger
from smmpanel.ledger.accounts import credit
from smmpanel.ledger.models import LedgerEntry
from smmpanel.payments import services
from smmpanel.payments.models import Payment


@pytest.fixture
def as_alice(client: Client, alice: Customer) -> Client:
    client.force_login(alice.user)
    return client


DOT_DECIMALS = "Write the amount with a dot for decimals and no thousands separator, such as 1250 or 12.50."


def page(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


# Add funds -------------------------------------------------------------------------------


def test_the_funds_page_offers_a_bank_transfer_with_the_operators_instructions(
    as_alice: Client, settings: object
) -> None:
    settings.SMMPANEL_BANK_TRANSFER_INSTRUCTIONS = "IBAN ES00 1234\nBeneficiary: <Panel & Co>"  # type: ignore[attr-defined]
    response = as_alice.get(reverse("funds"))
    assert response.status_code == 200
    text = page(response)
    assert "Bank transfer" in text
    assert "IBAN ES00 1234<br>Beneficiary: &lt;Panel &amp; Co&gt;" in text
    assert 'id="request-funds"' in text and 'name="amount"' in text
    assert "at least 1" in text  # the minimum, from the setting


def test_pages_need_a_login(client: Client, alice: Customer) -> None:
    payment = services.request_bank_transfer(alice.user, Decimal("10"))
    for url in (reverse("funds"), reverse("payment", args=[payment.pk]), reverse("transactions")):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url
    client.post(reverse("funds"), {"amount": "10"})
    assert Payment.objects.count() == 1


def test_asking_for_funds_creates_a_pending_payment_and_shows_its_reference(
    as_alice: Client, alice: Customer
) -> None:
    response = as_alice.post(reverse("funds"), {"amount": "25.50"})
    payment = Payment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("payment", args=[payment.pk])
    assert (payment.user, payment.amount, payment.status) == (alice.user, Decimal("25.5"), "pending")

    text = page(as_alice.get(response["Location"]))
    reference = re.search(r'id="payment-reference">([^<]+)<', text)
    assert reference and reference.group(1) == payment.reference
    assert "25.50 USD" in text
    assert 'data-status="pending"' in text
    assert "Transfer the amount to the panel" in text  # the instructions
    assert alice.balance() == Decimal("100")  # nothing moves before the operator confirms

    listing = page(as_alice.get(reverse("funds")))
    assert payment.reference in listing and 'data-status="pending"' in listing


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("", "Enter the amount you want to add."),
        ("   ", "Enter the amount you want to add."),
        ("ten", "Enter an amount, such as 25 or 12.50."),
        (
            "1,000",
            DOT_DECIMALS,
        ),
        (
            "12,50",
            DOT_DECIMALS,
        ),
        (
            "1,250.50",
            DOT_DECIMALS,
        ),
        ("1.250.000", "Write the amount without a thousands separator, such as 1250.50."),
        ("1e3", "Enter an amount, such as 25 or 12.50."),
        ("0.99", "The smallest amount is 1.00 USD."),
        ("10.1234567", "Use at most 6 decimal places."),
        ("-5", "Enter an amount greater than zero."),
        ("0", "Enter an amount greater than zero."),
    ],
)
def test_every_bad_amount_is_explained(as_alice: Client, amount: str, message: str) -> None:
    response = as_alice.post(reverse("funds"), {"amount": amount})
    assert response.status_code == 200
    text = page(response)
    assert message in text
    assert 'class="errorlist"' in text
    assert not Payment.objects.exists()


def test_the_minimum_follows_the_setting(as_alice: Client, settings: object) -> None:
    settings.SMMPANEL_MIN_DEPOSIT = "10.5"  # type: ignore[attr-defined]
    assert "The smallest amount is 10.50 USD." in page(as_alice.post(reverse("funds"), {"amount": "10"}))
    assert as_alice.post(reverse("funds"), {"amount": "10.5"}).status_code == 302


def test_a_customer_never_sees_anothers_payment(client: Client, alice: Customer, bob: Customer) -> None:
    payment = services.request_bank_transfer(alice.user, Decimal("10"))
    client.force_login(bob.user)
    assert client.get(reverse("payment", args=[payment.pk])).status_code == 404
    assert client.post(reverse("payment", args=[payment.pk]), {"action": "cancel"}).status_code == 404
    assert payment.reference not in page(client.get(reverse("funds")))
    assert Payment.objects.get(pk=payment.pk).status == "pending"


def test_the_customer_cancels_a_pending_payment(as_alice: Client, alice: Customer) -> None:
    payment = services.request_bank_transfer(alice.user, Decimal("10"))
    url = reverse("payment", args=[payment.pk])
    assert 'id="cancel-payment"' in page(as_alice.get(url))
    response = as_alice.post(url, {"action": "cancel"}, follow=True)
    assert "The payment request is canceled." in page(response)
    assert 'data-status="canceled"' in page(response)
    assert 'id="cancel-payment"' not in page(response)
    assert Payment.objects.get(pk=payment.pk).status == "canceled"


def test_a_confirmed_payment_cannot_be_canceled_and_says_it_was_credited(
    as_alice: Client, alice: Customer
) -> None:
    payment = services.request_bank_transfer(alice.user, Decimal("10"))
    services.confirm(payment.pk, None)
    url = reverse("payment", args=[payment.pk])
    text = page(as_alice.get(url))
    assert 'data-status="confirmed"' in text and 'id="cancel-payment"' not in text
    assert "was added to your balance" in text
    response = as_alice.post(url, {"action": "cancel"}, follow=True)
    assert "Only a pending payment can be canceled." in page(response)
    assert Payment.objects.get(pk=payment.pk).status == "confirmed"


def test_a_rejected_payment_shows_the_operators_note_escaped(as_alice: Client, alice: Customer) -> None:
    payment = services.request_bank_transfer(alice.user, Decimal("10"))
    services.reject(payment.pk, None, "<b>No transfer</b> arrived")
    text = page(as_alice.get(reverse("payment", args=[payment.pk])))
    assert 'data-status="rejected"' in text
    assert "&lt;b&gt;No transfer&lt;/b&gt; arrived" in text


@pytest.mark.parametrize(
    ("typed", "amount"),
    [("12,50", "12.5"), ("12.50", "12.5"), ("1,12", "1.12"), ("1250", "1250"), (" 7,5 ", "7.5")],
)
def test_a_spanish_speaker_writes_decimals_with_a_comma(as_alice: Client, typed: str, amount: str) -> None:
    response = as_alice.post(reverse("funds"), {"amount": typed}, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 302, page(response)
    assert Payment.objects.get().amount == Decimal(amount)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("1.250", "1.250 puede ser 1250 o 1,25: escríbelo sin separador de miles."),
        ("12,500", "12,500 puede ser 12500 o 12,5: escríbelo sin separador de miles."),
        ("1.250,50", "Escribe el importe sin separador de miles, como 1250,50."),
        ("1,2,3", "Escribe el importe sin separador de miles, como 1250,50."),
        ("0,99", "El monto mínimo es 1,00 USD."),
        ("doce", "Ingresa un monto, como 25 o 12,50."),
        ("1,1255", "Usa como máximo 2 decimales con este método."),  # money is sent in cents
    ],
)
def test_what_could_be_read_two_ways_in_spanish_is_refused_clearly(
    as_alice: Client, typed: str, message: str
) -> None:
    response = as_alice.post(reverse("funds"), {"amount": typed}, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 200
    assert message in page(response)
    assert not Payment.objects.exists()


def test_the_minimum_is_written_as_the_reader_writes_numbers(as_alice: Client, settings: object) -> None:
    settings.SMMPANEL_MIN_DEPOSIT = "10.5"  # type: ignore[attr-defined]
    assert "En USD, como mínimo 10,50." in page(as_alice.get(reverse("funds"), HTTP_ACCEPT_LANGUAGE="es"))
    assert "In USD, at least 10.50." in page(as_alice.get(reverse("funds")))


def test_the_funds_page_in_spanish(as_alice: Client) -> None:
    response = as_alice.get(reverse("funds"), HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 200
    assert '<html lang="es">' in page(response)
    assert response["Content-Language"] == "es"


# Transactions ----------------------------------------------------------------------------


def charge(user: User, amount: str, reference: str, memo: str = "") -> None:
    with transaction.atomic():
        ledger.post(user.pk, Decimal(amount), LedgerEntry.Kind.CHARGE, reference, memo=memo)


def refund(user: User, amount: str, reference: str) -> None:
    with transaction.atomic():
        ledger.post(user.pk, Decimal(amount), LedgerEntry.Kind.REFUND, reference)


def test_the_ledger_shows_signs_balances_and_totals(as_alice: Client, alice: Customer) -> None:
    # alice: +100 opening deposit; -12.5 charge; +2.25 refund; +20 deposit; -0.045 charge; -5 adjustment
    charge(alice.user, "-12.5", "t:1", memo="Order of followers")
    refund(alice.user, "2.25", "t:2")
    payment = services.request_bank_transfer(alice.user, Decimal("20"))
    services.confirm(payment.pk, None)
    charge(alice.user, "-0.045", "t:3")
    credit(alice.user, Decimal("-5"), memo="Correction <script>")
    response = as_alice.get(reverse("transactions"))
    assert response.status_code == 200
    text = page(response)

    rows = re.findall(r'<tr data-kind="(\w+)">(.*?)</tr>', text, re.S)
    assert [kind for kind, _ in rows] == ["adjustment", "charge", "deposit", "refund", "charge", "deposit"]
    amounts = [re.search(r'class="num (credit|debit)">([^<]+)<', row).groups() for _, row in rows]  # type: ignore[union-attr]
    assert amounts == [
        ("debit", "−5.00 USD"),
        ("debit", "−0.045 USD"),
        ("credit", "+20.00 USD"),
        ("credit", "+2.25 USD"),
        ("debit", "−12.50 USD"),
        ("credit", "+100.00 USD"),
    ]
    assert "104.70 USD" in rows[0][1]  # balance after the newest entry (104.705), cut to the cent
    assert "Correction &lt;script&gt;" in text
    assert payment.reference in text  # the deposit's memo names the payment
    assert 'id="total-deposits">120.00 USD<' in text
    assert 'id="total-spent">10.30 USD<' in text  # 12.5 + 0.045 - 2.25 = 10.295, to the cent
    assert alice.balance() == Decimal("104.705")


def test_the_ledger_filters_by_kind(as_alice: Client, alice: Customer) -> None:
    charge(alice.user, "-1", "t:1")
    refund(alice.user, "0.5", "t:2")
    for kind, expected in [("charge", ["charge"]), ("refund", ["refund"]), ("deposit", ["deposit"])]:
        text = page(as_alice.get(reverse("transactions"), {"kind": kind}))
        assert re.findall(r'<tr data-kind="(\w+)">', text) == expected
    text = page(as_alice.get(reverse("transactions"), {"kind": "nonsense"}))
    assert re.findall(r'<tr data-kind="(\w+)">', text) == ["refund", "charge", "deposit"]


def test_the_ledger_is_paginated_newest_first(as_alice: Client, alice: Customer) -> None:
    for n in range(60):
        charge(alice.user, "-0.01", f"t:{n}", memo=f"entry {n}")
    first = page(as_alice.get(reverse("transactions")))
    assert first.count('<tr data-kind="') == 50
    assert "entry 59" in first and "entry 9<" not in first
    assert "Page 1 of 2" in first
    second = page(as_alice.get(reverse("transactions"), {"page": "2"}))
    assert second.count('<tr data-kind="') == 11  # 10 charges and the opening deposit
    assert "entry 0<" in second


def test_a_customer_sees_only_their_own_ledger(client: Client, alice: Customer, bob: Customer) -> None:
    charge(alice.user, "-3", "t:alice", memo="alice-secret-order")
    client.force_login(bob.user)
    text = page(client.get(reverse("transactions")))
    assert "alice-secret-order" not in text
    assert re.findall(r'<tr data-kind="(\w+)">', text) == ["deposit"]
    assert 'id="total-spent">0.00 USD<' in text


def test_without_the_operators_instructions_a_general_explanation_is_shown(
    client: Client, alice: Customer, settings: Any
) -> None:
    settings.SMMPANEL_BANK_TRANSFER_INSTRUCTIONS = ""
    client.force_login(alice.user)
    page = client.get(reverse("funds")).content.decode()
    assert "write the reference code in the transfer" in page
