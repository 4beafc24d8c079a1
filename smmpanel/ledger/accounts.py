"""A customer's money from the first day: opening an account with a balance, and an operator's
credit or debit. The ledger stands on accounts (users, API keys), never the other way round."""

import uuid
from decimal import Decimal

from django.db import transaction

from smmpanel.accounts.models import ApiKey, User
from smmpanel.ledger.models import LedgerEntry
from smmpanel.ledger.services import adjust, post


def open_account(
    username: str, *, email: str = "", balance: Decimal = Decimal(0), staff: bool = False
) -> User:
    """A new customer with an opening balance (a ledger deposit), and no API key yet."""
    with transaction.atomic():
        user = User.objects.create_user(username=username, email=email, is_staff=staff)
        if balance:
            post(
                user.pk,
                balance,
                LedgerEntry.Kind.DEPOSIT,
                f"user:{user.pk}:opening-balance",
                memo="Opening balance",
            )
    return user


def create_customer(
    username: str, *, email: str = "", balance: Decimal = Decimal(0), staff: bool = False
) -> tuple[User, str]:
    """A new customer with an opening balance (a ledger deposit) and an API key."""
    with transaction.atomic():
        user = open_account(username, email=email, balance=balance, staff=staff)
        _key, raw = ApiKey.issue(user, name="default")
    return user, raw


def credit(user: User, amount: Decimal, *, memo: str, actor: User | None = None) -> Decimal:
    """An operator's adjustment of a balance (negative to debit); returns the new balance."""
    return adjust(
        user, amount, actor=actor, memo=memo or "Adjustment", reference=f"adjustment:{uuid.uuid4()}"
    )
