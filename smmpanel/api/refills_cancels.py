"""The actions on orders already placed: refill, refill_status and cancel."""

from collections.abc import Callable
from typing import Any

from smmpanel.api import dialects as d
from smmpanel.api.actions import ApiError, Request, authenticate, order_id_of, parse_ids
from smmpanel.orders.models import Refill
from smmpanel.orders.requests import OrderActionError, request_cancel, request_refill

_REFILL_STATUS = {code: str(label) for code, label in Refill.Status.choices}
_ERRORS = {
    OrderActionError.BAD_ORDER: d.BAD_ORDER,
    OrderActionError.NO_REFILL: d.NO_REFILL,
    OrderActionError.NO_CANCEL: d.NO_CANCEL,
}


def _one_refill(user_id: int, raw: str) -> tuple[int | None, str]:
    try:
        return request_refill(user_id, order_id_of(raw)), ""
    except OrderActionError as exc:
        return None, _ERRORS[exc.code]


def refill(request: Request) -> Any:
    _key_id, user_id = authenticate(request)
    many = request.get("orders")
    if many:
        results = [(raw, *_one_refill(user_id, raw)) for raw in parse_ids(many)]
        return [request.dialect.refill_item(raw, rid, err) for raw, rid, err in results]
    one = request.get("order")
    if not one:
        raise ApiError(d.NO_ORDER_ID)
    refill_id, error = _one_refill(user_id, one)
    if refill_id is None:
        raise ApiError(error)
    return request.dialect.refill(refill_id)


def _statuses(user_id: int, ids: list[str]) -> dict[int, str]:
    wanted = [n for n in (order_id_of(raw) for raw in ids) if n]
    rows = Refill.objects.filter(user_id=user_id, pk__in=wanted).values_list("pk", "status")
    return {pk: _REFILL_STATUS[status] for pk, status in rows}


def refill_status(request: Request) -> Any:
    _key_id, user_id = authenticate(request)
    many = request.get("refills")
    if many:
        ids = parse_ids(many)
        found = _statuses(user_id, ids)
        return [request.dialect.refill_status_item(raw, found.get(order_id_of(raw))) for raw in ids]
    one = request.get("refill")
    status = _statuses(user_id, [one]).get(order_id_of(one)) if one else None
    if status is None:
        raise ApiError(d.REFILL_NOT_FOUND)
    return request.dialect.refill_status(status)


def _one_cancel(user_id: int, raw: str) -> str | None:
    try:
        request_cancel(user_id, order_id_of(raw))
    except OrderActionError as exc:
        return _ERRORS[exc.code]
    return None


def cancel(request: Request) -> Any:
    """Always a list, whether asked with `orders=` or a single `order=`."""
    _key_id, user_id = authenticate(request)
    raw_ids = request.get("orders") or request.get("order")
    if not raw_ids:
        raise ApiError(d.NO_ORDER_ID)
    ids = parse_ids(raw_ids)
    return [request.dialect.cancel_item(raw, _one_cancel(user_id, raw)) for raw in ids]


ACTIONS: dict[str, Callable[[Request], Any]] = {
    "refill": refill,
    "refill_status": refill_status,
    "cancel": cancel,
}
