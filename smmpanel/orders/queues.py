"""What waits for a person, queue by queue: the console's dashboard counts them and its queue
pages list them (/console/queues/<name>/)."""

from datetime import datetime

from django.db.models import Q, QuerySet

from smmpanel.catalog.models import Provider
from smmpanel.orders.listing import stuck
from smmpanel.orders.models import Order, Refill

P = Order.ProviderState


def in_doubt() -> QuerySet[Order]:
    """Orders whose send may or may not have reached the provider: settled by reconciliation,
    automatic only with a provider that honours Idempotency-Key, otherwise by a person."""
    return Order.objects.filter(provider_state=P.UNKNOWN)


def refused() -> QuerySet[Order]:
    """Orders the provider refused and that are not over: held (or waiting to be retried) under
    their service's policy. A refused order canceled and refunded already needs nobody."""
    return Order.objects.filter(provider_state=P.FAILED).exclude(status__in=Order.FINAL)


def refills() -> QuerySet[Refill]:
    """Refills customers asked for that are not passed on or answered yet."""
    return Refill.objects.filter(status=Refill.Status.PENDING)


def cancels() -> QuerySet[Order]:
    """Orders a customer asked to cancel that have not ended yet."""
    return Order.objects.filter(cancel_requested_at__isnull=False).exclude(status__in=Order.FINAL)


def manual() -> QuerySet[Order]:
    """Orders the operator fulfils by hand (their provider is the manual kind) not over yet."""
    by_hand = Provider.Kind.MANUAL
    theirs = Q(provider__kind=by_hand) | Q(provider__isnull=True, service__provider__kind=by_hand)
    return Order.objects.filter(theirs).exclude(status__in=Order.FINAL)


def counts(now: datetime) -> dict[str, int]:
    """How many wait in each of the orders' queues, by the queue's name in the console's URLs."""
    return {
        "in-doubt": in_doubt().count(),
        "failed": refused().count(),
        "stuck": stuck(now).count(),
        "refills": refills().count(),
        "cancels": cancels().count(),
        "manual": manual().count(),
    }
