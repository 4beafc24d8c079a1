"""A fake Cryptomus (or Heleket, its twin) over real HTTP on 127.0.0.1, following the public
documentation: POST /v1/payment creates an invoice (the same one again for an order_id it knows),
POST /v1/payment/info reads one by uuid or order_id (order_id wins when both are given), every
request must carry the `merchant` header and `sign` = md5(base64(body) + payment key), and a
webhook is the invoice's state as JSON with `sign` inside it, computed as PHP's
json_encode($data, JSON_UNESCAPED_UNICODE) writes the body without `sign` (slashes escaped).

    with FakeCryptomus() as fake:
        ...  # point the gateway's base URL at fake.url
        fake.set_status(uuid, "paid")          # or paid_over / wrong_amount with paid="30"
        body = fake.webhook(uuid)              # the bytes the real one would post
        fake.post_webhook(uuid)                # ... posted to the invoice's url_callback
        fake.hang()                            # the next call gets no answer (a timeout)

An invoice's `url` is the fake's own /pay/<uuid> (or `pay_host`'s, when one is given): a tiny HTML
page, as the real checkout shows it (the amount to send, the address, the state, and a link back
to the shop's url_return), so a browser test can be sent there and come back.

Amounts the tests give are in the invoice's currency; the customer pays in USDT at `rate` (a
commission on the payer included), as the real one reports: `payer_amount` is what they must
pay, `payment_amount` what they paid, both in `payer_currency`.
"""

import base64
import hashlib
import html
import json
import threading
import uuid as uuids
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

MERCHANT = "c26b80a8-9549-4a66-bb53-774f12809249"
KEY = "uQ4LFWCBE3dT84uQnt7ycL7p9WcSwjkSPQaZbik3ChoWO0egw51f4EAaZQKmefhPP0F1cX8OpRcl2c3HexNedoR7"
FINAL = {"paid", "paid_over", "wrong_amount", "cancel", "fail", "system_fail", "refund_paid", "refund_fail"}
EIGHT = Decimal("0.00000001")


