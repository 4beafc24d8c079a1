"""The console's dashboard: the money of today, 7 and 30 days as the ledger and the orders hold it
(a day starting at midnight in the panel's time zone), its chart, what needs a person now, orders
by status, the workers' heartbeats, each provider's health and the services sold at a loss; money
for the roles that see money only, and customers' text inert."""

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from staff import make_staff, signed_in

from smmpanel.accounts.models import User
from smmpanel.catalog.models import Category, Provider, ProviderService, Service
from smmpanel.console import chart, figures
from smmpanel.engine.worker import Worker
from smmpanel.ledger import services as ledger
from smmpanel.ledger.accounts import open_account
from smmpanel.ledger.models import LedgerEntry
from smmpanel.orders import creating, events, listing, queues
from smmpanel.orders.models import Order, Refill
from smmpanel.payments.models import Payment
from smmpanel.providers import beats, records
from smmpanel.providers.models import UpstreamCall, WorkerBeat
from smmpanel.web.templatetags.money import money

pytestmark = pytest.mark.django_db

ZONE = "America/Mexico_City"  # UTC-6 all year: "today" starts at 06:00 UTC
S, P = Order.Status, Order.ProviderState
HOSTILE = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


@pytest.fixture(autouse=True)
def panel_zone(settings) -> None:
    settings.TIME_ZONE = ZONE


@pytest.fixture(autouse=True)
def no_days_kept() -> None:
    cache.clear()  # the days before today are kept a few minutes: each test reads its own


@pytest.fixture
def service(db: None) -> Service:
    category = Category.objects.create(name="Instagram")
    return Service.objects.create(
        category=category, name="Followers", rate=Decimal("1.00"), min=1, max=100_000
    )


def midnight(days_ago: int = 0) -> datetime:
    """Local midnight `days_ago` days before today, in the panel's time zone."""
    today = timezone.localtime(timezone.now(), figures.panel_zone()).date()
    return figures.first_moment(today - timedelta(days=days_ago))


def place(
    user_id: int,
    service: Service,
    at: datetime,
    charge: str,
    cost: str | None = None,
    **more: object,
) -> int:
    """An order created at `at`, charged `charge` then (through orders/ and the ledger)."""
    fields: dict = dict(
        user_id=user_id,
        service_id=service.pk,
        kind=Order.Kind.SINGLE,
        link="https://instagram.com/p/x",
        quantity=1000,
        charge=Decimal(charge),
        source=Order.Source.API,
        status=S.IN_PROGRESS,
        provider_state=P.SENT,
        sent_at=at,
        cost=None if cost is None else Decimal(cost),
    )
    fields.update(more)
    with transaction.atomic():
        order_id = creating.create(creating.NewOrder(**fields), at)
        if Decimal(charge):
            creating.charge(user_id, order_id, Decimal(charge), at, new=True)
    return order_id


def deposit(user_id: int, amount: str, at: datetime, reference: str) -> None:
    with transaction.atomic():
        ledger.post(user_id, Decimal(amount), LedgerEntry.Kind.DEPOSIT, reference, now=at)


@dataclass
class Prepared:
    customer_id: int
    orders: dict[str, int]


