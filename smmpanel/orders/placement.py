"""Placing an order: validate what was asked, charge it, record it, in one transaction.

Used by the reseller API and the website alike. Errors are PlacementError
with a code; each front end words them in its own language and dialect.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from smmpanel.catalog.types import PACKAGE_TYPES, ServiceType
from smmpanel.ledger import services as ledger
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.money import charge_for
from smmpanel.orders.models import Order, OrderEvent

MAX_LINK = 2048
_ORDERS = Order._meta.db_table
_EVENTS = OrderEvent._meta.db_table
_DIGITS = re.compile(r"[0-9]{1,18}")
_SCHEME = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*):(?!\d)")
_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f]")
_ACTIVE = (Order.Status.PENDING, Order.Status.IN_PROGRESS, Order.Status.PROCESSING)


class PlacementError(Exception):
    """The order cannot be placed; `code` names the reason, `value` completes it."""

    MISSING = "missing"  # value: the parameter's name
    BAD_SERVICE = "bad_service"
    BAD_LINK = "bad_link"
    BELOW_MIN = "below_min"  # value: the minimum
    ABOVE_MAX = "above_max"  # value: the maximum
    BAD_QUANTITY = "bad_quantity"
    NO_FUNDS = "no_funds"
    NO_DRIPFEED = "no_dripfeed"
    BAD_RUNS = "bad_runs"
    ACTIVE_LINK = "active_link"

    def __init__(self, code: str, value: str | int | None = None) -> None:
        super().__init__(code, value)
        self.code = code
        self.value = value


@dataclass(frozen=True)
class ServiceTerms:
    """A service as one customer may buy it (their own rate applied)."""

    id: int
    type: str
    rate: Decimal
    min: int
    max: int
    dripfeed: bool


@dataclass
class Draft:
    """A validated order, ready to be charged and stored."""

    service: ServiceTerms
    link: str
    quantity: int
    charge: Decimal
    kind: str = Order.Kind.SINGLE
    runs: int | None = None
    interval: int | None = None
    params: dict[str, object] = field(default_factory=dict)


def normalise_link(raw: str) -> str:
    """An http(s) URL, or raise BAD_LINK. A bare host/path gets https://."""
    link = raw.strip()
    if not link or len(link) > MAX_LINK or _CONTROL.search(link):
        raise PlacementError(PlacementError.BAD_LINK)
    scheme = _SCHEME.match(link)
    if scheme is None:
        link = "https://" + link
    elif scheme.group(1).lower() not in {"http", "https"}:
        raise PlacementError(PlacementError.BAD_LINK)
    try:
        parts = urlsplit(link)
        host = parts.hostname
    except ValueError as exc:
        raise PlacementError(PlacementError.BAD_LINK) from exc
    if not host or len(link) > MAX_LINK or not parts.netloc.strip("@:"):
        raise PlacementError(PlacementError.BAD_LINK)
    return link


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise PlacementError(PlacementError.MISSING, name)
    return value


def parse_count(text: str) -> int:
    """A whole positive number, or raise BAD_QUANTITY; huge numbers stay huge."""
    text = text.strip()
    if len(text) > 18 and text.isascii() and text.isdigit():
        return 10**18  # beyond any max: reported as "more than maximum"
    if not _DIGITS.fullmatch(text) or int(text) <= 0:
        raise PlacementError(PlacementError.BAD_QUANTITY)
    return int(text)


def _in_bounds(service: ServiceTerms, quantity: int) -> int:
    if quantity < service.min:
        raise PlacementError(PlacementError.BELOW_MIN, service.min)
    if quantity > service.max:
        raise PlacementError(PlacementError.ABOVE_MAX, service.max)
    return quantity


def _asked(value: str | None) -> bool:
    # Many clients always send runs/interval, as "" or "0" when they mean "no".
    return value is not None and value.strip() not in {"", "0"}


