"""The console's services: the list (filters, search, cost and margin), the bulk actions on the ticked
services or on every service the filter matches, and one service's edit. catalog/editing.py makes
the changes; these views parse, audit in the change's transaction and render."""

from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from smmpanel.catalog import editing, listing
from smmpanel.catalog.editing import BulkResult, EditError
from smmpanel.catalog.models import Service
from smmpanel.catalog.types import TYPE_LABELS
from smmpanel.console.auditing import audit_action
from smmpanel.console.catalog_forms import BulkServiceForm, ServiceFilter, ServiceForm
from smmpanel.console.guard import staff_view

PER_PAGE = 100


def _list_context(request: HttpRequest, bulk_form: BulkServiceForm | None = None) -> dict[str, Any]:
    form = ServiceFilter(request.GET)
    query = form.query()
    found = listing.services(query) if query is not None else Service.objects.none()
    page = Paginator(found, PER_PAGE).get_page(request.GET.get("page"))
    return {
        "form": form,
        "page": page,
        "rows": listing.rows(list(page.object_list)),
        "filtering": form.filtering(),
        "bulk_form": bulk_form or BulkServiceForm(),
        "type_labels": TYPE_LABELS,
        "nav": "services",
    }


@staff_view("catalog")
def service_list(request: HttpRequest) -> HttpResponse:
    return render(request, "console/services/list.html", _list_context(request))


def _errors(form: forms.Form) -> str:
    said = []
    for name, errors in form.errors.items():
        words = " ".join(str(error) for error in errors)
        said.append(
            f"{form.fields[name].label}: {words}"
            if name in form.fields and form.fields[name].label
            else words
        )
    return " ".join(said)


def _refuse(request: HttpRequest, message: str, form: BulkServiceForm) -> HttpResponse:
    messages.error(request, _("Nothing was changed. %(why)s") % {"why": message})
    return render(request, "console/services/list.html", _list_context(request, form), status=400)


def _chosen(request: HttpRequest, form: BulkServiceForm) -> list[int]:
    """The ticked services, or with "every service matching the filter" all the filter's (the
    filter is the page's query string, which the bulk form posts to)."""
    if not form.cleaned_data["every"]:
        return list(form.cleaned_data["services"])
    query = ServiceFilter(request.GET).query()
    return [] if query is None else list(listing.services(query).values_list("pk", flat=True))


def _run(form: BulkServiceForm, ids: list[int]) -> BulkResult:
    action, data, now = form.cleaned_data["action"], form.cleaned_data, timezone.now()
    if action in ("enable", "disable"):
        return editing.set_enabled(ids, action == "enable", now)
    if action == "move":
        return editing.move(ids, data["category"].pk, now)
    if action == "reprice":
        return editing.reprice(ids, form.reprice(), now)
    return editing.set_limits(ids, data.get("min"), data.get("max"), now)


def _said(result: BulkResult) -> str:
    words = ngettext("%(count)s service changed.", "%(count)s services changed.", len(result.changed)) % {
        "count": len(result.changed)
    }
    if result.left_out:
        left = "; ".join(f"#{pk}: {why}" for pk, why in result.left_out)
        words += " " + _("Left out: %(services)s.") % {"services": left}
    return words


@staff_view("catalog")  # the guard before the method: a stranger is sent to sign in, not told 405
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    form = BulkServiceForm(request.POST)
    if not form.is_valid():
        return _refuse(request, _errors(form), form)
    ids = _chosen(request, form)
    action = form.cleaned_data["action"]
    try:
        with transaction.atomic():
            result = _run(form, ids)
            if result.changed:
                audit_action(
                    request,
                    f"service.bulk_{action}",
                    object_type="service",
                    object_id=",".join(str(c.service_id) for c in result.changed),
                    before=result.audit_before(),
                    after=result.audit_after(),
                    note="; ".join(f"#{pk}: {why}" for pk, why in result.left_out),
                )
    except EditError as refusal:
        return _refuse(request, refusal.message, form)
    (messages.success if result.changed else messages.warning)(request, _said(result))
    query = request.GET.urlencode()
    return redirect(reverse("console:services") + (f"?{query}" if query else ""))


# --- One service -----------------------------------------------------------------------------


@staff_view("catalog")
def service_edit(request: HttpRequest, service_id: int) -> HttpResponse:
    service = get_object_or_404(Service.objects.select_related("category", "provider_service"), pk=service_id)
    locked = editing.has_orders(service.pk)
    if request.method != "POST":
        form = ServiceForm(initial=ServiceForm.initial_for(service), service=service, type_locked=locked)
        return _edit_page(request, service, form)
    form = ServiceForm(
        request.POST, initial=ServiceForm.initial_for(service), service=service, type_locked=locked
    )
    if not form.is_valid():
        return _edit_page(request, service, form, status=400)
    try:
        with transaction.atomic():
            change = editing.edit(service.pk, form.fields_to_save(), timezone.now())
            if change.after:
                audit_action(
                    request,
                    "service.edit",
                    object_type="service",
                    object_id=service.pk,
                    before=change.before,
                    after=change.after,
                )
    except EditError as refusal:
        form.add_error(None, refusal.message)
        return _edit_page(request, service, form, status=400)
    if change.after:
        messages.success(request, _("Service #%(id)s saved.") % {"id": service.pk})
    else:
        messages.info(request, _("Nothing to change."))
    return redirect("console:service", service_id=service.pk)


def _edit_page(request: HttpRequest, service: Service, form: ServiceForm, status: int = 200) -> HttpResponse:
    context = {"service": service, "form": form, "cost": listing.rows([service])[0], "nav": "services"}
    return render(request, "console/services/edit.html", context, status=status)
