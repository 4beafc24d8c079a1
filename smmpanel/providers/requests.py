"""What the panel asks a provider: plain requests the engine builds from its rows.

Adapters take these and answer with the types of `answers.py`; they never see an
order or a refill. `ref` is the panel's own id of the thing asked about (the
order, or the refill): answers are keyed by it, and a call made for an order is
recorded under it. The simulated provider keeps no state, so a request also
carries the few facts it derives its answers from (when the order was sent, ...);
a real provider's adapter reads only what goes on the wire.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class AddRequest:
    """Send one order (`add`)."""

    ref: int  # our order id: also the idempotency key's
    service: str  # the provider's service id; "" when the service is not linked to this provider
    link: str  # "" for a subscription: it follows a username
    quantity: int | None  # None where the type does not send one (lists, packages, subscriptions)
    options: Mapping[str, str] = field(default_factory=dict)  # the type's other parameters, as sent
    # What the provider's list says the order costs (in its currency), for answers that do not say.
    listed_cost: Decimal | None = None
    charge: Decimal = Decimal(0)  # what the customer pays for it (the simulator prices from it)


@dataclass(frozen=True)
class StatusRequest:
    """How far is a sent order (`status`, many at once)."""

    ref: int
    provider_order_id: str
    quantity: int = 0
    sent_at: datetime | None = None
    cancel_requested_at: datetime | None = None


@dataclass(frozen=True)
class CancelRequest:
    """Cancel a sent order (`cancel`, many at once)."""

    ref: int
    provider_order_id: str


@dataclass(frozen=True)
class RefillRequest:
    """Refill a sent order (`refill`); `ref` is the order's id."""

    ref: int
    provider_order_id: str


@dataclass(frozen=True)
class RefillStatusRequest:
    """How far is a refill (`refill_status`, many at once); `ref` is the refill's id."""

    ref: int
    provider_refill_id: str
    created_at: datetime | None = None


@dataclass(frozen=True)
class SubscriptionRequest:
    """Which posts has a sent subscription seen (`status` of the subscription)."""

    ref: int
    provider_order_id: str
    low: int  # units a post gets, at least
    high: int  # ... and at most: what a post is charged at until the provider says more
    sent_at: datetime | None = None
    old_posts: int = 0
    posts: int | None = None  # the number of posts the subscription ends after, if any
