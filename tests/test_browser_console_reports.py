"""In a real browser: an administrator opens the reports, goes from one to the next, picks a preset
and a period of their own (a wrong one refused with its reason), in English and in Spanish, on a
desktop (1366 px) and a phone (375 px); the charts and tables fit, and the figures are the
database's."""

from datetime import timedelta
from decimal import Decimal

import pytest
from browser import (  # noqa: F401  (chromium, mail_dir, panel_server_env, phone, shots, tab: fixtures)
    Tab,
    chromium,
    mail_dir,
    panel_server_env,
    phone,
    shots,
    tab,
)
from django.db import transaction
from django.utils import timezone, translation
from server import panel_server  # noqa: F401  (a fixture)
from staff import make_staff
from test_browser_console_customers import staff_session
from test_browser_console_dashboard import sign_in_through_the_forms

from smmpanel.accounts.models import User
from smmpanel.catalog.models import Category, Provider, Service
from smmpanel.ledger import services as ledger
from smmpanel.ledger.accounts import open_account
from smmpanel.ledger.models import LedgerEntry
from smmpanel.orders import creating, transitions
from smmpanel.orders.models import Order
from smmpanel.payments.models import Payment
from smmpanel.web.templatetags.money import money

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

D = Decimal
LONG = "Instagram Followers [Refill 30 days] Real-looking accounts, fast start, no password needed"


def prepare() -> User:
    """Three customers' orders over the last 20 days at two providers (one service sold at a loss,
    one order refunded in part), deposits by bank transfer and by a gateway with a bonus and a fee;
    and an administrator."""
    now = timezone.now()
    alpha, beta = Provider.objects.create(name="Alpha panel"), Provider.objects.create(name="Beta panel")
    instagram, tiktok = Category.objects.create(name="Instagram"), Category.objects.create(name="TikTok")
    services = [
        Service.objects.create(category=instagram, name=LONG, rate=D(10), provider=alpha),
        Service.objects.create(category=instagram, name="Instagram Likes", rate=D(5), provider=beta),
        Service.objects.create(category=tiktok, name="TikTok Views", rate=D(2), provider=beta),
    ]
    customers = [open_account(name) for name in ("alice", "bob", "=carol")]
    for n, customer in enumerate(customers):
        payment = Payment.objects.create(
            user=customer, method="bank_transfer" if n else "cryptomus", amount=D(500),
            gateway_ref="" if n else "inv-1", status=Payment.Status.CONFIRMED, decided_at=now,
        )  # fmt: skip
        with transaction.atomic():
            ledger.post(customer.pk, D(500), LedgerEntry.Kind.DEPOSIT, payment.deposit_reference, now=now)
            if not n:
                ledger.post(customer.pk, D(25), LedgerEntry.Kind.BONUS, f"{payment.deposit_reference}:bonus")
                ledger.post(customer.pk, D(-5), LedgerEntry.Kind.FEE, f"{payment.deposit_reference}:fee")
    for day in range(20):
        for n, service in enumerate(services):
            when = now - timedelta(days=day, minutes=n)
            charge, cost = D(3 + day % 5 + n), D(2 + day % 3) if n < 2 else D(9)  # TikTok: at a loss
            new = creating.NewOrder(
                user_id=customers[(day + n) % 3].pk, service_id=service.pk, kind=Order.Kind.SINGLE,
                link="https://instagram.com/p/x", quantity=1000, charge=charge, source=Order.Source.WEB,
                status=Order.Status.IN_PROGRESS, provider_state=Order.ProviderState.SENT,
                provider_id=service.provider_id, sent_at=when, cost=cost,
            )  # fmt: skip
            with transaction.atomic():
                order_id = creating.create(new, when)
                creating.charge(new.user_id, order_id, charge, when, new=True)
    transitions.finish(order_id, Order.Status.PARTIAL, 500, now)
    return make_staff("olga", "administrator")


def revenue_total() -> str:
    entries = LedgerEntry.objects.filter(kind__in=[LedgerEntry.Kind.CHARGE, LedgerEntry.Kind.REFUND])
    with translation.override("en"):
        return money(-sum((e.amount for e in entries), D(0))).removesuffix(" USD")


def look(device: Tab, name: str) -> None:
    """A screenshot of the whole page, and one of the chart and what is above the table (a phone's
    full page of 30 stacked days is too long to read the chart on)."""
    shot = device.shot(name)
    chart = device.page.locator("#report-chart, #report-bars").first
    chart.screenshot(path=str(shot.with_name(f"{shot.stem}-chart.png")))
    device.assert_no_horizontal_scroll()
    device.assert_clean()


def report_tab(device: Tab, name: str) -> None:
    with device.page.expect_navigation():
        device.page.locator(f'.report-tabs a[data-report="{name}"]').click()


def test_an_administrator_reads_each_report_on_a_desktop_and_a_phone_in_both_languages(
    tab: Tab,  # noqa: F811
    phone: Tab,  # noqa: F811
) -> None:
    administrator = prepare()
    sign_in_through_the_forms(tab, administrator)
    page = tab.page
    with page.expect_navigation():
        page.locator('nav a[href="/console/reports/"]').click()
    assert page.locator("svg#report-chart rect.revenue").count() == 30  # the last 30 days
    assert page.locator('#report-total td[data-column="revenue"]').inner_text() == revenue_total()
    look(tab, "by-day-en")
    report_tab(tab, "service")
    assert page.locator("#report-bars li").count() == 3
    assert page.locator("#report-bars rect.profit.loss").count() == 1  # TikTok Views
    look(tab, "by-service-en")
    with page.expect_navigation():
        page.locator('.report-presets a[data-preset="7d"]').click()
    assert "preset=7d" in tab.path()
    report_tab(tab, "deposits")  # the tab keeps the period
    assert "preset=7d" in tab.path()
    assert page.locator("#report-table tbody tr:not(.total)").count() == 2  # Cryptomus, bank transfer
    look(tab, "deposits-en")
    page.fill("#id_since", "2026-03-11")
    page.fill("#id_until", "2026-03-10")
    with page.expect_navigation():
        page.locator("#report-period button[type=submit]").click()
    assert "The period must not end before it starts." in page.locator("#period-errors").inner_text()
    with page.expect_navigation():
        page.select_option("#language-select", "es")
    assert page.locator("html").get_attribute("lang") == "es"
    report_tab(tab, "top-customers")
    names = page.locator('#report-table td[data-column="customer"]').all_inner_texts()
    assert sorted(names) == ["=carol", "alice", "bob"]
    look(tab, "top-customers-es")

    staff_session(phone, administrator, "es")
    phone.go("/console/reports/provider/")
    assert phone.page.locator("#report-bars li").count() == 2
    look(phone, "by-provider-phone-es")
    phone.go("/console/reports/")
    look(phone, "by-day-phone-es")
    with phone.page.expect_navigation():
        phone.page.select_option("#language-select", "en")
    phone.go("/console/reports/category/")
    look(phone, "by-category-phone-en")
