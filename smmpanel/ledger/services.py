"""Moving money: every balance change is one ledger entry, in the same transaction."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from smmpanel.accounts.models import User
from smmpanel.ledger.models import Account, LedgerEntry
from smmpanel.ledger.money import MAX_AMOUNT, ZERO, to_money

_ACCOUNTS = Account._meta.db_table
_ENTRIES = LedgerEntry._meta.db_table


class InsufficientFunds(Exception):
    """The balance does not cover the debit; nothing was changed."""


class BalanceLimit(Exception):
    """The credit would take the balance past MAX_AMOUNT, the largest amount the panel keeps;
    nothing was changed."""


class OwnBalance(Exception):
    """An operator tried to adjust their own balance; nothing was changed."""


class OnHold(InsufficientFunds):
    """A charge on an account on hold (an unsettled dispute); nothing was changed. A kind of
    InsufficientFunds, so every path that refuses an order for want of funds refuses it."""


class DuplicateEntry(Exception):
    """An entry with this reference exists already; nothing was changed."""


def _apply_postgresql(user_id: int, amount: Decimal, floor: Decimal, charge: bool) -> Decimal | None:
    # Conditional update: the row lock serialises concurrent debits, and the
    # WHERE clause makes an overdraft impossible whatever the interleaving.
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_ACCOUNTS} SET balance = balance + %s "
            "WHERE user_id = %s AND balance + %s BETWEEN %s AND %s AND NOT (on_hold AND %s) "
            "RETURNING balance",
            [amount, user_id, amount, floor, MAX_AMOUNT, charge],
        )
        row = cursor.fetchone()
    return None if row is None else to_money(row[0])


def _apply_sqlite(user_id: int, amount: Decimal, floor: Decimal, charge: bool) -> Decimal | None:
    # SQLite keeps decimals as binary floats, so `balance + X` in SQL would not
    # be exact. The transaction began IMMEDIATE and holds the write lock, so
    # read, compute in Decimal, and write back with a compare-and-swap.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT balance, on_hold FROM {_ACCOUNTS} WHERE user_id = %s", [user_id])
        row = cursor.fetchone()
        if row is None or (row[1] and charge):
            return None
        new_balance = to_money(row[0]) + amount
        if not floor <= new_balance <= MAX_AMOUNT:
            return None
        cursor.execute(
            f"UPDATE {_ACCOUNTS} SET balance = %s WHERE user_id = %s AND balance = %s",
            [new_balance, user_id, row[0]],
        )
        if cursor.rowcount != 1:
            raise RuntimeError("balance changed under a held write lock")
    return new_balance


def _apply(user_id: int, amount: Decimal, kind: str) -> Decimal:
    apply = _apply_postgresql if connection.vendor == "postgresql" else _apply_sqlite
    # A charge-back is the one entry that may take a balance below zero; a charge is refused
    # while the account is on hold (an unsettled dispute).
    floor = -MAX_AMOUNT if kind == LedgerEntry.Kind.CHARGEBACK else ZERO
    charge = kind == LedgerEntry.Kind.CHARGE
    balance = apply(user_id, amount, floor, charge)
    if balance is not None:
        return balance
    # Refused, or the customer has no account yet: only now is it worth a second query.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT balance, on_hold FROM {_ACCOUNTS} WHERE user_id = %s", [user_id])
        row = cursor.fetchone()
        if row is None:  # the first entry of this customer opens their account at 0
            cursor.execute(
                f"INSERT INTO {_ACCOUNTS} (user_id, balance, on_hold) VALUES (%s, %s, %s) "
                "ON CONFLICT DO NOTHING",
                [user_id, ZERO, False],
            )
            balance = apply(user_id, amount, floor, charge)
            if balance is not None:
                return balance
            row = (ZERO, False)
    if row[1] and charge:
        raise OnHold
    if to_money(row[0]) + amount < floor:
        raise InsufficientFunds
    raise BalanceLimit


def set_hold(user_id: int, on_hold: bool) -> bool:
    """Put a customer's account on hold (a dispute came) or release it (an operator settled it);
    False when it was so already. Inside the caller's transaction, beside what explains it."""
    if not connection.in_atomic_block:
        raise RuntimeError("ledger.set_hold must run inside transaction.atomic()")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_ACCOUNTS} (user_id, balance, on_hold) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
            [user_id, ZERO, False],
        )
    return Account.objects.filter(user_id=user_id, on_hold=not on_hold).update(on_hold=on_hold) == 1