@pytest.fixture
def prepared(service: Service) -> Prepared:
    """Orders, a refund, deposits and an adjustment, each just inside or just outside a period."""
    customer = open_account("carol")
    deposit(customer.pk, "1000", midnight(29) - timedelta(hours=1), "d-old")  # before the 30 days
    deposit(customer.pk, "7", midnight(0), "d-today")  # the first moment of today
    deposit(customer.pk, "3", midnight(0) - timedelta(seconds=1), "d-yesterday")  # the last of yesterday
    ids = {
        "today": place(customer.pk, service, midnight(0), "10", "6"),
        "yesterday": place(customer.pk, service, midnight(0) - timedelta(seconds=1), "20", "12"),
        "week": place(customer.pk, service, midnight(6), "40", None, kind=Order.Kind.DRIPFEED, runs=2),
        "before week": place(customer.pk, service, midnight(6) - timedelta(seconds=1), "80", "50"),
        "month": place(customer.pk, service, midnight(29), "160", "100"),
        "before month": place(customer.pk, service, midnight(29) - timedelta(seconds=1), "320", "200"),
    }
    # A drip-feed run released today: its cost is today's, it is no order placed (its parent is).
    ids["run"] = place(
        customer.pk, service, midnight(0) + timedelta(minutes=5), "0", "2", kind=Order.Kind.RUN,
        parent_id=ids["week"],
    )  # fmt: skip
    with transaction.atomic():  # yesterday's order refunded in part today
        creating.refund(customer.pk, ids["yesterday"], Decimal("5"), midnight(0) + timedelta(minutes=1))
    ledger.adjust(customer, Decimal("-1"), actor=None, memo="not revenue", reference="adj-1")
    return Prepared(customer.pk, ids)


def page(role: str = "administrator", language: str = "en") -> str:
    member = User.objects.filter(username=f"staff-{role}").first() or make_staff(f"staff-{role}", role)
    User.objects.filter(pk=member.pk).update(language=language)
    response = signed_in(member).get(reverse("console:dashboard"))
    assert response.status_code == 200
    return response.content.decode()


def cells(html: str, figure: str) -> dict[str, str]:
    """The table's cells of one figure, by period in days ("1", "7", "30")."""
    row = re.search(rf'<tr data-figure="{figure}">(.*?)</tr>', html, re.S)
    assert row, f"no row {figure}"
    return {
        period: text.strip()
        for period, text in re.findall(r'data-period="(\d+)">(.*?)</td>', row.group(1), re.S)
    }


def amounts(*values: str) -> dict[str, str]:
    with translation.override("en"):
        return dict(zip(["1", "7", "30"], [money(Decimal(value)) for value in values], strict=True))


@pytest.mark.parametrize("role", ["administrator", "finance"])
def test_the_figures_of_today_7_and_30_days_are_the_ledgers_and_the_orders(
    prepared: Prepared, role: str
) -> None:
    html = page(role)
    assert cells(html, "orders") == {"1": "1", "7": "3", "30": "5"}
    # Charges minus refunds: 10 - 5 today; + 20 + 40 in 7 days; + 80 + 160 in 30 (the adjustment is none).
    assert cells(html, "revenue") == amounts("5", "65", "305")
    # The orders' cost: 6 + the run's 2 today; + 12 in 7 days (the drip-feed parent has none); + 50 + 100.
    assert cells(html, "cost") == amounts("8", "20", "170")
    assert cells(html, "profit") == amounts("-3", "45", "135")
    assert cells(html, "deposits") == amounts("7", "10", "10")


def test_today_is_read_on_every_look_and_the_days_before_are_kept_a_few_minutes(prepared: Prepared) -> None:
    assert cells(page(), "revenue") == amounts("5", "65", "305")
    service = Service.objects.get()
    place(prepared.customer_id, service, timezone.now(), "100", "1")  # now: today
    place(prepared.customer_id, service, midnight(0) - timedelta(hours=2), "200")  # late news of yesterday
    assert cells(page(), "revenue") == amounts("105", "165", "405")
    cache.clear()  # as EARLIER_DAYS_SECONDS after the first look
    assert cells(page(), "revenue") == amounts("105", "365", "605")


def test_the_figures_match_what_the_database_holds(prepared: Prepared) -> None:
    """The same figures read straight from the tables, period by period."""
    board = figures.dashboard(timezone.now())
    for days, summed in board.periods.items():
        since = midnight(days - 1)
        entries = LedgerEntry.objects.filter(created_at__gte=since)
        charges = sum(e.amount for e in entries.filter(kind=LedgerEntry.Kind.CHARGE))
        refunds = sum(e.amount for e in entries.filter(kind=LedgerEntry.Kind.REFUND))
        deposits = sum(e.amount for e in entries.filter(kind=LedgerEntry.Kind.DEPOSIT))
        placed = Order.objects.filter(created_at__gte=since, parent__isnull=True)
        costs = sum(o.cost for o in Order.objects.filter(created_at__gte=since) if o.cost is not None)
        assert summed.orders == placed.count()
        assert summed.revenue == -charges - refunds
        assert summed.cost == costs
        assert summed.profit == -charges - refunds - costs
        assert summed.deposits == deposits


