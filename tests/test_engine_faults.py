"""The engine against a real HTTP upstream that misbehaves on demand.

For every fault: no order is lost, none is placed twice upstream (the fake
counts), refunds are exact, and the order ends where docs/architecture.md says.
"""

import socket
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from upstream import upstream_fixture  # noqa: F401  (the `upstream` fixture)

from smmpanel.catalog.models import Provider, ProviderService, Service
from smmpanel.engine.worker import Worker
from smmpanel.ledger.accounts import credit
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.services import mismatches
from smmpanel.orders.models import Order, Refill
from smmpanel.providers.apiv2 import idempotency_key
from smmpanel.providers.models import UpstreamCall

P, S = Order.ProviderState, Order.Status


@pytest.fixture
def provider(upstream, catalogue):
    provider = Provider.objects.create(
        name="Upstream", url=upstream.url, api_key=upstream.key, timeout_seconds=0.5, requests_per_second=1000
    )
    linked = ProviderService.objects.create(
        provider=provider,
        external_id="1",
        name="Followers",
        type="default",
        rate=Decimal("0.5"),
        min=50,
        max=10000,
    )
    Service.objects.filter(pk=catalogue.default.pk).update(provider=provider, provider_service=linked)
    return provider


@pytest.fixture
def worker(clock, provider):
    return Worker(clock=clock, threads=4)


@pytest.fixture
def order(api, alice, catalogue, provider):
    answer = api.post(
        "v2", key=alice.key, action="add", service=catalogue.default.pk, link="x.com/a", quantity=1000
    )
    return Order.objects.get(pk=answer["order"])


def rounds(worker, clock, n=5, minutes=5):
    for _ in range(n):
        worker.run_once()
        clock.advance(minutes=minutes)


def refunded(order):
    return sum(e.amount for e in LedgerEntry.objects.filter(order=order, kind="refund"))


def test_a_normal_answer(order, worker, upstream):
    worker.run_once()
    order.refresh_from_db()
    assert (order.provider_state, order.provider_order_id) == (P.SENT, upstream.placed[0].id)
    assert order.cost == Decimal("0.5")
    sent = upstream.calls[0][1]
    assert sent["service"] == "1" and sent["link"] == "https://x.com/a" and sent["quantity"] == "1000"
    assert upstream.placed_per_key[idempotency_key(order.pk)] == 1
    call = UpstreamCall.objects.get(order=order, action="add")
    assert call.outcome == "ok" and upstream.key not in str(call.request)


def test_a_slow_answer_within_the_timeout(order, worker, upstream):
    upstream.fault("add", "slow", delay=0.2)
    worker.run_once()
    order.refresh_from_db()
    assert order.provider_state == P.SENT and len(upstream.placed) == 1


@pytest.mark.parametrize("fault", ["timeout", "drop_after_accept"])
def test_an_order_accepted_without_an_answer_is_in_doubt_not_resent(order, worker, clock, upstream, fault):
    upstream.fault("add", fault, delay=1.0)
    rounds(worker, clock)
    order.refresh_from_db()
    assert (order.provider_state, order.status) == (P.UNKNOWN, S.PENDING)
    assert len(upstream.placed) == 1  # it got there once, and was never sent again
    assert refunded(order) == 0 and order.attempts == 1


@pytest.mark.parametrize("fault", ["http_500", "http_502_html", "html", "invalid_json", "empty"])
def test_an_unreadable_answer_is_in_doubt(order, worker, clock, upstream, fault):
    upstream.fault("add", fault)
    rounds(worker, clock)
    order.refresh_from_db()
    assert order.provider_state == P.UNKNOWN and refunded(order) == 0
    assert [action for action, _ in upstream.calls].count("add") == 1


@pytest.mark.parametrize("fault", ["timeout", "drop_after_accept", "http_500", "html"])
def test_in_doubt_orders_are_settled_with_a_provider_honouring_idempotency(
    order, worker, clock, upstream, provider, fault
):
    Provider.objects.filter(pk=provider.pk).update(honours_idempotency=True)
    upstream.honours_idempotency = True
    upstream.fault("add", fault, delay=1.0)
    rounds(worker, clock, n=3)
    order.refresh_from_db()
    assert order.provider_state == P.SENT
    assert len(upstream.placed) == 1  # a retry returned the first order, or placed the only one
    assert order.provider_order_id == upstream.placed[0].id


def test_a_refusal_cancels_and_refunds(order, worker, upstream, alice):
    upstream.fault("add", "not_enough_funds")
    worker.run_once()
    order.refresh_from_db()
    assert (order.provider_state, order.status) == (P.FAILED, S.CANCELED)
    assert order.provider_error == "Not enough funds on balance"
    assert refunded(order) == order.charge and alice.balance() == Decimal(100)


def test_a_provider_that_cannot_be_reached_gets_the_order_later(order, worker, clock, provider, upstream):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    Provider.objects.filter(pk=provider.pk).update(url=f"http://127.0.0.1:{port}/api/v2")
    worker.run_once()
    order.refresh_from_db()
    assert order.provider_state == P.QUEUED  # the request never left: safe to send again
    Provider.objects.filter(pk=provider.pk).update(url=upstream.url)
    clock.advance(minutes=2)
    worker.run_once()
    order.refresh_from_db()
    assert order.provider_state == P.SENT and len(upstream.placed) == 1


