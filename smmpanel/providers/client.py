"""The client for an upstream panel that speaks the reseller API (spec/api.md), either dialect.

Answers are read liberally (statuses in any case, numbers as strings or numbers,
errors at top level or per item) by pure functions shared by the sync and the
async client; the two classes differ only in doing the I/O. Every call has one
total deadline and leaves a `CallRecord`, whatever its outcome.

Errors say what the caller may conclude: `Refused` is a clear "no" from the
provider (nothing was done); `Unreachable` means the outcome is in doubt (for
`add`, the order may or may not exist upstream), except where `maybe_sent` is
False: the connection never opened, so nothing reached the provider.

This module needs no Django setup (benchmarks use it bare); the codes it returns
are the values of `Order.Status`, `Refill.Status` and `UpstreamCall.Outcome`.
"""

import asyncio
import functools
import inspect
import json
import logging
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import httpx

from smmpanel.catalog.types import ServiceType

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_IDS = 100
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
    status: str | None  # an Order.Status value; None if the text is not one we know
    charge: Decimal | None = None
    start_count: int | None = None
    remains: int | None = None
    currency: str | None = None
    error: str | None = None  # the provider's per-order error, e.g. "Incorrect order ID"
    raw: Any = None
    status_text: str = ""  # the status as the provider wrote it


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

    Clients treat non-2xx as a network failure (spec/api.md), so it is
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
    external_id, rate = _text(item.get("service")), _decimal(item.get("rate"))
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
    amount = _decimal(data.get("balance")) if isinstance(data, dict) else None
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
        charge=_decimal(item.get("charge")),
        start_count=_count(item.get("start_count")),
        remains=None if remains is None else max(remains, 0),
        currency=_text(item.get("currency")) or None,
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


def parse_refill_id(data: Any) -> str:
    refill = _refill_id(data.get("refill")) if isinstance(data, dict) else None
    if isinstance(refill, Refused):
        raise refill
    if refill is None:
        raise _shape_error("refill", data)
    return refill


def parse_refills(data: Any) -> dict[str, str | Refused]:
    rows = _rows(data, "order", "refill", "refill")
    return _readable({key: _refill_id(value) for key, value in rows.items()}, "refill")


def parse_refill_status(data: Any) -> str:
    status = _refill_status(data.get("status")) if isinstance(data, dict) else None
    if isinstance(status, Refused):
        raise status
    if status is None:
        raise _shape_error("refill_status", data)
    return status


def parse_refill_statuses(data: Any) -> dict[str, str | Refused]:
    rows = _rows(data, "refill", "status", "refill_status")
    return _readable({key: _refill_status(value) for key, value in rows.items()}, "refill_status")


def parse_cancel(data: Any) -> dict[str, Refused | None]:
    rows = _rows(data, "order", "cancel", "cancel")
    return _readable({key: _cancel_accepted(value) for key, value in rows.items()}, "cancel", False)


# Calls -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Call(Generic[T]):
    """One request to make and how to read its answer, whoever does the I/O."""

    action: str
    params: Mapping[str, str]
    parse: Callable[[Any], T]
    headers: Mapping[str, str] = field(default_factory=dict)


def _id_list(ids: Sequence[str]) -> list[str]:
    ids = [str(id_).strip() for id_ in ids]
    if not 1 <= len(ids) <= MAX_IDS:
        raise ValueError(f"1 to {MAX_IDS} ids per call, not {len(ids)}")
    return ids


def _raw_call(action: str, params: Mapping[str, str]) -> _Call[Any]:
    return _Call(action, params, lambda data: data)


def _add_call(params: Mapping[str, str], idempotency_key: str | None) -> _Call[str]:
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    return _Call("add", params, parse_order_id, headers)


def _statuses_call(ids: Sequence[str]) -> _Call[dict[str, UpstreamStatus]]:
    wanted = _id_list(ids)
    return _Call("status", {"orders": ",".join(wanted)}, lambda data: parse_statuses(data, wanted))


