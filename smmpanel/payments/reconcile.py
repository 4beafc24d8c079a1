"""The daily reconciliation: per gateway, the deposits confirmed on a day against the ledger's
entries that name them (payments.models.Payment.deposit_reference), and every difference listed
deposit by deposit. Read only: it never changes a row.

A deposit belongs to the day it was confirmed (its `decided_at`, in the panel's time zone), or to
the day of its ledger credit when it was confirmed late (money arriving after an expiry). What
must hold for each: a deposit entry of exactly what it credited, a bonus entry of its bonus and a
fee entry of its fee (none when zero); and no entry of the day may name a deposit that is not
confirmed, or no deposit at all. Refunds and charge-backs of the day are summed per gateway.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.money import ZERO, to_money
from smmpanel.payments import gateways
from smmpanel.payments.models import Payment

Status = Payment.Status
Kind = LedgerEntry.Kind

# A deposit that was credited stays so in these states (a reversal is an entry of its own).
CREDITED = (Status.CONFIRMED, Status.REFUNDED, Status.CHARGED_BACK)
KINDS = (Kind.DEPOSIT, Kind.BONUS, Kind.FEE, Kind.DEPOSIT_REFUND, Kind.CHARGEBACK)
# "payment:12:deposit", "gateway:cryptomus:abc-1:deposit", then ":bonus", ":fee", ":refunded" ...
REFERENCE = re.compile(
    r"^(?P<base>(?:payment:(?P<pk>\d+)|gateway:(?P<method>[^:]+):(?P<ref>.+)):deposit)(?P<rest>:.*)?$"
)

# Difference kinds
NO_ENTRY = "no_entry"  # the deposit credited, the ledger has no such entry
NOT_CONFIRMED = "not_confirmed"  # an entry of the day names a deposit that is not confirmed
NO_DEPOSIT = "no_deposit"  # an entry of the day names no deposit the panel knows
AMOUNT = "amount"  # both are there, the amounts differ


@dataclass(frozen=True)
class Difference:
    kind: str  # NO_ENTRY, NOT_CONFIRMED, NO_DEPOSIT or AMOUNT
    part: str  # "deposit", "bonus", "fee", "refund" or "charge-back"
    ledger_reference: str
    payment: Payment | None = None
    expected: Decimal | None = None  # what the deposit says
    found: Decimal | None = None  # what the ledger says


@dataclass
class Line:
    """One gateway's day. `fees`, `refunds` and `chargebacks` are what left the balances (positive)."""

    gateway: str
    label: str
    confirmed: int = 0
    credited: Decimal = ZERO  # the deposits' own figure
    entries: Decimal = ZERO  # the ledger's deposit entries for them (and any stray of the day)
    bonuses: Decimal = ZERO
    fees: Decimal = ZERO
    refunds: Decimal = ZERO
    chargebacks: Decimal = ZERO
    differences: list[Difference] = field(default_factory=list)


@dataclass(frozen=True)
class Day:
    day: date
    lines: list[Line]

    @property
    def differences(self) -> list[Difference]:
        return [d for line in self.lines for d in line.differences]


def bounds(day: date) -> tuple[datetime, datetime]:
    """The day's first instant and the next day's, in the panel's time zone."""
    zone = timezone.get_default_timezone()
    return datetime.combine(day, time.min, zone), datetime.combine(day + timedelta(days=1), time.min, zone)


def _label(method: str) -> str:
    labels = dict(Payment.Method.choices)
    return str(labels.get(method, method))


def _owner(base: str) -> Q:
    """The query for the deposit a ledger reference's base names."""
    match = REFERENCE.match(base)
    if match is None:
        return Q(pk__in=[])
    if match["pk"]:
        return Q(pk=int(match["pk"]))
    return Q(method=match["method"], gateway_ref=match["ref"])


def _deposits_named(bases: Iterable[str]) -> dict[str, Payment]:
    """The deposits the ledger references name, by the reference's base."""
    wanted = set(bases)
    if not wanted:
        return {}
    query = Q(pk__in=[])
    for base in wanted:
        query |= _owner(base)
    found = Payment.objects.filter(query).select_related("user")
    return {p.deposit_reference: p for p in found if p.deposit_reference in wanted}


