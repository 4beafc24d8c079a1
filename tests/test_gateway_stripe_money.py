"""Stripe disputes and refunds against the local fake (tests/fake_stripe.py): a dispute after the
money was spent takes the balance below zero and holds the account (orders refused with a clear
message on the website and mass order, the API's funds string) until the operator settles it and
the balance is positive again; refunds from the panel debit first, and a refused one gives the
money back (docs/gateways/stripe.md)."""

from decimal import Decimal

import httpx
import pytest
from conftest import Customer, make_customer
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from fake_stripe import (  # noqa: F401  (fake_stripe_fixture, stripe_fixture: the fixtures)
    KEY,
    SECRET,
    URLS,
    FakeStripe,
    deliver,
    fake_stripe_fixture,
    paid,
    stripe_fixture,
)

from smmpanel.accounts.models import User
from smmpanel.ledger.accounts import credit
from smmpanel.ledger.models import LedgerEntry
from smmpanel.orders.models import Order
from smmpanel.payments import deposits, refunds
from smmpanel.payments.gateways import base
from smmpanel.payments.models import GatewayRecord, GatewaySetting, Payment
from smmpanel.payments.services import PaymentError

Status = Payment.Status
HOLD = "Your account is on hold because of a payment dispute; contact support."


@pytest.fixture
def operator(db: None) -> User:
    return User.objects.create_user("operator", "operator@example.com", "pw", is_staff=True)


def credits(customer: Customer) -> list[tuple[str, Decimal]]:
    """The customer's entries since their opening balance, adjustments aside."""
    entries = LedgerEntry.objects.filter(user=customer.user).exclude(kind="adjustment").order_by("id")
    return [(e.kind, e.amount) for e in entries[1:]]


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


@pytest.mark.django_db(transaction=True)
def test_stripe_is_asked_only_once_the_debit_is_committed(fake_stripe: FakeStripe) -> None:
    """The refund's call to Stripe is outside any transaction: while Stripe is being asked, another
    connection already sees the deposit refunded and the balance debited."""
    GatewaySetting.objects.create(
        gateway="stripe",
        enabled=True,
        credentials={"secret_key": KEY, "webhook_secret": SECRET},
        base_url=fake_stripe.url,
    )
    alice = make_customer("alice", "0")
    operator = User.objects.create_user("operator", "operator@example.com", "pw", is_staff=True)
    payment, body = paid(fake_stripe, alice, "30")
    deliver(body)
    seen: list[tuple[str, Decimal]] = []

    def look() -> None:  # runs in the fake's own thread, so on a connection of its own
        try:
            status = Payment.objects.get(pk=payment.pk).status
            seen.append((status, alice.balance()))
        finally:
            connection.close()

    fake_stripe.on_refund = look
    assert refunds.refund(payment.pk, operator) == Decimal("30")
    assert seen == [(Status.REFUNDED, Decimal("0"))]
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


def test_a_new_subscription_is_refused_too_while_on_hold(stripe: FakeStripe, alice: Customer, api) -> None:
    from smmpanel.catalog import demo

    subscriptions = demo.seed()["Subscriptions"]
    payment, body = paid(stripe, alice)
    deliver(body)
    deliver(stripe.event("charge.dispute.created", stripe.dispute(payment.gateway_ref)))
    ask = {"service": subscriptions, "username": "natgeo", "min": "100", "max": "200"}
    assert api.post("v2", key=alice.key, action="add", **ask) == {"error": "Not enough funds on balance"}
    assert not Order.objects.exists()


def test_a_dispute_before_the_deposit_was_credited_closes_it_with_nothing_taken(
    stripe: FakeStripe, alice: Customer, operator: User, clock
) -> None:
    payment, _lost = paid(stripe, alice)  # its checkout.session.completed never arrives
    dispute = stripe.dispute(payment.gateway_ref)
    answer = deliver(stripe.event("charge.dispute.created", dispute))
    assert answer == (200, "charged_back by the gateway, nothing to take back")
    payment.refresh_from_db()
    assert (payment.status, payment.credited) == (Status.CHARGED_BACK, None)
    assert alice.balance() == Decimal("100") and not alice.user.account.on_hold
    assert deposits.poll(clock.now + deposits.timedelta(hours=1)) == 0  # closed: never asked again
    other, body = paid(stripe, alice)
    deliver(body)
    deliver(stripe.event("charge.dispute.created", stripe.dispute(other.gateway_ref)))
    assert refunds.settle_dispute(other.pk, operator)  # the first one held nothing: released
    alice.user.account.refresh_from_db()
    assert not alice.user.account.on_hold
    call_command("check_ledger")
