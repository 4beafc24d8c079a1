"""The adapter for any provider speaking the reseller API (docs/api.md), e.g. another smmpanel."""

import hashlib
import threading
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings

from smmpanel.catalog.models import Provider
from smmpanel.providers import records as records_module
from smmpanel.providers.answers import (
    InDoubt,
    NotSent,
    Placed,
    PlaceResult,
    PostNotice,
    Refusal,
    SubscriptionReport,
    UpstreamStatus,
)
from smmpanel.providers.client import CallRecord, ProviderClient, Refused, Unreachable
from smmpanel.providers.models import UpstreamCall
from smmpanel.providers.requests import (
    AddRequest,
    CancelRequest,
    RefillRequest,
    RefillStatusRequest,
    StatusRequest,
    SubscriptionRequest,
)


def idempotency_key(order_id: int) -> str:
    """Unique to this installation and order, and the same on every resend of it."""
    installation = hashlib.sha256(settings.SECRET_KEY.encode()).hexdigest()[:16]
    return f"smmpanel-{installation}-{order_id}"


def add_params(request: AddRequest) -> dict[str, str]:
    """The `add` call's parameters: the provider's service id, then what the customer asked."""
    params = {"service": request.service}
    if request.link:
        params["link"] = request.link
    if request.quantity is not None:
        params["quantity"] = str(request.quantity)
    return params | dict(request.options)


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

    def place(self, request: AddRequest) -> PlaceResult:
        if not request.service:
            return Refusal("the service is not linked to one of this provider's services")
        self._current.order_id = request.ref
        try:
            provider_order_id = self.client.add(add_params(request), idempotency_key(request.ref))
        except Refused as exc:
            return Refusal(exc.message)
        except Unreachable as exc:
            return InDoubt(str(exc)) if exc.maybe_sent else NotSent(str(exc))
        finally:
            self._current.order_id = None
        # The answer to `add` says no cost: the provider's list does.
        return Placed(provider_order_id, cost=request.listed_cost)

    def progress(self, requests: Sequence[StatusRequest], now: datetime) -> dict[int, UpstreamStatus]:
        by_upstream = {request.provider_order_id: request.ref for request in requests}
        answers = self.client.statuses(list(by_upstream))
        return {
            by_upstream[upstream_id]: status
            for upstream_id, status in answers.items()
            if upstream_id in by_upstream
        }

    def cancel(self, requests: Sequence[CancelRequest]) -> dict[int, str | None]:
        by_upstream = {request.provider_order_id: request.ref for request in requests}
        answers = self.client.cancel(list(by_upstream))
        return {
            by_upstream[upstream_id]: None if refusal is None else refusal.message
            for upstream_id, refusal in answers.items()
            if upstream_id in by_upstream
        }

    def refill(self, request: RefillRequest) -> str:
        self._current.order_id = request.ref
        try:
            return self.client.refill(request.provider_order_id)
        finally:
            self._current.order_id = None

    def refill_statuses(self, requests: Sequence[RefillStatusRequest], now: datetime) -> dict[int, str]:
        by_upstream = {request.provider_refill_id: request.ref for request in requests}
        answers = self.client.refill_statuses(list(by_upstream))
        return {
            by_upstream[upstream_id]: status
            for upstream_id, status in answers.items()
            if upstream_id in by_upstream and isinstance(status, str)
        }

    def subscription(self, request: SubscriptionRequest, now: datetime) -> SubscriptionReport:
        """Each order the provider lists under the subscription is one post (charged at `high`:
        the provider does not say how many units a post gets before it delivers them)."""
        answer = self.client.call("status", {"order": request.provider_order_id})
        if not isinstance(answer, dict) or "error" in answer:
            raise Refused(str(answer.get("error") if isinstance(answer, dict) else answer))
        posts = [
            PostNotice(str(upstream_id), request.high, str(upstream_id))
            for upstream_id in answer.get("orders") or []
        ]
        status = _SUBSCRIPTION_STATUS.get(str(answer.get("status", "")).strip().lower())
        return SubscriptionReport(posts, status)


# Order.Status values of a subscription's end.
_SUBSCRIPTION_STATUS = {
    "completed": "completed",
    "expired": "expired",
    "canceled": "canceled",
    "cancelled": "canceled",
}
