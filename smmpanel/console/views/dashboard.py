"""The console's first page: the money of today, 7 and 30 days and its chart, what needs a person
now, orders by status, the workers' heartbeats, each provider's health and the services sold at
a loss. Every figure comes from a function of the app that owns it; this view only calls them.
Money (revenue, cost, profit, deposits, balances, losses) only for roles with `money_figures`."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from smmpanel.catalog.margins import sold_at_a_loss
from smmpanel.catalog.models import Provider
from smmpanel.console import chart, figures
from smmpanel.console.guard import can, staff_view
from smmpanel.ledger.money import amount_text
from smmpanel.orders import queues
from smmpanel.orders.figures import by_status
from smmpanel.orders.models import STATUS_LABELS, Order
from smmpanel.payments.queues import late_gateway_deposits, pending_transfers
from smmpanel.providers import beats, listing, records

LOSSES_SHOWN = 20
QUEUE_COUNTED_UP_TO = 1000
# The queues, by their name in /console/queues/<name>/, in the order a person should look at them.
QUEUE_LABELS = {
    "in-doubt": gettext_lazy("Orders in doubt (sent or not?)"),
    "failed": gettext_lazy("Refused by the provider"),
    "stuck": gettext_lazy("Stuck: no progress for too long"),
    "manual": gettext_lazy("Manual orders to fulfil"),
    "provider-off": gettext_lazy("Waiting for a disabled provider"),
    "refills": gettext_lazy("Refills waiting"),
    "cancels": gettext_lazy("Cancel requests waiting"),
    "deposits": gettext_lazy("Bank transfers to confirm"),
    "late-deposits": gettext_lazy("Gateway payments waiting too long"),
}


def _url(name: str, fallback: str) -> str:
    """A console page's URL, or its path if that page is not on this branch yet."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return fallback


def _statuses() -> list[dict[str, Any]]:
    orders = _url("console:orders", "/console/orders/")
    counts = by_status()
    return [
        {
            "status": status.value,
            "label": STATUS_LABELS[status],
            "css": status.value.replace("_", "-"),
            "count": counts.get(status.value, 0),
            "url": f"{orders}?status={status.value}",
        }
        for status in Order.Status
        if status.value in counts or status.value in Order.RUNNING
    ]


def _queues(request: HttpRequest, now: datetime) -> list[dict[str, Any]]:
    waiting = queues.counts(now, up_to=QUEUE_COUNTED_UP_TO)
    if can(request, "deposits"):  # bank transfers are finance's and the administrator's
        waiting["deposits"] = pending_transfers()[: QUEUE_COUNTED_UP_TO + 1].count()
        waiting["late-deposits"] = late_gateway_deposits(now)[: QUEUE_COUNTED_UP_TO + 1].count()
    return [
        {
            "name": name,
            "label": label,
            "count": min(waiting[name], QUEUE_COUNTED_UP_TO),
            "more": waiting[name] > QUEUE_COUNTED_UP_TO,  # shown as "1000+"
            "url": f"/console/queues/{name}/",
        }
        for name, label in QUEUE_LABELS.items()
        if name in waiting
    ]


def _listings(request: HttpRequest) -> list[dict[str, Any]]:
    """For the administrator: each provider with list changes to decide, and each whose last read
    of its list failed, linked to its sync page."""
    if not can(request, "providers"):
        return []
    lines: list[dict[str, Any]] = [
        {
            "provider": provider,
            "kind": "changes",
            "label": _("Changes in the list of %(provider)s to decide") % {"provider": provider.name},
            "count": count,
            "url": reverse("console:provider_sync", args=[provider.pk]),
        }
        for provider, count in listing.waiting()
    ]
    lines += [
        {
            "provider": provider,
            "kind": "error",
            "label": _("Reading the list of %(provider)s failed") % {"provider": provider.name},
            "count": None,
            "url": reverse("console:provider_sync", args=[provider.pk]),
        }
        for provider in listing.failed_reads()
    ]
    return lines


def _providers(money: bool) -> list[dict[str, Any]]:
    """Each provider's health over the last hour; its last known balance, in its own currency,
    only for roles that see money."""
    shown = []
    for provider in Provider.objects.order_by("-enabled", "name"):
        health = records.health(provider)
        balance = None
        if money and health.last_balance is not None:
            balance = f"{amount_text(health.last_balance, 'exact')} {provider.currency}"
        shown.append(
            {
                "provider": provider,
                "health": health,
                "balance": balance,
                "failures": health.failure_rate * 100,
                "refusals": health.refusal_rate * 100,
            }
        )
    return shown


def _rows(placed: dict[int, int], board: figures.Dashboard | None) -> list[dict[str, Any]]:
    """The table of today / 7 days / 30 days: one row per figure, a cell per period."""
    headings = dict(zip(figures.PERIODS, (_("Today"), _("7 days"), _("30 days")), strict=True))

    def row(key: str, label: str, values: dict[int, Any], is_money: bool) -> dict[str, Any]:
        cells = [{"period": n, "heading": headings[n], "value": values[n]} for n in figures.PERIODS]
        return {"key": key, "label": label, "cells": cells, "money": is_money}

    rows = [row("orders", _("Orders placed"), placed, False)]
    if board is not None:
        sums = board.periods
        for key, label in (
            ("revenue", _("Revenue")),
            ("cost", _("Provider cost")),
            ("profit", _("Profit")),
            ("deposits", _("Deposits")),
        ):
            rows.append(row(key, label, {n: getattr(f, key) for n, f in sums.items()}, True))
    return rows


@staff_view("dashboard")
def dashboard(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    money = can(request, "money_figures")
    workers = beats.workers(now)
    context: dict[str, Any] = {
        "nav": "dashboard",
        "money": money,
        "statuses": _statuses(),
        "queues": _queues(request, now),
        "listings": _listings(request),
        "workers": workers,
        "worker_running": any(not w.quiet and w.stopped_at is None for w in workers),
        "providers": _providers(money),
        "time_zone": settings.TIME_ZONE,
        "headings": [_("Today"), _("7 days"), _("30 days")],
    }
    board = None
    if money:
        board = figures.dashboard(now)
        context["days"] = board.days
        context["chart"] = chart.draw([chart.Day(day, f.revenue, f.profit) for day, f in board.days])
        losses = sold_at_a_loss()
        context["losses"], context["more_losses"] = losses[:LOSSES_SHOWN], max(len(losses) - LOSSES_SHOWN, 0)
    placed = {n: f.orders for n, f in board.periods.items()} if board else figures.orders_placed(now)
    context["rows"] = _rows(placed, board)
    return render(request, "console/dashboard.html", context)
