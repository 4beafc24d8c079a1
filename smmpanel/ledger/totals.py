"""What a customer's ledger adds up to: per kind, what their orders cost, what came back."""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, Count, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncDate

from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.money import ZERO
from smmpanel.ledger.services import exact_sums

Kind = LedgerEntry.Kind


@contextmanager
def planned_for_their_period() -> Iterator[None]:
    """Queries over a period, planned for that period's bounds each time.

    With prepared statements (SMMPANEL_PG_PREPARED), PostgreSQL moves a statement run five times
    to one generic plan, made without knowing its bounds. For a month of a busy panel that plan
    walks an index row by row and sorts on disk: the report by service took 247 ms against 65 ms
    with a plan made for its own dates. Inside this block, in one read-only transaction, every
    plan is made for its values (`SET LOCAL`: the setting ends with the transaction). SQLite has
    no such cache: nothing to do.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        yield


def by_kind(user_id: int) -> dict[str, Decimal]:
    """The sum of the customer's entries per kind (charges negative), exact on both databases."""
    zeros = {kind.value: ZERO for kind in Kind}
    return zeros | exact_sums(LedgerEntry.objects.filter(user_id=user_id), "kind")


def spent(totals: dict[str, Decimal]) -> Decimal:
    """What the customer's orders cost, net of what came back: charges minus refunds."""
    return -totals[Kind.CHARGE] - totals[Kind.REFUND]


def refunded(order_id: int) -> Decimal:
    """What was refunded for an order and for its drip-feed runs or subscription posts."""
    entries = LedgerEntry.objects.filter(
        Q(order_id=order_id) | Q(order__parent_id=order_id), kind=Kind.REFUND
    )
    return exact_sums(entries, "kind").get(Kind.REFUND, ZERO)


def sums_by_day(
    rows: QuerySet[Any], amount: str, zone: tzinfo, *, when: str = "created_at", by: str = ""
) -> dict[tuple[date, Any], Decimal]:
    """The exact sum of the rows' `amount` per local day of `when` in `zone` (and per value of
    `by`, if given: keys are (day, value), else (day, None)). Rows whose amount is NULL count 0."""
    rows = rows.order_by().exclude(**{f"{amount}__isnull": True})
    if connection.vendor == "postgresql":  # numeric sums are exact: the database groups
        keys = ["day", by] if by else ["day"]
        grouped = rows.annotate(day=TruncDate(when, tzinfo=zone)).values(*keys).annotate(total=Sum(amount))
        return {(row["day"], row[by] if by else None): row["total"] for row in grouped}
    # SQLite would sum floats: add the exact values up in Python instead.
    sums: dict[tuple[date, Any], Decimal] = {}
    fields = [when, amount, by] if by else [when, amount]
    for moment, value, *key in rows.values_list(*fields).iterator(chunk_size=5000):
        day = (moment.astimezone(zone).date(), key[0] if by else None)
        sums[day] = sums.get(day, ZERO) + value
    return sums


def by_day_and_kind(
    since: datetime, zone: tzinfo, until: datetime | None = None
) -> dict[date, dict[str, Decimal]]:
    """Every customer's entries from `since` on (and before `until`, if given), summed per local
    day in `zone` and per kind (charges negative, refunds and deposits positive); a day without
    entries is absent."""
    days: dict[date, dict[str, Decimal]] = {}
    entries = LedgerEntry.objects.filter(created_at__gte=since)
    if until is not None:
        entries = entries.filter(created_at__lt=until)
    for (day, kind), total in sums_by_day(entries, "amount", zone, by="kind").items():
        days.setdefault(day, {kind.value: ZERO for kind in Kind})[kind] = total
    return days


@dataclass
class Group:
    """One group of rows (see `grouped`): each summed field's exact total and each count."""

    sums: dict[str, Decimal] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def grouped(
    rows: QuerySet[Any],
    keys: Sequence[str],
    sums: Sequence[str],
    counts: Mapping[str, Q] | None = None,
    *,
    counted: str = "pk",
) -> dict[tuple[Any, ...], Group]:
    """Per distinct value of `keys` (fields or annotations of `rows`): the exact sum of each field
    in `sums` (NULL counts 0) and, for each (name, Q) of `counts`, how many rows match the Q.
    `counted`: the column PostgreSQL counts, never NULL (one in an index the query can read
    alone spares it the table).

    PostgreSQL groups and sums in the database (numeric sums are exact). On SQLite, whose sums
    are binary floats, the database still picks the rows and computes the keys (a local day
    included: TruncDate with tzinfo), and the exact amounts are added up here."""
    rows, counts = rows.order_by(), counts or {}
    found: dict[tuple[Any, ...], Group] = {}
    if connection.vendor == "postgresql":
        totals = {f"sum_{n}": Sum(n) for n in sums} | {
            f"count_{n}": Count(counted, filter=q) for n, q in counts.items()
        }
        for row in rows.values(*keys).annotate(**totals):
            found[tuple(row[k] for k in keys)] = Group(
                {n: row[f"sum_{n}"] or ZERO for n in sums}, {n: row[f"count_{n}"] for n in counts}
            )
        return found
    flags = {f"flag_{n}": Case(When(q, then=Value(1)), default=Value(0)) for n, q in counts.items()}
    width = len(keys)
    for row in rows.annotate(**flags).values_list(*keys, *sums, *flags).iterator(chunk_size=5000):
        group = found.get(tuple(row[:width]))
        if group is None:
            group = found[tuple(row[:width])] = Group({n: ZERO for n in sums}, {n: 0 for n in counts})
        for name, value in zip(sums, row[width : width + len(sums)], strict=True):
            group.sums[name] += value or ZERO
        for name, flag in zip(counts, row[width + len(sums) :], strict=True):
            group.counts[name] += flag
    return found


def per_customer(kind: str, since: datetime, until: datetime, user_ids: Sequence[int]) -> dict[int, Decimal]:
    """The sum of each of these customers' entries of `kind` from `since` to before `until`."""
    entries = LedgerEntry.objects.filter(
        kind=kind, created_at__gte=since, created_at__lt=until, user_id__in=list(user_ids)
    )
    return {key[0]: group.sums["amount"] for key, group in grouped(entries, ["user_id"], ["amount"]).items()}


def adjustments(since: datetime, until: datetime) -> Group:
    """The operators' balance adjustments from `since` to before `until`: their count ("entries")
    and their sum ("amount", credits positive, debits negative)."""
    entries = LedgerEntry.objects.filter(kind=Kind.ADJUSTMENT, created_at__gte=since, created_at__lt=until)
    found = grouped(entries, ["kind"], ["amount"], {"entries": Q(pk__isnull=False)})
    return found.get((Kind.ADJUSTMENT.value,), Group({"amount": ZERO}, {"entries": 0}))
