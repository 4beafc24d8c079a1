"""Money back out: an operator refunds a confirmed deposit through its gateway, or settles the
dispute of a charged-back one. Gateway-agnostic: the gateway is only asked to send the money back
(`Gateway.refund`), always outside any transaction.

A refund moves the balance first and asks the gateway after, so the customer can never spend
money that is on its way back to their card: in one transaction the deposit is locked, its state
and the balance checked, the balance debited (a `deposit_refund` entry of its own) and the deposit
marked `refunded`. Then the gateway is asked. If it refuses, the debit is undone by an entry of its
own and the deposit is `confirmed` again. If it does not answer, nobody knows whether the money
went: the debit stays, and the operator is told to look at the gateway's dashboard.

Partial refunds: `amount` is what goes back to the customer's card, in the deposit's currency, at
most what they paid. The whole of it (the default) takes back all the deposit added to the
balance, its bonus included and its fee given back (as a charge-back does); less than the whole
takes exactly `amount` from the balance and leaves the bonus and fee as they were. Either way the
deposit is then `refunded`, once: a second refund of the same deposit is refused.
"""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from smmpanel.accounts.models import User
from smmpanel.ledger import services as ledger
from smmpanel.ledger.models import Account, LedgerEntry
from smmpanel.ledger.money import ZERO, normalised, to_money, within_places
from smmpanel.payments import deposits, gateways
from smmpanel.payments.gateways import base
from smmpanel.payments.models import GatewayRecord, Payment
from smmpanel.payments.services import PaymentError

Status = Payment.Status
Kind = LedgerEntry.Kind


def _locked(payment_id: int, actor: User, own: str) -> Payment:
    """The deposit, locked, to be acted on by `actor`: never one of their own (`own` says so)."""
    payment = Payment.objects.select_for_update().select_related("user").get(pk=payment_id)
    if payment.user_id == actor.pk:
        raise PaymentError(own, "own_payment")
    return payment


def _gateway(payment: Payment) -> tuple[base.Gateway, base.Config]:
    gateway = gateways.GATEWAYS.get(payment.method)
    if gateway is None or not gateway.refunds:
        raise PaymentError(_("This payment method cannot refund from the panel."), "no_refunds")
    config = gateways.config_for(payment.method)
    if config is None or not gateway.ready(config):
        raise PaymentError(_("This payment method is not set up: its keys are missing."), "not_set_up")
    return gateway, config


def amounts(payment: Payment, amount: Decimal | None) -> tuple[Decimal, Decimal]:
    """(what goes back to the card, what the balance loses) for refunding `amount` of a confirmed
    deposit; PaymentError for an amount it cannot be."""
    paid = to_money(payment.credited or ZERO)
    if amount is None or (amount.is_finite() and to_money(amount) == paid and within_places(amount)):
        return paid, to_money(paid + payment.bonus - payment.fee)
    if not amount.is_finite() or not within_places(amount) or not ZERO < amount <= paid:
        raise PaymentError(
            _("Enter an amount greater than zero and at most %(paid)s, with at most 6 decimal places.")
            % {"paid": normalised(paid)},
            "bad_amount",
        )
    return to_money(amount), to_money(amount)


Debited = tuple[Payment, GatewayRecord, Decimal, Decimal]


def _debit(payment_id: int, actor: User, amount: Decimal | None) -> Debited:
    """The refund's first step, in one transaction: the balance debited, the deposit `refunded`."""
    with transaction.atomic():
        own = _("You cannot refund a payment of your own: another operator must.")
        payment = _locked(payment_id, actor, own)
        if payment.status != Status.CONFIRMED or not payment.credited:
            raise PaymentError(_("Only a confirmed deposit can be refunded."), "not_confirmed")
        _gateway(payment)
        back, debit = amounts(payment, amount)
        record = deposits.record(
            payment.method, GatewayRecord.Kind.REFUND, payment=payment, verdict=f"asked to refund {back}"
        )
        try:
            ledger.post(
                payment.user_id,
                -debit,
                Kind.DEPOSIT_REFUND,
                f"{payment.deposit_reference}:refund:{record.pk}",
                actor_id=actor.pk,
                memo=deposits._memo(payment),
            )
        except ledger.InsufficientFunds:
            raise PaymentError(
                _("The customer's balance (%(balance)s) does not cover this refund (%(debit)s).")
                % {"balance": normalised(ledger.balance_of(payment.user_id)), "debit": normalised(debit)},
                "no_funds",
            ) from None
        payment.status = Status.REFUNDED
        payment.save(update_fields=["status"])
    return payment, record, back, debit


