"""Creating customers and issuing their API keys."""

import uuid
from decimal import Decimal

from django.db import transaction

from smmpanel.accounts.models import ApiKey, User
from smmpanel.ledger import services as ledger
from smmpanel.ledger.models import LedgerEntry


def open_account(
    username: str, *, email: str = "", balance: Decimal = Decimal(0), staff: bool = False
) -> User:
    """A new customer with an opening balance (a ledger deposit), and no API key yet."""
    with transaction.atomic():
        user = User.objects.create_user(username=username, email=email, is_staff=staff)
        if balance:
            ledger.post(
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
    return ledger.adjust(
        user, amount, actor=actor, memo=memo or "Adjustment", reference=f"adjustment:{uuid.uuid4()}"
    )


def rotate_api_key(user: User, name: str = "web") -> tuple[ApiKey, str]:
    """Deactivate every active key of the customer and issue a new one; the raw key is returned once."""
    with transaction.atomic():
        # The user row's lock serialises two rotations, so they never leave two active keys.
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
        ApiKey.objects.filter(user=user, is_active=True).update(is_active=False)
        return ApiKey.issue(user, name=name)
