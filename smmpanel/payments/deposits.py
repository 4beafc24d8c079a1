"""Deposits through a gateway: start one, settle what the gateway says about it, poll the ones
whose webhook never came. The gateway is always called outside any transaction; what it said is
then applied in one transaction under the deposit's row lock, so a deposit is credited once
whatever the number of webhooks, page reloads, polls and workers (the credit's ledger reference,
unique, names the gateway's transaction: payments.models.Payment.deposit_reference).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from smmpanel.accounts.models import User
from smmpanel.ledger import services as ledger
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.money import ZERO, normalised, to_money
from smmpanel.payments import gateways, rules
from smmpanel.payments.gateways import base
from smmpanel.payments.models import GatewayRecord, Payment
from smmpanel.payments.services import PaymentError, check_deposit

log = logging.getLogger("smmpanel.payments")
Status = Payment.Status
Kind = LedgerEntry.Kind

# Where a deposit may go from where it is, on the gateway's word. Money that arrives late (an
# expired or failed invoice then paid) is still credited: it is the customer's.
CENTS = Decimal("0.01")
OPEN = {Status.CREATED, Status.PENDING, Status.PAID}
MOVES: dict[str, set[str]] = {
    Status.CREATED: {
        Status.PENDING,
        Status.PAID,
        Status.CONFIRMED,
        Status.FAILED,
        Status.EXPIRED,
        Status.CANCELED,
    },
    # Refunded or charged back before the panel credited it (its webhook lost, then a refund or a
    # dispute at the gateway): closed, with nothing to take back, so never polled again.
    Status.PENDING: {
        Status.PAID,
        Status.CONFIRMED,
        Status.FAILED,
        Status.EXPIRED,
        Status.CANCELED,
        Status.REFUNDED,
        Status.CHARGED_BACK,
    },
    Status.PAID: {
        Status.CONFIRMED,
        Status.FAILED,
        Status.EXPIRED,
        Status.CANCELED,
        Status.REFUNDED,
        Status.CHARGED_BACK,
    },
    Status.FAILED: {Status.CONFIRMED},
    Status.EXPIRED: {Status.CONFIRMED},
    Status.CANCELED: {Status.CONFIRMED},
    Status.CONFIRMED: {Status.REFUNDED, Status.CHARGED_BACK},
}


class Mismatch(PaymentError):
    """What the gateway says does not match the deposit (another id, currency or amount asked)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "mismatch")


@dataclass(frozen=True)
class Outcome:
    """What applying a gateway's answer did: the deposit's state after it, whether money moved,
    and a short verdict in English for the records."""

    status: str
    moved: bool
    verdict: str


def as_deposit(payment: Payment) -> base.Deposit:
    return base.Deposit(
        id=payment.pk,
        reference=payment.reference,
        gateway_ref=payment.gateway_ref,
        amount=to_money(payment.amount),
        currency=payment.currency or settings.SMMPANEL_CURRENCY,
        customer_email=payment.user.email if payment.user_id else "",
    )


def record(
    gateway: str,
    kind: str,
    *,
    payment: Payment | None = None,
    body: str = "",
    verdict: str = "",
    **extra: object,
) -> GatewayRecord:
    return GatewayRecord.objects.create(
        gateway=gateway, kind=kind, payment=payment, body=body[:100_000], verdict=verdict[:200], **extra
    )


def check_limits(config: base.Config, amount: Decimal) -> Decimal:
    """The amount, checked as any deposit's, then against the gateway's own minimum and maximum."""
    amount = check_deposit(amount)
    currency = settings.SMMPANEL_CURRENCY
    if amount != amount.quantize(CENTS):  # gateways invoice in cents: 12.345 would never match
        raise PaymentError(_("Use at most 2 decimal places for this method."), "decimals")
    if config.min_amount is not None and amount < config.min_amount:
        raise PaymentError(
            _("The smallest amount for this method is %(minimum)s %(currency)s.")
            % {"minimum": normalised(config.min_amount), "currency": currency},
            "below_minimum",
        )
    if config.max_amount is not None and amount > config.max_amount:
        raise PaymentError(
            _("The largest amount for this method is %(maximum)s %(currency)s.")
            % {"maximum": normalised(config.max_amount), "currency": currency},
            "above_maximum",
        )
    return amount


