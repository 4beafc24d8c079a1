"""The orders a customer follows: their list, by status or subscription, and its search; and the
orders that have stopped moving, for the operator."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from smmpanel.catalog.models import Service
from smmpanel.catalog.offers import parse_id
from smmpanel.orders.models import Order, OrderEvent

SUBSCRIPTIONS = "subscriptions"  # a filter of its own: every subscription, whatever its status


def _top_level(user_id: int) -> QuerySet[Order]:
    # Drip-feed runs and subscription posts show on their parent's page.
    return Order.objects.filter(user_id=user_id, parent__isnull=True)


def has_subscriptions(user_id: int) -> bool:
    return _top_level(user_id).filter(kind=Order.Kind.SUBSCRIPTION).exists()


def customer_orders(user_id: int, *, status: str = "", search: str = "") -> QuerySet[Order]:
    """The customer's orders, newest first: with `status` (a status, or SUBSCRIPTIONS), and
    whose link holds `search` or whose id it is ("#42" too)."""
    found = _top_level(user_id)
    if status == SUBSCRIPTIONS:
        found = found.filter(kind=Order.Kind.SUBSCRIPTION)
    elif status:
        found = found.filter(status=status)
    if search:
        wanted = Q(link__icontains=search)
        number = parse_id(search.removeprefix("#"))
        if number is not None:
            wanted |= Q(pk=number)
        found = found.filter(wanted)
    return found.select_related("service").order_by("-id")


def stuck(now: datetime) -> QuerySet[Order]:
    """Orders a provider has and works on (sent; Pending, In progress or Processing) that have not
    moved for longer than their service's `stuck_after_minutes` (else SMMPANEL_STUCK_AFTER_MINUTES):
    sent before then, and no progress reported since. Oldest first.

    "Moved" is read from the order's history, not its `updated_at`: every status check bumps that,
    whether or not anything changed, while a `progress` event is written only when the status,
    the start count or the remains did.
    """
    # Services with a threshold of their own are few: name them, and spare the query a join.
    own: dict[int, list[int]] = {}
    for service_id, minutes in Service.objects.exclude(stuck_after_minutes=None).values_list(
        "id", "stuck_after_minutes"
    ):
        own.setdefault(minutes or 0, []).append(service_id)
    groups = {
        ~Q(service_id__in=[pk for ids in own.values() for pk in ids]): settings.SMMPANEL_STUCK_AFTER_MINUTES
    }
    groups |= {Q(service_id__in=ids): minutes for minutes, ids in own.items()}
    quiet = Q(pk__in=[])
    for same_threshold, minutes in groups.items():
        since = now - timedelta(minutes=minutes)
        moved = OrderEvent.objects.filter(
            order_id=OuterRef("pk"), kind=OrderEvent.Kind.PROGRESS, created_at__gt=since
        )
        quiet |= same_threshold & Q(sent_at__lte=since) & ~Q(Exists(moved))
    running = Order.objects.filter(status__in=Order.RUNNING, provider_state=Order.ProviderState.SENT)
    # A drip-feed or subscription parent is followed through its runs and posts: they get stuck.
    upstream = running.exclude(kind__in=(Order.Kind.DRIPFEED, Order.Kind.SUBSCRIPTION))
    return upstream.filter(quiet).order_by("sent_at", "id")
