"""The queues: lists of what needs a person now (orders in doubt, refused, stuck, to fulfil by hand,
cancels and refills asked for, bank transfers to confirm), each with its actions inline."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from smmpanel.console.guard import can, refused, staff_view
from smmpanel.orders import listing
from smmpanel.payments.models import Payment
from smmpanel.payments.queues import late_gateway_deposits, pending_transfers

PER_PAGE = 50


def pending_deposits(now: datetime) -> QuerySet[Payment]:
    return pending_transfers().select_related("user")


def late_deposits(now: datetime) -> QuerySet[Payment]:
    return late_gateway_deposits(now).select_related("user")


@dataclass(frozen=True)
class Queue:
    name: str
    label: Promise
    about: Promise
    rows: Callable[[datetime], QuerySet]  # type: ignore[type-arg]
    capability: str = "orders"
    actions: tuple[str, ...] = ()  # the order actions offered on each row (console/views/actions.py)
    template: str = "console/queues/orders.html"


QUEUES = [
    Queue(
        "in-doubt",
        _("In doubt"),
        _(
            "The send may or may not have reached the provider. Ask the provider, then resolve: "
            "it has the order (give its id), it never got it (send again), or cancel and refund."
        ),
        lambda now: listing.in_doubt(),
        actions=("resolve_has_it", "resolve_never_got_it", "resolve_cancel"),
    ),
    Queue(
        "failed",
        _("Refused"),
        _("The provider refused these orders and they are held: send them again, move them or cancel them."),
        lambda now: listing.refused(),
        actions=("resend", "cancel_and_refund"),
    ),
    Queue(
        "stuck",
        _("Stuck"),
        _("Running orders with no progress for longer than their service allows."),
        listing.stuck,
        actions=("mark_completed", "cancel_and_refund"),
    ),
    Queue(
        "manual",
        _("To fulfil by hand"),
        _("Orders of services the panel's staff fulfil: record their progress, then complete them."),
        lambda now: listing.to_fulfil_by_hand(),
        actions=("mark_completed", "mark_partial"),
    ),
    Queue(
        "provider-off",
        _("Provider disabled"),
        _(
            "Orders not sent yet whose provider is disabled and whose service has no usable fallback: "
            "they wait. Enable the provider, give the order another provider from its page, or cancel "
            "and refund it."
        ),
        lambda now: listing.waiting_for_a_disabled_provider(),
        actions=("cancel_and_refund",),
    ),
    Queue(
        "cancels",
        _("Cancels asked"),
        _("Customers asked to cancel these orders; they have not ended yet."),
        lambda now: listing.cancels_asked(),
        actions=("cancel_and_refund",),
    ),
    Queue(
        "refills",
        _("Refills asked"),
        _("Refills customers asked for that have not been passed to the provider yet."),
        lambda now: listing.refills_waiting(),
        template="console/queues/refills.html",
    ),
    Queue(
        "deposits",
        _("Bank transfers"),
        _("Bank transfers customers announced, waiting to be confirmed or rejected."),
        pending_deposits,
        capability="deposits",
        template="console/queues/deposits.html",
    ),
    Queue(
        "late-deposits",
        _("Gateway payments waiting"),
        _(
            "Deposits through a gateway still pending or paid longer than the worker's polling delay: "
            "check each with the gateway from its page."
        ),
        late_deposits,
        capability="deposits",
        template="console/queues/deposits.html",
    ),
]
BY_NAME = {queue.name: queue for queue in QUEUES}


@staff_view("orders")
def queue_index(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    shown = [(queue, queue.rows(now).count()) for queue in QUEUES if can(request, queue.capability)]
    return render(request, "console/queues/index.html", {"queues": shown, "nav": "queues"})


@staff_view("orders")
def queue(request: HttpRequest, name: str) -> HttpResponse:
    found = BY_NAME.get(name)
    if found is None:
        raise Http404
    if not can(request, found.capability):
        return refused(request, getattr(request, "console_role", ""))
    page = Paginator(found.rows(timezone.now()), PER_PAGE).get_page(request.GET.get("page"))
    context = {"queue": found, "page": page, "inline": found.actions, "nav": "queues"}
    return render(request, found.template, context)
