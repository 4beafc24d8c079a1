import hashlib
import secrets
from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.db import models

from smmpanel.saving import SavesChangedFields


class User(SavesChangedFields, AbstractUser):
    """A customer (or, with is_staff, an operator)."""

    api_enabled = models.BooleanField(
        default=True, help_text="Off: every API key of this customer is refused."
    )
    # Off only for a website sign-up whose email address is not confirmed yet:
    # such an account cannot sign in. Accounts the operator creates start confirmed.
    email_confirmed = models.BooleanField(default=True)
    # Blank: the browser's language. Otherwise one of settings.LANGUAGES.
    language = models.CharField(max_length=10, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")

    class Meta(AbstractUser.Meta):  # type: ignore[name-defined,misc]  # django-stubs cannot see it
        # Moving money is its own right: editing a customer's details does not grant it.
        permissions = [("adjust_balance", "Can credit or debit a customer's balance")]

    @property
    def balance(self) -> Decimal:
        """The balance, read from the customer's ledger account (a row of its own that no save of
        the user can write); 0 before their first ledger entry. Cached with the instance like any
        related row: `refresh_from_db()` reads it again."""
        account = getattr(self, "account", None)  # the reverse one-to-one of smmpanel.ledger.Account
        return Decimal("0.000000") if account is None else account.balance


def hash_api_key(raw: str) -> str:
    # Keys are 128 random bits, so a fast unsalted hash is enough to make a
    # leaked database useless for calling the API, and keeps lookup one index probe.
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


class ApiKey(SavesChangedFields):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="First characters, to recognise a key.")
    name = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @classmethod
    def issue(cls, user: User, name: str = "") -> tuple["ApiKey", str]:
        """Create a key; the raw key is returned once and never stored."""
        raw = secrets.token_hex(16)
        key = cls.objects.create(user=user, key_hash=hash_api_key(raw), prefix=raw[:8], name=name)
        return key, raw
