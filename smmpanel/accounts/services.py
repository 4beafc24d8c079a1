"""Customers' API keys and the operator's switches on a customer (API access, suspension).
(Opening an account with a balance, and crediting one, are the ledger's: ledger/accounts.py.)"""

from django.db import transaction
from django.db.models import QuerySet

from smmpanel.accounts.models import ApiKey, User


def rotate_api_key(user: User, name: str = "web") -> tuple[ApiKey, str]:
    """Deactivate every active key of the customer and issue a new one; the raw key is returned once."""
    with transaction.atomic():
        # The user row's lock serialises two rotations, so they never leave two active keys.
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
        ApiKey.objects.filter(user=user, is_active=True).update(is_active=False)
        return ApiKey.issue(user, name=name)


# The operator's switches on a customer (the console's customer page). Each is one conditional
# UPDATE, so a second click or a second tab changes nothing and says so (False).


def set_api_access(user: User, enabled: bool) -> bool:
    """Turn the customer's API access on or off (off: every key is refused); False if it was so."""
    return User.objects.filter(pk=user.pk, api_enabled=not enabled).update(api_enabled=enabled) == 1


def revoke_api_keys(user: User) -> int:
    """Deactivate every active key of the customer; the number revoked."""
    return ApiKey.objects.filter(user=user, is_active=True).update(is_active=False)


def set_suspended(user: User, suspended: bool) -> bool:
    """Suspend the customer (no sign-in, the API refuses their keys; orders already placed go on)
    or lift it; False if they were so already."""
    return User.objects.filter(pk=user.pk, is_active=suspended).update(is_active=not suspended) == 1


def customers() -> QuerySet[User]:
    """The panel's customers: every account but the staff's (the console never acts on those)."""
    return User.objects.filter(is_staff=False, is_superuser=False, staff_role="")
