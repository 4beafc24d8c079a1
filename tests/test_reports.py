"""The console's reports: profit by day, service, category, provider and customer, the top
customers and deposits by method, over two days of a panel built by hand (three customers,
services in two categories at two providers, orders completed, partial, canceled, a refund of an
order placed the day before, deposits by bank transfer and by a gateway with a bonus and fees,
an adjustment). Every expected figure below is written by hand from that fixture; the CSV must
say the same, and the reports' totals must be the ledger's totals over the period."""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.urls import reverse
from staff import make_staff, signed_in

from smmpanel.accounts.models import User
from smmpanel.catalog.models import Category, Provider, Service
from smmpanel.console import chart
from smmpanel.console.report_forms import preset_days
from smmpanel.console.views import reports as report_views
from smmpanel.ledger import services as ledger
from smmpanel.ledger.accounts import open_account
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.totals import planned_for_their_period
from smmpanel.orders import creating, reports, transitions
from smmpanel.orders.models import Order
from smmpanel.payments import figures
from smmpanel.payments.models import Payment

pytestmark = pytest.mark.django_db

ZONE = "America/Mexico_City"  # UTC-6 all year: a local day starts at 06:00 UTC
D0, D1, D2 = date(2026, 3, 9), date(2026, 3, 10), date(2026, 3, 11)
S, P, K = Order.Status, Order.ProviderState, LedgerEntry.Kind
D = Decimal
PERIOD = {"since": "2026-03-10", "until": "2026-03-11"}


@pytest.fixture(autouse=True)
def panel_zone(settings) -> None:
    settings.TIME_ZONE = ZONE


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), ZoneInfo(ZONE))


@dataclass
class Shop:
    services: dict[str, Service]
    providers: dict[str, Provider]
    customers: dict[str, User]


def deposit(user: User, method: str, amount: str, when: datetime, bonus: str = "0", fee: str = "0") -> None:
    """A confirmed deposit and its ledger entries, as payments/ writes them, at `when`."""
    gateway_ref = "" if method == "bank_transfer" else f"inv-{user.pk}-{amount}"
    payment = Payment.objects.create(
        user=user, method=method, amount=D(amount), gateway_ref=gateway_ref, status=Payment.Status.CONFIRMED,
        credited=D(amount), bonus=D(bonus), fee=D(fee), decided_at=when,
    )  # fmt: skip
    base = payment.deposit_reference
    with transaction.atomic():
        ledger.post(user.pk, D(amount), K.DEPOSIT, base, now=when)
        if D(bonus):
            ledger.post(user.pk, D(bonus), K.BONUS, f"{base}:bonus", now=when)
        if D(fee):
            ledger.post(user.pk, -D(fee), K.FEE, f"{base}:fee", now=when)


def place(user: User, service: Service, when: datetime, charge: str, cost: str | None) -> int:
    sent = cost is not None
    new = creating.NewOrder(
        user_id=user.pk, service_id=service.pk, kind=Order.Kind.SINGLE, link="https://instagram.com/p/x",
        quantity=1000, charge=D(charge), source=Order.Source.WEB,
        status=S.IN_PROGRESS if sent else S.PENDING, provider_state=P.SENT if sent else P.QUEUED,
        provider_id=service.provider_id if sent else None, sent_at=when if sent else None,
        cost=D(cost) if sent else None,
    )  # fmt: skip
    with transaction.atomic():
        order_id = creating.create(new, when)
        creating.charge(user.pk, order_id, D(charge), when, new=True)
    return order_id


