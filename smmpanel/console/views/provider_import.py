"""A provider's import page: the services it lists that we do not sell yet, filtered by its
category and type, ticked and imported at a pricing rule into its own category or one of ours;
and the button that reads its list now (for this page and the sync page). Administrators only."""

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from smmpanel.accounts.models import User
from smmpanel.catalog.models import Provider
from smmpanel.console.auditing import audit_action
from smmpanel.console.guard import staff_view
from smmpanel.console.listing_forms import ImportFilter, RuleForm, chosen_ids
from smmpanel.providers import importing, listing

SHOWN_AT_MOST = 1000


def _page(
    request: HttpRequest, provider: Provider, form: RuleForm, error: str = "", status: int = 200
) -> HttpResponse:
    offered = importing.not_sold(provider)
    filters = ImportFilter(offered, request.GET or None)
    shown = filters.filtered(offered).order_by("category", "name", "id")
    context: dict[str, Any] = {
        "nav": "providers",
        "provider": provider,
        "filters": filters,
        "form": form,
        "error": error,
        "services": list(shown[:SHOWN_AT_MOST]),
        "more": max(shown.count() - SHOWN_AT_MOST, 0),
        "never_read": provider.listing_read_at is None and not provider.services.exists(),
        "query": request.GET.urlencode(),
    }
    return render(request, "console/providers/import.html", context, status=status)


@staff_view("providers")
def provider_import(request: HttpRequest, provider_id: int) -> HttpResponse:
    provider = get_object_or_404(Provider, pk=provider_id)
    if request.method != "POST":
        return _page(request, provider, RuleForm.for_provider(provider))
    form = RuleForm(request.POST)
    try:
        selected = chosen_ids(request.POST, "service")
    except ValueError as exc:
        return _page(request, provider, form, str(exc), status=400)
    if not form.is_valid() or not selected:
        error = "" if selected else _("Tick at least one service to import.")
        form.is_valid()
        return _page(request, provider, form, error, status=400)
    rule = form.price_rule()
    user = request.user
    assert isinstance(user, User)
    with transaction.atomic():
        result = importing.import_services(
            provider, rule, selected, category=form.cleaned_data["category"], by=user, now=timezone.now()
        )
        audit_action(
            request,
            "provider.import",
            object_type="provider",
            object_id=provider.pk,
            after={
                "rule": {k: str(v) for k, v in rule.fields().items()},
                "created": [s.pk for s in result.created],
                "not_imported": [u.external_id for u, _why in result.skipped],
            },
        )
    context = {"nav": "providers", "provider": provider, "result": result, "rule": rule}
    return render(request, "console/providers/imported.html", context)


@staff_view("providers")
@require_POST
def provider_read(request: HttpRequest, provider_id: int) -> HttpResponseBase:
    """Read the provider's list now (the call outside any transaction), then back to the page."""
    provider = get_object_or_404(Provider, pk=provider_id)
    then = "console:provider_import" if request.POST.get("then") == "import" else "console:provider_sync"
    result = listing.read(provider)
    with transaction.atomic():
        audit_action(
            request,
            "provider.read_list",
            object_type="provider",
            object_id=provider.pk,
            after={
                "error": result.error,
                "listed": result.listed,
                "lines": result.lines,
                "disabled": [s.pk for s in result.disabled],
                "flagged": [s.pk for s in result.flagged],
            },
        )
    if result.error:
        messages.error(request, _("Reading the list failed: %(error)s") % {"error": result.error})
    else:
        read = ngettext("Read %(listed)s service.", "Read %(listed)s services.", result.listed)
        found = ngettext(
            "%(lines)s change found or updated.", "%(lines)s changes found or updated.", result.lines
        )
        values = {"listed": result.listed, "lines": result.lines}
        messages.success(request, f"{read % values} {found % values}")
    if result.disabled:
        messages.warning(
            request,
            ngettext(
                "The loss guard disabled %(count)s service that now costs more than it sells for.",
                "The loss guard disabled %(count)s services that now cost more than they sell for.",
                len(result.disabled),
            )
            % {"count": len(result.disabled)},
        )
    return redirect(reverse(then, args=[provider.pk]))
