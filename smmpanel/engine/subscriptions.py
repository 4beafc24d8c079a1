"""Subscriptions: ask each due subscription's provider which posts it has seen.

The call runs outside any transaction; creating and charging the posts' orders,
pausing, resuming and ending the subscription are `orders.subscriptions`'s.
"""

import logging
from datetime import datetime

from smmpanel.engine.upstream import subscription_request
from smmpanel.orders import subscriptions
from smmpanel.orders.models import Order
from smmpanel.providers.adapters import adapter_for
from smmpanel.providers.client import UpstreamError

log = logging.getLogger("smmpanel.engine")
P = Order.ProviderState


def follow(now: datetime, *, limit: int = 100) -> int:
    """Create and charge the orders of new posts for every subscription that is due."""
    due = Order.objects.filter(
        kind=Order.Kind.SUBSCRIPTION,
        provider_state=P.SENT,
        status__in=subscriptions.FOLLOWED,
        next_check_at__lte=now,
    ).select_related("provider", "service__provider")[:limit]
    done = 0
    for subscription in due:
        provider = subscription.upstream  # followed even if disabled since: it has the subscription
        if provider is None:
            continue
        adapter = adapter_for(provider)
        try:
            report = adapter.subscription(subscription_request(subscription), now)
        except UpstreamError as exc:
            log.warning("subscription #%s: provider check failed: %s", subscription.pk, exc)
            report = None
        finally:
            adapter.flush()
        posts, verdict = (None, None) if report is None else (report.posts, report.status)
        done += subscriptions.followed(subscription.pk, posts, verdict, now)
    return done
