"""Stripe Checkout against a local fake of Stripe's API (tests/fake_stripe.py), through the official
library: the webhook's signature checked by the library's own helper, a paid session credited once,
what cannot be trusted moving nothing, a lost webhook or a timeout made up by the poll, a dispute
after the money was spent (orders refused with a clear message until the operator settles it and
the balance is positive again), and refunds from the panel (docs/gateways/stripe.md)."""

import json
import threading
import time
from decimal import Decimal

import httpx
import pytest
from conftest import Customer, make_customer
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from fake_stripe import KEY, SECRET, FakeStripe, fake_stripe, sign  # noqa: F401  (the fixture)

from smmpanel.accounts.models import User
from smmpanel.ledger.accounts import credit
from smmpanel.ledger.models import LedgerEntry
from smmpanel.orders.models import Order
from smmpanel.payments import deposits, refunds
from smmpanel.payments.gateways import base, stripe_checkout
from smmpanel.payments.models import GatewayRecord, GatewaySetting, Payment
from smmpanel.payments.services import PaymentError

Status = Payment.Status
HOLD = "Your account is on hold because of a payment dispute; contact support."


def URLS(payment: Payment) -> base.Urls:
    return base.Urls(
        f"https://panel.example/funds/{payment.pk}/", "https://panel.example/payments/stripe/webhook"
    )


@pytest.fixture
def stripe(db: None, fake_stripe: FakeStripe) -> FakeStripe:  # noqa: F811
    GatewaySetting.objects.create(
        gateway="stripe",
        enabled=True,
        credentials={"secret_key": KEY, "webhook_secret": SECRET},
        base_url=fake_stripe.url,
    )
    return fake_stripe


@pytest.fixture
def operator(db: None) -> User:
    return User.objects.create_user("operator", "operator@example.com", "pw", is_staff=True)


def deliver(body: str, signature: str | None = None) -> tuple[int, str]:
    headers = {} if signature == "" else {"HTTP_STRIPE_SIGNATURE": signature or sign(body)}
    response = Client().post("/payments/stripe/webhook", body, content_type="application/json", **headers)
    return response.status_code, response.content.decode().strip()


