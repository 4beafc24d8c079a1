"""How an order moves with its provider: sending, sent, refused, in doubt, finished.

Every change is a compare-and-swap on the order's current state plus an event
in its history; finishing refunds what was not delivered, once. Nothing here
calls the network: the engine calls the provider outside any transaction and
then records the result through these functions.
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce

from smmpanel.catalog.fallback import first_provider
from smmpanel.catalog.models import Provider, Service
from smmpanel.ledger.money import refund_for
from smmpanel.orders import creating, events
from smmpanel.orders.dripfeed import lock_parents, settle_dripfeed
from smmpanel.orders.models import Order, OrderEvent
from smmpanel.orders.subscriptions import true_up

S = Order.Status
P = Order.ProviderState
E = events.Kind
# The final statuses a provider's report ends an order with: only a subscription expires,
# and an order reported "expired" is left as it is (asked again later).
REPORTED_ENDS = tuple(status for status in Order.FINAL if status != S.EXPIRED)
RETRY_REFUSED_AFTER = timedelta(minutes=10)


def _event(order_id: int, kind: events.Kind, now: datetime, **data: Any) -> None:
    events.record(order_id, kind, now, **data)


def _swap(order_id: int, expected: str, now: datetime, **changes: Any) -> bool:
    """Set `changes` only if the order's provider state is still `expected`."""
    updated = Order.objects.filter(pk=order_id, provider_state=expected).update(updated_at=now, **changes)
    return updated == 1


def first_check() -> timedelta:
    """How soon after sending an order is first asked about (SMMPANEL_FIRST_CHECK_SECONDS, 30 s)."""
    return timedelta(seconds=settings.SMMPANEL_FIRST_CHECK_SECONDS)


def longest_check() -> timedelta:
    """The longest wait between two checks of an order (SMMPANEL_LONGEST_CHECK_SECONDS, an hour)."""
    return timedelta(seconds=settings.SMMPANEL_LONGEST_CHECK_SECONDS)


def check_delay(unchanged_checks: int) -> timedelta:
    """30 s, 1 min, 2 min ... up to an hour: orders that do not move are asked less often.

    First check soon after sending (first_check()), then back off while nothing moves.
    """
    delay: timedelta = first_check() * (2 ** min(unchanged_checks, 10))
    return min(delay, longest_check())


def claim_changes(now: datetime) -> dict[str, Any]:
    """What a claim sets: sending, and the provider it goes to, from now on.

    That is the order's own provider if it has one (the operator chose it, or an earlier claim
    fixed it: a retry goes where the first try went), else its service's of the moment, or its
    service's fallback's if that one is disabled (catalog/fallback.py).
    """
    provider = Service.objects.filter(pk=OuterRef("service_id")).values(goes_to=first_provider())[:1]
    return dict(
        provider_state=P.SENDING,
        claimed_at=now,
        attempts=F("attempts") + 1,
        provider_id=Coalesce(F("provider_id"), Subquery(provider)),
    )


def claim_locked(order_ids: list[int], now: datetime) -> None:
    """queued -> sending for orders whose rows the caller locked (SELECT ... FOR UPDATE SKIP LOCKED)."""
    if order_ids:
        Order.objects.filter(pk__in=order_ids, provider_state=P.QUEUED).update(
            updated_at=now, **claim_changes(now)
        )


def claim(order_id: int, now: datetime) -> bool:
    """queued -> sending. Only the worker whose swap succeeds may send the order."""
    return _swap(order_id, P.QUEUED, now, **claim_changes(now))


def reclaim(order_id: int, now: datetime) -> bool:
    """unknown -> sending: resend an order in doubt, where the provider makes that safe."""
    return _swap(
        order_id, P.UNKNOWN, now, provider_state=P.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )


def cancel_before_sending(order_id: int, now: datetime) -> bool:
    """A queued order the customer canceled: it never leaves, and all of it is refunded."""
    with transaction.atomic():
        lock_parents([order_id])  # a run's parent before the run (see orders.dripfeed)
        if not _swap(
            order_id, P.QUEUED, now, provider_state=P.FAILED, provider_error="canceled before sending"
        ):
            return False
        _event(order_id, E.CANCELED_BEFORE_SENDING, now)
        finish(order_id, S.CANCELED, None, now, parent_locked=True)
    return True


