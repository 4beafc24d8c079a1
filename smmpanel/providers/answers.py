"""Reading what an upstream panel answers: its errors, statuses, services and batches.

Pure functions and plain answer types, no I/O and no Django setup: the client and the
adapters share them.
"""

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from smmpanel.catalog.types import MAX_IDS, ServiceType
from smmpanel.ledger.money import MAX_AMOUNT

log = logging.getLogger(__name__)

T = TypeVar("T")

__all__ = ["MAX_IDS"]  # the ids one call may carry, read by the client from here
RECORD_LIMIT = 10_000  # characters of an answer kept in its CallRecord
MAX_ANSWER_BYTES = 50 * 1024 * 1024  # a big panel's `services` is a few MB; more is not an answer
HEADERS = {"Accept": "application/json", "User-Agent": "smmpanel"}

# UpstreamCall.Outcome values.
OK, ERROR, TIMEOUT, CONNECTION = "ok", "error", "timeout", "connection"
HTTP_ERROR, BAD_ANSWER = "http_error", "bad_answer"


def _squash(text: str) -> str:
    """`In progress`, `in_progress` and `INPROGRESS` all become `inprogress`."""
    return re.sub(r"[\s_\-]+", "", text).lower()


# Order.Status values by squashed wire text.
ORDER_STATUSES = {
    "pending": "pending",
    "inprogress": "in_progress",
    "processing": "processing",
    "completed": "completed",
    "partial": "partial",
    "canceled": "canceled",
    "cancelled": "canceled",
    "cancel": "canceled",
    "active": "active",
    "paused": "paused",
    "expired": "expired",
}
# Refill.Status values by squashed wire text.
REFILL_STATUSES = {
    "pending": "pending",
    "inprogress": "in_progress",
    "completed": "completed",
    "rejected": "rejected",
    "canceled": "canceled",
    "cancelled": "canceled",
    "cancel": "canceled",
}
# The v1 value and the v2 name of a type squash to the same text.
SERVICE_TYPES = {_squash(value): value for value in ServiceType.values}


class UpstreamError(Exception):
    """A call to a provider that gave no usable answer."""

    outcome: str
    message: str


class Refused(UpstreamError):
    """The provider answered clearly with an error: nothing was done."""

    outcome = ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Refused) and other.message == self.message

    def __hash__(self) -> int:
        return hash(self.message)

    def __repr__(self) -> str:
        return f"Refused({self.message!r})"


class Unreachable(UpstreamError):
    """No usable answer: whether the provider acted is unknown (unless `maybe_sent` is False)."""

    def __init__(self, outcome: str, message: str, *, maybe_sent: bool = True) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.message = message
        self.maybe_sent = maybe_sent


@dataclass(frozen=True)
class UpstreamService:
    external_id: str
    name: str
    type: str  # a ServiceType value
    category: str
    rate: Decimal
    min: int
    max: int
    dripfeed: bool
    refill: bool
    cancel: bool
    description: str
    raw: dict[str, Any]


@dataclass(frozen=True)
class UpstreamStatus:
    """What a provider says of one order: what `orders.transitions.Progress` reads."""

    status: str | None  # an Order.Status value; None if the text is not one we know
    charge: Decimal | None = None  # what the provider charged for the order, in its currency
    start_count: int | None = None
    remains: int | None = None
    currency: str | None = None
    error: str | None = None  # the provider's per-order error, e.g. "Incorrect order ID"
    quantity: int | None = None  # the units the provider gives the order, where it says
    raw: Any = None
    status_text: str = ""  # the status as the provider wrote it


@dataclass(frozen=True)
class Placed:
    """The provider took the order."""

    provider_order_id: str
    cost: Decimal | None = None  # in the provider's currency


@dataclass(frozen=True)
class Refusal:
    """The provider clearly said no."""

    reason: str


@dataclass(frozen=True)
class InDoubt:
    """No clear answer: the provider may or may not have the order."""

    reason: str


@dataclass(frozen=True)
class NotSent:
    """The request never left (the connection could not be opened): safe to send later."""

    reason: str


PlaceResult = Placed | Refusal | InDoubt | NotSent


@dataclass(frozen=True)
class PostNotice:
    """A post the provider saw for a subscription: its key, and the order made for it upstream."""

    key: str
    quantity: int
    provider_order_id: str = ""  # empty: the panel sends the post's order itself


@dataclass(frozen=True)
class SubscriptionReport:
    posts: list[PostNotice]
    status: str | None = None  # the provider's verdict on the whole subscription, if any


