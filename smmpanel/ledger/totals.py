"""What a customer's ledger adds up to: per kind, what their orders cost, what came back."""

from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.money import ZERO
from smmpanel.ledger.services import exact_sums

Kind = LedgerEntry.Kind


def by_kind(user_id: int) -> dict[str, Decimal]:
    """The sum of the customer's entries per kind (charges negative), exact on both databases."""
    zeros = {kind.value: ZERO for kind in Kind}
    return zeros | exact_sums(LedgerEntry.objects.filter(user_id=user_id), "kind")


def spent(totals: dict[str, Decimal]) -> Decimal:
    """What the customer's orders cost, net of what came back: charges minus refunds."""
    return -totals[Kind.CHARGE] - totals[Kind.REFUND]


def refunded(order_id: int) -> Decimal:
    """What was refunded for an order and for its drip-feed runs or subscription posts."""
    entries = LedgerEntry.objects.filter(
        Q(order_id=order_id) | Q(order__parent_id=order_id), kind=Kind.REFUND
    )
    return exact_sums(entries, "kind").get(Kind.REFUND, ZERO)


def sums_by_day(
    rows: QuerySet[Any], amount: str, zone: tzinfo, *, when: str = "created_at", by: str = ""
) -> dict[tuple[date, Any], Decimal]:
    """The exact sum of the rows' `amount` per local day of `when` in `zone` (and per value of
    `by`, if given: keys are (day, value), else (day, None)). Rows whose amount is NULL count 0."""
    rows = rows.order_by().exclude(**{f"{amount}__isnull": True})
    if connection.vendor == "postgresql":  # numeric sums are exact: the database groups
        keys = ["day", by] if by else ["day"]
        grouped = rows.annotate(day=TruncDate(when, tzinfo=zone)).values(*keys).annotate(total=Sum(amount))
        return {(row["day"], row[by] if by else None): row["total"] for row in grouped}
    # SQLite would sum floats: add the exact values up in Python instead.
    sums: dict[tuple[date, Any], Decimal] = {}
    fields = [when, amount, by] if by else [when, amount]
    for moment, value, *key in rows.values_list(*fields).iterator(chunk_size=5000):
        day = (moment.astimezone(zone).date(), key[0] if by else None)
        sums[day] = sums.get(day, ZERO) + value
    return sums


def by_day_and_kind(
    since: datetime, zone: tzinfo, until: datetime | None = None
) -> dict[date, dict[str, Decimal]]:
    """Every customer's entries from `since` on (and before `until`, if given), summed per local
    day in `zone` and per kind (charges negative, refunds and deposits positive); a day without
    entries is absent."""
    days: dict[date, dict[str, Decimal]] = {}
    entries = LedgerEntry.objects.filter(created_at__gte=since)
    if until is not None:
        entries = entries.filter(created_at__lt=until)
    for (day, kind), total in sums_by_day(entries, "amount", zone, by="kind").items():
        days.setdefault(day, {kind.value: ZERO for kind in Kind})[kind] = total
    return days
