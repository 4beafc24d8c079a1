"""A gateway played in process for the console's tests (as tests/test_deposits.py plays one): its
upstream is a dict of what it says about each deposit, `down` makes it time out, and it refunds.
It takes the place of the registry's "cryptomus" entry (whatever module registers it) for the
test, so its keys are read from SMMPANEL_CRYPTOMUS_MERCHANT and SMMPANEL_CRYPTOMUS_KEY.

    from played_gateway import Played, played_fixture  # noqa: F401  (the fixture `played`)
"""

import json
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

import pytest

from smmpanel.payments import gateways
from smmpanel.payments.gateways import base

NAME = "cryptomus"


class Played(base.Gateway):
    name = NAME
    label = "Cryptomus"
    refunds = True
    credentials = (
        base.Credential("merchant", "Merchant ID", "SMMPANEL_CRYPTOMUS_MERCHANT"),
        base.Credential("key", "Payment key", "SMMPANEL_CRYPTOMUS_KEY"),
    )

    def __init__(self) -> None:
        self.truths: dict[str, base.Truth] = {}
        self.down = False
        self.refuse = ""  # the reason it refuses the next refund, if any
        self.refunded: list[tuple[str, Decimal]] = []

    def start(self, config: base.Config, deposit: base.Deposit, urls: base.Urls) -> base.Checkout:
        ref = f"inv-{deposit.id}"
        self.truths[ref] = base.Truth(
            ref, base.PENDING, deposit.currency, deposit.amount, reference=deposit.reference
        )
        return base.Checkout(ref, f"https://pay.example/{ref}", raw=json.dumps({"uuid": ref, "state": 0}))

    def fetch(self, config: base.Config, deposit: base.Deposit) -> base.Truth:
        if self.down:
            raise base.Unreachable("timed out")
        truth = self.truths[deposit.gateway_ref]
        raw = json.dumps({"uuid": truth.gateway_ref, "status": truth.status, "paid": str(truth.amount_paid)})
        return replace(truth, raw=raw)

    def refund(self, config: base.Config, deposit: base.Deposit, amount: Decimal) -> base.Truth:
        if self.down:
            raise base.Unreachable("timed out")
        if self.refuse:
            raise base.Refused(self.refuse)
        self.refunded.append((deposit.gateway_ref, amount))
        truth = replace(self.truths[deposit.gateway_ref], status=base.REFUNDED)
        self.truths[deposit.gateway_ref] = truth
        return replace(truth, raw=json.dumps({"uuid": truth.gateway_ref, "refunded": str(amount)}))

    def pay(self, ref: str, status: str = base.CONFIRMED, paid: str | None = None, **changes: object) -> None:
        truth = self.truths[ref]
        amount = Decimal(paid) if paid is not None else truth.amount_asked
        self.truths[ref] = replace(truth, status=status, amount_paid=amount, **changes)


@pytest.fixture(name="played")
def played_fixture(db: None) -> Iterator[Played]:
    gateway = Played()
    saved = dict(gateways.GATEWAYS)
    gateways.GATEWAYS[NAME] = gateway
    yield gateway
    gateways.GATEWAYS.clear()
    gateways.GATEWAYS.update(saved)


def urls(payment: object) -> base.Urls:
    return base.Urls("https://panel.example/funds/", "https://panel.example/payments/cryptomus/webhook")
