"""Subscriptions in the engine: a post's order is charged when it is created, pausing on low balance."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from smmpanel.catalog import demo
from smmpanel.catalog.models import Provider, ProviderService, Service
from smmpanel.engine.worker import Worker
from smmpanel.ledger.accounts import credit
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.services import mismatches
from smmpanel.orders import subscriptions, transitions
from smmpanel.orders.models import Order
from smmpanel.providers.answers import UpstreamStatus, parse_statuses

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
    assert [e.data for e in sub.events.filter(kind="paused")] == [{"reason": "balance"}]
    assert sub.events.filter(kind="resumed").count() == 1
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


@dataclass(frozen=True)
class Seen:
    """A post as a provider reports it (providers.adapters.PostNotice's shape)."""

    key: str
    quantity: int
    provider_order_id: str = ""


def upstream_post(api, alice, worker, clock, service):
    """A post the provider made itself, charged at the subscription's max (200 units: 0.12)."""
    sub = subscribe(api, alice, service)
    worker.run_once()  # the subscription is sent
    assert subscriptions.followed(sub.pk, [Seen("p1", 200, "up-7")], None, clock()) == 1
    post = sub.children.get()
    assert (post.quantity, post.charge, post.provider_state) == (200, Decimal("0.12"), P.SENT)
    return post


def test_a_post_charged_at_max_is_trued_up_once_when_its_provider_tells_its_quantity(
    api, alice, service, worker, clock
):
    post = upstream_post(api, alice, worker, clock, service)
    report = UpstreamStatus(S.IN_PROGRESS, start_count=10, remains=150, quantity=150)
    for _ in range(4):  # the same report, again and again
        transitions.progress_many({post.pk: report}, clock())
        clock.advance(minutes=1)
    assert subscriptions.true_up(post.pk, 150, clock()) is False
    true_ups = LedgerEntry.objects.filter(order=post, kind="refund")
    assert [(e.amount, e.reference) for e in true_ups] == [(Decimal("0.03"), f"order:{post.pk}:true-up")]
    post.refresh_from_db()
    assert (post.quantity, post.charge, post.remains) == (150, Decimal("0.09"), 150)
    [trued_up] = post.events.filter(kind="trued_up")
    assert trued_up.data == {"quantity": 150, "ordered": 200, "refund": "0.030000"}
    assert list(mismatches()) == []


def test_a_trued_up_post_refunds_what_it_did_not_deliver_of_its_real_quantity(
    api, alice, service, worker, clock
):
    post = upstream_post(api, alice, worker, clock, service)
    # The provider tells the quantity with the end: 150 units, 50 of them not delivered.
    ended = UpstreamStatus(S.PARTIAL, start_count=10, remains=50, quantity=150)
    transitions.progress_many({post.pk: ended}, clock())
    post.refresh_from_db()
    assert (post.status, post.quantity, post.remains) == (S.PARTIAL, 150, 50)
    refunded = sorted(e.amount for e in LedgerEntry.objects.filter(order=post, kind="refund"))
    assert refunded == [Decimal("0.03"), Decimal("0.03")]  # 50 of 200 units, then 50 of 150 at 0.09
    again = UpstreamStatus(S.PARTIAL, start_count=10, remains=50, quantity=100)
    transitions.progress_many({post.pk: again}, clock())
    assert LedgerEntry.objects.filter(order=post, kind="refund").count() == 2  # ended: nothing more
    assert list(mismatches()) == []


def test_a_larger_or_missing_quantity_changes_nothing(api, alice, service, worker, clock):
    post = upstream_post(api, alice, worker, clock, service)
    for quantity in (None, 200, 250, 0):
        report = UpstreamStatus(S.IN_PROGRESS, start_count=1, remains=200, quantity=quantity)
        transitions.progress_many({post.pk: report}, clock())
    post.refresh_from_db()
    assert (post.quantity, post.charge) == (200, Decimal("0.12"))
    assert not LedgerEntry.objects.filter(order=post, kind="refund").exists()


def test_how_often_a_subscription_is_asked_is_a_setting(api, alice, service, worker, clock, settings):
    settings.SMMPANEL_SUBSCRIPTION_CHECK_SECONDS = 15
    sub = subscribe(api, alice, service)
    worker.run_once()
    subscriptions.followed(sub.pk, [], None, clock())
    sub.refresh_from_db()
    assert sub.next_check_at == clock() + timedelta(seconds=15)


def test_a_post_is_trued_up_from_the_quantity_in_a_providers_status_answer(
    api, alice, service, worker, clock
):
    # The protocol's status answer, as an api_v2 provider sends it, with the post's real size.
    post = upstream_post(api, alice, worker, clock, service)
    answer = {
        "up-7": {
            "charge": "0.09",
            "start_count": "10",
            "status": "In progress",
            "remains": "150",
            "currency": "USD",
            "quantity": "150",
        }
    }
    report = parse_statuses(answer, ["up-7"])["up-7"]
    assert report.quantity == 150
    transitions.progress_many({post.pk: report}, clock())
    post.refresh_from_db()
    assert (post.quantity, post.charge) == (150, Decimal("0.09"))
    assert LedgerEntry.objects.get(order=post, kind="refund").reference == f"order:{post.pk}:true-up"
    assert list(mismatches()) == []


def test_a_post_made_upstream_is_an_order_sent_there_at_the_rate_of_the_day_of_subscribing(
    api, alice, service, worker, clock
):
    sub = subscribe(api, alice, service)
    worker.run_once()  # the subscription is sent
    sub.refresh_from_db()
    listed = ProviderService.objects.create(
        provider=sub.provider,
        external_id="77",
        name="Posts",
        type=service.type,
        rate=Decimal("0.25"),
        min=50,
        max=5000,
    )
    # The service now bought there, and dearer: the subscription keeps its own rate.
    Service.objects.filter(pk=service.pk).update(rate=Decimal("9"), provider_service=listed)
    assert subscriptions.followed(sub.pk, [Seen("p1", 200, "up-7")], None, clock()) == 1
    post = sub.children.get()
    assert post.charge == Decimal("0.12")  # 200 at 0.60 per 1000, the rate of the day
    assert (post.api_key_id, post.provider_id, post.provider_order_id) == (
        sub.api_key_id,
        sub.provider_id,
        "up-7",
    )
    assert post.api_key_id is not None and post.provider_id is not None
    assert (post.sent_at, post.next_check_at) == (clock(), clock() + subscriptions.check_every())
    assert post.cost == Decimal("0.05")  # 200 at the provider's 0.25 per 1000
    assert post.events.get(kind="created").data.get("post") == "p1"


def test_a_post_the_panel_releases_itself_waits_to_be_sent(api, alice, service, worker, clock):
    sub = subscribe(api, alice, service)
    worker.run_once()
    assert subscriptions.followed(sub.pk, [Seen("p2", 150)], None, clock()) == 1
    post = sub.children.get()
    assert (post.provider_state, post.sent_at, post.next_check_at, post.provider_id) == (
        P.QUEUED,
        None,
        None,
        None,
    )
    assert post.cost is None


@pytest.mark.parametrize(("quantity", "refund"), [(1, "0.119400"), (199, "0.000600")])
def test_a_true_up_says_it_changed_the_post_once_down_to_a_single_unit(
    api, alice, service, worker, clock, quantity, refund
):
    post = upstream_post(api, alice, worker, clock, service)
    assert subscriptions.true_up(post.pk, quantity, clock()) is True
    assert subscriptions.true_up(post.pk, quantity, clock()) is False
    entry = LedgerEntry.objects.get(order=post, kind="refund")
    assert (str(entry.amount), entry.created_at) == (refund, clock())
    assert subscriptions.true_up(post.pk, 0, clock()) is False  # no post is trued up to nothing
