"""What the console shows of the providers: each with its health, services on sale and listing
changes waiting, and a provider's calls, filtered, newest first. Reads only."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet

from smmpanel.catalog.models import Provider
from smmpanel.providers.models import ListingChange, UpstreamCall
from smmpanel.providers.records import ProviderHealth, health

HOUR, DAY = timedelta(hours=1), timedelta(hours=24)


@dataclass(frozen=True)
class Overview:
    provider: Provider
    health: ProviderHealth  # over the last hour
    services: int  # its services on sale
    pending_changes: int  # listing changes waiting for a decision (providers.models.ListingChange)
    rate_stale: bool


def _counted(providers: QuerySet[Provider]) -> QuerySet[Provider]:
    return providers.annotate(
        on_sale=Count("sold_services", filter=Q(sold_services__enabled=True), distinct=True),
        pending=Count(
            "listing_changes", filter=Q(listing_changes__state=ListingChange.State.PENDING), distinct=True
        ),
    )


def overview(now: datetime, providers: QuerySet[Provider] | None = None) -> list[Overview]:
    """Each provider (enabled first, then by name) with its figures."""
    found = _counted(providers if providers is not None else Provider.objects.all())
    return [
        Overview(
            provider=provider,
            health=health(provider, HOUR),
            services=provider.on_sale,  # type: ignore[attr-defined]
            pending_changes=provider.pending,  # type: ignore[attr-defined]
            rate_stale=provider.exchange_rate_is_stale(now),
        )
        for provider in found.order_by("-enabled", "name")
    ]


def calls(provider: Provider, action: str = "", outcome: str = "") -> QuerySet[UpstreamCall]:
    """The provider's calls, newest first, of one action and outcome when given."""
    found = UpstreamCall.objects.filter(provider=provider).order_by("-created_at", "-id")
    if action:
        found = found.filter(action=action)
    if outcome:
        found = found.filter(outcome=outcome)
    return found
