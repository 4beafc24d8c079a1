"""Reading a provider's service list: the mirror follows the provider, what we sell does not.

A read asks the provider for its `services` (outside any transaction), then in one transaction
brings the mirror (catalog.ProviderService) in line with the answer and writes what changed as
ListingChange lines, waiting for the operator (providers/decisions.py): a new upstream service,
and for the upstream services we sell, one gone, a cost, min/max or options change. A later read
that changes the same thing again moves the pending line's `after` (its `before` stays what the
panel last knew); one that puts it back removes the line. The first read of a provider only fills
the mirror: everything is new then, and the import page is where it is chosen from.

The loss guard is the exception, a safety rule acting at once: a service whose provider cost (in
the panel's currency) is now above its price is disabled if SMMPANEL_DISABLE_UNPROFITABLE, else
only flagged. The worker reads each enabled API provider every SMMPANEL_LISTING_SYNC_MINUTES.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from smmpanel.catalog import margins, updates
from smmpanel.catalog.models import Provider, ProviderService, Service
from smmpanel.ledger.money import PLACES
from smmpanel.providers.answers import Refused, Unreachable, UpstreamService
from smmpanel.providers.models import ListingChange
from smmpanel.providers.records import client_for

log = logging.getLogger("smmpanel.providers")

Kind = ListingChange.Kind
PENDING = ListingChange.State.PENDING
# What each kind of line watches on a sold service's upstream row.
WATCHED: dict[str, tuple[str, ...]] = {
    Kind.COST: ("rate",),
    Kind.LIMITS: ("min", "max"),
    Kind.OPTIONS: ("dripfeed", "refill", "cancel"),
}
SNAPSHOT = ("name", "category", "type", "rate", "min", "max", "dripfeed", "refill", "cancel")


@dataclass
class ReadResult:
    """What one read did: the lines it wrote or moved, and what the loss guard did."""

    listed: int = 0
    lines: int = 0  # pending lines created, moved or removed by this read
    disabled: list[Service] = field(default_factory=list)  # by the loss guard, now
    flagged: list[Service] = field(default_factory=list)  # at a loss, left on sale (setting off)
    error: str = ""


def json_value(value: Any) -> Any:
    """A mirror value as a line keeps it: a rate as a 6-place string, so that equal costs compare
    equal however the provider wrote them ("1.1" and "1.10")."""
    if hasattr(value, "quantize"):
        return format(value.quantize(PLACES), "f")
    return value


def values(row: ProviderService, names: Iterable[str]) -> dict[str, Any]:
    return {name: json_value(getattr(row, name)) for name in names}


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


def read(provider: Provider, now: datetime | None = None) -> ReadResult:
    """Ask the provider for its list, outside any transaction, and record the answer. A failed
    read keeps its error on the provider (listing_error) and changes nothing else."""
    now = now or timezone.now()
    try:
        with client_for(provider) as client:
            listed = client.services()
    except Refused as exc:
        return _failed(provider, f"refused: {exc.message}", now)
    except Unreachable as exc:
        return _failed(provider, f"no usable answer ({exc.outcome}): {exc.message}", now)
    except ValueError as exc:  # no URL
        return _failed(provider, str(exc), now)
    return record(provider, listed, now)


def _failed(provider: Provider, error: str, now: datetime) -> ReadResult:
    log.warning("reading the list of %s failed: %s", provider.name, error)
    Provider.objects.filter(pk=provider.pk).update(listing_error=error[:500], listing_read_at=now)
    provider.refresh_from_db(fields=["listing_error", "listing_read_at"])
    return ReadResult(error=error)


class _Lines:
    """The provider's pending lines, created, moved and removed as the read goes."""

    def __init__(self, provider: Provider, now: datetime) -> None:
        self.provider, self.now, self.touched = provider, now, 0
        found = ListingChange.objects.select_for_update().filter(provider=provider, state=PENDING)
        self.pending = {(line.provider_service_id, line.kind): line for line in found}

    def change(self, row: ProviderService, kind: str, before: dict[str, Any], after: dict[str, Any]) -> None:
        line = self.pending.get((row.pk, kind))
        if line is None:
            if before != after:
                self.pending[(row.pk, kind)] = ListingChange.objects.create(
                    provider=self.provider, provider_service=row, kind=kind, before=before, after=after,
                    found_at=self.now,
                )  # fmt: skip
                self.touched += 1
        elif line.before == after:  # put back as the panel knew it: nothing to decide any more
            self.drop(row, kind)
        elif line.after != after:
            line.after = after
            line.save(update_fields=["after"])
            self.touched += 1

    def drop(self, row: ProviderService, kind: str) -> None:
        line = self.pending.pop((row.pk, kind), None)
        if line is not None:
            line.delete()
            self.touched += 1

    def has(self, row: ProviderService, kind: str) -> bool:
        return (row.pk, kind) in self.pending


