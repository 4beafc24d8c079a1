"""The catalogue's change log for customers (the Updates page at /updates/): one writer, called in
the transaction of the change by whoever made it: the console, an import or sync, the loss guard."""

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from smmpanel.catalog.models import Service, ServiceUpdate

Kind = ServiceUpdate.Kind
Source = ServiceUpdate.Source


def record(
    service: Service,
    kind: str,
    source: str,
    at: datetime,
    *,
    old_rate: Decimal | None = None,
    new_rate: Decimal | None = None,
) -> ServiceUpdate | None:
    """Record one change; a price "change" to the same price is not one, and records nothing."""
    if kind == Kind.PRICE and old_rate == new_rate:
        return None
    return ServiceUpdate.objects.create(
        service=service, kind=kind, source=source, created_at=at, old_rate=old_rate, new_rate=new_rate
    )


def record_many(services: Iterable[Service], kind: str, source: str, at: datetime) -> int:
    """The same change (new, disabled, enabled) for several services, in one insert."""
    rows = [ServiceUpdate(service=s, kind=kind, source=source, created_at=at) for s in services]
    ServiceUpdate.objects.bulk_create(rows)
    return len(rows)


def off_for_a_loss(service: Service) -> bool:
    """The service is off, and the last thing that happened to it was the loss guard turning it
    off (not the operator, not a gone listing): a price that covers the cost may put it back."""
    if Service.objects.filter(pk=service.pk, enabled=True).exists():
        return False
    last = ServiceUpdate.objects.filter(service=service).exclude(kind=Kind.PRICE).order_by("-id").first()
    return last is not None and last.kind == Kind.DISABLED and last.source == Source.LOSS_GUARD


def recent(since: datetime | None = None, limit: int = 500) -> list[ServiceUpdate]:
    """The latest changes of services customers can see (an enabled category), newest first."""
    found = ServiceUpdate.objects.filter(service__category__enabled=True).select_related("service")
    if since is not None:
        found = found.filter(created_at__gte=since)
    return list(found.order_by("-created_at", "-id")[:limit])
