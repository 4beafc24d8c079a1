"""Customer requests on an existing order: refill and cancel.

Each checks the order's current state under a row lock, records the request
and an event, and moves no money: refunds happen when the order really ends.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from smmpanel.orders import events
from smmpanel.orders.models import Order, Refill

# Parents are followed through their runs and posts, not refilled themselves.
_REFILLABLE_KINDS = (Order.Kind.SINGLE, Order.Kind.RUN, Order.Kind.POST)


class OrderActionError(Exception):
    BAD_ORDER = "bad_order"
    NO_REFILL = "no_refill"
    NO_CANCEL = "no_cancel"

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _locked_order(user_id: int, order_id: int) -> Order:
    try:
        return (
            Order.objects.select_for_update(of=("self",))
            .select_related("service")
            .get(pk=order_id, user_id=user_id)
        )
    except Order.DoesNotExist:
        raise OrderActionError(OrderActionError.BAD_ORDER) from None


def refill_allowed(order: Order, now: datetime) -> bool:
    """The rule of docs/api.md: refill on, finished with delivery, in the window, none open."""
    if not order.service.refill or order.kind not in _REFILLABLE_KINDS:
        return False
    if order.status not in (Order.Status.COMPLETED, Order.Status.PARTIAL):
        return False
    finished = order.finished_at or order.updated_at
    if now > finished + timedelta(days=order.service.refill_days):
        return False
    return not order.refills.filter(status__in=Refill.OPEN).exists()


def request_refill(user_id: int, order_id: int, *, actor_id: int | None = None) -> int:
    """Open a refill of the customer's order; returns the refill's id."""
    now = timezone.now()
    with transaction.atomic():
        order = _locked_order(user_id, order_id)
        if not refill_allowed(order, now):
            raise OrderActionError(OrderActionError.NO_REFILL)
        refill = Refill.objects.create(order=order, user_id=user_id)
        events.record(order.pk, events.Kind.REFILL_REQUESTED, now, actor_id=actor_id, refill=refill.pk)
    return refill.pk


def cancel_allowed(order: Order) -> bool:
    return order.service.cancel and order.status in Order.UNFINISHED


def request_cancel(user_id: int, order_id: int, *, actor_id: int | None = None) -> None:
    """Record that the customer wants the order canceled; asking twice is harmless."""
    now = timezone.now()
    with transaction.atomic():
        order = _locked_order(user_id, order_id)
        if not cancel_allowed(order):
            raise OrderActionError(OrderActionError.NO_CANCEL)
        if order.cancel_requested_at is not None:
            return
        order.cancel_requested_at = now
        order.updated_at = now
        order.save(update_fields=["cancel_requested_at", "updated_at"])
        events.record(order.pk, events.Kind.CANCEL_REQUESTED, now, actor_id=actor_id)
