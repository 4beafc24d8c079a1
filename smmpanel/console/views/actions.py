"""The order actions as views: one order (its page, a queue's row), a Partial's refund shown before
confirming, and many orders at once from the list. Each is a POST with its CSRF token, held by
`order_actions`; it calls orders.operator and records the action in the audit log in the same
transaction, per order. A refusal (orders.operator.Refused) changes nothing and says why."""

from collections.abc import Mapping
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from smmpanel.accounts.models import User
from smmpanel.console.auditing import audit_action
from smmpanel.console.guard import staff_view
from smmpanel.console.order_forms import DONE, FORMS, LABELS, BulkForm, PartialForm
from smmpanel.ledger.money import CHARGE, amount_text
from smmpanel.orders import operator
from smmpanel.orders.models import Order
from smmpanel.orders.operator import Outcome, Refused

# --- One order -------------------------------------------------------------------------------


def _back(request: HttpRequest, fallback: str) -> str:
    """Where the operator was (a queue, the list, a page of it), or `fallback`: never off the console."""
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    return target if safe and target.startswith("/console/") else fallback


def _order_page(order_id: int) -> str:
    return reverse("console:order", args=[order_id])


def _audit(request: HttpRequest, outcome: Outcome, note: str) -> None:
    after: Mapping[str, Any] = outcome.after
    if outcome.refund:
        after = {**after, "refund": format(outcome.refund, "f")}
    audit_action(
        request,
        f"order.{outcome.action}",
        object_type="order",
        object_id=outcome.order_id,
        before=outcome.before,
        after=after,
        note=note,
    )


def _done(outcome: Outcome) -> str:
    words = str(DONE[outcome.action]) % {
        "order": outcome.order_id,
        "provider": outcome.after.get("provider", ""),
    }
    if outcome.refund:
        words += " " + _("%(amount)s refunded to the customer.") % {"amount": _money(outcome.refund)}
    return words


def _money(amount: Any) -> str:
    return f"{amount_text(amount, CHARGE)} {settings.SMMPANEL_CURRENCY}"


def _errors(form: forms.Form) -> str:
    said = []
    for name, errors in form.errors.items():
        words = " ".join(str(error) for error in errors)
        said.append(f"{form.fields[name].label}: {words}" if name in form.fields else words)
    return " ".join(said)


@staff_view("order_actions")  # the guard before the method: a stranger is sent to sign in, not told 405
@require_POST
def order_action(request: HttpRequest, order_id: int, action: str) -> HttpResponse:
    form_class = FORMS.get(action)
    if form_class is None:
        raise Http404
    form = form_class(request.POST, prefix=action)
    if not form.is_valid():
        messages.error(request, _("Nothing was changed. %(errors)s") % {"errors": _errors(form)})
        return redirect(_back(request, _order_page(order_id)))
    user = request.user
    assert isinstance(user, User)
    note = form.cleaned_data["note"]
    try:
        with transaction.atomic():
            outcome = operator.ACTIONS[action](
                order_id, **form.inputs(), actor=user, now=timezone.now(), note=note
            )
            _audit(request, outcome, note)
    except Refused as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, _done(outcome))
    return redirect(_back(request, _order_page(order_id)))


@staff_view("order_actions")
def partial_preview(request: HttpRequest, order_id: int) -> HttpResponse:
    """What marking the order Partial with these remains refunds, before the operator confirms."""
    order = get_object_or_404(Order.objects.select_related("user", "service"), pk=order_id)
    form = PartialForm(request.GET, prefix="mark_partial")
    refund, refusal = None, ""
    if form.is_valid():
        try:
            refund = operator.partial_refund(order.pk, form.cleaned_data["remains"])
        except Refused as refused:
            refusal = refused.message
    context = {"order": order, "form": form, "refund": refund, "refusal": refusal, "nav": "orders"}
    context["next"] = request.GET.get("next", "")
    fragment = request.headers.get("HX-Request") == "true"
    template = "console/orders/_partial_preview.html" if fragment else "console/orders/partial.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])  # the same URL answers a page or a piece of one
    return response


# --- Many orders -------------------------------------------------------------------------------


@staff_view("order_actions")  # the guard before the method: a stranger is sent to sign in, not told 405
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """One action on the orders ticked in the list: each order in its own transaction with its audit
    record; the page lists what was done and what was refused, order by order."""
    form = BulkForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Nothing was changed. %(errors)s") % {"errors": _errors(form)})
        return redirect(_back(request, reverse("console:orders")))
    user = request.user
    assert isinstance(user, User)
    action, note = form.cleaned_data["action"], form.cleaned_data["note"]
    results = operator.apply_many(
        action,
        form.cleaned_data["orders"],
        actor=user,
        now=timezone.now(),
        audit=lambda outcome: _audit(request, outcome, note),
        note=note,
        **form.inputs(),
    )
    done = [result for result in results if isinstance(result, Outcome)]
    refused = [result for result in results if isinstance(result, Refused)]
    context = {
        "label": LABELS[action],
        "done": [(outcome.order_id, _done(outcome)) for outcome in done],
        "refused": [(refusal.order_id, refusal.message) for refusal in refused],
        "back": _back(request, reverse("console:orders")),
        "nav": "orders",
    }
    return render(request, "console/orders/bulk.html", context)
