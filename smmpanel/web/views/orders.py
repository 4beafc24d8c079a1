"""Ordering and following orders: the order form, its live price, mass orders, the list and detail.

Validation is the API's (`drafting.draft`), placing is `placement.place`, and refill
and cancel are `orders.requests`: these views parse, call them, and render.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone
from django.utils.cache import patch_vary_headers
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from smmpanel.accounts.models import User
from smmpanel.catalog.models import Category
from smmpanel.catalog.offers import Offer, categories, offer, offers, parse_id
from smmpanel.catalog.types import TYPE_LABELS
from smmpanel.ledger import totals
from smmpanel.ledger.money import CHARGE, ZERO, charge_for
from smmpanel.orders import events, listing, mass, placement
from smmpanel.orders.drafting import COUNTED_LIST, FIELDS, Draft, PlacementError, draft_ticked, not_on_sale
from smmpanel.orders.models import STATUS_LABELS, Order, OrderEvent
from smmpanel.orders.requests import (
    OrderActionError,
    cancel_allowed,
    refill_allowed,
    request_cancel,
    request_refill,
)
from smmpanel.web import errors
from smmpanel.web.forms.orders import MassOrderForm, OrderForm, expiry_shown, mass_format
from smmpanel.web.templatetags.money import money

PER_PAGE = 25
MAX_SEARCH = 100  # characters of a search in the service chooser
# A link stands in for one not typed yet, so the live price shows as soon as it is known.
PRICE_LINK = "https://example.com/"
S = Order.Status


def _customer(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # the views are login_required
    return user


def _htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _render(request: HttpRequest, full: str, fragment: str, context: dict[str, Any]) -> HttpResponse:
    """The whole page, or only its live part for htmx."""
    response = render(request, fragment if _htmx(request) else full, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- The order form -----------------------------------------------------------


@dataclass
class Choice:
    """The service chooser: a category (or a search), its services, and the one chosen."""

    categories: list[Category]
    category_id: int | None
    search: str
    offers: list[Offer]
    selected: Offer | None
    error: str = ""

    @property
    def groups(self) -> list[tuple[str, list[Offer]]]:
        grouped: dict[str, list[Offer]] = {}
        for item in self.offers:
            grouped.setdefault(item.category, []).append(item)
        return list(grouped.items())


def _choose(user_id: int, params: Mapping[str, str]) -> Choice:
    """`?category=`, `?service=` and `?search=`: what the chooser shows and which service is chosen."""
    search = params.get("search", "").strip()
    wanted = offer(user_id, params.get("service"))
    known = categories()
    category_id = parse_id(params.get("category"))
    if category_id is None and wanted is not None:
        category_id = wanted.category_id
    if category_id not in {c.pk for c in known}:
        category_id = known[0].pk if known else None
    if search:
        language = (get_language() or "").split("-")[0]
        listed = offers(user_id, search=search[:MAX_SEARCH], language=language)
    else:
        listed = offers(user_id, category_id=category_id)
    error = ""
    if params.get("service", "").strip() and wanted is None:
        error = errors.placement_message(not_on_sale(params.get("service")))
    if wanted is not None and any(o.id == wanted.id for o in listed):
        selected: Offer | None = wanted
    else:
        selected = listed[0] if listed and not error else None
    return Choice(known, category_id, search, listed, selected, error)


@dataclass
class Quote:
    """What the charge box shows."""

    charge: Decimal | None = None
    error: str = ""
    note: str = ""
    per_post: Decimal | None = None  # subscriptions: the most one post can cost
    short: bool = False  # the balance does not cover it


def _quote(chosen: Offer, draft: Draft, balance: Decimal) -> Quote:
    if chosen.subscription:
        high = int(str(draft.params.get("max", chosen.max)))
        return Quote(per_post=charge_for(chosen.rate, high))
    note = ""
    if draft.runs:
        note = _("%(quantity)s × %(runs)s runs = %(units)s") % {
            "quantity": draft.quantity,
            "runs": draft.runs,
            "units": draft.units,
        }
    elif chosen.type in COUNTED_LIST:
        note = _("%(count)s lines at the rate per 1000") % {"count": draft.quantity}
    elif chosen.package:
        note = _("One package")
    return Quote(charge=draft.charge, note=note, short=draft.charge > balance)


def _price(chosen: Offer, form: OrderForm, balance: Decimal, *, quiet: bool) -> Quote:
    """The live price of what the form holds; `quiet`: no error while nothing is typed."""
    params = form.params()
    if "link" in FIELDS[chosen.type] and not params.get("link", "").strip():
        params["link"] = PRICE_LINK  # the price does not depend on the link
    try:
        draft = draft_ticked(chosen, params, dripfeed=bool(form.data.get("dripfeed")))
    except PlacementError as error:
        return Quote() if quiet else Quote(error=errors.placement_message(error))
    return _quote(chosen, draft, balance)


def _order_page(request: HttpRequest, choice: Choice, form: OrderForm | None, quote: Quote) -> HttpResponse:
    context = {
        "nav": "order_new",
        "choice": choice,
        "offer": choice.selected,
        "form": form,
        "quote": quote,
    }
    return _render(request, "web/orders/new.html", "web/orders/_choice.html", context)


@login_required
def new(request: HttpRequest) -> HttpResponse:
    user = _customer(request)
    if request.method == "POST":
        return _place(request, user)
    choice = _choose(user.pk, request.GET)
    if choice.selected is None:
        return _order_page(request, choice, None, Quote())
    form = OrderForm(choice.selected)
    return _order_page(request, choice, form, _price(choice.selected, form, user.balance, quiet=True))


def _place(request: HttpRequest, user: User) -> HttpResponse:
    chosen = offer(user.pk, request.POST.get("service"))
    if chosen is None:
        choice = _choose(user.pk, {})
        choice.error = errors.placement_message(not_on_sale(request.POST.get("service")))
        form = OrderForm(choice.selected) if choice.selected else None
        return _order_page(request, choice, form, Quote())
    form = OrderForm(chosen, request.POST)
    if form.is_valid() and form.draft is not None:
        try:
            order_id = placement.place(
                user.pk, form.draft, source=Order.Source.WEB, idempotency_key=form.token
            )
        except PlacementError as error:
            form.reject(error)
        else:
            messages.success(request, _("Order #%(id)s is placed.") % {"id": order_id})
            return redirect("order_detail", order_id=order_id)
    quote = _quote(chosen, form.draft, user.balance) if form.draft is not None else Quote()
    choice = _choose(user.pk, {"service": str(chosen.id)})
    return _order_page(request, choice, form, quote)


@login_required
@require_http_methods(["GET", "POST"])
def price(request: HttpRequest) -> HttpResponse:
    """The charge box for what the order form holds: the live price."""
    user = _customer(request)
    data = request.POST if request.method == "POST" else request.GET
    chosen = offer(user.pk, data.get("service"))
    if chosen is None:
        quote = Quote(error=errors.placement_message(not_on_sale(data.get("service"))))
    else:
        quote = _price(chosen, OrderForm(chosen, data), user.balance, quiet=False)
    response = render(request, "web/orders/_charge.html", {"quote": quote})
    patch_vary_headers(response, ["HX-Request"])
    return response


# --- Mass order -----------------------------------------------------------------

# What each field looks like in the examples of the mass order page.
MASS_EXAMPLES: dict[str, str | Promise] = {
    "link": "https://instagram.com/p/abc",
    "comments": gettext_lazy("Great shot!;Love this"),
    "usernames": "@ann;@bob",
    "hashtags": "#sunset;#travel",
    "hashtag": "#sunset",
    "username": "ann",
    "media": "https://instagram.com/p/xyz",
    "answer_number": "2",
    "groups": "https://t.me/group1;https://t.me/group2",
    "keywords": gettext_lazy("running shoes;trail shoes"),
}


@dataclass
class MassFormat:
    """How to write a line for one type of service on sale, with an example."""

    type_name: str
    line: str
    example: str


def _mass_formats(user_id: int) -> list[MassFormat]:
    """One per type of service on sale that a mass order takes, in catalogue order."""
    first: dict[str, Offer] = {}
    for item in offers(user_id):
        if item.type in mass.FIELDS:
            first.setdefault(item.type, item)
    found = []
    for service_type, item in first.items():
        values = [str(MASS_EXAMPLES.get(name, item.min)) for name in mass.FIELDS[service_type]]
        name = str(TYPE_LABELS.get(service_type, service_type))
        found.append(MassFormat(name, mass_format(service_type), "|".join([str(item.id), *values])))
    return found


def _line_error(result: mass.LineResult) -> str:
    """Why a line of a mass order was not placed, in the customer's words."""
    if result.error is not None:
        return errors.placement_message(result.error)
    if result.problem == mass.NEEDS_FORM:
        return str(errors.MASS_NEEDS_FORM)
    if result.problem == mass.TOO_FEW_FIELDS:
        return str(errors.MASS_LINE) % {"format": mass_format(result.service_type)}
    return str(errors.MASS_FORMAT)


