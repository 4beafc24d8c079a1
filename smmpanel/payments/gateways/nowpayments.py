"""NOWPayments: a hosted crypto invoice (docs/gateways/nowpayments.md).

`start` creates an invoice (POST /v1/invoice) in the deposit's own amount and currency, with the
deposit's reference as `order_id`; the customer pays it on NOWPayments' page, choosing a coin. Each
coin chosen makes a *payment* of that invoice, so an invoice may have several.

An IPN (instant payment notification) is about one payment. It is signed in the header
`x-nowpayments-sig`: the HMAC-SHA512, keyed with the IPN secret, of the body's JSON with its keys
sorted (nested objects too) and no spaces. Only the invoice it names is taken from it.

`fetch` then lists the invoice's payments from the API (GET /v1/payment/?invoiceId=...), which the
documentation shows with a JWT (`Authorization: Bearer`, from POST /v1/auth with the account's
e-mail and password) beside the API key; the JWT is sent when the e-mail and password are set.
The most advanced payment says what the deposit is.
"""

import hashlib
import hmac
import json
import threading
import time
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

import httpx
from django.utils.translation import gettext_lazy as _

from smmpanel.payments.gateways import register
from smmpanel.payments.gateways.base import (
    CONFIRMED,
    EXPIRED,
    FAILED,
    PAID,
    PENDING,
    REFUNDED,
    TIMEOUT,
    Checkout,
    Config,
    Credential,
    Delivery,
    Deposit,
    Forged,
    Gateway,
    Malformed,
    Refused,
    Truth,
    Unreachable,
    Urls,
)

# payment_status (their documented list) -> the deposit's state.
STATUSES = {
    "waiting": PENDING,  # no money seen yet
    "confirming": PAID,  # seen on the chain, not confirmed
    "confirmed": PAID,  # confirmed on the chain, not yet sent to the merchant
    "sending": PAID,  # being sent to the merchant's wallet
    "partially_paid": CONFIRMED,  # less than asked; "appears when the funds have arrived in your wallet"
    "finished": CONFIRMED,  # the funds reached the merchant's wallet
    "failed": FAILED,
    "refunded": REFUNDED,
    "expired": EXPIRED,
}
# Which payment of an invoice speaks for it when there are several: the most advanced.
RANK = {
    "refunded": 7,
    "finished": 6,
    "partially_paid": 5,
    "sending": 4,
    "confirmed": 3,
    "confirming": 2,
    "waiting": 1,
    "failed": 0,
    "expired": 0,
}
SIGNATURE = "x-nowpayments-sig"
TOKEN_SECONDS = 240.0  # their JWT lives 5 minutes; ask again a minute before
MONEY = Decimal("0.000001")
RATE = Decimal("0.0000000001")


def _js_number(value: float) -> str:
    """A float as JavaScript writes it (Number.prototype.toString): the shortest digits that read
    back the same, written plainly from 1e-7 up to 1e21 and with an exponent otherwise
    (0.00005, not Python's 5e-05; 25, not 25.0; 1e-7, not 1e-07)."""
    if value != value or value in (float("inf"), float("-inf")):
        raise Malformed("a number JSON cannot hold")
    if value == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + int(exponent)  # the value is 0.<text> x 10^point
    minus = "-" if value < 0 else ""
    if len(text) <= point <= 21:
        return minus + text + "0" * (point - len(text))
    if 0 < point <= 21:
        return f"{minus}{text[:point]}.{text[point:]}"
    if -6 < point <= 0:
        return f"{minus}0.{'0' * -point}{text}"
    mantissa = text[0] + (f".{text[1:]}" if len(text) > 1 else "")
    return f"{minus}{mantissa}e{'+' if point > 0 else '-'}{abs(point - 1)}"


