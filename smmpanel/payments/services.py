"""Payment state changes: each checks the current state under a row lock, and is a
no-op when the payment is already where it should be (pretix's approve_order)."""

from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from smmpanel.accounts.models import User
from smmpanel.ledger import services as ledger
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.money import (
    MAX_AMOUNT,
    MoneyError,
    normalised,
    parse_amount,
    parse_decimal,
    to_money,
    within_places,
)
from smmpanel.payments.models import Payment

Status = Payment.Status


class PaymentError(Exception):
    """The request or the state change is refused; the message is for the person who asked."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def minimum_deposit() -> Decimal:
    return parse_amount(settings.SMMPANEL_MIN_DEPOSIT)


def check_deposit(amount: Decimal) -> Decimal:
    """The amount a customer may ask to deposit, or PaymentError saying why not."""
    if not amount.is_finite():
        raise PaymentError(str(_("Enter an amount, such as 25 or 12.50.")), "invalid")
    if amount > MAX_AMOUNT:
        raise PaymentError(
            str(_("The largest amount is %(maximum)s %(currency)s."))
            % {"maximum": normalised(MAX_AMOUNT), "currency": settings.SMMPANEL_CURRENCY},
            "above_maximum",
        )
    if amount <= 0:
        raise PaymentError(str(_("Enter an amount greater than zero.")), "not_positive")
    if not within_places(amount):
        raise PaymentError(str(_("Use at most 6 decimal places.")), "decimals")
    minimum = minimum_deposit()
    if amount < minimum:
        raise PaymentError(
            str(_("The smallest amount is %(minimum)s %(currency)s."))
            % {"minimum": normalised(minimum), "currency": settings.SMMPANEL_CURRENCY},
            "below_minimum",
        )
    return to_money(amount)


def parse_deposit(text: str) -> Decimal:
    """An amount typed by the customer (plain digits, a dot for decimals), checked as above."""
    try:
        amount = parse_decimal(text)
    except MoneyError:
        raise PaymentError(str(_("Enter an amount, such as 25 or 12.50.")), "invalid") from None
    return check_deposit(amount)


def request_bank_transfer(user: User, amount: Decimal) -> Payment:
    """A pending payment the customer pays by bank transfer, quoting its reference."""
    amount = check_deposit(amount)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Payment.objects.create(user=user, method=Payment.Method.BANK_TRANSFER, amount=amount)
        except IntegrityError:
            continue  # a reference drawn twice: draw again
    raise RuntimeError("could not draw a unique payment reference")


def _locked(payment_id: int, actor: User | None) -> Payment:
    """The payment, locked, to be decided by `actor`: never one of their own."""
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    if actor is not None and payment.user_id == actor.pk:
        raise PaymentError(
            str(_("You cannot confirm or reject a payment of your own: another operator must.")),
            "own_payment",
        )
    return payment


def _locked_own(payment_id: int, customer: User) -> Payment:
    """The customer's own payment, locked (Payment.DoesNotExist for another's)."""
    return Payment.objects.select_for_update().get(pk=payment_id, user=customer)


# What a payment that is no longer pending answers, by the decision asked for.
_ONLY_PENDING: dict[str, object] = {
    Status.CONFIRMED: _("Only a pending payment can be confirmed."),
    Status.REJECTED: _("Only a pending payment can be rejected."),
    Status.CANCELED: _("Only a pending payment can be canceled."),
}


def _decide(payment: Payment, status: str, **changes: object) -> bool:
    """Move a locked payment from pending to `status`, writing `changes` too, in the caller's
    transaction; False when it is at `status` already (nothing is written)."""
    if payment.status == status:
        return False
    if payment.status != Status.PENDING:
        raise PaymentError(str(_ONLY_PENDING[status]), "not_pending")
    payment.status = status
    payment.decided_at = timezone.now()
    for name, value in changes.items():
        setattr(payment, name, value)
    payment.save(update_fields=["status", "decided_at", *changes])
    return True


def _memo(payment: Payment) -> str:
    # Stored text, so in the panel's language, not the language of whoever confirmed.
    with translation.override(settings.LANGUAGE_CODE):
        return f"{payment.get_method_display()} {payment.reference}"


def confirm(payment_id: int, actor: User | None) -> bool:
    """Mark the payment confirmed and credit its amount; False if it was confirmed already."""
    with transaction.atomic():
        payment = _locked(payment_id, actor)
        if not _decide(payment, Status.CONFIRMED, decided_by=actor):
            return False
        try:
            ledger.post(
                payment.user_id,
                payment.amount,
                LedgerEntry.Kind.DEPOSIT,
                payment.deposit_reference,
                actor_id=actor.pk if actor else None,
                memo=_memo(payment),
            )
        except ledger.BalanceLimit:  # raised inside the transaction: the confirmation is undone too
            raise PaymentError(
                str(_("This deposit would take the balance past the largest amount the panel keeps.")),
                "balance_limit",
            ) from None
    return True


def reject(payment_id: int, actor: User | None, note: str = "") -> bool:
    """The money never came (or is refused); False if it was rejected already."""
    with transaction.atomic():
        return _decide(_locked(payment_id, actor), Status.REJECTED, decided_by=actor, note=note)


def cancel(payment_id: int, user: User) -> bool:
    """The customer withdraws their own pending payment; False if it was canceled already.

    Raises Payment.DoesNotExist for a payment that is not theirs.
    """
    with transaction.atomic():
        return _decide(_locked_own(payment_id, user), Status.CANCELED)