def record(provider: Provider, listed: Iterable[UpstreamService], now: datetime) -> ReadResult:
    """Bring the mirror in line with the provider's answer and write the lines (see the module)."""
    result = ReadResult()
    with transaction.atomic():
        Provider.objects.select_for_update().filter(pk=provider.pk).first()  # one read at a time
        known = {row.external_id: row for row in provider.services.select_for_update()}
        first = not known
        sold = set(
            Service.objects.filter(provider_service__provider=provider).values_list(
                "provider_service", flat=True
            )
        )
        lines = _Lines(provider, now)
        seen: set[str] = set()
        for item in listed:
            if item.external_id in seen:
                continue
            seen.add(item.external_id)
            _follow(provider, known.get(item.external_id), item, first, sold, lines)
        for external_id, row in known.items():
            if external_id not in seen and row.available:
                row.available = False
                row.save(update_fields=["available", "seen_at"])
                _gone(row, sold, lines)
        result.listed, result.lines = len(seen), lines.touched
        _loss_guard(provider, now, result)
        Provider.objects.filter(pk=provider.pk).update(listing_read_at=now, listing_error="")
    provider.refresh_from_db(fields=["listing_error", "listing_read_at"])
    return result


def _follow(
    provider: Provider,
    row: ProviderService | None,
    item: UpstreamService,
    first: bool,
    sold: set[int],
    lines: _Lines,
) -> None:
    """One listed service: the mirror's row created or brought up to date, and its lines."""
    fields = _fields(item)
    if row is None:
        row = ProviderService.objects.create(provider=provider, external_id=item.external_id, **fields)
        if not first:
            lines.change(row, Kind.NEW, {}, values(row, SNAPSHOT))
        return
    came_back = not row.available
    before = {kind: values(row, names) for kind, names in WATCHED.items()}
    changed = [name for name, value in fields.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, fields[name])
    if changed:  # unchanged rows are not written (nor their seen_at moved)
        row.save(update_fields=[*changed, "seen_at"])
    if row.pk in sold:
        lines.drop(row, Kind.GONE)
        for kind, names in WATCHED.items():
            lines.change(row, kind, before[kind], values(row, names))
    elif came_back or lines.has(row, Kind.NEW):  # unsold, and new to the operator's eyes
        lines.change(row, Kind.NEW, {}, values(row, SNAPSHOT))


def _gone(row: ProviderService, sold: set[int], lines: _Lines) -> None:
    if lines.has(row, Kind.NEW):
        lines.drop(row, Kind.NEW)  # new, then gone before anyone decided: nothing to say
    elif row.pk in sold:
        lines.change(row, Kind.GONE, {"available": True}, {"available": False})


def _loss_guard(provider: Provider, now: datetime, result: ReadResult) -> None:
    """Services sold below their provider's cost: disabled at once (or only flagged, by setting),
    each disabled one told to customers as "disabled" by the loss guard."""
    services = Service.objects.filter(provider_service__provider=provider, enabled=True).select_related(
        "provider_service__provider"
    )
    for service in services.order_by("id"):
        if not margins.loses_money(service):
            continue
        if not settings.SMMPANEL_DISABLE_UNPROFITABLE:
            result.flagged.append(service)
        elif Service.objects.filter(pk=service.pk, enabled=True).update(enabled=False, updated_at=now):
            service.enabled = False
            updates.record(service, updates.Kind.DISABLED, updates.Source.LOSS_GUARD, now)
            result.disabled.append(service)


def pending(provider: Provider) -> list[ListingChange]:
    """The provider's lines waiting for a decision, with their upstream service, oldest first."""
    found = ListingChange.objects.filter(provider=provider, state=PENDING).select_related("provider_service")
    return list(found.order_by("kind", "provider_service__category", "provider_service__name", "id"))


def waiting() -> list[tuple[Provider, int]]:
    """Each provider with lines waiting for a decision, and how many (for the dashboard)."""
    counts = dict(
        ListingChange.objects.filter(state=PENDING)
        .values_list("provider")
        .annotate(n=Count("id"))
        .values_list("provider", "n")
    )
    providers = Provider.objects.filter(pk__in=counts).order_by("name")
    return [(provider, counts[provider.pk]) for provider in providers]


def failed_reads() -> list[Provider]:
    """Providers whose last read of the list failed."""
    return list(Provider.objects.exclude(listing_error="").order_by("name"))


def due(now: datetime) -> list[Provider]:
    """Enabled API providers whose list was last read longer ago than the setting (or never)."""
    minutes = settings.SMMPANEL_LISTING_SYNC_MINUTES
    if minutes <= 0:
        return []
    cutoff = now - timedelta(minutes=minutes)
    found = Provider.objects.filter(enabled=True, kind=Provider.Kind.API_V2).exclude(url="")
    return list(found.filter(Q(listing_read_at__isnull=True) | Q(listing_read_at__lt=cutoff)).order_by("id"))


def read_due(now: datetime) -> int:
    """The worker's part: read each due provider's list once, whatever the number of workers (each
    read is claimed by moving listing_read_at forward first). Returns how many were read."""
    read_now = 0
    for provider in due(now):
        was = provider.listing_read_at
        claim = Provider.objects.filter(pk=provider.pk)
        claim = (
            claim.filter(listing_read_at__isnull=True) if was is None else claim.filter(listing_read_at=was)
        )
        if claim.update(listing_read_at=now):
            read(provider, now)
            read_now += 1
    return read_now
