"""Names of stored values in the reader's language: `{{ order.status|status_label }}`."""

from django import template

from smmpanel.orders.models import STATUS_LABELS

register = template.Library()


@register.filter
def status_label(status: str) -> str:
    """An order's status as the site names it, e.g. "In progress" ("En curso" in Spanish)."""
    return str(STATUS_LABELS.get(status, status))
