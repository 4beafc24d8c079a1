"""Adapters turn the panel's intentions (send this order, how far is it) into provider calls.

- api_v2: any panel speaking docs/api.md (another smmpanel, or most panels in the field);
- manual: the operator fulfils the order and records its progress by hand;
- simulated: delivers over time without any network, for demos and tests only.
"""

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from django.conf import settings

from smmpanel.catalog.models import Provider
from smmpanel.ledger.money import to_money
from smmpanel.providers.answers import (
    Placed,
    PlaceResult,
    PostNotice,
    SubscriptionReport,
    UpstreamStatus,
)
from smmpanel.providers.apiv2 import ApiV2Adapter
from smmpanel.providers.requests import (
    AddRequest,
    CancelRequest,
    RefillRequest,
    RefillStatusRequest,
    StatusRequest,
    SubscriptionRequest,
)

# The protocol's statuses, as answers.py reads them (the values of Order.Status and Refill.Status).
PENDING, IN_PROGRESS, COMPLETED, PARTIAL, CANCELED = (
    "pending",
    "in_progress",
    "completed",
    "partial",
    "canceled",
)


class Adapter(Protocol):
    # Whether `place` may safely be repeated for an order in doubt.
    resend_is_safe: bool

    def place(self, request: AddRequest) -> PlaceResult: ...

    def progress(self, requests: Sequence[StatusRequest], now: datetime) -> dict[int, UpstreamStatus]:
        """What the provider says of each order, by request ref; absent where it said nothing."""
        ...

    def cancel(self, requests: Sequence[CancelRequest]) -> dict[int, str | None]:
        """Ask the provider to cancel; per ref None (accepted) or the refusal."""
        ...

    def refill(self, request: RefillRequest) -> str:
        """Ask for a refill; the provider's refill id. Raises Refused or Unreachable."""
        ...

    def refill_statuses(self, requests: Sequence[RefillStatusRequest], now: datetime) -> dict[int, str]:
        """Refill statuses (Refill.Status values) by refill ref; absent where unknown."""
        ...

    def flush(self) -> None:
        """Store the records of the calls made so far (from the calling thread)."""
        ...

    def subscription(self, request: SubscriptionRequest, now: datetime) -> SubscriptionReport:
        """The posts seen so far for a subscription that was sent."""
        ...


class ManualAdapter:
    """The operator fulfils: sending is immediate, progress is whatever the operator records."""

    resend_is_safe = True

    def place(self, request: AddRequest) -> PlaceResult:
        return Placed(f"manual-{request.ref}")

    def progress(self, requests: Sequence[StatusRequest], now: datetime) -> dict[int, UpstreamStatus]:
        return {}

    def cancel(self, requests: Sequence[CancelRequest]) -> dict[int, str | None]:
        return {request.ref: None for request in requests}  # the operator sees the request on the order

    def refill(self, request: RefillRequest) -> str:
        return f"manual-refill-{request.ref}"

    def refill_statuses(self, requests: Sequence[RefillStatusRequest], now: datetime) -> dict[int, str]:
        return {}

    def flush(self) -> None:
        pass

    def subscription(self, request: SubscriptionRequest, now: datetime) -> SubscriptionReport:
        return SubscriptionReport([])  # the operator places post orders by hand


