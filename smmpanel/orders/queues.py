"""What waits for a person, queue by queue: the console's dashboard counts them and its queue
pages list them (/console/queues/<name>/)."""

from datetime import datetime

from django.db.models import Q, QuerySet

from smmpanel.catalog.models import Provider, Service
from smmpanel.orders.listing import stuck, waiting_for_a_disabled_provider
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
    by_hand = list(Provider.objects.filter(kind=Provider.Kind.MANUAL).values_list("id", flat=True))
    if not by_hand:  # most panels: nothing to look for among the orders
        return Order.objects.none()
    services = Service.objects.filter(provider_id__in=by_hand).values("id")
    theirs = Q(provider_id__in=by_hand) | Q(provider__isnull=True, service_id__in=services)
    return Order.objects.filter(theirs).exclude(status__in=Order.FINAL)


def counts(now: datetime, up_to: int = 1000) -> dict[str, int]:
    """How many wait in each of the orders' queues, by the queue's name in the console's URLs;
    counted up to `up_to` + 1 (more than `up_to` is "a lot": the queue's own page says how many),
    so a queue grown huge does not make every look at the dashboard read all of it."""
    queues: dict[str, QuerySet[Order] | QuerySet[Refill]] = {
        "in-doubt": in_doubt(),
        "failed": refused(),
        "stuck": stuck(now),
        "refills": refills(),
        "cancels": cancels(),
        "manual": manual(),
        "provider-off": waiting_for_a_disabled_provider(),
    }
    return {name: found.order_by()[: up_to + 1].count() for name, found in queues.items()}
