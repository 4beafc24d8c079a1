"""The operator's changes to services: many at once (enable, disable, move, reprice, min/max) and
one service's edit. Each runs in one transaction with the services locked, writes only the fields
it changes (conditional `.update()`), records the Updates customers see (catalog/updates.py) and
hands back each service's fields before and after, for the audit record the caller writes in the
same transaction."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from smmpanel.catalog import updates
from smmpanel.catalog.margins import cost_rate
from smmpanel.catalog.models import Category, ProviderService, Service
from smmpanel.catalog.pricing import PERCENT, PriceRule, PriceTooLarge
from smmpanel.ledger.money import MAX_AMOUNT, PLACES, normalised, to_money, up_to_step, within_places

SET, UP, DOWN, MARKUP = "set", "up", "down", "markup"
CHUNK = 500  # services read (and locked) per query
REPRICE_MODES = (SET, UP, DOWN, MARKUP)


class EditError(Exception):
    """A change the panel refuses; nothing was changed. The message is for the operator."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass
class Change:
    """One service's changed fields, before and after (JSON-ready: amounts as strings)."""

    service_id: int
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)


@dataclass
class BulkResult:
    """What a bulk action changed, and the services it left out with the reason for each."""

    changed: list[Change] = field(default_factory=list)
    left_out: list[tuple[int, str]] = field(default_factory=list)

    def audit_before(self) -> dict[str, Any]:
        return {str(c.service_id): c.before for c in self.changed}

    def audit_after(self) -> dict[str, Any]:
        return {str(c.service_id): c.after for c in self.changed}


def plain(value: object) -> object:
    """A field's value for an audit record: amounts as exact strings."""
    return format(to_money(value), "f") if isinstance(value, Decimal) else value


def _locked(service_ids: Iterable[int]) -> list[Service]:
    """The services, locked for the transaction (in id order, so two bulk actions never deadlock)."""
    ids = sorted(set(service_ids))
    if not ids:
        raise EditError(_("Select at least one service."), "none_selected")
    locking = Service.objects.select_for_update(of=("self",)).select_related("provider_service__provider")
    services: list[Service] = []
    for start in range(0, len(ids), CHUNK):  # a whole catalogue's ids stay under SQLite's limit
        services += locking.filter(pk__in=ids[start : start + CHUNK]).order_by("pk")
    if not services:
        raise EditError(_("None of the selected services exists."), "none_selected")
    return services


def _write(service: Service, changes: Mapping[str, Any], now: datetime) -> Change:
    """Write `changes` to the service's row (only those fields) and say what they were."""
    before = {name: plain(getattr(service, name)) for name in changes}
    Service.objects.filter(pk=service.pk).update(**changes, updated_at=now)
    for name, value in changes.items():
        setattr(service, name, value)
    return Change(service.pk, before, {name: plain(value) for name, value in changes.items()})


# --- Enable, disable, move -----------------------------------------------------------------------


def set_enabled(service_ids: Iterable[int], enabled: bool, now: datetime) -> BulkResult:
    """Put the services on sale or take them off; those already so are left as they are."""
    result = BulkResult()
    with transaction.atomic():
        for service in _locked(service_ids):
            if service.enabled != enabled:
                result.changed.append(_write(service, {"enabled": enabled}, now))
        kind = updates.Kind.ENABLED if enabled else updates.Kind.DISABLED
        changed = [Service(pk=c.service_id) for c in result.changed]
        updates.record_many(changed, kind, updates.Source.CONSOLE, now)
    return result


def category_of(category_id: int | None) -> Category:
    found = None if category_id is None else Category.objects.filter(pk=category_id).first()
    if found is None:
        raise EditError(_("Choose a category that exists."), "unknown_category")
    return found


def move(service_ids: Iterable[int], category_id: int | None, now: datetime) -> BulkResult:
    """Move the services to another category."""
    category = category_of(category_id)
    result = BulkResult()
    with transaction.atomic():
        for service in _locked(service_ids):
            if service.category_id != category.pk:
                result.changed.append(_write(service, {"category_id": category.pk}, now))
    return result


# --- Reprice -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reprice:
    """How to reprice: set a price, percent up or down, or a markup over cost (percent or fixed);
    the new price is rounded up to `step` (a set price is taken as typed)."""

    mode: str
    value: Decimal
    markup_kind: str = PERCENT
    step: Decimal = PLACES

    def check(self) -> None:
        if self.mode not in REPRICE_MODES:
            raise EditError(_("Choose how to reprice."), "reprice_mode")
        if self.value < 0:
            raise EditError(_("A price, a percent or a markup is not negative."), "negative")
        if self.mode == DOWN and self.value >= 100:
            raise EditError(_("A percent down is less than 100."), "percent_down")
        if self.mode == SET and (self.value > MAX_AMOUNT or not within_places(self.value)):
            raise EditError(
                _("Enter a price from 0 to %(max)s with at most 6 decimal places.")
                % {"max": normalised(MAX_AMOUNT)},
                "price_range",
            )
        if self.step < PLACES:
            raise EditError(_("The rounding step is at least %(step)s.") % {"step": PLACES}, "step")

    def price_for(self, service: Service) -> Decimal | None:
        """The service's new price; None where a markup has no cost to go over."""
        if self.mode == SET:
            return self.value
        if self.mode == MARKUP:
            cost = cost_rate(service)
            return (
                None if cost is None else PriceRule(self.markup_kind, self.value, self.step).price_for(cost)
            )
        sign = 1 if self.mode == UP else -1
        price = up_to_step(service.rate * (100 + sign * self.value) / 100, self.step)
        if price > MAX_AMOUNT:
            raise PriceTooLarge(price)
        return price


