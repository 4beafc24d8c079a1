"""`Idempotency-Key` on `add`: a retry returns the first order and places nothing new."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from django.utils import timezone
from server import panel_server  # noqa: F401  (a fixture)

from smmpanel.ledger.accounts import create_customer
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.services import mismatches
from smmpanel.orders.models import IdempotencyKey, Order


def add(api, customer, catalogue, link="x.com/a", headers=None, **extra):
    params = {
        "key": customer.key,
        "action": "add",
        "service": catalogue.default.pk,
        "link": link,
        "quantity": 100,
    }
    response = api.client.post("/api/v2", data=params | extra, headers=headers or {})
    return response.json()


def test_the_same_key_returns_the_first_order(api, alice, catalogue):
    first = add(api, alice, catalogue, headers={"Idempotency-Key": "abc-1"})
    again = add(api, alice, catalogue, headers={"Idempotency-Key": "abc-1"})
    assert first == again == {"order": Order.objects.get().pk}
    assert LedgerEntry.objects.filter(kind="charge").count() == 1
    assert alice.balance() == Decimal("99.91")


def test_the_key_may_come_as_a_parameter(api, alice, catalogue):
    first = add(api, alice, catalogue, idempotency_key="k")
    assert add(api, alice, catalogue, link="x.com/other", idempotency_key="k") == first
    assert Order.objects.count() == 1


def test_the_replay_answers_in_the_callers_dialect(api, alice, catalogue):
    first = add(api, alice, catalogue, idempotency_key="k")
    params = {
        "key": alice.key,
        "action": "add",
        "service": catalogue.default.pk,
        "link": "x.com/a",
        "quantity": 100,
        "idempotency_key": "k",
    }
    assert api.post("v1", **params) == {"status": "success", "order": first["order"]}


def test_different_keys_place_different_orders(api, alice, catalogue):
    one = add(api, alice, catalogue, link="x.com/1", idempotency_key="k1")
    two = add(api, alice, catalogue, link="x.com/2", idempotency_key="k2")
    assert one != two and Order.objects.count() == 2


def test_keys_belong_to_one_customer(api, alice, bob, catalogue):
    mine = add(api, alice, catalogue, idempotency_key="shared")
    theirs = add(api, bob, catalogue, idempotency_key="shared")
    assert mine != theirs
    assert Order.objects.get(pk=theirs["order"]).user == bob.user


def test_a_key_older_than_24_hours_places_a_new_order(api, alice, catalogue):
    first = add(api, alice, catalogue, idempotency_key="k")
    Order.objects.update(status=Order.Status.COMPLETED)
    IdempotencyKey.objects.update(created_at=IdempotencyKey.objects.get().created_at - timedelta(hours=25))
    second = add(api, alice, catalogue, idempotency_key="k")
    assert second != first and Order.objects.count() == 2
    assert IdempotencyKey.objects.get().order_id == second["order"]


def test_a_refused_order_is_not_remembered(api, bob, catalogue):
    catalogue.default.rate = Decimal("100")
    catalogue.default.save()
    assert add(api, bob, catalogue, idempotency_key="k") == {"error": "Not enough funds on balance"}
    catalogue.default.rate = Decimal("1")
    catalogue.default.save()
    assert "order" in add(api, bob, catalogue, idempotency_key="k")


@pytest.mark.server
@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_retries_place_one_order(panel_server, catalogue):  # noqa: F811
    user, key = create_customer("hasty", balance=Decimal("10"))
    barrier = threading.Barrier(20)
    params = {
        "key": key,
        "action": "add",
        "service": str(catalogue.default.pk),
        "link": "x.com/a",
        "quantity": "1000",
    }

    def send(_n):
        with httpx.Client(base_url=panel_server, timeout=30) as client:
            barrier.wait()
            return client.post("/api/v2", data=params, headers={"Idempotency-Key": "retry-me"}).json()

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(send, range(20)))
    order = Order.objects.get(user=user)
    assert answers == [{"order": order.pk}] * 20
    assert LedgerEntry.objects.filter(user=user, kind="charge").count() == 1
    user.refresh_from_db()
    assert user.balance == Decimal("9.1")
    assert list(mismatches()) == []


@pytest.mark.parametrize(
    "age, replayed",
    [(timedelta(hours=23, minutes=59), True), (timedelta(hours=24, minutes=1), False)],
    ids=["just-inside-24h", "just-outside-24h"],
)
def test_a_key_is_remembered_for_exactly_24_hours(api, alice, catalogue, age, replayed):
    first = add(api, alice, catalogue, idempotency_key="k")
    Order.objects.update(status=Order.Status.COMPLETED)  # the link is free again either way
    IdempotencyKey.objects.update(created_at=IdempotencyKey.objects.get().created_at - age)
    second = add(api, alice, catalogue, idempotency_key="k")
    assert (second == first) is replayed
    assert Order.objects.count() == (1 if replayed else 2)
    assert LedgerEntry.objects.filter(kind="charge").count() == Order.objects.count()


def test_the_replay_returns_the_order_id_not_the_keys_own(api, alice, catalogue):
    # Orders and key records count apart: an order without a key first puts their ids out of step.
    add(api, alice, catalogue, link="x.com/first")
    first = add(api, alice, catalogue, idempotency_key="k")
    assert IdempotencyKey.objects.get().pk != first["order"]
    assert add(api, alice, catalogue, idempotency_key="k") == first


def test_an_order_placed_with_a_key_records_the_api_key_it_came_with(api, alice, catalogue):
    placed = add(api, alice, catalogue, idempotency_key="k")
    assert Order.objects.get(pk=placed["order"]).api_key.user == alice.user


def test_a_twin_committed_after_the_look_up_is_replayed_not_deleted(api, alice, catalogue, monkeypatch):
    """The window between the look-up and the claim: a live key must make the claim fail."""
    from smmpanel.orders import placement

    first = add(api, alice, catalogue, idempotency_key="k")
    looked_up = placement._replayed
    calls = []

    def missed_once(*args):  # the first look-up runs before the twin committed
        calls.append(args)
        return None if len(calls) == 1 else looked_up(*args)

    monkeypatch.setattr(placement, "_replayed", missed_once)
    assert add(api, alice, catalogue, idempotency_key="k") == first
    assert Order.objects.count() == 1 and LedgerEntry.objects.filter(kind="charge").count() == 1
    assert IdempotencyKey.objects.get().order_id == first["order"]


def test_placing_clears_only_this_customers_expired_record_of_this_key(api, alice, bob, catalogue):
    old = timezone.now() - timedelta(hours=25)
    for customer, key in ((alice, "k"), (alice, "other"), (bob, "k")):
        add(api, customer, catalogue, link=f"x.com/{customer.user.username}-{key}", idempotency_key=key)
    Order.objects.update(status=Order.Status.COMPLETED)
    IdempotencyKey.objects.update(created_at=old)
    add(api, alice, catalogue, link="x.com/new", idempotency_key="k")
    kept = {(k.user.username, k.created_at) for k in IdempotencyKey.objects.exclude(created_at__gt=old)}
    assert kept == {("alice", old), ("bob", old)}
    assert IdempotencyKey.objects.filter(user=alice.user, created_at__gt=old).count() == 1


def drafted(customer, catalogue, link="https://x.com/p/1"):
    from smmpanel.catalog.offers import offer
    from smmpanel.orders import drafting

    terms = offer(customer.user.pk, catalogue.default.pk)
    assert terms is not None
    return drafting.draft(terms, {"link": link, "quantity": "100"})


def test_without_a_key_every_call_places_an_order(alice, catalogue):
    from smmpanel.orders import placement

    first = placement.place(alice.user.pk, drafted(alice, catalogue))
    Order.objects.filter(pk=first).update(status=Order.Status.COMPLETED)  # frees the link
    assert placement.place(alice.user.pk, drafted(alice, catalogue)) != first


def test_any_string_is_a_key_even_one_that_is_not_valid_unicode(alice, catalogue):
    # The API refuses such a request before (parameters must be UTF-8); placing takes any str.
    from smmpanel.orders import placement

    first = placement.place(alice.user.pk, drafted(alice, catalogue), idempotency_key="k\ud800")
    again = placement.place(alice.user.pk, drafted(alice, catalogue), idempotency_key="k\ud800")
    assert again == first and Order.objects.count() == 1


def test_a_key_that_keeps_colliding_with_nothing_to_replay_is_refused_as_a_bad_parameter(
    alice, catalogue, monkeypatch
):
    """Three claims that fail and find no order to replay (a key record gone between the two):
    the request is refused, naming the header, and nothing is placed or charged."""
    from django.db import IntegrityError

    from smmpanel.orders import placement
    from smmpanel.orders.drafting import PlacementError

    attempts = []

    def collides(*args):
        attempts.append(args)
        raise IntegrityError("UNIQUE constraint failed: orders_idempotencykey")

    monkeypatch.setattr(placement, "_place_once", collides)
    with pytest.raises(PlacementError) as refused:
        placement.place(alice.user.pk, drafted(alice, catalogue), idempotency_key="k")
    assert (refused.value.code, refused.value.value) == (PlacementError.BAD_PARAMETER, "Idempotency-Key")
    assert len(attempts) == 3
    assert not Order.objects.exists() and alice.balance() == Decimal("100")