def sent(order_id: int, provider_order_id: str, cost: Decimal | None, now: datetime) -> bool:
    """sending (or unknown, when reconciled) -> sent, with the provider's id."""
    changes: dict[str, Any] = dict(
        provider_state=P.SENT,
        provider_order_id=provider_order_id,
        cost=cost,
        sent_at=now,
        next_check_at=now + first_check(),
        provider_error="",
    )
    with transaction.atomic():
        done = _swap(order_id, P.SENDING, now, **changes) or _swap(order_id, P.UNKNOWN, now, **changes)
        if done:
            _event(order_id, E.SENT, now, provider_order_id=provider_order_id)
    return done


def requeue(order_id: int, reason: str, now: datetime, *, delay: timedelta = timedelta(minutes=1)) -> bool:
    """sending -> queued: the request never left (no connection), so sending again is safe."""
    with transaction.atomic():
        done = _swap(
            order_id,
            P.SENDING,
            now,
            provider_state=P.QUEUED,
            provider_error=reason[:2000],
            next_check_at=now + delay,
        )
        if done:
            _event(order_id, E.NOT_SENT, now, reason=reason[:500])
    return done


def sent_many(placed: Mapping[int, tuple[str, Decimal | None]], now: datetime) -> int:
    """`sent` for a batch: {order id: (provider's order id, cost)}, in one transaction.

    Only orders still `sending`, or `unknown` (a late answer after the stale-claim sweep),
    change: compare-and-swap, as in `sent`.
    """
    if not placed:
        return 0
    with transaction.atomic():
        ids = list(
            Order.objects.select_for_update()
            .filter(pk__in=list(placed), provider_state__in=(P.SENDING, P.UNKNOWN))
            .values_list("id", flat=True)
        )
        stamp = connection.ops.adapt_datetimefield_value
        chosen = {pk: placed[pk] for pk in ids}
        _set_by_id(
            "provider_order_id",
            {pk: upstream_id for pk, (upstream_id, _) in chosen.items()},
            cost={pk: cost for pk, (_, cost) in chosen.items()},
            provider_state=P.SENT,
            sent_at=stamp(now),
            next_check_at=stamp(now + first_check()),
            provider_error="",
            updated_at=stamp(now),
        )
        events.record_many(
            E.SENT, ((pk, {"provider_order_id": upstream_id}) for pk, (upstream_id, _) in chosen.items()), now
        )
    return len(ids)


def in_doubt(order_id: int, reason: str, now: datetime) -> bool:
    """sending -> unknown: the provider may or may not have the order. Never resent blindly."""
    with transaction.atomic():
        done = _swap(order_id, P.SENDING, now, provider_state=P.UNKNOWN, provider_error=reason[:2000])
        if done:
            _event(order_id, E.IN_DOUBT, now, reason=reason[:500])
    return done


def refused(order_id: int, reason: str, policy: str, now: datetime) -> bool:
    """sending -> failed, then what the service's policy says: cancel, retry later, or hold."""
    with transaction.atomic():
        if policy == "cancel":
            lock_parents([order_id])  # a run's parent before the run (see orders.dripfeed)
        if not _swap(order_id, P.SENDING, now, provider_state=P.FAILED, provider_error=reason[:2000]):
            return False
        _event(order_id, E.REFUSED, now, reason=reason[:500], policy=policy)
        if policy == "retry":
            _swap(order_id, P.FAILED, now, provider_state=P.QUEUED, next_check_at=now + RETRY_REFUSED_AFTER)
        elif policy == "cancel":
            finish(order_id, S.CANCELED, None, now, parent_locked=True)
    return True


def rerouted(order_id: int, provider_id: int, reason: str, now: datetime) -> bool:
    """sending -> queued for another provider: the order's refused it, and its service's fallback
    (`provider_id`) is to have it; the next dispatch sends it there. Only once per order: False,
    changing nothing, if it was rerouted before (or is not sending): its policy applies then."""
    with transaction.atomic():
        earlier = OrderEvent.objects.filter(
            order_id=order_id, kind=E.PROVIDER_CHANGED, data__has_key="rerouted_from"
        )
        was = Order.objects.filter(pk=order_id).values_list("provider_id", flat=True).first()
        if earlier.exists() or not _swap(
            order_id,
            P.SENDING,
            now,
            provider_state=P.QUEUED,
            provider_id=provider_id,
            provider_error=reason[:2000],
            next_check_at=None,
        ):
            return False
        _event(order_id, E.REFUSED, now, reason=reason[:500], policy="fallback")
        _event(
            order_id,
            E.PROVIDER_CHANGED,
            now,
            old=_provider_words(was),
            new=_provider_words(provider_id),
            rerouted_from=was,
            reason=f"refused: {reason[:500]}",
        )
    return True


