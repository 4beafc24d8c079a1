"""Providers: the list, adding one, and a provider's page (its settings, edited there, its
health over 1 hour and 24 hours, its calls filtered and paged). An API provider's address and key
are checked with a balance call before anything is stored (providers/connection.py); the key is
write-only. The rules are providers/'s (registry, connection, overview); every change is audited,
without the key. Administrators only (`providers`)."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from smmpanel.catalog.models import Provider
from smmpanel.console.auditing import audit_action
from smmpanel.console.guard import staff_view
from smmpanel.console.provider_forms import KIND_LABELS, CallFilter, ProviderForm, check_problem
from smmpanel.ledger.money import amount_text
from smmpanel.providers import connection, overview, records, registry

PER_PAGE = 50


@staff_view("providers")
def provider_list(request: HttpRequest) -> HttpResponse:
    context = {
        "rows": overview.overview(timezone.now()),
        "panel_currency": settings.SMMPANEL_CURRENCY,
        "kinds": KIND_LABELS,
        "nav": "providers",
    }
    return render(request, "console/providers/list.html", context)


class NotSaved(Exception):
    """The form now says why nothing was saved."""


def _check(form: ProviderForm, wanted: registry.Settings) -> connection.Balance | None:
    """The balance call of an API provider whose address or key is new: its balance, or None when
    no call is needed; NotSaved when it failed."""
    if not registry.needs_check(wanted, form.provider):
        return None
    key = wanted.key or (form.provider.api_key if form.provider is not None else "")
    try:
        return connection.check(wanted.url, key, wanted.timeout_seconds)
    except connection.CheckFailed as failure:
        nothing = _("Nothing was saved.")
        form.add_error(None, f"{check_problem(failure)} {nothing}")
        raise NotSaved from None


def _write(
    request: HttpRequest, form: ProviderForm, balance: connection.Balance | None
) -> tuple[Provider, bool]:
    """Create or update in one transaction with its audit record: the provider, and whether
    anything changed. NotSaved when the name was taken meanwhile."""
    wanted, now = form.wanted(), timezone.now()
    try:
        with transaction.atomic():
            if form.provider is None:
                provider = registry.create(wanted, balance, now)
                after = registry.snapshot(provider)
                audit_action(
                    request, "provider.create", object_type="provider", object_id=provider.pk, after=after
                )
                return provider, True
            change = registry.update(form.provider.pk, wanted, balance, now)
            if change.changed:
                audit_action(
                    request,
                    "provider.update",
                    object_type="provider",
                    object_id=form.provider.pk,
                    before=change.before,
                    after=change.after,
                )
            return form.provider, change.changed
    except IntegrityError:
        form.add_error("name", _("Another provider has this name."))
        raise NotSaved from None


def _saved(request: HttpRequest, form: ProviderForm) -> Provider:
    """Check, write and say so; NotSaved (the form holds why) when nothing was saved."""
    wanted = form.wanted()
    balance = _check(form, wanted)
    provider, changed = _write(request, form, balance)
    if not changed:
        messages.info(request, _("Nothing changed."))
    elif balance is None:
        messages.success(request, _("Saved."))
    else:
        shown = f"{amount_text(balance.amount, 'exact')} {balance.currency or wanted.currency}"
        messages.success(
            request, _("Saved. The provider answered: balance %(balance)s.") % {"balance": shown}
        )
    if balance is not None and balance.currency and balance.currency != wanted.currency:
        messages.warning(
            request,
            _("The provider counts in %(said)s, but its currency here is %(ours)s.")
            % {"said": balance.currency, "ours": wanted.currency},
        )
    return provider


@staff_view("providers")
def provider_new(request: HttpRequest) -> HttpResponseBase:
    form = ProviderForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            return redirect("console:provider", _saved(request, form).pk)
        except NotSaved:
            pass
    status = 400 if form.is_bound else 200
    return render(request, "console/providers/new.html", {"form": form, "nav": "providers"}, status=status)


def detail_page(
    request: HttpRequest, provider: Provider, form: ProviderForm | None = None, status: int = 200
) -> HttpResponse:
    """A provider's page: facts, health, actions, its settings form (open when it needs
    correcting), its calls."""
    filters = CallFilter(request.GET)
    valid = filters.is_valid()
    if not valid:
        status = 400
    wanted = filters.cleaned_data if valid else {}
    calls = overview.calls(provider, wanted.get("action", ""), wanted.get("outcome", ""))
    page = Paginator(calls if valid else calls.none(), PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    (row,) = overview.overview(timezone.now(), Provider.objects.filter(pk=provider.pk))
    context: dict[str, Any] = {
        "provider": row.provider,
        "row": row,
        "health_rows": [
            (_("Last hour"), "1h", row.health),
            (_("Last 24 hours"), "24h", records.health(row.provider, overview.DAY)),
        ],
        "form": form or ProviderForm(provider=row.provider),
        "filters": filters,
        "page": page,
        "query": query.urlencode(),
        "kinds": KIND_LABELS,
        "panel_currency": settings.SMMPANEL_CURRENCY,
        "nav": "providers",
    }
    return render(request, "console/providers/detail.html", context, status=status)


@staff_view("providers")
def provider_detail(request: HttpRequest, provider_id: int) -> HttpResponseBase:
    provider = get_object_or_404(Provider, pk=provider_id)
    if request.method != "POST":
        return detail_page(request, provider)
    form = ProviderForm(request.POST, provider=provider)
    if form.is_valid():
        try:
            _saved(request, form)
            return redirect("console:provider", provider.pk)
        except NotSaved:
            pass
    return detail_page(request, provider, form, status=400)
