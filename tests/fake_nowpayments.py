"""A fake NOWPayments: the part of its public API the panel uses, over real HTTP on 127.0.0.1.

    with FakeNOWPayments() as fake:
        fake.url                                   # the API base (SMMPANEL_NOWPAYMENTS_URL)
        payment = fake.pay(invoice_id, "finished")  # the customer pays the invoice in a coin
        fake.notify(payment.id)                    # posts a signed IPN to the invoice's callback

It keeps invoices and their payments, checks `x-api-key` (and the JWT on the list of payments, as
their documentation shows it), and goes wrong on demand: `fault("list", "timeout")` holds the next
listing longer than the panel waits; "http_500" and "invalid_json" answer that instead.

Endpoints: POST /v1/auth, POST /v1/invoice, GET /v1/payment/?invoiceId=..., GET /v1/payment/<id>.
An IPN is the payment as the API shows it, posted with `x-nowpayments-sig`: the HMAC-SHA512 (IPN
secret) of the body's JSON with its keys sorted at every level and no spaces.
"""

import hashlib
import hmac
import json
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

API_KEY = "np-test-key-5b1e9c0d7a"
IPN_SECRET = "np-ipn-secret-0f3a8e2c41"
EMAIL = "merchant@example.com"
PASSWORD = "np-password-77a1"
FAULTS = frozenset({"timeout", "http_500", "invalid_json"})
ACTIONS = frozenset({"auth", "invoice", "list", "payment"})


def _number(value: Decimal) -> int | float:
    """As JavaScript writes a number: 25, not 25.0."""
    return int(value) if value == value.to_integral_value() else float(value)


def _stringify(value: Any) -> str:
    """JavaScript's JSON.stringify of `value` with its keys sorted at every level (their docs'
    signed text): numbers as JavaScript writes them, 0.00005 and 1e-7, never 5e-05."""
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{_stringify(value[k])}" for k in sorted(value))
            + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(map(_stringify, value)) + "]"
    if isinstance(value, float):
        exact = Decimal(repr(value))
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return format(exact, "f") if 1e-6 <= abs(value) < 1e21 else format(exact.normalize(), "e")
    return json.dumps(value, ensure_ascii=False)


def sign(secret: str, payload: object) -> str:
    return hmac.new(secret.encode(), _stringify(payload).encode(), hashlib.sha512).hexdigest()


@dataclass
class Invoice:
    id: str
    price_amount: Decimal
    price_currency: str
    order_id: str
    ipn_callback_url: str
    success_url: str
    cancel_url: str


@dataclass
class Payment:
    id: int
    invoice: Invoice
    status: str
    pay_currency: str
    pay_amount: Decimal
    actually_paid: Decimal
    # Set to make the API tell another amount or currency than the invoice's (a mismatch).
    price_amount: Decimal | None = None
    price_currency: str | None = None

    def as_api(self) -> dict[str, Any]:
        amount = self.invoice.price_amount if self.price_amount is None else self.price_amount
        return {
            "payment_id": self.id,
            "invoice_id": int(self.invoice.id),
            "payment_status": self.status,
            "pay_address": f"bc1qfake{self.id}",
            "price_amount": _number(amount),
            "price_currency": self.price_currency or self.invoice.price_currency,
            "pay_amount": _number(self.pay_amount),
            "actually_paid": _number(self.actually_paid),
            "pay_currency": self.pay_currency,
            "order_id": self.invoice.order_id,
            "order_description": self.invoice.order_id,
            "purchase_id": str(9_000_000 + self.id),
            "outcome_amount": _number(self.actually_paid),
            "outcome_currency": self.pay_currency,
            "created_at": "2026-12-03T10:00:00.000Z",
            "updated_at": "2026-12-03T10:05:00.000Z",
        }

    def as_ipn(self) -> dict[str, Any]:
        body = self.as_api()
        body.update(
            parent_payment_id=None,
            payin_extra_id=None,
            actually_paid_at_fiat=0,
            payment_extra_ids=None,
            fee={"currency": self.pay_currency, "depositFee": 0, "withdrawalFee": 0, "serviceFee": 0},
        )
        return body


