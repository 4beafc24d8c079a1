"""A provider's sync page: what changed in its list since the panel last knew it, line by line,
each accepted, skipped or left for later in one form; "apply the pricing rule to every cost
change" in one click; and the services the loss guard disabled or flagged. Nothing we sell
changes until Apply. The rules are providers/decisions.py's; each apply is audited in its
transaction. Administrators only."""

from django.conf import settings
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
from smmpanel.console.listing_forms import ACCEPT, LATER, SKIP, CategoryChoice, decisions
from smmpanel.providers import decisions as deciding
from smmpanel.providers.diff import diff


def _page(
    request: HttpRequest, provider: Provider, form: CategoryChoice, error: str = "", status: int = 200
) -> HttpResponse:
    context = {
        "nav": "providers",
        "provider": provider,
        "diff": diff(provider),
        "form": form,
        "error": error,
        "choices": [(ACCEPT, _("Accept")), (SKIP, _("Skip")), (LATER, _("Later"))],
        "disable_unprofitable": settings.SMMPANEL_DISABLE_UNPROFITABLE,
    }
    return render(request, "console/providers/sync.html", context, status=status)


@staff_view("providers")
def provider_sync(request: HttpRequest, provider_id: int) -> HttpResponseBase:
    provider = get_object_or_404(Provider, pk=provider_id)
    if request.method != "POST":
        return _page(request, provider, CategoryChoice())
    form = CategoryChoice(request.POST)
    try:
        accept, skip = decisions(request.POST)
    except ValueError as exc:
        return _page(request, provider, form, str(exc), status=400)
    if not form.is_valid():
        return _page(request, provider, form, status=400)
    if not accept and not skip:
        return _page(request, provider, form, _("Choose Accept or Skip for at least one line."), status=400)
    user = request.user
    assert isinstance(user, User)
    with transaction.atomic():
        done = deciding.decide(
            provider, accept, skip, by=user, category=form.cleaned_data["category"], now=timezone.now()
        )
        audit_action(
            request,
            "provider.sync_apply",
            object_type="provider",
            object_id=provider.pk,
            after=done.summary(),
        )
    _tell(request, done)
    return redirect(reverse("console:provider_sync", args=[provider.pk]))


@staff_view("providers")
@require_POST
def provider_sync_rule(request: HttpRequest, provider_id: int) -> HttpResponseBase:
    """Accept every pending cost change: each service selling one repriced by the provider's rule."""
    provider = get_object_or_404(Provider, pk=provider_id)
    user = request.user
    assert isinstance(user, User)
    with transaction.atomic():
        done = deciding.rule_to_every_cost_change(provider, by=user, now=timezone.now())
        audit_action(
            request, "provider.sync_rule", object_type="provider", object_id=provider.pk, after=done.summary()
        )
    _tell(request, done)
    return redirect(reverse("console:provider_sync", args=[provider.pk]))


def _tell(request: HttpRequest, done: deciding.Decided) -> None:
    accepted, skipped = len(done.accepted), len(done.skipped)
    messages.success(
        request,
        ngettext("%(count)s line accepted", "%(count)s lines accepted", accepted) % {"count": accepted}
        + ", "
        + ngettext("%(count)s skipped.", "%(count)s skipped.", skipped) % {"count": skipped},
    )
    for line, why in done.refused:
        messages.error(
            request,
            _("Not accepted: %(name)s: %(why)s") % {"name": line.provider_service.name, "why": why},
        )
    if done.gone_already:
        messages.info(request, _("Some lines had been decided already; they were left as they were."))
