"""Cryptomus, and its twin Heleket: crypto invoices, one module for both.

Heleket's public documentation describes the same API as Cryptomus's, field for field: requests
are POSTed JSON signed with two headers (`merchant`, the merchant's uuid; `sign`, the MD5 of the
base64 of the body followed by the payment key), an invoice is created at /v1/payment and read
at /v1/payment/info, and a webhook carries its `sign` inside the JSON body with the same status
list. Only the host differs (api.cryptomus.com, api.heleket.com), so each is one registration of
the class below with its own name, keys and base URL.

A webhook is only a trigger: `claim` checks its signature and merchant and returns the invoice's
uuid; the deposit is then read again with `fetch` (payment info) before money moves.

What each invoice status means for a deposit (docs/gateways/cryptomus.md):

- paid, paid_over, wrong_amount: final, the money is the merchant's -> confirmed, for what was
  paid (the core credits an overpayment in full, and an underpayment or nothing by its setting).
  `paid` is the gateway's word that the invoice was paid in full (it may accept a payment a hair
  short, by the merchant's settings): the amount asked, never a few cents less;
- confirm_check (seen on the chain, waiting for confirmations), wrong_amount_waiting (less than
  asked, the customer may still pay the rest), locked (held by the gateway's anti-money-laundering
  checks): money seen, not final -> paid;
- process, check: waiting for the customer's money -> pending;
- cancel (the invoice expired unpaid) -> canceled; fail, system_fail -> failed;
- refund_process: a refund is under way, not done -> paid, which the core ignores on a confirmed
  deposit (nothing is taken back before the refund is done);
- refund_paid: the money went back to the customer -> refunded (the core takes the credit back);
- refund_fail: the refund failed and the money stayed the merchant's -> confirmed (a deposit
  already credited stays as it is).
"""

import base64
import hashlib
import hmac
import json
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from django.utils.translation import gettext_lazy as _

from smmpanel.ledger.money import to_money
from smmpanel.payments.gateways import base, register

STATUSES = {
    "paid": base.CONFIRMED,
    "paid_over": base.CONFIRMED,
    "wrong_amount": base.CONFIRMED,
    "confirm_check": base.PAID,
    "wrong_amount_waiting": base.PAID,
    "locked": base.PAID,
    "process": base.PENDING,
    "check": base.PENDING,
    "cancel": base.CANCELED,
    "fail": base.FAILED,
    "system_fail": base.FAILED,
    "refund_process": base.PAID,
    "refund_paid": base.REFUNDED,
    "refund_fail": base.CONFIRMED,
}


