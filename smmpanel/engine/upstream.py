"""The requests the engine sends providers, built from its rows: one function per kind.

Adapters see only these (providers/requests.py), never an order or a refill.
Costs come back in the provider's currency; `in_panel_currency` converts them
before they are recorded.
"""

from dataclasses import replace
from datetime import date
from decimal import Decimal

from smmpanel.catalog.models import Provider, ProviderService
from smmpanel.catalog.types import PACKAGE_TYPES, ServiceType
from smmpanel.orders.models import Order, Refill
from smmpanel.providers.answers import UpstreamStatus
from smmpanel.providers.requests import (
    AddRequest,
    CancelRequest,
    RefillRequest,
    RefillStatusRequest,
    StatusRequest,
    SubscriptionRequest,
)

# Types whose unit count is derived from a list, so `quantity` is not sent.
_DERIVED_QUANTITY = frozenset(
    {ServiceType.CUSTOM_COMMENTS, ServiceType.MENTIONS_CUSTOM_LIST, ServiceType.COMMENT_REPLIES}
)
_SUBSCRIPTION_OPTIONS = ("username", "min", "max", "delay")


def add_request(order: Order) -> AddRequest:
    """Send `order` to the provider it was claimed for (`order.upstream`)."""
    listed = _listed_service(order)
    service = listed.external_id if listed else ""
    if order.kind == Order.Kind.SUBSCRIPTION:
        # The provider charges each post, not the subscription.
        options = _subscription_options(order.params)
        return AddRequest(order.pk, service, "", None, options, Decimal(0), order.charge)
    package = order.service.type in PACKAGE_TYPES
    cost = listed.cost_of(order.quantity, package=package) if listed else None
    counted = not package and order.service.type not in _DERIVED_QUANTITY
    quantity = order.quantity if counted else None
    options = {
        name: str(value) for name, value in order.params.items() if value is not None and name != "post"
    }
    return AddRequest(order.pk, service, order.link, quantity, options, cost, order.charge)


def _listed_service(order: Order) -> ProviderService | None:
    """The provider's own service the order is bought as: its service's listing at the provider
    it goes to (`order.upstream`), the service's own or its fallback (catalog/fallback.py)."""
    provider = order.upstream
    if provider is None:
        return None
    service = order.service
    for listed in (service.provider_service, service.fallback_service):
        if listed is not None and listed.provider_id == provider.pk:
            return listed
    return None


def _subscription_options(stored: dict[str, object]) -> dict[str, str]:
    options = {name: str(stored[name]) for name in _SUBSCRIPTION_OPTIONS if stored.get(name) is not None}
    for name in ("posts", "old_posts"):
        if stored.get(name):
            options[name] = str(stored[name])
    if stored.get("expiry"):
        options["expiry"] = date.fromisoformat(str(stored["expiry"])).strftime("%d/%m/%Y")
    return options


def status_request(order: Order) -> StatusRequest:
    return StatusRequest(
        order.pk, order.provider_order_id, order.quantity, order.sent_at, order.cancel_requested_at
    )


def cancel_request(order: Order) -> CancelRequest:
    return CancelRequest(order.pk, order.provider_order_id)


def refill_request(refill: Refill) -> RefillRequest:
    return RefillRequest(refill.order_id, refill.order.provider_order_id)


def refill_status_request(refill: Refill) -> RefillStatusRequest:
    return RefillStatusRequest(refill.pk, refill.provider_refill_id, refill.created_at)


def subscription_request(subscription: Order) -> SubscriptionRequest:
    params = subscription.params
    posts = params.get("posts")
    return SubscriptionRequest(
        subscription.pk,
        subscription.provider_order_id,
        low=int(str(params.get("min") or 1)),
        high=int(str(params.get("max") or subscription.quantity)),
        sent_at=subscription.sent_at,
        old_posts=int(str(params.get("old_posts") or 0)),
        posts=int(str(posts)) if posts else None,
    )


def in_panel_currency(provider: Provider, cost: Decimal | None) -> Decimal | None:
    """A cost the provider states in its currency, in the panel's."""
    return None if cost is None else provider.in_panel_currency(cost)


def status_in_panel_currency(provider: Provider, status: UpstreamStatus) -> UpstreamStatus:
    """The provider's answer about an order, its charge in the panel's currency."""
    if status.charge is None:
        return status
    return replace(status, charge=provider.in_panel_currency(status.charge))
