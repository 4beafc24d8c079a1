"""A fake Stripe: the few endpoints of Stripe's API the panel calls, over real HTTP on 127.0.0.1,
in Stripe's JSON shapes (docs.stripe.com/api: Checkout Sessions, Payment Intents, Charges, Refunds,
Disputes), and webhook events signed exactly as Stripe signs them.

    POST /v1/checkout/sessions           create (form-encoded, an Idempotency-Key replays)
    GET  /v1/checkout/sessions/{id}      retrieve, `expand[]=payment_intent[.latest_charge]`
    GET  /v1/checkout/sessions           list, filtered by `payment_intent`
    GET  /v1/disputes                    list, filtered by `payment_intent`
    POST /v1/refunds                     create, for a `payment_intent`, `amount` in minor units

Every request must carry `Authorization: Bearer <KEY>` (else 401, Stripe's error shape). The
test plays the customer and Stripe with `pay`, `expire`, `dispute`, `close_dispute`, then builds
the event Stripe would send with `event` and signs it with `sign`. `hang(prefix)` holds requests
whose "METHOD /path" starts with the prefix until `release()` (a timeout, as the panel sees it);
`refuse_refunds` answers refunds with Stripe's 400.
"""

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.test import Client

from smmpanel.payments import deposits
from smmpanel.payments.gateways import base
from smmpanel.payments.models import GatewaySetting, Payment

KEY = "sk_test_fake51Hn2Xb3kQ9"
SECRET = "whsec_fakeJ7r2mV0pLq8sT4"
Obj = dict[str, Any]


