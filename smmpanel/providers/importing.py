"""Importing a provider's services: a local service for each chosen upstream one, priced by a rule.

The provider's own list is kept as ProviderService rows (providers/listing.py reads it); local
services point at them and carry the panel's price. Provider rates are kept as listed, in the
provider's currency, and converted to the panel's (at the rate the operator set) wherever they meet
a panel price. The rule (catalog/pricing.py) a provider's services are imported with becomes the
provider's own, for later cost changes.
"""

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from smmpanel.accounts.models import User
from smmpanel.catalog import updates
from smmpanel.catalog.models import Category, Provider, ProviderService, Service
from smmpanel.catalog.pricing import PriceRule, PriceTooLarge
from smmpanel.providers.models import ListingChange

log = logging.getLogger("smmpanel.providers")


@dataclass
class ImportResult:
    created: list[Service] = field(default_factory=list)
    # Upstream services left out, with why (a price past the largest amount).
    skipped: list[tuple[ProviderService, str]] = field(default_factory=list)


def category_named(name: str) -> Category:
    category, _ = Category.objects.get_or_create(name=name[:500])
    return category


def new_service(upstream: ProviderService, rule: PriceRule, category: Category) -> Service:
    """Our service selling `upstream` at the rule's price (PriceTooLarge past the largest amount)."""
    provider = upstream.provider
    return Service.objects.create(
        category=category,
        name=upstream.name,
        type=upstream.type,
        rate=rule.price_for(provider.in_panel_currency(upstream.rate)),
        min=upstream.min,
        max=upstream.max,
        dripfeed=upstream.dripfeed,
        refill=upstream.refill,
        cancel=upstream.cancel,
        description=str(upstream.raw.get("desc") or upstream.raw.get("description") or ""),
        provider=provider,
        provider_service=upstream,
    )


def own_category(provider: Provider, upstream: ProviderService, mapping: Mapping[str, str]) -> Category:
    """The provider's own category name for it (or our name for that, from `mapping`)."""
    return category_named(mapping.get(upstream.category, upstream.category) or provider.name)


def not_sold(provider: Provider) -> QuerySet[ProviderService]:
    """The provider's listed services that no service of ours sells yet."""
    linked = Service.objects.filter(provider_service__provider=provider).values("provider_service")
    return provider.services.filter(available=True).exclude(pk__in=linked)


def import_services(
    provider: Provider,
    rule: PriceRule,
    selected: Collection[int] | None = None,
    *,
    category: Category | None = None,
    category_map: Mapping[str, str] | None = None,
    by: User | None = None,
    now: datetime | None = None,
) -> ImportResult:
    """A local service for every listed service (or each of `selected`, by ProviderService id) that
    has none yet, at the rule's price, in `category` or else the provider's own category name.
    The rule becomes the provider's; each new service is told to customers (an Update, "import");
    a pending "new service" line of the sync page for one is marked accepted."""
    now = now or timezone.now()
    result = ImportResult()
    with transaction.atomic():
        chosen = not_sold(provider).select_for_update().order_by("id")
        if selected is not None:
            chosen = chosen.filter(pk__in=selected)
        for upstream in chosen:
            target = category or own_category(provider, upstream, category_map or {})
            try:
                service = new_service(upstream, rule, target)
            except PriceTooLarge as exc:  # a price the panel could not keep exactly: left for a person
                log.warning("not imported: %s: %s", upstream, exc)
                result.skipped.append((upstream, str(exc)))
                continue
            result.created.append(service)
        updates.record_many(result.created, updates.Kind.NEW, updates.Source.IMPORT, now)
        ListingChange.objects.filter(
            provider=provider,
            kind=ListingChange.Kind.NEW,
            state=ListingChange.State.PENDING,
            provider_service__in=[s.provider_service_id for s in result.created],
        ).update(state=ListingChange.State.ACCEPTED, decided_at=now, decided_by=by)
        Provider.objects.filter(pk=provider.pk).update(**rule.fields())
    return result
