"""How the site shows money: exact (no float), at least cents, in the reader's number format."""

from decimal import Decimal

from django import template
from django.conf import settings
from django.utils import formats

from smmpanel.ledger.money import to_money

register = template.Library()


def amount_text(value: Decimal | str | int | None) -> str:
    """12 -> "12.00", 0.045 -> "0.045", 1234.5 -> "1,234.50" ("1.234,50" in Spanish)."""
    if value is None or value == "":
        return ""
    amount = to_money(value).normalize()
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)
    places = max(2, -exponent)
    return formats.number_format(amount, decimal_pos=places, use_l10n=True, force_grouping=True)


@register.filter
def amount(value: Decimal | str | int | None) -> str:
    return amount_text(value)


@register.filter
def money(value: Decimal | str | int | None) -> str:
    """The amount with the panel's currency, e.g. "0.045 USD"."""
    text = amount_text(value)
    return f"{text} {settings.SMMPANEL_CURRENCY}" if text else ""
