"""The dashboard's figures, put together from the apps that own them (ledger, orders): per day
for the last 30 days of the panel's time zone, and summed for today, 7 and 30 days.

A period of N days is today and the N - 1 days before it, each from local midnight: "today" starts
at midnight in settings.TIME_ZONE, whatever the time zone of the member of staff reading it.
"""

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.money import ZERO
from smmpanel.ledger.totals import by_day_and_kind, spent
from smmpanel.orders.figures import by_day

PERIODS = (1, 7, 30)  # days: today, a week, a month
Kind = LedgerEntry.Kind


@dataclass
class Figures:
    """What a stretch of days adds up to. Money in the panel's currency."""

    orders: int = 0
    revenue: Decimal = ZERO  # charges minus refunds, from the ledger
    cost: Decimal = ZERO  # what providers charge for the orders placed
    deposits: Decimal = ZERO

    @property
    def profit(self) -> Decimal:
        return self.revenue - self.cost

    def add(self, other: "Figures") -> None:
        self.orders += other.orders
        self.revenue += other.revenue
        self.cost += other.cost
        self.deposits += other.deposits


@dataclass
class Dashboard:
    today: date
    days: list[tuple[date, Figures]]  # the last 30 days, oldest first
    periods: dict[int, Figures] = field(default_factory=dict)  # 1, 7, 30 -> their sums


def panel_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def first_moment(day: date) -> datetime:
    """Local midnight of `day` in the panel's time zone."""
    return datetime.combine(day, time.min, panel_zone())


def orders_placed(now: datetime) -> dict[int, int]:
    """Orders placed today, in 7 and in 30 days: the counts every role sees."""
    today = timezone.localtime(now, panel_zone()).date()
    orders = by_day(first_moment(today - timedelta(days=max(PERIODS) - 1)), panel_zone())
    return {n: sum(o.placed for day, o in orders.items() if day > today - timedelta(days=n)) for n in PERIODS}


def dashboard(now: datetime) -> Dashboard:
    """Every figure of the last 30 days (money included: for roles that see money)."""
    zone = panel_zone()
    today = timezone.localtime(now, zone).date()
    first = today - timedelta(days=max(PERIODS) - 1)
    since = first_moment(first)
    money = by_day_and_kind(since, zone)
    orders = by_day(since, zone)
    days = []
    for n in range(max(PERIODS)):
        day = first + timedelta(days=n)
        kinds = money.get(day, {kind.value: ZERO for kind in Kind})
        placed = orders.get(day)
        days.append(
            (
                day,
                Figures(
                    orders=placed.placed if placed else 0,
                    revenue=spent(kinds),
                    cost=placed.cost if placed else ZERO,
                    deposits=kinds[Kind.DEPOSIT],
                ),
            )
        )
    board = Dashboard(today, days)
    for n in PERIODS:
        total = Figures()
        for _day, figures in days[-n:]:
            total.add(figures)
        board.periods[n] = total
    return board
