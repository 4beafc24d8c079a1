"""A fake upstream panel: docs/api.md v2 over real HTTP on 127.0.0.1, with faults on demand.

Tests use the fixture:

    from upstream import upstream_fixture  # noqa: F401  (the `upstream` fixture)

    def test_x(upstream):
        upstream.fault("add", "timeout")
        ProviderClient(upstream.url, upstream.key, timeout=0.5).add({...})

Benchmarks use the server alone (it needs nothing from pytest):

    with FakeUpstream(latency=0.05) as upstream:
        ...

Faults, set per action with `fault(action, kind, times=1, delay=None, ids=None)`:

- "slow": wait `delay` (0.2 s), then answer normally;
- "timeout": carry the request out (an add places its order), wait `delay`
  (`timeout_delay`, 2 s: longer than a test client's timeout), then answer;
- "drop_after_accept": carry it out, then close the connection without an answer;
- "trickle": answer normally, but send the headers and then each byte of the
  body `delay` (0.05 s) apart;
- "http_500", "http_502_html", "html" (200 with an HTML page), "invalid_json",
  "empty", "not_enough_funds" ({"error": "Not enough funds on balance"}):
  answered instead of carrying the request out;
- "per_item_errors": in a many-ids answer, `ids` (by default every second id
  asked) get the per-item error;
- "canned": answer `body` (JSON-able, or a str sent as is) with HTTP `status`
  instead; see `answer_with`.
"""

import contextlib
import json
import socket
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

try:
    import pytest
except ModuleNotFoundError:  # a benchmark without the test tools: the server needs none of them
    pytest = None  # type: ignore[assignment]

KEY = "upstream-test-key-3f9c2a7d51e04b8c"
FAULTS = frozenset(
    {
        "slow",
        "timeout",
        "drop_after_accept",
        "trickle",
        "http_500",
        "http_502_html",
        "html",
        "invalid_json",
        "empty",
        "not_enough_funds",
        "per_item_errors",
        "canned",
    }
)
# Faults answered in place of carrying the request out: (HTTP status, content type, body).
_INSTEAD = {
    "http_500": (500, "text/plain", b"Internal Server Error"),
    "http_502_html": (
        502,
        "text/html",
        b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
    ),
    "html": (200, "text/html", b"<!DOCTYPE html><html><head><title>Maintenance</title></head></html>"),
    "invalid_json": (200, "application/json", b'{"order": 12'),
    "empty": (200, "application/json", b""),
    "not_enough_funds": (200, "application/json", b'{"error": "Not enough funds on balance"}'),
}
_DELAYS = {"slow": 0.2, "trickle": 0.05}
BAD_ORDER = {"error": "Incorrect order ID"}
FINAL = {"Completed", "Partial", "Canceled"}

SERVICES: list[dict[str, Any]] = [
    {
        "service": 1,
        "name": "Followers",
        "type": "Default",
        "category": "Instagram Followers",
        "rate": "0.90",
        "min": "50",
        "max": "10000",
        "dripfeed": True,
        "refill": True,
        "cancel": True,
    },
    {
        "service": 2,
        "name": "Comments",
        "type": "Custom Comments",
        "category": "Instagram Comments",
        "rate": "12",
        "min": "1",
        "max": "500",
        "dripfeed": False,
        "refill": False,
        "cancel": False,
    },
    {
        "service": 3,
        "name": "Starter pack",
        "type": "Package",
        "category": "Packs",
        "rate": "4.5",
        "min": "1",
        "max": "1",
        "dripfeed": False,
        "refill": False,
        "cancel": True,
    },
]


@dataclass
class Fault:
    kind: str
    times: int | None  # None: every call
    delay: float | None = None
    ids: frozenset[str] | None = None
    body: Any = None
    status: int = 200


@dataclass
class UpstreamOrder:
    id: str
    params: dict[str, str]
    charge: Decimal
    remains: int
    status: str = "Pending"
    start_count: int = 0
    idempotency_key: str | None = None
    cancel_requested: bool = False


@dataclass
class UpstreamRefill:
    id: str
    order_id: str
    status: str = "Pending"


@dataclass
class _Answer:
    status: int = 200
    content_type: str = "application/json"
    body: bytes = b""