def test_a_day_starts_at_midnight_in_the_panels_time_zone_not_utc(prepared: Prepared, settings) -> None:
    settings.TIME_ZONE = "UTC"  # 6 hours later than Mexico City's midnight: the boundaries move
    today = timezone.localtime(timezone.now(), figures.panel_zone()).date()
    board = figures.dashboard(timezone.now())
    assert board.today == today
    in_utc_today = Order.objects.filter(
        created_at__gte=figures.first_moment(today), parent__isnull=True
    ).count()
    assert board.periods[1].orders == in_utc_today


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_chart_draws_each_of_the_30_days(prepared: Prepared, language: str) -> None:
    html = page(language=language)  # Spanish writes 1,5 for 1.5: never in a coordinate
    svg = re.search(r"<svg class=\"chart\".*?</svg>", html, re.S)
    assert svg
    bars = re.findall(
        r'<rect class="revenue" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)">', svg.group(0)
    )
    assert len(bars) == 30
    heights = [Decimal(h) for *_x, h in bars]
    # The tallest bar is the day with the most revenue: 29 days ago (160).
    assert heights.index(max(heights)) == 0
    points = re.search(r'<polyline class="profit" points="([^"]+)"', svg.group(0))
    assert points and len(points.group(1).split()) == 30
    assert 'style="' not in svg.group(0) and "<script" not in svg.group(0)
    assert html.count('<tr data-day="') == 30


def test_a_day_of_loss_is_drawn_below_the_zero_line() -> None:
    day = timezone.localdate()
    drawn = chart.draw(
        [chart.Day(day, Decimal("10"), Decimal("4")), chart.Day(day, Decimal("2"), Decimal("-6"))]
    )
    first, second = drawn.bars
    assert drawn.top == Decimal("10") and drawn.bottom == Decimal("-6")
    assert first.y + first.height == drawn.zero_y  # a bar stands on the zero line
    assert first.profit_y < drawn.zero_y < second.profit_y  # profit above, the loss below it
    assert second.height < first.height


def test_support_sees_counts_and_queues_but_no_money(prepared: Prepared) -> None:
    html = page("support")
    assert cells(html, "orders") == {"1": "1", "7": "3", "30": "5"}
    for figure in ("revenue", "cost", "profit", "deposits"):
        assert f'data-figure="{figure}"' not in html
    assert "USD" not in html
    assert 'class="chart"' not in html and 'id="losses"' not in html
    assert 'data-queue="stuck"' in html and 'data-queue="deposits"' not in html


def test_the_orders_by_status_link_to_the_orders_list_filtered(prepared: Prepared) -> None:
    # Six orders are In progress (the drip-feed parent and its run too), one is Completed.
    Order.objects.filter(pk=prepared.orders["month"]).update(status=S.COMPLETED)
    html = page("finance")
    found = dict(re.findall(r'<li data-status="(\w+)"><a href="([^"]+)">', html))
    assert found["in_progress"] == "/console/orders/?status=in_progress"
    assert found["completed"] == "/console/orders/?status=completed"
    counts = dict(re.findall(r'<li data-status="(\w+)">.*?<strong class="count">(\d+)</strong>', html))
    assert counts["in_progress"] == "6" and counts["completed"] == "1" and counts["pending"] == "0"


def queue_counts(html: str) -> dict[str, tuple[str, str]]:
    """{queue: (its link, its count)} from the "Needs a person now" card."""
    return {
        name: (url, count)
        for name, url, count in re.findall(
            r'<li data-queue="([\w-]+)"[^>]*><a href="([^"]+)">.*?<strong class="count">(\d+\+?)</strong>',
            html,
        )
    }


