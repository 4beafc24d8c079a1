"""Customers' API keys. (Opening an account with a balance, and crediting one, are the
ledger's: smmpanel/ledger/accounts.py.)"""

from django.db import transaction

from smmpanel.accounts.models import ApiKey, User


def rotate_api_key(user: User, name: str = "web") -> tuple[ApiKey, str]:
    """Deactivate every active key of the customer and issue a new one; the raw key is returned once."""
    with transaction.atomic():
        # The user row's lock serialises two rotations, so they never leave two active keys.
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
        ApiKey.objects.filter(user=user, is_active=True).update(is_active=False)
        return ApiKey.issue(user, name=name)
