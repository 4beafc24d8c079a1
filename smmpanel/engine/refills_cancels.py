"""Cancels and refills: forwarded to the provider, then followed until they end.

Each job picks the due rows, calls the provider outside any transaction and
hands the answer to `orders.transitions` (cancels) or `orders.refills`. A cancel
moves no money by itself: the refund comes when the provider reports the order
Canceled or Partial, through the ordinary status sync.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypeVar

from smmpanel.catalog.models import Provider
from smmpanel.catalog.types import MAX_IDS as BATCH  # ids in one refill or cancel call
from smmpanel.engine.upstream import cancel_request, refill_request, refill_status_request
from smmpanel.orders import refills as refill_progress
from smmpanel.orders import transitions
from smmpanel.orders.models import Order, Refill
from smmpanel.providers.adapters import Adapter, adapter_for
from smmpanel.providers.client import Refused, Unreachable

log = logging.getLogger("smmpanel.engine")
T = TypeVar("T", Order, Refill)


def _by_provider(
    rows: Iterable[T], provider_of: Callable[[T], Provider | None], *, new_work: bool = False
) -> dict[Provider, list[T]]:
    """`rows` by provider. A disabled provider still gets the cancels of orders it has and is
    asked about refills it has; `new_work` (a new refill) waits until it is enabled again."""
    grouped: dict[Provider, list[T]] = defaultdict(list)
    for row in rows:
        provider = provider_of(row)
        if provider is not None and (provider.enabled or not new_work):
            grouped[provider].append(row)
    return grouped


def forward_cancels(now: datetime, *, limit: int = 500) -> int:
    """Ask providers to cancel the sent orders whose customers asked to cancel."""
    asked = (
        Order.objects.filter(
            provider_state=Order.ProviderState.SENT,
            cancel_requested_at__isnull=False,
            cancel_forwarded_at__isnull=True,
        )
        .exclude(status__in=Order.FINAL)
        .select_related("provider", "service__provider")[:limit]
    )
    done = 0
    for provider, orders in _by_provider(asked, lambda o: o.upstream).items():
        adapter = adapter_for(provider)
        for start in range(0, len(orders), BATCH):
            done += _cancel_batch(adapter, orders[start : start + BATCH], now)
        adapter.flush()
    return done


def _cancel_batch(adapter: Adapter, orders: list[Order], now: datetime) -> int:
    try:
        answers = adapter.cancel([cancel_request(order) for order in orders])
    except Unreachable as exc:
        log.warning("cancel request failed, will retry: %s", exc)
        return 0
    transitions.cancels_forwarded(answers, [order.pk for order in orders], now)
    return len(orders)


def forward_refills(now: datetime, *, limit: int = 100) -> int:
    """Send new refill requests to the providers."""
    new = (
        Refill.objects.filter(status=Refill.Status.PENDING, provider_refill_id="")
        .exclude(next_check_at__gt=now)
        .select_related("order__provider", "order__service__provider")[:limit]
    )
    done = 0
    for provider, refills in _by_provider(new, lambda r: r.order.upstream, new_work=True).items():
        adapter = adapter_for(provider)
        for refill in refills:
            done += _send_refill(adapter, refill, now)
        adapter.flush()
    return done


def _send_refill(adapter: Adapter, refill: Refill, now: datetime) -> int:
    try:
        provider_refill_id = adapter.refill(refill_request(refill))
    except Refused as exc:
        refill_progress.refused(refill.pk, exc.message, now)
    except Unreachable as exc:
        refill_progress.not_forwarded(refill.pk, str(exc), now)
        return 0
    else:
        refill_progress.forwarded(refill.pk, provider_refill_id, now)
    return 1


def sync_refills(now: datetime, *, limit: int = 500) -> int:
    """Follow forwarded refills until the provider says they ended."""
    due = (
        Refill.objects.filter(status__in=Refill.OPEN, next_check_at__lte=now)
        .exclude(provider_refill_id="")
        .select_related("order__provider", "order__service__provider")[:limit]
    )
    checked = 0
    for provider, refills in _by_provider(due, lambda r: r.order.upstream).items():
        adapter = adapter_for(provider)
        for start in range(0, len(refills), BATCH):
            batch = refills[start : start + BATCH]
            try:
                answers = adapter.refill_statuses([refill_status_request(r) for r in batch], now)
            except Unreachable as exc:
                log.warning("refill status check failed: %s", exc)
                answers = {}
            refill_progress.checked({refill.pk: answers.get(refill.pk) for refill in batch}, now)
            checked += len(batch)
        adapter.flush()
    return checked
