"""Concurrent orders through the real server can never spend the same money twice.

Each customer's balance covers exactly 20 orders; 50 `add` requests per customer
are released at once (a barrier) against `smmpanel serve` (granian, 2 worker
processes x 4 threads, so several database connections race for the balance).
Exactly 20 must succeed, the other 30 must be refused for funds, and the money
must add up to the cent: balance 0, 20 charges, ledger and balances agree.

Runs on both databases: PostgreSQL serialises the debits on the user row's lock
(a conditional UPDATE), SQLite on its write lock (BEGIN IMMEDIATE + busy timeout).
"""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import httpx
import pytest
from server import panel_server  # noqa: F401  (a fixture)

from smmpanel.catalog.models import Category, Service
from smmpanel.catalog.types import ServiceType
from smmpanel.ledger.accounts import create_customer
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.services import mismatches
from smmpanel.orders.models import Order, OrderEvent

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]

ATTEMPTS = 50  # per customer
AFFORDABLE = 20  # the balance covers exactly this many
NO_FUNDS = {"error": "Not enough funds on balance"}


@pytest.fixture(scope="module")
def panel_server_env() -> dict[str, str]:
    # This is about money, not the per-key rate limit: 50 requests from one key at once.
    return {"SMMPANEL_API_RATE": "0"}


@pytest.fixture
def service() -> Service:
    category = Category.objects.create(name="Concurrency", sort_order=1)
    # rate 1.000 per 1000, quantity 1000: each order costs exactly 1.000000.
    return Service.objects.create(
        category=category,
        name="Followers",
        type=ServiceType.DEFAULT,
        rate=Decimal("1.000"),
        min=10,
        max=10000,
    )


@pytest.fixture
def http(panel_server: str) -> Iterator[httpx.Client]:  # noqa: F811
    # One connection per request in flight, so all of them reach the server at once.
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    with httpx.Client(base_url=panel_server, limits=limits, timeout=60.0) as client:
        yield client


def _customers(count: int) -> list[tuple[Any, str]]:
    return [
        create_customer(f"racer{n}", email=f"racer{n}@example.com", balance=Decimal(AFFORDABLE))
        for n in range(count)
    ]


def _fire(client: httpx.Client, forms: list[dict[str, str]]) -> list[httpx.Response]:
    """POST every form to /api/v2 at the same moment, one thread each."""
    barrier = threading.Barrier(len(forms))

    def send(form: dict[str, str]) -> httpx.Response:
        barrier.wait(timeout=30)
        return client.post("/api/v2", data=form)

    with ThreadPoolExecutor(max_workers=len(forms)) as pool:
        return list(pool.map(send, forms))


def _race(client: httpx.Client, service: Service, customers: list[tuple[Any, str]]) -> None:
    # Interleaved: every customer's n-th request is next to the others' n-th.
    forms = [
        {
            "key": key,
            "action": "add",
            "service": str(service.pk),
            "link": f"https://instagram.com/{user.username}/post{n}",
            "quantity": "1000",
        }
        for n in range(ATTEMPTS)
        for user, key in customers
    ]
    responses = _fire(client, forms)

    answers: dict[str, list[Any]] = {key: [] for _user, key in customers}
    for form, response in zip(forms, responses, strict=True):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        answers[form["key"]].append(response.json())

    for user, key in customers:
        placed = [
            body["order"] for body in answers[key] if list(body) == ["order"] and type(body["order"]) is int
        ]
        refused = [body for body in answers[key] if body == NO_FUNDS]
        assert (len(placed), len(refused)) == (AFFORDABLE, ATTEMPTS - AFFORDABLE), answers[key]

        orders = Order.objects.filter(user=user)
        assert sorted(orders.values_list("id", flat=True)) == sorted(placed)
        assert {o.charge for o in orders} == {Decimal("1.000000")}
        assert OrderEvent.objects.filter(order__user=user, kind="created").count() == AFFORDABLE

        user.refresh_from_db()
        assert user.balance == Decimal("0")

        charges = LedgerEntry.objects.filter(user=user, kind=LedgerEntry.Kind.CHARGE)
        assert charges.count() == AFFORDABLE
        assert sorted(charges.values_list("order_id", flat=True)) == sorted(placed)
        assert {e.amount for e in charges} == {Decimal("-1.000000")}
        # The balances after each charge are 19, 18, ..., 0: each debit saw the one before.
        assert sorted(e.balance_after for e in charges) == [Decimal(n) for n in range(AFFORDABLE)]

    assert list(mismatches()) == []


def test_one_customer_cannot_overspend_with_50_parallel_orders(http: httpx.Client, service: Service) -> None:
    _race(http, service, _customers(1))


def test_five_customers_cannot_overspend_with_250_interleaved_orders(
    http: httpx.Client, service: Service
) -> None:
    _race(http, service, _customers(5))


ACTIVE_LINK = {"error": "You have active order with this link. Please wait until order being completed."}


def test_30_parallel_orders_for_one_link_place_exactly_one(http: httpx.Client, service: Service) -> None:
    """The one-active-order-per-link rule holds when the second order arrives before the first commits."""
    [(user, key)] = _customers(1)
    form = {
        "key": key,
        "action": "add",
        "service": str(service.pk),
        "link": "https://instagram.com/racer0/one-post",
        "quantity": "1000",
    }
    bodies = [response.json() for response in _fire(http, [form] * 30)]

    placed = [body["order"] for body in bodies if list(body) == ["order"]]
    assert len(placed) == 1, bodies
    assert [body for body in bodies if body != {"order": placed[0]}] == [ACTIVE_LINK] * 29
    assert list(Order.objects.filter(user=user).values_list("id", flat=True)) == placed
    user.refresh_from_db()
    assert user.balance == Decimal(AFFORDABLE - 1)
    assert list(mismatches()) == []
