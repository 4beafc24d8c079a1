from typing import Any

from django.conf import settings
from django.db import models


class LedgerEntry(models.Model):
    """One change of one customer's balance. Append-only: the truth about money."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", "Deposit"
        CHARGE = "charge", "Charge"
        REFUND = "refund", "Refund"
        ADJUSTMENT = "adjustment", "Adjustment"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Signed: positive adds to the balance, negative takes from it.
    amount = models.DecimalField(max_digits=20, decimal_places=6)
    balance_after = models.DecimalField(max_digits=20, decimal_places=6)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="ledger"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who caused the entry; empty for the customer's own orders and the engine.",
    )
    memo = models.CharField(max_length=500, blank=True)
    # Unique: the same charge, refund or deposit can never be written twice.
    reference = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "ledger entries"
        ordering = ["-id"]
        indexes = [models.Index(fields=["user", "id"], name="ledger_user_id")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} ({self.reference})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("ledger entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("ledger entries are append-only")
