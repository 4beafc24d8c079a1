"""In a real browser: an administrator signs in to the console through its forms (password, then
the code their authenticator app shows, computed here), and the dashboard's numbers are the
database's; the page fits a desktop (1366 px) and a phone (375 px), in English and in Spanish."""

from datetime import timedelta
from decimal import Decimal
from importlib import import_module

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
from django.conf import settings
from django.contrib import auth
from django.db import transaction
from django.utils import timezone, translation
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from server import panel_server  # noqa: F401  (a fixture)
from staff import PASSWORD, current_code, make_staff

from smmpanel.accounts.models import User
from smmpanel.catalog.models import Category, Provider, ProviderService, Service
from smmpanel.ledger import services as ledger
from smmpanel.ledger.accounts import open_account
from smmpanel.ledger.models import LedgerEntry
from smmpanel.orders import creating
from smmpanel.orders.models import Order
from smmpanel.providers import beats
from smmpanel.providers.models import UpstreamCall
from smmpanel.web.templatetags.money import money

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

LONG_NAME = "Instagram Followers [Refill 30 days] Real-looking accounts, fast start, " * 2


def prepare() -> User:
    """A customer's orders (one refunded in part), their deposit, a provider with an hour of calls,
    a service sold at a loss, a worker that beat a moment ago; and an administrator."""
    now = timezone.now()
    customer = open_account("carol")
    with transaction.atomic():
        ledger.post(customer.pk, Decimal("250"), LedgerEntry.Kind.DEPOSIT, "bank:1", now=now)
    provider = Provider.objects.create(
        name="Upstream panel", url="https://up.example", last_balance=Decimal("812.4"), last_balance_at=now
    )
    listed = ProviderService.objects.create(
        provider=provider, external_id="7", name=LONG_NAME, type="default", rate=Decimal("2.5"), min=1, max=10
    )
    category = Category.objects.create(name="Instagram")
    service = Service.objects.create(
        category=category, name=LONG_NAME, rate=Decimal("2.25"), provider=provider, provider_service=listed
    )
    for n, (charge, cost) in enumerate([("12.50", "9.10"), ("40", "31.25"), ("3.333", "1")]):
        new = creating.NewOrder(
            user_id=customer.pk, service_id=service.pk, kind=Order.Kind.SINGLE, link=f"https://ig.me/p/{n}",
            quantity=1000, charge=Decimal(charge), source=Order.Source.WEB, status=Order.Status.IN_PROGRESS,
            provider_state=Order.ProviderState.SENT, sent_at=now, cost=Decimal(cost),
        )  # fmt: skip
        with transaction.atomic():
            order_id = creating.create(new, now)
            creating.charge(customer.pk, order_id, Decimal(charge), now, new=True)
    with transaction.atomic():
        creating.refund(customer.pk, order_id, Decimal("1.111"), now)
    UpstreamCall.objects.bulk_create(
        UpstreamCall(provider=provider, action="status", outcome="ok" if n % 5 else "timeout",
                     latency_ms=40 + n, created_at=now - timedelta(minutes=n))
        for n in range(40)
    )  # fmt: skip
    beats.beat("engine-host:4242", "engine-host", 4242, now - timedelta(hours=3), now)
    return make_staff("olga", "administrator")


def expected() -> dict[str, str]:
    """Today's figures as the database holds them, worded as the page words money."""
    entries = LedgerEntry.objects.all()
    charges = sum(e.amount for e in entries if e.kind == LedgerEntry.Kind.CHARGE)
    refunds = sum(e.amount for e in entries if e.kind == LedgerEntry.Kind.REFUND)
    deposits = sum(e.amount for e in entries if e.kind == LedgerEntry.Kind.DEPOSIT)
    cost = sum(o.cost for o in Order.objects.all() if o.cost is not None)
    revenue = -charges - refunds
    with translation.override("en"):
        return {
            "orders": str(Order.objects.filter(parent__isnull=True).count()),
            "revenue": money(revenue),
            "cost": money(cost),
            "profit": money(revenue - cost),
            "deposits": money(deposits),
        }


def figures_shown(device: Tab, period: str) -> dict[str, str]:
    return {
        figure: device.page.locator(f'tr[data-figure="{figure}"] td[data-period="{period}"]')
        .inner_text()
        .strip()
        for figure in ("orders", "revenue", "cost", "profit", "deposits")
    }


def sign_in_through_the_forms(device: Tab, member: User) -> None:
    page = device.page
    device.go("/console/")
    assert device.path().startswith("/console/login/")
    page.fill("#id_username", member.username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/console/verify/**")
    page.fill("#id_code", current_code(member))
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(device.url("/console/"))


def past_the_second_factor(device: Tab, member: User) -> None:
    """Signed in as after both steps (as tests/staff.py's signed_in), for the second device: a
    code is good once, and the forms were gone through on the first."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[auth.SESSION_KEY] = str(member.pk)
    store[auth.BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[auth.HASH_SESSION_KEY] = member.get_session_auth_hash()
    store[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=member).persistent_id
    store.save()
    cookie = {"name": settings.SESSION_COOKIE_NAME, "value": store.session_key, "url": device.base_url}
    device.page.context.add_cookies([cookie])  # type: ignore[list-item]
    device.go("/console/")


def to_spanish(device: Tab) -> None:
    with device.page.expect_navigation():
        device.page.select_option("#language-select", "es")  # site.js submits the form on change
    assert device.page.locator("html").get_attribute("lang") == "es"


def look(device: Tab, name: str) -> None:
    device.page.locator("details.chart-table summary").click()  # the figures by day, open
    device.shot(name)
    device.assert_no_horizontal_scroll()


def test_an_administrator_signs_in_and_the_dashboards_numbers_are_the_databases(
    tab: Tab,  # noqa: F811
    phone: Tab,  # noqa: F811
) -> None:
    administrator = prepare()
    sign_in_through_the_forms(tab, administrator)
    wanted = expected()
    assert wanted["revenue"] == "54.72 USD"  # 12.50 + 40 + 3.333 - 1.111, shown with 2 decimals
    for period in ("1", "7", "30"):
        assert figures_shown(tab, period) == wanted
    page = tab.page
    assert page.locator("svg.chart rect.revenue").count() == 30
    assert page.locator('li[data-worker="engine-host:4242"]').get_attribute("class") == "alive"
    assert page.locator("table.losses tbody tr").count() == 1
    provider = page.locator("table.providers tbody tr").first.inner_text()
    assert "812.40 USD" in provider and "20.0" in provider  # 8 timeouts in 40 calls
    look(tab, "dashboard-en")
    to_spanish(tab)
    assert page.locator("h1").inner_text() == "Panel"
    assert page.locator('tr[data-figure="revenue"] td[data-period="1"]').inner_text().strip() == "54,72 USD"
    look(tab, "dashboard-es")

    past_the_second_factor(phone, administrator)  # Spanish: the choice is the member's
    assert phone.page.locator("html").get_attribute("lang") == "es"
    look(phone, "phone-es")
    with phone.page.expect_navigation():
        phone.page.select_option("#language-select", "en")
    assert figures_shown(phone, "30") == wanted
    look(phone, "phone-en")
