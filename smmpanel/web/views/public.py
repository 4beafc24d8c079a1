"""Pages anyone may see: the landing page, the price list and the catalogue's updates."""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import get_language

from smmpanel.catalog import updates as catalog_updates
from smmpanel.catalog.models import ServiceUpdate
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
    language = (get_language() or "").split("-")[0]
    listed = offers(customer, category_id=category_id, search=query, in_categories=True, language=language)
    context = {
        "nav": "services",
        "groups": _grouped(listed),
        "count": len(listed),
        "categories": categories(),
        "category": "" if category_id is None else request.GET.get("category", "").strip(),
        "q": query,
    }
    return render(request, "web/services.html", context)


UPDATES_DAYS = 90


@dataclass
class UpdateDay:
    """One day of the Updates page and its changes, newest first."""

    day: date
    changes: list[ServiceUpdate] = field(default_factory=list)


def updates(request: HttpRequest) -> HttpResponse:
    """The catalogue's changes of the last 90 days, grouped by day: new services, price changes,
    services disabled or enabled again (as Perfect Panel's Updates page)."""
    since = timezone.now() - timedelta(days=UPDATES_DAYS)
    days: list[UpdateDay] = []
    for change in catalog_updates.recent(since=since):
        day = timezone.localdate(change.created_at)
        if not days or days[-1].day != day:
            days.append(UpdateDay(day))
        days[-1].changes.append(change)
    return render(request, "web/updates.html", {"nav": "updates", "days": days, "since_days": UPDATES_DAYS})
