"""Drip-feed orders: a parent releasing one run (a child order) every `interval` minutes.

The parent was charged for every run when it was placed. Each run carries its
share of that charge (the shares add up to the cent), so a run that ends
Partial or Canceled refunds its own share; canceling the parent refunds the
runs never released.

Locks: a parent is always locked before its runs (release, cancel, and the
finish or progress of a run all lock the parent first), so two of them never
wait for each other the other way round.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction

from smmpanel.ledger.money import share_of
from smmpanel.orders import creating, events
from smmpanel.orders.creating import NewOrder
from smmpanel.orders.models import Order

S, P = Order.Status, Order.ProviderState


def run_share(charge: Decimal, runs: int, index: int) -> Decimal:
    """The charge of run `index` (0-based): the shares add up to `charge` exactly."""
    return share_of(charge, runs, index)


def lock_parents(order_ids: list[int]) -> None:
    """Lock the drip-feed parents of these orders' runs, in id order: before the runs themselves."""
    parents = (
        Order.objects.filter(pk__in=order_ids, kind=Order.Kind.RUN, parent__isnull=False)
        .values_list("parent_id", flat=True)
        .distinct()
    )
    wanted = sorted(parents)
    if wanted:
        list(Order.objects.select_for_update().filter(pk__in=wanted).order_by("id").values_list("id"))


def release(parent_id: int, now: datetime) -> bool:
    """Release the parent's next run, if it is due to have one; returns True if it did."""
    with transaction.atomic():
        parent = Order.objects.select_for_update().get(pk=parent_id)
        runs = parent.runs or 0
        released = parent.children.count()
        if parent.provider_state != P.QUEUED or parent.status in Order.FINAL or released >= runs:
            return False
        run = NewOrder(
            user_id=parent.user_id,
            service_id=parent.service_id,
            parent_id=parent.pk,
            kind=Order.Kind.RUN,
            link=parent.link,
            quantity=parent.quantity,
            params=parent.params,
            charge=run_share(parent.charge, runs, released),
            source=parent.source,
            api_key_id=parent.api_key_id,
        )
        run_id = creating.create(run, now, run=released + 1)
        events.record(parent.pk, events.Kind.RUN_RELEASED, now, run=run_id)
        last = released + 1 == runs
        parent.status = S.IN_PROGRESS
        # After the last run the parent only waits for its runs to end (see settle_dripfeed).
        parent.provider_state = P.SENT if last else P.QUEUED
        parent.next_check_at = None if last else now + timedelta(minutes=parent.interval_minutes or 1)
        parent.updated_at = now
        parent.save(update_fields=["status", "provider_state", "next_check_at", "updated_at"])
    return True


def cancel(parent_id: int, now: datetime) -> bool:
    """Stop releasing runs, refund the unreleased ones, and ask the released ones to cancel."""
    with transaction.atomic():
        parent = Order.objects.select_for_update().get(pk=parent_id)
        if parent.provider_state != P.QUEUED or parent.status in Order.FINAL:
            return False
        charges = list(parent.children.values_list("charge", flat=True))
        unreleased = parent.charge - sum(charges, Decimal(0))
        creating.refund(parent.user_id, parent.pk, unreleased, now, reason="refund-unreleased")
        parent.provider_state = P.SENT
        parent.next_check_at = None
        parent.updated_at = now
        parent.save(update_fields=["provider_state", "next_check_at", "updated_at"])
        events.record(
            parent.pk,
            events.Kind.CANCELED_UNRELEASED_RUNS,
            now,
            released=len(charges),
            refund=str(unreleased),
        )
        Order.objects.filter(parent=parent, cancel_requested_at__isnull=True).exclude(
            status__in=Order.FINAL
        ).update(cancel_requested_at=now, updated_at=now)
        settle_dripfeed(parent.pk, now)
    return True


def settle_dripfeed(parent_id: int, now: datetime) -> bool:
    """A drip-feed order follows its runs, and ends when all of them are out and ended.

    Its start count is its first run's; its remains are what is not delivered yet across its
    runs, released or to come; its final status sums theirs up. Returns True when it ends.
    (Each run refunds its own share: the parent moves no money here.)
    """
    with transaction.atomic():
        parent = Order.objects.select_for_update().get(pk=parent_id)
        if parent.status in Order.FINAL:
            return False
        runs = list(parent.children.order_by("id").values_list("status", "start_count", "remains"))
        unreleased = (parent.runs or 0) - len(runs)  # runs to come, or never released if canceled
        if runs:
            parent.start_count = runs[0][1]
        parent.remains = sum(remains for *_, remains in runs) + unreleased * parent.quantity
        parent.updated_at = now
        if parent.provider_state != P.SENT or any(status not in Order.FINAL for status, *_ in runs):
            # Still releasing runs (provider_state stays queued until the last) or waiting for them.
            parent.save(update_fields=["start_count", "remains", "updated_at"])
            return False
        parent.status = _sum_up({status for status, *_ in runs} | ({S.CANCELED} if unreleased > 0 else set()))
        parent.finished_at = now
        parent.save(update_fields=["status", "start_count", "remains", "finished_at", "updated_at"])
        events.record(
            parent_id,
            events.Kind.FINISHED,
            now,
            status=parent.status,
            remains=parent.remains,
            start_count=parent.start_count,
        )
    return True


def _sum_up(statuses: set[str]) -> str:
    if statuses == {S.COMPLETED}:
        return S.COMPLETED
    if statuses == {S.CANCELED}:
        return S.CANCELED
    return S.PARTIAL