def reprice(service_ids: Iterable[int], how: Reprice, now: datetime) -> BulkResult:
    """New prices for the services; a markup leaves out those without a cost, and says so."""
    how.check()
    result = BulkResult()
    with transaction.atomic():
        for service in _locked(service_ids):
            try:
                price = how.price_for(service)
            except PriceTooLarge:
                result.left_out.append((service.pk, _("the price would be too large")))
                continue
            if price is None:
                result.left_out.append((service.pk, _("no cost known (no provider service)")))
            elif price != service.rate:
                old = service.rate
                result.changed.append(_write(service, {"rate": price}, now))
                updates.record(
                    service, updates.Kind.PRICE, updates.Source.CONSOLE, now, old_rate=old, new_rate=price
                )
    return result


# --- Min and max ---------------------------------------------------------------------------------


def set_limits(service_ids: Iterable[int], low: int | None, high: int | None, now: datetime) -> BulkResult:
    """A new min, a new max or both; a service whose min would be above its max is left out."""
    if low is None and high is None:
        raise EditError(_("Enter a min, a max or both."), "no_limits")
    if (low is not None and low < 1) or (high is not None and high < 1):
        raise EditError(_("A min or a max is at least 1."), "limits_range")
    if low is not None and high is not None and low > high:
        raise EditError(_("The min is above the max."), "min_above_max")
    result = BulkResult()
    with transaction.atomic():
        for service in _locked(service_ids):
            new_low = service.min if low is None else low
            new_high = service.max if high is None else high
            if new_low > new_high:
                result.left_out.append(
                    (
                        service.pk,
                        _("min %(min)s would be above max %(max)s") % {"min": new_low, "max": new_high},
                    )
                )
                continue
            changes = {k: v for k, v in (("min", new_low), ("max", new_high)) if getattr(service, k) != v}
            if changes:
                result.changed.append(_write(service, changes, now))
    return result


# --- One service ---------------------------------------------------------------------------------


def has_orders(service_id: int) -> bool:
    return Service.objects.filter(pk=service_id, orders__isnull=False).exists()


def _check_edit(service: Service, changes: Mapping[str, Any]) -> None:
    if "type" in changes and changes["type"] != service.type and has_orders(service.pk):
        raise EditError(_("The type of a service with orders cannot change."), "type_locked")
    low = changes.get("min", service.min)
    high = changes.get("max", service.max)
    if low > high:
        raise EditError(_("The min is above the max."), "min_above_max")
    provider_id = changes.get("provider_id", service.provider_id)
    listed = changes.get("provider_service_id", service.provider_service_id)
    if (
        listed is not None
        and not ProviderService.objects.filter(pk=listed, provider_id=provider_id or 0).exists()
    ):
        raise EditError(_("The provider service is not one of the provider's."), "provider_service")
    fallback = changes.get("fallback_service_id", service.fallback_service_id)
    if fallback is not None:
        other = ProviderService.objects.filter(pk=fallback).values_list("provider_id", flat=True).first()
        if other is None:
            raise EditError(_("The fallback service does not exist."), "fallback")
        if other == provider_id:
            raise EditError(
                _("The fallback is another provider's service, not the same provider's."), "fallback"
            )


def edit(service_id: int, fields: Mapping[str, Any], now: datetime) -> Change:
    """Change one service's fields (those that differ); records a price change and a service
    disabled or enabled again for customers."""
    with transaction.atomic():
        service = _locked([service_id])[0]
        changes = {name: value for name, value in fields.items() if getattr(service, name) != value}
        _check_edit(service, changes)
        old_rate, was_enabled = service.rate, service.enabled
        change = _write(service, changes, now) if changes else Change(service.pk)
        if "rate" in changes:
            updates.record(
                service,
                updates.Kind.PRICE,
                updates.Source.CONSOLE,
                now,
                old_rate=old_rate,
                new_rate=service.rate,
            )
        if "enabled" in changes and service.enabled != was_enabled:
            kind = updates.Kind.ENABLED if service.enabled else updates.Kind.DISABLED
            updates.record(service, kind, updates.Source.CONSOLE, now)
    return change