@pytest.fixture
def shop(db: None) -> Shop:
    alpha, beta = Provider.objects.create(name="Alpha"), Provider.objects.create(name="Beta")
    instagram, tiktok = Category.objects.create(name="Instagram"), Category.objects.create(name="TikTok")
    services = {
        key: Service.objects.create(category=category, name=name, rate=D(10), provider=provider)
        for key, category, name, provider in [
            ("ig-followers", instagram, "IG Followers", alpha),
            ("ig-likes", instagram, "IG Likes", beta),
            ("tt-views", tiktok, "TT Views", beta),
        ]
    }
    alice, bob, carol = open_account("alice"), open_account("bob"), open_account("carol")
    f, likes, views = services["ig-followers"], services["ig-likes"], services["tt-views"]
    # The day before the period: bob's deposit and an order whose partial refund comes on D1.
    deposit(bob, "bank_transfer", "100", at(D0, 10))
    o0 = place(bob, f, at(D0, 11), "40", "30")
    # D1
    deposit(alice, "bank_transfer", "100", at(D1, 9))
    deposit(bob, "cryptomus", "200", at(D1, 10), bonus="10", fee="5.1")
    o1 = place(alice, f, at(D1, 11), "10", "6")
    o2 = place(bob, likes, at(D1, 11, 30), "20", "15")
    o3 = place(bob, views, at(D1, 12), "8", "5")
    transitions.finish(o0, S.PARTIAL, 100, at(D1, 12, 30))  # refund 40 x 100 / 1000 = 4, on D1
    transitions.finish(o1, S.COMPLETED, 0, at(D1, 13))
    transitions.finish(o2, S.PARTIAL, 250, at(D1, 14))  # refund 5
    # D2
    deposit(carol, "bank_transfer", "50", at(D2, 8))
    deposit(alice, "cryptomus", "40", at(D2, 9), fee="1.1")
    with transaction.atomic():  # 10 of it sent back through the gateway
        refund_ref = f"gateway:cryptomus:inv-{alice.pk}-40:deposit:refund:1"
        ledger.post(alice.pk, D(-10), K.DEPOSIT_REFUND, refund_ref, now=at(D2, 9, 30))
    transitions.finish(o3, S.PARTIAL, 500, at(D2, 10))  # refund 4, the day after its order
    o5 = place(alice, views, at(D2, 11), "12", None)
    transitions.cancel_before_sending(o5, at(D2, 11, 5))  # refund 12; never sent: no cost
    place(alice, likes, at(D2, 12), "6", "4.5")  # still running
    with transaction.atomic():
        ledger.post(alice.pk, D(5), K.ADJUSTMENT, "adjustment:goodwill", now=at(D2, 13))
    o4 = place(carol, f, at(D2, 23, 30), "30", "18")  # 05:30 UTC on the 12th: still D2 here
    transitions.finish(o4, S.COMPLETED, 0, at(D2, 23, 45))
    # After the period: nothing of it counts.
    deposit(carol, "bank_transfer", "70", at(date(2026, 3, 12), 0, 1))
    place(carol, f, at(date(2026, 3, 12), 0, 2), "10", "7")
    return Shop(
        services, {"alpha": alpha, "beta": beta}, {"alice": alice, "bob": bob, "carol": carol}
    )  # fmt: skip


def bounds() -> tuple[datetime, datetime]:
    return at(D1, 0), at(date(2026, 3, 12), 0)


def figures_of(lines: list[reports.Line]) -> dict[object, tuple[str, str, str, str, int]]:
    """Each line as (revenue, cost, profit, margin, orders), exact strings."""
    return {
        line.label or line.key: (
            str(line.revenue),
            str(line.cost),
            str(line.profit),
            str(line.margin),
            line.orders,
        )
        for line in lines
    }