def test_each_queue_counts_what_waits_for_a_person(service: Service, settings) -> None:
    settings.SMMPANEL_STUCK_AFTER_MINUTES = 720
    customer = open_account("dave", balance=Decimal("100"))
    now = timezone.now()
    manual = Provider.objects.create(name="By hand", kind=Provider.Kind.MANUAL)
    by_hand = Service.objects.create(category=service.category, name="Hand", rate=1, provider=manual)
    place(customer.pk, service, now, "1", provider_state=P.UNKNOWN, status=S.PENDING)
    place(customer.pk, service, now, "1", provider_state=P.FAILED, status=S.PENDING)  # held
    place(customer.pk, service, now, "1", provider_state=P.FAILED, status=S.CANCELED)  # over: nobody's
    place(customer.pk, by_hand, now, "1", status=S.IN_PROGRESS, provider_id=manual.pk)
    place(customer.pk, by_hand, now, "1", status=S.COMPLETED, provider_id=manual.pk)  # done
    asked = place(customer.pk, service, now, "1")
    Order.objects.filter(pk=asked).update(cancel_requested_at=now)
    finished = place(customer.pk, service, now, "1", status=S.COMPLETED)
    Refill.objects.create(order_id=finished, user=customer)
    Refill.objects.create(order_id=finished, user=customer, status=Refill.Status.COMPLETED)
    place(customer.pk, service, now - timedelta(hours=13), "1")  # stuck
    off = Provider.objects.create(name="Off", enabled=False)
    going_nowhere = Service.objects.create(category=service.category, name="Off", rate=1, provider=off)
    place(customer.pk, going_nowhere, now, "1", provider_state=P.QUEUED)  # waits for its provider
    Payment.objects.create(user=customer, amount=Decimal("25"))
    Payment.objects.create(user=customer, amount=Decimal("25"), status=Payment.Status.CONFIRMED)

    html = page("administrator")
    assert queue_counts(html) == {
        "in-doubt": ("/console/queues/in-doubt/", "1"),
        "failed": ("/console/queues/failed/", "1"),
        "stuck": ("/console/queues/stuck/", "1"),
        "manual": ("/console/queues/manual/", "1"),
        "provider-off": ("/console/queues/provider-off/", "1"),
        "refills": ("/console/queues/refills/", "1"),
        "cancels": ("/console/queues/cancels/", "1"),
        "deposits": ("/console/queues/deposits/", "1"),
        "late-deposits": ("/console/queues/late-deposits/", "0"),
    }
    assert "deposits" not in queue_counts(page("support"))  # bank transfers are finance's
    assert "late-deposits" not in queue_counts(page("support"))


def test_stuck_is_sent_long_ago_and_no_progress_since_by_the_services_own_threshold(
    service: Service, settings
) -> None:
    settings.SMMPANEL_STUCK_AFTER_MINUTES = 720
    customer = open_account("erin", balance=Decimal("100"))
    now = timezone.now()
    quick = Service.objects.create(category=service.category, name="Quick", rate=1, stuck_after_minutes=30)
    old_quiet = place(customer.pk, service, now - timedelta(hours=13), "1")
    old_moving = place(customer.pk, service, now - timedelta(hours=13), "1")
    with transaction.atomic():
        events.record(old_moving, events.Kind.PROGRESS, now - timedelta(hours=1), remains=500)
    Order.objects.filter(pk__in=[old_quiet, old_moving]).update(updated_at=now)  # checked just now
    place(customer.pk, service, now - timedelta(hours=11), "1")  # not long enough yet
    quick_quiet = place(customer.pk, quick, now - timedelta(minutes=31), "1")
    place(customer.pk, quick, now - timedelta(minutes=29), "1")
    place(customer.pk, service, now - timedelta(hours=13), "1", status=S.COMPLETED)  # over
    place(customer.pk, service, now - timedelta(hours=13), "1", provider_state=P.QUEUED, sent_at=None)
    place(customer.pk, service, now - timedelta(hours=13), "1", kind=Order.Kind.DRIPFEED, runs=2)  # a parent

    stuck = list(listing.stuck(now).values_list("id", flat=True))
    assert stuck == [old_quiet, quick_quiet]
    assert queues.counts(now)["stuck"] == 2


