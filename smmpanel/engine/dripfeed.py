"""Drip-feed: the panel releases each run itself, every `interval` minutes.

The parent was charged for every run when it was placed. Each run is a child
order carrying its share of that charge (the shares add up to the cent), so a
run that ends Partial or Canceled refunds its own share.
"""

from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.db import transaction
from django.db.models import Q

from smmpanel.ledger import services as ledger
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.money import PLACES
from smmpanel.orders import transitions
from smmpanel.orders.models import Order, OrderEvent

P = Order.ProviderState


def run_share(charge: Decimal, runs: int, index: int) -> Decimal:
    """The charge of run `index` (0-based): cumulative shares rounded down, so they sum to `charge`."""

    def upto(n: int) -> Decimal:
        return (charge * n / runs).quantize(PLACES, rounding=ROUND_DOWN)

    return charge - upto(runs - 1) if index == runs - 1 else upto(index + 1) - upto(index)


def _release(parent_id: int, now: datetime) -> bool:
    with transaction.atomic():
        parent = Order.objects.select_for_update().get(pk=parent_id)
        runs = parent.runs or 0
        released = parent.children.count()
        if parent.provider_state != P.QUEUED or parent.status in transitions.FINAL or released >= runs:
            return False
        last = released + 1 == runs
        run = Order.objects.create(
            user_id=parent.user_id,
            service_id=parent.service_id,
            parent=parent,
            kind=Order.Kind.RUN,
            link=parent.link,
            quantity=parent.quantity,
            params=parent.params,
            charge=run_share(parent.charge, runs, released),
            source=parent.source,
            api_key_id=parent.api_key_id,
            remains=parent.quantity,
            created_at=now,
            updated_at=now,
        )
        OrderEvent.objects.create(order=run, kind="created", data={"run": released + 1}, created_at=now)
        OrderEvent.objects.create(order=parent, kind="run_released", data={"run": run.pk}, created_at=now)
        parent.status = Order.Status.IN_PROGRESS
        # After the last run the parent only waits for its runs to end (see settle_dripfeed).
        parent.provider_state = P.SENT if last else P.QUEUED
        parent.next_check_at = None if last else now + timedelta(minutes=parent.interval_minutes or 1)
        parent.updated_at = now
        parent.save(update_fields=["status", "provider_state", "next_check_at", "updated_at"])
    return True


def _cancel(parent_id: int, now: datetime) -> bool:
    """Stop releasing runs, refund the unreleased ones, and ask the released ones to cancel."""
    with transaction.atomic():
        parent = Order.objects.select_for_update().get(pk=parent_id)
        if parent.provider_state != P.QUEUED or parent.status in transitions.FINAL:
            return False
        released = list(parent.children.all())
        unreleased_charge = parent.charge - sum((run.charge for run in released), Decimal(0))
        if unreleased_charge > 0:
            ledger.post(
                parent.user_id,
                unreleased_charge,
                LedgerEntry.Kind.REFUND,
                f"order:{parent.pk}:refund-unreleased",
                order_id=parent.pk,
                now=now,
            )
        parent.provider_state = P.SENT
        parent.next_check_at = None
        parent.updated_at = now
        parent.save(update_fields=["provider_state", "next_check_at", "updated_at"])
        OrderEvent.objects.create(
            order=parent,
            kind="canceled_unreleased_runs",
            data={"released": len(released), "refund": str(unreleased_charge)},
            created_at=now,
        )
        Order.objects.filter(parent=parent, cancel_requested_at__isnull=True).exclude(
            status__in=transitions.FINAL
        ).update(cancel_requested_at=now, updated_at=now)
        transitions.settle_dripfeed(parent.pk, now)
    return True


def cancel_requested(now: datetime, *, limit: int = 100) -> int:
    """Drip-feed orders the customer asked to cancel while runs were still to come."""
    asked = Order.objects.filter(
        kind=Order.Kind.DRIPFEED, provider_state=P.QUEUED, cancel_requested_at__isnull=False
    ).exclude(status__in=transitions.FINAL)
    return sum(_cancel(parent_id, now) for parent_id in list(asked.values_list("id", flat=True)[:limit]))


def release_runs(now: datetime, *, limit: int = 100) -> int:
    """Release the next run of every drip-feed order that is due."""
    due = Order.objects.filter(
        Q(kind=Order.Kind.DRIPFEED, provider_state=P.QUEUED, cancel_requested_at__isnull=True)
        & (Q(next_check_at__isnull=True) | Q(next_check_at__lte=now))
    ).exclude(status__in=transitions.FINAL)
    return sum(_release(parent_id, now) for parent_id in list(due.values_list("id", flat=True)[:limit]))
