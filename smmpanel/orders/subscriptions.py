"""Subscriptions: one order per new post, charged when it is created.

The subscription itself is sent to its provider like an order; the engine then
asks the provider which posts it has seen and hands the answer here. Each new
post becomes a child order, charged at the customer's rate from when they
subscribed. Without the money for a post the subscription pauses, and resumes
once the balance covers it. It ends when canceled, when its provider says so,
after its last post, or on its expiry date.
"""

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.db import transaction

from smmpanel.ledger.money import charge_for, refund_for
from smmpanel.orders import creating, events
from smmpanel.orders.creating import NewOrder
from smmpanel.orders.models import Order

S, P = Order.Status, Order.ProviderState
FOLLOWED = (S.ACTIVE, S.PAUSED)
# What a provider may say of a whole subscription.
_ENDS = (S.COMPLETED, S.EXPIRED, S.CANCELED)


class PostSeen(Protocol):
    """A post the provider saw: its key, its units, and the order it made for it upstream, if any."""

    @property
    def key(self) -> str: ...
    @property
    def quantity(self) -> int: ...
    @property
    def provider_order_id(self) -> str: ...


def check_every() -> timedelta:
    """How often a subscription's provider is asked about new posts (SMMPANEL_SUBSCRIPTION_CHECK_SECONDS)."""
    return timedelta(seconds=settings.SMMPANEL_SUBSCRIPTION_CHECK_SECONDS)


def followed(
    subscription_id: int, posts: Sequence[PostSeen] | None, verdict: str | None, now: datetime
) -> int:
    """Record what the provider said of a subscription (`posts` None: it could not be asked).

    Creates and charges the orders of new posts, pauses or resumes, and ends the
    subscription when it is over. Returns how many post orders were created.
    """
    with transaction.atomic():
        sub = Order.objects.select_for_update().get(pk=subscription_id)
        if sub.status not in FOLLOWED:
            return 0
        created = 0
        if posts is not None and sub.cancel_requested_at is None:
            created = _new_posts(sub, posts, now)
        ending = _ending(sub, verdict, now)
        if ending is not None:
            sub.status, sub.finished_at, sub.next_check_at = ending, now, None
            events.record(sub.pk, events.Kind.FINISHED, now, status=ending)
        else:
            sub.next_check_at = now + check_every()
        sub.updated_at = now
        sub.save(update_fields=["status", "finished_at", "next_check_at", "updated_at"])
    return created


def _ending(sub: Order, verdict: str | None, now: datetime) -> str | None:
    if sub.cancel_requested_at is not None:
        return S.CANCELED
    if verdict in _ENDS:
        return verdict
    limit = sub.params.get("posts")
    if limit and sub.children.count() >= int(str(limit)):
        return S.COMPLETED
    expiry = sub.params.get("expiry")
    if expiry and now.date() > date.fromisoformat(str(expiry)):
        return S.EXPIRED
    return None


def _new_posts(sub: Order, posts: Sequence[PostSeen], now: datetime) -> int:
    known = {child["post"] for child in sub.children.values_list("params", flat=True) if "post" in child}
    limit = sub.params.get("posts")
    room = int(str(limit)) - len(known) if limit else len(posts)
    created = 0
    for notice in posts:
        if notice.key in known or created >= room:
            continue
        if not _charged_post(sub, notice, now):
            _pause(sub, now)
            return created
        _resume(sub, now)
        known.add(notice.key)
        created += 1
    return created


def _pause(sub: Order, now: datetime) -> None:
    """Not enough money for a post: the subscription waits (the caller saves its status)."""
    if sub.status != S.PAUSED:
        sub.status = S.PAUSED
        events.record(sub.pk, events.Kind.PAUSED, now, reason="balance")


def _resume(sub: Order, now: datetime) -> None:
    if sub.status == S.PAUSED:
        sub.status = S.ACTIVE
        events.record(sub.pk, events.Kind.RESUMED, now)


def _charged_post(sub: Order, notice: PostSeen, now: datetime) -> bool:
    """Create and charge the order of one post; False (and nothing created) without the money."""
    rate = Decimal(str(sub.params.get("rate") or sub.service.rate))
    charge = charge_for(rate, notice.quantity)
    upstream = bool(notice.provider_order_id)
    listed = sub.service.provider_service
    # Until the provider tells what it charged (status sync), the cost is its listed rate,
    # in the panel's currency.
    cost = None
    if listed and upstream:
        cost = listed.provider.in_panel_currency(charge_for(listed.rate, notice.quantity))
    post = NewOrder(
        user_id=sub.user_id,
        service_id=sub.service_id,
        parent_id=sub.pk,
        kind=Order.Kind.POST,
        link=sub.link,
        quantity=notice.quantity,
        params={"post": notice.key},
        charge=charge,
        source=sub.source,
        api_key_id=sub.api_key_id,
        provider_state=P.SENT if upstream else P.QUEUED,
        provider_order_id=notice.provider_order_id,
        sent_at=now if upstream else None,
        next_check_at=now + check_every() if upstream else None,
        cost=cost,
        provider_id=sub.provider_id if upstream else None,
    )
    try:
        with transaction.atomic():
            post_id = creating.create(post, now, post=notice.key)
            creating.charge(sub.user_id, post_id, charge, now)
    except creating.InsufficientFunds:
        return False
    return True


def true_up(order_id: int, quantity: int, now: datetime) -> bool:
    """A post charged for more units than its provider gives it: refund the difference, once.

    A post a provider made itself is charged at the subscription's `max`, the provider
    telling its real number of units only later. From then on the post is that many
    units for its share of the charge; its remains and any later refund count from there.
    Returns True if this report changed the post (a replay changes nothing).
    """
    with transaction.atomic():
        post = Order.objects.select_for_update().get(pk=order_id)
        if post.kind != Order.Kind.POST or not 0 < quantity < post.quantity or post.status in Order.FINAL:
            return False
        refund = refund_for(post.charge, post.quantity - quantity, post.quantity)
        refunded = creating.refund(post.user_id, post.pk, refund, now, reason="true-up")
        if refunded != refund:
            return False  # trued up before (its reference is taken): once, whatever the reports
        was = post.quantity
        post.charge -= refunded
        post.quantity = quantity
        post.remains = min(post.remains, quantity)
        post.updated_at = now
        post.save(update_fields=["charge", "quantity", "remains", "updated_at"])
        events.record(
            post.pk, events.Kind.TRUED_UP, now, quantity=quantity, ordered=was, refund=str(refunded)
        )
    return True
