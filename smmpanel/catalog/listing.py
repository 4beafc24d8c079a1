"""The operator's list of services (the console's services page): every service, on sale or not,
filtered, with what it costs beside its price."""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import DecimalField, ExpressionWrapper, F, Q, QuerySet

from smmpanel.catalog.margins import cost_rate
from smmpanel.catalog.models import Service
from smmpanel.catalog.offers import parse_id
from smmpanel.catalog.pricing import margin

ENABLED, DISABLED = "enabled", "disabled"


@dataclass(frozen=True)
class ServiceQuery:
    category_id: int | None = None
    provider_id: int | None = None
    type: str = ""
    state: str = ""  # ENABLED, DISABLED or "" (both)
    losing: bool = False
    search: str = ""


def _losing(found: QuerySet[Service]) -> QuerySet[Service]:
    """Those whose provider's rate, in the panel's currency, is above the service's price."""
    ours = Q(provider_service__provider__currency__iexact=settings.SMMPANEL_CURRENCY.strip())
    converted = ExpressionWrapper(
        F("provider_service__rate") * F("provider_service__provider__exchange_rate"),
        output_field=DecimalField(max_digits=30, decimal_places=14),
    )
    same = ours & Q(provider_service__rate__gt=F("rate"))
    other = ~ours & Q(converted_cost__gt=F("rate"))
    return found.annotate(converted_cost=converted).filter(Q(provider_service__isnull=False) & (same | other))


def services(query: ServiceQuery) -> QuerySet[Service]:
    """The services matching `query`, in catalogue order, with what a row of the list shows."""
    found = Service.objects.select_related("category", "provider", "provider_service__provider")
    if query.category_id is not None:
        found = found.filter(category_id=query.category_id)
    if query.provider_id is not None:
        found = found.filter(provider_id=query.provider_id)
    if query.type:
        found = found.filter(type=query.type)
    if query.state:
        found = found.filter(enabled=query.state == ENABLED)
    if query.losing:
        found = _losing(found)
    if query.search:
        text = query.search.lstrip("#")
        wanted_text = Q(name__icontains=query.search)
        if (service_id := parse_id(text)) is not None:
            wanted_text |= Q(pk=service_id)
        found = found.filter(wanted_text)
    return found.order_by("category__sort_order", "category_id", "sort_order", "id")


@dataclass(frozen=True)
class Row:
    """A service as the console's list shows it."""

    service: Service
    cost: Decimal | None
    margin: Decimal | None
    margin_percent: Decimal | None

    @property
    def losing(self) -> bool:
        return self.cost is not None and self.cost > self.service.rate


def rows(page: list[Service]) -> list[Row]:
    return [Row(s, cost, *margin(s.rate, cost)) for s in page for cost in [cost_rate(s)]]
