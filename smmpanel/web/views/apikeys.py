"""The customer's API key (created or rotated, shown once) and the API documentation."""

import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Min, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from smmpanel.accounts.models import ApiKey, User
from smmpanel.accounts.services import rotate_api_key
from smmpanel.catalog.models import Service
from smmpanel.catalog.types import TYPE_LABELS
from smmpanel.web import apidocs
from smmpanel.web.apidocs import answer


def _endpoints(request: HttpRequest) -> dict[str, str]:
    return {"v2": request.build_absolute_uri("/api/v2"), "v1": request.build_absolute_uri("/api/v1")}


def _active_keys(user: User) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=user, is_active=True)


def _api_page(request: HttpRequest, new_key: str = "", confirm_rotation: bool = False) -> HttpResponse:
    assert isinstance(request.user, User)
    keys = _active_keys(request.user).order_by("-created_at", "-id")
    context = {
        "nav": "api",
        "keys": list(keys.only("prefix", "created_at", "name")),
        "new_key": new_key,
        "confirm_rotation": confirm_rotation,
        "api_enabled": request.user.api_enabled,
        "endpoints": _endpoints(request),
    }
    response = render(request, "web/api/page.html", context)
    if new_key:
        # The raw key is in this answer only: no cache, no back-button copy.
        add_never_cache_headers(response)
    return response


@login_required
def api_page(request: HttpRequest) -> HttpResponse:
    return _api_page(request)


@login_required
@require_POST
def new_key(request: HttpRequest) -> HttpResponse:
    """Deactivate the customer's keys and show a new one, once, in this response.

    Replacing a key that works asks first (a second form, so without JavaScript too): the old key
    stops at once, for every client using it. A customer without a key gets one straight away.
    """
    assert isinstance(request.user, User)
    if request.POST.get("confirm") != "yes" and _active_keys(request.user).exists():
        return _api_page(request, confirm_rotation=True)
    _key, raw = rotate_api_key(request.user)
    return _api_page(request, new_key=raw)


def _curl(endpoint: str, action: str, params: Mapping[str, str]) -> str:
    """A copy-paste curl command; list values use bash's $'…' so the line breaks are real."""
    parts = [f"curl -s {endpoint}", "-d key=$KEY", f"-d action={action}"]
    for name, value in params.items():
        if "\n" in value:
            quoted = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
            parts.append(f"--data-urlencode {name}=$'{quoted}'")
        else:
            parts.append(f"-d {name}={value}")
    lines, line = [], parts[0]
    for part in parts[1:]:
        if len(line) + len(part) > 70:
            lines.append(line + " \\")
            line = "     " + part
        else:
            line += " " + part
    return "\n".join([*lines, line])


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _example_ids() -> dict[str, int]:
    """The panel's own service of each type, so the examples run as they are."""
    rows = (
        Service.objects.filter(enabled=True, category__enabled=True)
        .order_by()
        .values("type")
        .annotate(first=Min("id"))
    )
    return {row["type"]: row["first"] for row in rows}


def _action_examples(endpoints: dict[str, str], currency: str) -> list[dict[str, object]]:
    return [
        {
            "action": action,
            "examples": [
                {
                    "title": example.title,
                    "curl_v2": _curl(endpoints["v2"], action.name, example.params),
                    "curl_v1": _curl(endpoints["v1"], action.name, example.params),
                    "v2": _json(answer(example.v2, currency)),
                    "v1": _json(answer(example.v1, currency)),
                }
                for example in action.examples
            ],
        }
        for action in apidocs.ACTIONS
    ]


def _type_examples(endpoint: str) -> list[dict[str, object]]:
    ids = _example_ids()
    types: list[dict[str, object]] = []
    for number, doc in enumerate(apidocs.type_docs(), start=1):
        service = str(ids.get(doc.type.value, number))
        types.append(
            {
                "doc": doc,
                "code": doc.type.value,
                "name": str(TYPE_LABELS.get(doc.type, doc.type.label)),
                "api_name": doc.type.label,
                "examples": [
                    _curl(endpoint, "add", {"service": service, **params}) for params in doc.examples
                ],
                "v2": _json(apidocs.ADDED["v2"]),
                "v1": _json(apidocs.ADDED["v1"]),
            }
        )
    return types


def docs(request: HttpRequest) -> HttpResponse:
    endpoints = _endpoints(request)
    currency = settings.SMMPANEL_CURRENCY
    context = {
        "nav": "api",
        "endpoints": endpoints,
        "actions": _action_examples(endpoints, currency),
        "types": _type_examples(endpoints["v2"]),
        "currency": currency,
    }
    return render(request, "web/api/docs.html", context)
