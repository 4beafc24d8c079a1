"""The reseller API's actions. Thin: parse parameters, call a service, shape the answer.

The hot paths (`status`, `add`) find the caller and what they ask about in one
query each: this is the code bots call thousands of times a minute.
"""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection

from smmpanel.accounts.models import ApiKey, User
from smmpanel.api import dialects as d
from smmpanel.api.dialects import Dialect, OrderView, SubscriptionView
from smmpanel.catalog import offers
from smmpanel.catalog.offers import Offer
from smmpanel.catalog.types import MAX_IDS
from smmpanel.ledger.models import Account
from smmpanel.ledger.money import ZERO, to_money
from smmpanel.orders import drafting, placement
from smmpanel.orders.models import Order

_KEYS = ApiKey._meta.db_table
_USERS = User._meta.db_table
_ACCOUNTS = Account._meta.db_table
_ORDERS = Order._meta.db_table
_STATUS = {code: str(label) for code, label in Order.Status.choices}

# Joined into every query that authenticates: an active key of an active customer.
_CALLER = (
    f"FROM {_KEYS} k JOIN {_USERS} u ON u.id = k.user_id "
    "WHERE k.key_hash = %s AND k.is_active AND u.is_active AND u.api_enabled"
)


class ApiError(Exception):
    def __init__(self, code: str, value: object = None) -> None:
        super().__init__(code, value)
        self.code = code
        self.value = value


@dataclass(frozen=True)
class Request:
    dialect: Dialect
    params: Mapping[str, str]
    key_hash: str
    idempotency_key: str = ""

    def get(self, name: str) -> str:
        return self.params.get(name, "").strip()


