"""Sync: ask providers how their orders are doing, 100 ids a call, and record the answers."""

import logging
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from functools import partial

from smmpanel.catalog.models import Provider
from smmpanel.catalog.types import MAX_IDS as BATCH  # ids asked about in one status call
from smmpanel.engine.upstream import status_in_panel_currency, status_request
from smmpanel.orders import transitions
from smmpanel.orders.models import Order
from smmpanel.providers.adapters import Adapter, adapter_for
from smmpanel.providers.answers import UpstreamStatus
from smmpanel.providers.pacing import Pacer

log = logging.getLogger("smmpanel.engine")
NOTHING_SAID = UpstreamStatus(status=None)


def due_orders(now: datetime, limit: int) -> list[Order]:
    return list(
        Order.objects.filter(
            provider_state=Order.ProviderState.SENT, status__in=Order.RUNNING, next_check_at__lte=now
        )
        .select_related("provider", "service__provider")
        .order_by("next_check_at")[:limit]
    )


def _ask(
    adapter: Adapter, provider: Provider, pacer: Pacer, now: datetime, turn: float, batch: list[Order]
) -> dict[int, UpstreamStatus]:
    pacer.wait_until(turn)
    try:
        return adapter.progress([status_request(order) for order in batch], now)
    except Exception:  # the provider is down or unreadable: ask again later
        log.warning("status check failed at %s", provider, exc_info=True)
        return {}


def sync(now: Callable[[], datetime], pacer: Pacer, *, limit: int = 1000, threads: int = 4) -> int:
    """Check up to `limit` due orders, 100 a call, `threads` calls in flight; returns how many."""
    by_provider: dict[int, list[Order]] = defaultdict(list)
    providers: dict[int, Provider] = {}
    for order in due_orders(now(), limit):
        # A disabled provider's orders are followed too: it takes no new ones, but those it has
        # go on to their end (and their refunds).
        provider = order.upstream
        if provider is not None:
            by_provider[provider.pk].append(order)
            providers[provider.pk] = provider
    checked = 0
    for provider_id, orders in by_provider.items():
        provider, adapter = providers[provider_id], adapter_for(providers[provider_id])
        batches = [orders[start : start + BATCH] for start in range(0, len(orders), BATCH)]
        asked_at = now()
        # Turns are taken here (one UPDATE shared with every worker), waited for in the threads.
        turns = pacer.turns(provider, len(batches))
        with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
            answers = pool.map(partial(_ask, adapter, provider, pacer, asked_at), turns, batches)
            # Recorded here, in this thread, while the next batches are being asked.
            for batch, reports in zip(batches, answers, strict=True):
                usable = {
                    pk: status_in_panel_currency(provider, r) for pk, r in reports.items() if r.error is None
                }
                # An order without a usable answer is asked again later, like one that did not move.
                transitions.progress_many({o.pk: usable.get(o.pk, NOTHING_SAID) for o in batch}, now())
                checked += len(batch)
        adapter.flush()
    return checked
