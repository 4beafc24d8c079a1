"""Every upstream call as an UpstreamCall row, and the provider health derived from them."""

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.utils import timezone

from smmpanel.catalog.models import Provider
from smmpanel.providers.client import CallRecord, ProviderClient
from smmpanel.providers.models import UpstreamCall

# Outcomes where the provider gave no usable answer; a refusal ("error") is an answer.
FAILURES = (
    UpstreamCall.Outcome.TIMEOUT,
    UpstreamCall.Outcome.CONNECTION,
    UpstreamCall.Outcome.HTTP_ERROR,
    UpstreamCall.Outcome.BAD_ANSWER,
)


def row(provider: Provider, order_id: int | None, record: CallRecord) -> UpstreamCall:
    """The UpstreamCall row (unsaved) of one call, for `order_id` if the call was for an order."""
    return UpstreamCall(
        provider_id=provider.pk,
        order_id=order_id,
        action=record.action,
        request=record.request,
        http_status=record.http_status,
        response=record.response,
        outcome=record.outcome,
        error=record.error,
        latency_ms=record.latency_ms,
        created_at=timezone.now(),
    )


def recorder_for(provider: Provider, order_id: int | None = None) -> Callable[[CallRecord], None]:
    """Writes each call of a client as an UpstreamCall row (of `order_id`, if the call is for one)."""

    def record(call: CallRecord) -> None:
        row(provider, order_id, call).save(force_insert=True)

    return record


def _check_url(provider: Provider) -> None:
    if not provider.url:
        raise ValueError(f"provider {provider.name!r} ({provider.kind}) has no API URL")


def client_for(provider: Provider, order_id: int | None = None) -> ProviderClient:
    """A client for the provider's API whose every call is recorded. Close it after use."""
    _check_url(provider)
    recorder = recorder_for(provider, order_id)
    return ProviderClient(provider.url, provider.api_key, timeout=provider.timeout_seconds, recorder=recorder)


def retention_days() -> int:
    return int(getattr(settings, "SMMPANEL_CALL_RETENTION_DAYS", 30))


def prune(older_than_days: int | None = None) -> int:
    """Deletes call records older than the retention period; returns how many."""
    days = retention_days() if older_than_days is None else older_than_days
    if days < 0:
        raise ValueError("the retention period cannot be negative")
    cutoff = timezone.now() - timedelta(days=days)
    deleted, _ = UpstreamCall.objects.filter(created_at__lt=cutoff).delete()
    return deleted


@dataclass(frozen=True)
class ProviderHealth:
    """How a provider did over a recent window of calls."""

    calls: int
    failures: int  # no usable answer: timeout, connection, HTTP error, unreadable answer
    refusals: int  # a clear {"error": ...}
    p95_latency_ms: int | None
    last_call_at: datetime | None
    last_balance: Decimal | None
    last_balance_at: datetime | None

    @property
    def failure_rate(self) -> float:
        return self.failures / self.calls if self.calls else 0.0

    @property
    def refusal_rate(self) -> float:
        return self.refusals / self.calls if self.calls else 0.0


def _p95(latencies: list[int]) -> int | None:
    """The nearest-rank 95th percentile."""
    if not latencies:
        return None
    return sorted(latencies)[math.ceil(0.95 * len(latencies)) - 1]


def _window(provider: Provider, since: datetime) -> tuple[int, int, int, int | None]:
    """Calls, failures, refusals and the nearest-rank p95 latency of the provider's calls since then."""
    if connection.vendor == "postgresql":
        # Counted where the rows are: a busy provider makes thousands of calls an hour.
        # percentile_disc is the nearest rank: the first latency whose share reaches 95 %.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*), count(*) FILTER (WHERE outcome = ANY(%s)),"
                " count(*) FILTER (WHERE outcome = %s),"
                " percentile_disc(0.95) WITHIN GROUP (ORDER BY latency_ms)"
                f" FROM {UpstreamCall._meta.db_table} WHERE provider_id = %s AND created_at >= %s",
                [[str(f) for f in FAILURES], str(UpstreamCall.Outcome.ERROR), provider.pk, since],
            )
            calls, failures, refusals, p95 = cursor.fetchone()
        return calls, failures, refusals, p95
    # An hour of calls is small enough to read whole on one machine; the percentile is then Python.
    rows = list(
        UpstreamCall.objects.filter(provider=provider, created_at__gte=since).values_list(
            "outcome", "latency_ms"
        )
    )
    return (
        len(rows),
        sum(outcome in FAILURES for outcome, _ in rows),
        sum(outcome == UpstreamCall.Outcome.ERROR for outcome, _ in rows),
        _p95([latency for _, latency in rows]),
    )


def health(provider: Provider, window: timedelta = timedelta(hours=1)) -> ProviderHealth:
    calls, failures, refusals, p95 = _window(provider, timezone.now() - window)
    last = provider.calls.order_by("-created_at").values_list("created_at", flat=True).first()
    return ProviderHealth(
        calls=calls,
        failures=failures,
        refusals=refusals,
        p95_latency_ms=p95,
        last_call_at=last,
        last_balance=provider.last_balance,
        last_balance_at=provider.last_balance_at,
    )
