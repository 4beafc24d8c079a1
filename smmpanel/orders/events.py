"""An order's history: the one way its events are written.

Every change of an order, a refill or a subscription writes one typed event
(`OrderEvent.Kind`) in the same transaction as the change it records.
"""

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import connection

from smmpanel.orders.models import OrderEvent

Kind = OrderEvent.Kind
# Engine bookkeeping of a refill: the operator sees it (admin); the customer's history does not.
# The operator's actions the customer's history tells through the event that follows them
# (finished, sent, checked) or not at all (which supplier has the order is the operator's).
OPERATOR_ONLY = (
    Kind.PROVIDER_CHANGED,
    Kind.MARKED_COMPLETED,
    Kind.MARKED_PARTIAL,
    Kind.CANCELED_BY_OPERATOR,
    Kind.RESOLVED_SENT,
    Kind.RESOLVED_REQUEUED,
    Kind.RESOLVED_CANCELED,
)
NOT_SHOWN = (Kind.REFILL_FORWARDED, Kind.REFILL_REFUSED, Kind.REFILL_ENDED, *OPERATOR_ONLY)
_TABLE = OrderEvent._meta.db_table


def record(order_id: int, kind: Kind, now: datetime, *, actor_id: int | None = None, **data: Any) -> None:
    """Add one event to an order's history."""
    OrderEvent.objects.create(order_id=order_id, kind=kind, data=data, actor_id=actor_id, created_at=now)


def record_many(kind: Kind, data_by_order: Iterable[tuple[int, dict[str, Any]]], now: datetime) -> None:
    """The same kind of event for many orders, in one INSERT."""
    OrderEvent.objects.bulk_create(
        OrderEvent(order_id=order_id, kind=kind, data=data, created_at=now)
        for order_id, data in data_by_order
    )


def record_raw(cursor: Any, order_id: int, kind: Kind, stamp: Any, **data: Any) -> None:
    """`record` on the hot path of placing an order: one plain INSERT on the caller's cursor.

    `stamp` is already adapted for the database (connection.ops.adapt_datetimefield_value).
    """
    cursor.execute(
        f"INSERT INTO {_TABLE} (order_id, kind, data, created_at) VALUES (%s, %s, %s, %s)",
        [order_id, str(kind), json.dumps(data), stamp],
    )


def adapted(now: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(now)