def post(
    user_id: int,
    amount: Decimal,
    kind: str,
    reference: str,
    *,
    order_id: int | None = None,
    actor_id: int | None = None,
    memo: str = "",
    now: datetime | None = None,
    savepoint: bool = True,
) -> Decimal:
    """Change a balance by `amount` (signed) and record it; returns the new balance.

    Must run inside the caller's transaction, so the entry, the balance and
    whatever the money is for commit or roll back together. Raises
    InsufficientFunds for a debit the balance does not cover, BalanceLimit for a
    credit that would take the balance past MAX_AMOUNT, and
    DuplicateEntry (after rolling back this call's changes) when `reference`
    was used before.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("ledger.post must run inside transaction.atomic()")
    if amount < -MAX_AMOUNT:
        raise InsufficientFunds  # a debit beyond any balance there can be
    if amount > MAX_AMOUNT:
        raise BalanceLimit
    amount = to_money(amount)
    created_at = connection.ops.adapt_datetimefield_value(now or timezone.now())
    try:
        # savepoint=False: for a caller whose whole transaction fails with this entry anyway
        # (a new order's charge), the SAVEPOINT round trips are pure cost.
        with transaction.atomic(savepoint=savepoint), connection.cursor() as cursor:
            balance = _apply(user_id, amount, kind)
            cursor.execute(
                f"INSERT INTO {_ENTRIES} (user_id, kind, amount, balance_after, order_id, "
                "actor_id, memo, reference, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [user_id, kind, amount, balance, order_id, actor_id, memo, reference, created_at],
            )
    except IntegrityError as exc:
        # Without a savepoint the transaction is broken: nothing more can be asked of it.
        if savepoint and LedgerEntry.objects.filter(reference=reference).exists():
            raise DuplicateEntry(reference) from exc
        raise
    return balance


def balance_of(user_id: int) -> Decimal:
    """A customer's balance as committed now (0 before their first ledger entry)."""
    found = Account.objects.filter(user_id=user_id).values_list("balance", flat=True).first()
    return ZERO if found is None else found


def adjust(user: User, amount: Decimal, *, actor: User | None, memo: str, reference: str) -> Decimal:
    """An operator's credit or debit of a customer's balance; never of their own (OwnBalance)."""
    if actor is not None and actor.pk == user.pk:
        raise OwnBalance
    with transaction.atomic():
        return post(
            user.pk,
            amount,
            LedgerEntry.Kind.ADJUSTMENT,
            reference,
            actor_id=actor.pk if actor else None,
            memo=memo,
        )


@dataclass(frozen=True)
class Mismatch:
    user_id: int
    username: str
    balance: Decimal
    ledger_sum: Decimal


def exact_sums(entries: QuerySet[LedgerEntry], by: str) -> dict[Any, Decimal]:
    """The sum of the entries' amounts per value of the field `by`, exact on both databases."""
    entries = entries.order_by()
    if connection.vendor == "postgresql":
        # numeric sums are exact Decimals; a total may pass MAX_AMOUNT (lifetime deposits, all
        # customers together), which bounds one amount, not a sum.
        rows = entries.values(by).annotate(total=Sum("amount")).values_list(by, "total")
        return dict(rows)
    # SQLite would sum floats: add the exact values up in Python instead.
    sums: dict[Any, Decimal] = {}
    for key, amount in entries.values_list(by, "amount").iterator(chunk_size=5000):
        sums[key] = sums.get(key, ZERO) + amount
    return sums


def mismatches() -> Iterator[Mismatch]:
    """Customers whose balance is not the sum of their ledger entries, or negative without a
    charge-back (the one entry that may take a balance below zero) to explain it."""
    sums = exact_sums(LedgerEntry.objects.all(), "user_id")
    balances = dict(Account.objects.values_list("user_id", "balance"))
    charged_back = set(
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CHARGEBACK).values_list("user_id", flat=True)
    )
    for user_id, username in User.objects.values_list("id", "username").order_by("id"):
        total = sums.get(user_id, ZERO)
        balance = balances.get(user_id, ZERO)  # no account yet: no entry yet either
        if balance != total or (balance < 0 and user_id not in charged_back):
            yield Mismatch(user_id, username, balance, total)