@dataclass
class FakeUpstream:
    """The panel's state, its faults and its HTTP server. Thread-safe; `start()` before use."""

    key: str = KEY
    honours_idempotency: bool = False
    latency: float = 0.0  # added to every answer
    timeout_delay: float = 2.0
    balance: Decimal = Decimal("1000")
    currency: str = "USD"
    services: list[dict[str, Any]] = field(default_factory=lambda: [dict(s) for s in SERVICES])
    orders: dict[str, UpstreamOrder] = field(default_factory=dict)
    refills: dict[str, UpstreamRefill] = field(default_factory=dict)
    placed: list[UpstreamOrder] = field(default_factory=list)
    placed_per_key: Counter[str] = field(default_factory=Counter)
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._next_id = 1000
        self._server: _Server | None = None

    # Running -------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake upstream first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/v2"

    def start(self) -> "FakeUpstream":
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.upstream = self
        # A short poll: stop() waits for the loop to notice, once per test.
        serve = partial(self._server.serve_forever, poll_interval=0.01)
        threading.Thread(target=serve, daemon=True, name="fake-upstream").start()
        return self

    def stop(self) -> None:
        self._stopped.set()  # wakes answers that are waiting out a delay
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> "FakeUpstream":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Driving it from a test ---------------------------------------------------

    def fault(
        self,
        action: str,
        kind: str,
        *,
        times: int | None = 1,
        delay: float | None = None,
        ids: Iterable[str] | None = None,
        body: Any = None,
        status: int = 200,
    ) -> None:
        """The next `times` calls of `action` (None: all of them) go wrong this way."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {sorted(FAULTS)}")
        wanted = None if ids is None else frozenset(str(i) for i in ids)
        with self._lock:
            self.faults.setdefault(action, []).append(Fault(kind, times, delay, wanted, body, status))

    def answer_with(self, action: str, body: Any, *, times: int | None = 1, status: int = 200) -> None:
        """Answer `action` with `body` (JSON-able, or a str sent as is), e.g. another panel's dialect."""
        self.fault(action, "canned", times=times, body=body, status=status)

    def set_status(
        self,
        order_id: str,
        status: str,
        *,
        remains: int | None = None,
        start_count: int | None = None,
        charge: Decimal | None = None,
    ) -> None:
        """Move an order on; `status` is sent as written (e.g. "In progress")."""
        with self._lock:
            order = self.orders[str(order_id)]
            order.status = status
            order.remains = order.remains if remains is None else remains
            order.start_count = order.start_count if start_count is None else start_count
            order.charge = order.charge if charge is None else charge

    def set_refill_status(self, refill_id: str, status: str) -> None:
        with self._lock:
            self.refills[str(refill_id)].status = status

    def place(self, params: dict[str, str], idempotency_key: str | None = None) -> UpstreamOrder:
        """An order placed as `add` would, without HTTP (to set a test up)."""
        with self._lock:
            answer = self._add(params, idempotency_key)
        return self.orders[str(answer["order"])]

    # Answering ----------------------------------------------------------------------

    def _take_fault(self, action: str) -> Fault | None:
        with self._lock:
            pending = self.faults.get(action) or []
            if not pending:
                return None
            fault = pending[0]
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    pending.pop(0)
            return fault

    def _wait(self, seconds: float) -> None:
        self._stopped.wait(seconds)

    def answer(self, handler: "_Handler", params: dict[str, str]) -> None:
        action = params.get("action", "").strip().lower()
        fault = self._take_fault(action)
        with self._lock:
            self.calls.append((action, {k: v for k, v in params.items() if k not in ("key", "action")}))
        if self.latency:
            self._wait(self.latency)
        if fault and fault.kind == "slow":
            self._wait(fault.delay if fault.delay is not None else _DELAYS["slow"])
        if fault and fault.kind in _INSTEAD:
            handler.send(_Answer(*_INSTEAD[fault.kind]))
            return
        if fault and fault.kind == "canned":
            body = fault.body if isinstance(fault.body, str) else json.dumps(fault.body)
            handler.send(_Answer(fault.status, body=body.encode()))
            return
        with self._lock:
            data = self._carry_out(action, params, handler.headers.get("Idempotency-Key"), fault)
        self._deliver(handler, _Answer(body=json.dumps(data).encode()), fault)

    def _deliver(self, handler: "_Handler", answer: _Answer, fault: Fault | None) -> None:
        kind = fault.kind if fault else ""
        if kind == "drop_after_accept":
            handler.drop()
        elif kind == "trickle":
            assert fault is not None
            handler.trickle(
                answer, fault.delay if fault.delay is not None else _DELAYS["trickle"], self._wait
            )
        else:
            if kind == "timeout":
                assert fault is not None
                self._wait(fault.delay if fault.delay is not None else self.timeout_delay)
            handler.send(answer)

    def _carry_out(self, action: str, params: dict[str, str], idem: str | None, fault: Fault | None) -> Any:
        if params.get("key") != self.key:
            return {"error": "Invalid API key"}
        if action == "services":
            return self.services
        if action == "balance":
            return {"balance": f"{self.balance:.5f}", "currency": self.currency}
        if action == "add":
            return self._add(params, idem or params.get("idempotency_key"))
        many = {"status": "orders", "refill": "orders", "refill_status": "refills", "cancel": "orders"}
        if action in many and many[action] in params:
            ids = list(dict.fromkeys(i.strip() for i in params[many[action]].split(",") if i.strip()))
            return self._many(action, ids, _failing(ids, fault))
        if action in ("status", "refill", "cancel"):
            return self._one(action, params.get("order", "").strip())
        if action == "refill_status":
            refill = self.refills.get(params.get("refill", "").strip())
            return {"status": refill.status} if refill else {"error": "Refill not found"}
        return {"error": "Incorrect request"}

    def _add(self, params: dict[str, str], idem: str | None) -> dict[str, Any]:
        if idem and self.honours_idempotency:
            for order in self.placed:
                if order.idempotency_key == idem:
                    return {"order": int(order.id)}
        service = next((s for s in self.services if str(s["service"]) == params.get("service")), None)
        if service is None:
            return {"error": "Incorrect service ID"}
        quantity = int(params.get("quantity") or 1)
        charge = Decimal(service["rate"]) * quantity / 1000
        if charge > self.balance:
            return {"error": "Not enough funds on balance"}
        self.balance -= charge
        self._next_id += 1
        order = UpstreamOrder(str(self._next_id), dict(params), charge, quantity, idempotency_key=idem)
        order.params.pop("key", None)
        self.orders[order.id] = order
        self.placed.append(order)
        if idem:
            self.placed_per_key[idem] += 1
        return {"order": int(order.id)}

    def _one(self, action: str, order_id: str) -> Any:
        order = self.orders.get(order_id)
        if order is None:
            return BAD_ORDER
        if action == "status":
            return _status_of(order)
        if action == "refill":
            return {"refill": self._new_refill(order).id}
        return self._cancel(order)

    def _many(self, action: str, ids: list[str], failing: frozenset[str]) -> Any:
        if action == "status":
            return {i: BAD_ORDER if i in failing else self._one("status", i) for i in ids}
        if action == "refill_status":
            return [{"refill": _num(i), "status": self._refill_item(i, failing)} for i in ids]
        field_ = "refill" if action == "refill" else "cancel"
        return [{"order": _num(i), field_: self._order_item(action, i, failing)} for i in ids]

    def _order_item(self, action: str, order_id: str, failing: frozenset[str]) -> Any:
        order = self.orders.get(order_id)
        if order is None or order_id in failing:
            return BAD_ORDER
        if action == "refill":
            return _num(self._new_refill(order).id)
        answer = self._cancel(order)
        return answer.get("cancel", answer)

    def _refill_item(self, refill_id: str, failing: frozenset[str]) -> Any:
        refill = self.refills.get(refill_id)
        if refill is None or refill_id in failing:
            return {"error": "Refill not found"}
        return refill.status

    def _new_refill(self, order: UpstreamOrder) -> UpstreamRefill:
        refill = UpstreamRefill(str(500 + len(self.refills) + 1), order.id)
        self.refills[refill.id] = refill
        return refill

    def _cancel(self, order: UpstreamOrder) -> dict[str, Any]:
        if order.status in FINAL:
            return {"error": "Cancel is not available for this order"}
        order.cancel_requested = True
        return {"cancel": 1}


