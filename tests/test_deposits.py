"""The gateway core (payments/deposits.py, payments/webhooks.py) with a gateway played in process:
a deposit is credited once whatever arrives, its bonus and fee are entries of their own, and a
webhook that cannot be trusted moves nothing and says why. Each real gateway has its own tests
against a local fake of its HTTP API."""

import json
from collections.abc import Iterator
from decimal import Decimal

import played_gateway
import pytest
from conftest import Customer
from django.core.management import call_command
from django.test import Client
from race import poll_and_deliveries

from smmpanel.ledger.models import LedgerEntry
from smmpanel.payments import deposits, gateways, rules
from smmpanel.payments.gateways import base
from smmpanel.payments.models import GatewayRecord, GatewaySetting, Payment

Status = Payment.Status


class Played(played_gateway.Played):
    """The console tests' played gateway (tests/played_gateway.py) under the name "demo", with a
    webhook of its own: signed by a shared secret in a header, naming its invoice in the body."""

    name = "demo"  # a Payment.Method value; registered only for these tests
    refunds = False
    credentials = (base.Credential("secret", "Secret", "SMMPANEL_TEST_GATEWAY_SECRET"),)

    def __init__(self) -> None:
        super().__init__()
        self.started = 0

    def start(self, config: base.Config, deposit: base.Deposit, urls: base.Urls) -> base.Checkout:
        self.started += 1
        return super().start(config, deposit, urls)

    def claim(self, config: base.Config, delivery: base.Delivery) -> str:
        if delivery.headers.get("x-sign") != config.key("secret"):
            raise base.Forged("wrong signature")
        try:
            return str(json.loads(delivery.body)["uuid"])
        except (ValueError, KeyError):
            raise base.Malformed("no uuid") from None


@pytest.fixture
def played(db: None) -> Iterator[Played]:
    gateway = Played()
    saved = dict(gateways.GATEWAYS)
    gateways.GATEWAYS["demo"] = gateway
    GatewaySetting.objects.create(gateway="demo", enabled=True, credentials={"secret": "s3cret"})
    yield gateway
    gateways.GATEWAYS.clear()
    gateways.GATEWAYS.update(saved)


URLS = lambda payment: base.Urls(f"https://panel.example/funds/{payment.pk}/", "https://panel.example/hook")  # noqa: E731


def post(body: object, sign: str = "s3cret", gateway: str = "demo") -> tuple[int, str]:
    response = Client().post(
        f"/payments/{gateway}/webhook", json.dumps(body), content_type="application/json", HTTP_X_SIGN=sign
    )
    return response.status_code, response.content.decode()


def credits(user_id: int) -> list[tuple[str, Decimal]]:
    entries = LedgerEntry.objects.filter(user_id=user_id).exclude(kind="adjustment").order_by("id")
    return [
        (e.kind, e.amount) for e in entries if e.kind != LedgerEntry.Kind.DEPOSIT or "gateway:" in e.reference
    ]


def test_a_paid_deposit_is_credited_once_however_often_the_webhook_comes(
    played: Played, alice: Customer
) -> None:
    payment = deposits.start(alice.user, "demo", Decimal("25"), URLS)
    assert (payment.status, payment.gateway_ref, payment.checkout_url) == (
        Status.PENDING,
        f"inv-{payment.pk}",
        f"https://pay.example/inv-{payment.pk}",
    )
    assert post({"uuid": payment.gateway_ref}) == (200, "unchanged (pending)\n")
    played.pay(payment.gateway_ref)
    answers = [post({"uuid": payment.gateway_ref}) for _ in range(10)]
    assert answers[0] == (200, "credited\n") and set(answers[1:]) == {(200, "unchanged (confirmed)\n")}
    assert alice.balance() == Decimal("125")
    assert credits(alice.user.pk) == [("deposit", Decimal("25"))]
    payment.refresh_from_db()
    assert (payment.status, payment.credited, payment.amount_paid) == (Status.CONFIRMED, 25, 25)
    assert GatewayRecord.objects.filter(payment=payment, kind="webhook", http_status=200).count() == 11
    call_command("check_ledger")


@pytest.mark.django_db(transaction=True)
def test_ten_webhooks_and_a_poll_at_once_credit_once(played: Played) -> None:
    from conftest import make_customer

    alice = make_customer("alice", "0")
    payment = deposits.start(alice.user, "demo", Decimal("10"), URLS)
    played.pay(payment.gateway_ref)
    polled, delivered = poll_and_deliveries(
        lambda: deposits.check(payment.pk), lambda: post({"uuid": payment.gateway_ref})[0]
    )
    assert set(delivered) == {200} and isinstance(polled, deposits.Outcome)
    assert alice.balance() == Decimal("10")
    assert LedgerEntry.objects.filter(user=alice.user, kind="deposit").count() == 1
    call_command("check_ledger")


