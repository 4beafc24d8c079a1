"""Adapters turn the panel's intentions (send this order, how far is it) into provider calls.

- api_v2: any panel speaking docs/api.md (another smmpanel, or most panels in the field);
- manual: the operator fulfils the order and records its progress by hand;
- simulated: delivers over time without any network, for demos and tests only.
"""

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from django.conf import settings

from smmpanel.catalog.models import Provider
from smmpanel.catalog.types import PACKAGE_TYPES, ServiceType
from smmpanel.ledger.money import to_money
from smmpanel.orders.models import Order, Refill
from smmpanel.orders.transitions import Progress

S = Order.Status
# Types whose unit count is derived from a list, so `quantity` is not sent.
_DERIVED_QUANTITY = frozenset(
    {ServiceType.CUSTOM_COMMENTS, ServiceType.MENTIONS_CUSTOM_LIST, ServiceType.COMMENT_REPLIES}
)


@dataclass(frozen=True)
class Placed:
    """The provider took the order."""

    provider_order_id: str
    cost: Decimal | None = None


@dataclass(frozen=True)
class Refusal:
    """The provider clearly said no."""

    reason: str


@dataclass(frozen=True)
class InDoubt:
    """No clear answer: the provider may or may not have the order."""

    reason: str


@dataclass(frozen=True)
class NotSent:
    """The request never left (the connection could not be opened): safe to send later."""

    reason: str


@dataclass(frozen=True)
class PostNotice:
    """A post the provider saw for a subscription: its key, and the order made for it upstream."""

    key: str
    quantity: int
    provider_order_id: str = ""  # empty: the panel sends the post's order itself


@dataclass(frozen=True)
class SubscriptionReport:
    posts: list[PostNotice]
    status: str | None = None  # the provider's verdict on the whole subscription, if any


PlaceResult = Placed | Refusal | InDoubt | NotSent


class Adapter(Protocol):
    # Whether `place` may safely be repeated for an order in doubt.
    resend_is_safe: bool

    def place(self, order: Order) -> PlaceResult: ...

    def progress(self, orders: Sequence[Order], now: datetime) -> dict[int, Progress]: ...

    def cancel(self, orders: Sequence[Order]) -> dict[int, str | None]:
        """Ask the provider to cancel; per order None (accepted) or the refusal."""
        ...

    def refill(self, order: Order) -> str:
        """Ask for a refill; the provider's refill id. Raises Refused or Unreachable."""
        ...

    def refill_statuses(self, refills: Sequence[Refill], now: datetime) -> dict[int, str]:
        """Refill statuses (Refill.Status values) by our refill id; absent where unknown."""
        ...

    def flush(self) -> None:
        """Store the records of the calls made so far (from the calling thread)."""
        ...

    def subscription(self, order: Order, now: datetime) -> SubscriptionReport:
        """The posts seen so far for a subscription that was sent."""
        ...


def upstream_params(order: Order, external_id: str) -> dict[str, str]:
    """The `add` parameters for the provider: its service id and what the customer asked."""
    params = {"service": external_id}
    if order.kind == Order.Kind.SUBSCRIPTION:
        return params | _subscription_params(order.params)
    params["link"] = order.link
    if order.service.type not in PACKAGE_TYPES and order.service.type not in _DERIVED_QUANTITY:
        params["quantity"] = str(order.quantity)
    for name, value in order.params.items():
        if value is not None and name != "post":
            params[name] = str(value)
    return params


def _subscription_params(stored: dict[str, object]) -> dict[str, str]:
    params = {
        name: str(stored[name])
        for name in ("username", "min", "max", "delay")
        if stored.get(name) is not None
    }
    if stored.get("posts"):
        params["posts"] = str(stored["posts"])
    if stored.get("old_posts"):
        params["old_posts"] = str(stored["old_posts"])
    if stored.get("expiry"):
        params["expiry"] = date.fromisoformat(str(stored["expiry"])).strftime("%d/%m/%Y")
    return params