def test_profit_by_day_service_category_provider_and_customer_are_the_hand_written_figures(
    shop: Shop,
) -> None:
    since, until = bounds()
    zone = ZoneInfo(ZONE)
    assert figures_of(reports.profit_by("day", since, until, zone)) == {
        D1: ("29.000000", "26.000000", "3.000000", "10.34", 3),  # 38 charged - 9 refunded (4 of D0's order)
        D2: ("32.000000", "22.500000", "9.500000", "29.69", 3),  # 48 charged - 16 refunded
    }
    assert figures_of(reports.profit_by("service", since, until, zone)) == {
        "IG Followers": ("36.000000", "24.000000", "12.000000", "33.33", 2),
        "IG Likes": ("21.000000", "19.500000", "1.500000", "7.14", 2),
        "TT Views": ("4.000000", "5.000000", "-1.000000", "-25.00", 2),
    }
    assert figures_of(reports.profit_by("category", since, until, zone)) == {
        "Instagram": ("57.000000", "43.500000", "13.500000", "23.68", 4),
        "TikTok": ("4.000000", "5.000000", "-1.000000", "-25.00", 2),
    }
    assert figures_of(reports.profit_by("provider", since, until, zone)) == {
        "Alpha": ("36.000000", "24.000000", "12.000000", "33.33", 2),
        "Beta": ("25.000000", "24.500000", "0.500000", "2.00", 4),
    }
    by_customer = reports.profit_by("customer", since, until, zone)
    assert [line.label for line in by_customer] == ["carol", "alice", "bob"]  # by revenue
    assert figures_of(by_customer) == {
        "carol": ("30.000000", "18.000000", "12.000000", "40.00", 1),
        "alice": ("16.000000", "10.500000", "5.500000", "34.38", 3),
        "bob": ("15.000000", "20.000000", "-5.000000", "-33.33", 2),
    }
    whole = reports.total(by_customer)
    assert (whole.charges, whole.refunds, whole.revenue, whole.cost, whole.profit, whole.orders) == (
        D(86), D(25), D(61), D("48.5"), D("12.5"), 6
    )  # fmt: skip


def test_deposits_by_method_are_the_hand_written_figures(shop: Shop) -> None:
    lines = {line.method: line for line in figures.by_method(*bounds())}
    assert set(lines) == {"bank_transfer", "cryptomus"}
    bank, crypto = lines["bank_transfer"], lines["cryptomus"]
    assert (bank.deposits, bank.gross, bank.bonuses, bank.fees, bank.net) == (2, D(150), D(0), D(0), D(150))
    assert (crypto.deposits, crypto.gross, crypto.bonuses, crypto.fees, crypto.returned, crypto.net) == (
        2, D(240), D(10), D("6.2"), D(10), D("233.8")
    )  # fmt: skip


def test_the_reports_add_up_to_the_ledgers_totals_over_the_period(shop: Shop) -> None:
    since, until = bounds()
    entries = LedgerEntry.objects.filter(created_at__gte=since, created_at__lt=until)
    ledger_sum = {kind: sum((e.amount for e in entries if e.kind == kind), D(0)) for kind in K.values}
    for by in reports.BY:
        whole = reports.total(reports.profit_by(by, since, until, ZoneInfo(ZONE)))
        assert whole.charges == -ledger_sum[K.CHARGE], by
        assert whole.refunds == ledger_sum[K.REFUND], by
    methods = figures.by_method(since, until)
    assert sum(m.gross for m in methods) == ledger_sum[K.DEPOSIT] == D(390)
    assert sum(m.bonuses for m in methods) == ledger_sum[K.BONUS]
    assert sum(m.fees for m in methods) == -ledger_sum[K.FEE]
    assert sum(m.returned for m in methods) == -ledger_sum[K.DEPOSIT_REFUND] - ledger_sum[K.CHARGEBACK]
    placed = Order.objects.filter(created_at__gte=since, created_at__lt=until)
    assert whole.cost == sum(o.cost for o in placed if o.cost is not None)


def page(role: str, path: str, status: int = 200, language: str = "en") -> str:
    member = User.objects.filter(username=f"staff-{role}").first() or make_staff(f"staff-{role}", role)
    User.objects.filter(pk=member.pk).update(language=language)
    response = signed_in(member).get(path)
    assert response.status_code == status, response.content[:500]
    return response.content.decode()