@dataclass
class FakeNOWPayments:
    api_key: str = API_KEY
    ipn_secret: str = IPN_SECRET
    email: str = EMAIL
    password: str = PASSWORD
    rate: Decimal = Decimal("50000")  # price currency per coin
    # How long a "timeout" fault holds its answer: the panel gives up sooner, and stop() ends it.
    hold: float = 60.0
    invoices: dict[str, Invoice] = field(default_factory=dict)
    payments: dict[int, Payment] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    # Where notify() posts: a real HTTP client unless a test gives one (e.g. the panel in process).
    ipn_client: httpx.Client | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._faults: dict[str, list[str]] = {}
        self._tokens: set[str] = set()
        self._next = 5_000_000_000
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "FakeNOWPayments":
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        serve = partial(self._server.serve_forever, poll_interval=0.01)
        threading.Thread(target=serve, daemon=True, name="fake-nowpayments").start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> "FakeNOWPayments":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Driving it from a test ----------------------------------------------------------------------

    def fault(self, action: str, kind: str, times: int = 1) -> None:
        """The next `times` calls of `action` (auth, invoice, list, payment) go wrong this way."""
        assert action in ACTIONS and kind in FAULTS, (action, kind)
        with self._lock:
            self._faults.setdefault(action, []).extend([kind] * times)

    def forget_tokens(self) -> None:
        """Every JWT handed out so far stops working (they live five minutes)."""
        with self._lock:
            self._tokens.clear()

    def pay(
        self, invoice_id: str, status: str = "finished", paid: str | None = None, coin: str = "btc"
    ) -> Payment:
        """The customer picks a coin on the invoice's page (a new payment), and pays `paid` of
        the price (all of it by default; "0" for none yet), in the coin at the fake's rate."""
        with self._lock:
            invoice = self.invoices[str(invoice_id)]
            coins = invoice.price_amount / self.rate
            fraction = Decimal(1) if paid is None else Decimal(paid) / invoice.price_amount
            self._next += 1
            payment = Payment(self._next, invoice, status, coin, coins, coins * fraction)
            self.payments[payment.id] = payment
            return payment

    def move(self, payment_id: int, status: str, **changes: Any) -> Payment:
        with self._lock:
            payment = self.payments[payment_id]
            payment.status = status
            for name, value in changes.items():
                setattr(payment, name, value)
            return payment

    def ipn(self, payment_id: int, status: str | None = None, **changes: Any) -> dict[str, Any]:
        """The IPN's body for a payment (as it is now, or as it was at `status`)."""
        with self._lock:
            body = self.payments[payment_id].as_ipn()
        if status is not None:
            body["payment_status"] = status
        body.update(changes)
        return body

    def notify(
        self, payment_id: int, status: str | None = None, secret: str | None = None, body: Any = None
    ) -> tuple[int, str]:
        """Post an IPN to the invoice's callback, signed as NOWPayments signs it (with `secret`
        instead to play another merchant; "" to send no signature). Returns (HTTP status, text)."""
        payment = self.payments[payment_id]
        payload = self.ipn(payment_id, status) if body is None else body
        key = self.ipn_secret if secret is None else secret
        headers = {"content-type": "application/json", "user-agent": "NOWPayments IPN (fake)"}
        if key:
            headers["x-nowpayments-sig"] = sign(key, payload)
        url, content = payment.invoice.ipn_callback_url, json.dumps(payload)
        if self.ipn_client is not None:
            response = self.ipn_client.post(url, content=content, headers=headers)
        else:
            response = httpx.post(url, content=content, headers=headers, timeout=30)
        return response.status_code, response.text

    # Answering -------------------------------------------------------------------------------------

    def _take_fault(self, action: str) -> str | None:
        with self._lock:
            pending = self._faults.get(action) or []
            return pending.pop(0) if pending else None

    def answer(
        self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes
    ) -> tuple[int, bytes]:
        action = self._action(method, path)
        with self._lock:
            self.calls.append((action, path))
        fault = self._take_fault(action)
        if fault == "timeout":
            self._stopped.wait(self.hold)
        elif fault == "http_500":
            return 500, b"Internal Server Error"
        elif fault == "invalid_json":
            return 200, b'{"data": [{"payment_id": 1'
        status, data = self._carry_out(action, path, query, headers, body)
        return status, json.dumps(data).encode()

    @staticmethod
    def _action(method: str, path: str) -> str:
        if method == "POST":
            return {"/v1/auth": "auth", "/v1/invoice": "invoice"}.get(path, "unknown")
        if path == "/v1/payment/":
            return "list"
        return "payment" if path.startswith("/v1/payment/") else "unknown"

    def _carry_out(
        self, action: str, path: str, query: dict[str, str], headers: Any, body: bytes
    ) -> tuple[int, Any]:
        if action == "auth":
            sent = json.loads(body or b"{}")
            if (sent.get("email"), sent.get("password")) != (self.email, self.password):
                return 401, {"statusCode": 401, "code": "AUTH_REQUIRED", "message": "Authorization failed"}
            with self._lock:
                token = f"jwt-{len(self.calls)}"
                self._tokens.add(token)
            return 200, {"token": token}
        if headers.get("x-api-key") != self.api_key:
            return 403, {"statusCode": 403, "code": "INVALID_API_KEY", "message": "Invalid api key"}
        if action == "invoice":
            return self._new_invoice(json.loads(body or b"{}"))
        if action == "list":
            bearer = (headers.get("authorization") or "").removeprefix("Bearer ")
            if bearer not in self._tokens:
                return 401, {
                    "statusCode": 401,
                    "code": "AUTH_REQUIRED",
                    "message": "Authorization header is empty",
                }
            with self._lock:
                found = [p.as_api() for p in self.payments.values() if p.invoice.id == query.get("invoiceId")]
            found.reverse()  # orderBy=desc, by creation
            return 200, {"data": found, "limit": 100, "page": 0, "pagesCount": 1, "total": len(found)}
        if action == "payment":
            payment = self.payments.get(int(path.rsplit("/", 1)[1] or 0))
            return (200, payment.as_api()) if payment else (404, {"message": "Payment not found"})
        return 404, {"message": "Not found"}

    def _new_invoice(self, sent: dict[str, Any]) -> tuple[int, Any]:
        try:
            amount = Decimal(str(sent["price_amount"]))
            currency = str(sent["price_currency"])
        except (KeyError, ArithmeticError):
            return 400, {
                "statusCode": 400,
                "code": "INVALID_REQUEST_PARAMS",
                "message": "price_amount is required",
            }
        with self._lock:
            self._next += 1
            invoice = Invoice(
                str(self._next),
                amount,
                currency.lower(),
                str(sent.get("order_id", "")),
                str(sent.get("ipn_callback_url", "")),
                str(sent.get("success_url", "")),
                str(sent.get("cancel_url", "")),
            )
            self.invoices[invoice.id] = invoice
        return 200, {
            "id": invoice.id,
            "token_id": f"tok{invoice.id}",
            "order_id": invoice.order_id,
            "order_description": sent.get("order_description"),
            "price_amount": str(sent["price_amount"]),
            "price_currency": invoice.price_currency,
            "pay_currency": None,
            "ipn_callback_url": invoice.ipn_callback_url,
            "invoice_url": f"{self.url}/payment/?iid={invoice.id}",
            "success_url": invoice.success_url,
            "cancel_url": invoice.cancel_url,
            "created_at": "2026-12-03T10:00:00.000Z",
            "updated_at": "2026-12-03T10:00:00.000Z",
        }


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def _serve(self) -> None:
        fake: FakeNOWPayments = self.server.fake  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        status, data = fake.answer(self.command, parts.path, query, self.headers, body)
        try:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the panel gave up waiting
            pass

    do_GET = _serve
    do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass
