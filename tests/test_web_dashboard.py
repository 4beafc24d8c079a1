"""The dashboard: balance, spend, orders by status and the latest orders, in a handful of queries."""

import re
from decimal import Decimal
from typing import Any

import pytest
from conftest import Api, Catalogue, Customer
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from smmpanel.ledger import services as ledger
from smmpanel.ledger.models import LedgerEntry
from smmpanel.orders.models import Order

HOSTILE_LINK = 'https://example.com/"><script>alert(1)</script>'


def page(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


def place(api: Api, customer: Customer, **params: Any) -> int:
    answer = api.post("v2", key=customer.key, action="add", **params)
    assert list(answer) == ["order"], answer
    return int(answer["order"])


def refund(order_id: int, amount: str) -> None:
    order = Order.objects.get(pk=order_id)
    with transaction.atomic():
        ledger.post(
            order.user_id, Decimal(amount), LedgerEntry.Kind.REFUND, f"test:{order_id}", order_id=order_id
        )


@pytest.fixture
def orders(api: Api, catalogue: Catalogue, alice: Customer, bob: Customer) -> dict[str, int]:
    default, package = catalogue.default.pk, catalogue.package.pk
    ids = {
        "completed": place(api, alice, service=default, link="https://instagram.com/a", quantity=1000),
        "partial": place(api, alice, service=default, link="https://instagram.com/b", quantity=1000),
        "canceled": place(api, alice, service=default, link="https://instagram.com/c", quantity=1000),
        "package": place(api, alice, service=package, link=HOSTILE_LINK),
        "dripfeed": place(
            api, alice, service=default, link="https://instagram.com/d", quantity=100, runs=2, interval=5
        ),
        "bobs": place(api, bob, service=package, link="https://instagram.com/bob-secret"),
    }
    Order.objects.filter(pk=ids["completed"]).update(status=Order.Status.COMPLETED)
    Order.objects.filter(pk=ids["partial"]).update(status=Order.Status.PARTIAL)
    Order.objects.filter(pk=ids["canceled"]).update(status=Order.Status.CANCELED)
    refund(ids["partial"], "0.2")
    refund(ids["canceled"], "0.9")
    # A drip-feed run is a child order: it is not counted on its own.
    parent = Order.objects.get(pk=ids["dripfeed"])
    now = timezone.now()
    Order.objects.create(
        user=alice.user,
        service=catalogue.default,
        parent=parent,
        kind=Order.Kind.RUN,
        quantity=100,
        charge=Decimal(0),
        status=Order.Status.IN_PROGRESS,
        created_at=now,
        updated_at=now,
    )
    return ids


def counts(text: str) -> dict[str, int]:
    found = re.findall(r'<li data-status="(\w+)">.*?<strong class="count">(\d+)</strong>', text, re.S)
    return {status: int(n) for status, n in found}


def test_the_dashboard_needs_a_login(client: Client, db: None) -> None:
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_a_new_customer_sees_zeros_and_where_to_start(client: Client, alice: Customer) -> None:
    client.force_login(alice.user)
    text = page(client.get(reverse("dashboard")))
    assert 'id="dashboard-balance">100.00 USD<' in text
    assert 'id="dashboard-spent">0.00 USD<' in text
    assert 'id="dashboard-orders">0<' in text
    assert counts(text) == dict.fromkeys(
        ["pending", "in_progress", "processing", "completed", "partial", "canceled"], 0
    )
    assert "No orders yet." in text
    assert reverse("order_new") in text and reverse("funds") in text


def test_the_dashboard_sums_up_the_customers_orders_and_money(
    client: Client, alice: Customer, orders: dict[str, int], django_assert_max_num_queries: Any
) -> None:
    client.force_login(alice.user)
    with django_assert_max_num_queries(6):
        response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    text = page(response)
    # Charged 3 x 0.90 + 4.50 + 2 x 100 x 0.90 / 1000; refunded 0.20 + 0.90.
    assert 'id="dashboard-spent">6.28 USD<' in text
    assert f'id="dashboard-balance">{alice.balance():.2f} USD<' in text
    assert alice.balance() == Decimal("93.72")
    assert 'id="dashboard-orders">5<' in text
    assert counts(text) == {
        "pending": 2,
        "in_progress": 0,
        "processing": 0,
        "completed": 1,
        "partial": 1,
        "canceled": 1,
    }

    recent = re.findall(r'<tr data-order="(\d+)">', text)
    mine = [orders[name] for name in ("dripfeed", "package", "canceled", "partial", "completed")]
    assert [int(n) for n in recent] == mine  # newest first; no runs, nothing of bob's
    assert f'href="{reverse("order_detail", args=[orders["package"]])}"' in text
    assert "bob-secret" not in text
    assert "<script>alert(1)" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert 'data-status="partial"' in text and "Partial" in text


def test_only_the_ten_latest_orders_are_listed(
    client: Client, api: Api, catalogue: Catalogue, alice: Customer
) -> None:
    ids = [
        place(api, alice, service=catalogue.package.pk, link=f"https://instagram.com/p{n}") for n in range(12)
    ]
    client.force_login(alice.user)
    text = page(client.get(reverse("dashboard")))
    assert [int(n) for n in re.findall(r'<tr data-order="(\d+)">', text)] == ids[::-1][:10]
    assert 'id="dashboard-orders">12<' in text
    assert counts(text)["pending"] == 12


def test_the_transactions_page_links_entries_to_their_orders(
    client: Client, alice: Customer, orders: dict[str, int]
) -> None:
    client.force_login(alice.user)
    text = page(client.get(reverse("transactions")))
    for order_id in (orders["partial"], orders["completed"]):
        assert f'<a href="{reverse("order_detail", args=[order_id])}">Order #{order_id}</a>' in text
    assert 'id="total-spent">6.28 USD<' in text


def test_the_dashboard_in_spanish(client: Client, alice: Customer) -> None:
    client.force_login(alice.user)
    response = client.get(reverse("dashboard"), HTTP_ACCEPT_LANGUAGE="es")
    assert '<html lang="es">' in page(response)
