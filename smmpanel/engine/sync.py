"""Sync: ask providers how their orders are doing, 100 ids a call, and record the answers."""

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial
from typing import Any

from smmpanel.catalog.models import Provider
from smmpanel.orders import transitions
from smmpanel.orders.models import Order
from smmpanel.providers.adapters import Adapter, adapter_for

log = logging.getLogger("smmpanel.engine")
BATCH = 100


class Pacer:
    """At most `rate` calls a second to each provider, from this worker (thread-safe)."""

    def __init__(self, sleep: Callable[[float], object] = time.sleep) -> None:
        self.next_call: dict[int, float] = {}
        self.sleep = sleep
        self.lock = threading.Lock()

    def wait(self, provider: Provider) -> None:
        with self.lock:
            now = time.monotonic()
            ready = max(self.next_call.get(provider.pk, now), now)
            self.next_call[provider.pk] = ready + 1.0 / max(provider.requests_per_second, 0.001)
        if ready > now:
            self.sleep(ready - now)


def due_orders(now: datetime, limit: int) -> list[Order]:
    return list(
        Order.objects.filter(
            provider_state=Order.ProviderState.SENT, status__in=Order.RUNNING, next_check_at__lte=now
        )
        .select_related("provider", "service__provider")
        .order_by("next_check_at")[:limit]
    )


def _ask(
    adapter: Adapter, provider: Provider, batch: list[Order], pacer: Pacer, now: datetime
) -> dict[int, Any]:
    pacer.wait(provider)
    try:
        return adapter.progress(batch, now)
    except Exception:  # the provider is down or unreadable: ask again later
        log.warning("status check failed at %s", provider, exc_info=True)
        return {}


def sync(now: Callable[[], datetime], pacer: Pacer, *, limit: int = 1000, threads: int = 4) -> int:
    """Check up to `limit` due orders, 100 a call, `threads` calls in flight; returns how many."""
    by_provider: dict[int, list[Order]] = defaultdict(list)
    providers: dict[int, Provider] = {}
    for order in due_orders(now(), limit):
        provider = order.upstream
        if provider is not None and provider.enabled:
            by_provider[provider.pk].append(order)
            providers[provider.pk] = provider
    checked = 0
    for provider_id, orders in by_provider.items():
        provider, adapter = providers[provider_id], adapter_for(providers[provider_id])
        batches = [orders[start : start + BATCH] for start in range(0, len(orders), BATCH)]
        asked_at = now()
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            answers = pool.map(partial(_ask, adapter, provider, pacer=pacer, now=asked_at), batches)
            # Recorded here, in this thread, while the next batches are being asked.
            for batch, reports in zip(batches, answers, strict=True):
                usable = {pk: r for pk, r in reports.items() if r.error is None}
                # An order without a usable answer is asked again later, like one that did not move.
                transitions.progress_many(
                    {o.pk: usable.get(o.pk, transitions.Progress(None)) for o in batch}, now()
                )
                checked += len(batch)
        adapter.flush()
    return checked
