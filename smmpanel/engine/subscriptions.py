"""Subscriptions: one order per new post, charged when it is created.

The subscription itself is sent to its provider like an order. Then the worker
asks the provider which posts it has seen; each new one becomes a child order,
charged at the customer's rate from when they subscribed. Without the money
for a post, the subscription pauses, and resumes once the balance covers it.
"""

import logging
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction

from smmpanel.engine.upstream import in_panel_currency, subscription_request
from smmpanel.ledger import services as ledger
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.money import charge_for
from smmpanel.orders.models import Order, OrderEvent
from smmpanel.providers.adapters import adapter_for
from smmpanel.providers.answers import PostNotice, SubscriptionReport
from smmpanel.providers.client import UpstreamError

log = logging.getLogger("smmpanel.engine")
S, P = Order.Status, Order.ProviderState
CHECK_EVERY = timedelta(minutes=1)
FOLLOWED = (S.ACTIVE, S.PAUSED)


def follow(now: datetime, *, limit: int = 100) -> int:
    """Create and charge the orders of new posts for every subscription that is due."""
    due = Order.objects.filter(
        kind=Order.Kind.SUBSCRIPTION, provider_state=P.SENT, status__in=FOLLOWED, next_check_at__lte=now
    ).select_related("provider", "service__provider")[:limit]
    done = 0
    for subscription in due:
        provider = subscription.upstream
        if provider is None or not provider.enabled:
            continue
        adapter = adapter_for(provider)
        try:
            report = adapter.subscription(subscription_request(subscription), now)
        except UpstreamError as exc:
            log.warning("subscription #%s: provider check failed: %s", subscription.pk, exc)
            report = None
        finally:
            adapter.flush()
        done += _apply(subscription.pk, report, now)
    return done


def _apply(subscription_id: int, report: SubscriptionReport | None, now: datetime) -> int:
    with transaction.atomic():
        sub = Order.objects.select_for_update().get(pk=subscription_id)
        if sub.status not in FOLLOWED:
            return 0
        created = 0
        if report is not None and sub.cancel_requested_at is None:
            created = _new_posts(sub, report.posts, now)
        ending = _ending(sub, report, now)
        if ending is not None:
            sub.status, sub.finished_at, sub.next_check_at = ending, now, None
            OrderEvent.objects.create(order=sub, kind="finished", data={"status": ending}, created_at=now)
        else:
            sub.next_check_at = now + CHECK_EVERY
        sub.updated_at = now
        sub.save(update_fields=["status", "finished_at", "next_check_at", "updated_at"])
    return created


def _ending(sub: Order, report: SubscriptionReport | None, now: datetime) -> str | None:
    if sub.cancel_requested_at is not None:
        return S.CANCELED
    if report is not None and report.status in (S.COMPLETED, S.EXPIRED, S.CANCELED):
        return report.status
    limit = sub.params.get("posts")
    if limit and sub.children.count() >= int(str(limit)):
        return S.COMPLETED
    expiry = sub.params.get("expiry")
    if expiry and now.date() > date.fromisoformat(str(expiry)):
        return S.EXPIRED
    return None


def _new_posts(sub: Order, posts: list[PostNotice], now: datetime) -> int:
    known = {child["post"] for child in sub.children.values_list("params", flat=True) if "post" in child}
    limit = sub.params.get("posts")
    room = int(str(limit)) - len(known) if limit else len(posts)
    created = 0
    for notice in posts:
        if notice.key in known or created >= room:
            continue
        if not _charge_post(sub, notice, now):
            if sub.status != S.PAUSED:
                sub.status = S.PAUSED
                OrderEvent.objects.create(
                    order=sub, kind="paused", data={"reason": "balance"}, created_at=now
                )
            return created
        if sub.status == S.PAUSED:
            sub.status = S.ACTIVE
            OrderEvent.objects.create(order=sub, kind="resumed", created_at=now)
        known.add(notice.key)
        created += 1
    return created


def _charge_post(sub: Order, notice: PostNotice, now: datetime) -> bool:
    rate = Decimal(str(sub.params.get("rate") or sub.service.rate))
    charge = charge_for(rate, notice.quantity)
    upstream = bool(notice.provider_order_id)
    # Until the provider tells what it charged (status sync), the cost is its listed rate.
    listed = sub.service.provider_service
    provider = sub.upstream
    cost = charge_for(listed.rate, notice.quantity) if listed else None
    if provider is not None:
        cost = in_panel_currency(provider, cost)
    try:
        with transaction.atomic():
            post = Order.objects.create(
                user_id=sub.user_id,
                service_id=sub.service_id,
                parent=sub,
                kind=Order.Kind.POST,
                link=sub.link,
                quantity=notice.quantity,
                params={"post": notice.key},
                charge=charge,
                source=sub.source,
                api_key_id=sub.api_key_id,
                remains=notice.quantity,
                created_at=now,
                updated_at=now,
                provider_state=P.SENT if upstream else P.QUEUED,
                provider_order_id=notice.provider_order_id,
                sent_at=now if upstream else None,
                next_check_at=now + CHECK_EVERY if upstream else None,
                cost=cost if upstream else None,
                provider=sub.provider if upstream else None,
            )
            ledger.post(
                sub.user_id,
                -charge,
                LedgerEntry.Kind.CHARGE,
                f"order:{post.pk}:charge",
                order_id=post.pk,
                now=now,
            )
            OrderEvent.objects.create(order=post, kind="created", data={"post": notice.key}, created_at=now)
    except ledger.InsufficientFunds:
        return False
    return True