def test_a_worker_round_writes_its_heartbeat_and_the_page_shows_it(clock) -> None:
    assert "No worker has ever run" in page()
    worker = Worker(clock=clock, threads=1, name="engine-1")
    worker.run_once()
    beat = WorkerBeat.objects.get()
    assert (beat.name, beat.beat_at, beat.started_at, beat.stopped_at) == ("engine-1", clock(), clock(), None)
    clock.advance(seconds=2)
    worker.run_once()  # within a few seconds: no write
    assert WorkerBeat.objects.get().beat_at == clock() - timedelta(seconds=2)
    clock.advance(seconds=5)
    worker.run_once()
    assert WorkerBeat.objects.get().beat_at == clock()

    html = page()
    assert "No worker has ever run" not in html
    entry = re.search(r'<li data-worker="engine-1" class="(\w+)">', html)
    assert entry and entry.group(1) == "alive"


def test_a_worker_silent_for_over_a_minute_is_flagged_and_a_clean_stop_is_said() -> None:
    now = timezone.now()
    beats.beat("quiet-one", "host-a", 11, now - timedelta(minutes=5), now - timedelta(seconds=61))
    beats.beat("alive-one", "host-b", 12, now - timedelta(minutes=5), now - timedelta(seconds=10))
    beats.beat("done-one", "host-c", 13, now - timedelta(hours=5), now - timedelta(hours=2))
    beats.stopped("done-one", now - timedelta(hours=2))
    html = page()
    states = dict(re.findall(r'<li data-worker="([\w-]+)" class="(\w+)">', html))
    assert states == {"quiet-one": "quiet", "alive-one": "alive", "done-one": "stopped"}
    assert 'id="none-running"' not in html  # one is alive

    WorkerBeat.objects.filter(name="alive-one").delete()
    assert "No worker is running" in page()


def test_a_worker_that_stops_says_so(clock, monkeypatch) -> None:
    # Between rounds a worker lets go of its database connection; the test's must stay open.
    monkeypatch.setattr("smmpanel.engine.worker.close_old_connections", lambda: None)
    worker = Worker(clock=clock, threads=1, name="engine-2")
    worker.run_once()
    clock.advance(seconds=30)
    worker.stop()  # as SIGTERM does: the round in progress ends, then the loop
    worker.run()
    beat = WorkerBeat.objects.get()
    assert (beat.beat_at, beat.stopped_at) == (clock(), clock())
    html = page()
    assert re.search(r'<li data-worker="engine-2" class="stopped">', html)
    assert "No worker is running" in html


def test_the_heartbeat_is_one_conditional_update_of_the_workers_own_row() -> None:
    now = timezone.now()
    beats.beat("w", "h", 1, now, now)
    beats.beat("w", "h", 1, now, now + timedelta(seconds=5))
    beats.beat("other", "h", 2, now, now)
    assert dict(WorkerBeat.objects.values_list("name", "beat_at")) == {
        "w": now + timedelta(seconds=5),
        "other": now,
    }
    assert beats.prune(now + beats.KEPT_FOR + timedelta(seconds=1)) == 1
    assert list(WorkerBeat.objects.values_list("name", flat=True)) == ["w"]