def php_json(data: object) -> str:
    """`data` as PHP's json_encode($data, JSON_UNESCAPED_UNICODE) writes it, which is what the
    webhook's signature is computed on: no spaces, UTF-8 as is, and "/" escaped as "\\/" (PHP's
    default, which the documentation tells other languages to reproduce). PHP also escapes the
    line and paragraph separators unless told not to."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("/", "\\/").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def signature(payload: str | bytes, key: str) -> str:
    """md5(base64(payload) . key): a request's `sign` header, and a webhook's `sign` field."""
    raw = payload.encode() if isinstance(payload, str) else payload
    return hashlib.md5(base64.b64encode(raw) + key.encode()).hexdigest()  # noqa: S324  (theirs)


class Cryptomus(base.Gateway):
    name = "cryptomus"
    label = "Cryptomus"
    default_url = "https://api.cryptomus.com"
    # The longest a call may take; a setting of the instance so a test can shorten it.
    timeout: httpx.Timeout = base.TIMEOUT

    def __init__(self, name: str = "", label: str = "", default_url: str = "") -> None:
        self.name = name or self.name
        self.label = label or self.label
        self.default_url = default_url or self.default_url
        prefix = f"SMMPANEL_{self.name.upper()}"
        self.credentials = (
            base.Credential("merchant", _("Merchant ID (uuid)"), f"{prefix}_MERCHANT", secret=False),
            base.Credential("key", _("Payment API key"), f"{prefix}_KEY"),
        )

    # Calls -------------------------------------------------------------------------------

    def _call(self, config: base.Config, path: str, data: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """POST `data` signed; the answer's `result` and its text. Raises Unreachable (no answer,
        a 5xx), Refused (a 4xx, or `state` other than 0) or Malformed (not the documented JSON)."""
        body = json.dumps(data, separators=(",", ":")).encode()
        headers = {
            "merchant": config.key("merchant"),
            "sign": signature(body, config.key("key")),
            "Content-Type": "application/json",
        }
        try:
            response = httpx.post(
                f"{config.base_url}{path}", content=body, headers=headers, timeout=self.timeout
            )
        except httpx.TimeoutException:
            raise base.Unreachable(f"{self.label}: no answer in time") from None
        except httpx.HTTPError as exc:
            raise base.Unreachable(f"{self.label}: {type(exc).__name__}") from None
        text = response.text
        if response.status_code >= 500 or response.status_code == 429:  # 429: too many, ask later
            raise base.Unreachable(f"{self.label}: HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            if response.status_code >= 400:
                raise base.Refused(f"{self.label}: HTTP {response.status_code}") from None
            raise base.Malformed(f"{self.label}: the answer is not JSON") from None
        if not isinstance(answer, dict):
            raise base.Malformed(f"{self.label}: the answer is not a JSON object")
        if response.status_code >= 400 or answer.get("state") != 0:
            raise base.Refused(f"{self.label}: {_refusal(answer, response.status_code)}")
        result = answer.get("result")
        if not isinstance(result, dict):
            raise base.Malformed(f"{self.label}: the answer has no result")
        return result, text

    def start(self, config: base.Config, deposit: base.Deposit, urls: base.Urls) -> base.Checkout:
        data = {
            "amount": format(deposit.amount.normalize(), "f"),
            "currency": deposit.currency,
            "order_id": deposit.reference,
            "url_callback": urls.webhook,
            "url_return": urls.back,
            "url_success": urls.back,
        }
        result, raw = self._call(config, "/v1/payment", data)
        uuid, url = result.get("uuid"), result.get("url")
        if not isinstance(uuid, str) or not uuid or not isinstance(url, str) or not url.startswith("http"):
            raise base.Malformed(f"{self.label}: the invoice has no uuid or url")
        return base.Checkout(gateway_ref=uuid, url=url, raw=raw)

    def fetch(self, config: base.Config, deposit: base.Deposit) -> base.Truth:
        asked = {"uuid": deposit.gateway_ref} if deposit.gateway_ref else {"order_id": deposit.reference}
        result, raw = self._call(config, "/v1/payment/info", asked)
        return self.truth(result, raw)

    # Reading what they say --------------------------------------------------------------

    def truth(self, result: dict[str, Any], raw: str = "") -> base.Truth:
        """An invoice (payment info's `result`) as the panel's Truth. The amount paid is given in
        the invoice's currency: the share of what the customer had to pay (`payer_amount`, in the
        currency they paid with, the gateway's commission included) that they paid
        (`payment_amount`, same currency), applied to the invoice's `amount`."""
        status = result.get("payment_status") or result.get("status")
        if status not in STATUSES:
            raise base.Malformed(f"{self.label}: unknown status {status!r}")
        uuid, currency = result.get("uuid"), result.get("currency")
        if not isinstance(uuid, str) or not uuid or not isinstance(currency, str) or not currency:
            raise base.Malformed(f"{self.label}: the invoice has no uuid or currency")
        amount = _decimal(result.get("amount"), "amount")
        if amount is None:
            raise base.Malformed(f"{self.label}: the invoice has no amount")
        return base.Truth(
            gateway_ref=uuid,
            status=STATUSES[status],
            currency=currency,
            amount_asked=amount,
            amount_paid=_paid(result, amount, currency, status),
            reference=str(result.get("order_id") or ""),
            rate=_decimal(result.get("payer_amount_exchange_rate"), "payer_amount_exchange_rate"),
            raw=raw,
        )

    def claim(self, config: base.Config, delivery: base.Delivery) -> str:
        try:
            data = json.loads(delivery.body)
        except ValueError:
            raise base.Malformed("the body is not JSON") from None
        if not isinstance(data, dict):
            raise base.Malformed("the body is not a JSON object")
        sign = data.pop("sign", None)
        if not isinstance(sign, str) or not sign:
            raise base.Forged("no sign")
        if not hmac.compare_digest(signature(php_json(data), config.key("key")), sign.lower()):
            raise base.Forged("wrong sign")
        for field in ("merchant_id", "merchant"):
            if field in data and str(data[field]) != config.key("merchant"):
                raise base.Forged(f"another merchant: {data[field]!r}")
        uuid = data.get("uuid")
        if not isinstance(uuid, str) or not uuid:
            raise base.Malformed("no uuid")
        return uuid


def _refusal(answer: dict[str, Any], status: int) -> str:
    message = answer.get("message") or answer.get("errors") or f"state {answer.get('state')!r}"
    return f"HTTP {status}: {str(message)[:150]}"


def _decimal(value: object, name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise base.Malformed(f"{name} is not a number: {value!r}") from None
    if not number.is_finite() or number < 0:
        raise base.Malformed(f"{name} is not an amount: {value!r}")
    return number


def _paid(result: dict[str, Any], amount: Decimal, currency: str, status: str) -> Decimal | None:
    if status == "paid":
        return amount  # paid in full, in the gateway's judgement
    paid = _decimal(result.get("payment_amount"), "payment_amount")
    if paid is None:
        return None
    owed = _decimal(result.get("payer_amount"), "payer_amount")
    if not owed and (result.get("payer_currency") or currency) != currency:
        raise base.Malformed("payment_amount in another currency and no payer_amount to convert it")
    try:
        return to_money(amount * paid / owed if owed else paid)
    except ValueError:
        raise base.Malformed(f"payment_amount out of range: {paid}") from None


register(Cryptomus())
register(Cryptomus("heleket", "Heleket", "https://api.heleket.com"))
