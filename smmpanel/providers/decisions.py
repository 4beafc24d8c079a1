"""Deciding the lines a read of a provider's list left waiting (providers/listing.py).

Accepting a line changes what we sell: a new service is imported at the provider's pricing rule, a
gone one disables our services selling it, a cost change reprices them at the rule's price, a
min/max or options change is copied to them. Skipping changes nothing we sell. Either way the line
is marked decided (when, by whom). Every price change, new service and disabled service is told to
customers (catalog/updates.py, source "sync"). One transaction: the caller may audit inside it.
"""

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from smmpanel.accounts.models import User
from smmpanel.catalog import updates
from smmpanel.catalog.models import Category, Provider, Service
from smmpanel.catalog.pricing import PriceRule, PriceTooLarge
from smmpanel.providers.importing import new_service, own_category
from smmpanel.providers.listing import PENDING, Kind
from smmpanel.providers.models import ListingChange

SYNC = updates.Source.SYNC


@dataclass
class Decided:
    accepted: list[ListingChange] = field(default_factory=list)
    skipped: list[ListingChange] = field(default_factory=list)
    refused: list[tuple[ListingChange, str]] = field(default_factory=list)  # left pending, and why
    gone_already: int = 0  # asked for, but decided by someone else meanwhile (or unknown)
    created: list[Service] = field(default_factory=list)
    repriced: list[tuple[Service, Decimal, Decimal]] = field(default_factory=list)
    disabled: list[Service] = field(default_factory=list)
    # Back on sale: taken off by the loss guard, now priced over cost.
    enabled: list[Service] = field(default_factory=list)
    updated: list[Service] = field(default_factory=list)  # min/max or options copied

    def summary(self) -> dict[str, object]:
        """For the audit record."""
        return {
            "accepted": sorted(line.pk for line in self.accepted),
            "skipped": sorted(line.pk for line in self.skipped),
            "refused": sorted(line.pk for line, _ in self.refused),
            "created": [s.pk for s in self.created],
            "repriced": {str(s.pk): [str(old), str(new)] for s, old, new in self.repriced},
            "disabled": [s.pk for s in self.disabled],
            "enabled": [s.pk for s in self.enabled],
            "updated": [s.pk for s in self.updated],
        }


class _Context:
    def __init__(self, provider: Provider, category: Category | None, now: datetime, decided: Decided):
        self.provider, self.category, self.now, self.decided = provider, category, now, decided
        self.rule = PriceRule.of(provider)


def decide(
    provider: Provider,
    accept: Collection[int],
    skip: Collection[int] = (),
    *,
    by: User | None = None,
    category: Category | None = None,
    now: datetime | None = None,
) -> Decided:
    """Accept the lines `accept` and skip the lines `skip` (ids of the provider's pending lines).
    A new service accepted goes into `category`, or else the provider's own category name."""
    if set(accept) & set(skip):
        raise ValueError("a line is either accepted or skipped, not both")
    now = now or timezone.now()
    decided = Decided()
    context = _Context(provider, category, now, decided)
    wanted = set(accept) | set(skip)
    with transaction.atomic():
        lines = ListingChange.objects.select_for_update().filter(
            provider=provider, state=PENDING, pk__in=wanted
        )
        lines = lines.select_related("provider_service__provider").order_by("id")
        found = list(lines)
        decided.gone_already = len(wanted) - len(found)
        for line in found:
            if line.pk in skip:
                _mark(line, ListingChange.State.SKIPPED, by, now)
                decided.skipped.append(line)
                continue
            try:
                _accept(line, context)
            except PriceTooLarge as exc:
                decided.refused.append((line, str(exc)))
                continue
            _mark(line, ListingChange.State.ACCEPTED, by, now)
            decided.accepted.append(line)
    return decided


def pending_ids(provider: Provider, kind: str | None = None) -> list[int]:
    found = ListingChange.objects.filter(provider=provider, state=PENDING)
    return list((found if kind is None else found.filter(kind=kind)).values_list("pk", flat=True))


def rule_to_every_cost_change(
    provider: Provider, *, by: User | None = None, now: datetime | None = None
) -> Decided:
    """Accept every pending cost change: each linked service repriced by the provider's rule."""
    return decide(provider, pending_ids(provider, Kind.COST), by=by, now=now)


def _mark(line: ListingChange, state: str, by: User | None, now: datetime) -> None:
    line.state, line.decided_at, line.decided_by = state, now, by
    line.save(update_fields=["state", "decided_at", "decided_by"])


def _sold(line: ListingChange) -> list[Service]:
    return list(Service.objects.filter(provider_service=line.provider_service_id).order_by("id"))


def _accept(line: ListingChange, context: _Context) -> None:
    {
        Kind.NEW: _accept_new,
        Kind.GONE: _accept_gone,
        Kind.COST: _accept_cost,
        Kind.LIMITS: _accept_copy,
        Kind.OPTIONS: _accept_copy,
    }[ListingChange.Kind(line.kind)](line, context)


def _accept_new(line: ListingChange, context: _Context) -> None:
    upstream = line.provider_service
    if not upstream.available or Service.objects.filter(provider_service=upstream).exists():
        return  # gone again, or imported from the import page meanwhile: nothing to add
    target = context.category or own_category(context.provider, upstream, {})
    with transaction.atomic():  # a refused price leaves no half-made service
        service = new_service(upstream, context.rule, target)
    updates.record(service, updates.Kind.NEW, SYNC, context.now)
    context.decided.created.append(service)


def _accept_gone(line: ListingChange, context: _Context) -> None:
    for service in _sold(line):
        if Service.objects.filter(pk=service.pk, enabled=True).update(enabled=False, updated_at=context.now):
            updates.record(service, updates.Kind.DISABLED, SYNC, context.now)
            context.decided.disabled.append(service)


def _accept_cost(line: ListingChange, context: _Context) -> None:
    """Our services selling it, at the rule's price; one the loss guard took off sale (and no one
    else since) goes back on sale, the new price covering the cost."""
    cost = context.provider.in_panel_currency(Decimal(str(line.after["rate"])))
    price = context.rule.price_for(cost)
    for service in _sold(line):
        if service.rate != price:
            Service.objects.filter(pk=service.pk).update(rate=price, updated_at=context.now)
            updates.record(
                service, updates.Kind.PRICE, SYNC, context.now, old_rate=service.rate, new_rate=price
            )
            context.decided.repriced.append((service, service.rate, price))
        if price >= cost and updates.off_for_a_loss(service):
            Service.objects.filter(pk=service.pk, enabled=False).update(enabled=True, updated_at=context.now)
            updates.record(service, updates.Kind.ENABLED, SYNC, context.now)
            context.decided.enabled.append(service)


def _accept_copy(line: ListingChange, context: _Context) -> None:
    """Min/max or options, copied as the provider now lists them."""
    changes = {name: line.after[name] for name in line.after}
    for service in _sold(line):
        if any(getattr(service, name) != value for name, value in changes.items()):
            Service.objects.filter(pk=service.pk).update(**changes, updated_at=context.now)
            context.decided.updated.append(service)