@login_required
def mass_order(request: HttpRequest) -> HttpResponse:
    user = _customer(request)
    form = MassOrderForm(request.POST if request.method == "POST" else None)
    results: list[mass.LineResult] = []
    if form.is_valid():
        results = mass.place_all(user.pk, form.cleaned_data["orders"], form.cleaned_data["form_token"])
        user.refresh_from_db()  # the top bar shows the balance after these orders
        # A new form for the lines that failed: the ones placed are not offered again.
        failed = "\n".join(r.line.text for r in results if not r.placed)
        form = MassOrderForm(initial={"orders": failed})
    placed = [r for r in results if r.placed]
    context = {
        "nav": "order_mass",
        "form": form,
        "results": [(r, "" if r.placed else _line_error(r)) for r in results],
        "placed": len(placed),
        "failed": len(results) - len(placed),
        "total": sum((r.charge for r in placed), ZERO),
        "formats": _mass_formats(user.pk),
    }
    return render(request, "web/orders/mass.html", context)


# --- The orders list ------------------------------------------------------------

STATUS_TABS: list[tuple[str, Promise]] = [("", gettext_lazy("All"))] + [
    (status, STATUS_LABELS[status])
    for status in (S.PENDING, S.IN_PROGRESS, S.PROCESSING, S.COMPLETED, S.PARTIAL, S.CANCELED)
]


