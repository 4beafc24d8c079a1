"""Cryptomus and Heleket (one module, two registrations) against a local fake of their HTTP API
(tests/fake_cryptomus.py, following the public documentation): invoices signed as documented, a
deposit credited once whatever webhooks arrive and in whatever order, nothing credited for a
webhook that cannot be trusted, and the poll making up for webhooks that never come."""

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from conftest import Customer, make_customer
from django.core.management import call_command
from django.test import Client
from fake_cryptomus import KEY, MERCHANT, FakeCryptomus, php_json_encode, sign
from race import poll_and_deliveries
from server import panel_server  # noqa: F401  (a fixture)

from smmpanel.ledger.models import LedgerEntry
from smmpanel.payments import deposits, gateways
from smmpanel.payments.gateways import base
from smmpanel.payments.gateways.cryptomus import STATUSES, php_json, signature
from smmpanel.payments.models import GatewayRecord, GatewaySetting, Payment
from smmpanel.payments.services import PaymentError

Status = Payment.Status
OTHER_MERCHANT = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"


@dataclass
class Upstream:
    name: str  # cryptomus or heleket
    fake: FakeCryptomus
    webhook_base: str = "http://testserver"

    def urls(self, payment: Payment) -> base.Urls:
        return base.Urls(
            f"https://panel.example/funds/{payment.pk}/", f"{self.webhook_base}/payments/{self.name}/webhook"
        )

    def start(self, customer: Customer, amount: str) -> Payment:
        return deposits.start(customer.user, self.name, Decimal(amount), self.urls)

    def post(self, body: bytes, name: str = "") -> tuple[int, str]:
        response = Client().post(
            f"/payments/{name or self.name}/webhook", body, content_type="application/json"
        )
        return response.status_code, response.content.decode().strip()


@pytest.fixture(params=["cryptomus", "heleket"])
def upstream(request: pytest.FixtureRequest, db: None) -> Iterator[Upstream]:
    name = request.param
    with FakeCryptomus(pay_host=f"https://pay.{name}.test") as fake:
        GatewaySetting.objects.create(
            gateway=name, enabled=True, credentials={"merchant": MERCHANT, "key": KEY}, base_url=fake.url
        )
        yield Upstream(name, fake)


@pytest.fixture
def quick(upstream: Upstream, monkeypatch: pytest.MonkeyPatch) -> Upstream:
    """The gateway gives up on the fake after a second, not fifteen (a timeout test)."""
    monkeypatch.setattr(gateways.GATEWAYS[upstream.name], "timeout", httpx.Timeout(1.0))
    return upstream


def deposit_entries(customer: Customer) -> list[tuple[str, Decimal]]:
    entries = LedgerEntry.objects.filter(user=customer.user).exclude(kind="adjustment").order_by("id")
    return [(entry.kind, entry.amount) for entry in entries if "gateway:" in entry.reference]


def verdicts(payment: Payment | None = None) -> list[int | None]:
    records = GatewayRecord.objects.filter(kind="webhook").order_by("id")
    if payment is not None:
        records = records.filter(payment=payment)
    return list(records.values_list("http_status", flat=True))


def test_an_invoice_is_created_signed_with_the_deposit_s_amount_reference_and_addresses(
    upstream: Upstream, alice: Customer
) -> None:
    payment = upstream.start(alice, "25")
    [(path, sent)] = upstream.fake.calls
    assert path == "/v1/payment"  # the fake answers only a request signed with the merchant's key
    assert sent == {
        "amount": "25",
        "currency": "USD",
        "order_id": payment.reference,
        "url_callback": f"http://testserver/payments/{upstream.name}/webhook",
        "url_return": f"https://panel.example/funds/{payment.pk}/",
        "url_success": f"https://panel.example/funds/{payment.pk}/",
    }
    invoice = upstream.fake.invoices[payment.gateway_ref]
    assert (payment.status, payment.checkout_url) == (
        Status.PENDING,
        f"https://pay.{upstream.name}.test/pay/{invoice.uuid}",
    )
    assert GatewayRecord.objects.get(payment=payment, kind="start").verdict == "started"


