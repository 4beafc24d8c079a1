"""The orders a customer follows: their list, by status or subscription, and its search."""

from django.db.models import Q, QuerySet

from smmpanel.catalog.offers import parse_id
from smmpanel.orders.models import Order

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