def test_status_sync_finishes_and_refunds_exactly(order, worker, clock, upstream):
    worker.run_once()
    upstream.set_status(upstream.placed[0].id, "In progress", remains=600, start_count=42)
    clock.advance(minutes=1)
    worker.run_once()
    order.refresh_from_db()
    assert (order.status, order.remains, order.start_count) == (S.IN_PROGRESS, 600, 42)
    upstream.set_status(upstream.placed[0].id, "partial", remains=333)
    clock.advance(minutes=1)
    worker.run_once()
    order.refresh_from_db()
    assert (order.status, order.remains) == (S.PARTIAL, 333)
    assert refunded(order) == Decimal("0.2997")  # 0.9 x 333 / 1000
    assert list(mismatches()) == []


def test_statuses_are_asked_100_at_a_time(api, alice, catalogue, provider, worker, clock, upstream, settings):
    settings.SMMPANEL_ONE_ACTIVE_ORDER_PER_LINK = False
    settings.SMMPANEL_API_RATE = 0
    credit(alice.user, Decimal(900), memo="top-up")
    for _ in range(150):
        api.post(
            "v2", key=alice.key, action="add", service=catalogue.default.pk, link="x.com/a", quantity=100
        )
    while Order.objects.filter(provider_state=P.QUEUED).exists():
        worker.run_once()
    upstream.calls.clear()
    clock.advance(minutes=1)
    worker.run_once()
    asked = [params["orders"].split(",") for action, params in upstream.calls if action == "status"]
    assert sorted(len(ids) for ids in asked) == [50, 100]


def test_per_item_errors_back_off_without_finishing(order, worker, clock, upstream):
    worker.run_once()
    upstream.fault("status", "per_item_errors", ids=[upstream.placed[0].id], times=None)
    clock.advance(minutes=1)
    worker.run_once()
    order.refresh_from_db()
    assert order.status == S.PENDING and order.unchanged_checks == 1


def test_a_status_fault_is_retried_later(order, worker, clock, upstream):
    worker.run_once()
    upstream.fault("status", "http_500")
    clock.advance(minutes=1)
    worker.run_once()
    upstream.set_status(upstream.placed[0].id, "Completed", remains=0)
    clock.advance(minutes=2)
    worker.run_once()
    order.refresh_from_db()
    assert order.status == S.COMPLETED and refunded(order) == 0


def test_a_cancel_is_forwarded_and_the_refund_follows_the_provider(
    api, alice, order, worker, clock, upstream
):
    worker.run_once()
    api.post("v2", key=alice.key, action="cancel", orders=str(order.pk))
    worker.run_once()
    order.refresh_from_db()
    assert order.cancel_forwarded_at is not None and refunded(order) == 0
    assert upstream.orders[upstream.placed[0].id].cancel_requested
    upstream.set_status(upstream.placed[0].id, "Cancelled")
    clock.advance(minutes=1)
    worker.run_once()
    order.refresh_from_db()
    assert order.status == S.CANCELED and refunded(order) == order.charge


def test_a_refill_is_forwarded_and_followed(api, alice, order, worker, clock, upstream):
    worker.run_once()
    upstream.set_status(upstream.placed[0].id, "Completed", remains=0)
    clock.advance(minutes=1)
    worker.run_once()
    refill_id = api.post("v2", key=alice.key, action="refill", order=order.pk)["refill"]
    worker.run_once()
    refill = Refill.objects.get(pk=refill_id)
    assert refill.provider_refill_id in upstream.refills
    upstream.set_refill_status(refill.provider_refill_id, "Completed")
    clock.advance(minutes=11)
    worker.run_once()
    assert api.post("v2", key=alice.key, action="refill_status", refill=refill_id) == {"status": "Completed"}
    # Each step is in the order's history; the engine's bookkeeping is not on the customer's page.
    kinds = list(order.events.order_by("id").values_list("kind", flat=True))
    assert kinds[-3:] == ["refill_requested", "refill_forwarded", "refill_ended"]
    page = Client()
    page.force_login(alice.user)
    html = page.get(reverse("order_detail", args=[order.pk])).content.decode()
    assert "Refill requested" in html and "Refill passed on" not in html and "Refill finished" not in html


def test_a_refill_the_provider_refuses_is_rejected(api, alice, order, worker, clock, upstream):
    worker.run_once()
    upstream.set_status(upstream.placed[0].id, "Completed", remains=0)
    clock.advance(minutes=1)
    worker.run_once()
    upstream.answer_with("refill", {"error": "Refill is disabled for this service"})
    refill_id = api.post("v2", key=alice.key, action="refill", order=order.pk)["refill"]
    worker.run_once()
    refill = Refill.objects.get(pk=refill_id)
    assert (refill.status, refill.provider_refill_id) == (Refill.Status.REJECTED, "")
    assert "disabled" in refill.provider_error
    assert order.events.filter(kind="refill_refused", data__refill=refill.pk).count() == 1