@login_required
def orders(request: HttpRequest) -> HttpResponse:
    user = _customer(request)
    tabs = list(STATUS_TABS)
    if listing.has_subscriptions(user.pk):
        tabs.append((listing.SUBSCRIPTIONS, gettext_lazy("Subscriptions")))
    status = request.GET.get("status", "")
    if status != listing.SUBSCRIPTIONS and status not in S.values:
        status = ""
    q = request.GET.get("q", "").strip()[:200]
    found = listing.customer_orders(user.pk, status=status, search=q)
    page = Paginator(found, PER_PAGE).get_page(request.GET.get("page"))
    context = {"nav": "orders", "tabs": tabs, "status": status, "q": q, "page": page}
    return render(request, "web/orders/list.html", context)


# --- One order ------------------------------------------------------------------

EVENT_LABELS: dict[str, Promise] = dict(OrderEvent.Kind.choices)
PARAM_LABELS: dict[str, Promise] = {
    "comments": gettext_lazy("Comments"),
    "usernames": gettext_lazy("Usernames"),
    "hashtags": gettext_lazy("Hashtags"),
    "hashtag": gettext_lazy("Hashtag"),
    "username": gettext_lazy("Username"),
    "media": gettext_lazy("Media link"),
    "answer_number": gettext_lazy("Answer number"),
    "groups": gettext_lazy("Groups"),
    "keywords": gettext_lazy("Keywords"),
    "min": gettext_lazy("Minimum per post"),
    "max": gettext_lazy("Maximum per post"),
    "posts": gettext_lazy("New posts"),
    "old_posts": gettext_lazy("Existing posts"),
    "delay": gettext_lazy("Delay in minutes"),
    "expiry": gettext_lazy("Ends on"),
}
LISTS = ("comments", "usernames", "hashtags", "groups", "keywords")


@dataclass
class Event:
    created_at: datetime
    label: str
    status: str = ""  # the machine status it reached, if any
    status_label: str = ""
    facts: list[str] = field(default_factory=list)  # what tells this step from the others