def _batch_call(action: str, name: str, ids: Sequence[str], parse: Callable[[Any], T]) -> _Call[T]:
    return _Call(action, {name: ",".join(_id_list(ids))}, parse)


def _redact(text: str, key: str) -> str:
    # A short key would blank out ordinary text; real keys are long.
    return text.replace(key, "[key]") if len(key) >= 8 else text


class _Exchange(Generic[T]):
    """One call in flight: what was sent, what came back, how long it took."""

    def __init__(self, call: _Call[T], key: str) -> None:
        self.call = call
        self.key = key
        self.started = time.monotonic()
        self.status: int | None = None
        self.location = ""
        self.body = bytearray()
        self.error: UpstreamError | None = None
        self.finished = False

    def form(self) -> dict[str, str]:
        return {**self.call.params, "key": self.key, "action": self.call.action}

    def answered(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.location = response.headers.get("location", "")

    def result(self) -> T:
        try:
            data = read_answer(self.status or 0, bytes(self.body), self.location)
            try:
                result = self.call.parse(data)
            except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError) as exc:
                # A reader that cannot follow the answer does not know what happened upstream.
                raise Unreachable(BAD_ANSWER, f"unreadable answer: {exc!r}") from exc
        except UpstreamError as exc:
            self.error = exc
            raise
        self.finished = True
        return result

    def failed(self, error: UpstreamError) -> UpstreamError:
        self.error = error
        return error

    def _interrupted(self) -> str:
        # Cancelled or stopped mid-call (e.g. the worker shutting down): the outcome is in doubt.
        return "" if self.finished else "the call was interrupted"

    def record(self) -> CallRecord:
        request = {
            k: _redact(str(v), self.key) for k, v in self.call.params.items() if k not in ("key", "action")
        }
        request.update(self.call.headers)
        text = self.body[: RECORD_LIMIT * 4].decode("utf-8", errors="replace")[:RECORD_LIMIT]
        return CallRecord(
            action=self.call.action,
            request=request,
            http_status=self.status,
            response=_redact(text, self.key),
            outcome=self.error.outcome if self.error else OK if self.finished else CONNECTION,
            error=_redact(self.error.message, self.key) if self.error else self._interrupted(),
            latency_ms=round((time.monotonic() - self.started) * 1000),
        )


def _late(timeout: float) -> Unreachable:
    return Unreachable(TIMEOUT, f"no complete answer within {timeout:g} s")


def _unreachable(exc: Exception, timeout: float) -> Unreachable:
    """What an httpx failure means for the caller; connect failures sent nothing."""
    if isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout):
        return Unreachable(TIMEOUT, f"could not connect within {timeout:g} s", maybe_sent=False)
    if isinstance(exc, httpx.TimeoutException):
        return _late(timeout)
    if isinstance(exc, httpx.ConnectError):
        return Unreachable(CONNECTION, f"could not connect: {exc}", maybe_sent=False)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return Unreachable(CONNECTION, f"bad provider URL: {exc}", maybe_sent=False)
    if isinstance(exc, httpx.DecodingError):
        return Unreachable(BAD_ANSWER, f"undecodable answer: {exc}")
    return Unreachable(
        CONNECTION, f"connection dropped before a complete answer: {exc or type(exc).__name__}"
    )


def _grow(body: bytearray, chunk: bytes, deadline: float, timeout: float) -> None:
    body += chunk
    if len(body) > MAX_ANSWER_BYTES:
        raise Unreachable(BAD_ANSWER, f"answer larger than {MAX_ANSWER_BYTES // 2**20} MB")
    # An answer that trickles in never trips the per-read timeout: the total one must.
    if time.monotonic() > deadline:
        raise _late(timeout)


