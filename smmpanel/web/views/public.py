"""Pages anyone may see: the landing page and the price list."""

from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from smmpanel.catalog.offers import Offer, categories, offers, parse_id


def home(request: HttpRequest) -> HttpResponse:
    base = request.build_absolute_uri("/").rstrip("/")
    return render(request, "web/home.html", {"api_v1": f"{base}/api/v1", "api_v2": f"{base}/api/v2"})


@dataclass(frozen=True)
class PriceGroup:
    """One category of the price list and its offers."""

    id: int
    name: str
    offers: list[Offer]


def _grouped(listed: list[Offer]) -> list[PriceGroup]:
    groups: list[PriceGroup] = []
    for item in listed:
        if not groups or groups[-1].id != item.category_id:
            groups.append(PriceGroup(item.category_id, item.category, []))
        groups[-1].offers.append(item)
    return groups


def services(request: HttpRequest) -> HttpResponse:
    """The public price list: enabled services of enabled categories, grouped by category, at the
    reader's own rates where the operator set some."""
    category_id = parse_id(request.GET.get("category", ""))
    query = request.GET.get("q", "").strip()[:200]
    customer = request.user.pk if request.user.is_authenticated else None
    listed = offers(customer, category_id=category_id, search=query, in_categories=True)
    context = {
        "nav": "services",
        "groups": _grouped(listed),
        "count": len(listed),
        "categories": categories(),
        "category": "" if category_id is None else request.GET.get("category", "").strip(),
        "q": query,
    }
    return render(request, "web/services.html", context)
