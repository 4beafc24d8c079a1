"""The two dialects of the reseller API: their error strings and response shapes.

v1 is the SmartPanel dialect (docs/api.md), v2 the Perfect Panel one.
Everything that differs between them is in this file; see docs/api.md.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from smmpanel.catalog.offers import Offer, parse_id
from smmpanel.catalog.types import MAX_IDS
from smmpanel.ledger.money import display, normalised

# Error situations, by name, shared by both dialects.
INVALID_KEY = "invalid_key"
BAD_ACTION = "bad_action"
MISSING = "missing"
BAD_SERVICE = "bad_service"
NOT_TAKING_ORDERS = "not_taking_orders"  # answered as an unknown service (docs/api.md)
BAD_LINK = "bad_link"
BELOW_MIN = "below_min"
ABOVE_MAX = "above_max"
BAD_QUANTITY = "bad_quantity"
NO_FUNDS = "no_funds"
ON_HOLD = "on_hold"  # an unsettled payment dispute: answered as no funds (docs/api.md)
NO_DRIPFEED = "no_dripfeed"
BAD_RUNS = "bad_runs"
ACTIVE_LINK = "active_link"
BAD_ORDER = "bad_order"
NO_ORDER_ID = "no_order_id"
TOO_MANY_IDS = "too_many_ids"
BAD_ENCODING = "bad_encoding"
BAD_PARAMETER = "bad_parameter"
BAD_SUBSCRIPTION = "bad_subscription"
NO_REFILL = "no_refill"
REFILL_NOT_FOUND = "refill_not_found"
NO_CANCEL = "no_cancel"

_SHARED = {
    BAD_QUANTITY: "Incorrect quantity",
    NO_FUNDS: "Not enough funds on balance",
    ON_HOLD: "Not enough funds on balance",
    ACTIVE_LINK: "You have active order with this link. Please wait until order being completed.",
    BAD_ORDER: "Incorrect order ID",
    TOO_MANY_IDS: f"Too many IDs: at most {MAX_IDS}",
    BAD_ENCODING: "Incorrect request: parameters must be UTF-8",
    BAD_PARAMETER: "Incorrect parameter: {}",
    BAD_SUBSCRIPTION: "Incorrect subscription parameters",
    NO_REFILL: "Refill is not available for this order",
    REFILL_NOT_FOUND: "Refill not found",
    NO_CANCEL: "Cancel is not available for this order",
}

_V2 = _SHARED | {
    INVALID_KEY: "Invalid API key",
    BAD_ACTION: "Incorrect request",
    MISSING: "Missing required parameter: {}",
    BAD_SERVICE: "Incorrect service ID",
    NOT_TAKING_ORDERS: "Incorrect service ID",
    BAD_LINK: "Incorrect link",
    BELOW_MIN: "Quantity less than minimal {}",
    ABOVE_MAX: "Quantity more than maximum {}",
    NO_DRIPFEED: "Drip-feed is not supported for this service",
    BAD_RUNS: "Incorrect runs or interval",
    NO_ORDER_ID: "Incorrect order ID",
}

_V1 = _SHARED | {
    INVALID_KEY: "API is Disable for this user or User Not Found! Contact the Support",
    BAD_ACTION: "This action is Invalid",
    MISSING: "There are missing required parameters. Please check your API Manual",
    BAD_SERVICE: "Service ID does not exists",
    NOT_TAKING_ORDERS: "Service ID does not exists",
    BAD_LINK: "Bad Link",
    BELOW_MIN: "Quantity must to be greater than or equal to minimum amount {}",
    ABOVE_MAX: "Quantity must to be less than or equal to maximum amount {}",
    NO_DRIPFEED: "This services does not support Dripfeed feature!",
    BAD_RUNS: "Invalid Interval in minutes",
    NO_ORDER_ID: "Order ID is required parameter. Please check your API Manual",
}

# Transport-level answers, the same in both dialects.
TOO_LARGE = "Request body too large"
RATE_LIMITED = "Too many requests"
INTERNAL = "Internal error: the request was not carried out"


@dataclass(frozen=True)
class OrderView:
    """The fields of an order that `status` reports."""

    id: int
    status: str  # the exact API string, e.g. "In progress"
    charge: Decimal
    start_count: int
    remains: int
    runs: list[int] | None = None  # ids of a drip-feed parent's runs so far


@dataclass(frozen=True)
class SubscriptionView:
    id: int
    status: str
    expiry: str | None  # d/m/Y
    posts: list[int]  # ids of the per-post orders so far
    charge: Decimal  # charged so far, over all posts


class Dialect:
    name = ""
    _errors: dict[str, str] = {}

    def error(self, code: str, value: object = None) -> dict[str, str]:
        return {"error": self.error_text(code, value)}

    def error_text(self, code: str, value: object = None) -> str:
        return self._errors[code].format(value)

    def service(self, s: Offer) -> dict[str, Any]:
        raise NotImplementedError

    def added(self, order_id: int) -> dict[str, Any]:
        raise NotImplementedError

    def order(self, o: OrderView, currency: str) -> dict[str, Any]:
        raise NotImplementedError

    def subscription(self, s: SubscriptionView, currency: str) -> dict[str, Any]:
        raise NotImplementedError

    def bad_order_in_batch(self) -> object:
        raise NotImplementedError

    def balance(self, amount: Decimal, currency: str) -> dict[str, Any]:
        raise NotImplementedError

    # refill, refill_status and cancel have one shape in both dialects.

    def refill(self, refill_id: int) -> dict[str, Any]:
        return {"refill": str(refill_id)}

    def batch_id(self, raw: str) -> int | str:
        number = parse_id(raw)
        return raw if number is None else number

    def refill_item(self, raw: str, refill_id: int | None, error: str) -> dict[str, Any]:
        result: object = refill_id if refill_id is not None else {"error": self.error_text(error)}
        return {"order": self.batch_id(raw), "refill": result}

    def refill_status(self, status: str) -> dict[str, Any]:
        return {"status": status}

    def refill_status_item(self, raw: str, status: str | None) -> dict[str, Any]:
        result: object = status if status is not None else self.error(REFILL_NOT_FOUND)
        return {"refill": self.batch_id(raw), "status": result}

    def cancel_item(self, raw: str, error: str | None) -> dict[str, Any]:
        return {"order": self.batch_id(raw), "cancel": 1 if error is None else self.error(error)}


def _subscription(s: SubscriptionView) -> dict[str, Any]:
    return {"status": s.status, "expiry": s.expiry, "posts": str(len(s.posts)), "orders": s.posts}


def _runs(body: dict[str, Any], o: OrderView) -> dict[str, Any]:
    if o.runs is not None:
        body["runs"] = str(len(o.runs))
        body["orders"] = o.runs
    return body


class V2(Dialect):
    name = "v2"
    _errors = _V2

    def service(self, s: Offer) -> dict[str, Any]:
        return {
            "service": s.id,
            "name": s.name,
            "type": s.type_name,
            "category": s.category,
            "rate": normalised(s.rate),
            "min": str(s.min),
            "max": str(s.max),
            "dripfeed": s.dripfeed,
            "refill": s.refill,
            "cancel": s.cancel,
        }

    def added(self, order_id: int) -> dict[str, Any]:
        return {"order": order_id}

    def order(self, o: OrderView, currency: str) -> dict[str, Any]:
        return _runs(
            {
                "charge": display(o.charge, 5),
                "start_count": str(o.start_count),
                "status": o.status,
                "remains": str(o.remains),
                "currency": currency,
            },
            o,
        )

    def subscription(self, s: SubscriptionView, currency: str) -> dict[str, Any]:
        return {**_subscription(s), "charge": display(s.charge, 5), "currency": currency}

    def bad_order_in_batch(self) -> object:
        return {"error": self._errors[BAD_ORDER]}

    def balance(self, amount: Decimal, currency: str) -> dict[str, Any]:
        return {"balance": display(amount, 5), "currency": currency}


class V1(Dialect):
    name = "v1"
    _errors = _V1

    def service(self, s: Offer) -> dict[str, Any]:
        return {
            "service": str(s.id),
            "name": s.name,
            "category": s.category,
            "rate": normalised(s.rate),
            "min": str(s.min),
            "max": str(s.max),
            "type": s.type,
            "desc": s.description,
            "dripfeed": int(s.dripfeed),
        }

    def added(self, order_id: int) -> dict[str, Any]:
        return {"status": "success", "order": order_id}

    def order(self, o: OrderView, currency: str) -> dict[str, Any]:
        return _runs(
            {
                "order": str(o.id),
                "status": o.status,
                "charge": display(o.charge, 4),
                "start_count": str(o.start_count),
                "remains": str(o.remains),
            },
            o,
        )

    def subscription(self, s: SubscriptionView, currency: str) -> dict[str, Any]:
        return _subscription(s)

    def bad_order_in_batch(self) -> object:
        return self._errors[BAD_ORDER]

    def balance(self, amount: Decimal, currency: str) -> dict[str, Any]:
        return {"status": "success", "balance": display(amount, 2), "currency": currency}


DIALECTS: dict[str, Dialect] = {"v1": V1(), "v2": V2()}