def start(user: User, name: str, amount: Decimal, urls: Callable[[Payment], base.Urls]) -> Payment:
    """A new deposit of `amount` through gateway `name`: written first (so nothing is lost if the
    gateway's answer is), then created upstream, then pending with the gateway's id and address.
    Raises PaymentError with a message for the customer; the row then says `failed`."""
    found = gateways.usable(name)
    if found is None:
        raise PaymentError(_("This payment method is not available."), "unavailable")
    gateway, config = found
    amount = check_limits(config, amount)
    with transaction.atomic():
        payment = Payment.objects.create(
            user=user, method=name, amount=amount, status=Status.CREATED, currency=settings.SMMPANEL_CURRENCY
        )
    try:
        checkout = gateway.start(config, as_deposit(payment), urls(payment))
    except base.GatewayError as exc:
        record(name, GatewayRecord.Kind.START, payment=payment, verdict=f"not started: {exc.message}")
        _move(payment.pk, Status.CREATED, Status.FAILED, note=exc.message)
        raise PaymentError(  # noqa: B904  (the cause is in the record; the customer gets the message)
            _("The payment service did not answer as expected. Try again in a few minutes."), "gateway"
        )
    record(name, GatewayRecord.Kind.START, payment=payment, body=checkout.raw, verdict="started")
    try:
        with transaction.atomic():
            Payment.objects.filter(pk=payment.pk, status=Status.CREATED).update(
                status=Status.PENDING, gateway_ref=checkout.gateway_ref, checkout_url=checkout.url
            )
    except IntegrityError:  # the gateway gave an id another deposit holds: never credit both
        _move(payment.pk, Status.CREATED, Status.FAILED, note=f"gateway id {checkout.gateway_ref} taken")
        raise PaymentError(  # noqa: B904
            _("The payment service did not answer as expected. Try again in a few minutes."), "gateway"
        )
    payment.refresh_from_db()
    return payment


def _move(payment_id: int, frm: str, to: str, note: str = "") -> bool:
    changes: dict[str, object] = {"status": to}
    if note:
        changes["note"] = note[:2000]
    return Payment.objects.filter(pk=payment_id, status=frm).update(**changes) == 1


def _check_matches(payment: Payment, truth: base.Truth) -> None:
    if payment.gateway_ref and truth.gateway_ref and truth.gateway_ref != payment.gateway_ref:
        raise Mismatch(
            f"the gateway's id {truth.gateway_ref!r} is not this deposit's {payment.gateway_ref!r}"
        )
    if truth.reference and truth.reference != payment.reference:
        raise Mismatch(
            f"the gateway's order id {truth.reference!r} is not this deposit's {payment.reference!r}"
        )
    currency = payment.currency or settings.SMMPANEL_CURRENCY
    if truth.currency.upper() != currency.upper():
        raise Mismatch(f"currency {truth.currency!r}, asked {currency!r}")
    if truth.amount_asked is not None and to_money(truth.amount_asked) != to_money(payment.amount):
        raise Mismatch(f"amount asked {truth.amount_asked}, this deposit asked {payment.amount}")
    if truth.status not in base.STATUSES:
        raise Mismatch(f"unknown status {truth.status!r}")


def _memo(payment: Payment) -> str:
    with translation.override(settings.LANGUAGE_CODE):  # stored text: the panel's language
        return f"{payment.get_method_display()} {payment.reference}"


def _credit(payment: Payment, truth: base.Truth, config: base.Config | None) -> tuple[str, bool, str]:
    """Credit a locked deposit the gateway calls final: what was paid, its bonus and its fee, each
    an entry of its own. Returns (status, moved, verdict)."""
    paid = to_money(truth.amount_paid) if truth.amount_paid is not None else to_money(payment.amount)
    if paid <= ZERO:
        return Status.FAILED, False, "final with nothing paid"
    if paid < payment.amount and not settings.SMMPANEL_CREDIT_UNDERPAYMENTS:
        return Status.FAILED, False, f"underpaid ({paid} of {payment.amount}): not credited, by the setting"
    rule = config.rule if config else base.Rule()
    bonus, fee = rules.bonus(rule, paid), rules.fee(rule, paid)
    reference, memo = payment.deposit_reference, _memo(payment)
    try:
        ledger.post(payment.user_id, paid, Kind.DEPOSIT, reference, memo=memo)
        if bonus:
            ledger.post(payment.user_id, bonus, Kind.BONUS, f"{reference}:bonus", memo=memo)
        if fee:
            ledger.post(payment.user_id, -fee, Kind.FEE, f"{reference}:fee", memo=memo)
    except ledger.BalanceLimit:
        raise PaymentError(
            _("This deposit would take the balance past the largest amount the panel keeps."), "balance_limit"
        ) from None
    payment.credited, payment.bonus, payment.fee = paid, bonus, fee
    verdict = "credited" if paid == payment.amount else f"credited {paid} of {payment.amount} asked"
    return Status.CONFIRMED, True, verdict