def _provider_words(provider_id: int | None) -> str:
    """A provider as the order's history names it (as orders.operator does): "Name (#id)"."""
    if provider_id is None:
        return ""
    name = Provider.objects.filter(pk=provider_id).values_list("name", flat=True).first()
    return "" if name is None else f"{name} (#{provider_id})"


def not_sent(order_id: int, now: datetime, *, requeue: bool) -> bool:
    """unknown -> queued (send again) or canceled with a full refund: the operator's verdict."""
    with transaction.atomic():
        if requeue:
            done = _swap(order_id, P.UNKNOWN, now, provider_state=P.QUEUED, next_check_at=None)
        else:
            lock_parents([order_id])  # a run's parent before the run (see orders.dripfeed)
            done = _swap(order_id, P.UNKNOWN, now, provider_state=P.FAILED)
            if done:
                finish(order_id, S.CANCELED, None, now, parent_locked=True)
        if done:
            _event(order_id, E.RECONCILED_NOT_SENT, now, requeued=requeue)
    return done


class Progress(Protocol):
    """What is said of one order's progress; None where nothing usable was said.

    The engine hands over the provider's answer as it is (`providers.answers.UpstreamStatus`),
    its charge in the panel's currency; the operator's own report is an `OperatorProgress`.
    """

    @property
    def status(self) -> str | None: ...  # an Order.Status value

    @property
    def start_count(self) -> int | None: ...

    @property
    def remains(self) -> int | None: ...

    @property
    def charge(self) -> Decimal | None: ...  # what the provider charged us for the order

    @property
    def quantity(self) -> int | None: ...  # the units the provider gives the order (a subscription post's)


@dataclass(frozen=True)
class OperatorProgress:
    """The progress of an order as the operator records it (a manual provider)."""

    status: str | None
    start_count: int | None = None
    remains: int | None = None
    charge: Decimal | None = None
    quantity: int | None = None


def progress(order_id: int, report: Progress, now: datetime) -> bool:
    """Record a status check of a sent order; a final status finishes it. Returns True if it moved."""
    return progress_many({order_id: report}, now) == 1


def progress_many(reports: Mapping[int, Progress], now: datetime) -> int:
    """Record a batch of status checks in one transaction and a handful of queries.

    An order that did not move is asked again later and later (check_delay);
    one that reached a final status is finished, with its refund. Returns how
    many orders moved.
    """
    with transaction.atomic():
        lock_parents(list(reports))  # a run's parent before the run (see orders.dripfeed)
        orders = Order.objects.select_for_update().filter(pk__in=list(reports), provider_state=P.SENT)
        still: dict[int, list[int]] = defaultdict(list)  # new unchanged_checks -> ids
        moving: list[Order] = []
        costs: dict[int, Decimal] = {}
        finished = 0
        fields = (
            "id",
            "kind",
            "parent",
            "status",
            "start_count",
            "remains",
            "quantity",
            "unchanged_checks",
            "cost",
        )
        for order in orders.exclude(status__in=Order.FINAL).only(*fields).order_by("id"):
            report = reports[order.pk]
            if report.charge is not None and report.charge != order.cost:
                costs[order.pk] = report.charge
            if report.quantity is not None and true_up(order.pk, report.quantity, now):
                order.refresh_from_db(fields=["quantity", "remains"])
            if report.status in REPORTED_ENDS:
                finish(
                    order.pk,
                    str(report.status),
                    report.remains,
                    now,
                    start_count=report.start_count,
                    parent_locked=True,
                )
                finished += 1
            elif _apply(order, report):
                moving.append(order)
            else:
                still[order.unchanged_checks + 1].append(order.pk)
        # A few statements for the whole batch, however many orders it holds.
        _set_by_id("cost", costs)
        _record_moves(moving, now)
        for parent_id in sorted({o.parent_id for o in moving if o.kind == Order.Kind.RUN and o.parent_id}):
            settle_dripfeed(parent_id, now)  # the drip-feed order follows its runs
        for checks, ids in still.items():
            Order.objects.filter(pk__in=ids).update(
                unchanged_checks=checks, next_check_at=now + check_delay(checks), updated_at=now
            )
    return finished + len(moving)


