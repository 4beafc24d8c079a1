"""Stripe Checkout, through the official `stripe` library (docs/gateways/stripe.md).

A deposit is a Checkout Session (mode `payment`, one line of the deposit's amount); the session's id
is the deposit's gateway id. A webhook is verified by the library's own helper with the endpoint's
signing secret, then only names a session: the panel retrieves the session again (with its payment
intent, the intent's charge and, for a disputed charge, its disputes) and that answer is the truth.

Every call builds its own `StripeClient` with the configured key and base URL (never the global
`stripe.api_key`), no automatic retries (the panel's poll is the retry) and the gateways' timeout.
"""

import json
from decimal import Decimal
from typing import Any

import stripe
from django.utils.translation import gettext_lazy as _

from smmpanel.payments.gateways import base, register

# Stripe's amounts are integers in the currency's smallest unit: none for these, ...
ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
# ... three for these (the last digit must be 0, so cents at most), two for every other.
THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])

SESSION_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
    }
)
CHARGE_EVENTS = frozenset({"charge.refunded", "charge.dispute.created", "charge.dispute.closed"})
# A dispute in these states has taken the money back from the merchant (or will keep it): the
# deposit is charged back. Inquiries (warning_*) take nothing; a won dispute gives the money back.
TAKEN = frozenset({"needs_response", "under_review", "lost"})


def _places(currency: str) -> int:
    code = currency.upper()
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


def to_minor(amount: Decimal, currency: str) -> int:
    """The amount in the currency's smallest unit, as Stripe takes it; Refused when it has more
    decimals than Stripe can charge in that currency."""
    places = _places(currency)
    scaled = amount.scaleb(places)
    if scaled != scaled.to_integral_value() or (places == 3 and scaled % 10):
        raise base.Refused(f"{amount} {currency} has more decimals than Stripe charges in {currency}")
    return int(scaled)


def from_minor(value: object, currency: str) -> Decimal:
    if not isinstance(value, int) or isinstance(value, bool):
        raise base.Malformed(f"amount {value!r} is not an integer")
    return Decimal(value).scaleb(-_places(currency))


def _client(config: base.Config) -> stripe.StripeClient:
    return stripe.StripeClient(
        config.key("secret_key"),
        base_addresses={"api": config.base_url},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=(base.TIMEOUT.connect or 5.0, base.TIMEOUT.read or 15.0)),
    )


