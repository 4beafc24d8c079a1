"""NOWPayments against a local fake of its API (tests/fake_nowpayments.py), its IPNs posted to the
panel's real webhook URL, /payments/nowpayments/webhook: a deposit is credited once whatever the
IPNs say and however often they come, an IPN that cannot be trusted moves nothing, and a lost IPN
or a gateway that does not answer is made up by the poll."""

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from conftest import Customer, _keep_test_connection, make_customer
from django.core import signals
from django.core.management import call_command
from django.db import close_old_connections
from django.utils import timezone
from fake_nowpayments import FakeNOWPayments, sign
from race import poll_and_deliveries
from server import panel_server  # noqa: F401  (a fixture)

from smmpanel.ledger.models import LedgerEntry
from smmpanel.payments import deposits, gateways
from smmpanel.payments.gateways import base, nowpayments
from smmpanel.payments.models import GatewayRecord, Payment

Status = Payment.Status
HOOK = "http://testserver/payments/nowpayments/webhook"


def URLS(payment: Payment) -> base.Urls:  # noqa: N802  (used as deposits.start's callable)
    return base.Urls(f"http://testserver/funds/{payment.pk}/", HOOK)


def environment(fake: FakeNOWPayments) -> dict[str, str]:
    """The gateway configured from the environment, to use the fake."""
    keys = {
        "KEY": fake.api_key,
        "IPN_SECRET": fake.ipn_secret,
        "EMAIL": fake.email,
        "PASSWORD": fake.password,
    }
    return {f"SMMPANEL_NOWPAYMENTS_{name}": value for name, value in {**keys, "URL": fake.url}.items()}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeNOWPayments]:
    """The fake, the gateway configured from the environment to use it (the panel waits 3 s for
    an answer), and IPNs posted to the panel's WSGI application in process."""
    from smmpanel.wsgi import application

    with FakeNOWPayments() as fake:
        for name, value in environment(fake).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(gateways.GATEWAYS["nowpayments"], "timeout", 3.0)
        _keep_test_connection()
        fake.ipn_client = httpx.Client(transport=httpx.WSGITransport(app=application))
        try:
            yield fake
        finally:
            fake.ipn_client.close()
            signals.request_started.connect(close_old_connections)
            signals.request_finished.connect(close_old_connections)


def deposit_entries(customer: Customer) -> list[tuple[str, Decimal]]:
    entries = LedgerEntry.objects.filter(user=customer.user, reference__startswith="gateway:").order_by("id")
    return [(e.kind, e.amount) for e in entries]


def later() -> deposits.datetime:
    return timezone.now() + timedelta(hours=1)


def webhook_statuses() -> list[int | None]:
    records = GatewayRecord.objects.filter(gateway="nowpayments", kind="webhook").order_by("id")
    return list(records.values_list("http_status", flat=True))


def test_a_paid_deposit_is_credited_once_however_often_and_in_whatever_order_the_ipn_comes(
    fake: FakeNOWPayments, alice: Customer
) -> None:
    payment = deposits.start(alice.user, "nowpayments", Decimal("25"), URLS)
    invoice = fake.invoices[payment.gateway_ref]
    assert (payment.status, payment.checkout_url) == (Status.PENDING, f"{fake.url}/payment/?iid={invoice.id}")
    assert (invoice.price_amount, invoice.price_currency, invoice.order_id) == (
        Decimal(25),
        "usd",
        payment.reference,
    )
    assert (invoice.ipn_callback_url, invoice.success_url) == (HOOK, f"http://testserver/funds/{payment.pk}/")

    paid = fake.pay(invoice.id, "waiting", paid="0")
    assert fake.notify(paid.id) == (200, "unchanged (pending)\n")
    fake.move(paid.id, "confirming", actually_paid=paid.pay_amount)
    assert fake.notify(paid.id) == (200, "paid\n")
    fake.move(paid.id, "finished")
    assert fake.notify(paid.id) == (200, "credited\n")
    replays = [fake.notify(paid.id) for _ in range(10)]
    late = [fake.notify(paid.id, status) for status in ("confirming", "waiting", "sending", "expired")]
    assert set(replays + late) == {(200, "unchanged (confirmed)\n")}

    assert alice.balance() == Decimal("125")
    assert deposit_entries(alice) == [("deposit", Decimal("25"))]
    payment.refresh_from_db()
    assert (payment.status, payment.credited, payment.amount_paid) == (Status.CONFIRMED, 25, 25)
    assert payment.rate == Decimal("50000")
    record = GatewayRecord.objects.filter(payment=payment, kind="webhook").first()
    assert record is not None and record.headers["x-nowpayments-sig"]
    assert webhook_statuses() == [200] * 17
    call_command("check_ledger")