def test_a_paid_deposit_is_credited_once_whatever_the_webhooks_and_their_order(
    upstream: Upstream, alice: Customer
) -> None:
    payment = upstream.start(alice, "25")
    fake, uuid = upstream.fake, payment.gateway_ref
    assert upstream.post(fake.webhook(uuid)) == (200, "unchanged (pending)")
    fake.set_status(uuid, "confirm_check")
    assert upstream.post(fake.webhook(uuid)) == (200, "paid")
    assert alice.balance() == Decimal("100")  # seen on the chain, not final: nothing yet
    fake.set_status(uuid, "paid")
    assert upstream.post(fake.webhook(uuid)) == (200, "credited")
    # The same deliveries again, ten of them, older ones after newer: each only a trigger.
    replays = [*fake.invoices[uuid].history, fake.webhook(uuid)] * 4
    random.Random(13).shuffle(replays)
    answers = {upstream.post(body) for body in replays[:10]}
    assert answers == {(200, "unchanged (confirmed)")}
    assert alice.balance() == Decimal("125")
    assert deposit_entries(alice) == [("deposit", Decimal("25"))]
    payment.refresh_from_db()
    assert (payment.status, payment.credited, payment.amount_paid) == (Status.CONFIRMED, 25, 25)
    assert verdicts(payment) == [200] * 13
    call_command("check_ledger")


@pytest.mark.django_db(transaction=True)
def test_ten_webhooks_in_parallel_through_the_real_server_and_a_poll_credit_once(
    upstream: Upstream,
    panel_server: str,  # noqa: F811  (the fixture)
) -> None:
    upstream.webhook_base = panel_server
    alice = make_customer("alice", "0")
    payment = upstream.start(alice, "40")
    fake, uuid = upstream.fake, payment.gateway_ref
    fake.set_status(uuid, "paid")
    _polled, answers = poll_and_deliveries(
        lambda: deposits.check(payment.pk).verdict, lambda: fake.post_webhook(uuid)
    )
    assert [str(answer) for answer in answers].count("200") == 10, answers
    assert alice.balance() == Decimal("40")
    assert LedgerEntry.objects.filter(user=alice.user, kind="deposit").count() == 1
    assert GatewayRecord.objects.filter(payment=payment, kind="webhook", http_status=200).count() == 10
    call_command("check_ledger")


def test_what_cannot_be_trusted_credits_nothing_answers_4xx_and_is_recorded(
    upstream: Upstream, alice: Customer
) -> None:
    payment = upstream.start(alice, "25")
    fake, uuid = upstream.fake, payment.gateway_ref
    fake.set_status(uuid, "paid")
    data = json.loads(fake.webhook(uuid, additional_data="Top-up 1/2 — ¡gracias!"))
    data.pop("sign")
    unescaped = json.dumps(data, ensure_ascii=False, separators=(",", ":"))  # slashes left as they are
    stranger = fake.create("SMM-NOTOURS", "25")
    fake.set_status(stranger.uuid, "paid")
    other = FakeCryptomus(merchant=OTHER_MERCHANT, key="their-key")
    other.invoices[uuid] = fake.invoices[uuid]
    cases = [
        (fake.webhook(uuid, key="not-the-payment-key"), 403),
        (fake.webhook(uuid, unsigned=True), 403),
        (json.dumps({**data, "sign": sign(unescaped, KEY)}).encode(), 403),
        (fake.webhook(uuid, merchant_id=OTHER_MERCHANT), 403),  # signed with our key, for another
        (other.webhook(uuid), 403),  # another merchant's webhook, signed with their key
        (b"uuid=" + uuid.encode(), 400),
        (fake.webhook(stranger.uuid), 422),  # an invoice the panel never made
    ]
    for body, status in cases:
        assert upstream.post(body)[0] == status, body
    fake.tamper(uuid, amount="2500")
    assert upstream.post(fake.webhook(uuid)) == (
        422,
        "refused: amount asked 2500.00, this deposit asked 25.000000",
    )
    fake.tamper(uuid, amount="25", currency="EUR")
    assert upstream.post(fake.webhook(uuid)) == (422, "refused: currency 'EUR', asked 'USD'")
    not_set_up = "heleket" if upstream.name == "cryptomus" else "cryptomus"
    assert upstream.post(fake.webhook(uuid), name=not_set_up)[0] == 404
    assert alice.balance() == Decimal("100")
    assert deposit_entries(alice) == []
    assert verdicts() == [403, 403, 403, 403, 403, 400, 422, 422, 422, 404]
    # The escaping is what makes the difference: the same body signed as documented is accepted.
    fake.tamper(uuid, currency="USD")
    assert upstream.post(fake.webhook(uuid, additional_data="Top-up 1/2 — ¡gracias!")) == (200, "credited")
    call_command("check_ledger")


