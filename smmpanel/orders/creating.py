"""Creating an order, charging it and refunding it: the only places orders move money.

`create` is the one way an order row comes to be (a customer's order, a
drip-feed run, a subscription post): one plain INSERT of the order and one of
its `created` event, fast enough for the API's `add`. `charge` and `refund` are
the only callers of `ledger.post` for orders; each entry has a unique reference,
so an order is charged once and refunded at most once per reason.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection

from smmpanel.ledger import services as ledger
from smmpanel.ledger.models import Account, LedgerEntry
from smmpanel.ledger.money import ZERO
from smmpanel.orders import events
from smmpanel.orders.models import Order

InsufficientFunds = ledger.InsufficientFunds
OnHold = ledger.OnHold  # a kind of InsufficientFunds: an unsettled payment dispute


def on_hold(user_id: int) -> bool:
    """Whether the customer's account is on hold (an unsettled payment dispute): for an order that
    charges nothing when placed (a subscription), which the charge itself cannot refuse."""
    return Account.objects.filter(user_id=user_id, on_hold=True).exists()


_ORDERS = Order._meta.db_table
_COLUMNS = (
    "user_id, service_id, kind, link, quantity, runs, interval_minutes, params, charge, source, "
    "api_key_id, status, provider_state, provider_order_id, provider_error, start_count, remains, "
    "created_at, updated_at, parent_id, provider_id, sent_at, next_check_at, cost"
)
_INSERT = (
    f"INSERT INTO {_ORDERS} ({_COLUMNS}) VALUES "
    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '', 0, %s, %s, %s, %s, %s, %s, %s, %s) "
    "RETURNING id"
)


@dataclass(frozen=True)
class NewOrder:
    """What an order is created with; the rest is its columns' defaults."""

    user_id: int
    service_id: int
    kind: str
    link: str
    quantity: int
    charge: Decimal
    source: str
    api_key_id: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    runs: int | None = None
    interval_minutes: int | None = None
    status: str = Order.Status.PENDING
    remains: int | None = None  # what is not delivered yet: all of it (quantity x runs) unless said
    parent_id: int | None = None
    # A subscription post the provider made itself arrives already sent.
    provider_state: str = Order.ProviderState.QUEUED
    provider_order_id: str = ""
    provider_id: int | None = None
    sent_at: datetime | None = None
    next_check_at: datetime | None = None
    cost: Decimal | None = None


def create(new: NewOrder, now: datetime, **event: Any) -> int:
    """Store a new order and its `created` event (with `event` as its data); returns its id.

    Runs in the caller's transaction; moves no money (see `charge`).
    """
    stamp = events.adapted(now)
    adapt = connection.ops.adapt_datetimefield_value
    remains = new.quantity * (new.runs or 1) if new.remains is None else new.remains
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT,
            [
                new.user_id, new.service_id, new.kind, new.link, new.quantity, new.runs,
                new.interval_minutes, json.dumps(new.params), new.charge, new.source, new.api_key_id,
                new.status, new.provider_state, new.provider_order_id, remains, stamp, stamp,
                new.parent_id, new.provider_id, adapt(new.sent_at), adapt(new.next_check_at), new.cost,
            ],
        )  # fmt: skip
        order_id: int = cursor.fetchone()[0]
        events.record_raw(cursor, order_id, events.Kind.CREATED, stamp, **event)
    return order_id


def charge(user_id: int, order_id: int, amount: Decimal, now: datetime, *, new: bool = False) -> None:
    """Debit the customer for an order; raises InsufficientFunds (changing nothing) if short.

    `new`: the order was created in this very transaction, so its charge cannot exist yet
    and a failure fails the whole transaction anyway: no savepoint (two round trips fewer).
    """
    ledger.post(
        user_id,
        -amount,
        LedgerEntry.Kind.CHARGE,
        f"order:{order_id}:charge",
        order_id=order_id,
        now=now,
        savepoint=not new,
    )


def refund(user_id: int, order_id: int, amount: Decimal, now: datetime, *, reason: str = "refund") -> Decimal:
    """Credit the customer back for an order, once per `reason`; returns what was refunded.

    A second refund for the same reason (a replay, a retry) refunds nothing.
    """
    if amount <= ZERO:
        return ZERO
    try:
        ledger.post(
            user_id, amount, LedgerEntry.Kind.REFUND, f"order:{order_id}:{reason}", order_id=order_id, now=now
        )
    except ledger.DuplicateEntry:
        return ZERO
    return amount
