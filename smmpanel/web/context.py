from typing import Any

from django.conf import settings
from django.http import HttpRequest


def panel(request: HttpRequest) -> dict[str, Any]:
    """What every page of the site shows: the panel's currency, and the customer's balance."""
    return {"currency": settings.SMMPANEL_CURRENCY}