class SimulatedAdapter:
    """A stand-in provider that delivers every order over SMMPANEL_SIMULATOR_SECONDS.

    Stateless: an order's progress is computed from its id and the time since it
    was sent, so it survives restarts and any number of workers. A share of
    orders ends Partial or Canceled, as real ones do, and only as a provider
    reports them: a Canceled order delivered nothing (it stays Pending until
    then), a Partial one stopped short of its quantity.
    """

    resend_is_safe = True

    def __init__(self, seconds: float, partial_percent: int, cancel_percent: int) -> None:
        self.seconds = max(seconds, 1.0)
        self.partial_percent = partial_percent
        self.cancel_percent = cancel_percent

    def place(self, request: AddRequest) -> PlaceResult:
        return Placed(f"sim-{request.ref}", cost=to_money(request.charge * Decimal("0.6")))

    def progress(self, requests: Sequence[StatusRequest], now: datetime) -> dict[int, UpstreamStatus]:
        return {request.ref: self._progress(request, now) for request in requests if request.sent_at}

    def _progress(self, request: StatusRequest, now: datetime) -> UpstreamStatus:
        luck = int(hashlib.sha256(f"sim-{request.ref}".encode()).hexdigest()[:8], 16)
        start_count = 100 + luck % 9900
        done = self._elapsed(request.sent_at, now)
        units = request.quantity
        outcome, final_remains = self._outcome(luck, units)

        def delivered(at: float) -> int:  # only forward, and never past where the outcome ends it
            return 0 if at < 0.1 else min(int(units * min(at, 1)), units - final_remains)

        def report(status: str, remains: int) -> UpstreamStatus:
            return UpstreamStatus(status, start_count=start_count, remains=remains)

        if request.cancel_requested_at is not None:
            asked = min(self._elapsed(request.sent_at, request.cancel_requested_at), done)
            if asked < 1:  # delivery stops where it was when the customer asked to cancel
                so_far = delivered(asked)
                return report(PARTIAL if so_far else CANCELED, units - so_far)
        if done < 1:
            waiting = done < 0.1 or outcome == CANCELED  # a canceled order never starts
            return report(PENDING if waiting else IN_PROGRESS, units - delivered(done))
        return report(outcome, final_remains)

    def _elapsed(self, sent_at: datetime | None, moment: datetime) -> float:
        """How far into its delivery time the order is at `moment` (1 = the time is over)."""
        assert sent_at is not None
        return (moment - sent_at).total_seconds() / self.seconds

    def _outcome(self, luck: int, units: int) -> tuple[str, int]:
        """How the order ends, and what remains undelivered then, as a real provider reports it.

        Canceled: nothing was delivered. Partial: some was and some was not (so never for one unit).
        """
        roll = luck % 100
        if roll < self.cancel_percent:
            return CANCELED, units
        if roll < self.cancel_percent + self.partial_percent and units > 1:
            return PARTIAL, min(max(1, units * (10 + luck % 40) // 100), units - 1)
        return COMPLETED, 0

    def cancel(self, requests: Sequence[CancelRequest]) -> dict[int, str | None]:
        return {request.ref: None for request in requests}  # seen through cancel_requested_at

    def refill(self, request: RefillRequest) -> str:
        return f"sim-refill-{request.ref}"

    def refill_statuses(self, requests: Sequence[RefillStatusRequest], now: datetime) -> dict[int, str]:
        return {
            request.ref: COMPLETED
            if request.created_at is not None and (now - request.created_at).total_seconds() >= self.seconds
            else IN_PROGRESS
            for request in requests
        }

    def flush(self) -> None:
        pass

    def subscription(self, request: SubscriptionRequest, now: datetime) -> SubscriptionReport:
        """`old_posts` at once, then a new post every third of the delivery time."""
        assert request.sent_at is not None
        low, high = request.low, max(request.high, request.low)
        seen = request.old_posts + int((now - request.sent_at).total_seconds() * 3 / self.seconds)
        if request.posts:
            seen = min(seen, request.posts)
        return SubscriptionReport(
            [
                PostNotice(
                    f"sim-post-{n}",
                    low
                    + int(hashlib.sha256(f"{request.ref}-{n}".encode()).hexdigest()[:6], 16)
                    % (high - low + 1),
                )
                for n in range(seen)
            ]
        )


def simulator() -> SimulatedAdapter:
    return SimulatedAdapter(
        settings.SMMPANEL_SIMULATOR_SECONDS,
        settings.SMMPANEL_SIMULATOR_PARTIAL_PERCENT,
        settings.SMMPANEL_SIMULATOR_CANCEL_PERCENT,
    )


# The one registry: an adapter for each kind of provider.
ADAPTERS: dict[str, Callable[[Provider], Adapter]] = {
    Provider.Kind.API_V2: ApiV2Adapter,
    Provider.Kind.MANUAL: lambda provider: ManualAdapter(),
    Provider.Kind.SIMULATED: lambda provider: simulator(),
}


def adapter_for(provider: Provider) -> Adapter:
    return ADAPTERS[provider.kind](provider)
