"""Stripe Checkout against a local fake of Stripe's API (tests/fake_stripe.py), through the official
library: the webhook's signature checked by the library's own helper, a paid session credited once
however often and in whatever order its events come, what cannot be trusted moving nothing and
recorded, a lost webhook or a timeout made up by the poll. Disputes and refunds:
tests/test_gateway_stripe_money.py."""

import json
import time
from decimal import Decimal

import httpx
import pytest
from conftest import Customer, make_customer
from django.core.management import call_command
from fake_stripe import (  # noqa: F401  (fake_stripe_fixture, stripe_fixture: the fixtures)
    KEY,
    SECRET,
    URLS,
    FakeStripe,
    deliver,
    fake_stripe_fixture,
    paid,
    sign,
    stripe_fixture,
)
from race import poll_and_deliveries

from smmpanel.ledger.models import LedgerEntry
from smmpanel.payments import deposits
from smmpanel.payments.gateways import base, stripe_checkout
from smmpanel.payments.models import GatewayRecord, GatewaySetting, Payment
from smmpanel.payments.services import PaymentError

Status = Payment.Status


def credits(customer: Customer) -> list[tuple[str, Decimal]]:
    """The customer's entries since their opening balance, adjustments aside."""
    entries = LedgerEntry.objects.filter(user=customer.user).exclude(kind="adjustment").order_by("id")
    return [(e.kind, e.amount) for e in entries[1:]]


def test_the_session_asks_the_deposit_in_the_smallest_unit_with_our_reference(
    stripe: FakeStripe, alice: Customer
) -> None:
    payment = deposits.start(alice.user, "stripe", Decimal("12.34"), URLS)
    form = stripe.created[0]
    assert (payment.status, payment.gateway_ref) == (Status.PENDING, "cs_test_000001")
    assert payment.checkout_url == "https://checkout.stripe.com/c/pay/cs_test_000001"
    assert form["mode"] == "payment" and form["line_items[0][price_data][unit_amount]"] == "1234"
    assert form["line_items[0][price_data][currency]"] == "usd"
    assert form["client_reference_id"] == form["metadata[reference]"] == payment.reference
    assert form["success_url"] == form["cancel_url"] == f"https://panel.example/funds/{payment.pk}/"
    assert form["customer_email"] == "alice@example.com"


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [("12.34", "USD", 1234), ("500", "JPY", 500), ("5.12", "KWD", 5120), ("0.5", "EUR", 50)],
)
def test_amounts_in_the_currencys_smallest_unit(amount: str, currency: str, minor: int) -> None:
    assert stripe_checkout.to_minor(Decimal(amount), currency) == minor
    assert stripe_checkout.from_minor(minor, currency) == Decimal(amount)


@pytest.mark.parametrize(("amount", "currency"), [("12.345", "USD"), ("500.5", "JPY"), ("5.125", "KWD")])
def test_an_amount_stripe_cannot_charge_is_refused(amount: str, currency: str) -> None:
    with pytest.raises(base.Refused):
        stripe_checkout.to_minor(Decimal(amount), currency)


def test_the_signature_is_checked_by_the_librarys_own_helper(stripe: FakeStripe, alice: Customer) -> None:
    payment, body = paid(stripe, alice)
    stale = int(time.time()) - 600  # the library's tolerance is 300 s
    assert deliver(body, sign(body, secret="whsec_another_endpoint"))[0] == 403
    assert deliver(body, sign(body, timestamp=stale))[0] == 403
    assert deliver(body, "")[0] == 403  # no Stripe-Signature header
    assert deliver(body, "t=1,v2=abc")[0] == 403
    assert deliver(body.replace("cs_test", "cs_tesT"), sign(body))[0] == 403  # the body changed
    assert alice.balance() == Decimal("100")
    assert deliver(body) == (200, "credited")
    assert alice.balance() == Decimal("125")
    statuses = (
        GatewayRecord.objects.filter(kind="webhook").order_by("id").values_list("http_status", flat=True)
    )
    assert list(statuses) == [403, 403, 403, 403, 403, 200]
    record = GatewayRecord.objects.filter(kind="webhook").last()
    assert record is not None and record.headers["stripe-signature"].startswith("t=")
    call_command("check_ledger")


def test_a_paid_session_is_credited_once_however_often_it_comes(stripe: FakeStripe, alice: Customer) -> None:
    payment, body = paid(stripe, alice)
    answers = [deliver(body) for _ in range(10)]
    assert answers[0] == (200, "credited") and set(answers[1:]) == {(200, "unchanged (confirmed)")}
    assert credits(alice) == [("deposit", Decimal("25"))]
    payment.refresh_from_db()
    assert (payment.status, payment.credited, payment.amount_paid) == (Status.CONFIRMED, 25, 25)
    assert LedgerEntry.objects.filter(kind="deposit", user=alice.user).latest("id").reference == (
        f"gateway:stripe:{payment.gateway_ref}:deposit"
    )
    call_command("check_ledger")


@pytest.mark.django_db(transaction=True)
def test_ten_webhooks_in_parallel_with_a_poll_credit_once(fake_stripe: FakeStripe) -> None:
    GatewaySetting.objects.create(
        gateway="stripe",
        enabled=True,
        credentials={"secret_key": KEY, "webhook_secret": SECRET},
        base_url=fake_stripe.url,
    )
    alice = make_customer("alice", "0")
    payment, body = paid(fake_stripe, alice, "10")
    _polled, answers = poll_and_deliveries(
        lambda: deposits.check(payment.pk).verdict, lambda: deliver(body)[0]
    )
    assert answers.count(200) == 10
    assert alice.balance() == Decimal("10")
    assert LedgerEntry.objects.filter(user=alice.user, kind="deposit").count() == 1
    call_command("check_ledger")


