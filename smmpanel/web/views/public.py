"""Pages anyone may see: the landing page and the price list."""

from dataclasses import dataclass
from decimal import Decimal
from itertools import groupby

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from smmpanel.catalog.models import Category, CustomRate, Service
from smmpanel.catalog.types import PACKAGE_TYPES


def home(request: HttpRequest) -> HttpResponse:
    base = request.build_absolute_uri("/").rstrip("/")
    return render(request, "web/home.html", {"api_v1": f"{base}/api/v1", "api_v2": f"{base}/api/v2"})


@dataclass(frozen=True)
class PriceRow:
    service: Service
    rate: Decimal  # the reader's own rate where the operator set one
    own_rate: bool
    package: bool


def _search(text: str) -> Q:
    found = Q(name__icontains=text) | Q(category__name__icontains=text)
    number = text.lstrip("#")
    if number.isascii() and number.isdigit() and len(number) < 18:
        found |= Q(pk=int(number))
    return found


def services(request: HttpRequest) -> HttpResponse:
    """The public price list: enabled services of enabled categories, grouped by category."""
    listed = Service.objects.filter(enabled=True, category__enabled=True).select_related("category")
    categories = Category.objects.filter(enabled=True, services__enabled=True).distinct()
    category = request.GET.get("category", "").strip()
    query = request.GET.get("q", "").strip()[:200]
    if category.isascii() and category.isdigit() and len(category) < 18:
        listed = listed.filter(category_id=int(category))
    else:
        category = ""
    if query:
        listed = listed.filter(_search(query))
    own: dict[int, Decimal] = {}
    if request.user.is_authenticated:
        own = CustomRate.own_rates(request.user.pk)
    rows = [PriceRow(s, own.get(s.pk, s.rate), s.pk in own, s.type in PACKAGE_TYPES) for s in listed]
    groups = [(cat, list(items)) for cat, items in groupby(rows, key=lambda row: row.service.category)]
    context = {
        "nav": "services",
        "groups": groups,
        "count": len(rows),
        "categories": categories,
        "category": category,
        "q": query,
    }
    return render(request, "web/services.html", context)
