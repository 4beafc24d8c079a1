"""A provider's actions: test the connection (a balance call, its answer or error shown and
stored), switch it off or on, and one recorded call's request and answer. Each change is audited
in the transaction that writes it; the balance call is made before, outside any transaction."""

import json

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from smmpanel.catalog.models import Provider
from smmpanel.console.auditing import audit_action
from smmpanel.console.guard import staff_view
from smmpanel.console.provider_forms import OUTCOME_LABELS, check_problem
from smmpanel.console.views.deposits import readable
from smmpanel.console.views.providers import detail_page
from smmpanel.ledger.money import amount_text
from smmpanel.providers import balances, connection, registry
from smmpanel.providers.models import UpstreamCall


@staff_view("providers")
@require_POST
def test_connection(request: HttpRequest, provider_id: int) -> HttpResponseBase:
    provider = get_object_or_404(Provider, pk=provider_id)
    if provider.kind != Provider.Kind.API_V2 or not provider.url:
        messages.error(request, _("Only an API provider with an address has a connection to test."))
        return detail_page(request, provider, status=400)
    outcome: connection.Balance | connection.CheckFailed
    try:
        outcome = balances.ask(provider)
    except connection.CheckFailed as failure:
        outcome = failure
    with transaction.atomic():
        balances.store(provider, outcome, timezone.now())
        after: dict[str, object]
        if isinstance(outcome, connection.CheckFailed):
            after = {"error": str(outcome)}
        else:
            after = {"balance": outcome.amount, "currency": outcome.currency}
        audit_action(request, "provider.test", object_type="provider", object_id=provider.pk, after=after)
    if isinstance(outcome, connection.CheckFailed):
        messages.error(request, check_problem(outcome))
    else:
        shown = f"{amount_text(outcome.amount, 'exact')} {outcome.currency or provider.currency}"
        messages.success(request, _("The connection works: balance %(balance)s.") % {"balance": shown})
    return redirect("console:provider", provider.pk)


@staff_view("providers")
@require_POST
def switch(request: HttpRequest, provider_id: int, enabled: bool) -> HttpResponseBase:
    provider = get_object_or_404(Provider, pk=provider_id)
    with transaction.atomic():
        changed = registry.set_enabled(provider.pk, enabled)
        if changed:
            audit_action(
                request,
                "provider.enable" if enabled else "provider.disable",
                object_type="provider",
                object_id=provider.pk,
                before={"enabled": not enabled},
                after={"enabled": enabled},
            )
    if not changed:
        messages.info(request, _("Nothing changed."))
    elif enabled:
        messages.success(
            request, _("%(name)s is on: its services take orders again.") % {"name": provider.name}
        )
    else:
        messages.success(
            request,
            _("%(name)s is off: its services take no new orders; orders already sent go on.")
            % {"name": provider.name},
        )
    return redirect("console:provider", provider.pk)


@staff_view("providers")
def call_detail(request: HttpRequest, provider_id: int, call_id: int) -> HttpResponse:
    call = get_object_or_404(
        UpstreamCall.objects.select_related("provider"), pk=call_id, provider_id=provider_id
    )
    context = {
        "provider": call.provider,
        "call": call,
        "outcome": OUTCOME_LABELS.get(call.outcome, call.outcome),
        "sent": json.dumps(call.request, indent=2, ensure_ascii=False, sort_keys=True),
        "answer": readable(call.response),
        "nav": "providers",
    }
    return render(request, "console/providers/call.html", context)
