"""A gateway's webhook: only a trigger. Its signature is checked, the deposit it names is looked up,
then the deposit is read again from the gateway and that answer is applied (payments/deposits.py).
Every delivery is recorded with what the panel made of it.

The answer's status tells the gateway (and the operator reading its dashboard) what happened:
200 once the deposit's state is stored; 404 only for a gateway that is not set up (a wrong URL);
403 for a forged signature or another merchant; 400 for a body that is not the gateway's format;
422 for a deposit the panel does not know or an answer that does not match it; 503 when the
gateway did not answer the panel's question (it sends the webhook again later). A genuine delivery
about nothing the panel acts on (base.Ignored) gets 200, so the gateway stops sending it.
"""

from dataclasses import dataclass

from smmpanel.payments import deposits, gateways
from smmpanel.payments.gateways import base
from smmpanel.payments.models import GatewayRecord, Payment
from smmpanel.payments.services import PaymentError


@dataclass(frozen=True)
class Answer:
    status: int
    text: str


def _find(name: str, claimed: str) -> Payment | None:
    by_ref = Payment.objects.filter(method=name, gateway_ref=claimed).first() if claimed else None
    return by_ref or Payment.objects.filter(method=name, reference=claimed).first()


def receive(name: str, delivery: base.Delivery) -> Answer:
    gateway = gateways.GATEWAYS.get(name)
    found = gateways.usable(name) if gateway is not None else None
    kept = {k: v for k, v in delivery.headers.items() if gateway and k in gateway.webhook_headers}

    def answer(status: int, verdict: str, payment: Payment | None = None, body: str = "") -> Answer:
        text = body or delivery.body.decode("utf-8", "replace")
        deposits.record(
            name[:30],
            GatewayRecord.Kind.WEBHOOK,
            payment=payment,
            body=text,
            verdict=verdict,
            address=delivery.address[:64],
            headers=kept,
            http_status=status,
        )
        return Answer(status, verdict)

    if found is None:
        return answer(404, "gateway not set up")
    gateway, config = found
    try:
        claimed = gateway.claim(config, delivery)
    except base.Forged as exc:
        return answer(403, f"refused: {exc.message}")
    except base.Ignored as exc:
        return answer(200, f"ignored: {exc.message}")
    except base.Unreachable as exc:  # claim asked the gateway which deposit it is about
        return answer(503, f"gateway did not answer: {exc.message}")
    except base.GatewayError as exc:
        return answer(400, f"refused: {exc.message}")
    payment = _find(name, claimed)
    if payment is None:
        return answer(422, f"unknown deposit {claimed!r}")
    try:
        truth = gateway.fetch(config, deposits.as_deposit(payment))
    except base.GatewayError as exc:
        return answer(503, f"gateway did not answer: {exc.message}", payment)
    try:
        outcome = deposits.settle(payment.pk, truth)
    except PaymentError as exc:
        return answer(422, f"refused: {exc.message}", payment)
    deposits.record(name, GatewayRecord.Kind.POLL, payment=payment, body=truth.raw, verdict=outcome.verdict)
    return answer(200, outcome.verdict, payment)