def _dripfeed(service: ServiceTerms, params: Mapping[str, str]) -> tuple[int, int] | None:
    runs, interval = params.get("runs"), params.get("interval")
    if not (_asked(runs) or _asked(interval)):
        return None
    if not service.dripfeed:
        raise PlacementError(PlacementError.NO_DRIPFEED)
    try:
        runs_n = parse_count(runs or "")
        interval_n = parse_count(interval or "")
    except PlacementError:
        raise PlacementError(PlacementError.BAD_RUNS) from None
    if runs_n < 2 or runs_n > 10_000 or interval_n > 60 * 24 * 365:
        raise PlacementError(PlacementError.BAD_RUNS)
    return runs_n, interval_n


def _draft_default(service: ServiceTerms, params: Mapping[str, str]) -> Draft:
    link = normalise_link(_required(params, "link"))
    quantity = _in_bounds(service, parse_count(_required(params, "quantity")))
    drip = _dripfeed(service, params)
    if drip is None:
        return Draft(service, link, quantity, charge_for(service.rate, quantity))
    runs, interval = drip
    charge = charge_for(service.rate, quantity * runs)
    return Draft(service, link, quantity, charge, Order.Kind.DRIPFEED, runs, interval)


def _draft_package(service: ServiceTerms, params: Mapping[str, str]) -> Draft:
    link = normalise_link(_required(params, "link"))
    return Draft(service, link, 1, charge_for(service.rate, 1, package=True))


_DRAFTERS = {
    ServiceType.DEFAULT: _draft_default,
    ServiceType.PACKAGE: _draft_package,
}


def draft(service: ServiceTerms, params: Mapping[str, str]) -> Draft:
    """Validate `params` for the service's type; parameters foreign to it are ignored."""
    drafter = _DRAFTERS.get(ServiceType(service.type))
    if drafter is None:
        raise PlacementError(PlacementError.BAD_SERVICE)
    result = drafter(service, params)
    assert result.service.type not in PACKAGE_TYPES or result.quantity == 1
    return result


def _has_active_order(user_id: int, service_id: int, link: str) -> bool:
    return Order.objects.filter(
        user_id=user_id, service_id=service_id, link=link, status__in=_ACTIVE
    ).exists()


def place(
    user_id: int,
    order: Draft,
    *,
    source: str = Order.Source.API,
    api_key_id: int | None = None,
) -> int:
    """Charge and store a drafted order; returns its id. One transaction, no network."""
    now = timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)
    remains = order.quantity * (order.runs or 1)
    with transaction.atomic():
        if settings.SMMPANEL_ONE_ACTIVE_ORDER_PER_LINK and _has_active_order(
            user_id, order.service.id, order.link
        ):
            raise PlacementError(PlacementError.ACTIVE_LINK)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {_ORDERS} (user_id, service_id, kind, link, quantity, runs, "
                "interval_minutes, params, charge, source, api_key_id, status, provider_state, "
                "provider_order_id, provider_error, start_count, remains, created_at, updated_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '', '', 0, %s, %s, %s) "
                "RETURNING id",
                [
                    user_id, order.service.id, order.kind, order.link, order.quantity,
                    order.runs, order.interval, json.dumps(order.params), order.charge, source,
                    api_key_id, Order.Status.PENDING, Order.ProviderState.QUEUED,
                    remains, stamp, stamp,
                ],
            )
            order_id: int = cursor.fetchone()[0]
            try:
                ledger.post(
                    user_id, -order.charge, LedgerEntry.Kind.CHARGE, f"order:{order_id}:charge",
                    order_id=order_id, now=now,
                )
            except ledger.InsufficientFunds:
                raise PlacementError(PlacementError.NO_FUNDS) from None
            cursor.execute(
                f"INSERT INTO {_EVENTS} (order_id, kind, data, created_at) VALUES (%s, %s, %s, %s)",
                [order_id, "created", json.dumps({"charge": str(order.charge)}), stamp],
            )
    return order_id