def _deadline_extensions(deadline: float, timeout: float) -> dict[str, Any]:
    """httpx times connect, write and each read separately; this makes them one total deadline.

    httpcore reads its timeouts from this dict as each phase starts, right after
    calling `trace`: so each phase gets what is left of the total.
    """
    timeouts = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}

    def shrink(event: str, info: dict[str, Any]) -> None:
        if event.endswith(".started"):
            left = max(deadline - time.monotonic(), 0.001)
            timeouts.update(connect=left, read=left, write=left, pool=left)

    return {"timeout": timeouts, "trace": shrink}


# The clients -----------------------------------------------------------------------


@functools.cache
def _tls() -> ssl.SSLContext:
    # Loading the CA bundle takes ~80 ms: once per process, not once per client.
    return httpx.create_ssl_context()


class _Client:
    """What both clients share: the provider, the key, the timeout."""

    def __init__(self, url: str, key: str, timeout: float) -> None:
        self.url = url
        self.key = key
        self.timeout = timeout

    def _request(
        self, http: httpx.Client | httpx.AsyncClient, exchange: _Exchange[T], extensions: dict[str, Any]
    ) -> httpx.Request:
        return http.build_request(
            "POST", self.url, data=exchange.form(), headers=dict(exchange.call.headers), extensions=extensions
        )


def _deliver(recorder: Callable[[CallRecord], None] | None, record: CallRecord) -> None:
    if recorder is None:
        return
    try:
        recorder(record)
    except Exception:
        # The answer matters more than its record: losing an add's order id would double the order.
        log.exception("could not record a %s call", record.action)


class ProviderClient(_Client):
    """A provider's API, called synchronously. Use as a context manager, or `close()` it."""

    def __init__(
        self,
        url: str,
        key: str,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        recorder: Callable[[CallRecord], None] | None = None,
    ) -> None:
        super().__init__(url, key, timeout)
        self.recorder = recorder
        self._http = httpx.Client(transport=transport, timeout=timeout, headers=HEADERS, verify=_tls())

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def call(self, action: str, params: Mapping[str, str] | None = None) -> Any:
        """Any action, its answer as JSON (a top-level error raises `Refused`)."""
        return self._run(_raw_call(action, params or {}))

    def services(self) -> list[UpstreamService]:
        return self._run(_Call("services", {}, parse_services))

    def balance(self) -> tuple[Decimal, str]:
        return self._run(_Call("balance", {}, parse_balance))

    def add(self, params: Mapping[str, str], idempotency_key: str | None = None) -> str:
        return self._run(_add_call(params, idempotency_key))

    def status(self, order_id: str) -> UpstreamStatus:
        return self._run(_Call("status", {"order": str(order_id)}, parse_status))

    def statuses(self, ids: Sequence[str]) -> dict[str, UpstreamStatus]:
        return self._run(_statuses_call(ids))

    def refill(self, order_id: str) -> str:
        return self._run(_Call("refill", {"order": str(order_id)}, parse_refill_id))

    def refills(self, ids: Sequence[str]) -> dict[str, str | Refused]:
        return self._run(_batch_call("refill", "orders", ids, parse_refills))

    def refill_status(self, refill_id: str) -> str:
        return self._run(_Call("refill_status", {"refill": str(refill_id)}, parse_refill_status))

    def refill_statuses(self, ids: Sequence[str]) -> dict[str, str | Refused]:
        return self._run(_batch_call("refill_status", "refills", ids, parse_refill_statuses))

    def cancel(self, ids: Sequence[str]) -> dict[str, Refused | None]:
        return self._run(_batch_call("cancel", "orders", ids, parse_cancel))

    def _run(self, call: _Call[T]) -> T:
        exchange = _Exchange(call, self.key)
        try:
            self._send(exchange)
            return exchange.result()
        finally:
            _deliver(self.recorder, exchange.record())

    def _send(self, exchange: _Exchange[T]) -> None:
        deadline = exchange.started + self.timeout
        extensions = _deadline_extensions(deadline, self.timeout)
        try:
            response = self._http.send(self._request(self._http, exchange, extensions), stream=True)
            try:
                exchange.answered(response)
                for chunk in response.iter_bytes():
                    _grow(exchange.body, chunk, deadline, self.timeout)
            finally:
                response.close()
        except UpstreamError as exc:
            raise exchange.failed(exc) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise exchange.failed(_unreachable(exc, self.timeout)) from exc