@pytest.mark.django_db(transaction=True)
def test_ten_ipns_and_a_poll_at_once_credit_once(fake: FakeNOWPayments) -> None:
    alice = make_customer("alice", "0")
    payment = deposits.start(alice.user, "nowpayments", Decimal("10"), URLS)
    paid = fake.pay(payment.gateway_ref, "finished")
    polled, answers = poll_and_deliveries(
        lambda: deposits.check(payment.pk).status, lambda: fake.notify(paid.id)[0]
    )
    assert sorted(map(str, [polled, *answers])) == ["200"] * 10 + ["confirmed"]
    assert alice.balance() == Decimal("10")
    assert LedgerEntry.objects.filter(user=alice.user, kind="deposit").count() == 1
    call_command("check_ledger")


def test_what_cannot_be_trusted_moves_nothing_gets_a_4xx_and_is_recorded(
    fake: FakeNOWPayments, alice: Customer
) -> None:
    payment = deposits.start(alice.user, "nowpayments", Decimal("25"), URLS)
    paid = fake.pay(payment.gateway_ref, "finished")
    assert fake.notify(paid.id, secret="forged")[0] == 403
    assert fake.notify(paid.id, secret="") == (403, "refused: no x-nowpayments-sig\n")
    assert fake.notify(paid.id, secret="another-merchants-ipn-secret")[0] == 403
    tampered = fake.ipn(paid.id, actually_paid=1)  # signed by us, changed on the way
    headers = {"x-nowpayments-sig": sign(fake.ipn_secret, fake.ipn(paid.id))}
    assert fake.ipn_client is not None
    assert fake.ipn_client.post(HOOK, json=tampered, headers=headers).status_code == 403
    assert fake.notify(paid.id, body=fake.ipn(paid.id, invoice_id=999, order_id="SMM-NOPE")) == (
        422,
        "unknown deposit '999'\n",
    )
    assert fake.notify(paid.id, body=[1, 2]) == (400, "refused: the body is not an object\n")
    fake.move(paid.id, "finished", price_amount=Decimal("2500"))
    assert fake.notify(paid.id) == (422, "refused: amount asked 2500, this deposit asked 25.000000\n")
    fake.move(paid.id, "finished", price_amount=None, price_currency="eur")
    assert fake.notify(paid.id) == (422, "refused: currency 'EUR', asked 'USD'\n")

    assert alice.balance() == Decimal("100") and deposit_entries(alice) == []
    assert webhook_statuses() == [403, 403, 403, 403, 422, 400, 422, 422]
    assert Payment.objects.get(pk=payment.pk).status == Status.PENDING
    call_command("check_ledger")


def test_a_lost_ipn_is_made_up_by_the_poll(fake: FakeNOWPayments, alice: Customer) -> None:
    payment = deposits.start(alice.user, "nowpayments", Decimal("25"), URLS)
    fake.pay(payment.gateway_ref, "finished")
    assert deposits.poll(later()) == 1
    assert alice.balance() == Decimal("125")
    assert deposits.poll(later() + timedelta(hours=1)) == 0  # confirmed: never asked again
    assert deposit_entries(alice) == [("deposit", Decimal("25"))]
    call_command("check_ledger")


def test_the_gateway_timing_out_credits_nothing_then_the_next_poll_credits(
    fake: FakeNOWPayments, alice: Customer
) -> None:
    payment = deposits.start(alice.user, "nowpayments", Decimal("25"), URLS)
    paid = fake.pay(payment.gateway_ref, "finished")
    fake.fault("list", "timeout")
    status, text = fake.notify(paid.id)
    assert (status, text.startswith("gateway did not answer")) == (503, True)
    assert alice.balance() == Decimal("100")
    fake.fault("list", "timeout")
    assert deposits.poll(later()) == 1  # asked, no answer: nothing moves
    assert alice.balance() == Decimal("100")
    assert deposits.poll(later() + timedelta(hours=1)) == 1
    assert alice.balance() == Decimal("125")
    call_command("check_ledger")


