"""The adapter for any provider speaking the reseller API (docs/api.md), e.g. another smmpanel."""

import hashlib
import threading
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from django.conf import settings

from smmpanel.catalog.models import Provider
from smmpanel.catalog.types import PACKAGE_TYPES
from smmpanel.ledger.money import ZERO, charge_for
from smmpanel.orders.models import Order, Refill
from smmpanel.orders.transitions import Progress
from smmpanel.providers import records as records_module
from smmpanel.providers.adapters import (
    InDoubt,
    NotSent,
    Placed,
    PlaceResult,
    PostNotice,
    Refusal,
    SubscriptionReport,
    register,
    upstream_params,
)
from smmpanel.providers.client import CallRecord, ProviderClient, Refused, Unreachable
from smmpanel.providers.models import UpstreamCall


def idempotency_key(order: Order) -> str:
    """Unique to this installation and order, and the same on every resend of it."""
    installation = hashlib.sha256(settings.SECRET_KEY.encode()).hexdigest()[:16]
    return f"smmpanel-{installation}-{order.pk}"


class ApiV2Adapter:
    """Calls run in worker threads; their records are kept and stored by `flush` afterwards."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self.resend_is_safe = provider.honours_idempotency
        self._records: list[tuple[int | None, CallRecord]] = []
        self._lock = threading.Lock()
        self._current = threading.local()
        self.client = ProviderClient(
            provider.url, provider.api_key, timeout=provider.timeout_seconds, recorder=self._keep
        )

    def _keep(self, record: CallRecord) -> None:
        with self._lock:
            self._records.append((getattr(self._current, "order_id", None), record))

    def flush(self) -> None:
        with self._lock:
            records, self._records = self._records, []
        UpstreamCall.objects.bulk_create(
            records_module.row(self.provider, order_id, r) for order_id, r in records
        )

    def place(self, order: Order) -> PlaceResult:
        upstream = order.service.provider_service
        if upstream is None or upstream.provider_id != self.provider.pk:
            return Refusal("the service is not linked to one of this provider's services")
        self._current.order_id = order.pk
        try:
            provider_order_id = self.client.add(
                upstream_params(order, upstream.external_id), idempotency_key(order)
            )
        except Refused as exc:
            return Refusal(exc.message)
        except Unreachable as exc:
            return InDoubt(str(exc)) if exc.maybe_sent else NotSent(str(exc))
        finally:
            self._current.order_id = None
        if order.kind == Order.Kind.SUBSCRIPTION:
            return Placed(provider_order_id, cost=ZERO)  # the provider charges each post, not this
        package = order.service.type in PACKAGE_TYPES
        return Placed(provider_order_id, cost=_cost(upstream.rate, order.quantity, package))

    def progress(self, orders: Sequence[Order], now: datetime) -> dict[int, Progress]:
        by_upstream = {order.provider_order_id: order.pk for order in orders}
        answers = self.client.statuses(list(by_upstream))
        return {
            by_upstream[upstream_id]: Progress(s.status, s.start_count, s.remains, s.error, s.charge)
            for upstream_id, s in answers.items()
            if upstream_id in by_upstream
        }

    def cancel(self, orders: Sequence[Order]) -> dict[int, str | None]:
        by_upstream = {order.provider_order_id: order.pk for order in orders}
        answers = self.client.cancel(list(by_upstream))
        return {
            by_upstream[upstream_id]: None if refusal is None else refusal.message
            for upstream_id, refusal in answers.items()
            if upstream_id in by_upstream
        }

    def refill(self, order: Order) -> str:
        self._current.order_id = order.pk
        try:
            return self.client.refill(order.provider_order_id)
        finally:
            self._current.order_id = None

    def refill_statuses(self, refills: Sequence[Refill], now: datetime) -> dict[int, str]:
        by_upstream = {refill.provider_refill_id: refill.pk for refill in refills}
        answers = self.client.refill_statuses(list(by_upstream))
        return {
            by_upstream[upstream_id]: status
            for upstream_id, status in answers.items()
            if upstream_id in by_upstream and isinstance(status, str)
        }

    def subscription(self, order: Order, now: datetime) -> SubscriptionReport:
        """Each order the provider lists under the subscription is one post (charged at `max`:
        the provider does not say how many units a post gets before it delivers them)."""
        answer = self.client.call("status", {"order": order.provider_order_id})
        if not isinstance(answer, dict) or "error" in answer:
            raise Refused(str(answer.get("error") if isinstance(answer, dict) else answer))
        high = int(str(order.params.get("max") or order.quantity))
        posts = [
            PostNotice(str(upstream_id), high, str(upstream_id)) for upstream_id in answer.get("orders") or []
        ]
        status = _SUBSCRIPTION_STATUS.get(str(answer.get("status", "")).strip().lower())
        return SubscriptionReport(posts, status)


_SUBSCRIPTION_STATUS = {
    "completed": Order.Status.COMPLETED,
    "expired": Order.Status.EXPIRED,
    "canceled": Order.Status.CANCELED,
    "cancelled": Order.Status.CANCELED,
}


def _cost(rate: Decimal, units: int, package: bool) -> Decimal:
    return charge_for(rate, units, package=package)


register(Provider.Kind.API_V2, ApiV2Adapter)
