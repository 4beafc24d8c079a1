"""Sync: ask providers how their orders are doing, 100 ids a call, and record the answers."""

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from smmpanel.catalog.models import Provider
from smmpanel.orders import transitions
from smmpanel.orders.models import Order
from smmpanel.providers.adapters import adapter_for

log = logging.getLogger("smmpanel.engine")
BATCH = 100
UNFINISHED = (Order.Status.PENDING, Order.Status.IN_PROGRESS, Order.Status.PROCESSING)


class Pacer:
    """At most `rate` calls a second to each provider, from this worker."""

    def __init__(self, sleep: Callable[[float], object] = time.sleep) -> None:
        self.next_call: dict[int, float] = {}
        self.sleep = sleep

    def wait(self, provider: Provider) -> None:
        now = time.monotonic()
        ready = self.next_call.get(provider.pk, now)
        if ready > now:
            self.sleep(ready - now)
        self.next_call[provider.pk] = max(ready, now) + 1.0 / max(provider.requests_per_second, 0.001)


def due_orders(now: datetime, limit: int) -> list[Order]:
    return list(
        Order.objects.filter(
            provider_state=Order.ProviderState.SENT, status__in=UNFINISHED, next_check_at__lte=now
        )
        .select_related("provider", "service__provider")
        .order_by("next_check_at")[:limit]
    )


def sync(now: Callable[[], datetime], pacer: Pacer, *, limit: int = 1000) -> int:
    """Check up to `limit` due orders; returns how many were checked."""
    by_provider: dict[int, list[Order]] = defaultdict(list)
    providers: dict[int, Provider] = {}
    for order in due_orders(now(), limit):
        provider = order.upstream
        if provider is not None and provider.enabled:
            by_provider[provider.pk].append(order)
            providers[provider.pk] = provider
    checked = 0
    for provider_id, orders in by_provider.items():
        adapter = adapter_for(providers[provider_id])
        for start in range(0, len(orders), BATCH):
            batch = orders[start : start + BATCH]
            pacer.wait(providers[provider_id])
            try:
                reports = adapter.progress(batch, now())
            except Exception:  # the provider is down or unreadable: ask again later
                log.warning("status check failed at %s", providers[provider_id], exc_info=True)
                reports = {}
            adapter.flush()
            usable = {pk: r for pk, r in reports.items() if r.error is None}
            # An order without a usable answer is asked again later, like one that did not move.
            transitions.progress_many(
                {o.pk: usable.get(o.pk, transitions.Progress(None)) for o in batch}, now()
            )
            checked += len(batch)
    return checked