@pytest.mark.parametrize(("paid", "credited"), [("10", "10"), ("30", "30")])
def test_a_partial_payment_credits_what_was_paid_and_an_overpayment_all_of_it(
    fake: FakeNOWPayments, alice: Customer, paid: str, credited: str
) -> None:
    payment = deposits.start(alice.user, "nowpayments", Decimal("25"), URLS)
    status = "partially_paid" if Decimal(paid) < 25 else "finished"
    sent = fake.pay(payment.gateway_ref, status, paid=paid)
    assert fake.notify(sent.id)[0] == 200
    payment.refresh_from_db()
    assert (payment.status, payment.credited) == (Status.CONFIRMED, Decimal(credited))
    assert alice.balance() == 100 + Decimal(credited)
    call_command("check_ledger")


def test_finished_a_dust_short_is_paid_in_full_and_partially_paid_may_credit_nothing(
    fake: FakeNOWPayments, alice: Customer, settings: Any
) -> None:
    settings.SMMPANEL_CREDIT_UNDERPAYMENTS = False
    full = deposits.start(alice.user, "nowpayments", Decimal("25"), URLS)
    assert fake.notify(fake.pay(full.gateway_ref, "finished", paid="24.999").id) == (200, "credited\n")
    short = deposits.start(alice.user, "nowpayments", Decimal("25"), URLS)
    assert fake.notify(fake.pay(short.gateway_ref, "partially_paid", paid="20").id)[0] == 200
    short.refresh_from_db()
    assert (short.status, short.credited, short.amount_paid) == (Status.FAILED, None, Decimal("20"))
    assert alice.balance() == Decimal("125")
    call_command("check_ledger")


def test_an_invoice_paid_in_a_second_coin_after_the_first_expired(
    fake: FakeNOWPayments, alice: Customer
) -> None:
    payment = deposits.start(alice.user, "nowpayments", Decimal("25"), URLS)
    first = fake.pay(payment.gateway_ref, "expired", paid="0", coin="eth")
    second = fake.pay(payment.gateway_ref, "finished", coin="ltc")
    assert fake.notify(second.id) == (200, "credited\n")
    assert fake.notify(first.id) == (200, "unchanged (confirmed)\n")
    assert alice.balance() == Decimal("125")
    call_command("check_ledger")


def test_refunded_by_the_gateway_takes_the_credit_back(fake: FakeNOWPayments, alice: Customer) -> None:
    payment = deposits.start(alice.user, "nowpayments", Decimal("25"), URLS)
    sent = fake.pay(payment.gateway_ref, "finished")
    assert fake.notify(sent.id)[0] == 200
    fake.move(sent.id, "refunded")
    assert fake.notify(sent.id) == (200, "refunded by the gateway\n")
    assert alice.balance() == Decimal("100")
    call_command("check_ledger")


def test_answers_that_are_not_usable_raise_what_they_are(fake: FakeNOWPayments, alice: Customer) -> None:
    gateway = gateways.GATEWAYS["nowpayments"]
    config = gateways.config_for("nowpayments")
    assert config is not None and config.from_environment and gateway.ready(config)
    payment = deposits.start(alice.user, "nowpayments", Decimal("25"), URLS)
    deposit = deposits.as_deposit(payment)
    for fault, error in (("http_500", base.Unreachable), ("invalid_json", base.Malformed)):
        fake.fault("list", fault)
        with pytest.raises(error):
            gateway.fetch(config, deposit)
    assert gateway.fetch(config, deposit).status == base.PENDING  # no coin chosen yet
    fake.forget_tokens()  # the JWT expired before the panel thought: it logs in again, once
    assert gateway.fetch(config, deposit).status == base.PENDING
    assert [action for action, _path in fake.calls].count("auth") == 2
    fake.api_key = "rotated"
    with pytest.raises(deposits.PaymentError):
        deposits.start(alice.user, "nowpayments", Decimal("25"), URLS)
    assert Payment.objects.filter(status=Status.FAILED).count() == 1


