"""Profit over a period, per day, service, category, provider or customer: the console's reports.

- Revenue is what customers were charged less what was refunded to them: the ledger's charge and
  refund entries of orders, each counted on the day it was written (a refund on its own day, not
  on its order's).
- Cost is what the providers charge for the orders placed in the period (`Order.cost`, in the
  panel's currency, as the provider last reported it; an order never sent has none), counted on
  the day the order was placed, as the dashboard counts it.
- Orders are the orders customers placed in the period (a drip-feed's runs and a subscription's
  posts count in their parent; their cost counts on the day each was created).

An order's provider is the one it was sent to or, before sending, its service's (as the console's
orders list filters them). Every figure is summed by the database, grouped (ledger.totals.grouped).
"""

from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import F, Q
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce, TruncDate

from smmpanel.catalog.models import Category, Provider, Service
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.money import ZERO, margin_percent
from smmpanel.ledger.totals import grouped
from smmpanel.orders.models import Order

BY = ("day", "service", "category", "provider", "customer")
Key = date | int | None  # a day, or the id of a service, category, provider or customer
Kind = LedgerEntry.Kind
NAMES_AT_ONCE = 2000


@dataclass
class Line:
    """One day's, service's, category's, provider's or customer's figures over the period."""

    key: Key
    label: str = ""
    charges: Decimal = ZERO  # what customers were charged (positive)
    refunds: Decimal = ZERO  # what was refunded to them (positive)
    cost: Decimal = ZERO
    orders: int = 0

    @property
    def revenue(self) -> Decimal:
        return self.charges - self.refunds

    @property
    def profit(self) -> Decimal:
        return self.revenue - self.cost

    @property
    def margin(self) -> Decimal | None:
        return margin_percent(self.profit, self.revenue)

    @property
    def day(self) -> date:
        """The key of a line by day."""
        assert isinstance(self.key, date)
        return self.key

    @property
    def id(self) -> int:
        """The key of a line by service, category, provider or customer (0: no provider)."""
        return self.key if isinstance(self.key, int) else 0

    def add(self, other: "Line") -> None:
        self.charges += other.charges
        self.refunds += other.refunds
        self.cost += other.cost
        self.orders += other.orders


def _key(by: str, zone: tzinfo, order: str) -> Combinable:
    """The grouping expression of `by`, for rows whose order is reached through `order`
    ("" for the orders themselves, "order__" for ledger entries)."""
    if by == "day":
        return TruncDate("created_at", tzinfo=zone)
    if by == "provider":
        return Coalesce(F(f"{order}provider_id"), F(f"{order}service__provider_id"))
    fields = {"service": "service_id", "category": "service__category_id", "customer": "user_id"}
    if by not in fields:
        raise ValueError(f"no report by {by!r}")
    return F(fields[by] if by == "customer" else f"{order}{fields[by]}")


def profit_by(by: str, since: datetime, until: datetime, zone: tzinfo) -> list[Line]:
    """Each `by` (see BY) with figures from `since` to before `until`, days in `zone`: days in
    order, anything else by revenue, largest first."""
    lines: dict[Key, Line] = {}
    entries = LedgerEntry.objects.filter(
        created_at__gte=since, created_at__lt=until, kind__in=[Kind.CHARGE, Kind.REFUND]
    ).annotate(key=_key(by, zone, "order__"))
    for (key, kind), group in grouped(entries, ["key", "kind"], ["amount"]).items():
        line = lines.setdefault(key, Line(key))
        if kind == Kind.CHARGE:
            line.charges -= group.sums["amount"]
        else:
            line.refunds += group.sums["amount"]
    orders = Order.objects.filter(created_at__gte=since, created_at__lt=until).annotate(
        key=_key(by, zone, "")
    )
    placed = grouped(orders, ["key"], ["cost"], {"orders": Q(parent__isnull=True)}, counted="created_at")
    for (key,), group in placed.items():
        line = lines.setdefault(key, Line(key))
        line.cost, line.orders = group.sums["cost"], group.counts["orders"]
    if by == "day":
        return [lines[day] for day in sorted(lines, key=lambda day: day or date.min)]
    names = _names(by, [key for key in lines if key is not None])
    for key, line in lines.items():
        line.label = names.get(key, "") if key is not None else ""
    return sorted(lines.values(), key=lambda line: (-line.revenue, line.label, line.key or 0))


def _names(by: str, ids: list[Any]) -> dict[Any, str]:
    """What each id is called: a service's or category's name, a provider's, a username. Asked
    for NAMES_AT_ONCE at a time (SQLite takes a limited number of parameters in a query)."""
    names: dict[Any, str] = {}
    for start in range(0, len(ids), NAMES_AT_ONCE):
        names |= _names_of(by, ids[start : start + NAMES_AT_ONCE])
    return names


def _names_of(by: str, ids: list[Any]) -> dict[Any, str]:
    if by == "customer":
        return dict(get_user_model().objects.filter(pk__in=ids).values_list("pk", "username"))
    if by == "service":
        return dict(Service.objects.filter(pk__in=ids).values_list("pk", "name"))
    if by == "category":
        return dict(Category.objects.filter(pk__in=ids).values_list("pk", "name"))
    return dict(Provider.objects.filter(pk__in=ids).values_list("pk", "name"))


def total(lines: list[Line]) -> Line:
    """The lines added up: the period's figures."""
    whole = Line(None)
    for line in lines:
        whole.add(line)
    return whole