def test_bonus_and_fee_are_entries_of_their_own(played: Played, alice: Customer) -> None:
    GatewaySetting.objects.filter(gateway="demo").update(
        fee_percent=Decimal("2.5"),
        fee_fixed=Decimal("0.30"),
        bonus_percent=Decimal("5"),
        bonus_from=Decimal("100"),
    )
    payment = deposits.start(alice.user, "demo", Decimal("100"), URLS)
    played.pay(payment.gateway_ref)
    assert deposits.check(payment.pk).verdict == "credited"
    assert credits(alice.user.pk) == [
        ("deposit", Decimal("100")),
        ("bonus", Decimal("5")),
        ("fee", Decimal("-2.8")),
    ]
    assert alice.balance() == Decimal("202.2")


@pytest.mark.parametrize(
    ("amount", "fee", "bonus"),
    [("99.99", "2.799750", "0"), ("100", "2.8", "5"), ("0.01", "0.01", "0"), ("1000000", "25000.3", "50000")],
)
def test_the_rule_in_exact_decimals(amount: str, fee: str, bonus: str) -> None:
    rule = base.Rule(Decimal("2.5"), Decimal("0.30"), Decimal("5"), Decimal("100"))
    assert rules.fee(rule, Decimal(amount)) == Decimal(fee)
    assert rules.bonus(rule, Decimal(amount)) == Decimal(bonus)


def test_limits_per_gateway(played: Played, alice: Customer) -> None:
    GatewaySetting.objects.filter(gateway="demo").update(min_amount=Decimal("5"), max_amount=Decimal("500"))
    for amount, code in (("4.99", "below_minimum"), ("500.01", "above_maximum"), ("10.001", "decimals")):
        with pytest.raises(deposits.PaymentError) as refused:
            deposits.start(alice.user, "demo", Decimal(amount), URLS)
        assert refused.value.code == code
    assert not Payment.objects.exists() and played.started == 0
    assert deposits.start(alice.user, "demo", Decimal("500"), URLS).status == Status.PENDING


def test_what_cannot_be_trusted_moves_nothing_and_is_recorded(played: Played, alice: Customer) -> None:
    payment = deposits.start(alice.user, "demo", Decimal("25"), URLS)
    played.pay(payment.gateway_ref)
    assert post({"uuid": payment.gateway_ref}, sign="forged")[0] == 403
    assert post({"uuid": payment.gateway_ref}, sign="")[0] == 403
    assert post({"nothing": 1})[0] == 400
    assert post({"uuid": "inv-999999"})[0] == 422
    assert post({"uuid": payment.gateway_ref}, gateway="nowpayments")[0] == 404  # not set up
    played.pay(payment.gateway_ref, currency="EUR")
    assert post({"uuid": payment.gateway_ref}) == (422, "refused: currency 'EUR', asked 'USD'\n")
    played.pay(payment.gateway_ref, currency="USD", amount_asked=Decimal("2500"))
    assert post({"uuid": payment.gateway_ref})[0] == 422
    assert alice.balance() == Decimal("100")
    verdicts = list(
        GatewayRecord.objects.filter(kind="webhook").order_by("id").values_list("http_status", flat=True)
    )
    assert verdicts == [403, 403, 400, 422, 404, 422, 422]


def test_a_lost_webhook_is_made_up_by_the_poll_and_a_timeout_waits(
    played: Played, alice: Customer, clock
) -> None:
    payment = deposits.start(alice.user, "demo", Decimal("25"), URLS)
    played.pay(payment.gateway_ref)
    played.down = True
    later = clock.now + deposits.timedelta(hours=1)
    assert deposits.poll(later) == 1
    assert alice.balance() == Decimal("100")
    played.down = False
    assert post({"uuid": payment.gateway_ref}, sign="s3cret")[0] == 200  # the next trigger
    assert alice.balance() == Decimal("125")
    assert deposits.poll(later + deposits.timedelta(hours=1)) == 0  # confirmed: never asked again


def test_a_webhook_while_the_gateway_times_out_answers_503_then_the_poll_credits(
    played: Played, alice: Customer, clock
) -> None:
    payment = deposits.start(alice.user, "demo", Decimal("25"), URLS)
    played.pay(payment.gateway_ref)
    played.down = True
    assert post({"uuid": payment.gateway_ref})[0] == 503
    assert alice.balance() == Decimal("100")
    played.down = False
    assert deposits.poll(clock.now + deposits.timedelta(hours=1)) == 1
    assert alice.balance() == Decimal("125")