def csv_rows(path: str, role: str = "finance") -> list[dict[str, str]]:
    member = User.objects.filter(username=f"staff-{role}").first() or make_staff(f"staff-{role}", role)
    response = signed_in(member).get(path)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment; filename=" in response["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def url(name: str = "day", **query: str) -> str:
    base = reverse("console:reports") if name == "day" else reverse("console:report", args=[name])
    return base + "?" + "&".join(f"{k}={v}" for k, v in {**PERIOD, **query}.items())


def test_the_csv_says_the_same_figures_exactly(shop: Shop) -> None:
    days = csv_rows(url("day", format="csv"))
    assert [(r["day"], r["orders"], r["charges"], r["refunds"], r["revenue"], r["cost"], r["profit"],
             r["margin_percent"]) for r in days] == [
        ("2026-03-10", "3", "38.000000", "9.000000", "29.000000", "26.000000", "3.000000", "10.34"),
        ("2026-03-11", "3", "48.000000", "16.000000", "32.000000", "22.500000", "9.500000", "29.69"),
    ]  # fmt: skip
    services = csv_rows(url("service", format="csv"))
    assert list(services[0]) == [
        "service_id", "service", "orders", "charges", "refunds", "revenue", "cost", "profit", "margin_percent"
    ]  # fmt: skip
    assert [(r["service"], r["revenue"], r["cost"], r["profit"]) for r in services] == [
        ("IG Followers", "36.000000", "24.000000", "12.000000"),
        ("IG Likes", "21.000000", "19.500000", "1.500000"),
        ("TT Views", "4.000000", "5.000000", "-1.000000"),
    ]
    assert services[0]["service_id"] == str(shop.services["ig-followers"].pk)
    providers = csv_rows(url("provider", format="csv"))
    assert [(r["provider"], r["revenue"], r["cost"], r["profit"], r["orders"]) for r in providers] == [
        ("Alpha", "36.000000", "24.000000", "12.000000", "2"),
        ("Beta", "25.000000", "24.500000", "0.500000", "4"),
    ]
    top = csv_rows(url("top-customers", format="csv"))
    assert [(r["customer"], r["revenue"], r["deposits"], r["profit"]) for r in top] == [
        ("carol", "30.000000", "50.000000", "12.000000"),
        ("alice", "16.000000", "140.000000", "5.500000"),
        ("bob", "15.000000", "200.000000", "-5.000000"),
    ]
    deposits = csv_rows(url("deposits", format="csv"))
    assert [
        (r["method"], r["deposits"], r["gross"], r["bonuses"], r["fees"], r["returned"], r["net"])
        for r in deposits
    ] == [
        ("Cryptomus", "2", "240.000000", "10.000000", "6.200000", "10.000000", "233.800000"),
        ("Bank transfer", "2", "150.000000", "0.000000", "0.000000", "0.000000", "150.000000"),
        ("Balance adjustments by staff", "1", "5.000000", "0.000000", "0.000000", "0.000000", "5.000000"),
    ]


def test_the_page_shows_the_table_the_total_and_a_chart(shop: Shop) -> None:
    html = page("administrator", url("service"))
    assert 'id="report-table"' in html and 'id="report-bars"' in html
    assert html.count('<svg class="hbar"') == 3
    assert 'data-column="revenue" class="num">61.00</td>' in html  # the total row
    day = page("finance", url("day"))
    assert day.count('<rect class="revenue"') == 2  # a bar per day of the period
    assert 'data-column="margin_percent" class="num">29.69\u00a0%</td>' in day
    spanish = page("finance", url("day"), language="es")
    assert "29,69\u00a0%" in spanish and "32,00" in spanish  # the reader's number format


def test_roles_support_is_refused_finance_and_administrators_may(shop: Shop) -> None:
    page("support", url("day"), 403)
    page("support", url("deposits", format="csv"), 403)
    page("finance", url("deposits"))
    page("administrator", url("customer"))
    page("administrator", reverse("console:report", args=["nonsense"]), 404)