def _failing(ids: list[str], fault: Fault | None) -> frozenset[str]:
    if fault is None or fault.kind != "per_item_errors":
        return frozenset()
    return fault.ids if fault.ids is not None else frozenset(ids[1::2])


def _num(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def _status_of(order: UpstreamOrder) -> dict[str, str]:
    return {
        "charge": f"{order.charge:.5f}",
        "start_count": str(order.start_count),
        "status": order.status,
        "remains": str(order.remains),
        "currency": "USD",
    }


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # not 5: a benchmark opens many connections at once
    upstream: FakeUpstream


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    protocol_version = "HTTP/1.1"  # keep-alive, as real panels and httpx's pool do
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms stall between them

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", errors="replace")
        query = urlsplit(self.path).query
        params = dict(parse_qsl(query)) | dict(parse_qsl(body, keep_blank_values=True))
        self.server.upstream.answer(self, params)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read the calls from `upstream.calls`

    def _head(self, answer: _Answer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()

    def send(self, answer: _Answer) -> None:
        with contextlib.suppress(OSError):  # the client may have given up already
            self._head(answer)
            self.wfile.write(answer.body)

    def trickle(self, answer: _Answer, delay: float, wait: Any) -> None:
        with contextlib.suppress(OSError):
            wait(delay)
            self._head(answer)
            self.wfile.flush()
            for byte in answer.body:
                wait(delay)
                self.wfile.write(bytes([byte]))
                self.wfile.flush()

    def drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


if pytest is not None:
    # Named apart from the fixture, so a test module can import it and still take `upstream`.
    @pytest.fixture(name="upstream")
    def upstream_fixture() -> Iterator[FakeUpstream]:
        """A fake upstream panel on 127.0.0.1, fresh for each test."""
        with FakeUpstream() as server:
            yield server
