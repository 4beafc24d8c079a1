"""Orders in figures, for the operator's dashboard: placed and their provider cost per day, and
how many stand in each status."""

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from smmpanel.ledger.money import ZERO
from smmpanel.orders.models import Order


@dataclass
class Day:
    placed: int = (
        0  # orders customers placed: a drip-feed's runs and a subscription's posts are in their parent
    )
    cost: Decimal = ZERO  # what providers charge for the orders created that day (in the panel's currency)


def by_day(since: datetime, zone: tzinfo, until: datetime | None = None) -> dict[date, Day]:
    """The orders created from `since` on (and before `until`, if given), per local day in `zone`:
    how many customers placed and what the providers charge for them (orders not sent, without a
    cost, count nothing); a day without orders is absent. One pass over the orders, exact sums on
    both databases."""
    orders = Order.objects.filter(created_at__gte=since).order_by()
    if until is not None:
        orders = orders.filter(created_at__lt=until)
    days: dict[date, Day] = {}
    if connection.vendor == "postgresql":  # numeric sums are exact: the database groups
        grouped = (
            orders.annotate(day=TruncDate("created_at", tzinfo=zone))
            .values("day")
            .annotate(placed=Count("created_at", filter=Q(parent__isnull=True)), cost=Sum("cost"))
        )
        for row in grouped:
            days[row["day"]] = Day(row["placed"], row["cost"] or ZERO)
        return days
    # SQLite would sum floats: add the exact values up in Python instead.
    for moment, parent_id, cost in orders.values_list("created_at", "parent_id", "cost").iterator(
        chunk_size=5000
    ):
        day = days.setdefault(moment.astimezone(zone).date(), Day())
        day.placed += parent_id is None
        day.cost += cost or ZERO
    return days


def by_status() -> dict[str, int]:
    """How many orders (of every kind) stand in each status; a status none is in is absent."""
    # Counting the status column itself lets PostgreSQL read the index order_created alone.
    counts = Order.objects.order_by().values("status").annotate(count=Count("status"))
    return {row["status"]: row["count"] for row in counts}
