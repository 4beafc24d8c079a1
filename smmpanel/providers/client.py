"""The client for an upstream panel that speaks the reseller API (docs/api.md), either dialect.

Answers are read liberally (statuses in any case, numbers as strings or numbers,
errors at top level or per item) by the pure functions of `answers.py`; this
module does the I/O. Every call has one total deadline and leaves a
`CallRecord`, whatever its outcome.

Errors say what the caller may conclude: `Refused` is a clear "no" from the
provider (nothing was done); `Unreachable` means the outcome is in doubt (for
`add`, the order may or may not exist upstream), except where `maybe_sent` is
False: the connection never opened, so nothing reached the provider.

This module needs no Django setup (benchmarks use it bare); the codes it returns
are the values of `Order.Status`, `Refill.Status` and `UpstreamCall.Outcome`.
"""

import functools
import logging
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import httpx

from smmpanel.providers.answers import (
    BAD_ANSWER,
    CONNECTION,
    HEADERS,
    MAX_ANSWER_BYTES,
    MAX_IDS,
    OK,
    RECORD_LIMIT,
    TIMEOUT,
    CallRecord,
    Refused,
    Unreachable,
    UpstreamError,
    UpstreamService,
    UpstreamStatus,
    parse_balance,
    parse_cancel,
    parse_order_id,
    parse_refill_id,
    parse_refill_status,
    parse_refill_statuses,
    parse_refills,
    parse_services,
    parse_status,
    parse_statuses,
    read_answer,
)

__all__ = [
    "CallRecord",
    "ProviderClient",
    "Refused",
    "Unreachable",
    "UpstreamError",
    "UpstreamService",
    "UpstreamStatus",
]

log = logging.getLogger(__name__)

T = TypeVar("T")


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


def _deliver(recorder: Callable[[CallRecord], None] | None, record: CallRecord) -> None:
    if recorder is None:
        return
    try:
        recorder(record)
    except Exception:
        # The answer matters more than its record: losing an add's order id would double the order.
        log.exception("could not record a %s call", record.action)


class ProviderClient:
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
        self.url = url
        self.key = key
        self.timeout = timeout
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
            request = self._http.build_request(
                "POST",
                self.url,
                data=exchange.form(),
                headers=dict(exchange.call.headers),
                extensions=extensions,
            )
            response = self._http.send(request, stream=True)
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
