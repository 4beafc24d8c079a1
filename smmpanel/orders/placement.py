"""Placing an order: charge it and record it, in one transaction, with no network call.

`drafting` validates what was asked; this module only stores and charges.
"""

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from smmpanel.orders import creating
from smmpanel.orders.creating import NewOrder
from smmpanel.orders.drafting import Draft, PlacementError
from smmpanel.orders.models import IdempotencyKey, Order

IDEMPOTENCY_WINDOW = timedelta(hours=24)
_ORDERS = Order._meta.db_table


_UNFINISHED = ", ".join(f"'{status.value}'" for status in Order.UNFINISHED)


def _take_turns(user_id: int) -> None:
    """Lock the customer's row until this transaction ends.

    Under READ COMMITTED two adds for one link would each find no unfinished order
    before the other commits; holding this lock, the second waits and then sees the
    first. (SQLite needs nothing: its write transactions already take turns.)
    """
    get_user_model().objects.select_for_update().filter(pk=user_id).values_list("pk", flat=True).first()


def _has_unfinished_order(user_id: int, service_id: int, link: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {_ORDERS} WHERE user_id = %s AND service_id = %s AND link = %s "
            f"AND status IN ({_UNFINISHED}) LIMIT 1",
            [user_id, service_id, link],
        )
        return cursor.fetchone() is not None


def _place(user_id: int, order: Draft, source: str, api_key_id: int | None, now: datetime) -> int:
    if settings.SMMPANEL_ONE_ACTIVE_ORDER_PER_LINK:
        _take_turns(user_id)
        if _has_unfinished_order(user_id, order.service.id, order.link):
            raise PlacementError(PlacementError.ACTIVE_LINK)
    new = NewOrder(
        user_id=user_id,
        service_id=order.service.id,
        kind=order.kind,
        link=order.link,
        quantity=order.quantity,
        charge=order.charge,
        source=source,
        api_key_id=api_key_id,
        params=order.params,
        runs=order.runs,
        interval_minutes=order.interval,
        status=order.status,
        remains=order.units,
    )
    order_id = creating.create(new, now, charge=str(order.charge))
    if not order.charge:
        if creating.on_hold(user_id):  # nothing to charge now, yet refused as a charge would be
            raise PlacementError(PlacementError.ON_HOLD)
        return order_id  # a subscription: each post's order is charged when it is created
    try:
        creating.charge(user_id, order_id, order.charge, now, new=True)
    except creating.OnHold:
        raise PlacementError(PlacementError.ON_HOLD) from None
    except creating.InsufficientFunds:
        raise PlacementError(PlacementError.NO_FUNDS) from None
    return order_id


def place(
    user_id: int,
    order: Draft,
    *,
    source: str = Order.Source.API,
    api_key_id: int | None = None,
    idempotency_key: str = "",
) -> int:
    """Charge and store a drafted order; returns its id.

    With an idempotency key, the same key from the same customer within 24 hours
    returns the first order's id and places nothing new.
    """
    if not idempotency_key:
        now = timezone.now()
        with transaction.atomic():
            return _place(user_id, order, source, api_key_id, now)
    key_hash = hashlib.sha256(idempotency_key.encode("utf-8", "surrogatepass")).hexdigest()
    for _attempt in range(3):
        try:
            return _place_once(user_id, order, source, api_key_id, key_hash)
        except IntegrityError:
            # A concurrent request with the same key committed first: replay it.
            replayed = _replayed(user_id, key_hash, timezone.now())
            if replayed is not None:
                return replayed
    raise PlacementError(PlacementError.BAD_PARAMETER, "Idempotency-Key")


def _replayed(user_id: int, key_hash: str, now: datetime) -> int | None:
    return (
        IdempotencyKey.objects.filter(
            user_id=user_id, key_hash=key_hash, created_at__gt=now - IDEMPOTENCY_WINDOW
        )
        .values_list("order_id", flat=True)
        .first()
    )


def _place_once(user_id: int, order: Draft, source: str, api_key_id: int | None, key_hash: str) -> int:
    now = timezone.now()
    with transaction.atomic():
        replayed = _replayed(user_id, key_hash, now)
        if replayed is not None:
            return replayed
        # Only an expired record goes: one committed since the look-up above must make
        # the insert below fail, so that this request replays it.
        IdempotencyKey.objects.filter(
            user_id=user_id, key_hash=key_hash, created_at__lte=now - IDEMPOTENCY_WINDOW
        ).delete()
        # Claim the key before any money moves: a concurrent twin blocks here on
        # the unique index until this transaction ends, then replays its result.
        claim = IdempotencyKey.objects.create(user_id=user_id, key_hash=key_hash, created_at=now)
        order_id = _place(user_id, order, source, api_key_id, now)
        IdempotencyKey.objects.filter(pk=claim.pk).update(order_id=order_id)
    return order_id
