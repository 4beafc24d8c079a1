"""How the site shows money: one rule (docs/money.md), exact (no float), in the reader's number format.

`{{ amount|money }}` for a total, `|money:"balance"` for a balance, `|money:"rate"` for a
price per 1000 or per package, `|money:"charge"` for one order's charge or refund,
`|money:"exact"` for a payment, a limit or the operator's own pages. The rounding is
`ledger.money.for_reading`.
"""

from decimal import Decimal

from django import template
from django.conf import settings
from django.utils import formats

from smmpanel.ledger.money import TOTAL, for_reading, to_money

register = template.Library()


def amount_text(value: Decimal | str | int | None, reading: str = TOTAL) -> str:
    """12 -> "12.00", 1234.5 -> "1,234.50" ("1.234,50" in Spanish); "" for no amount."""
    if value is None or value == "":
        return ""
    shown = for_reading(to_money(value), reading)
    exponent = shown.as_tuple().exponent
    assert isinstance(exponent, int)
    return formats.number_format(shown, decimal_pos=-exponent, use_l10n=True, force_grouping=True)


@register.filter
def money(value: Decimal | str | int | None, reading: str = TOTAL) -> str:
    """The amount with the panel's currency, e.g. "1,070.29 USD" or, as a charge, "0.045 USD"."""
    text = amount_text(value, reading)
    return f"{text} {settings.SMMPANEL_CURRENCY}" if text else ""