def test_a_webhook_that_never_comes_is_made_up_by_the_poll(
    upstream: Upstream, alice: Customer, clock
) -> None:
    payment = upstream.start(alice, "25")
    upstream.fake.set_status(payment.gateway_ref, "paid")
    assert deposits.poll(clock.now) == 0  # not due yet
    assert deposits.poll(clock.now + timedelta(hours=1)) == 1
    assert alice.balance() == Decimal("125")
    assert deposits.poll(clock.now + timedelta(hours=2)) == 0  # confirmed: never asked again
    call_command("check_ledger")


def test_a_deposit_whose_start_answer_was_lost_is_found_by_its_reference(
    upstream: Upstream, alice: Customer, clock
) -> None:
    payment = upstream.start(alice, "25")
    Payment.objects.filter(pk=payment.pk).update(gateway_ref="", status=Status.CREATED)
    upstream.fake.set_status(payment.gateway_ref, "paid")
    assert deposits.poll(clock.now + timedelta(hours=1)) == 1
    assert upstream.fake.calls[-1] == ("/v1/payment/info", {"order_id": payment.reference})
    assert alice.balance() == Decimal("125")
    call_command("check_ledger")


def test_the_gateway_timing_out_credits_nothing_until_the_next_poll(
    quick: Upstream, alice: Customer, clock
) -> None:
    payment = quick.start(alice, "25")
    fake, uuid = quick.fake, payment.gateway_ref
    fake.set_status(uuid, "paid")
    fake.hang()
    assert quick.post(fake.webhook(uuid)) == (
        503,
        f"gateway did not answer: {gateways.GATEWAYS[quick.name].label}: no answer in time",
    )
    fake.hang()
    assert deposits.poll(clock.now + timedelta(hours=1)) == 1
    assert alice.balance() == Decimal("100")
    payment.refresh_from_db()
    assert payment.status == Status.PENDING
    assert (
        GatewayRecord.objects.filter(payment=payment, kind="poll")
        .latest("id")
        .verdict.startswith("no answer")
    )
    assert deposits.poll(clock.now + timedelta(hours=2)) == 1
    assert alice.balance() == Decimal("125")
    call_command("check_ledger")


@pytest.mark.parametrize(
    ("status", "paid", "deposit", "balance"),
    [
        ("process", None, Status.PENDING, "100"),
        ("check", None, Status.PENDING, "100"),
        ("confirm_check", None, Status.PAID, "100"),
        ("wrong_amount_waiting", "10", Status.PAID, "100"),
        ("locked", None, Status.PAID, "100"),
        ("paid", None, Status.CONFIRMED, "125"),
        ("paid", "24.99", Status.CONFIRMED, "125"),  # within the gateway's tolerance: paid in full
        ("paid_over", "30", Status.CONFIRMED, "130"),
        ("wrong_amount", "10", Status.CONFIRMED, "110"),
        ("cancel", None, Status.CANCELED, "100"),
        ("fail", None, Status.FAILED, "100"),
        ("system_fail", None, Status.FAILED, "100"),
    ],
)
def test_each_invoice_status(
    upstream: Upstream, alice: Customer, settings, status: str, paid: str | None, deposit: str, balance: str
) -> None:
    settings.SMMPANEL_CREDIT_UNDERPAYMENTS = True
    payment = upstream.start(alice, "25")
    upstream.fake.set_status(payment.gateway_ref, status, paid=paid)
    deposits.check(payment.pk)
    payment.refresh_from_db()
    assert (payment.status, alice.balance()) == (deposit, Decimal(balance))
    call_command("check_ledger")


def test_an_underpayment_is_not_credited_when_the_setting_says_so(
    upstream: Upstream, alice: Customer, settings
) -> None:
    settings.SMMPANEL_CREDIT_UNDERPAYMENTS = False
    payment = upstream.start(alice, "25")
    upstream.fake.set_status(payment.gateway_ref, "wrong_amount", paid="10")
    assert upstream.post(upstream.fake.webhook(payment.gateway_ref))[0] == 200
    payment.refresh_from_db()
    assert (payment.status, payment.amount_paid, alice.balance()) == (Status.FAILED, 10, Decimal("100"))
    call_command("check_ledger")


