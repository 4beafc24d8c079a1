"""What every gateway is: a small plug-in that speaks one payment service's API and never touches
the panel's rows or money. `payments/deposits.py` calls it outside any transaction and decides
what its answers mean for the deposit and the balance.

A gateway module defines a `Gateway` subclass and registers an instance in
`payments/gateways/__init__.py`. It reads its keys from a `Config` (the console's settings, or the
environment), and answers with plain values: `Checkout` (where to send the customer), `Truth`
(what the gateway says about a deposit, read from the gateway itself) and, for a webhook, the id
of the deposit it names (after checking its signature).
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import httpx
from django.utils.functional import Promise

# Truth.status values: the states of payments.models.Payment.Status a gateway can report.
PENDING = "pending"  # waiting for the customer's money
PAID = "paid"  # money seen, not final (crypto confirmations, a card in review)
CONFIRMED = "confirmed"  # final: the money is the merchant's
FAILED = "failed"
EXPIRED = "expired"
CANCELED = "canceled"
REFUNDED = "refunded"
CHARGED_BACK = "charged_back"
STATUSES = frozenset({PENDING, PAID, CONFIRMED, FAILED, EXPIRED, CANCELED, REFUNDED, CHARGED_BACK})

TIMEOUT = httpx.Timeout(15.0, connect=5.0)


class GatewayError(Exception):
    """A gateway call that did not give an answer the panel can act on; nothing was changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Forged(GatewayError):
    """A webhook whose signature is missing or wrong, or that names another merchant."""


class Malformed(GatewayError):
    """A webhook or an answer that is not what the gateway's documentation says it sends."""


class Unreachable(GatewayError):
    """No answer: a timeout, a refused connection, a 5xx. Ask again later."""


class Refused(GatewayError):
    """The gateway answered and said no (a wrong key, an amount it does not take ...)."""


class Ignored(GatewayError):
    """A genuine webhook (its signature checked) about nothing the panel acts on, e.g. an event type
    it does not use: answered 200 (so the gateway stops sending it) and recorded, nothing moved."""


class NotSupported(GatewayError):
    """The gateway (or this panel's use of it) cannot do this, e.g. a refund."""


@dataclass(frozen=True)
class Credential:
    """One key a gateway needs: its name in GatewaySetting.credentials, its label in the console,
    and the environment variable that sets it instead (SMMPANEL_CRYPTOMUS_KEY ...). One that is
    not `required` lets the gateway work without it (e.g. a login only some calls need)."""

    name: str
    label: Promise | str
    env: str
    secret: bool = True
    required: bool = True


@dataclass(frozen=True)
class Rule:
    """A gateway's fee and bonus: the fee is `fee_percent` % of the deposit plus `fee_fixed`; the
    bonus is `bonus_percent` % of deposits of `bonus_from` and more ("+5 % from 100")."""

    fee_percent: Decimal = Decimal(0)
    fee_fixed: Decimal = Decimal(0)
    bonus_percent: Decimal = Decimal(0)
    bonus_from: Decimal = Decimal(0)


@dataclass(frozen=True)
class Config:
    """One gateway's settings as they apply now (payments/gateways/__init__.py `config_for`)."""

    gateway: str
    enabled: bool
    credentials: Mapping[str, str]
    base_url: str
    from_environment: bool = False  # its keys come from SMMPANEL_<GATEWAY>_...
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    rule: Rule = field(default_factory=Rule)
    names: Mapping[str, str] = field(default_factory=dict)
    instructions: Mapping[str, str] = field(default_factory=dict)

    def key(self, name: str) -> str:
        return self.credentials.get(name, "")


@dataclass(frozen=True)
class Deposit:
    """What a gateway is told about a deposit: plain values, never the panel's row."""

    id: int
    reference: str  # the panel's own code (SMM-...), sent as the gateway's order id
    gateway_ref: str  # the gateway's id, once `start` gave one
    amount: Decimal  # asked, in `currency`
    currency: str
    customer_email: str = ""


@dataclass(frozen=True)
class Urls:
    """Absolute addresses the gateway needs: where it sends the customer back, where it posts."""

    back: str  # the deposit's page on the panel
    webhook: str  # /payments/<gateway>/webhook


@dataclass(frozen=True)
class Checkout:
    """A deposit started upstream: the gateway's id for it and where the customer pays."""

    gateway_ref: str
    url: str
    raw: str = ""  # the gateway's answer as received, for the deposit's record


@dataclass(frozen=True)
class Truth:
    """What the gateway itself says about one deposit. `amount_asked` and `currency` are checked
    against the deposit before money moves; `amount_paid` is what may be credited, in `currency`."""

    gateway_ref: str
    status: str  # one of STATUSES
    currency: str
    amount_asked: Decimal | None = None
    amount_paid: Decimal | None = None
    reference: str = ""  # the panel's reference as the gateway echoes it back, when it does
    rate: Decimal | None = None  # an exchange rate the gateway applied, for the record
    raw: str = ""


@dataclass(frozen=True)
class Delivery:
    """A webhook as received: the body's bytes, the headers (lower-case names), the sender."""

    body: bytes
    headers: Mapping[str, str]
    address: str = ""


class Gateway:
    """The interface. `name` is a payments.models.Payment.Method value."""

    name: str = ""
    label: Promise | str = ""
    default_url: str = ""  # the gateway's API base; a setting moves it (tests, staging)
    credentials: tuple[Credential, ...] = ()
    refunds: bool = False  # whether `refund` can send money back from the console
    on_by_default: bool = False  # usable before the operator ever saves its settings
    # Confirmed by an operator (a bank transfer), not by anything the gateway says.
    manual: bool = False
    # The headers worth keeping from a webhook delivery (lower-case), besides the body.
    webhook_headers: tuple[str, ...] = ("content-type", "user-agent")

    def start(self, config: Config, deposit: Deposit, urls: Urls) -> Checkout:
        """Create the invoice or checkout upstream. Raises Unreachable or Refused."""
        raise NotImplementedError

    def claim(self, config: Config, delivery: Delivery) -> str:
        """Check a webhook's signature (and merchant) and return the gateway id of the deposit it
        names (or the panel's reference, when that is all it names). Raises Forged or Malformed.
        Its content is never trusted further: the deposit is read again with `fetch`."""
        raise NotImplementedError

    def fetch(self, config: Config, deposit: Deposit) -> Truth:
        """Ask the gateway about the deposit (by its id, or by the panel's reference when the
        start's answer was lost). Raises Unreachable, Refused or Malformed."""
        raise NotImplementedError

    def refund(self, config: Config, deposit: Deposit, amount: Decimal) -> Truth:
        """Send `amount` back to the customer. Raises NotSupported where the gateway cannot."""
        raise NotSupported("This gateway cannot refund from the panel.")

    def ready(self, config: Config) -> bool:
        """Whether every key it needs is set."""
        return all(config.key(c.name) for c in self.credentials if c.required)
