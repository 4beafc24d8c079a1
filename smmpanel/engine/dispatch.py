"""Dispatch: send queued orders to their providers, exactly once.

The claim (queued -> sending) commits before any network call; the call runs
outside any transaction; its result is recorded after. A crash between the two
leaves the order `sending`, which the stale-claim sweep turns into `unknown`:
it is never resent blindly and never refunded blindly.
"""

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Q

from smmpanel.catalog.fallback import fallback_for, usable_fallback
from smmpanel.catalog.models import Service
from smmpanel.engine.claims import claim_orders
from smmpanel.engine.upstream import add_request, in_panel_currency
from smmpanel.orders import transitions
from smmpanel.orders.models import Order
from smmpanel.providers.adapters import Adapter, adapter_for
from smmpanel.providers.answers import InDoubt, NotSent, Placed, PlaceResult, Refusal
from smmpanel.providers.requests import AddRequest

P = Order.ProviderState
SENDABLE = (Order.Kind.SINGLE, Order.Kind.RUN, Order.Kind.POST, Order.Kind.SUBSCRIPTION)


def stale_claim() -> timedelta:
    """A claim older than this means its worker died mid-send (SMMPANEL_STALE_CLAIM_SECONDS).

    Keep it well beyond a round of calls: a batch of 50 on 16 threads with a 30 s timeout
    takes at most 2 minutes; the default is 10.
    """
    return timedelta(seconds=settings.SMMPANEL_STALE_CLAIM_SECONDS)


def due(now: datetime) -> "Q":
    return (
        Q(provider_state=P.QUEUED, kind__in=SENDABLE)
        & (Q(status=Order.Status.PENDING) | Q(kind=Order.Kind.SUBSCRIPTION, status=Order.Status.ACTIVE))
        & Q(cancel_requested_at__isnull=True)
        # The provider it goes to (Order.upstream): its own (an earlier claim's or the operator's
        # choice), else its service's, else, that one disabled, its service's fallback's
        # (catalog/fallback.py); whichever it is, an enabled one.
        & (
            Q(provider__enabled=True)
            | Q(provider__isnull=True, service__provider__isnull=False, service__provider__enabled=True)
            | (Q(provider__isnull=True, service__provider__enabled=False) & usable_fallback("service__"))
        )
        & (Q(next_check_at__isnull=True) | Q(next_check_at__lte=now))
    )


def _load(ids: Sequence[int]) -> list[Order]:
    related = ["provider", "service", "service__provider", "service__provider_service"]
    related.append("service__fallback_service")
    return list(Order.objects.filter(pk__in=ids).select_related(*related).order_by("id"))


def _send(adapter: Adapter, request: AddRequest) -> PlaceResult:
    try:
        return adapter.place(request)
    except Exception as exc:  # an adapter bug must not lose the order: it becomes "in doubt"
        return InDoubt(f"adapter failed: {exc!r}")


def _busy_link(reason: str) -> bool:
    # The provider still works on an order for this link (e.g. the previous drip-feed run):
    # not a refusal of this order, only of its timing.
    return "active order" in reason.lower()


def record(order: Order, result: PlaceResult, now: datetime) -> None:
    if isinstance(result, Placed):
        transitions.sent(order.pk, result.provider_order_id, _cost(order, result), now)
    elif isinstance(result, Refusal):
        _refused(order, result.reason, now)
    elif isinstance(result, NotSent):
        transitions.requeue(order.pk, result.reason, now)
    else:
        transitions.in_doubt(order.pk, result.reason, now)


def _refused(order: Order, reason: str, now: datetime) -> None:
    """A definite no: to the service's fallback if it has a usable one of another provider and the
    order was not rerouted before, else what the service's policy says. A busy link is only a
    matter of timing: retried where it is."""
    if _busy_link(reason):
        transitions.refused(order.pk, reason, Service.OnRefusal.RETRY, now)
        return
    fallback = fallback_for(order.service, order.provider_id)
    if fallback is None or not transitions.rerouted(order.pk, fallback.provider_id, reason, now):
        transitions.refused(order.pk, reason, order.service.on_refusal, now)


def _cost(order: Order, placed: Placed) -> Decimal | None:
    """What the provider charges for the order, in the panel's currency."""
    provider = order.upstream
    return placed.cost if provider is None else in_panel_currency(provider, placed.cost)


def send_claimed(
    orders: Sequence[Order], now: Callable[[], datetime], adapters: Callable[[Order], Adapter], threads: int
) -> int:
    """Call each provider (concurrently, outside any transaction) and record what happened."""
    # Adapters are built here, in this thread: the sending threads only use them.
    pairs = [(adapters(order), add_request(order)) for order in orders]
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        results = list(pool.map(lambda pair: _send(*pair), pairs))
    stamp = now()
    placed = {
        o.pk: (r.provider_order_id, _cost(o, r))
        for o, r in zip(orders, results, strict=True)
        if isinstance(r, Placed)
    }
    transitions.sent_many(placed, stamp)
    for order, result in zip(orders, results, strict=True):
        if not isinstance(result, Placed):
            record(order, result, stamp)
    for adapter in {id(a): a for a, _ in pairs}.values():
        adapter.flush()
    return len(orders)


def _adapter_cache() -> Callable[[Order], Adapter]:
    cache: dict[int, Adapter] = {}

    def adapter(order: Order) -> Adapter:
        provider = order.upstream
        assert provider is not None
        if provider.pk not in cache:
            cache[provider.pk] = adapter_for(provider)
        return cache[provider.pk]

    return adapter


def reconcile(now: Callable[[], datetime], *, limit: int = 50, threads: int = 16) -> int:
    """Resend orders in doubt where that is safe: the provider honours Idempotency-Key,
    so a second `add` returns the first order if it got there. Others wait for the operator."""
    adapters = _adapter_cache()
    candidates = _load(
        list(Order.objects.filter(provider_state=P.UNKNOWN).values_list("id", flat=True)[:limit])
    )
    started = now()
    safe = [o for o in candidates if adapters(o).resend_is_safe and transitions.reclaim(o.pk, started)]
    return send_claimed(safe, now, adapters, threads) if safe else 0


def dispatch(now: Callable[[], datetime], *, limit: int = 50, threads: int = 16) -> int:
    """Claim up to `limit` due orders and send them; returns how many were sent."""
    started = now()
    ids = claim_orders(Order.objects.filter(due(started)).order_by("id"), started, limit)
    if not ids:
        return 0
    return send_claimed(_load(ids), now, _adapter_cache(), threads)


def cancel_unsent(now: datetime, *, limit: int = 100) -> int:
    """Orders canceled before they were sent: canceled here, with a full refund, no call."""
    ids = Order.objects.filter(
        provider_state=P.QUEUED, kind__in=SENDABLE, cancel_requested_at__isnull=False
    ).values_list("id", flat=True)[:limit]
    return sum(transitions.cancel_before_sending(order_id, now) for order_id in list(ids))


def expire_stale_claims(now: datetime) -> int:
    """Orders left `sending` by a worker that died: their fate upstream is unknown."""
    stale = Order.objects.filter(provider_state=P.SENDING, claimed_at__lt=now - stale_claim())
    return sum(
        transitions.in_doubt(order_id, "the worker stopped while sending", now)
        for order_id in stale.values_list("id", flat=True)[:100]
    )
