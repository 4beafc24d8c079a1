"""The gateways page: each registered gateway with its state (on or off, usable, keys set) and a
form for its settings (console/gateway_forms.py). Keys are write-only; a gateway set up by the
environment shows so and its keys cannot be edited here. Every change is audited, without a key.
The demo gateway is not offered: only `smmpanel demo` turns it on."""

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from smmpanel.console.auditing import audit_action
from smmpanel.console.gateway_forms import PLAIN, GatewayForm, initial_for, snapshot
from smmpanel.console.guard import staff_view
from smmpanel.payments import gateways
from smmpanel.payments.gateways.base import Gateway
from smmpanel.payments.models import GatewaySetting

HIDDEN = frozenset({"demo"})  # enabled only by `smmpanel demo`, never from the console


def offered() -> list[Gateway]:
    return [g for name, g in gateways.GATEWAYS.items() if name not in HIDDEN]


def _entry(gateway: Gateway, form: GatewayForm | None = None, open_: bool = False) -> dict[str, Any]:
    config = gateways.config_for(gateway.name)
    assert config is not None
    row = GatewaySetting.objects.filter(gateway=gateway.name).first()
    if form is None:
        form = GatewayForm(gateway, config, initial=initial_for(row, gateway))
    keys = [
        {"label": c.label, "set": bool(config.key(c.name)), "env": c.env, "required": c.required}
        for c in gateway.credentials
    ]
    return {
        "gateway": gateway,
        "config": config,
        "usable": config.enabled and gateway.ready(config),
        "keys": keys,
        "form": form,
        "open": open_ or form.is_bound,  # its settings unfolded: just saved, or to correct
    }


def _page(request: HttpRequest, entries: list[dict[str, Any]], status: int = 200) -> HttpResponse:
    return render(request, "console/gateways.html", {"entries": entries, "nav": "gateways"}, status=status)


@staff_view("gateways")
def gateway_list(request: HttpRequest) -> HttpResponse:
    shown = request.GET.get("open", "")
    return _page(request, [_entry(g, open_=g.name == shown) for g in offered()])


def _apply(form: GatewayForm, row: GatewaySetting) -> list[str]:
    """Put the form's values on the locked row; returns the fields the form may change."""
    data = form.cleaned_data
    fields = [n for n in PLAIN if n in form.fields and not form.fields[n].disabled]
    for name in fields:
        setattr(row, name, data[name] if name != "base_url" else (data[name] or "").rstrip("/"))
    if not form.config.from_environment:
        row.credentials = form.keys_after({k: str(v) for k, v in row.credentials.items()})
        fields.append("credentials")
    codes = [n.removeprefix("name_") for n in form.fields if n.startswith("name_")]
    row.names = {c: data[f"name_{c}"].strip() for c in codes if data[f"name_{c}"].strip()}
    row.instructions = {
        c: data[f"instructions_{c}"].strip() for c in codes if data[f"instructions_{c}"].strip()
    }
    return [*fields, "names", "instructions", "updated_at"]


@staff_view("gateways")
@require_POST
def gateway_update(request: HttpRequest, name: str) -> HttpResponseBase:
    gateway = gateways.GATEWAYS.get(name)
    if gateway is None or name in HIDDEN:
        raise Http404
    config = gateways.config_for(name)
    assert config is not None
    form = GatewayForm(gateway, config, request.POST)
    if not form.is_valid():
        entries = [_entry(g, form if g.name == name else None) for g in offered()]
        return _page(request, entries, status=400)
    with transaction.atomic():
        GatewaySetting.objects.get_or_create(gateway=name, defaults={"enabled": gateway.on_by_default})
        row = GatewaySetting.objects.select_for_update().get(gateway=name)
        before = snapshot(row, gateway)
        fields = _apply(form, row)
        after = snapshot(row, gateway)
        changed = [k for k in after if after[k] != before[k]]
        if changed:
            row.save(update_fields=fields)
            audit_action(
                request,
                "gateway.update",
                object_type="gateway",
                object_id=name,
                before={k: before[k] for k in changed},
                after={k: after[k] for k in changed},
            )
    if changed:
        messages.success(request, _("Saved the settings of %(gateway)s.") % {"gateway": gateway.label})
    else:
        messages.info(request, _("Nothing changed."))
    return redirect(f"{reverse('console:gateways')}?open={name}#gateway-{name}")