def paid(stripe: FakeStripe, customer: Customer, amount: str = "25") -> tuple[Payment, str]:
    """A deposit started and paid at the fake; returns it and the completed event's body."""
    payment = deposits.start(customer.user, "stripe", Decimal(amount), URLS)
    return payment, stripe.event("checkout.session.completed", stripe.pay(payment.gateway_ref))


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
def test_ten_webhooks_in_parallel_with_a_poll_credit_once(fake_stripe: FakeStripe) -> None:  # noqa: F811
    GatewaySetting.objects.create(
        gateway="stripe",
        enabled=True,
        credentials={"secret_key": KEY, "webhook_secret": SECRET},
        base_url=fake_stripe.url,
    )
    alice = make_customer("alice", "0")
    payment, body = paid(fake_stripe, alice, "10")
    results: list[object] = []

    def one(i: int) -> None:
        try:
            results.append(deposits.check(payment.pk).verdict if i == 0 else deliver(body)[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(11)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 11 and results.count(200) == 10
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


def test_set_up_from_the_environment(fake_stripe: FakeStripe, alice: Customer, monkeypatch) -> None:  # noqa: F811
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


def order_by_api(api, customer: Customer, catalogue) -> dict:
    return api.post(
        "v2",
        key=customer.key,
        action="add",
        service=catalogue.default.pk,
        link="https://x.com/p",
        quantity=100,
    )


def order_on_site(customer: Customer, catalogue) -> str:
    client = Client()
    client.force_login(customer.user)
    import uuid

    data = {
        "service": catalogue.default.pk,
        "link": "https://x.com/site",
        "quantity": "100",
        "form_token": str(uuid.uuid4()),
    }
    return client.post(reverse("order_new"), data).content.decode()


def mass_order(customer: Customer, catalogue) -> str:
    import uuid

    client = Client()
    client.force_login(customer.user)
    text = f"{catalogue.default.pk}|https://x.com/mass|100"
    return client.post(
        reverse("order_mass"), {"orders": text, "form_token": str(uuid.uuid4())}
    ).content.decode()


def test_a_dispute_after_the_money_was_spent(
    stripe: FakeStripe, alice: Customer, catalogue, api, operator: User
) -> None:
    payment, body = paid(stripe, alice, "50")
    assert deliver(body) == (200, "credited")
    with deposits.transaction.atomic():
        from smmpanel.ledger import services as ledger

        ledger.post(alice.user.pk, Decimal("-140"), "charge", "spent elsewhere")
    assert alice.balance() == Decimal("10")
    dispute = stripe.dispute(payment.gateway_ref)
    assert deliver(stripe.event("charge.dispute.created", dispute)) == (200, "charged_back by the gateway")
    assert alice.balance() == Decimal("-40")
    assert credits(alice)[-1] == ("chargeback", Decimal("-50"))
    assert alice.user.account.on_hold
    credit(alice.user, Decimal("100"), memo="paid by bank", actor=operator)  # 60: enough, yet on hold
    assert order_by_api(api, alice, catalogue) == {"error": "Not enough funds on balance"}
    assert HOLD in order_on_site(alice, catalogue)
    assert HOLD in mass_order(alice, catalogue)
    assert not Order.objects.exists()
    closed = stripe.close_dispute(dispute["id"], "lost")
    assert deliver(stripe.event("charge.dispute.closed", closed)) == (200, "unchanged (charged_back)")
    assert alice.balance() == Decimal("60")
    with pytest.raises(PaymentError, match="not_disputed|Only a charged-back"):
        refunds.settle_dispute(deposits.start(alice.user, "stripe", Decimal("5"), URLS).pk, operator)
    with pytest.raises(PaymentError):
        refunds.settle_dispute(payment.pk, alice.user)  # never one's own
    assert refunds.settle_dispute(payment.pk, operator, note="lost; customer paid by bank")
    assert not refunds.settle_dispute(payment.pk, operator)
    payment.refresh_from_db()
    assert payment.dispute_settled_at is not None and "paid by bank" in payment.note
    assert "order" in order_by_api(api, alice, catalogue)
    assert "Order #" in mass_order(alice, catalogue)
    call_command("check_ledger")


def test_a_settled_dispute_with_a_negative_balance_still_refuses_orders_for_funds(
    stripe: FakeStripe, alice: Customer, catalogue, api, operator: User
) -> None:
    payment, body = paid(stripe, alice, "50")
    deliver(body)
    with deposits.transaction.atomic():
        from smmpanel.ledger import services as ledger

        ledger.post(alice.user.pk, Decimal("-150"), "charge", "spent")
    deliver(stripe.event("charge.dispute.created", stripe.dispute(payment.gateway_ref)))
    assert refunds.settle_dispute(payment.pk, operator)
    assert alice.balance() == Decimal("-50")
    assert order_by_api(api, alice, catalogue) == {"error": "Not enough funds on balance"}
    assert "Your balance does not cover this order: add funds first." in order_on_site(alice, catalogue)
    credit(alice.user, Decimal("51"), memo="paid", actor=operator)
    assert "order" in order_by_api(api, alice, catalogue)
    call_command("check_ledger")


def test_a_second_unsettled_dispute_keeps_the_hold(
    stripe: FakeStripe, alice: Customer, operator: User
) -> None:
    first, body1 = paid(stripe, alice, "10")
    second, body2 = paid(stripe, alice, "20")
    deliver(body1), deliver(body2)
    deliver(stripe.event("charge.dispute.created", stripe.dispute(first.gateway_ref)))
    deliver(stripe.event("charge.dispute.created", stripe.dispute(second.gateway_ref)))
    assert refunds.settle_dispute(first.pk, operator)
    assert alice.user.account.on_hold
    assert refunds.settle_dispute(second.pk, operator)
    alice.user.account.refresh_from_db()
    assert not alice.user.account.on_hold


def test_an_inquiry_takes_nothing_and_a_full_refund_at_stripe_is_followed(
    stripe: FakeStripe, alice: Customer
) -> None:
    payment, body = paid(stripe, alice)
    deliver(body)
    inquiry = stripe.dispute(payment.gateway_ref, status="warning_needs_response")
    assert deliver(stripe.event("charge.dispute.created", inquiry)) == (200, "unchanged (confirmed)")
    assert alice.balance() == Decimal("125")
    stripe.close_dispute(inquiry["id"], "warning_closed")
    intent = stripe.intent_of(payment.gateway_ref)
    stripe.refund({"payment_intent": intent})  # refunded in Stripe's dashboard
    charge = stripe.charges[stripe.intents[intent]["latest_charge"]]
    assert deliver(stripe.event("charge.refunded", charge)) == (200, "refunded by the gateway")
    assert alice.balance() == Decimal("100")
    call_command("check_ledger")


def test_a_refund_from_the_panel(stripe: FakeStripe, alice: Customer, operator: User) -> None:
    GatewaySetting.objects.filter(gateway="stripe").update(
        bonus_percent=Decimal("10"), bonus_from=Decimal("20")
    )
    payment, body = paid(stripe, alice)
    deliver(body)
    assert alice.balance() == Decimal("127.5")
    assert refunds.refund(payment.pk, operator) == Decimal("27.5")  # the bonus goes too
    assert alice.balance() == Decimal("100")
    assert [(r["amount"], r["payment_intent"]) for r in stripe.refunds] == [
        (2500, stripe.intent_of(payment.gateway_ref))
    ]
    payment.refresh_from_db()
    assert payment.status == Status.REFUNDED
    with pytest.raises(PaymentError, match="Only a confirmed deposit"):
        refunds.refund(payment.pk, operator)
    assert deliver(body) == (200, "unchanged (refunded)")  # Stripe's own word agrees
    record = GatewayRecord.objects.get(kind="refund")
    assert record.verdict == "refunded 25.000000, balance -27.500000" and '"re_test_' in record.body
    call_command("check_ledger")


def test_a_partial_refund(stripe: FakeStripe, alice: Customer, operator: User) -> None:
    payment, body = paid(stripe, alice)
    deliver(body)
    for bad in ("0", "25.01", "-1", "1.0000001", "NaN"):
        with pytest.raises(PaymentError) as refused:
            refunds.refund(payment.pk, operator, Decimal(bad))
        assert refused.value.code == "bad_amount"
    assert refunds.refund(payment.pk, operator, Decimal("10.5")) == Decimal("10.5")
    assert alice.balance() == Decimal("114.5") and stripe.refunds[0]["amount"] == 1050
    # Stripe calls the charge still paid (partly refunded): the deposit stays refunded, once.
    assert deliver(body) == (200, "confirmed ignored while refunded")
    with pytest.raises(PaymentError, match="Only a confirmed deposit"):
        refunds.refund(payment.pk, operator, Decimal("1"))
    call_command("check_ledger")


def test_a_refused_refund_gives_the_money_back(stripe: FakeStripe, alice: Customer, operator: User) -> None:
    payment, body = paid(stripe, alice)
    deliver(body)
    stripe.refuse_refunds = True
    with pytest.raises(PaymentError, match="refused the refund") as refused:
        refunds.refund(payment.pk, operator)
    assert refused.value.code == "refused"
    assert alice.balance() == Decimal("125")
    assert credits(alice)[-2:] == [("deposit_refund", Decimal("-25")), ("deposit_refund", Decimal("25"))]
    payment.refresh_from_db()
    assert payment.status == Status.CONFIRMED
    assert GatewayRecord.objects.get(kind="refund").verdict.startswith("refused: create refund: HTTP 400")
    stripe.refuse_refunds = False
    assert refunds.refund(payment.pk, operator) == Decimal("25")  # asked again, it goes
    assert alice.balance() == Decimal("100")
    call_command("check_ledger")


def test_a_refund_stripe_does_not_answer_keeps_the_debit(
    stripe: FakeStripe, alice: Customer, operator: User, monkeypatch
) -> None:
    monkeypatch.setattr(base, "TIMEOUT", httpx.Timeout(0.5, connect=0.5))
    payment, body = paid(stripe, alice)
    deliver(body)
    stripe.hang("POST /v1/refunds")
    with pytest.raises(PaymentError) as unknown:
        refunds.refund(payment.pk, operator)
    assert unknown.value.code == "unknown"
    assert alice.balance() == Decimal("100")
    payment.refresh_from_db()
    assert payment.status == Status.REFUNDED
    call_command("check_ledger")


def test_refunds_refused_before_anything_moves(
    stripe: FakeStripe, alice: Customer, bob: Customer, operator: User
) -> None:
    payment, body = paid(stripe, alice)
    with pytest.raises(PaymentError, match="Only a confirmed deposit"):
        refunds.refund(payment.pk, operator)  # not credited yet
    deliver(body)
    with pytest.raises(PaymentError) as own:
        refunds.refund(payment.pk, alice.user)
    assert own.value.code == "own_payment"
    with deposits.transaction.atomic():
        from smmpanel.ledger import services as ledger

        ledger.post(alice.user.pk, Decimal("-110"), "charge", "spent")
    with pytest.raises(PaymentError) as short:
        refunds.refund(payment.pk, operator)
    assert short.value.code == "no_funds" and "(15)" in short.value.message
    bank = Payment.objects.create(
        user=bob.user, amount=Decimal("5"), status=Status.CONFIRMED, credited=Decimal("5")
    )
    with pytest.raises(PaymentError) as manual:
        refunds.refund(bank.pk, operator)
    assert manual.value.code == "no_refunds"
    assert stripe.refunds == [] and not GatewayRecord.objects.filter(kind="refund").exists()
    assert alice.balance() == Decimal("15")
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


def test_a_new_subscription_is_refused_too_while_on_hold(stripe: FakeStripe, alice: Customer, api) -> None:
    from smmpanel.catalog import demo

    subscriptions = demo.seed()["Subscriptions"]
    payment, body = paid(stripe, alice)
    deliver(body)
    deliver(stripe.event("charge.dispute.created", stripe.dispute(payment.gateway_ref)))
    ask = {"service": subscriptions, "username": "natgeo", "min": "100", "max": "200"}
    assert api.post("v2", key=alice.key, action="add", **ask) == {"error": "Not enough funds on balance"}
    assert not Order.objects.exists()