def _set_by_id(column: str, values: Mapping[int, Any], **more: Any) -> None:
    """UPDATE ... SET column = CASE id WHEN ... END (one value per order) for the orders in `values`.

    `more`: further columns, each a mapping by id like `values`, or one value for all.
    Not Django's bulk_update: measured again for issue 11 (bench/README.md), it doubled the
    time of a sync cycle (its CASE expressions cost more to build than the query to run).
    """
    if not values:
        return
    ids = list(values)
    sets, params = [], []
    for name, given in {column: values, **more}.items():
        if isinstance(given, Mapping):
            sets.append(f"{name} = CASE id " + "WHEN %s THEN %s " * len(ids) + "END")
            params += [item for pk in ids for item in (pk, given[pk])]
        else:
            sets.append(f"{name} = %s")
            params.append(given)
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Order._meta.db_table} SET {', '.join(sets)} WHERE id IN ({marks})", [*params, *ids]
        )


def _record_moves(orders: list[Order], now: datetime) -> None:
    """One UPDATE for all orders that moved (their values differ: CASE on the id), one INSERT of events."""
    if not orders:
        return
    stamp = connection.ops.adapt_datetimefield_value
    _set_by_id(
        "status",
        {o.pk: o.status for o in orders},
        start_count={o.pk: o.start_count for o in orders},
        remains={o.pk: o.remains for o in orders},
        unchanged_checks=0,
        next_check_at=stamp(now + check_delay(0)),
        updated_at=stamp(now),
    )
    events.record_many(
        E.PROGRESS,
        ((o.pk, {"status": o.status, "remains": o.remains, "start_count": o.start_count}) for o in orders),
        now,
    )


def _apply(order: Order, report: Progress) -> bool:
    before = (order.status, order.start_count, order.remains)
    if report.status in {S.PENDING, S.IN_PROGRESS, S.PROCESSING}:
        order.status = report.status
    if report.start_count is not None:
        order.start_count = report.start_count
    if report.remains is not None:
        order.remains = max(0, min(report.remains, order.quantity))
    return (order.status, order.start_count, order.remains) != before


def finish(
    order_id: int,
    status: str,
    remains: int | None,
    now: datetime,
    *,
    start_count: int | None = None,
    parent_locked: bool = False,
) -> bool:
    """End an order: Completed, Partial or Canceled, refunding the undelivered part once.

    `parent_locked`: the caller holds the lock of the order's drip-feed parent already.
    """
    with transaction.atomic():
        if not parent_locked:
            lock_parents([order_id])  # a run's parent before the run (see orders.dripfeed)
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status in Order.FINAL:
            return False
        units = order.quantity * (order.runs or 1)
        if status == S.COMPLETED:
            remains = 0
        elif status == S.CANCELED or remains is None:
            remains = units
        order.status, order.remains = status, max(0, min(remains, units))
        order.finished_at = order.updated_at = now
        order.next_check_at = None
        if start_count is not None:
            order.start_count = start_count
        order.save(
            update_fields=["status", "remains", "finished_at", "updated_at", "next_check_at", "start_count"]
        )
        amount = refund_due(order.charge, status, order.remains, units)
        refund = creating.refund(order.user_id, order.pk, amount, now)
        facts = dict(status=status, remains=order.remains, start_count=order.start_count, refund=str(refund))
        _event(order_id, E.FINISHED, now, **facts)
        if order.parent_id is not None and order.kind == Order.Kind.RUN:
            settle_dripfeed(order.parent_id, now)
    return True


def refund_due(charge: Decimal, status: str, remains: int, units: int) -> Decimal:
    """What finishing an order with `status` and `remains` (of `units`) refunds: all of a
    canceled order's charge, else the undelivered part (rounded down by ledger.money)."""
    return charge if status == S.CANCELED else refund_for(charge, remains, units)


def cancels_forwarded(refusals: Mapping[int, str | None], order_ids: list[int], now: datetime) -> int:
    """The provider was asked to cancel these orders; `refusals`: its no, by order (None: accepted).

    The refund comes when the provider reports the order Canceled or Partial. Returns how
    many orders were recorded (an order whose cancel was recorded before is left alone).
    """
    done = 0
    with transaction.atomic():
        for order_id in order_ids:
            if not Order.objects.filter(pk=order_id, cancel_forwarded_at__isnull=True).update(
                cancel_forwarded_at=now, updated_at=now
            ):
                continue
            refusal = refusals.get(order_id, "no answer for this order")
            _event(order_id, E.CANCEL_FORWARDED, now, accepted=refusal is None, refusal=refusal)
            done += 1
    return done