def php_json_encode(data: Any) -> str:
    """PHP's json_encode($data, JSON_UNESCAPED_UNICODE): compact, UTF-8 as is, "\\/" for "/"."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("/", "\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def sign(payload: bytes | str, key: str) -> str:
    raw = payload.encode() if isinstance(payload, str) else payload
    return hashlib.md5(base64.b64encode(raw) + key.encode()).hexdigest()  # noqa: S324


@dataclass
class Invoice:
    uuid: str
    order_id: str
    amount: Decimal
    currency: str
    payer_amount: Decimal
    url: str
    url_callback: str = ""
    url_return: str = ""
    url_success: str = ""
    status: str = "check"
    payment_amount: Decimal | None = None
    history: list[bytes] = field(default_factory=list)  # each webhook as it was at each change


@dataclass
class FakeCryptomus:
    merchant: str = MERCHANT
    key: str = KEY
    pay_host: str = ""  # where invoices are paid; "" for the fake's own /pay/<uuid> page
    payer_currency: str = "USDT"
    rate: Decimal = Decimal("1.02")  # USDT per unit of the invoice's currency, commission included
    invoices: dict[str, Invoice] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)  # "hang", "http_502", "bad_json", one per call

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "FakeCryptomus":
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        threading.Thread(target=partial(self._server.serve_forever, poll_interval=0.01), daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()  # frees any call left hanging
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> "FakeCryptomus":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Driving it from a test ------------------------------------------------------------------

    def hang(self, times: int = 1) -> None:
        """The next `times` calls get no answer until the fake stops (the client times out)."""
        with self._lock:
            self.faults.extend(["hang"] * times)

    def fail(self, kind: str, times: int = 1) -> None:
        with self._lock:
            self.faults.extend([kind] * times)

    def create(self, order_id: str, amount: str, currency: str = "USD", **urls: str) -> Invoice:
        """An invoice as /v1/payment makes it (also one the panel never asked for)."""
        with self._lock:
            return self._create({"order_id": order_id, "amount": amount, "currency": currency, **urls})

    def set_status(self, uuid: str, status: str, paid: str | None = None) -> Invoice:
        """Move an invoice on; `paid` (in the invoice's currency) is what the customer sent,
        the whole amount by default once it is paid."""
        with self._lock:
            invoice = self.invoices[uuid]
            invoice.status = status
            if paid is not None:
                invoice.payment_amount = (invoice.payer_amount * Decimal(paid) / invoice.amount).quantize(
                    EIGHT
                )
            elif status in ("paid", "confirm_check") and invoice.payment_amount is None:
                invoice.payment_amount = invoice.payer_amount
            invoice.history.append(self._webhook(invoice, {}, self.key))
            return invoice

    def tamper(self, uuid: str, **changes: Any) -> None:
        """Change what the fake says about an invoice (amount, currency ...), to test mismatches."""
        with self._lock:
            for name, value in changes.items():
                setattr(self.invoices[uuid], name, Decimal(value) if name == "amount" else value)

    def webhook(self, uuid: str, *, key: str | None = None, unsigned: bool = False, **extra: Any) -> bytes:
        """The body the real one posts for the invoice as it is now; `extra` fields added (or
        changed) before signing; signed with another `key` to forge it."""
        with self._lock:
            body = self._webhook(self.invoices[uuid], extra, key or self.key)
        if unsigned:
            data = json.loads(body)
            data.pop("sign")
            return php_json_encode(data).encode()
        return body

    def post_webhook(self, uuid: str, body: bytes | None = None) -> int:
        """Post the webhook to the invoice's url_callback, as the real one does."""
        invoice = self.invoices[uuid]
        response = httpx.post(
            invoice.url_callback,
            content=body or self.webhook(uuid),
            headers={"Content-Type": "application/json"},
            timeout=10,
        )
        return response.status_code

    # Answering ----------------------------------------------------------------------------------

    def _create(self, data: dict[str, Any]) -> Invoice:
        order_id = str(data.get("order_id") or "")
        for invoice in self.invoices.values():
            if invoice.order_id == order_id:
                return invoice  # "When we find an existing invoice with order_id, we return its details"
        uuid = str(uuids.uuid4())
        amount = Decimal(str(data["amount"]))
        invoice = Invoice(
            uuid=uuid,
            order_id=order_id,
            amount=amount,
            currency=str(data["currency"]),
            payer_amount=(amount * self.rate).quantize(EIGHT),
            url=f"{self.pay_host or self.url}/pay/{uuid}",
            url_callback=str(data.get("url_callback") or ""),
            url_return=str(data.get("url_return") or ""),
            url_success=str(data.get("url_success") or ""),
        )
        self.invoices[uuid] = invoice
        return invoice

    def payment(self, invoice: Invoice) -> dict[str, Any]:
        """The documented payment object (payment info's `result`)."""
        paid = invoice.payment_amount
        return {
            "uuid": invoice.uuid,
            "order_id": invoice.order_id,
            "amount": f"{invoice.amount:.2f}",
            "payment_amount": f"{paid:.8f}" if paid is not None else "0.00",
            "payer_amount": f"{invoice.payer_amount:.8f}",
            "discount_percent": -2,
            "discount": f"{invoice.amount - invoice.payer_amount:.8f}",
            "payer_currency": self.payer_currency,
            "currency": invoice.currency,
            "comments": None,
            "merchant_amount": f"{(paid or Decimal(0)) * Decimal('0.98'):.8f}",
            "network": "tron",
            "address": "TXhfYSWt2oKRrHAJVJeYRuit6ZzKuoEKXj",
            "from": None,
            "txid": None,
            "payment_status": invoice.status,
            "url": invoice.url,
            "expired_at": 1_900_000_000,
            "status": invoice.status,
            "is_final": invoice.status in FINAL,
            "additional_data": None,
            "created_at": "2026-12-03T10:00:00+00:00",
            "updated_at": "2026-12-03T10:05:00+00:00",
        }

    def _webhook(self, invoice: Invoice, extra: dict[str, Any], key: str) -> bytes:
        paid = invoice.payment_amount
        data: dict[str, Any] = {
            "type": "payment",
            "uuid": invoice.uuid,
            "order_id": invoice.order_id,
            "amount": f"{invoice.amount:.2f}",
            "payment_amount": f"{paid:.8f}" if paid is not None else "0.00000000",
            "payment_amount_usd": f"{paid:.2f}" if paid is not None else "0.00",
            "merchant_amount": f"{(paid or Decimal(0)) * Decimal('0.98'):.8f}",
            "commission": f"{(paid or Decimal(0)) * Decimal('0.02'):.8f}",
            "is_final": invoice.status in FINAL,
            "status": invoice.status,
            "from": None,
            "wallet_address_uuid": None,
            "network": "tron",
            "currency": invoice.currency,
            "payer_currency": self.payer_currency,
            "additional_data": None,
            **extra,
        }
        data["sign"] = sign(php_json_encode(data), key)
        return php_json_encode(data).encode()

    def answer(self, path: str, headers: Any, body: bytes) -> tuple[int, bytes] | None:
        """(status, body) for one call, or None to leave it hanging."""
        with self._lock:
            fault = self.faults.pop(0) if self.faults else ""
        if fault == "hang":
            self._release.wait(30)
            return None
        if fault == "http_502":
            return 502, b"<html><body>502 Bad Gateway</body></html>"
        if headers.get("merchant") != self.merchant or headers.get("sign") != sign(body, self.key):
            return 401, b'{"state":1,"message":"Invalid Sign."}'
        try:
            data = json.loads(body)
        except ValueError:
            return 422, b'{"state":1,"message":"The body is not JSON."}'
        with self._lock:
            self.calls.append((path, data))
            if fault == "bad_json":
                return 200, b'{"state":0,"result":{"uuid":'
            return self._route(path, data)

    def _route(self, path: str, data: dict[str, Any]) -> tuple[int, bytes]:
        if path == "/v1/payment":
            missing = [name for name in ("amount", "currency", "order_id") if not data.get(name)]
            if missing:
                errors = {name: ["validation.required"] for name in missing}
                return 422, json.dumps({"state": 1, "errors": errors}).encode()
            return 200, _ok(self.payment(self._create(data)))
        if path == "/v1/payment/info":
            if data.get("order_id"):
                found = [i for i in self.invoices.values() if i.order_id == data["order_id"]]
            else:
                found = [self.invoices[data["uuid"]]] if data.get("uuid") in self.invoices else []
            if not found:
                return 404, b'{"state":1,"message":"Payment not found"}'
            return 200, _ok(self.payment(found[0]))
        return 404, b'{"state":1,"message":"Not found"}'

    def invoice_page(self, path: str) -> tuple[int, str]:
        """(status, HTML) of the checkout page at GET /pay/<uuid>."""
        with self._lock:
            invoice = self.invoices.get(path.removeprefix("/pay/").split("?")[0])
            if not path.startswith("/pay/") or invoice is None:
                return 404, "<!doctype html><title>Not found</title><p>Invoice not found.</p>"
            facts = {
                "Order": invoice.order_id,
                "Amount": f"{invoice.amount:.2f} {invoice.currency}",
                "Send": f"{invoice.payer_amount:.8f} {self.payer_currency} (TRON, TRC-20)",
                "Address": "TXhfYSWt2oKRrHAJVJeYRuit6ZzKuoEKXj",
                "Status": invoice.status,
            }
            back = invoice.url_return
        rows = "".join(
            f'<dt>{name}</dt><dd id="invoice-{name.lower()}">{html.escape(value)}</dd>'
            for name, value in facts.items()
        )
        link = f'<p><a id="invoice-back" href="{html.escape(back)}">Return to the shop</a></p>'
        link = link if back else ""
        page = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Invoice {html.escape(invoice.uuid)}</title></head><body>"
            f'<h1>Fake Cryptomus invoice</h1><dl id="invoice">{rows}</dl>{link}</body></html>'
        )
        return 200, page


def _ok(result: dict[str, Any]) -> bytes:
    return php_json_encode({"state": 0, "result": result}).encode()


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (quiet)
        pass

    def do_GET(self) -> None:  # noqa: N802
        """The checkout page a customer is sent to (the API itself is POST only)."""
        status, page = self.server.fake.invoice_page(self.path)
        text = page.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)
        except OSError:
            pass

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        found = self.server.fake.answer(self.path, self.headers, body)
        if found is None:
            self.close_connection = True
            return
        status, text = found
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)
        except OSError:  # the client gave up first
            pass