AsyncRecorder = Callable[[CallRecord], Awaitable[None] | None]


async def _adeliver(recorder: AsyncRecorder | None, record: CallRecord) -> None:
    if recorder is None:
        return
    try:
        result = recorder(record)
        if inspect.isawaitable(result):
            await result
    except Exception:
        # The answer matters more than its record: losing an add's order id would double the order.
        log.exception("could not record a %s call", record.action)


class AsyncProviderClient(_Client):
    """A provider's API, called from asyncio. The recorder may be a plain or an async function."""

    def __init__(
        self,
        url: str,
        key: str,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        recorder: AsyncRecorder | None = None,
    ) -> None:
        super().__init__(url, key, timeout)
        self.recorder = recorder
        self._http = httpx.AsyncClient(transport=transport, timeout=timeout, headers=HEADERS, verify=_tls())

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def call(self, action: str, params: Mapping[str, str] | None = None) -> Any:
        """Any action, its answer as JSON (a top-level error raises `Refused`)."""
        return await self._run(_raw_call(action, params or {}))

    async def services(self) -> list[UpstreamService]:
        return await self._run(_Call("services", {}, parse_services))

    async def balance(self) -> tuple[Decimal, str]:
        return await self._run(_Call("balance", {}, parse_balance))

    async def add(self, params: Mapping[str, str], idempotency_key: str | None = None) -> str:
        return await self._run(_add_call(params, idempotency_key))

    async def status(self, order_id: str) -> UpstreamStatus:
        return await self._run(_Call("status", {"order": str(order_id)}, parse_status))

    async def statuses(self, ids: Sequence[str]) -> dict[str, UpstreamStatus]:
        return await self._run(_statuses_call(ids))

    async def refill(self, order_id: str) -> str:
        return await self._run(_Call("refill", {"order": str(order_id)}, parse_refill_id))

    async def refills(self, ids: Sequence[str]) -> dict[str, str | Refused]:
        return await self._run(_batch_call("refill", "orders", ids, parse_refills))

    async def refill_status(self, refill_id: str) -> str:
        return await self._run(_Call("refill_status", {"refill": str(refill_id)}, parse_refill_status))

    async def refill_statuses(self, ids: Sequence[str]) -> dict[str, str | Refused]:
        return await self._run(_batch_call("refill_status", "refills", ids, parse_refill_statuses))

    async def cancel(self, ids: Sequence[str]) -> dict[str, Refused | None]:
        return await self._run(_batch_call("cancel", "orders", ids, parse_cancel))

    async def _run(self, call: _Call[T]) -> T:
        exchange = _Exchange(call, self.key)
        try:
            await self._send(exchange)
            return exchange.result()
        finally:
            await _adeliver(self.recorder, exchange.record())

    async def _send(self, exchange: _Exchange[T]) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                await self._receive(exchange)
        except UpstreamError as exc:
            raise exchange.failed(exc) from None
        except TimeoutError:
            raise exchange.failed(_late(self.timeout)) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise exchange.failed(_unreachable(exc, self.timeout)) from exc

    async def _receive(self, exchange: _Exchange[T]) -> None:
        # asyncio.timeout bounds the whole call; httpx's per-phase timeouts stay as a backstop.
        deadline = exchange.started + self.timeout
        response = await self._http.send(self._request(self._http, exchange, {}), stream=True)
        try:
            exchange.answered(response)
            async for chunk in response.aiter_bytes():
                _grow(exchange.body, chunk, deadline, self.timeout)
        finally:
            await response.aclose()
