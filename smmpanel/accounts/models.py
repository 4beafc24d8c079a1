import hashlib
import secrets
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from smmpanel.saving import SavesChangedFields


class StaffRole(models.TextChoices):
    """What a member of staff may do in the console (smmpanel/console/roles.py)."""

    ADMINISTRATOR = "administrator", _("Administrator")
    SUPPORT = "support", _("Support")
    FINANCE = "finance", _("Finance")


class User(SavesChangedFields, AbstractUser):
    """A customer (or, with is_staff and a staff role, an operator)."""

    staff_role = models.CharField(
        max_length=20,
        choices=StaffRole.choices,
        blank=True,
        help_text="The console role of a member of staff; blank for customers.",
    )

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


class AppendOnly(models.QuerySet["AuditRecord"]):
    """Audit records are written once and never changed or removed, from any code path."""

    def update(self, **kwargs: object) -> int:
        raise PermissionError("audit records cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit records cannot be deleted")


class AuditRecord(models.Model):
    """One console action or staff sign-in: who, in which role, when, from where, what, on what,
    and the fields it changed (before -> after). Append-only: written by `accounts.audit`."""

    actor = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for a sign-in attempt with an unknown name.",
    )
    actor_name = models.CharField(max_length=150, help_text="The username as it was at the time.")
    role = models.CharField(max_length=20, blank=True)
    at = models.DateTimeField(db_index=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=60, db_index=True)
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=40, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)

    objects = AppendOnly.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.action} {self.object_type} {self.object_id}".strip()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("audit records cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("audit records cannot be deleted")