@pytest.mark.parametrize(
    ("credit_underpaid", "balance", "status"), [(True, "110", "confirmed"), (False, "100", "failed")]
)
def test_an_underpayment_credits_what_was_paid_or_nothing(
    played: Played, alice: Customer, settings, credit_underpaid: bool, balance: str, status: str
) -> None:
    settings.SMMPANEL_CREDIT_UNDERPAYMENTS = credit_underpaid
    payment = deposits.start(alice.user, "demo", Decimal("25"), URLS)
    played.pay(payment.gateway_ref, paid="10")
    deposits.check(payment.pk)
    payment.refresh_from_db()
    assert (alice.balance(), payment.status) == (Decimal(balance), status)


def test_an_overpayment_credits_what_was_paid(played: Played, alice: Customer) -> None:
    payment = deposits.start(alice.user, "demo", Decimal("25"), URLS)
    played.pay(payment.gateway_ref, paid="30.5")
    assert deposits.check(payment.pk).verdict == "credited 30.500000 of 25.000000 asked"
    assert alice.balance() == Decimal("130.5")


def test_a_charge_back_may_take_the_balance_below_zero_and_holds_the_account(
    played: Played, alice: Customer
) -> None:
    from smmpanel.ledger import services as ledger

    payment = deposits.start(alice.user, "demo", Decimal("50"), URLS)
    played.pay(payment.gateway_ref)
    deposits.check(payment.pk)
    with deposits.transaction.atomic():
        ledger.post(alice.user.pk, Decimal("-140"), "charge", "spent")
    played.pay(payment.gateway_ref, status=base.CHARGED_BACK)
    assert deposits.check(payment.pk).moved
    assert alice.balance() == Decimal("-40")
    with pytest.raises(ledger.OnHold), deposits.transaction.atomic():
        ledger.post(alice.user.pk, Decimal("-1"), "charge", "more")
    call_command("check_ledger")


def test_a_body_over_the_limit_is_refused_unread_and_nothing_moves(
    played: Played, alice: Customer, settings
) -> None:
    settings.SMMPANEL_WEBHOOK_MAX_BODY = 100
    payment = deposits.start(alice.user, "demo", Decimal("25"), URLS)
    played.pay(payment.gateway_ref)
    status, _text = post({"uuid": payment.gateway_ref, "padding": "x" * 100})
    assert status == 413
    assert alice.balance() == Decimal("100") and not GatewayRecord.objects.filter(kind="webhook").exists()
    assert post({"uuid": payment.gateway_ref})[0] == 200  # within the limit: read and credited
    assert alice.balance() == Decimal("125")


def test_a_sender_past_its_allowance_is_answered_429(played: Played, alice: Customer, settings) -> None:
    settings.SMMPANEL_WEBHOOK_BURST, settings.SMMPANEL_WEBHOOK_PER_MINUTE = 3, 1
    payment = deposits.start(alice.user, "demo", Decimal("25"), URLS)
    answers = [post({"uuid": payment.gateway_ref})[0] for _ in range(5)]
    assert answers == [200, 200, 200, 429, 429]
    assert GatewayRecord.objects.filter(kind="webhook").count() == 3


def test_the_webhook_is_the_only_view_without_csrf_protection(played: Played, alice: Customer) -> None:
    from django.urls import URLPattern, URLResolver, get_resolver

    def views(patterns: list, prefix: str = "") -> list[tuple[str, object]]:
        found = []
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                found += views(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                found.append((prefix + str(pattern.pattern), pattern.callback))
        return found

    exempt = sorted(
        route for route, view in views(get_resolver().url_patterns) if getattr(view, "csrf_exempt", False)
    )
    assert exempt == ["payments/<str:gateway>/webhook"]
    strict = Client(enforce_csrf_checks=True)
    payment = deposits.start(alice.user, "demo", Decimal("25"), URLS)
    answer = strict.post(
        "/payments/demo/webhook",
        json.dumps({"uuid": payment.gateway_ref}),
        content_type="application/json",
        HTTP_X_SIGN="s3cret",
    )
    assert answer.status_code == 200
    strict.force_login(alice.user)
    assert strict.post("/funds/", {"amount": "10"}).status_code == 403  # the rest of the site keeps it


def test_every_gateway_is_named_in_the_readers_language_or_by_its_brand() -> None:
    from django.utils import translation

    with translation.override("es"):
        names = {name: str(gateway.label) for name, gateway in gateways.GATEWAYS.items()}
    assert names["bank_transfer"] == "Transferencia bancaria"
    assert names["stripe"] == "Tarjeta (Stripe)"
    assert names["cryptomus"] == "Cryptomus" and names["nowpayments"] == "NOWPayments"
