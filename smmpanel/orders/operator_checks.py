"""What every operator action on an order (orders/operator.py) stands on: its errors and outcome,
reading the order under its lock, and the checks of where it stands, each refusing in the
operator's words."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from smmpanel.accounts.models import User
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.money import ZERO
from smmpanel.orders import dripfeed, events
from smmpanel.orders.models import STATUS_LABELS, Order

S, P, E = Order.Status, Order.ProviderState, events.Kind
PARENTS = (Order.Kind.DRIPFEED, Order.Kind.SUBSCRIPTION)
MAX_BULK = 200
MAX_PROVIDER_ORDER_ID = 100  # Order.provider_order_id's length
# Where an order stands with its provider, as a sentence's end ("Order #12 is ...").
STATE_WORDS = {
    P.QUEUED: gettext_lazy("waiting to be sent"),
    P.SENDING: gettext_lazy("being sent right now"),
    P.SENT: gettext_lazy("accepted by its provider"),
    P.UNKNOWN: gettext_lazy("in doubt (it may or may not have reached its provider)"),
    P.FAILED: gettext_lazy("refused by its provider"),
}


class Refused(Exception):
    """The order's state does not allow the action; nothing was changed. `message` says why."""

    def __init__(self, message: str, order_id: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.order_id = order_id


Fields = Mapping[str, str | int]  # field name -> value, as JSON takes it


@dataclass(frozen=True)
class Outcome:
    """What an action did, for the console's audit record: the fields it changed, before and after."""

    order_id: int
    action: str
    before: Fields
    after: Fields
    refund: Decimal = ZERO


# --- Reading and checking an order ------------------------------------------------------


def _locked(order_id: int) -> Order:
    """The order, its row locked (a drip-feed run's parent locked first, see orders.dripfeed)."""
    dripfeed.lock_parents([order_id])
    found = (
        Order.objects.select_for_update(of=("self",))
        .select_related("service", "provider")
        .filter(pk=order_id)
    )
    order = found.first()
    if order is None:
        raise Refused(_("There is no order #%(order)s.") % {"order": order_id}, order_id)
    return order


def _refuse(order: Order, message: str, **values: object) -> Refused:
    return Refused(message % {"order": order.pk, **values}, order.pk)


def _state(order: Order) -> str:
    return str(STATE_WORDS[P(order.provider_state)])


def _not_parent(order: Order) -> None:
    if order.kind in PARENTS:
        raise _refuse(
            order,
            _(
                "Order #%(order)s is a drip-feed or subscription order: act on the orders of its "
                "runs or posts instead."
            ),
        )


def _unfinished(order: Order) -> None:
    if order.status not in Order.UNFINISHED:
        raise _refuse(
            order,
            _("Order #%(order)s is finished (%(status)s): nothing can change that now."),
            status=STATUS_LABELS[S(order.status)],
        )


def _before_sending(order: Order, what: str) -> None:
    """`what`: the change, as the end of "only before the order is sent can ..."."""
    if order.provider_state not in (P.QUEUED, P.FAILED):
        raise _refuse(
            order,
            _("Order #%(order)s is %(state)s: %(what)s only before an order is sent."),
            state=_state(order),
            what=what,
        )


def _with_provider(order: Order) -> None:
    if order.provider_state != P.SENT:
        raise _refuse(
            order,
            _("Order #%(order)s is %(state)s: only an order its provider accepted has progress to record."),
            state=_state(order),
        )


def _in_doubt(order: Order) -> None:
    _unfinished(order)
    if order.provider_state != P.UNKNOWN:
        raise _refuse(order, _("Order #%(order)s is not in doubt: it is %(state)s."), state=_state(order))


def _count(value: object, low: int, high: int | None) -> int:
    """`value` if it is a whole number from `low` to `high` (None: no upper bound); else ValueError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError
    if high is not None and value > high:
        raise ValueError
    return value


def _changed_meanwhile(order: Order) -> Refused:
    return _refuse(order, _("Order #%(order)s changed meanwhile: look at it again."))


def _swapped(order: Order, now: datetime, **changes: Any) -> None:
    """Set `changes` if the order is still where it was read (provider state and status)."""
    same = Order.objects.filter(pk=order.pk, provider_state=order.provider_state, status=order.status)
    if same.update(updated_at=now, **changes) != 1:
        raise _changed_meanwhile(order)


def _record(
    order: Order, kind: events.Kind, actor: User | None, now: datetime, note: str, **data: Any
) -> None:
    if note:
        data["note"] = note[:500]  # the operator's words: the customer's history never shows them
    events.record(order.pk, kind, now, actor_id=actor.pk if actor else None, **data)


def _refunded(order_id: int, reason: str = "refund") -> Decimal:
    """What the order's refund for `reason` came to (orders.creating: one entry per reason)."""
    reference = f"order:{order_id}:{reason}"
    found = LedgerEntry.objects.filter(reference=reference).values_list("amount", flat=True).first()
    return ZERO if found is None else found
