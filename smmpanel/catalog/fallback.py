"""Where a service's orders go: its provider, or its fallback when that one refuses or is disabled.

A service's fallback (`Service.fallback_service`) is another provider's listing of the same
service. It is usable while that provider still lists it and is enabled. A service takes new
orders while they have somewhere to go: its provider is enabled, or its fallback is usable (a
service with no provider at all is the operator's to fulfil, as before). The engine claims an
order for the fallback's provider when the service's own is disabled, and reroutes an order
there when the service's own refuses it; each provider gets at most one try (docs/operator.md).
"""

from django.db.models import Case, F, Q, When

from smmpanel.catalog.models import Provider, ProviderService, Service

_PROVIDERS = Provider._meta.db_table
_LISTINGS = ProviderService._meta.db_table

# The same rules for a raw query whose service is `s` (catalog/offers.py's SQL_ON_SALE): each
# look-up is by primary key, so the API's `add` stays one quick query.
SQL_TAKING_ORDERS = (
    f"(s.provider_id IS NULL "
    f"OR EXISTS (SELECT 1 FROM {_PROVIDERS} p WHERE p.id = s.provider_id AND p.enabled) "
    f"OR EXISTS (SELECT 1 FROM {_LISTINGS} f JOIN {_PROVIDERS} fp ON fp.id = f.provider_id "
    f"WHERE f.id = s.fallback_service_id AND f.available AND fp.enabled))"
)


def usable_fallback(prefix: str = "") -> Q:
    """Services (reached through `prefix`, e.g. "service__") whose fallback can take orders."""
    return Q(
        **{f"{prefix}fallback_service__available": True, f"{prefix}fallback_service__provider__enabled": True}
    )


def taking_orders(prefix: str = "") -> Q:
    """Services whose new orders have a provider to go to (see the module's docstring)."""
    own = Q(**{f"{prefix}provider__isnull": True}) | Q(**{f"{prefix}provider__enabled": True})
    return own | usable_fallback(prefix)


def first_provider() -> Case:
    """The provider a service's new order is claimed for: its own, unless that one is disabled
    and the fallback's is usable. An expression on Service (orders.transitions.claim_changes)."""
    off_with_fallback = Q(provider__enabled=False) & usable_fallback()
    return Case(When(off_with_fallback, then=F("fallback_service__provider_id")), default=F("provider_id"))


def fallback_for(service: Service, refused_by: int | None) -> ProviderService | None:
    """The fallback listing an order of `service` refused by the provider `refused_by` goes to
    next, read now (the operator may have disabled its provider a moment ago); None if there is
    none, it is unusable, or it is the very provider that refused."""
    if service.fallback_service_id is None:
        return None
    usable = ProviderService.objects.filter(available=True, provider__enabled=True)
    found = usable.filter(pk=service.fallback_service_id)
    return (found if refused_by is None else found.exclude(provider_id=refused_by)).first()
