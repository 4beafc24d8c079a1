"""Orders in figures, for the operator's dashboard: placed and their provider cost per day, and
how many stand in each status."""

from datetime import date, datetime, tzinfo
from decimal import Decimal

from django.db.models import Count
from django.db.models.functions import TruncDate

from smmpanel.ledger.totals import sums_by_day
from smmpanel.orders.models import Order


def placed_by_day(since: datetime, zone: tzinfo) -> dict[date, int]:
    """How many orders customers placed from `since` on, per local day in `zone`. An order is what
    a customer placed: a drip-feed's runs and a subscription's posts count in their parent."""
    placed = (
        Order.objects.filter(created_at__gte=since, parent__isnull=True)
        .order_by()
        .annotate(day=TruncDate("created_at", tzinfo=zone))
        .values("day")
        .annotate(count=Count("id"))
    )
    return {row["day"]: row["count"] for row in placed}


def cost_by_day(since: datetime, zone: tzinfo) -> dict[date, Decimal]:
    """What providers charge for the orders created from `since` on (their `cost`, in the panel's
    currency), per local day in `zone`; orders not sent (no cost) count nothing."""
    sums = sums_by_day(Order.objects.filter(created_at__gte=since), "cost", zone)
    return {day: total for (day, _none), total in sums.items()}


def by_status() -> dict[str, int]:
    """How many orders (of every kind) stand in each status; a status none is in is absent."""
    counts = Order.objects.order_by().values("status").annotate(count=Count("id"))
    return {row["status"]: row["count"] for row in counts}