class ManualAdapter:
    """The operator fulfils: sending is immediate, progress is whatever the operator records."""

    resend_is_safe = True

    def place(self, order: Order) -> PlaceResult:
        return Placed(f"manual-{order.pk}")

    def progress(self, orders: Sequence[Order], now: datetime) -> dict[int, Progress]:
        return {}

    def cancel(self, orders: Sequence[Order]) -> dict[int, str | None]:
        return {order.pk: None for order in orders}  # the operator sees the request on the order

    def refill(self, order: Order) -> str:
        return f"manual-refill-{order.pk}"

    def refill_statuses(self, refills: Sequence[Refill], now: datetime) -> dict[int, str]:
        return {}

    def flush(self) -> None:
        pass

    def subscription(self, order: Order, now: datetime) -> SubscriptionReport:
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

    def place(self, order: Order) -> PlaceResult:
        return Placed(f"sim-{order.pk}", cost=to_money(order.charge * Decimal("0.6")))

    def progress(self, orders: Sequence[Order], now: datetime) -> dict[int, Progress]:
        return {order.pk: self._progress(order, now) for order in orders if order.sent_at}

    def _progress(self, order: Order, now: datetime) -> Progress:
        luck = int(hashlib.sha256(f"sim-{order.pk}".encode()).hexdigest()[:8], 16)
        start_count = 100 + luck % 9900
        done = self._elapsed(order, now)
        units = order.quantity
        outcome, final_remains = self._outcome(luck, units)

        def delivered(at: float) -> int:  # only forward, and never past where the outcome ends it
            return 0 if at < 0.1 else min(int(units * min(at, 1)), units - final_remains)

        if order.cancel_requested_at is not None:
            asked = min(self._elapsed(order, order.cancel_requested_at), done)
            if asked < 1:  # delivery stops where it was when the customer asked to cancel
                so_far = delivered(asked)
                return Progress(S.PARTIAL if so_far else S.CANCELED, start_count, units - so_far)
        if done < 1:
            waiting = done < 0.1 or outcome == S.CANCELED  # a canceled order never starts
            return Progress(S.PENDING if waiting else S.IN_PROGRESS, start_count, units - delivered(done))
        return Progress(outcome, start_count, final_remains)

    def _elapsed(self, order: Order, moment: datetime) -> float:
        """How far into its delivery time the order is at `moment` (1 = the time is over)."""
        assert order.sent_at is not None
        return (moment - order.sent_at).total_seconds() / self.seconds

    def _outcome(self, luck: int, units: int) -> tuple[str, int]:
        """How the order ends, and what remains undelivered then, as a real provider reports it.

        Canceled: nothing was delivered. Partial: some was and some was not (so never for one unit).
        """
        roll = luck % 100
        if roll < self.cancel_percent:
            return S.CANCELED, units
        if roll < self.cancel_percent + self.partial_percent and units > 1:
            return S.PARTIAL, min(max(1, units * (10 + luck % 40) // 100), units - 1)
        return S.COMPLETED, 0

    def cancel(self, orders: Sequence[Order]) -> dict[int, str | None]:
        return {order.pk: None for order in orders}  # seen through cancel_requested_at

    def refill(self, order: Order) -> str:
        return f"sim-refill-{order.pk}"

    def refill_statuses(self, refills: Sequence[Refill], now: datetime) -> dict[int, str]:
        return {
            refill.pk: Refill.Status.COMPLETED
            if (now - refill.created_at).total_seconds() >= self.seconds
            else Refill.Status.IN_PROGRESS
            for refill in refills
        }

    def flush(self) -> None:
        pass

    def subscription(self, order: Order, now: datetime) -> SubscriptionReport:
        """`old_posts` at once, then a new post every third of the delivery time."""
        assert order.sent_at is not None
        params = order.params
        low, high = int(str(params.get("min") or 1)), int(str(params.get("max") or 1))
        seen = int(str(params.get("old_posts") or 0)) + int(
            (now - order.sent_at).total_seconds() * 3 / self.seconds
        )
        if params.get("posts"):
            seen = min(seen, int(str(params["posts"])))
        return SubscriptionReport(
            [
                PostNotice(
                    f"sim-post-{n}",
                    low
                    + int(hashlib.sha256(f"{order.pk}-{n}".encode()).hexdigest()[:6], 16) % (high - low + 1),
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


_ADAPTERS: dict[str, Callable[[Provider], Adapter]] = {
    Provider.Kind.MANUAL: lambda provider: ManualAdapter(),
    Provider.Kind.SIMULATED: lambda provider: simulator(),
}


def register(kind: str, factory: Callable[[Provider], Adapter]) -> None:
    _ADAPTERS[kind] = factory


def adapter_for(provider: Provider) -> Adapter:
    return _ADAPTERS[provider.kind](provider)