@dataclass
class Param:
    label: str
    value: object
    items: list[str] = field(default_factory=list)  # a list parameter, one item a line


def _count(value: object) -> str:
    return formats.number_format(int(str(value)), use_l10n=True, force_grouping=True)


def _facts(data: Mapping[str, Any]) -> list[str]:
    """The numbers a progress or finish event holds: remains, start count, refund."""
    facts = []
    if data.get("remains") is not None:
        facts.append(_("remains %(count)s") % {"count": _count(data["remains"])})
    if data.get("start_count"):
        facts.append(_("start count %(count)s") % {"count": _count(data["start_count"])})
    if data.get("refund") and Decimal(str(data["refund"])) > 0:
        facts.append(_("%(amount)s refunded") % {"amount": money(data["refund"], CHARGE)})
    return facts


# The events whose numbers the customer reads (an operator's correction says its new value).
_WITH_FACTS = (
    OrderEvent.Kind.PROGRESS,
    OrderEvent.Kind.FINISHED,
    OrderEvent.Kind.START_COUNT_SET,
    OrderEvent.Kind.REMAINS_SET,
)


def _events(order: Order) -> list[Event]:
    found = []
    shown = order.events.exclude(kind__in=events.NOT_SHOWN).order_by("-id")
    for kind, data, created_at in shown.values_list("kind", "data", "created_at"):
        data = data if isinstance(data, dict) else {}
        status = str(data.get("status", ""))
        label = str(EVENT_LABELS.get(kind, gettext_lazy("Updated")))
        facts = _facts(data) if kind in _WITH_FACTS else []
        found.append(Event(created_at, label, status, str(STATUS_LABELS.get(status, "")), facts))
    return found


def _refunded(order: Order) -> Decimal | None:
    """What came back to the balance for a Partial or Canceled order (its runs' too), from the ledger."""
    if order.status not in (S.PARTIAL, S.CANCELED):
        return None
    return totals.refunded(order.pk)


def _params(order: Order) -> list[Param]:
    stored = order.params if isinstance(order.params, dict) else {}
    shown = []
    for name, label in PARAM_LABELS.items():
        value = stored.get(name)
        if value is None or value == "":
            continue
        if name == "expiry":
            value = expiry_shown(stored)
        items = str(value).split("\n") if name in LISTS else []
        shown.append(Param(str(label), value, items))
    return shown


def _detail_context(order: Order) -> dict[str, Any]:
    now = timezone.now()
    unfinished = order.status in Order.UNFINISHED
    return {
        "nav": "orders",
        "order": order,
        "live": unfinished,
        "children": list(order.children.order_by("id")),
        "events": _events(order),
        "refunded": _refunded(order),
        "refills": list(order.refills.order_by("-id")),
        "params": _params(order),
        "can_refill": refill_allowed(order, now),
        "can_cancel": cancel_allowed(order) and order.cancel_requested_at is None,
        "cancel_requested": unfinished and order.cancel_requested_at is not None,
    }


def _own_order(request: HttpRequest, order_id: int) -> Order:
    return get_object_or_404(
        Order.objects.select_related("service", "parent"), pk=order_id, user=_customer(request)
    )


@login_required
def detail(request: HttpRequest, order_id: int) -> HttpResponse:
    order = _own_order(request, order_id)
    return _render(request, "web/orders/detail.html", "web/orders/_live.html", _detail_context(order))


def _ask(request: HttpRequest, order_id: int, ask: Callable[[int, int], object], said: str) -> HttpResponse:
    """A customer's refill or cancel request on their own order, then back to its page."""
    order = _own_order(request, order_id)
    try:
        ask(order.user_id, order.pk)
    except OrderActionError as error:
        messages.error(request, errors.action_message(error))
    else:
        messages.success(request, said)
    return redirect("order_detail", order_id=order.pk)


@login_required
@require_POST
def refill(request: HttpRequest, order_id: int) -> HttpResponse:
    return _ask(request, order_id, request_refill, _("Refill requested."))


@login_required
@require_POST
def cancel(request: HttpRequest, order_id: int) -> HttpResponse:
    said = _("Cancel requested: whatever is not delivered is refunded.")
    return _ask(request, order_id, request_cancel, said)
