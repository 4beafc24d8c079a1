"""A provider's balance: "Test the connection" in the console (its answer or error shown and
stored, audited) and the worker's refresh every SMMPANEL_BALANCE_CHECK_MINUTES (due, not due,
a failure stored and not retried within the period), against the fake upstream."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from staff import make_staff, signed_in
from test_console_providers import audits
from upstream import KEY, upstream_fixture  # noqa: F401  (the `upstream` fixture)

from smmpanel.catalog.models import Provider
from smmpanel.engine.worker import Worker
from smmpanel.providers import balances
from smmpanel.providers.models import CallPace, UpstreamCall
from smmpanel.providers.pacing import Pacer

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin() -> Any:
    return signed_in(make_staff("ada", "administrator"))


@pytest.fixture
def stored(upstream: Any) -> Provider:
    return Provider.objects.create(name="bigpanel", url=upstream.url, api_key=KEY, timeout_seconds=2)


# Test the connection ------------------------------------------------------------------------


def test_testing_the_connection_shows_and_stores_the_balance(
    admin: Any, upstream: Any, stored: Provider
) -> None:
    response = admin.post(reverse("console:provider_test", args=[stored.pk]), follow=True)
    assert "The connection works: balance 1,000.00 USD." in response.content.decode()
    stored.refresh_from_db()
    assert stored.last_balance == Decimal("1000") and stored.balance_error == ""
    assert UpstreamCall.objects.get().action == "balance"  # the call is on the provider's record
    (record,) = audits()
    assert (record.action, record.after) == ("provider.test", {"balance": "1000.000000", "currency": "USD"})


def test_a_failed_test_shows_the_error_and_keeps_the_last_balance(
    admin: Any, upstream: Any, stored: Provider
) -> None:
    Provider.objects.filter(pk=stored.pk).update(last_balance=Decimal("7"), last_balance_at=timezone.now())
    upstream.fault("balance", "http_500")
    response = admin.post(reverse("console:provider_test", args=[stored.pk]), follow=True)
    assert (
        "The provider answered with an HTTP error (provider answered HTTP 500)." in response.content.decode()
    )
    stored.refresh_from_db()
    assert (
        stored.last_balance == Decimal("7")
        and stored.balance_error == "http_error: provider answered HTTP 500"
    )
    assert "Last read failed:" in admin.get(reverse("console:providers")).content.decode()
    assert audits()[0].after == {"error": "http_error: provider answered HTTP 500"}


def test_a_manual_provider_has_no_connection_to_test(admin: Any) -> None:
    provider = Provider.objects.create(name="by hand", kind="manual")
    response = admin.post(reverse("console:provider_test", args=[provider.pk]))
    assert response.status_code == 400 and audits() == []


# The worker's balance refresh ----------------------------------------------------------------


@pytest.fixture
def every_15_minutes(settings: Any) -> None:
    settings.SMMPANEL_BALANCE_CHECK_MINUTES = 15


@pytest.mark.usefixtures("every_15_minutes")
def test_the_worker_reads_a_balance_when_it_is_due_and_not_before(upstream: Any, stored: Provider) -> None:
    Provider.objects.create(name="off", url=upstream.url, api_key=KEY, enabled=False)
    Provider.objects.create(name="by hand", kind="manual")
    assert Worker(threads=1).run_once() >= 1
    stored.refresh_from_db()
    asked = [action for action, _ in upstream.calls if action == "balance"]  # the worker reads lists too
    assert stored.last_balance == Decimal("1000") and asked == ["balance"]
    now = timezone.now()
    assert balances.refresh_due(now) == 0  # read just now: not due
    Provider.objects.filter(pk=stored.pk).update(last_balance_at=now - timedelta(minutes=16))
    UpstreamCall.objects.update(created_at=now - timedelta(minutes=16))
    upstream.balance = Decimal("250.5")
    assert balances.refresh_due(now) == 1
    stored.refresh_from_db()
    assert stored.last_balance == Decimal("250.5") and stored.last_balance_at == now
    assert [action for action, _ in upstream.calls if action == "balance"] == ["balance", "balance"]


@pytest.mark.usefixtures("every_15_minutes")
def test_a_failed_refresh_keeps_the_balance_stores_the_error_and_waits_a_period(
    upstream: Any, stored: Provider
) -> None:
    then = timezone.now() - timedelta(hours=1)
    Provider.objects.filter(pk=stored.pk).update(last_balance=Decimal("5"), last_balance_at=then)
    upstream.fault("balance", "not_enough_funds", times=None)
    assert balances.refresh_due(timezone.now()) == 1
    stored.refresh_from_db()
    assert (stored.last_balance, stored.last_balance_at) == (Decimal("5"), then)
    assert stored.balance_error == "error: Not enough funds on balance"
    assert (
        balances.refresh_due(timezone.now()) == 0 and len(upstream.calls) == 1
    )  # tried: not again this period


def test_no_refresh_when_the_setting_is_zero(settings: Any, upstream: Any, stored: Provider) -> None:
    settings.SMMPANEL_BALANCE_CHECK_MINUTES = 0
    assert balances.refresh_due(timezone.now()) == 0 and upstream.calls == []


@pytest.mark.usefixtures("every_15_minutes")
def test_the_refresh_waits_for_the_providers_turn(upstream: Any, stored: Provider) -> None:
    """Each balance call takes a turn under the provider's pacing (providers/pacing.py), shared
    with the worker's other calls, and waits for it before calling."""
    waited: list[float] = []
    pacer = Pacer(sleep=waited.append, clock=lambda: 1000.0)
    CallPace.objects.create(provider=stored, next_at=1000.5)  # another call took the turn before
    assert balances.refresh_due(timezone.now(), pacer) == 1
    assert waited == [0.5] and CallPace.objects.get(provider=stored).next_at == 1000.7  # 5 a second
    assert upstream.calls == [("balance", {})]