def test_each_provider_shows_its_errors_and_p95_latency_and_its_balance_to_money_roles(db: None) -> None:
    now = timezone.now()
    upstream = Provider.objects.create(
        name="Upstream", url="https://up.example", last_balance=Decimal("12.5"), last_balance_at=now
    )
    outcomes = (
        [UpstreamCall.Outcome.OK] * 16 + [UpstreamCall.Outcome.TIMEOUT] * 3 + [UpstreamCall.Outcome.ERROR]
    )
    UpstreamCall.objects.bulk_create(
        UpstreamCall(
            provider=upstream, action="status", outcome=outcome, latency_ms=10 * (n + 1), created_at=now
        )
        for n, outcome in enumerate(outcomes)
    )
    UpstreamCall.objects.create(  # two hours ago: outside the hour
        provider=upstream,
        action="status",
        outcome="timeout",
        latency_ms=99_999,
        created_at=now - timedelta(hours=2),
    )
    html = page("finance")
    row = re.search(rf'<tr data-provider="{upstream.pk}">(.*?)</tr>', html, re.S)
    assert row
    text = re.sub(r"\s+", " ", row.group(1))
    assert ">20<" in text  # calls in the hour
    assert 'data-share="failures">15.0&nbsp;%' in text and 'data-share="refusals">5.0&nbsp;%' in text
    assert "190&nbsp;ms" in text  # the nearest-rank 95th of 10..200 ms
    assert "12.50 USD" in text
    assert "12.50" not in page("support")


def test_services_sold_at_a_loss_are_listed_with_cost_and_price(db: None) -> None:
    euro = Provider.objects.create(name="Euro panel", currency="EUR", exchange_rate=Decimal("1.10"))
    category = Category.objects.create(name="Packs")

    def sold(name: str, listed: str, price: str) -> Service:
        upstream = ProviderService.objects.create(
            provider=euro, external_id=name, name=name, type="default", rate=Decimal(listed), min=1, max=10
        )
        return Service.objects.create(
            category=category, name=name, rate=Decimal(price), provider=euro, provider_service=upstream
        )

    losing = sold("Losing", "1.00", "1.09")  # costs 1.10 in the panel's currency
    sold("Even", "1.00", "1.10")
    sold("Earning", "1.00", "2.00")
    html = page()
    assert re.findall(r'<tr data-service="(\d+)">', html) == [str(losing.pk)]
    assert "1.10 USD" in html and "1.09 USD" in html
    assert 'id="no-losses"' not in html


def test_customers_and_providers_text_is_inert(service: Service) -> None:
    provider = Provider.objects.create(name=HOSTILE, url="https://x.example")
    upstream = ProviderService.objects.create(
        provider=provider, external_id="1", name=HOSTILE, type="default", rate=Decimal("5"), min=1, max=10
    )
    Service.objects.create(
        category=service.category,
        name=HOSTILE,
        rate=Decimal("1"),
        provider=provider,
        provider_service=upstream,
    )
    beats.beat(HOSTILE, HOSTILE, 1, timezone.now(), timezone.now())
    html = page()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 3  # provider (twice), service, worker


def test_a_queue_grown_huge_is_counted_up_to_a_limit(service: Service, settings, monkeypatch) -> None:
    monkeypatch.setattr("smmpanel.console.views.dashboard.QUEUE_COUNTED_UP_TO", 2)
    customer = open_account("fred", balance=Decimal("100"))
    for _ in range(3):
        place(customer.pk, service, timezone.now(), "1", provider_state=P.UNKNOWN, status=S.PENDING)
    counts = queue_counts(page())
    assert counts["in-doubt"] == ("/console/queues/in-doubt/", "2+")
    assert queues.counts(timezone.now(), up_to=5)["in-doubt"] == 3


@pytest.mark.parametrize("count", [1, 2, 7, 20, 21, 101])
def test_the_p95_latency_is_the_nearest_rank_on_either_database(db: None, count: int) -> None:
    """PostgreSQL counts a provider's hour in SQL (percentile_disc); SQLite reads it into Python."""
    upstream = Provider.objects.create(name="Upstream", url="https://up.example")
    latencies = [(n * 37) % 500 + 1 for n in range(count)]
    now = timezone.now()
    UpstreamCall.objects.bulk_create(
        UpstreamCall(provider=upstream, action="status", outcome="ok", latency_ms=ms, created_at=now)
        for ms in latencies
    )
    ordered = sorted(latencies)
    assert records.health(upstream).p95_latency_ms == ordered[math.ceil(0.95 * count) - 1]