def sign(body: str, secret: str = SECRET, timestamp: int | None = None) -> str:
    """The Stripe-Signature header Stripe sends: t=<unix time>,v1=<hex HMAC-SHA256 of "t.body">."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


class FakeStripe:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sessions: dict[str, Obj] = {}
        self.intents: dict[str, Obj] = {}
        self.charges: dict[str, Obj] = {}
        self.disputes: dict[str, Obj] = {}
        self.refunds: list[Obj] = []
        self.requests: list[str] = []  # "METHOD /path" of each request, in order
        self.created: list[Obj] = []  # the form of each session created, as parsed
        self.idempotent: dict[str, str] = {}
        self.refuse_refunds = False
        self.on_refund: Callable[[], None] | None = None  # called as a refund request arrives
        self.hanging: list[str] = []
        self.released = threading.Event()
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "FakeStripe":
        threading.Thread(target=partial(self._server.serve_forever, poll_interval=0.01), daemon=True).start()
        return self

    def stop(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def hang(self, prefix: str) -> None:
        self.released.clear()
        self.hanging.append(prefix)

    def release(self) -> None:
        self.hanging.clear()
        self.released.set()

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_test_{next(self._ids):06d}"

    # --- the customer and Stripe, played by the test -------------------------------------------

    def pay(self, session_id: str, status: str = "succeeded") -> Obj:
        """The customer pays the session by card; returns checkout.session.completed's object."""
        with self.lock:
            session = self.sessions[session_id]
            intent_id, charge_id = self.new_id("pi"), self.new_id("ch")
            amount = session["amount_total"]
            self.charges[charge_id] = {
                "id": charge_id,
                "object": "charge",
                "amount": amount,
                "amount_captured": amount,
                "amount_refunded": 0,
                "currency": session["currency"],
                "disputed": False,
                "paid": status == "succeeded",
                "payment_intent": intent_id,
                "refunded": False,
                "status": status,
            }
            self.intents[intent_id] = {
                "id": intent_id,
                "object": "payment_intent",
                "amount": amount,
                "amount_received": amount if status == "succeeded" else 0,
                "currency": session["currency"],
                "latest_charge": charge_id,
                "metadata": session["payment_intent_data_metadata"],
                "status": status,
            }
            paid = "paid" if status == "succeeded" else "unpaid"
            session.update(status="complete", payment_status=paid, payment_intent=intent_id)
            return self.public(session)

    def expire(self, session_id: str) -> Obj:
        with self.lock:
            self.sessions[session_id].update(status="expired")
            return self.public(self.sessions[session_id])

    def intent_of(self, session_id: str) -> str:
        return str(self.sessions[session_id]["payment_intent"])

    def dispute(self, session_id: str, status: str = "needs_response") -> Obj:
        """The cardholder disputes the payment; returns charge.dispute.created's object."""
        with self.lock:
            intent = self.intents[self.intent_of(session_id)]
            charge = self.charges[intent["latest_charge"]]
            charge["disputed"] = True
            dispute_id = self.new_id("dp")
            self.disputes[dispute_id] = {
                "id": dispute_id,
                "object": "dispute",
                "amount": charge["amount"],
                "charge": charge["id"],
                "currency": charge["currency"],
                "payment_intent": intent["id"],
                "reason": "fraudulent",
                "status": status,
            }
            return dict(self.disputes[dispute_id])

    def close_dispute(self, dispute_id: str, status: str) -> Obj:
        with self.lock:
            self.disputes[dispute_id]["status"] = status
            return dict(self.disputes[dispute_id])

    def event(self, kind: str, obj: Obj) -> str:
        """The body of the event Stripe would post about `obj`."""
        return json.dumps(
            {
                "id": self.new_id("evt"),
                "object": "event",
                "api_version": "2026-10-28.endive",
                "created": int(time.time()),
                "data": {"object": obj},
                "livemode": False,
                "pending_webhooks": 1,
                "request": {"id": None, "idempotency_key": None},
                "type": kind,
            }
        )

    # --- the API ---------------------------------------------------------------------------------

    def public(self, session: Obj) -> Obj:
        return {k: v for k, v in session.items() if k != "payment_intent_data_metadata"}

    def create_session(self, form: dict[str, str], key: str) -> Obj:
        with self.lock:
            if key and key in self.idempotent:
                return self.public(self.sessions[self.idempotent[key]])
            self.created.append(form)
            amount = int(form["line_items[0][price_data][unit_amount]"]) * int(
                form["line_items[0][quantity]"]
            )
            session_id = self.new_id("cs")
            self.sessions[session_id] = {
                "id": session_id,
                "object": "checkout.session",
                "amount_subtotal": amount,
                "amount_total": amount,
                "cancel_url": form.get("cancel_url"),
                "client_reference_id": form.get("client_reference_id"),
                "currency": form["line_items[0][price_data][currency]"],
                "customer_email": form.get("customer_email"),
                "expires_at": int(time.time()) + 86400,
                "livemode": False,
                "metadata": {"reference": form.get("metadata[reference]")},
                "mode": form["mode"],
                "payment_intent": None,
                "payment_intent_data_metadata": {
                    "reference": form.get("payment_intent_data[metadata][reference]")
                },
                "payment_status": "unpaid",
                "status": "open",
                "success_url": form.get("success_url"),
                "url": f"https://checkout.stripe.com/c/pay/{session_id}",
            }
            if key:
                self.idempotent[key] = session_id
            return self.public(self.sessions[session_id])

    def retrieve_session(self, session_id: str, expand: list[str]) -> Obj | None:
        with self.lock:
            found = self.sessions.get(session_id)
            if found is None:
                return None
            session = self.public(found)
            intent_id = session["payment_intent"]
            if intent_id and any(e.startswith("payment_intent") for e in expand):
                intent = dict(self.intents[intent_id])
                if "payment_intent.latest_charge" in expand:
                    intent["latest_charge"] = dict(self.charges[intent["latest_charge"]])
                session["payment_intent"] = intent
            return session

    def refund(self, form: dict[str, str]) -> tuple[int, Obj]:
        if self.on_refund is not None:
            self.on_refund()
        with self.lock:
            intent = self.intents.get(form.get("payment_intent", ""))
            if intent is None:
                return 404, _error("resource_missing", "No such payment_intent")
            charge = self.charges[intent["latest_charge"]]
            amount = int(form.get("amount") or charge["amount"] - charge["amount_refunded"])
            if self.refuse_refunds or amount > charge["amount"] - charge["amount_refunded"]:
                return 400, _error("charge_already_refunded", "Charge has already been refunded.")
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            refund = {
                "id": self.new_id("re"),
                "object": "refund",
                "amount": amount,
                "charge": charge["id"],
                "currency": charge["currency"],
                "metadata": {"reference": form.get("metadata[reference]")},
                "payment_intent": intent["id"],
                "status": "succeeded",
            }
            self.refunds.append(refund)
            return 200, refund

    def listing(self, url: str, data: list[Obj]) -> Obj:
        return {"object": "list", "data": data, "has_more": False, "url": url}


