"""How the site shows money: one rule (docs/money.md), exact (no float), in the reader's number format.

`{{ amount|money }}` for a total, `|money:"balance"` for a balance, `|money:"rate"` for a
price per 1000 or per package, `|money:"charge"` for one order's charge or refund,
`|money:"exact"` for a payment, a limit or the operator's own pages. The rounding and the
number format are `ledger.money.amount_text`'s.
"""

from decimal import Decimal

from django import template
from django.conf import settings

from smmpanel.ledger.money import TOTAL, amount_text

register = template.Library()


@register.filter
def money(value: Decimal | str | int | None, reading: str = TOTAL) -> str:
    """The amount with the panel's currency, e.g. "1,070.29 USD" or, as a charge, "0.045 USD"."""
    text = amount_text(value, reading)
    return f"{text} {settings.SMMPANEL_CURRENCY}" if text else ""


@register.filter(is_safe=True)
def keep_percent(text: str) -> str:
    """Each percent sign kept on the line of its number: "+5 %" never breaks before the "%"
    (the site writes a space before it, as Spanish does)."""
    return str(text).replace(" %", "\u00a0%")
