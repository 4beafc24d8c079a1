"""Pricing rules: what a service sells for, given what it costs.

A rule is a markup over cost, in percent or as a fixed amount (in the panel's currency, per 1000
or per package, like the cost), with the result rounded up to a step such as 0.01. Rounding up,
never to the nearest, so that a rule's price is never below the markup it names. Each provider
keeps the rule its services were last imported with (Provider.price_rule, price_markup,
price_step); imports, syncs and the console's bulk reprice use it."""

from dataclasses import dataclass
from decimal import Decimal

from smmpanel.catalog.models import Provider
from smmpanel.ledger.money import MAX_AMOUNT, PLACES, up_to_step

PERCENT = "percent"
FIXED = "fixed"
KINDS = (PERCENT, FIXED)


class PriceTooLarge(ValueError):
    """The rule gives a price past the largest amount the ledger keeps."""


@dataclass(frozen=True)
class PriceRule:
    kind: str = PERCENT
    markup: Decimal = Decimal(40)
    step: Decimal = Decimal("0.01")

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown pricing rule {self.kind!r}")
        if self.markup < 0:
            raise ValueError("a markup is not negative")
        if self.step < PLACES:
            raise ValueError(f"the rounding step is at least {PLACES}")

    def price_for(self, cost: Decimal) -> Decimal:
        """The selling price for `cost` (both per 1000 or per package, in the panel's currency)."""
        raw = cost * (100 + self.markup) / 100 if self.kind == PERCENT else cost + self.markup
        price = up_to_step(raw, self.step)
        if price > MAX_AMOUNT:
            raise PriceTooLarge(f"{price} is past the largest amount ({MAX_AMOUNT})")
        return price

    @classmethod
    def of(cls, provider: Provider) -> "PriceRule":
        """The provider's own rule, as last set."""
        return cls(provider.price_rule, provider.price_markup, provider.price_step)

    def fields(self) -> dict[str, object]:
        """The rule as the provider's fields, to save it as the provider's rule."""
        return {"price_rule": self.kind, "price_markup": self.markup, "price_step": self.step}


def margin(price: Decimal, cost: Decimal | None) -> tuple[Decimal | None, Decimal | None]:
    """A price's margin over its cost: the amount and the percent of the price (None where the
    cost is unknown; the percent None at a price of 0)."""
    if cost is None:
        return None, None
    amount = price - cost
    percent = None if price == 0 else (amount * 100 / price).quantize(Decimal("0.1"))
    return amount, percent