def test_the_signed_text_is_javascripts_with_keys_sorted_at_every_level() -> None:
    body = {"pay_amount": 0.00005, "b": 1e-7, "a": {"z": 25.0, "c": "ñ"}, "n": None, "big": 1e21}
    text = '{"a":{"c":"ñ","z":25},"b":1e-7,"big":1e+21,"n":null,"pay_amount":0.00005}'
    assert nowpayments.canonical(body) == text
    expected = nowpayments.hmac.new(b"k", text.encode(), "sha512").hexdigest()
    assert nowpayments.signature("k", body) == expected


def test_a_small_deposit_paid_in_a_few_satoshis_is_signed_and_credited(
    fake: FakeNOWPayments, alice: Customer
) -> None:
    payment = deposits.start(alice.user, "nowpayments", Decimal("2.5"), URLS)
    sent = fake.pay(payment.gateway_ref, "finished")
    assert fake.ipn(sent.id)["pay_amount"] == 0.00005  # Python writes 5e-05, JavaScript 0.00005
    assert fake.notify(sent.id) == (200, "credited\n")
    assert alice.balance() == Decimal("102.5")
    call_command("check_ledger")


def test_odd_deliveries_are_refused_not_crashed_on() -> None:
    gateway = gateways.GATEWAYS["nowpayments"]
    config = base.Config("nowpayments", True, {"api_key": "a", "ipn_secret": "s"}, "http://x")
    deep = b"[" * 50_000 + b"]" * 50_000
    cases = [
        (b'{"invoice_id": 1}', {"x-nowpayments-sig": "\u00f1" * 128}, base.Forged),
        (deep, {"x-nowpayments-sig": "ab"}, base.Malformed),
        (deep, {}, base.Forged),
        (b"\xff\xfe", {"x-nowpayments-sig": "ab"}, base.Malformed),
        (b'{"invoice_id": NaN}', {"x-nowpayments-sig": "ab"}, base.Malformed),
    ]
    for body, headers, error in cases:
        with pytest.raises(error):
            gateway.claim(config, base.Delivery(body, headers))
    signed = {"x-nowpayments-sig": nowpayments.signature("s", {"order_id": "SMM-1"})}
    assert gateway.claim(config, base.Delivery(b'{"order_id": "SMM-1"}', signed)) == "SMM-1"


def test_the_listing_login_is_optional() -> None:
    gateway = gateways.GATEWAYS["nowpayments"]
    keys_only = base.Config("nowpayments", True, {"api_key": "a", "ipn_secret": "s"}, "http://x")
    assert gateway.ready(keys_only)
    assert not gateway.ready(base.Config("nowpayments", True, {"api_key": "a"}, "http://x"))


@pytest.fixture(scope="module")
def served_fake() -> Iterator[FakeNOWPayments]:
    with FakeNOWPayments() as fake:
        yield fake


@pytest.fixture(scope="module")
def panel_server_env(served_fake: FakeNOWPayments) -> dict[str, str]:
    return environment(served_fake)


@pytest.mark.server
@pytest.mark.django_db(transaction=True)
def test_ten_ipns_over_http_to_the_real_server_and_a_poll_at_once_credit_once(
    served_fake: FakeNOWPayments,
    panel_server: str,  # noqa: F811  (the fixture)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The whole way over real HTTP: the fake posts to `smmpanel serve` (two worker processes),
    which asks the fake again, while this process polls the same deposit."""
    for name, value in environment(served_fake).items():
        monkeypatch.setenv(name, value)
    alice = make_customer("alice", "0")
    hook = f"{panel_server}/payments/nowpayments/webhook"
    payment = deposits.start(
        alice.user, "nowpayments", Decimal("40"), lambda p: base.Urls(panel_server, hook)
    )
    paid = served_fake.pay(payment.gateway_ref, "finished")
    polled, answers = poll_and_deliveries(
        lambda: deposits.check(payment.pk).status, lambda: served_fake.notify(paid.id)[0]
    )
    assert sorted(map(str, [polled, *answers])) == ["200"] * 10 + ["confirmed"]
    assert alice.balance() == Decimal("40")
    assert LedgerEntry.objects.filter(user=alice.user, kind="deposit").count() == 1
    assert GatewayRecord.objects.filter(payment=payment, kind="webhook", http_status=200).count() == 10
    call_command("check_ledger")
