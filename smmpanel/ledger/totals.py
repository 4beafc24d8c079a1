"""What a customer's ledger adds up to: per kind, what their orders cost, what came back."""

from decimal import Decimal

from django.db.models import Q

from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.money import ZERO
from smmpanel.ledger.services import exact_sums

Kind = LedgerEntry.Kind


def by_kind(user_id: int) -> dict[str, Decimal]:
    """The sum of the customer's entries per kind (charges negative), exact on both databases."""
    zeros = {kind.value: ZERO for kind in Kind}
    return zeros | exact_sums(LedgerEntry.objects.filter(user_id=user_id), "kind")


def spent(totals: dict[str, Decimal]) -> Decimal:
    """What the customer's orders cost, net of what came back: charges minus refunds."""
    return -totals[Kind.CHARGE] - totals[Kind.REFUND]


def refunded(order_id: int) -> Decimal:
    """What was refunded for an order and for its drip-feed runs or subscription posts."""
    entries = LedgerEntry.objects.filter(
        Q(order_id=order_id) | Q(order__parent_id=order_id), kind=Kind.REFUND
    )
    return exact_sums(entries, "kind").get(Kind.REFUND, ZERO)