def _expected(payment: Payment) -> dict[str, Decimal]:
    """What the ledger must hold for a credited deposit, by reference (a bank transfer credits
    its amount and records no `credited`)."""
    base = payment.deposit_reference
    credited = payment.credited if payment.credited is not None else payment.amount
    return {
        base: to_money(credited),
        f"{base}:bonus": to_money(payment.bonus),
        f"{base}:fee": -to_money(payment.fee),
    }


def _line(lines: dict[str, Line], method: str) -> Line:
    if method not in lines:
        lines[method] = Line(method, _label(method))
    return lines[method]


def _check_deposit(line: Line, payment: Payment, entries: dict[str, LedgerEntry]) -> None:
    line.confirmed += 1
    for (reference, expected), part in zip(
        _expected(payment).items(), ("deposit", "bonus", "fee"), strict=True
    ):
        entry = entries.get(reference)
        found = to_money(entry.amount) if entry else None
        if part == "deposit":
            line.credited += expected
            line.entries += found or ZERO
        elif part == "bonus":
            line.bonuses += found or ZERO
        else:
            line.fees -= found or ZERO
        if found == expected or (found is None and expected == ZERO):
            continue
        kind = NO_ENTRY if found is None else AMOUNT
        line.differences.append(Difference(kind, part, reference, payment, expected, found))


def _stray(line: Line, entry: LedgerEntry, payment: Payment | None) -> None:
    """An entry of the day that no deposit confirmed that day accounts for."""
    amount = to_money(entry.amount)
    parts: dict[str, str] = {Kind.DEPOSIT: "deposit", Kind.BONUS: "bonus", Kind.FEE: "fee"}
    part = parts.get(entry.kind, "")
    if part == "deposit":
        line.entries += amount
    elif part == "bonus":
        line.bonuses += amount
    elif part == "fee":
        line.fees -= amount
    if payment is None:
        line.differences.append(
            Difference(NO_DEPOSIT, part or entry.kind, entry.reference, None, None, amount)
        )
    elif payment.status not in CREDITED:
        line.differences.append(
            Difference(NOT_CONFIRMED, part or entry.kind, entry.reference, payment, None, amount)
        )


def reconcile(day: date) -> Day:
    """The day's deposits against the ledger, per gateway."""
    start, end = bounds(day)
    of_day = list(
        LedgerEntry.objects.filter(created_at__gte=start, created_at__lt=end, kind__in=KINDS)
        .filter(Q(reference__startswith="payment:") | Q(reference__startswith="gateway:"))
        .order_by("id")
    )
    parsed = [(entry, REFERENCE.match(entry.reference)) for entry in of_day]
    named = _deposits_named(m["base"] for _, m in parsed if m)
    deposits = {
        p.pk: p
        for p in Payment.objects.filter(decided_at__gte=start, decided_at__lt=end, status__in=CREDITED)
        .select_related("user")
        .order_by("id")
    }
    for entry, match in parsed:  # confirmed late: the day of its credit
        payment = named.get(match["base"]) if match else None
        if payment and entry.kind == Kind.DEPOSIT and payment.status in CREDITED:
            deposits.setdefault(payment.pk, payment)
    wanted = [ref for p in deposits.values() for ref in _expected(p)]
    entries = {e.reference: e for e in LedgerEntry.objects.filter(reference__in=wanted)}
    lines: dict[str, Line] = {g.name: Line(g.name, _label(g.name)) for g, _config in gateways.all_usable()}
    for payment in sorted(deposits.values(), key=lambda p: p.pk):
        _check_deposit(_line(lines, payment.method), payment, entries)
    for entry, match in parsed:
        payment = named.get(match["base"]) if match else None
        method = payment.method if payment else (match["method"] if match and match["method"] else "")
        line = _line(lines, method or Payment.Method.BANK_TRANSFER)
        if entry.kind == Kind.DEPOSIT_REFUND:
            line.refunds -= to_money(entry.amount)
        elif entry.kind == Kind.CHARGEBACK:
            line.chargebacks -= to_money(entry.amount)
        if entry.reference in entries:  # accounted for by its deposit above
            continue
        if entry.kind in (Kind.DEPOSIT_REFUND, Kind.CHARGEBACK) and payment and payment.status in CREDITED:
            continue
        _stray(line, entry, payment)
    return Day(day, list(lines.values()))