def settle(payment_id: int, truth: base.Truth, now: datetime | None = None) -> Outcome:
    """Apply what the gateway says about a deposit, in one transaction under its row lock: a no-op
    when the deposit is there already. Raises Mismatch (nothing changed) when the answer is not
    about this deposit as it was asked."""
    now = now or timezone.now()
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("user").get(pk=payment_id)
        _check_matches(payment, truth)
        changed = ["checked_at"]
        payment.checked_at = now
        target, moved, verdict = truth.status, False, f"unchanged ({payment.status})"
        if target == payment.status or target not in MOVES.get(payment.status, set()):
            if target != payment.status:
                verdict = f"{target} ignored while {payment.status}"
            payment.save(update_fields=changed)
            return Outcome(payment.status, False, verdict)
        if target == Status.CONFIRMED:
            target, moved, verdict = _credit(payment, truth, gateways.config_for(payment.method))
            changed += ["credited", "bonus", "fee"]
            if target == payment.status:
                payment.save(update_fields=changed)
                return Outcome(payment.status, False, verdict)
        elif target in (Status.REFUNDED, Status.CHARGED_BACK):
            moved = _reverse(payment, target)
            verdict = f"{target} by the gateway" + ("" if moved else ", nothing to take back")
        else:
            verdict = target
        if truth.amount_paid is not None:
            payment.amount_paid = to_money(truth.amount_paid)
            changed.append("amount_paid")
        if truth.rate is not None:
            payment.rate = truth.rate
            changed.append("rate")
        if target not in OPEN:  # a late payment of an expired invoice is decided again, now
            payment.decided_at = now
            changed.append("decided_at")
        payment.status = target
        payment.save(update_fields=[*changed, "status"])
    return Outcome(target, moved, verdict)


def _reverse(payment: Payment, target: str) -> bool:
    """Take back a credited deposit the gateway says was refunded or charged back: what it added
    to the balance, bonus included, fee given back. A charge-back may take the balance below zero
    and puts the account on hold until an operator settles the dispute."""
    taken = to_money((payment.credited or ZERO) + payment.bonus - payment.fee)
    if taken <= ZERO:
        return False
    kind = Kind.CHARGEBACK if target == Status.CHARGED_BACK else Kind.DEPOSIT_REFUND
    if kind == Kind.CHARGEBACK:
        ledger.set_hold(payment.user_id, True)
    ledger.post(payment.user_id, -taken, kind, f"{payment.deposit_reference}:{target}", memo=_memo(payment))
    return True


def check(payment_id: int, kind: str = GatewayRecord.Kind.POLL) -> Outcome:
    """Ask the gateway about one deposit now (a poll, or a person's "check with the gateway") and
    apply the answer. Raises base.GatewayError when it did not answer usefully, Mismatch when the
    answer is not about this deposit; either way nothing moved."""
    payment = Payment.objects.select_related("user").get(pk=payment_id)
    gateway = gateways.GATEWAYS.get(payment.method)
    config = gateways.config_for(payment.method)
    if gateway is None or config is None or not gateway.ready(config):
        raise base.NotSupported(f"gateway {payment.method} is not set up")
    try:
        truth = gateway.fetch(config, as_deposit(payment))
    except base.GatewayError as exc:
        record(payment.method, kind, payment=payment, verdict=f"no answer: {exc.message}")
        raise
    try:
        outcome = settle(payment.pk, truth)
    except PaymentError as exc:
        record(payment.method, kind, payment=payment, body=truth.raw, verdict=f"refused: {exc.message}")
        raise
    record(payment.method, kind, payment=payment, body=truth.raw, verdict=outcome.verdict)
    return outcome


def due(now: datetime, limit: int = 50) -> list[int]:
    """Gateway deposits still open past SMMPANEL_DEPOSIT_POLL_SECONDS since their last word."""
    before = now - timedelta(seconds=settings.SMMPANEL_DEPOSIT_POLL_SECONDS)
    return list(
        Payment.objects.filter(status__in=OPEN, created_at__lte=before)
        .exclude(method=Payment.Method.BANK_TRANSFER)
        .filter(Q(checked_at__isnull=True) | Q(checked_at__lte=before))
        .order_by("checked_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def poll(now: datetime, limit: int = 50) -> int:
    """The worker's job: ask about each due deposit; a lost webhook never loses money. Returns how
    many were asked. A deposit the gateway never knew (its start was lost before the gateway
    answered) fails after SMMPANEL_DEPOSIT_EXPIRE_HOURS."""
    asked = 0
    for payment_id in due(now, limit):
        asked += 1
        try:
            check(payment_id)
        except (base.GatewayError, PaymentError) as exc:
            log.warning("deposit %s: %s", payment_id, getattr(exc, "message", exc))
            _give_up(payment_id, now)
    return asked


def _give_up(payment_id: int, now: datetime) -> None:
    """Mark the poll's try (so the next waits its turn); fail a deposit too old to be paid."""
    old = now - timedelta(hours=settings.SMMPANEL_DEPOSIT_EXPIRE_HOURS)
    Payment.objects.filter(pk=payment_id).update(checked_at=now)
    Payment.objects.filter(pk=payment_id, status=Status.CREATED, created_at__lte=old).update(
        status=Status.FAILED, decided_at=now, note="never started at the gateway"
    )
