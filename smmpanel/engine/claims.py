"""Claiming due rows so that several workers, on several machines, never take the same one."""

from datetime import datetime

from django.db import connection, transaction
from django.db.models import QuerySet

from smmpanel.orders import transitions
from smmpanel.orders.models import Order


def claim_orders(due: QuerySet[Order], now: datetime, limit: int) -> list[int]:
    """Move up to `limit` due orders from queued to sending; returns the ids this worker got.

    PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED, so workers pass each other by.
    SQLite: one writer at a time anyway; each row is taken by compare-and-swap.
    """
    if connection.vendor == "postgresql":
        with transaction.atomic():
            # of=self: lock only the order rows, not the joined service and provider rows, which
            # every claim shares: other workers must find the rest of the queue free.
            locked = due.select_for_update(skip_locked=True, of=("self",))
            ids = list(locked.values_list("id", flat=True)[:limit])
            transitions.claim_locked(ids, now)
            return ids
    candidates = list(due.values_list("id", flat=True)[:limit])
    return [order_id for order_id in candidates if transitions.claim(order_id, now)]