def authenticate(request: Request) -> tuple[int, int]:
    """(api key id, user id) of the caller, or raise INVALID_KEY."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT k.id, k.user_id {_CALLER}", [request.key_hash])
        row = cursor.fetchone()
    if row is None:
        raise ApiError(d.INVALID_KEY)
    return row[0], row[1]


def balance(request: Request) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.balance FROM {_KEYS} k JOIN {_USERS} u ON u.id = k.user_id "
            f"LEFT JOIN {_ACCOUNTS} a ON a.user_id = u.id "
            "WHERE k.key_hash = %s AND k.is_active AND u.is_active AND u.api_enabled",
            [request.key_hash],
        )
        row = cursor.fetchone()
    if row is None:
        raise ApiError(d.INVALID_KEY)
    balance = ZERO if row[0] is None else to_money(row[0])  # no account before the first entry
    return request.dialect.balance(balance, settings.SMMPANEL_CURRENCY)


def services(request: Request) -> Any:
    _key_id, user_id = authenticate(request)
    shape = request.dialect.service
    return [shape(item) for item in offers.offers(user_id)]


def _offer(request: Request) -> tuple[int, int, Offer | None]:
    """The caller and their offer for the service they order, in one query."""
    service_id = request.get("service")
    if not service_id:
        authenticate(request)
        raise ApiError(d.MISSING, "service")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT k.id, k.user_id, {offers.SQL_COLUMNS} "
            f"FROM {_KEYS} k JOIN {_USERS} u ON u.id = k.user_id "
            f"LEFT JOIN ({offers.SQL_ON_SALE}) ON s.id = %s "
            f"{offers.sql_customer_prices('k.user_id')} "
            "WHERE k.key_hash = %s AND k.is_active AND u.is_active AND u.api_enabled",
            [offers.parse_id(service_id) or 0, request.key_hash],  # no service has id 0
        )
        row = cursor.fetchone()
    if row is None:
        raise ApiError(d.INVALID_KEY)
    return row[0], row[1], offers.from_row(row[2:])


def add(request: Request) -> Any:
    key_id, user_id, offer = _offer(request)
    if offer is None:
        raise ApiError(d.BAD_SERVICE)
    try:
        draft = drafting.draft(offer, request.params)
        order_id = placement.place(user_id, draft, api_key_id=key_id, idempotency_key=request.idempotency_key)
    except drafting.PlacementError as exc:
        raise ApiError(exc.code, exc.value) from None
    return request.dialect.added(order_id)


_PARENTS = (Order.Kind.DRIPFEED, Order.Kind.SUBSCRIPTION)
_ORDER_COLUMNS = "o.id, o.status, o.charge, o.start_count, o.remains, o.kind, o.params"


@dataclass
class _Children:
    ids: list[int]
    charge: Decimal


def _children_of(rows: list[tuple[Any, ...]]) -> dict[int, _Children]:
    """The runs of drip-feed parents and the posts of subscriptions among `rows`."""
    parents = [row[0] for row in rows if row[5] in _PARENTS]
    children = {pid: _Children([], ZERO) for pid in parents}
    if parents:
        found = Order.objects.filter(parent_id__in=parents).order_by("id")
        for child_id, parent_id, charge in found.values_list("id", "parent_id", "charge"):
            children[parent_id].ids.append(child_id)
            children[parent_id].charge += charge
    return children


def _expiry(params: object) -> str | None:
    if isinstance(params, str):
        params = json.loads(params)
    expiry = params.get("expiry") if isinstance(params, dict) else None
    return date.fromisoformat(expiry).strftime("%d/%m/%Y") if expiry else None


def _shape(request: Request, row: tuple[Any, ...], children: dict[int, _Children]) -> Any:
    order_id, status, charge, start_count, remains, kind, params = row
    dialect, currency = request.dialect, settings.SMMPANEL_CURRENCY
    if kind == Order.Kind.SUBSCRIPTION:
        posts = children[order_id]
        view = SubscriptionView(order_id, _STATUS[status], _expiry(params), posts.ids, posts.charge)
        return dialect.subscription(view, currency)
    runs = children[order_id].ids if kind == Order.Kind.DRIPFEED else None
    order = OrderView(order_id, _STATUS[status], to_money(charge), start_count, remains, runs)
    return dialect.order(order, currency)


def _status_one(request: Request, raw_id: str) -> Any:
    order_id = order_id_of(raw_id)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT k.user_id, {_ORDER_COLUMNS} FROM {_KEYS} k JOIN {_USERS} u "
            f"ON u.id = k.user_id LEFT JOIN {_ORDERS} o ON o.id = %s AND o.user_id = k.user_id "
            "WHERE k.key_hash = %s AND k.is_active AND u.is_active AND u.api_enabled",
            [order_id, request.key_hash],
        )
        row = cursor.fetchone()
    if row is None:
        raise ApiError(d.INVALID_KEY)
    if row[1] is None:
        raise ApiError(d.BAD_ORDER)
    order = row[1:]
    return _shape(request, order, _children_of([order]))


def order_id_of(raw: str) -> int:
    return offers.parse_id(raw) or 0  # no order has id 0: answered "Incorrect order ID"


def parse_ids(raw: str) -> list[str]:
    """Comma-separated IDs: trimmed, blanks dropped, duplicates answered once."""
    ids = list(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
    if len(ids) > MAX_IDS:
        raise ApiError(d.TOO_MANY_IDS)
    return ids


def _status_many(request: Request, raw_ids: str) -> Any:
    _key_id, user_id = authenticate(request)
    ids = parse_ids(raw_ids)
    wanted = [n for n in (order_id_of(raw) for raw in ids) if n]
    with connection.cursor() as cursor:
        rows: list[tuple[Any, ...]] = []
        if wanted:
            marks = ", ".join(["%s"] * len(wanted))
            cursor.execute(
                f"SELECT {_ORDER_COLUMNS} FROM {_ORDERS} o WHERE o.user_id = %s AND o.id IN ({marks})",
                [user_id, *wanted],
            )
            rows = cursor.fetchall()
    found = {row[0]: row for row in rows}
    children = _children_of(rows)
    answer: dict[str, Any] = {}
    for raw in ids:
        row = found.get(order_id_of(raw))
        answer[raw] = (
            _shape(request, row, children) if row is not None else request.dialect.bad_order_in_batch()
        )
    return answer


def status(request: Request) -> Any:
    many = request.get("orders")
    if many:
        return _status_many(request, many)
    one = request.get("order")
    if one:
        return _status_one(request, one)
    authenticate(request)
    raise ApiError(d.NO_ORDER_ID)


ACTIONS: dict[str, Callable[[Request], Any]] = {
    "services": services,
    "balance": balance,
    "add": add,
    "status": status,
}
