"""What a service costs the panel against what it sells for: the provider's listed rate, in the
panel's currency at the exchange rate the operator set, beside the service's own price."""

from dataclasses import dataclass
from decimal import Decimal

from smmpanel.catalog.models import Service


def cost_rate(service: Service) -> Decimal | None:
    """The provider's rate for the service (per 1000, or per package), in the panel's currency;
    None for a service bought from no listed provider service (manual, simulated)."""
    listed = service.provider_service
    return None if listed is None else listed.provider.in_panel_currency(listed.rate)


def loses_money(service: Service) -> bool:
    """The provider's rate is above the service's price: each order of it is sold at a loss."""
    cost = cost_rate(service)
    return cost is not None and cost > service.rate


@dataclass(frozen=True)
class Loss:
    service: Service
    cost: Decimal  # per 1000 (or per package), in the panel's currency
    price: Decimal

    @property
    def per_thousand(self) -> Decimal:
        return self.cost - self.price


def sold_at_a_loss() -> list[Loss]:
    """Every service whose provider's rate is above its price (on sale or not), largest loss
    per unit first."""
    linked = Service.objects.filter(provider_service__isnull=False).select_related(
        "provider_service__provider", "category"
    )
    losses = [Loss(s, cost, s.rate) for s in linked if (cost := cost_rate(s)) is not None and cost > s.rate]
    return sorted(losses, key=lambda loss: (-loss.per_thousand, loss.service.pk))
