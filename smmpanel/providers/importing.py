"""Importing a provider's catalogue, and seeing what changed upstream since.

The provider's own list is kept as ProviderService rows; local services point
at them and carry the panel's price. A service whose provider cost rises above
its price is flagged and, unless SMMPANEL_DISABLE_UNPROFITABLE is off, disabled:
the panel never sells at a loss without being told. Provider rates are kept as
listed, in the provider's currency, and converted to the panel's (at the rate the
operator set) wherever they meet a panel price.
"""

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from smmpanel.catalog import margins
from smmpanel.catalog.models import Category, Provider, ProviderService, Service
from smmpanel.ledger.money import MAX_AMOUNT, with_markup
from smmpanel.providers.answers import UpstreamService

log = logging.getLogger("smmpanel.providers")


@dataclass
class SyncReport:
    new: list[ProviderService] = field(default_factory=list)
    gone: list[ProviderService] = field(default_factory=list)
    repriced: list[tuple[ProviderService, Decimal, Decimal]] = field(default_factory=list)
    unprofitable: list[Service] = field(default_factory=list)
    disabled: list[Service] = field(default_factory=list)
    imported: list[Service] = field(default_factory=list)


def _fields(item: UpstreamService) -> dict[str, object]:
    return dict(
        name=item.name[:500],
        type=item.type,
        category=item.category[:500],
        rate=item.rate,
        min=item.min,
        max=max(item.max, item.min),
        dripfeed=item.dripfeed,
        refill=item.refill,
        cancel=item.cancel,
        raw=item.raw,
        available=True,
    )


def refresh(provider: Provider, listed: Iterable[UpstreamService]) -> SyncReport:
    """Store the provider's current list; report what is new, gone and repriced."""
    report = SyncReport()
    with transaction.atomic():
        known = {ps.external_id: ps for ps in provider.services.select_for_update()}
        seen: set[str] = set()
        for item in listed:
            if item.external_id in seen:
                continue
            seen.add(item.external_id)
            current = known.get(item.external_id)
            if current is None:
                report.new.append(
                    ProviderService.objects.create(
                        provider=provider, external_id=item.external_id, **_fields(item)
                    )
                )
                continue
            if current.rate != item.rate:
                report.repriced.append((current, current.rate, item.rate))
            fields = _fields(item)
            changed = [name for name, value in fields.items() if getattr(current, name) != value]
            for name in changed:
                setattr(current, name, fields[name])
            if changed:  # unchanged rows are not written (nor their seen_at moved), as before
                current.save(update_fields=[*changed, "seen_at"])
        for external_id, ps in known.items():
            if external_id not in seen and ps.available:
                ps.available = False
                ps.save(update_fields=["available", "seen_at"])
                report.gone.append(ps)
        _check_margins(provider, report)
    return report


def _check_margins(provider: Provider, report: SyncReport) -> None:
    services = Service.objects.filter(provider_service__provider=provider).select_related(
        "provider_service__provider"
    )
    for service in services:
        upstream = service.provider_service
        assert upstream is not None
        losing = margins.loses_money(service)
        if losing:
            report.unprofitable.append(service)
        if service.enabled and (
            not upstream.available or (losing and settings.SMMPANEL_DISABLE_UNPROFITABLE)
        ):
            service.enabled = False
            service.save(update_fields=["enabled", "updated_at"])
            report.disabled.append(service)


def import_services(
    provider: Provider, markup_percent: Decimal, category_map: Mapping[str, str] | None = None
) -> list[Service]:
    """A local service for every provider service that has none yet, at cost plus markup."""
    category_map = category_map or {}
    linked = set(
        Service.objects.filter(provider_service__provider=provider).values_list("provider_service", flat=True)
    )
    created = []
    with transaction.atomic():
        for upstream in provider.services.filter(available=True).exclude(pk__in=linked).order_by("id"):
            rate = with_markup(provider.in_panel_currency(upstream.rate), markup_percent)
            if rate > MAX_AMOUNT:  # a price the panel could not keep exactly: left for a person
                log.warning("not imported: %s would sell at %s, past the largest amount", upstream, rate)
                continue
            name = category_map.get(upstream.category, upstream.category) or provider.name
            category, _ = Category.objects.get_or_create(name=name[:500])
            created.append(
                Service.objects.create(
                    category=category,
                    name=upstream.name,
                    type=upstream.type,
                    rate=rate,
                    min=upstream.min,
                    max=upstream.max,
                    dripfeed=upstream.dripfeed,
                    refill=upstream.refill,
                    cancel=upstream.cancel,
                    description=str(upstream.raw.get("desc") or upstream.raw.get("description") or ""),
                    provider=provider,
                    provider_service=upstream,
                )
            )
    return created
