import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models


class User(AbstractUser):
    """A customer (or, with is_staff, an operator)."""

    # A projection of the ledger: changed only by smmpanel.ledger.services,
    # in the same transaction as the entry that explains the change.
    balance = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    api_enabled = models.BooleanField(
        default=True, help_text="Off: every API key of this customer is refused."
    )
    # Off only for a website sign-up whose email address is not confirmed yet:
    # such an account cannot sign in. Accounts the operator creates start confirmed.
    email_confirmed = models.BooleanField(default=True)
    # Blank: the browser's language. Otherwise one of settings.LANGUAGES.
    language = models.CharField(max_length=10, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="user_balance_not_negative")
        ]


def hash_api_key(raw: str) -> str:
    # Keys are 128 random bits, so a fast unsalted hash is enough to make a
    # leaked database useless for calling the API, and keeps lookup one index probe.
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


class ApiKey(models.Model):
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