def test_what_cannot_be_trusted_moves_nothing(stripe: FakeStripe, alice: Customer) -> None:
    payment, body = paid(stripe, alice)
    unknown = stripe.event(
        "checkout.session.completed", {"id": "cs_test_999999", "object": "checkout.session"}
    )
    assert deliver(unknown) == (422, "unknown deposit 'cs_test_999999'")
    stripe.sessions[payment.gateway_ref]["currency"] = "eur"
    assert deliver(body) == (422, "refused: currency 'EUR', asked 'USD'")
    stripe.sessions[payment.gateway_ref].update(currency="usd", amount_subtotal=250000)
    assert deliver(body)[0] == 422
    stripe.sessions[payment.gateway_ref].update(amount_subtotal=2500, client_reference_id="SMM-ANOTHER1")
    assert deliver(body)[0] == 422
    assert alice.balance() == Decimal("100")
    ignored = stripe.event("customer.created", {"id": "cus_1", "object": "customer"})
    assert deliver(ignored) == (200, "ignored: event 'customer.created' is not one the panel uses")
    GatewaySetting.objects.filter(gateway="stripe").update(enabled=False)
    assert deliver(body) == (404, "gateway not set up")
    assert alice.balance() == Decimal("100")
    assert GatewayRecord.objects.filter(kind="webhook").count() == 6
    call_command("check_ledger")


def test_set_up_from_the_environment(fake_stripe: FakeStripe, alice: Customer, monkeypatch) -> None:
    monkeypatch.setenv("SMMPANEL_STRIPE_SECRET_KEY", KEY)
    monkeypatch.setenv("SMMPANEL_STRIPE_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("SMMPANEL_STRIPE_URL", fake_stripe.url)
    _payment, body = paid(fake_stripe, alice)
    assert deliver(body) == (200, "credited")
    monkeypatch.setenv("SMMPANEL_STRIPE_SECRET_KEY", "sk_test_wrong")
    with pytest.raises(PaymentError):
        deposits.start(alice.user, "stripe", Decimal("5"), URLS)  # Stripe answers 401: refused


def test_a_lost_webhook_is_credited_by_the_poll(stripe: FakeStripe, alice: Customer, clock) -> None:
    payment, _body = paid(stripe, alice)
    assert deposits.poll(clock.now) == 0  # not due yet
    assert deposits.poll(clock.now + deposits.timedelta(hours=1)) == 1
    assert alice.balance() == Decimal("125")
    payment.refresh_from_db()
    assert payment.status == Status.CONFIRMED


def test_an_expired_session_and_a_failed_async_payment(stripe: FakeStripe, alice: Customer) -> None:
    expired = deposits.start(alice.user, "stripe", Decimal("5"), URLS)
    assert deliver(stripe.event("checkout.session.expired", stripe.expire(expired.gateway_ref))) == (
        200,
        "expired",
    )
    failed = deposits.start(alice.user, "stripe", Decimal("6"), URLS)
    obj = stripe.pay(failed.gateway_ref, status="requires_payment_method")
    assert deliver(stripe.event("checkout.session.async_payment_failed", obj)) == (200, "failed")
    waiting = deposits.start(alice.user, "stripe", Decimal("7"), URLS)
    obj = stripe.pay(waiting.gateway_ref, status="processing")
    assert deliver(stripe.event("checkout.session.completed", obj)) == (200, "unchanged (pending)")
    assert alice.balance() == Decimal("100")


def test_the_fake_timing_out_credits_nothing_until_the_poll(
    stripe: FakeStripe, alice: Customer, clock, monkeypatch
) -> None:
    monkeypatch.setattr(base, "TIMEOUT", httpx.Timeout(0.5, connect=0.5))
    payment, body = paid(stripe, alice)
    stripe.hang("GET /v1/checkout/sessions/")
    assert deliver(body)[0] == 503
    assert deposits.poll(clock.now + deposits.timedelta(hours=1)) == 1  # times out too
    assert alice.balance() == Decimal("100")
    record = GatewayRecord.objects.filter(kind="poll").last()
    assert record is not None and record.verdict.startswith("no answer: retrieve session: no answer")
    stripe.release()
    assert deposits.poll(clock.now + deposits.timedelta(hours=2)) == 1
    assert alice.balance() == Decimal("125")
    call_command("check_ledger")


def test_the_raw_answer_is_kept(stripe: FakeStripe, alice: Customer) -> None:
    payment, body = paid(stripe, alice)
    deliver(body)
    record = GatewayRecord.objects.filter(kind="poll", payment=payment).last()
    assert record is not None
    raw = json.loads(record.body)
    assert (
        raw["session"]["payment_status"] == "paid" and raw["session"]["payment_intent"]["latest_charge"]["id"]
    )


def test_events_out_of_order_settle_on_stripes_word(stripe: FakeStripe, alice: Customer) -> None:
    payment = deposits.start(alice.user, "stripe", Decimal("25"), URLS)
    early = stripe.event("checkout.session.completed", stripe.public(stripe.sessions[payment.gateway_ref]))
    stale_expiry = stripe.event(
        "checkout.session.expired", stripe.public(stripe.sessions[payment.gateway_ref])
    )
    assert deliver(early) == (200, "unchanged (pending)")  # Stripe's session is still open
    body = stripe.event("checkout.session.async_payment_succeeded", stripe.pay(payment.gateway_ref))
    assert deliver(body) == (200, "credited")
    assert deliver(stale_expiry) == (200, "unchanged (confirmed)")
    assert deliver(early) == (200, "unchanged (confirmed)")
    assert alice.balance() == Decimal("125")
