"""refill, refill_status and cancel: their rules, shapes and errors (docs/api.md)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from smmpanel.orders.models import Order, OrderEvent, Refill


@pytest.fixture
def place(api, catalogue):
    def place(customer, link="x.com/a", **fields):
        answer = api.post(
            "v2", key=customer.key, action="add", service=catalogue.default.pk, link=link, quantity=100
        )
        Order.objects.filter(pk=answer["order"]).update(**fields)
        return Order.objects.get(pk=answer["order"])

    return place


@pytest.fixture
def done(place, alice):
    return place(alice, status=Order.Status.COMPLETED, finished_at=timezone.now() - timedelta(days=1))


def refill(api, customer, dialect="v2", **params):
    return api.post(dialect, key=customer.key, action="refill", **params)


# --- refill -------------------------------------------------------------


def test_refill_one_order(api, alice, done):
    answer = refill(api, alice, order=done.pk)
    item = Refill.objects.get(order=done)
    assert answer == {"refill": str(item.pk)}
    assert item.status == Refill.Status.PENDING and item.user == alice.user
    assert OrderEvent.objects.filter(order=done, kind="refill_requested").exists()
    assert refill(api, alice, "v1", order=done.pk) == {"error": "Refill is not available for this order"}


def test_a_partial_order_can_be_refilled(api, alice, place):
    partial = place(alice, status=Order.Status.PARTIAL, finished_at=timezone.now())
    assert "refill" in refill(api, alice, order=partial.pk)


def test_refill_many_mixes_ids_and_errors(api, alice, bob, done, place):
    other = place(bob, status=Order.Status.COMPLETED, finished_at=timezone.now())
    running = place(alice, link="x.com/b")
    answer = refill(api, alice, orders=f"{done.pk}, {other.pk},{running.pk},abc,{done.pk}")
    assert answer == [
        {"order": done.pk, "refill": Refill.objects.get(order=done).pk},
        {"order": other.pk, "refill": {"error": "Incorrect order ID"}},
        {"order": running.pk, "refill": {"error": "Refill is not available for this order"}},
        {"order": "abc", "refill": {"error": "Incorrect order ID"}},
    ]


NOT_AVAILABLE = {"error": "Refill is not available for this order"}


def test_no_refill_when_the_service_has_it_off(api, alice, done):
    done.service.refill = False
    done.service.save()
    assert refill(api, alice, order=done.pk) == NOT_AVAILABLE


@pytest.mark.parametrize("status", ["pending", "in_progress", "processing", "canceled"])
def test_no_refill_before_the_order_ends_delivered(api, alice, place, status):
    order = place(alice, status=status)
    assert refill(api, alice, order=order.pk) == NOT_AVAILABLE


def test_no_refill_after_the_window(api, alice, place):
    old = place(alice, status=Order.Status.COMPLETED, finished_at=timezone.now() - timedelta(days=31))
    assert refill(api, alice, order=old.pk) == NOT_AVAILABLE


def test_no_second_refill_while_one_is_open(api, alice, done):
    refill(api, alice, order=done.pk)
    assert refill(api, alice, order=done.pk) == NOT_AVAILABLE
    Refill.objects.update(status=Refill.Status.COMPLETED)
    assert "refill" in refill(api, alice, order=done.pk)


def test_refill_of_someone_elses_order(api, bob, done):
    assert refill(api, bob, order=done.pk) == {"error": "Incorrect order ID"}
    assert refill(api, bob, "v1", order=done.pk) == {"error": "Incorrect order ID"}
    assert not Refill.objects.exists()


def test_refill_without_an_order_id(api, alice):
    assert refill(api, alice) == {"error": "Incorrect order ID"}
    assert refill(api, alice, "v1") == {
        "error": "Order ID is required parameter. Please check your API Manual"
    }


def test_refill_of_more_than_100_orders(api, alice):
    ids = ",".join(str(n) for n in range(1, 102))
    assert refill(api, alice, orders=ids) == {"error": "Too many IDs: at most 100"}


# --- refill_status ------------------------------------------------------


def test_refill_status_one(api, alice, done):
    refill_id = refill(api, alice, order=done.pk)["refill"]
    for dialect in ("v1", "v2"):
        assert api.post(dialect, key=alice.key, action="refill_status", refill=refill_id) == {
            "status": "Pending"
        }
    Refill.objects.update(status=Refill.Status.IN_PROGRESS)
    assert api.post("v2", key=alice.key, action="refill_status", refill=refill_id) == {
        "status": "In progress"
    }


def test_refill_status_many(api, alice, bob, done, place):
    mine = int(refill(api, alice, order=done.pk)["refill"])
    theirs = place(bob, status=Order.Status.COMPLETED, finished_at=timezone.now())
    other = int(refill(api, bob, order=theirs.pk)["refill"])
    Refill.objects.filter(pk=mine).update(status=Refill.Status.COMPLETED)
    answer = api.post("v2", key=alice.key, action="refill_status", refills=f"{mine},{other},999")
    assert answer == [
        {"refill": mine, "status": "Completed"},
        {"refill": other, "status": {"error": "Refill not found"}},
        {"refill": 999, "status": {"error": "Refill not found"}},
    ]


@pytest.mark.parametrize("value", ["", "999", "abc"])
def test_refill_status_unknown(api, alice, value):
    assert api.post("v2", key=alice.key, action="refill_status", refill=value) == {
        "error": "Refill not found"
    }


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("pending", "Pending"),
        ("in_progress", "In progress"),
        ("completed", "Completed"),
        ("rejected", "Rejected"),
        ("canceled", "Canceled"),
    ],
)
def test_refill_status_strings(api, alice, done, code, text):
    refill_id = refill(api, alice, order=done.pk)["refill"]
    Refill.objects.update(status=code)
    assert api.post("v1", key=alice.key, action="refill_status", refill=refill_id) == {"status": text}


# --- cancel -------------------------------------------------------------


def cancel(api, customer, dialect="v2", **params):
    return api.post(dialect, key=customer.key, action="cancel", **params)


def test_cancel_records_the_request_and_moves_no_money(api, alice, place):
    order = place(alice)
    balance = alice.balance()
    assert cancel(api, alice, orders=str(order.pk)) == [{"order": order.pk, "cancel": 1}]
    order.refresh_from_db()
    assert order.cancel_requested_at is not None
    assert order.status == Order.Status.PENDING  # it ends Canceled only when the provider says so
    assert alice.balance() == balance
    assert OrderEvent.objects.filter(order=order, kind="cancel_requested").count() == 1
    # Asking again is harmless and answered the same.
    assert cancel(api, alice, "v1", order=str(order.pk)) == [{"order": order.pk, "cancel": 1}]
    assert OrderEvent.objects.filter(order=order, kind="cancel_requested").count() == 1


def test_cancel_many_mixes_ids_and_errors(api, alice, bob, place, done):
    mine = place(alice, link="x.com/m")
    theirs = place(bob, link="x.com/t")
    answer = cancel(api, alice, orders=f"{theirs.pk},{mine.pk},{done.pk}")
    assert answer == [
        {"order": theirs.pk, "cancel": {"error": "Incorrect order ID"}},
        {"order": mine.pk, "cancel": 1},
        {"order": done.pk, "cancel": {"error": "Cancel is not available for this order"}},
    ]
    theirs.refresh_from_db()
    assert theirs.cancel_requested_at is None


def test_no_cancel_when_the_service_has_it_off(api, alice, place):
    order = place(alice)
    order.service.cancel = False
    order.service.save()
    assert cancel(api, alice, order=order.pk) == [
        {"order": order.pk, "cancel": {"error": "Cancel is not available for this order"}}
    ]


@pytest.mark.parametrize("status", ["completed", "partial", "canceled"])
def test_no_cancel_of_a_final_order(api, alice, place, status):
    order = place(alice, status=status)
    assert cancel(api, alice, order=order.pk)[0]["cancel"] == {
        "error": "Cancel is not available for this order"
    }


def test_cancel_without_ids(api, alice):
    assert cancel(api, alice) == {"error": "Incorrect order ID"}
    assert cancel(api, alice, "v1") == {
        "error": "Order ID is required parameter. Please check your API Manual"
    }
