"""The customer's home: balance, spend, orders by status, recent orders."""

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import Promise

from smmpanel.accounts.models import User
from smmpanel.ledger import totals
from smmpanel.orders.models import STATUS_LABELS, Order

RECENT = 10
S = Order.Status
# Always shown, even at zero; subscription statuses only when the customer has some.
MAIN_STATUSES = (S.PENDING, S.IN_PROGRESS, S.PROCESSING, S.COMPLETED, S.PARTIAL, S.CANCELED)


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: Promise
    count: int

    @property
    def css(self) -> str:
        return self.status.replace("_", "-")


def status_counts(user: User) -> list[StatusCount]:
    """How many of the customer's orders (not drip-feed runs or subscription posts) are in each status."""
    rows = (
        Order.objects.filter(user=user, parent__isnull=True)
        .order_by()
        .values("status")
        .annotate(n=Count("id"))
    )
    counts = {row["status"]: row["n"] for row in rows}
    return [
        StatusCount(status, label, counts.get(status, 0))
        for status, label in STATUS_LABELS.items()
        if status in MAIN_STATUSES or counts.get(status)
    ]


def _target(order: Order) -> str:
    """Where the order delivers: its link, or the account a subscription follows."""
    username = order.params.get("username", "") if isinstance(order.params, dict) else ""
    return order.link or str(username)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    counts = status_counts(user)
    recent = list(
        Order.objects.filter(user=user, parent__isnull=True)
        .select_related("service")
        .only("id", "link", "charge", "status", "created_at", "service__name", "kind", "params")
        .order_by("-id")[:RECENT]
    )
    context = {
        "nav": "dashboard",
        "spent": totals.spent(totals.by_kind(user.pk)),
        "counts": counts,
        "total_orders": sum(c.count for c in counts),
        "recent": [
            (
                order,
                STATUS_LABELS.get(order.status, order.status),
                order.status.replace("_", "-"),
                _target(order),
            )
            for order in recent
        ],
    }
    return render(request, "web/dashboard.html", context)