@dataclass(frozen=True)
class CallRecord:
    """What one call sent (without the key) and what came of it: an UpstreamCall row to be."""

    action: str
    request: dict[str, str]
    http_status: int | None
    response: str
    outcome: str
    error: str
    latency_ms: int


# Reading values -------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _money(value: Any) -> Decimal | None:
    # An amount the panel could not keep exactly (past MAX_AMOUNT) is as unreadable as a word.
    number = _decimal(value)
    return None if number is None or abs(number) > MAX_AMOUNT else number


def _count(value: Any) -> int | None:
    number = _decimal(value)
    if number is None or number != number.to_integral_value() or abs(number) >= 10**18:
        return None
    return int(number)


def _flag(value: Any) -> bool:
    if isinstance(value, bool | int | float):
        return bool(value)
    return isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "on"}


def _excerpt(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _error_of(value: Any) -> str | None:
    """The message of an `{"error": ...}` object, if that is what `value` is."""
    if not isinstance(value, dict) or value.get("error") in (None, "", False):
        return None
    error = value["error"]
    return error.strip() if isinstance(error, str) else json.dumps(error)


def _shape_error(what: str, data: Any) -> Unreachable:
    return Unreachable(BAD_ANSWER, f"unexpected answer to {what}: {_excerpt(json.dumps(data))}")


# Reading answers --------------------------------------------------------------


def _html_title(text: str) -> str:
    match = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    return repr(_excerpt(match.group(1), 80)) if match else repr(_excerpt(text, 80))


def _http_error(status: int, text: str, location: str) -> Unreachable:
    message = f"provider answered HTTP {status}"
    if 300 <= status < 400 and location:
        message += f" (a redirect to {location}: check the provider's URL)"
    elif text.startswith("<"):
        message += f": {_html_title(text)}"
    else:
        try:
            error = _error_of(json.loads(text))
        except (ValueError, RecursionError):
            error = None
        if error:
            message += f": {error}"
    return Unreachable(HTTP_ERROR, message)


def read_answer(status: int, body: bytes, location: str = "") -> Any:
    """The JSON of an answer; raises what it is when it is not a usable one.

    Clients treat non-2xx as a network failure (docs/api.md), so it is
    `Unreachable`, even a 429 with an error body: the caller may try again.
    """
    text = body.decode("utf-8", errors="replace").lstrip("\ufeff").strip()
    if not 200 <= status < 300:
        raise _http_error(status, text, location)
    if not text:
        raise Unreachable(BAD_ANSWER, "empty answer")
    if text.startswith("<"):
        raise Unreachable(BAD_ANSWER, f"provider answered HTML, not JSON: {_html_title(text)}")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise Unreachable(BAD_ANSWER, f"invalid JSON: {_excerpt(text)!r}") from None
    message = _error_of(data)
    if message is not None:
        raise Refused(message)
    return data


def _service(item: Any) -> UpstreamService | None:
    if not isinstance(item, dict):
        return None
    external_id, rate = _text(item.get("service")), _money(item.get("rate"))
    low, high = _count(item.get("min")), _count(item.get("max"))
    if not external_id or rate is None or rate < 0 or low is None or high is None or low < 0:
        return None
    return UpstreamService(
        external_id=external_id,
        name=_text(item.get("name")),
        type=SERVICE_TYPES.get(_squash(_text(item.get("type"))), ServiceType.DEFAULT.value),
        category=_text(item.get("category")),
        rate=rate,
        min=low,
        max=high,
        dripfeed=_flag(item.get("dripfeed")),
        refill=_flag(item.get("refill")),
        cancel=_flag(item.get("cancel")),
        description=_text(item.get("desc", item.get("description"))),
        raw=item,
    )


def parse_services(data: Any) -> list[UpstreamService]:
    """Services that lack an id, a rate, a min or a max are left out (and logged)."""
    if isinstance(data, dict):  # some panels key the list by service id
        data = list(data.values())
    if not isinstance(data, list):
        raise _shape_error("services", data)
    services = []
    for item in data:
        service = _service(item)
        if service is None:
            log.warning("left out an unreadable service: %s", _excerpt(json.dumps(item)))
        else:
            services.append(service)
    return services


def parse_balance(data: Any) -> tuple[Decimal, str]:
    amount = _money(data.get("balance")) if isinstance(data, dict) else None
    if amount is None:
        raise _shape_error("balance", data)
    return amount, _text(data.get("currency"))


def parse_order_id(data: Any) -> str:
    order = _text(data.get("order")) if isinstance(data, dict) else ""
    if not order:
        raise _shape_error("add", data)
    return order


def _order_status(item: dict[str, Any]) -> UpstreamStatus:
    text = _text(item.get("status"))
    remains = _count(item.get("remains"))
    return UpstreamStatus(
        status=ORDER_STATUSES.get(_squash(text)),
        charge=_money(item.get("charge")),
        start_count=_count(item.get("start_count")),
        remains=None if remains is None else max(remains, 0),
        currency=_text(item.get("currency")) or None,
        quantity=_count(item.get("quantity")),  # a subscription post's real size, where told
        raw=item,
        status_text=text,
    )


def parse_status(data: Any) -> UpstreamStatus:
    if not isinstance(data, dict) or "status" not in data:
        raise _shape_error("status", data)
    return _order_status(data)


def _status_item(value: Any) -> UpstreamStatus:
    """One value of a multi-order answer: a status object, or the order's error (v2 object, v1 string)."""
    error = _error_of(value)
    if error is not None:
        return UpstreamStatus(status=None, error=error, raw=value)
    if isinstance(value, dict):
        return _order_status(value)
    if isinstance(value, str) and value.strip():
        return UpstreamStatus(status=None, error=value.strip(), raw=value)
    return UpstreamStatus(status=None, raw=value)


def parse_statuses(data: Any, ids: Sequence[str]) -> dict[str, UpstreamStatus]:
    """Statuses of the asked ids; an id the answer leaves out is absent (nothing is known of it)."""
    if isinstance(data, dict) and "status" in data and len(ids) == 1:
        data = {ids[0]: data}  # a panel that answers one id with the single-order shape
    elif isinstance(data, list):  # ... or the many-order one as a list
        data = {_text(item.get("order")): item for item in data if isinstance(item, dict)}
    if not isinstance(data, dict):
        raise _shape_error("status", data)
    answered = {_text(key): value for key, value in data.items()}
    return {id_: _status_item(answered[id_]) for id_ in ids if id_ in answered}


def _rows(data: Any, id_field: str, value_field: str, what: str) -> dict[str, Any]:
    """`[{id_field: 1, value_field: ...}, ...]` as `{"1": ...}`."""
    if not isinstance(data, list):
        raise _shape_error(what, data)
    rows = (row for row in data if isinstance(row, dict) and _text(row.get(id_field)))
    return {_text(row[id_field]): row.get(value_field) for row in rows}


def _refill_id(value: Any) -> str | Refused | None:
    error = _error_of(value)
    if error is not None:
        return Refused(error)
    text = _text(value)
    if " " in text:  # a bare error message where an id should be (v1 style)
        return Refused(text)
    return text or None


def _refill_status(value: Any) -> str | Refused | None:
    error = _error_of(value)
    if error is not None:
        return Refused(error)
    return REFILL_STATUSES.get(_squash(_text(value)))


def _cancel_accepted(value: Any) -> Refused | None | bool:
    """None: accepted; Refused: refused; False: unreadable."""
    error = _error_of(value)
    if error is not None:
        return Refused(error)
    if _flag(value):
        return None
    if isinstance(value, str) and value.strip() and _count(value) is None:
        return Refused(value.strip())
    if value in (0, False, "0"):
        return Refused("the provider did not accept the cancel")
    return False


def _readable(items: dict[str, Any], what: str, unreadable: object = None) -> dict[str, Any]:
    """Items whose value could be read; the others are left out (nothing is known of them)."""
    for key, value in items.items():
        if value is unreadable:
            log.warning("left out an unreadable item of %s: %s", what, key)
    return {key: value for key, value in items.items() if value is not unreadable}


def _one(data: Any, field: str, read: Callable[[Any], str | Refused | None], shape: str) -> str:
    """One answer's `field`, read by `read`: its Refused raised, a missing one a shape error."""
    value = read(data.get(field)) if isinstance(data, dict) else None
    if isinstance(value, Refused):
        raise value
    if value is None:
        raise _shape_error(shape, data)
    return value


def parse_refill_id(data: Any) -> str:
    return _one(data, "refill", _refill_id, "refill")


def parse_refills(data: Any) -> dict[str, str | Refused]:
    rows = _rows(data, "order", "refill", "refill")
    return _readable({key: _refill_id(value) for key, value in rows.items()}, "refill")


def parse_refill_status(data: Any) -> str:
    return _one(data, "status", _refill_status, "refill_status")


def parse_refill_statuses(data: Any) -> dict[str, str | Refused]:
    rows = _rows(data, "refill", "status", "refill_status")
    return _readable({key: _refill_status(value) for key, value in rows.items()}, "refill_status")


def parse_cancel(data: Any) -> dict[str, Refused | None]:
    rows = _rows(data, "order", "cancel", "cancel")
    return _readable({key: _cancel_accepted(value) for key, value in rows.items()}, "cancel", False)