def _call(what: str, call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """One library call, its answer as plain JSON values, its errors turned into the interface's."""
    try:
        return _plain(call(*args, **kwargs))
    except stripe.APIConnectionError as exc:
        raise base.Unreachable(f"{what}: no answer ({exc.user_message or exc})") from None
    except stripe.RateLimitError:
        raise base.Unreachable(f"{what}: rate limited") from None
    except stripe.StripeError as exc:
        if exc.http_status is None or exc.http_status >= 500:
            raise base.Unreachable(f"{what}: HTTP {exc.http_status}") from None
        raise base.Refused(f"{what}: HTTP {exc.http_status}: {exc.user_message or exc}") from None


def _plain(obj: Any) -> dict[str, Any]:
    found = obj.to_dict(for_json=True) if isinstance(obj, stripe.StripeObject) else obj
    if not isinstance(found, dict):
        raise base.Malformed("the answer is not a JSON object")
    return found


def _raw(obj: dict[str, Any]) -> str:
    return json.dumps(obj, default=str)


def _id(value: Any) -> str:
    """An id, whether Stripe sent the object expanded or as its id."""
    if value is None or isinstance(value, str):
        return value or ""
    return str(value.get("id") or "")


class StripeCheckout(base.Gateway):
    name = "stripe"
    label = _("Card (Stripe)")
    default_url = "https://api.stripe.com"
    credentials = (
        base.Credential("secret_key", _("Secret key"), "SMMPANEL_STRIPE_SECRET_KEY"),
        base.Credential("webhook_secret", _("Webhook signing secret"), "SMMPANEL_STRIPE_WEBHOOK_SECRET"),
    )
    refunds = True
    webhook_headers = ("content-type", "user-agent", "stripe-signature")

    def start(self, config: base.Config, deposit: base.Deposit, urls: base.Urls) -> base.Checkout:
        currency = deposit.currency.lower()
        params: Any = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": currency,
                        "unit_amount": to_minor(deposit.amount, deposit.currency),
                        "product_data": {"name": f"Balance top-up {deposit.reference}"},
                    },
                }
            ],
            "client_reference_id": deposit.reference,
            "metadata": {"reference": deposit.reference},
            "payment_intent_data": {"metadata": {"reference": deposit.reference}},
            "success_url": urls.back,
            "cancel_url": urls.back,
        }
        if deposit.customer_email:
            params["customer_email"] = deposit.customer_email
        options: Any = {"idempotency_key": f"smmpanel-start-{deposit.reference}"}
        session = _call("create session", _client(config).v1.checkout.sessions.create, params, options)
        if not str(session.get("id", "")).startswith("cs_") or not session.get("url"):
            raise base.Malformed("the session has no id or no url")
        return base.Checkout(gateway_ref=session["id"], url=session["url"], raw=_raw(session))

    def claim(self, config: base.Config, delivery: base.Delivery) -> str:
        client = _client(config)
        try:
            event = client.construct_event(
                delivery.body, delivery.headers.get("stripe-signature"), config.key("webhook_secret")
            )
        except stripe.SignatureVerificationError as exc:
            raise base.Forged(f"signature: {exc.user_message or exc}") from None
        except (ValueError, KeyError, TypeError):
            raise base.Malformed("not a Stripe event") from None
        found = _plain(event)
        kind, obj = found.get("type"), (found.get("data") or {}).get("object")
        if not isinstance(obj, dict):
            raise base.Malformed("an event without an object")
        if kind in SESSION_EVENTS:
            return _id(obj) or _malformed("a session event without a session id")
        if kind not in CHARGE_EVENTS:
            raise base.Ignored(f"event {kind!r} is not one the panel uses")
        intent = _id(obj.get("payment_intent"))
        if not intent:
            raise base.Ignored(f"{kind} without a payment intent")
        found = _call(
            "find session", client.v1.checkout.sessions.list, {"payment_intent": intent, "limit": 1}
        )
        sessions = found.get("data") or []
        if not sessions:
            raise base.Ignored(f"{kind}: no Checkout Session for {intent}")
        return _id(sessions[0])

    def fetch(self, config: base.Config, deposit: base.Deposit) -> base.Truth:
        if not deposit.gateway_ref:
            raise base.NotSupported("no Checkout Session id: its start was never answered")
        client = _client(config)
        params: Any = {"expand": ["payment_intent.latest_charge"]}
        session = _call("retrieve session", client.v1.checkout.sessions.retrieve, deposit.gateway_ref, params)
        currency = str(session.get("currency") or "").upper()
        status, charge = self._status(session)
        disputes: Any = None
        if status == base.CONFIRMED and charge.get("disputed"):
            intent = _id(session.get("payment_intent"))
            disputes = _call("list disputes", client.v1.disputes.list, {"payment_intent": intent})
            if any(d.get("status") in TAKEN for d in disputes.get("data") or []):
                status = base.CHARGED_BACK
        if status == base.CONFIRMED and charge.get("refunded"):
            status = base.REFUNDED  # refunded in full (a partial refund leaves it confirmed)
        subtotal = session.get("amount_subtotal")
        total = session.get("amount_total")
        paid = status in (base.CONFIRMED, base.REFUNDED, base.CHARGED_BACK)
        raw = {"session": session, "disputes": disputes}
        return base.Truth(
            gateway_ref=_id(session),
            status=status,
            currency=currency,
            amount_asked=from_minor(subtotal if subtotal is not None else total, currency),
            amount_paid=from_minor(total, currency) if paid else None,
            reference=str(session.get("client_reference_id") or ""),
            raw=json.dumps(raw, default=str),
        )

    @staticmethod
    def _status(session: Any) -> tuple[str, Any]:
        """The deposit's state by the session alone, and the payment's charge ({} when none)."""
        intent = session.get("payment_intent")
        intent = intent if intent is not None and not isinstance(intent, str) else {}
        charge = intent.get("latest_charge") if intent else None
        charge = charge if charge is not None and not isinstance(charge, str) else {}
        state, payment = session.get("status"), session.get("payment_status")
        if state == "open":
            return base.PENDING, charge
        if state == "expired":
            return base.EXPIRED, charge
        if state != "complete":
            raise base.Malformed(f"session status {state!r}")
        if payment in ("paid", "no_payment_required"):
            return base.CONFIRMED, charge
        if intent.get("status") in ("requires_payment_method", "canceled"):
            return base.FAILED, charge  # an asynchronous payment that failed
        return base.PENDING, charge  # an asynchronous payment still on its way

    def refund(self, config: base.Config, deposit: base.Deposit, amount: Decimal) -> base.Truth:
        client = _client(config)
        session = _call("retrieve session", client.v1.checkout.sessions.retrieve, deposit.gateway_ref)
        intent = _id(session.get("payment_intent"))
        if not intent:
            raise base.Refused("the session has no payment to refund")
        params: Any = {
            "payment_intent": intent,
            "amount": to_minor(amount, deposit.currency),
            "metadata": {"reference": deposit.reference},
        }
        refund = _call("create refund", client.v1.refunds.create, params)
        if refund.get("status") in ("failed", "canceled"):
            raise base.Refused(f"refund {_id(refund)} {refund.get('status')}")
        return base.Truth(
            gateway_ref=deposit.gateway_ref,
            status=base.REFUNDED,
            currency=deposit.currency,
            amount_paid=amount,
            reference=deposit.reference,
            raw=_raw(refund),
        )


def _malformed(message: str) -> str:
    raise base.Malformed(message)


register(StripeCheckout())