def canonical(value: object) -> str:
    """JSON as their documentation builds the signed text: JSON.stringify of the body with its keys
    sorted at every level, so no spaces, characters as they are, numbers as JavaScript writes
    them. Decimal amounts are written as they are (for what the panel sends)."""
    if isinstance(value, dict):
        items = sorted(value.items())
        return (
            "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{canonical(v)}" for k, v in items) + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(canonical(item) for item in value) + "]"
    if isinstance(value, float):
        return _js_number(value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return json.dumps(value, ensure_ascii=False)  # str, int, bool, None


def signature(secret: str, payload: object) -> str:
    """HMAC-SHA512 (hex), keyed with the IPN secret, of the payload's canonical JSON."""
    return hmac.new(secret.encode(), canonical(payload).encode(), hashlib.sha512).hexdigest()


def _decimal(value: object, what: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise Malformed(f"{what} missing")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise Malformed(f"{what} is not a number: {value!r}") from None
    if not number.is_finite():
        raise Malformed(f"{what} is not a number: {value!r}")
    return number


class NOWPayments(Gateway):
    name = "nowpayments"
    label = "NOWPayments"
    default_url = "https://api.nowpayments.io"
    credentials = (
        Credential("api_key", _("API key"), "SMMPANEL_NOWPAYMENTS_KEY"),
        Credential("ipn_secret", _("IPN secret"), "SMMPANEL_NOWPAYMENTS_IPN_SECRET"),
        Credential(
            "email",
            _("Account e-mail (to list payments)"),
            "SMMPANEL_NOWPAYMENTS_EMAIL",
            secret=False,
            required=False,
        ),
        Credential(
            "password",
            _("Account password (to list payments)"),
            "SMMPANEL_NOWPAYMENTS_PASSWORD",
            required=False,
        ),
    )
    webhook_headers = ("content-type", "user-agent", SIGNATURE)

    def __init__(self) -> None:
        self.timeout: httpx.Timeout | float = TIMEOUT
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()

    # Calls ------------------------------------------------------------------------------------

    def _call(self, method: str, url: str, headers: dict[str, str], **kwargs: Any) -> Any:
        try:
            response = httpx.request(method, url, headers=headers, timeout=self.timeout, **kwargs)
        except httpx.TimeoutException:
            raise Unreachable(f"{method} {url}: timed out") from None
        except httpx.HTTPError as exc:
            raise Unreachable(f"{method} {url}: {type(exc).__name__}") from None
        if response.status_code >= 500:
            raise Unreachable(f"{method} {url}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise Refused(f"{method} {url}: HTTP {response.status_code} {response.text[:200]}")
        try:
            return response.json(parse_float=Decimal), response.text
        except ValueError:
            raise Malformed(f"{method} {url}: not JSON") from None

    def _token(self, config: Config, fresh: bool = False) -> str:
        """A JWT for the listing, when the account's e-mail and password are set ("" otherwise)."""
        email, password = config.key("email"), config.key("password")
        if not (email and password):
            return ""
        key = (config.base_url, email)
        with self._lock:
            held = self._tokens.get(key)
        if held and not fresh and held[1] > time.monotonic():
            return held[0]
        body, _raw = self._call(
            "POST", f"{config.base_url}/v1/auth", {}, json={"email": email, "password": password}
        )
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise Malformed("POST /v1/auth: no token")
        with self._lock:
            self._tokens[key] = (token, time.monotonic() + TOKEN_SECONDS)
        return token

    # The interface ------------------------------------------------------------------------------

    def start(self, config: Config, deposit: Deposit, urls: Urls) -> Checkout:
        payload = {
            "price_amount": deposit.amount,
            "price_currency": deposit.currency.lower(),
            "order_id": deposit.reference,
            "order_description": deposit.reference,
            "ipn_callback_url": urls.webhook,
            "success_url": urls.back,
            "cancel_url": urls.back,
        }
        headers = {"x-api-key": config.key("api_key")}
        headers["content-type"] = "application/json"
        body, raw = self._call("POST", f"{config.base_url}/v1/invoice", headers, content=canonical(payload))
        if not isinstance(body, dict) or not body.get("id") or not isinstance(body.get("invoice_url"), str):
            raise Malformed("POST /v1/invoice: no id or invoice_url")
        return Checkout(gateway_ref=str(body["id"]), url=body["invoice_url"], raw=raw)

    def claim(self, config: Config, delivery: Delivery) -> str:
        sent = delivery.headers.get(SIGNATURE, "")
        try:
            payload = json.loads(delivery.body)
            expected = signature(config.key("ipn_secret"), payload)
        except (ValueError, UnicodeDecodeError, RecursionError):
            payload = expected = None
        if not sent or not config.key("ipn_secret") or expected is None:
            if expected is None and sent:
                raise Malformed("the body is not JSON")
            raise Forged("no x-nowpayments-sig")
        if not hmac.compare_digest(sent.strip().lower().encode(), expected.encode()):
            raise Forged("x-nowpayments-sig does not match")
        if not isinstance(payload, dict):
            raise Malformed("the body is not an object")
        invoice = payload.get("invoice_id")
        if invoice not in (None, ""):
            return str(invoice)
        if isinstance(payload.get("order_id"), str) and payload["order_id"]:
            return str(payload["order_id"])
        raise Malformed("no invoice_id nor order_id")

    def fetch(self, config: Config, deposit: Deposit) -> Truth:
        if not deposit.gateway_ref:
            raise Refused("the deposit has no NOWPayments invoice")
        payments, raw = self._payments(config, deposit.gateway_ref)
        ours = [p for p in payments if str(p.get("invoice_id", deposit.gateway_ref)) == deposit.gateway_ref]
        if not ours:  # no coin chosen yet: the invoice is waiting
            return Truth(deposit.gateway_ref, PENDING, deposit.currency, raw=raw)
        best = max(ours, key=lambda p: RANK.get(str(p.get("payment_status")), -1))
        return self._truth(deposit.gateway_ref, best, raw)

    def _payments(self, config: Config, invoice: str) -> tuple[list[dict[str, Any]], str]:
        params = {
            "invoiceId": invoice,
            "limit": "100",
            "page": "0",
            "sortBy": "created_at",
            "orderBy": "desc",
        }
        url = f"{config.base_url}/v1/payment/"
        for fresh in (False, True):
            headers = {"x-api-key": config.key("api_key")}
            token = self._token(config, fresh)
            if token:
                headers["authorization"] = f"Bearer {token}"
            try:
                body, raw = self._call("GET", url, headers, params=params)
                break
            except Refused:
                if fresh or not token:  # a token that expired early is asked for again, once
                    raise
        rows = body.get("data") if isinstance(body, dict) else None
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise Malformed("GET /v1/payment/: no data list")
        return rows, raw

    def _truth(self, invoice: str, payment: dict[str, Any], raw: str) -> Truth:
        status = str(payment.get("payment_status", ""))
        if status not in STATUSES:
            raise Malformed(f"unknown payment_status {status!r}")
        asked = _decimal(payment.get("price_amount"), "price_amount")
        currency = payment.get("price_currency")
        if not isinstance(currency, str) or not currency:
            raise Malformed("price_currency missing")
        paid, rate = None, None
        pay_amount = payment.get("pay_amount")
        if status in ("partially_paid", "finished", "refunded") or payment.get("actually_paid"):
            paid, rate = self._paid(status, asked, payment, pay_amount)
        return Truth(
            gateway_ref=invoice,
            status=STATUSES[status],
            currency=currency.upper(),
            amount_asked=asked,
            amount_paid=paid,
            reference=str(payment.get("order_id") or ""),
            rate=rate,
            raw=raw,
        )

    @staticmethod
    def _paid(
        status: str, asked: Decimal, payment: dict[str, Any], pay_amount: object
    ) -> tuple[Decimal, Decimal]:
        """What was paid in the price currency: `actually_paid` is in the coin paid, so it is
        converted at the payment's own rate (price_amount for pay_amount), rounded down. A
        finished payment is never less than asked: NOWPayments called it paid in full."""
        coins = _decimal(pay_amount, "pay_amount")
        actually = _decimal(payment.get("actually_paid", 0), "actually_paid")
        if coins <= 0:
            raise Malformed("pay_amount is not positive")
        rate = (asked / coins).quantize(RATE, rounding=ROUND_DOWN)
        paid = (asked * actually / coins).quantize(MONEY, rounding=ROUND_DOWN)
        if status == "finished":
            paid = max(paid, asked)
        return paid, rate


register(NOWPayments())
