"""Payments: money a customer sends to the panel, a row per attempt with its own state.

The balance is credited by a ledger deposit written in the same transaction as
the payment's confirmation; "paid" is never a flag trusted on its own.
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from smmpanel.saving import SavesChangedFields

# No 0/O, 1/I/L: a reference is read off a screen and typed into a bank's form.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 8
REFERENCE_PREFIX = "SMM-"


def new_reference() -> str:
    """A random code such as SMM-7KQ4XZ2P (31^8, about 8.5e11 codes)."""
    return REFERENCE_PREFIX + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


class Payment(SavesChangedFields):
    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        CONFIRMED = "confirmed", _("Confirmed")
        REJECTED = "rejected", _("Rejected")
        CANCELED = "canceled", _("Canceled")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=30, choices=Method.choices, default=Method.BANK_TRANSFER)
    amount = models.DecimalField(max_digits=20, decimal_places=6)
    reference = models.CharField(max_length=20, unique=True, default=new_reference)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The operator who confirmed or rejected it.",
    )
    note = models.TextField(blank=True, help_text="Why it was rejected, or anything the operator adds.")

    class Meta:
        ordering = ["-id"]
        # Deciding a payment is its own right, apart from viewing or annotating it.
        permissions = [
            ("confirm_payment", "Can confirm a payment (credits the customer's balance)"),
            ("reject_payment", "Can reject a payment"),
        ]
        indexes = [models.Index(fields=["user", "-id"], name="payment_user_recent")]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.amount} ({self.get_status_display()})"

    @property
    def deposit_reference(self) -> str:
        """The ledger entry's reference: unique, so a payment is credited at most once."""
        return f"payment:{self.pk}:deposit"
