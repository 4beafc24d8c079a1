"""The console's categories: the list with each one's services, and create, rename, hide or show,
move up or down (forms, no JavaScript needed), a new order from a drag and drop
(console/categories.js posts it), and delete an empty one. catalog/categories.py makes the
changes; each is audited in its transaction."""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from smmpanel.catalog import categories
from smmpanel.catalog.editing import EditError
from smmpanel.catalog.offers import parse_id
from smmpanel.console.auditing import audit_action
from smmpanel.console.guard import staff_view

Change = tuple[dict[str, Any], dict[str, Any]]


def _page(request: HttpRequest, status: int = 200) -> HttpResponse:
    context = {"categories": list(categories.listed()), "nav": "categories"}
    return render(request, "console/categories.html", context, status=status)


@staff_view("catalog")
def category_list(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _refused(request: HttpRequest, message: str) -> HttpResponse:
    messages.error(request, _("Nothing was changed. %(why)s") % {"why": message})
    return _page(request, status=400)


@staff_view("catalog")
@require_POST
def category_create(request: HttpRequest) -> HttpResponse:
    try:
        with transaction.atomic():
            category = categories.create(request.POST.get("name", ""))
            after = {"name": category.name, "sort_order": category.sort_order}
            audit_action(
                request, "category.create", object_type="category", object_id=category.pk, after=after
            )
    except EditError as refusal:
        return _refused(request, refusal.message)
    messages.success(request, _("Category “%(name)s” created.") % {"name": category.name})
    return redirect("console:categories")


def _change(request: HttpRequest, category_id: int) -> tuple[str, Callable[[], Change]] | None:
    """The action the form asks for on one category, and the call that makes it."""
    action = request.POST.get("action", "")
    calls: dict[str, Callable[[], Change]] = {
        "rename": lambda: categories.rename(category_id, request.POST.get("name", "")),
        "hide": lambda: categories.set_enabled(category_id, False),
        "show": lambda: categories.set_enabled(category_id, True),
        "up": lambda: categories.step(category_id, up=True),
        "down": lambda: categories.step(category_id, up=False),
    }
    return (action, calls[action]) if action in calls else None


def _done(action: str) -> str:
    words = {
        "rename": _("Category renamed."),
        "hide": _("Category hidden from customers."),
        "show": _("Category shown to customers."),
        "up": _("Category moved up."),
        "down": _("Category moved down."),
    }
    return words[action]


@staff_view("catalog")
@require_POST
def category_update(request: HttpRequest, category_id: int) -> HttpResponse:
    found = _change(request, category_id)
    if found is None:
        return _refused(request, _("Unknown action."))
    action, call = found
    try:
        with transaction.atomic():
            before, after = call()
            audit_action(
                request,
                f"category.{action}",
                object_type="category",
                object_id=category_id,
                before=before,
                after=after,
            )
    except EditError as refusal:
        return _refused(request, refusal.message)
    messages.success(request, _done(action))
    return redirect("console:categories")


@staff_view("catalog")
@require_POST
def category_delete(request: HttpRequest, category_id: int) -> HttpResponse:
    try:
        with transaction.atomic():
            before = categories.delete(category_id)
            audit_action(
                request, "category.delete", object_type="category", object_id=category_id, before=before
            )
    except EditError as refusal:
        return _refused(request, refusal.message)
    messages.success(request, _("Category “%(name)s” deleted.") % {"name": before["name"]})
    return redirect("console:categories")


@staff_view("catalog")
@require_POST
def category_reorder(request: HttpRequest) -> HttpResponse:
    """The new order of every category, from the drag and drop: `order` = ids, comma-separated.
    Answers JSON for the script, or the page again for a form."""
    ids = [parse_id(part) for part in request.POST.get("order", "").split(",")]
    wanted = [pk for pk in ids if pk is not None]
    try:
        if len(wanted) != len(ids):
            raise EditError(_("The new order must list every category once."), "order_incomplete")
        with transaction.atomic():
            before, after = categories.reorder(wanted)
            audit_action(request, "category.reorder", object_type="category", before=before, after=after)
    except EditError as refusal:
        if request.headers.get("Accept") == "application/json":
            return JsonResponse({"error": refusal.message}, status=400)
        return _refused(request, refusal.message)
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"order": after["order"]})
    messages.success(request, _("New order saved."))
    return redirect("console:categories")