def test_a_refund_takes_the_credit_back_once_it_is_paid(upstream: Upstream, alice: Customer) -> None:
    payment = upstream.start(alice, "25")
    fake, uuid = upstream.fake, payment.gateway_ref
    fake.set_status(uuid, "paid")
    assert upstream.post(fake.webhook(uuid)) == (200, "credited")
    fake.set_status(uuid, "refund_process")
    assert upstream.post(fake.webhook(uuid)) == (200, "paid ignored while confirmed")
    fake.set_status(uuid, "refund_fail")
    assert upstream.post(fake.webhook(uuid)) == (200, "unchanged (confirmed)")
    assert alice.balance() == Decimal("125")
    fake.set_status(uuid, "refund_paid")
    assert upstream.post(fake.webhook(uuid)) == (200, "refunded by the gateway")
    assert upstream.post(fake.webhook(uuid)) == (200, "unchanged (refunded)")
    assert alice.balance() == Decimal("100")
    assert deposit_entries(alice) == [("deposit", Decimal("25")), ("deposit_refund", Decimal("-25"))]
    call_command("check_ledger")


def test_errors_are_told_apart_and_a_start_that_fails_says_so(upstream: Upstream, alice: Customer) -> None:
    gateway, config = gateways.usable(upstream.name) or (None, None)
    assert gateway is not None and config is not None
    fake = upstream.fake
    fake.fail("http_502")
    with pytest.raises(PaymentError) as refused:
        upstream.start(alice, "25")
    assert refused.value.code == "gateway"
    assert Payment.objects.get().status == Status.FAILED
    payment = upstream.start(alice, "25")
    deposit = deposits.as_deposit(payment)
    fake.fail("bad_json")
    with pytest.raises(base.Malformed):
        gateway.fetch(config, deposit)
    fake.fail("http_502")
    with pytest.raises(base.Unreachable):
        gateway.fetch(config, deposit)
    fake.set_status(payment.gateway_ref, "a_status_nobody_documented")
    with pytest.raises(base.Malformed, match="unknown status"):
        gateway.fetch(config, deposit)
    wrong = base.Config(upstream.name, True, {"merchant": MERCHANT, "key": "wrong"}, config.base_url)
    with pytest.raises(base.Refused, match="HTTP 401"):
        gateway.fetch(wrong, deposit)
    with pytest.raises(base.Refused, match="Payment not found"):
        gateway.fetch(config, deposits.as_deposit(Payment(reference="SMM-UNKNOWN", amount=1, currency="USD")))
    fake.stop()
    with pytest.raises(base.Unreachable):
        gateway.fetch(config, deposit)
    assert alice.balance() == Decimal("100")


def test_configured_from_the_environment(db: None, alice: Customer, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeCryptomus() as fake:
        assert gateways.usable("heleket") is None
        monkeypatch.setenv("SMMPANEL_HELEKET_MERCHANT", MERCHANT)
        monkeypatch.setenv("SMMPANEL_HELEKET_KEY", KEY)
        monkeypatch.setenv("SMMPANEL_HELEKET_URL", fake.url)
        gateway, config = gateways.usable("heleket") or (None, None)
        assert config is not None and (config.from_environment, config.base_url) == (True, fake.url)
        payment = Upstream("heleket", fake).start(alice, "12.5")
        assert fake.calls[0][1]["amount"] == "12.5"
        assert fake.invoices[payment.gateway_ref].order_id == payment.reference


def test_the_signature_is_php_s_json_encoded_body() -> None:
    data = {"uuid": "a", "from": None, "note": "1/2 ñ", "is_final": True, "amount": "1.50"}
    assert php_json(data) == '{"uuid":"a","from":null,"note":"1\\/2 ñ","is_final":true,"amount":"1.50"}'
    assert php_json(data) == php_json_encode(data)
    # Heleket's documentation: a request without parameters is signed as the empty string.
    assert signature("", "k") == "8ce4b16b22b58894aa86c421e8759df3" == sign("", "k")
    assert set(STATUSES) >= {"paid", "paid_over", "wrong_amount", "cancel", "fail", "refund_paid"}