def _undo(payment: Payment, record: GatewayRecord, debit: Decimal, actor: User) -> bool:
    """The gateway refused: give the money back and make the deposit `confirmed` again."""
    with transaction.atomic():
        if not Payment.objects.filter(pk=payment.pk, status=Status.REFUNDED).update(status=Status.CONFIRMED):
            return False
        ledger.post(
            payment.user_id,
            debit,
            Kind.DEPOSIT_REFUND,
            f"{payment.deposit_reference}:refund:{record.pk}:undone",
            actor_id=actor.pk,
            memo=deposits._memo(payment),
        )
    return True


def _note(record: GatewayRecord, verdict: str, body: str = "") -> None:
    record.verdict, record.body = verdict[:200], body[:100_000]
    record.save(update_fields=["verdict", "body"])


def refund(payment_id: int, actor: User, amount: Decimal | None = None) -> Decimal:
    """Refund a confirmed deposit through its gateway (all of it by default; see the module's
    docstring for a part of it). Returns what the balance lost. Raises PaymentError, with a message
    for the operator, when it is refused; the balance and the deposit are then as they were, except
    when the gateway did not answer (the debit stays: see the message)."""
    payment, record, back, debit = _debit(payment_id, actor, amount)
    gateway, config = _gateway(payment)
    try:
        truth = gateway.refund(config, deposits.as_deposit(payment), back)
    except (base.Refused, base.NotSupported) as exc:
        _undo(payment, record, debit, actor)
        _note(record, f"refused: {exc.message}; balance given back")
        raise PaymentError(
            _("The payment service refused the refund (%(reason)s). The balance was given back.")
            % {"reason": exc.message},
            "refused",
        ) from None
    except base.GatewayError as exc:
        _note(record, f"no answer: {exc.message}; balance stays debited, check at the gateway")
        raise PaymentError(
            _(
                "The payment service did not answer, so the refund may or may not have been made. "
                "The balance stays debited: check the payment service's dashboard, and if no refund "
                "was made there, credit the customer back."
            ),
            "unknown",
        ) from None
    _note(record, f"refunded {back}, balance -{debit}", truth.raw)
    return debit


def settle_dispute(payment_id: int, actor: User, note: str = "") -> bool:
    """The operator settles a charged-back deposit's dispute: the account's hold is released (unless
    another dispute of the customer is still unsettled) and the deposit says when. False when it was
    settled already. The balance is left as the charge-back made it: a negative balance still
    refuses orders until the customer adds funds."""
    with transaction.atomic():
        payment = _locked(
            payment_id, actor, _("You cannot settle a dispute of your own: another operator must.")
        )
        if payment.status != Status.CHARGED_BACK:
            raise PaymentError(_("Only a charged-back deposit has a dispute to settle."), "not_disputed")
        if payment.dispute_settled_at is not None:
            return False
        # The account row first, so a charge-back of another deposit cannot slip in between.
        list(Account.objects.select_for_update().filter(user_id=payment.user_id).values_list("pk"))
        payment.dispute_settled_at = timezone.now()
        line = f"Dispute settled by {actor.get_username()}" + (f": {note.strip()}" if note.strip() else "")
        payment.note = (f"{payment.note}\n{line}" if payment.note else line)[:2000]
        payment.save(update_fields=["dispute_settled_at", "note"])
        others = (
            Payment.objects.filter(
                user_id=payment.user_id,
                status=Status.CHARGED_BACK,
                dispute_settled_at__isnull=True,
                credited__gt=0,  # one charged back before it was credited took nothing, held nothing
            )
            .exclude(pk=payment.pk)
            .exists()
        )
        if not others:
            ledger.set_hold(payment.user_id, False)
    return True
