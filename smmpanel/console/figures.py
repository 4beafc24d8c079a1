"""The dashboard's figures, put together from the apps that own them (ledger, orders): per day
for the last 30 days of the panel's time zone, and summed for today, 7 and 30 days.

A period of N days is today and the N - 1 days before it, each from local midnight: "today" starts
at midnight in settings.TIME_ZONE, whatever the time zone of the member of staff reading it.
Today is read on every look; the 29 days before it are kept in the cache (settings.CACHES: each web
process's memory by default) for EARLIER_DAYS_SECONDS, since reading a month of orders and ledger
entries on every look is most of the page's cost (bench/console.py).
"""

import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.money import ZERO
from smmpanel.ledger.totals import by_day_and_kind, spent
from smmpanel.orders.figures import by_day

PERIODS = (1, 7, 30)  # days: today, a week, a month
EARLIER_DAYS_SECONDS = 300
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


def _figures(since: datetime, until: datetime | None, zone: zoneinfo.ZoneInfo) -> dict[date, Figures]:
    """Each day's figures from `since` to `until` (None: now), from the ledger and the orders."""
    money = by_day_and_kind(since, zone, until)
    orders = by_day(since, zone, until)
    days = {}
    for day in sorted(set(money) | set(orders)):
        kinds = money.get(day, {kind.value: ZERO for kind in Kind})
        placed = orders.get(day)
        days[day] = Figures(
            orders=placed.placed if placed else 0,
            revenue=spent(kinds),
            cost=placed.cost if placed else ZERO,
            deposits=kinds[Kind.DEPOSIT],
        )
    return days


def _earlier_days(first: date, today: date, zone: zoneinfo.ZoneInfo) -> dict[date, Figures]:
    """The days from `first` to yesterday: read once every EARLIER_DAYS_SECONDS per web process.

    Their ledger entries are written once, at the time they were posted, so those days' money
    does not change; the providers' cost of their orders may still (a provider's status answer
    tells it), and shows here at most that many seconds late.
    """
    key = f"console:dashboard-days:{settings.TIME_ZONE}:{first.isoformat()}:{today.isoformat()}"
    days: dict[date, Figures] | None = cache.get(key)
    if days is None:
        days = _figures(first_moment(first), first_moment(today), zone)
        cache.set(key, days, EARLIER_DAYS_SECONDS)
    return days


def orders_placed(now: datetime) -> dict[int, int]:
    """Orders placed today, in 7 and in 30 days: the counts every role sees."""
    board = dashboard(now)
    return {n: figures.orders for n, figures in board.periods.items()}


def dashboard(now: datetime) -> Dashboard:
    """Every figure of the last 30 days: today's as it stands, the days before as read at most
    EARLIER_DAYS_SECONDS ago."""
    zone = panel_zone()
    today = timezone.localtime(now, zone).date()
    first = today - timedelta(days=max(PERIODS) - 1)
    known = _earlier_days(first, today, zone) | _figures(first_moment(today), None, zone)
    days = [(first + timedelta(days=n), Figures()) for n in range(max(PERIODS))]
    days = [(day, known.get(day, empty)) for day, empty in days]
    board = Dashboard(today, days)
    for n in PERIODS:
        total = Figures()
        for _day, figures in days[-n:]:
            total.add(figures)
        board.periods[n] = total
    return board
