"""Shared fixtures: named customers (alice, bob), a small catalogue, API clients.

alice has 100.00 and one API key; bob has 5.00 and one API key. The catalogue
has a Default service with drip-feed (rate 0.90, 50..10000) and a Package
service (flat 4.50).
"""

import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core import signals
from django.db import close_old_connections
from django.utils import timezone, translation

from smmpanel.accounts.models import User

# Every process the tests start (servers, the demo, `smmpanel` commands) inherits the suite's
# settings module (tests/suite_settings.py, the fast test hasher): let it import them.
os.environ["PYTHONPATH"] = os.pathsep.join(
    filter(None, [str(Path(__file__).resolve().parent), os.environ.get("PYTHONPATH", "")])
)
from smmpanel.catalog.models import Category, Service
from smmpanel.catalog.types import ServiceType
from smmpanel.ledger.accounts import create_customer


@dataclass
class Customer:
    user: User
    key: str

    def balance(self) -> Decimal:
        self.user.refresh_from_db()
        return self.user.balance


class Clock:
    """The engine's time, moved by the test: `clock.advance(minutes=5)`, never slept."""

    def __init__(self) -> None:
        self.now = timezone.now().replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(autouse=True)
def english_and_utc() -> Iterator[None]:
    """A request in Spanish (or in a customer's time zone) leaves it active in the thread: reset it."""
    yield
    translation.deactivate()
    timezone.deactivate()


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> Iterator[None]:
    """Each test starts with empty in-memory rate limits (API keys and sign-in attempts)."""
    from smmpanel.throttle import limiter

    limiter.cache_clear()
    yield
    limiter.cache_clear()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@dataclass
class Catalogue:
    default: Service
    package: Service
    disabled: Service


class Api:
    """Calls the panel's real WSGI application in process, as a client would."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def post(self, dialect: str, **params: Any) -> Any:
        _keep_test_connection()  # again: Django's test client turns closing back on after each request
        response = self.client.post(f"/api/{dialect}", data=params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        return response.json()


def _keep_test_connection() -> None:
    # As Django's own test client does: a request must not close the
    # connection that holds the test's transaction.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)


@pytest.fixture
def api() -> Iterator[Api]:
    from smmpanel.wsgi import application

    _keep_test_connection()
    transport = httpx.WSGITransport(app=application)
    try:
        with httpx.Client(transport=transport, base_url="http://testserver") as client:
            yield Api(client)
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def make_customer(name: str, balance: str) -> Customer:
    user, key = create_customer(name, email=f"{name}@example.com", balance=Decimal(balance))
    return Customer(user, key)


@pytest.fixture
def alice(db: None) -> Customer:
    return make_customer("alice", "100")


@pytest.fixture
def bob(db: None) -> Customer:
    return make_customer("bob", "5")


@pytest.fixture
def catalogue(db: None) -> Catalogue:
    followers = Category.objects.create(name="Instagram Followers", sort_order=1)
    packs = Category.objects.create(name="Packs", sort_order=2)
    default = Service.objects.create(
        category=followers,
        name="Followers",
        type=ServiceType.DEFAULT,
        rate=Decimal("0.90"),
        min=50,
        max=10000,
        dripfeed=True,
        refill=True,
        cancel=True,
        description="Real-looking",
    )
    package = Service.objects.create(
        category=packs,
        name="Starter pack",
        type=ServiceType.PACKAGE,
        rate=Decimal("4.50"),
        min=1,
        max=1,
    )
    disabled = Service.objects.create(
        category=followers,
        name="Old",
        type=ServiceType.DEFAULT,
        rate=Decimal("1"),
        min=1,
        max=10,
        enabled=False,
    )
    return Catalogue(default, package, disabled)


@pytest.fixture
def admin_client(admin_user: User) -> Any:
    """pytest-django's admin client, past the second factor the admin asks of staff."""
    from django.test import Client
    from staff import past_second_factor

    return past_second_factor(Client(), admin_user)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A browser test (one that drives Chromium) runs on one of the two databases, not both: what
    it checks is a page's look and flow, which the database does not change, and the money and
    database behaviour behind every page is tested on both by the tests that do not start a
    browser. Which database is fixed by the test's id (a CRC-32): two in three run on SQLite,
    whose suite is otherwise the quicker by a minute or more, and each test always runs on the
    same one. SMMPANEL_BROWSER_ON_BOTH=1 runs
    every browser test on both (`make test-sqlite` and `make test-postgres` then each run all)."""
    if os.environ.get("SMMPANEL_BROWSER_ON_BOTH") == "1":
        return
    from django.conf import settings

    here = "postgresql" if "postgresql" in settings.DATABASES["default"]["ENGINE"] else "sqlite"
    for item in items:
        # Some take their tab or phone through request.getfixturevalue, out of fixturenames' sight.
        if "chromium" in getattr(item, "fixturenames", ()) or item.path.name.startswith("test_browser_"):
            there = ("postgresql", "sqlite", "sqlite")[zlib.crc32(item.nodeid.encode()) % 3]
            if there != here:
                item.add_marker(pytest.mark.skip(reason=f"a browser test runs once: on {there}"))
