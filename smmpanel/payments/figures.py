"""Deposits over a period, per method (each gateway, bank transfer): the console's report.

Read from the ledger, the truth about money: every deposit, bonus, fee, deposit refund and
charge-back entry written in the period, on the day it was written. Which method an entry belongs
to is in its reference (Payment.deposit_reference): "gateway:<method>:<gateway's id>:deposit..."
names the gateway; "payment:<id>:deposit..." names the deposit, whose row says the method. Any
other reference (an entry written by hand, the demo's) is "other". The database groups them.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import BigIntegerField, Case, CharField, OuterRef, Q, Subquery, Value, When
from django.db.models.expressions import Combinable
from django.db.models.functions import Cast, Coalesce, StrIndex, Substr
from django.utils.translation import gettext_lazy as _

from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.money import ZERO
from smmpanel.ledger.totals import grouped
from smmpanel.payments.models import Payment

Kind = LedgerEntry.Kind
OTHER = "other"
KINDS = (Kind.DEPOSIT, Kind.BONUS, Kind.FEE, Kind.DEPOSIT_REFUND, Kind.CHARGEBACK)
PREFIX = len("gateway:")  # and of "payment:": both 8 characters


@dataclass
class Method:
    """One method's deposits over the period. Amounts are what they did to the balances: fees and
    returned money (deposit refunds and charge-backs) as positive amounts taken off."""

    method: str
    label: str
    deposits: int = 0  # deposit entries
    gross: Decimal = ZERO  # what the deposit entries credited
    bonuses: Decimal = ZERO
    fees: Decimal = ZERO
    returned: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        """What the balances gained from this method over the period."""
        return self.gross + self.bonuses - self.fees - self.returned

    def add(self, other: "Method") -> None:
        self.deposits += other.deposits
        self.gross += other.gross
        self.bonuses += other.bonuses
        self.fees += other.fees
        self.returned += other.returned


def _method() -> Combinable:
    """The method an entry's reference names (see the module's doc), as an SQL expression."""
    rest = Substr("reference", PREFIX + 1)  # after "gateway:" or "payment:"
    first_part = Substr("reference", PREFIX + 1, StrIndex(rest, Value(":")) - 1)
    payment = Payment.objects.filter(pk=OuterRef("payment_id")).values("method")[:1]
    return Case(
        When(reference__startswith="gateway:", then=first_part),
        When(reference__startswith="payment:", then=Coalesce(Subquery(payment), Value(OTHER))),
        default=Value(OTHER),
        output_field=CharField(),
    )


def _payment_id() -> Combinable:
    """The deposit's id in a "payment:<id>:..." reference (NULL for any other)."""
    digits = Substr("reference", PREFIX + 1, StrIndex(Substr("reference", PREFIX + 1), Value(":")) - 1)
    return Case(
        When(reference__regex=r"^payment:[0-9]+:", then=Cast(digits, BigIntegerField())),
        default=None,
        output_field=BigIntegerField(),
    )


def label(method: str) -> str:
    """A method's name in the reader's language."""
    if method == OTHER:
        return str(_("Other"))
    return str(dict(Payment.Method.choices).get(method, method))


def by_method(since: datetime, until: datetime) -> list[Method]:
    """Each method with its deposits from `since` to before `until`, largest net first."""
    entries = (
        LedgerEntry.objects.filter(created_at__gte=since, created_at__lt=until, kind__in=KINDS)
        .annotate(payment_id=_payment_id())
        .annotate(method=_method())
    )
    found: dict[str, Method] = {}
    for (method, kind), group in grouped(entries, ["method", "kind"], ["amount"], {"n": Q(pk__gt=0)}).items():
        line = found.setdefault(method, Method(method, label(method)))
        amount = group.sums["amount"]
        if kind == Kind.DEPOSIT:
            line.deposits, line.gross = group.counts["n"], amount
        elif kind == Kind.BONUS:
            line.bonuses = amount
        elif kind == Kind.FEE:
            line.fees = -amount
        else:
            line.returned -= amount
    return sorted(found.values(), key=lambda line: (-line.net, line.label))