def _error(code: str, message: str) -> Obj:
    return {"error": {"code": code, "message": message, "type": "invalid_request_error"}}


class _Handler(BaseHTTPRequestHandler):
    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _answer(self, status: int, body: Obj) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", "req_fake")
        self.end_headers()
        self.wfile.write(data)

    def _handle(self, method: str) -> None:
        fake: FakeStripe = self.server.fake  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        line = f"{method} {parts.path}"
        fake.requests.append(line)
        if any(line.startswith(prefix) for prefix in fake.hanging):
            fake.released.wait(10)
        if self.headers.get("Authorization") != f"Bearer {KEY}":
            return self._answer(
                401, {"error": {"message": "Invalid API Key provided", "type": "invalid_request_error"}}
            )
        length = int(self.headers.get("Content-Length") or 0)
        query = parse_qsl(parts.query)
        form = dict(parse_qsl(self.rfile.read(length).decode())) if method == "POST" else dict(query)
        expand = [v for k, v in query if k.startswith("expand")]
        status, body = self._route(fake, method, parts.path, form, expand)
        self._answer(status, body)

    def _route(
        self, fake: FakeStripe, method: str, path: str, form: dict[str, str], expand: list[str]
    ) -> tuple[int, Obj]:
        if (method, path) == ("POST", "/v1/checkout/sessions"):
            return 200, fake.create_session(form, self.headers.get("Idempotency-Key", ""))
        if (method, path) == ("GET", "/v1/checkout/sessions"):
            with fake.lock:
                found = [
                    fake.public(s)
                    for s in fake.sessions.values()
                    if s["payment_intent"] == form.get("payment_intent")
                ]
            return 200, fake.listing(path, found[: int(form.get("limit") or 10)])
        if method == "GET" and path.startswith("/v1/checkout/sessions/"):
            session = fake.retrieve_session(path.rsplit("/", 1)[1], expand)
            if session is None:
                return 404, _error("resource_missing", "No such checkout.session")
            return 200, session
        if (method, path) == ("GET", "/v1/disputes"):
            with fake.lock:
                found = [
                    dict(d)
                    for d in fake.disputes.values()
                    if d["payment_intent"] == form.get("payment_intent")
                ]
            return 200, fake.listing(path, found)
        if (method, path) == ("POST", "/v1/refunds"):
            return fake.refund(form)
        return 404, _error("resource_missing", f"Unrecognized request URL ({method}: {path})")


@pytest.fixture(name="fake_stripe")
def fake_stripe_fixture() -> Iterator[FakeStripe]:
    fake = FakeStripe().start()
    try:
        yield fake
    finally:
        fake.stop()


# --- The panel's side: the gateway set up against the fake, webhooks posted to the panel ---------


def URLS(payment: Payment) -> base.Urls:
    return base.Urls(
        f"https://panel.example/funds/{payment.pk}/", "https://panel.example/payments/stripe/webhook"
    )


@pytest.fixture(name="stripe")
def stripe_fixture(db: None, fake_stripe: FakeStripe) -> FakeStripe:
    """The fake, with the panel's Stripe gateway enabled against it."""
    GatewaySetting.objects.create(
        gateway="stripe",
        enabled=True,
        credentials={"secret_key": KEY, "webhook_secret": SECRET},
        base_url=fake_stripe.url,
    )
    return fake_stripe


def deliver(body: str, signature: str | None = None) -> tuple[int, str]:
    """Post a webhook to the panel as Stripe would (signed, unless a signature is given; "" for
    none); returns the panel's status and text."""
    headers = {} if signature == "" else {"HTTP_STRIPE_SIGNATURE": signature or sign(body)}
    response = Client().post("/payments/stripe/webhook", body, content_type="application/json", **headers)
    return response.status_code, response.content.decode().strip()


def paid(stripe: FakeStripe, customer: Any, amount: str = "25") -> tuple[Payment, str]:
    """A deposit of the customer (conftest.Customer) started and paid at the fake; returns it and
    the completed event's body."""
    payment = deposits.start(customer.user, "stripe", Decimal(amount), URLS)
    return payment, stripe.event("checkout.session.completed", stripe.pay(payment.gateway_ref))
