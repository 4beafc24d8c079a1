"""The console's orders: the list of every order (filters, search, CSV of the filtered list) and an
order's page (what was asked, its money, its provider side, its history in words, the calls made
upstream for it, its runs or posts). The queries are orders.listing's; these views parse and render."""

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import formats
from django.utils.translation import gettext as _

from smmpanel.console.guard import can, staff_view
from smmpanel.console.order_forms import (
    KIND_LABELS,
    PROVIDER_STATE_LABELS,
    SOURCE_LABELS,
    BulkForm,
    OrderFilter,
    offered_forms,
)
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.money import CHARGE, amount_text
from smmpanel.orders import listing, operator
from smmpanel.orders.models import STATUS_LABELS, Order, OrderEvent
from smmpanel.providers.models import UpstreamCall

PER_PAGE = 50
CSV_CHUNK = 2000


@staff_view("orders")
def order_list(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    form = OrderFilter(request.GET)
    query = form.query()
    found = listing.operator_orders(query) if query is not None else Order.objects.none()
    if request.GET.get("format") == "csv":
        return _csv(found)
    page = Paginator(found, PER_PAGE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "filtering": form.filtering(), "nav": "orders"}
    if can(request, "order_actions"):
        context.update(bulk_actions=True, bulk_form=BulkForm(None), bulk_most=operator.MAX_BULK)
    return render(request, "console/orders/list.html", context)


# --- CSV -------------------------------------------------------------------------------------

CSV_COLUMNS = [
    "id",
    "created_at",
    "customer",
    "service_id",
    "service",
    "kind",
    "source",
    "link",
    "quantity",
    "start_count",
    "remains",
    "charge",
    "cost",
    "status",
    "provider_state",
    "provider",
    "provider_order_id",
]
# A cell a spreadsheet would read as a formula (OWASP's "CSV injection"): kept as text by a quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(text: str) -> str:
    """A customer's or a provider's words for a CSV cell, never run as a formula by a spreadsheet."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _exact(amount: Decimal | None) -> str:
    return "" if amount is None else format(amount, "f")


def _csv_row(order: Order) -> list[str | int]:
    provider = order.upstream
    return [
        order.pk,
        order.created_at.isoformat(),
        inert(order.user.username),
        order.service_id,
        inert(order.service.name),
        order.kind,
        order.source,
        inert(order.link),
        order.quantity,
        order.start_count,
        order.remains,
        _exact(order.charge),
        _exact(order.cost),
        order.status,
        order.provider_state,
        inert(provider.name) if provider else "",
        inert(order.provider_order_id),
    ]


class _Line:
    """csv.writer's file: hands back each line it writes instead of keeping it."""

    def write(self, line: str) -> str:
        return line


def _csv_lines(found: Any) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(CSV_COLUMNS)
    for order in found.iterator(chunk_size=CSV_CHUNK):
        yield writer.writerow(_csv_row(order))


def _csv(found: Any) -> StreamingHttpResponse:
    """Every order of the filtered list, streamed (no page limit), amounts with all their decimals."""
    response = StreamingHttpResponse(_csv_lines(found), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="orders.csv"'
    return response


def money(amount: Decimal, reading: str = CHARGE) -> str:
    """An amount as the console shows it (the site's `money` filter's words), e.g. "0.045 USD"."""
    return f"{amount_text(amount, reading)} {settings.SMMPANEL_CURRENCY}"


# --- One order ---------------------------------------------------------------------------------


@dataclass
class Step:
    """One line of an order's timeline: an event of its history or a ledger entry of its money."""

    at: datetime
    label: str
    facts: list[str] = field(default_factory=list)
    who: str = ""
    money: str = ""  # a charge or a refund, signed as it moved the balance
    kind: str = ""  # "event" or the ledger entry's kind


def _count(value: object) -> str:
    try:
        return formats.number_format(int(str(value)), use_l10n=True, force_grouping=True)
    except ValueError:
        return str(value)


def _fact(name: str, value: Any) -> str | None:
    """One value an event holds, in words; None for what says nothing."""
    if value is None or value == "" or value is False:
        return None
    numbers = {
        "remains": _("remains %(value)s"),
        "start_count": _("start count %(value)s"),
        "quantity": _("quantity %(value)s"),
        "ordered": _("ordered %(value)s"),
        "was": _("was %(value)s"),
        "remains_was": _("remains were %(value)s"),
        "runs_released": _("%(value)s runs released"),
    }
    if name in numbers:
        return numbers[name] % {"value": _count(value)}
    if name == "refund":
        amount = Decimal(str(value))
        return _("%(amount)s refunded") % {"amount": money(amount, CHARGE)} if amount else None
    if name in ("status", "status_was"):
        label = STATUS_LABELS.get(str(value), str(value))
        return (_("status %(value)s") if name == "status" else _("status was %(value)s")) % {"value": label}
    if name == "provider_state":
        return _("provider state %(value)s") % {"value": PROVIDER_STATE_LABELS.get(str(value), value)}
    words = {
        "provider_order_id": _("provider's order id %(value)s"),
        "reason": _("reason: %(value)s"),
        "refusal": _("refusal: %(value)s"),
        "note": _("note: %(value)s"),
        "old": _("from %(value)s"),
        "new": _("to %(value)s"),
        "run": _("run: order #%(value)s"),
        "refill": _("refill #%(value)s"),
        "policy": _("policy: %(value)s"),
    }
    if name in words:
        return words[name] % {"value": value}
    flags = {
        "provider_may_deliver": _("the provider may still deliver"),
        "requeued": _("queued to be sent again"),
        "accepted": _("accepted by the provider"),
    }
    if value is True:
        return str(flags.get(name, name.replace("_", " ")))
    return f"{name.replace('_', ' ')}: {value}"


def _event_steps(order: Order) -> list[tuple[datetime, int, Step]]:
    labels = dict(OrderEvent.Kind.choices)
    steps = []
    for event in order.events.select_related("actor").order_by("id"):
        data = event.data if isinstance(event.data, dict) else {}
        facts = [fact for name, value in data.items() if (fact := _fact(name, value))]
        label = str(labels.get(event.kind, event.kind))
        who = event.actor.username if event.actor else ""
        steps.append((event.created_at, 0, Step(event.created_at, label, facts, who, kind="event")))
    return steps


def _money_steps(order: Order) -> list[tuple[datetime, int, Step]]:
    labels = {
        LedgerEntry.Kind.CHARGE: _("Charged"),
        LedgerEntry.Kind.REFUND: _("Refunded"),
        LedgerEntry.Kind.DEPOSIT: _("Deposit"),
        LedgerEntry.Kind.ADJUSTMENT: _("Adjustment"),
    }
    steps = []
    for entry in LedgerEntry.objects.filter(order=order).select_related("actor").order_by("id"):
        facts = [entry.reference] + ([entry.memo] if entry.memo else [])
        who = entry.actor.username if entry.actor else ""
        label = str(labels.get(LedgerEntry.Kind(entry.kind), entry.kind))
        shown = money(entry.amount, CHARGE)
        step = Step(entry.created_at, label, facts, who, money=shown, kind=entry.kind)
        steps.append((entry.created_at, 1, step))
    return steps


def timeline(order: Order) -> list[Step]:
    """The order's history and its money, oldest first (an entry after the event of its moment)."""
    return [step for _at, _rank, step in sorted(_event_steps(order) + _money_steps(order), key=_when)]


def _when(item: tuple[datetime, int, Step]) -> tuple[datetime, int]:
    return item[0], item[1]


def _detail_context(request: HttpRequest, order: Order) -> dict[str, Any]:
    calls = UpstreamCall.objects.filter(order=order).select_related("provider").order_by("id")
    children = order.children.select_related("service", "provider").order_by("id")
    return {
        "order": order,
        "provider": order.upstream,
        "state_label": PROVIDER_STATE_LABELS.get(order.provider_state, order.provider_state),
        "kind_label": KIND_LABELS.get(order.kind, order.kind),
        "source_label": SOURCE_LABELS.get(order.source, order.source),
        "timeline": timeline(order),
        "calls": list(calls),
        "children": list(children),
        "refills": list(order.refills.order_by("-id")),
        "actions": offered_forms(order) if can(request, "order_actions") else [],
        "nav": "orders",
    }


@staff_view("orders")
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    found = Order.objects.select_related("user", "service", "service__provider", "provider", "parent")
    order = get_object_or_404(found, pk=order_id)
    return render(request, "console/orders/detail.html", _detail_context(request, order))
