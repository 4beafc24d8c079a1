"""Filters of the console's templates: `{% load console_tags %}`."""

from decimal import Decimal
from urllib.parse import urlsplit

from django import template
from django.utils import formats

from smmpanel.catalog.types import TYPE_LABELS
from smmpanel.console.order_forms import KIND_LABELS, LABELS, PROVIDER_STATE_LABELS
from smmpanel.console.provider_forms import OUTCOME_LABELS
from smmpanel.ledger.money import CHARGE, amount_text

register = template.Library()


@register.filter
def amount(value: Decimal | None, reading: str = CHARGE) -> str:
    """An amount without its currency (a column's heading names it): "0.045", "1,234.50"."""
    return amount_text(value, reading)


@register.filter
def provider_state_label(state: str) -> str:
    """Where an order stands with its provider, in the reader's language: "In doubt"."""
    return str(PROVIDER_STATE_LABELS.get(state, state))


@register.filter
def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


@register.filter
def count(value: int | None) -> str:
    """A number of units grouped in the reader's way: 1,234,567 ("1.234.567" in Spanish)."""
    if value is None:
        return ""
    return formats.number_format(int(value), use_l10n=True, force_grouping=True)


@register.filter
def action_label(action: str) -> str:
    """An order action's name on its button: "Mark completed"."""
    return str(LABELS.get(action, action))


@register.filter
def service_type_label(service_type: str) -> str:
    """A service's type in the reader's language."""
    return str(TYPE_LABELS.get(service_type, service_type))


@register.filter
def host(url: str) -> str:
    """The host of an address: "panel.example" of "https://panel.example/api/v2"."""
    return (urlsplit(url).hostname or url) if url else ""


@register.filter
def share(rate: float) -> str:
    """A share (0 to 1) as a percent with one decimal, in the reader's way: "12.5" ("12,5")."""
    return formats.number_format(round(rate * 100, 1), decimal_pos=1, use_l10n=True)


@register.filter
def outcome_label(outcome: str) -> str:
    """How an upstream call ended, in the reader's language: "Timed out"."""
    return str(OUTCOME_LABELS.get(outcome, outcome))
