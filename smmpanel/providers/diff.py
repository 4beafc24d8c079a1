"""What the sync page shows of a provider's pending lines (providers/listing.py): grouped by kind,
each cost change with its costs in the panel's currency, and for each service of ours selling it
the price now, the price the provider's rule gives, and the margin at both; and the services of
the provider the loss guard disabled or flagged."""

from dataclasses import dataclass, field
from decimal import Decimal

from smmpanel.catalog import margins
from smmpanel.catalog.models import Provider, Service
from smmpanel.catalog.pricing import PriceRule, PriceTooLarge, margin
from smmpanel.providers.listing import Kind, pending
from smmpanel.providers.models import ListingChange


@dataclass(frozen=True)
class Sold:
    """One service of ours selling a changed upstream service, at its price and at the rule's."""

    service: Service
    price: Decimal
    margin: Decimal | None
    percent: Decimal | None
    rule_price: Decimal | None  # None: past the largest amount
    rule_margin: Decimal | None
    rule_percent: Decimal | None


@dataclass
class Line:
    line: ListingChange
    sold: list[Sold] = field(default_factory=list)
    cost_before: Decimal | None = None  # in the panel's currency (cost lines and new services)
    cost_after: Decimal | None = None
    rule_price: Decimal | None = None  # the price the provider's rule gives at cost_after

    @property
    def changes(self) -> list[tuple[str, object, object]]:
        """(field, before, after) of each value that changed: min, max, refill ..."""
        before, after = self.line.before, self.line.after
        return [(name, before.get(name), value) for name, value in after.items() if before.get(name) != value]


@dataclass
class Diff:
    provider: Provider
    rule: PriceRule
    groups: dict[str, list[Line]]
    at_a_loss: list[margins.Loss]

    @property
    def other(self) -> list[Line]:
        """The min/max and options changes, shown together."""
        return self.groups[Kind.LIMITS] + self.groups[Kind.OPTIONS]

    @property
    def count(self) -> int:
        return sum(len(lines) for lines in self.groups.values())


def _cost(provider: Provider, values: dict[str, object]) -> Decimal | None:
    rate = values.get("rate")
    return None if rate is None else provider.in_panel_currency(Decimal(str(rate)))


def _rule_price(rule: PriceRule, cost: Decimal | None) -> Decimal | None:
    try:
        return None if cost is None else rule.price_for(cost)
    except PriceTooLarge:
        return None


def _sold(service: Service, cost: Decimal | None, rule: PriceRule) -> Sold:
    rule_price = _rule_price(rule, cost)
    amount, percent = margin(service.rate, cost)
    rule_amount, rule_percent = (None, None) if rule_price is None else margin(rule_price, cost)
    return Sold(service, service.rate, amount, percent, rule_price, rule_amount, rule_percent)


def diff(provider: Provider) -> Diff:
    rule = PriceRule.of(provider)
    lines = pending(provider)
    selling: dict[int, list[Service]] = {}
    linked = Service.objects.filter(provider_service__in=[line.provider_service_id for line in lines])
    for service in linked.select_related("category").order_by("id"):
        assert service.provider_service_id is not None
        selling.setdefault(service.provider_service_id, []).append(service)
    groups: dict[str, list[Line]] = {kind: [] for kind in Kind}
    for line in lines:
        shown = Line(line, cost_before=_cost(provider, line.before), cost_after=_cost(provider, line.after))
        shown.rule_price = _rule_price(rule, shown.cost_after)
        shown.sold = [_sold(s, shown.cost_after, rule) for s in selling.get(line.provider_service_id, [])]
        groups[line.kind].append(shown)
    return Diff(provider, rule, groups, at_a_loss(provider))


def at_a_loss(provider: Provider) -> list[margins.Loss]:
    """The provider's services whose cost is above their price: disabled by the loss guard, or
    still on sale where the setting only flags them."""
    linked = Service.objects.filter(provider_service__provider=provider).select_related(
        "provider_service__provider", "category"
    )
    losses = [
        margins.Loss(s, cost, s.rate)
        for s in linked.order_by("id")
        if (cost := margins.cost_rate(s)) is not None and cost > s.rate
    ]
    return sorted(losses, key=lambda loss: (-loss.per_thousand, loss.service.pk))