def test_an_empty_period_says_nothing_in_this_period(shop: Shop) -> None:
    html = page("finance", url("provider", since="2025-01-01", until="2025-01-31"))
    assert 'id="report-empty"' in html and "Nothing in this period." in html
    assert csv_rows(url("provider", since="2025-01-01", until="2025-01-31", format="csv")) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"since": "2026-13-01"}, "Enter a valid date."),
        ({"since": "2026-03-11", "until": "2026-03-10"}, "The period must not end before it starts."),
        ({"since": "2024-01-01", "until": "2026-01-01"}, "A report covers at most 366 days."),
        ({"preset": "fortnight"}, "There is no such period: choose one of those below."),
    ],
)
def test_a_bad_period_is_a_clear_400(shop: Shop, query: dict[str, str], message: str) -> None:
    html = page("finance", url("day", **query), 400)
    assert message in html
    member = User.objects.get(username="staff-finance")
    response = signed_in(member).get(url("day", **query, format="csv"))
    assert response.status_code == 400 and not response["Content-Type"].startswith("text/csv")


def test_presets_are_days_of_the_panels_calendar() -> None:
    day = date(2026, 3, 11)
    assert preset_days("today", day) == (day, day)
    assert preset_days("7d", day) == (date(2026, 3, 5), day)
    assert preset_days("30d", day) == (date(2026, 2, 10), day)
    assert preset_days("month", day) == (date(2026, 3, 1), day)
    assert preset_days("last-month", day) == (date(2026, 2, 1), date(2026, 2, 28))
    assert preset_days("last-month", date(2026, 1, 15)) == (date(2025, 12, 1), date(2025, 12, 31))


def test_horizontal_bars_share_one_scale_with_the_zero_line_for_losses() -> None:
    bars = chart.draw_bars([chart.Row("a", D(30), D(-10)), chart.Row("b", D(10), D(5))], width=400)
    assert bars.zero_x == D(100)  # -10 .. 30 over 400 units
    (a, b) = bars.bars
    assert (a.first.x, a.first.width, a.second.x, a.second.width) == (D(100), D(300), D(0), D(100))
    assert (b.first.x, b.first.width, b.second.x, b.second.width) == (D(100), D(100), D(100), D(50))


def test_a_long_report_shows_its_first_lines_and_the_csv_has_them_all(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_views, "ROWS_SHOWN", 1)
    html = page("administrator", url("service"))
    assert html.count('data-column="service" class="wrap">') == 2  # IG Followers, and the total
    assert "And 2 more lines in the CSV." in html
    assert len(csv_rows(url("service", format="csv"))) == 3


def test_one_date_alone_is_a_period_of_that_day(shop: Shop) -> None:
    (day,) = csv_rows(url("day", until="", format="csv"))
    assert (day["day"], day["revenue"]) == ("2026-03-10", "29.000000")


def test_a_deposit_the_panel_cannot_tie_to_a_deposit_of_its_own_is_other(shop: Shop) -> None:
    with transaction.atomic():  # written by a script, its reference naming no deposit
        ledger.post(shop.customers["carol"].pk, D(7), K.DEPOSIT, "import:legacy-1", now=at(D2, 15))
    lines = {line.method: line for line in figures.by_method(*bounds())}
    assert (lines["other"].label, lines["other"].deposits, lines["other"].gross) == ("Other", 1, D(7))
    assert lines["bank_transfer"].gross == D(150)


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_reports_queries_are_planned_for_their_own_period() -> None:
    """Not one generic plan for any bounds (the prepared statements' default after five runs),
    which made a month's report by service four times slower; only inside the report's block."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite keeps no plans between statements")

    def mode() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW plan_cache_mode")
            return str(cursor.fetchone()[0])

    with planned_for_their_period():
        assert mode() == "force_custom_plan"
    assert mode() == "auto"
