"""Subscriptions in the engine: a post's order is charged when it is created, pausing on low balance."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from smmpanel.catalog import demo
from smmpanel.catalog.models import Provider, Service
from smmpanel.engine.worker import Worker
from smmpanel.ledger.accounts import credit
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.services import mismatches
from smmpanel.orders.models import Order

S, P = Order.Status, Order.ProviderState


@pytest.fixture
def service(db, settings):
    settings.SMMPANEL_SIMULATOR_SECONDS = 60  # a new post every 20 s
    ids = demo.seed()
    Provider.objects.filter(kind=Provider.Kind.SIMULATED).update(enabled=True)
    return Service.objects.get(pk=ids["Subscriptions"])  # 0.60 per 1000, 50..5000


@pytest.fixture
def worker(clock):
    return Worker(clock=clock, threads=2)


def subscribe(api, customer, service, **params):
    answer = api.post(
        "v2",
        key=customer.key,
        action="add",
        service=service.pk,
        username="natgeo",
        min="100",
        max="200",
        **params,
    )
    return Order.objects.get(pk=answer["order"])


def follow(worker, clock, seconds, step=10):
    for _ in range(int(seconds / step)):
        worker.run_once()
        clock.advance(seconds=step)


def test_posts_are_charged_one_by_one_until_the_limit(api, alice, service, worker, clock):
    sub = subscribe(api, alice, service, posts="3", old_posts="1")
    worker.run_once()
    sub.refresh_from_db()
    assert sub.provider_state == P.SENT and alice.balance() == Decimal(100)  # nothing charged to subscribe
    follow(worker, clock, 45)
    posts = list(sub.children.order_by("id"))
    assert 1 <= len(posts) < 3
    for post in posts:
        entry = LedgerEntry.objects.get(order=post, kind="charge")
        assert 100 <= post.quantity <= 200
        assert entry.amount == -(Decimal("0.6") * post.quantity / 1000).quantize(Decimal("0.000001"))
    follow(worker, clock, 120)
    sub.refresh_from_db()
    assert sub.status == S.COMPLETED and sub.children.count() == 3
    status = api.post("v2", key=alice.key, action="status", order=sub.pk)
    charged = sum(p.charge for p in sub.children.all())
    assert (status["status"], status["posts"], status["charge"]) == ("Completed", "3", f"{charged:.5f}")
    assert all(p.provider_state == P.SENT for p in sub.children.all())  # each post went to the provider
    assert list(mismatches()) == []


def test_a_subscription_pauses_without_money_and_resumes(api, bob, service, worker, clock):
    Service.objects.filter(pk=service.pk).update(rate=Decimal("20"))  # 2..4 a post; bob has 5
    sub = subscribe(api, bob, service, posts="4")
    follow(worker, clock, 100)
    sub.refresh_from_db()
    assert sub.status == S.PAUSED
    assert bob.balance() >= 0 and sub.children.count() in (1, 2)
    paused_at = sub.children.count()
    follow(worker, clock, 30)
    assert sub.children.count() == paused_at  # nothing more while it cannot pay
    credit(bob.user, Decimal(100), memo="top-up")
    follow(worker, clock, 60)
    sub.refresh_from_db()
    assert sub.status in (S.ACTIVE, S.COMPLETED) and sub.children.count() > paused_at
    assert sub.events.filter(kind="paused").exists() and sub.events.filter(kind="resumed").exists()
    assert list(mismatches()) == []


def test_a_subscription_expires(api, alice, service, worker, clock):
    expiry = (timezone.localdate() + timedelta(days=1)).strftime("%d/%m/%Y")
    sub = subscribe(api, alice, service, expiry=expiry)
    worker.run_once()
    clock.advance(days=2)
    worker.run_once()
    sub.refresh_from_db()
    assert sub.status == S.EXPIRED
    assert api.post("v1", key=alice.key, action="status", order=sub.pk)["status"] == "Expired"


def test_a_canceled_subscription_stops(api, alice, service, worker, clock):
    Service.objects.filter(pk=service.pk).update(cancel=True)
    sub = subscribe(api, alice, service)
    worker.run_once()
    assert api.post("v2", key=alice.key, action="cancel", order=sub.pk) == [{"order": sub.pk, "cancel": 1}]
    follow(worker, clock, 60)
    sub.refresh_from_db()
    assert sub.status == S.CANCELED and sub.children.count() == 0


def test_a_subscriptions_own_figures_do_not_follow_its_posts_like_a_drip_feed(
    api, alice, service, worker, clock
):
    # Posts have a parent as drip-feed runs do, but only runs settle their parent.
    sub = subscribe(api, alice, service, posts="20", old_posts="1")
    worker.run_once()
    sub.refresh_from_db()
    before = (sub.status, sub.start_count, sub.remains)
    follow(worker, clock, 150)
    assert sub.children.exclude(status=S.PENDING).exists()  # posts went and moved
    sub.refresh_from_db()
    assert (sub.status, sub.start_count, sub.remains) == before
