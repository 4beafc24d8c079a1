"""Drip-feed: the panel releases each run itself, every `interval` minutes.

This job only finds the drip-feed orders that are due; releasing a run and
canceling the runs to come are `orders.dripfeed`'s (no provider is called here:
each run is sent by dispatch like any order).
"""

from datetime import datetime

from django.db.models import Q

from smmpanel.orders import dripfeed
from smmpanel.orders.models import Order

P = Order.ProviderState


def cancel_requested(now: datetime, *, limit: int = 100) -> int:
    """Drip-feed orders the customer asked to cancel while runs were still to come."""
    asked = Order.objects.filter(
        kind=Order.Kind.DRIPFEED, provider_state=P.QUEUED, cancel_requested_at__isnull=False
    ).exclude(status__in=Order.FINAL)
    return sum(
        dripfeed.cancel(parent_id, now) for parent_id in list(asked.values_list("id", flat=True)[:limit])
    )


def release_runs(now: datetime, *, limit: int = 100) -> int:
    """Release the next run of every drip-feed order that is due."""
    due = Order.objects.filter(
        Q(kind=Order.Kind.DRIPFEED, provider_state=P.QUEUED, cancel_requested_at__isnull=True)
        & (Q(next_check_at__isnull=True) | Q(next_check_at__lte=now))
    ).exclude(status__in=Order.FINAL)
    return sum(
        dripfeed.release(parent_id, now) for parent_id in list(due.values_list("id", flat=True)[:limit])
    )
