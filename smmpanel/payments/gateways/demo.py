"""The demo gateway: a page of the panel plays a payment service, so a newcomer running
`smmpanel demo` adds funds and sees the balance move without any account anywhere.

It is usable only when the panel runs under `smmpanel demo`, which sets SMMPANEL_DEMO=1 in the
environment of its server and worker (nothing in the console can turn it on). It keeps its own
side in payments.models.DemoInvoice, never in the deposit: `start` writes an invoice and sends
the customer to /funds/demo-gateway/<ref>/; a button there (Pay, Underpay, Fail) changes the
invoice, then posts a signed webhook to the panel's own /payments/demo/webhook over real HTTP,
as a real gateway would, and sends the customer back. The panel checks the signature (`claim`)
and reads the invoice again (`fetch`) before money moves.

The signature is the hex HMAC-SHA256 of the body, in the X-Demo-Signature header, with a key
derived from the install's SECRET_KEY (so each install has its own).
"""

import hashlib
import hmac
import json
import logging
import os
import secrets
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from smmpanel.ledger.money import to_money
from smmpanel.payments.gateways import register
from smmpanel.payments.gateways.base import (
    CONFIRMED,
    FAILED,
    PENDING,
    TIMEOUT,
    Checkout,
    Config,
    Delivery,
    Deposit,
    Forged,
    Gateway,
    Malformed,
    Refused,
    Truth,
    Urls,
)
from smmpanel.payments.models import DemoInvoice

log = logging.getLogger("smmpanel.payments")

NAME = "demo"
ENVIRONMENT = "SMMPANEL_DEMO"  # set to 1 by `smmpanel demo` for its server and worker only
SIGNATURE = "x-demo-signature"
USER_AGENT = "smmpanel-demo-gateway"
# What the buttons on the demo page do: the invoice's state, and the share of the amount paid.
CHOICES: dict[str, tuple[str, Decimal]] = {
    "pay": (DemoInvoice.Status.PAID, Decimal(1)),
    "underpay": (DemoInvoice.Status.PAID, Decimal("0.5")),
    "fail": (DemoInvoice.Status.FAILED, Decimal(0)),
}
TRUTH = {
    DemoInvoice.Status.WAITING: PENDING,
    DemoInvoice.Status.PAID: CONFIRMED,
    DemoInvoice.Status.FAILED: FAILED,
}


def running_demo() -> bool:
    """Whether this process is a server or worker started by `smmpanel demo`."""
    return os.environ.get(ENVIRONMENT, "").strip() == "1"


def signing_key() -> bytes:
    """This install's key for the demo's webhooks: derived from SECRET_KEY, never stored."""
    return hmac.new(settings.SECRET_KEY.encode(), b"smmpanel demo gateway webhook", hashlib.sha256).digest()


def sign(body: bytes) -> str:
    return hmac.new(signing_key(), body, hashlib.sha256).hexdigest()


def _raw(invoice: DemoInvoice) -> str:
    return json.dumps(
        {
            "invoice": invoice.ref,
            "order_id": invoice.reference,
            "status": invoice.status,
            "amount": str(to_money(invoice.amount)),
            "paid": str(to_money(invoice.paid)) if invoice.paid is not None else None,
            "currency": invoice.currency,
        }
    )


class DemoGateway(Gateway):
    name = NAME
    label = _("Demo gateway")
    on_by_default = True  # under `smmpanel demo` only: see `ready`
    webhook_headers = ("content-type", "user-agent", SIGNATURE)

    def ready(self, config: Config) -> bool:
        return running_demo()

    def start(self, config: Config, deposit: Deposit, urls: Urls) -> Checkout:
        for _attempt in range(5):
            ref = "demo-" + secrets.token_hex(8)
            try:
                with transaction.atomic():
                    invoice = DemoInvoice.objects.create(
                        ref=ref,
                        reference=deposit.reference,
                        amount=deposit.amount,
                        currency=deposit.currency,
                        back_url=urls.back,
                        webhook_url=urls.webhook,
                    )
            except IntegrityError:
                continue  # an id drawn twice: draw again
            back = urlsplit(urls.back)  # the demo page is on the panel the customer came from
            url = urlunsplit((back.scheme, back.netloc, reverse("demo_gateway", args=[ref]), "", ""))
            return Checkout(ref, url, raw=_raw(invoice))
        raise Refused("could not draw a unique demo invoice id")

    def claim(self, config: Config, delivery: Delivery) -> str:
        given = delivery.headers.get(SIGNATURE, "")
        if not given or not hmac.compare_digest(given, sign(delivery.body)):
            raise Forged("missing or wrong X-Demo-Signature")
        try:
            ref = json.loads(delivery.body)["invoice"]
        except (ValueError, KeyError, TypeError):
            raise Malformed("no invoice in the body") from None
        if not isinstance(ref, str) or not ref:
            raise Malformed("no invoice in the body")
        return ref

    def fetch(self, config: Config, deposit: Deposit) -> Truth:
        found = DemoInvoice.objects.filter(ref=deposit.gateway_ref) if deposit.gateway_ref else None
        invoice = (found or DemoInvoice.objects.filter(reference=deposit.reference)).first()
        if invoice is None:
            raise Refused(f"no demo invoice for {deposit.reference}")
        return Truth(
            gateway_ref=invoice.ref,
            status=TRUTH[DemoInvoice.Status(invoice.status)],
            currency=invoice.currency,
            amount_asked=to_money(invoice.amount),
            amount_paid=to_money(invoice.paid) if invoice.paid is not None else None,
            reference=invoice.reference,
            raw=_raw(invoice),
        )


def choose(ref: str, choice: str) -> bool:
    """The button pressed on the demo page: the invoice paid, half paid or failed. False when the
    invoice was decided already (the gateway's state is final) or the choice is not one of them."""
    if choice not in CHOICES:
        return False
    status, share = CHOICES[choice]
    invoice = DemoInvoice.objects.filter(ref=ref).first()
    if invoice is None:
        return False
    paid = to_money(invoice.amount * share) if share else None  # a failed payment paid nothing
    changed = DemoInvoice.objects.filter(pk=invoice.pk, status=DemoInvoice.Status.WAITING).update(
        status=status, paid=paid
    )
    return changed == 1


def notify(ref: str) -> int | None:
    """Post the invoice's webhook to the panel, signed, over HTTP (never inside a transaction):
    the panel's answer's status, or None when it did not answer (the worker's poll then finds
    the invoice's state by itself, as with a real gateway whose webhook was lost)."""
    invoice = DemoInvoice.objects.get(ref=ref)
    body = json.dumps({"invoice": invoice.ref, "status": invoice.status}).encode()
    headers = {
        "content-type": "application/json",
        SIGNATURE: sign(body),
        "user-agent": "smmpanel-demo-gateway",
    }
    try:
        response = httpx.post(invoice.webhook_url, content=body, headers=headers, timeout=TIMEOUT)
    except httpx.HTTPError as exc:
        log.warning("demo gateway: the webhook for %s was not delivered: %s", ref, exc)
        return None
    return response.status_code


register(DemoGateway())
